-- Issue 12, bounded memory and odd paths: a FIFO, socket or device given as
-- the path is refused without being opened; invalid UTF-8 never reaches the
-- output raw; a file that changes while it is read is flagged; a Parquet
-- column the reader cannot decode is reported as not profiled; many tiny
-- files stay within a bounded memory. Expected values are computed here
-- (Python for UTF-8 validity and peak RSS), never taken from nvlua.
local H = require "helper"
local json = require "nv.json"

local one_json = H.one_json

-- nvlua under `timeout`: a path that blocks shows up as exit 124 or 137
-- (a FIFO's open blocked SIGTERM too, hence the KILL 2 s later)
local function run_bounded(dir, args, env, secs)
  local full = { "-k", "2", tostring(secs or 20), H.bin }
  for _, a in ipairs(args) do full[#full + 1] = a end
  return H.run(full, { cwd = dir, env = env, exe = "timeout" })
end

-- true when python3 decodes the file at path as strict UTF-8
local function valid_utf8_file(path)
  return os.execute("python3 -c " .. H.q("import sys; open(sys.argv[1],'rb').read().decode('utf-8')") ..
    " " .. H.q(path) .. " 2>/dev/null") == true
end

describe("odd paths", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("a FIFO, a socket or a character device as the path is a failed object, never opened", function()
    assert.is_true(os.execute("mkfifo " .. H.q(dir .. "/pipe")))
    assert.is_true(os.execute("python3 -c " .. H.q(
      "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])") .. " " .. H.q(dir .. "/sock")))
    for _, case in ipairs({ { dir .. "/pipe", "a FIFO" }, { dir .. "/sock", "a socket" },
                            { "/dev/null", "a character device" } }) do
      local code, out = run_bounded(dir, { "run", "metadata_extraction", case[1] })
      assert.equal(1, code) -- not 124: the run did not block
      local res = one_json(out)
      local why = case[1] .. " is " .. case[2] .. ", not a regular file"
      assert.equal("data source " .. case[1] .. ": " .. why, res.failed_objects[1].reason)
      assert.is_false(res.success)
    end
  end)

  it("a reader refuses a FIFO swapped in after the listing, without blocking", function()
    assert.is_true(os.execute("mkfifo " .. H.q(dir .. "/pipe")))
    H.write(dir .. "/probe.lua", [[
      local p = ...
      local r, err = require("nv.csv").open(p)
      local d, derr = require("nv.fs").detect(p)
      io.write(tostring(r), "|", err, "|", tostring(d), "|", derr)
    ]])
    local code, out = run_bounded(dir, { dir .. "/probe.lua", dir .. "/pipe" })
    assert.equal(0, code)
    local why = dir .. "/pipe is a FIFO, not a regular file"
    assert.equal("nil|" .. why .. "|nil|" .. why, out)
    os.execute("mkdir " .. H.q(dir .. "/sub"))
    code, out = run_bounded(dir, { dir .. "/probe.lua", dir .. "/sub" })
    assert.equal(0, code)
    why = dir .. "/sub is a directory, not a regular file"
    assert.equal("nil|" .. why .. "|nil|" .. why, out)
  end)
end)

-- python3: every text value in every table of the SQLite store decodes as
-- strict UTF-8; prints the count of text values checked, or the first bad one
local check_store_py = [[
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); db.text_factory = bytes
n = 0
for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
    for row in db.execute('SELECT * FROM "%s"' % t.decode()):
        for v in row:
            if isinstance(v, bytes):
                try:
                    v.decode("utf-8")
                except UnicodeDecodeError:
                    print("invalid in %s: %r" % (t, v)); sys.exit(1)
                n += 1
print(n)
]]

describe("invalid UTF-8", function()
  local dir, srv, sdir
  setup(function()
    sdir = H.tmpdir()
    srv = H.platform_server(sdir)
  end)
  teardown(function()
    if srv then srv.stop() end
    H.rmdir(sdir)
  end)
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("reaches stdout, the store and the payload as U+FFFD, with a finding per column and file name", function()
    os.execute("mkdir -p " .. H.q(dir .. "/src"))
    -- values and a key with bytes that are not UTF-8 (a lone Latin-1 é,
    -- 0xFF, a UTF-16 surrogate, an overlong '/'); a file name with 0xFF
    H.write(dir .. "/src/people.json", '[{"id":1,"name":"caf\xe9","k\xff":"a"},' ..
      '{"id":2,"name":"ok\xff\xfe","k\xff":"b"},{"id":3,"name":"\xed\xa0\x80/\xc0\xaf","k\xff":"c"},' ..
      '{"id":4,"name":"fine \xc3\xa9","k\xff":"d"}]\n')
    H.write(dir .. "/src/na\xffme.csv", "x\n1\n2\n")
    local code, out, err = H.run({ "run", "metadata_extraction", dir .. "/src", "auto", "acme", "--write-to-db" },
      { cwd = dir })
    assert.equal(0, code, err)
    H.write(dir .. "/stdout.json", out)
    assert.is_true(valid_utf8_file(dir .. "/stdout.json"))
    local r = one_json(out)
    local by_name = {}
    for _, t in ipairs(r.tables) do by_name[t.table_name] = t end
    local people = assert(by_name["people.json"])
    local cols = {}
    for _, c in ipairs(people.columns) do cols[c.name] = c end
    local rep = "\u{FFFD}"
    local name = assert(cols.name)
    assert.is_true(name.invalid_utf8)
    local tops = {}
    for _, tv in ipairs(name.top_values) do tops[tv.value] = tv.count end
    -- one U+FFFD per byte that starts no well-formed sequence (as Python's
    -- bytes.decode('utf-8', 'replace') does for these inputs)
    assert.same({ ["caf" .. rep] = 1, ["ok" .. rep .. rep] = 1, [rep:rep(3) .. "/" .. rep:rep(2)] = 1,
                  ["fine \u{e9}"] = 1 }, tops)
    local key = assert(cols["k" .. rep], "the key is shown with U+FFFD")
    assert.is_true(key.invalid_utf8)
    assert.is_nil(cols.id.invalid_utf8)
    assert.equal(3, r.warning_count)
    assert.matches("people.json: column name: values are not valid UTF%-8; shown with U%+FFFD", err)
    assert.matches("people.json: column k\u{FFFD}: values are not valid UTF%-8; shown with U%+FFFD", err)
    assert.matches("na\u{FFFD}me.csv: the file name is not valid UTF%-8; shown with U%+FFFD", err)
    assert.truthy(by_name["na" .. rep .. "me.csv"])

    local p = io.popen("python3 -c " .. H.q(check_store_py) .. " " .. H.q(dir .. "/_executor_metadata.db"))
    local checked = p:read("a")
    p:close()
    assert.truthy(tonumber(checked), checked) -- a count, not "invalid in …"
    assert.is_true(tonumber(checked) > 20)

    H.write(dir .. "/config.json", json.encode({ api_retry_base = 0.01, api_retries = 1, api_timeout = 5 }))
    code, out, err = H.run({ "run", "api_transmission", "--config", dir .. "/config.json" },
      { cwd = dir, env = { NUVYN_API_ENDPOINT = srv.url, NUVYN_API_KEY = "k-oddpaths" } })
    assert.equal(0, code, err)
    local reqs = srv.requests()
    assert.is_true(#reqs >= 1)
    for _, q in ipairs(reqs) do
      assert.truthy(q.body, "the server decoded the payload as strict UTF-8") -- absent when decoding failed
      assert.truthy(q.json)
    end
    assert.truthy(reqs[#reqs].body:find("caf" .. rep, 1, true))
  end)
end)

describe("nv.profile's texts", function()
  it("a value cut mid-character by the 256-byte cap is not reported as invalid", function()
    local p <close> = require("nv.profile").new()
    p:column("v")
    local long = "a" .. ("\u{e9}"):rep(150) -- 301 bytes: byte 256 is the first of an é
    p:add(0, long)
    p:add(0, "b\xff")
    local c = p:result().columns[1]
    assert.is_true(c.invalid_utf8) -- from "b\xff"
    local seen = {}
    for _, v in ipairs(c.samples) do
      assert.truthy(utf8.len(v), v)
      seen[v] = true
    end
    assert.is_true(seen["a" .. ("\u{e9}"):rep(127)]) -- the cut half character dropped, not U+FFFD
    assert.is_true(seen["b\u{FFFD}"])
    local q <close> = require("nv.profile").new()
    q:column("v")
    q:add(0, long)
    assert.is_nil(q:result().columns[1].invalid_utf8)
  end)
end)

describe("a file that changes while it is read", function()
  local tableprofile, filereader, filesource = require "nv.tableprofile", require "nv.filereader", require "nv.filesource"
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  -- profiles path with nv.tableprofile in-process; `during(path)` runs from the
  -- reader's progress callback, i.e. mid-read (every 4 KiB fed)
  local function profile_with(path, during)
    local real = filereader.open
    local fired = false
    filereader.open = function(f, format, opts)
      local r, err = real(f, format, opts)
      if not r then return r, err end
      local proxy = {}
      function proxy.profile_into(_, p, tname, budget) -- the readers' one signature
        budget.progress_bytes = 4096
        budget.progress = function()
          if not fired then fired = true during(path) end
        end
        return r:profile_into(p, tname, budget)
      end
      return setmetatable(proxy, { __index = function(_, k)
        return function(_, ...) return r[k](r, ...) end
      end })
    end
    local logged = {}
    local function note(_, fmt, ...) logged[#logged + 1] = string.format(fmt, ...) end
    local ctx = { log = { warning = note, error = note, info = note, debug = note } }
    local files = assert(filesource.list(path))
    local ok, model = pcall(tableprofile.profile_table, ctx, filesource.group(files, path)[1], {}, nil)
    filereader.open = real
    assert(ok, model)
    assert.is_true(fired, "the progress hook ran mid-read")
    return model, logged
  end

  local function csv_body(n)
    local lines = { "id,v" }
    for i = 1, n do lines[#lines + 1] = i .. ",value-" .. i end
    return table.concat(lines, "\n") .. "\n"
  end

  it("appended to: a warning on the file and the table with both sizes", function()
    local path, body, extra = dir .. "/grow.csv", csv_body(20000), "20001,late\n20002,later\n"
    H.write(path, body)
    local model, logged = profile_with(path, function(p)
      local fh = assert(io.open(p, "ab"))
      fh:write(extra)
      fh:close()
    end)
    local want = string.format("changed while being read: size %d -> %d", #body, #body + #extra)
    assert.equal(want, model.files[1].warning)
    assert.same({ "grow.csv: " .. want }, model.warnings)
    assert.same({ "grow.csv: " .. want }, logged)
    assert.equal("success", model.status) -- what was read was profiled; the warning says it moved
  end)

  it("truncated: the new, smaller size", function()
    local path, body = dir .. "/shrink.csv", csv_body(20000)
    H.write(path, body)
    local model = profile_with(path, function(p) H.write(p, "id,v\n1,a\n") end)
    assert.equal(string.format("changed while being read: size %d -> %d", #body, #"id,v\n1,a\n"),
      model.files[1].warning)
  end)

  it("left alone: no warning", function()
    local path = dir .. "/still.csv"
    H.write(path, csv_body(20000))
    local model = profile_with(path, function() end)
    assert.is_nil(model.files[1].warning)
    assert.same({}, model.warnings)
  end)
end)

describe("a Parquet column the reader cannot decode", function()
  local ddir, why = H.duckdb_dir()
  if not ddir then
    pending("DuckDB: " .. why)
    return
  end
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("is reported as not profiled, with no made-up counts and no quality score", function()
    -- BROTLI: a codec nvlua does not decode (DuckDB writes it)
    H.write(dir .. "/mk.mjs", [[
import { createRequire } from "node:module";
const { DuckDBInstance } = createRequire(`${process.env.NVLUA_DUCKDB_DIR}/x.js`)("@duckdb/node-api");
const con = await (await DuckDBInstance.create(":memory:")).connect();
await con.run(`COPY (SELECT i AS id, 'v' || i AS s FROM range(0, 50) t(i)) TO '${process.argv[2]}'
  (FORMAT parquet, COMPRESSION brotli)`);
]])
    assert.is_true(os.execute("NVLUA_DUCKDB_DIR=" .. H.q(ddir) .. " node " .. H.q(dir .. "/mk.mjs") .. " " ..
      H.q(dir .. "/br.parquet")))
    local code, out, err = H.run({ "run", "metadata_extraction", dir .. "/br.parquet", "auto", "t", "--write-to-db" },
      { cwd = dir })
    assert.equal(0, code, err)
    local r = one_json(out)
    local t = r.tables[1]
    assert.equal(50, t.row_count) -- the footer's count still holds
    local why = "compression codec BROTLI is not supported"
    for i, name in ipairs({ "id", "s" }) do
      local c = t.columns[i]
      assert.equal(name, c.name)
      assert.equal(why .. " (br.parquet)", c.not_profiled)
      assert.is_nil(c.null_count)       -- not 50 nulls
      assert.is_nil(c.data_type)        -- not "empty"
      assert.is_nil(c.quality.overall)
      assert.equal("column not profiled: " .. why .. " (br.parquet)", c.quality.unmeasured.completeness)
      assert.matches("br.parquet: column " .. name .. " not profiled: " .. why, err, 1, true)
    end
    assert.is_nil(t.quality.completeness)
    assert.is_nil(t.quality.overall)
    assert.equal("no column could be read", t.quality.unmeasured.consistency)
    assert.equal(2, r.warning_count)
    local st = H.open_store(dir)
    local rows = st:query("SELECT column_name, null_count, quality_score FROM _executor_metadata.columns ORDER BY position")
    assert.equal(2, #rows)
    for _, row in ipairs(rows) do
      assert.is_nil(row.null_count)
      assert.is_nil(row.quality_score)
    end
    st:close()
  end)
end)

describe("many tiny files", function()
  local dir
  setup(function()
    dir = H.tmpdir()
    assert.is_true(os.execute("python3 -c " .. H.q([[
import sys
for i in range(5000):
    with open("%s/f%05d.csv" % (sys.argv[1], i), "w") as f:
        f.write("a,b\n%d,x%d\n%d,y\n" % (i, i, i + 1))
]]) .. " " .. H.q(dir)))
  end)
  teardown(function() H.rmdir(dir) end)

  it("5,000 two-column CSVs: every table in the output, peak RSS under 140 MB", function()
    -- the child's peak RSS, measured by Python's getrusage; its stdout
    -- goes to out_file, the exit code and the RSS (KB) to ours
    local out_file = dir .. ".out"
    local py = [[
import resource, subprocess, sys
with open(sys.argv[1], "wb") as out:
    p = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.DEVNULL)
print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
]]
    local p = io.popen("python3 -c " .. H.q(py) .. " " .. H.q(out_file) .. " " .. H.q(H.bin) ..
      " run metadata_extraction " .. H.q(dir))
    local code, rss_kb = p:read("n", "n")
    p:close()
    local body = H.read(out_file)
    os.remove(out_file)
    assert.equal(0, code)
    local r = one_json(body)
    assert.equal(5000, #r.tables)
    assert.equal(5000, r.files_found)
    if os.getenv("ASAN_OPTIONS") then return end -- ASan's shadow memory inflates RSS
    -- 177 MB before (36 KB a table); the output itself is 9.6 MB
    assert.is_true(rss_kb < 140 * 1024, string.format("peak RSS %.1f MB", rss_kb / 1024))
  end)
end)
