-- Bounded memory on hostile shapes: a JSON object with 100,000 keys and a
-- CSV with 60,000 columns are profiled up to max_columns (the rest counted
-- and named in a warning), in memory bounded by that cap; peak RSS is read
-- by Python's resource module from the finished child.
local H = require "helper"
local json = require "nv.json"

-- Runs nvlua with args; returns code, stdout, stderr, the child's peak RSS in MiB.
local function run_measured(args, cwd)
  local out, err = os.tmpname(), os.tmpname()
  local argv = { H.bin }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local py = "import json,resource,subprocess,sys\n" ..
    "a = json.loads(sys.argv[1])\n" ..
    "with open(sys.argv[2], 'wb') as o, open(sys.argv[3], 'wb') as e:\n" ..
    "    rc = subprocess.run(a, stdout=o, stderr=e, cwd=sys.argv[4]).returncode\n" ..
    "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)\n"
  local p = assert(io.popen("python3 -c " .. H.q(py) .. " " .. H.q(json.encode(argv)) .. " " .. H.q(out) .. " " ..
    H.q(err) .. " " .. H.q(cwd)))
  local line = p:read("l")
  p:close()
  local rc, mib = line:match("^(%-?%d+) (%d+)$")
  local so, se = H.read(out), H.read(err)
  os.remove(out)
  os.remove(err)
  return tonumber(rc), so, se, tonumber(mib)
end

local sanitized = os.getenv("ASAN_OPTIONS") ~= nil

describe("bounded memory", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("nv.profile counts columns past max_columns instead of profiling them", function()
    local p = require("nv.profile").new({ max_columns = 3 })
    for i = 1, 5 do p:add("c" .. i, tostring(i)) end
    assert.same({ nil, "max_columns reached" }, { p:column("c9") })
    assert.equal(2, p:column("c3"))
    p:add_rows(1)
    local res = p:result()
    assert.equal(3, #res.columns)
    assert.equal(3, res.columns_dropped) -- c4, c5 and c9, each once
    assert.equal("c4", res.first_dropped)
    local q = require("nv.profile").new({ max_columns = 4 })
    q:add("c5", "x")
    q:merge(p) -- p's dropped names and columns: c1..c3 fit, the rest count once
    local qr = q:result()
    assert.equal(4, #qr.columns)
    assert.equal(3, qr.columns_dropped)
    assert.has_error(function() require("nv.profile").new({ max_columns = 0 }) end)
  end)

  it("a JSON object with 100,000 keys: 10,000 columns profiled, the rest reported, memory bounded", function()
    local parts = {}
    for i = 1, 100000 do parts[i] = string.format('"k%d": %d', i, i) end
    H.write(dir .. "/wide.json", "{" .. table.concat(parts, ", ") .. "}\n")
    local code, out, err, mib = run_measured({ "run", "metadata_extraction", dir .. "/wide.json" }, dir)
    assert.equal(0, code, err)
    local t = json.decode(out).tables[1]
    assert.equal(10000, t.column_count)
    assert.equal(90000, t.columns_dropped)
    assert.equal(1, t.row_count)
    assert.matches("90000 columns past the first 10000 were not profiled %(max_columns; the first of them: k10001%)",
      t.warnings[1])
    if not sanitized then assert.is_true(mib < 400, "peak RSS " .. mib .. " MiB") end
  end)

  it("a CSV with 60,000 columns under max_columns = 2000 from a config file", function()
    local hdr, row = {}, {}
    for i = 1, 60000 do hdr[i], row[i] = "c" .. i, tostring(i) end
    H.write(dir .. "/wide.csv", table.concat(hdr, ",") .. "\n" .. table.concat(row, ",") .. "\n" ..
      table.concat(row, ",") .. "\n")
    H.write(dir .. "/cfg.json", '{"max_columns": 2000}')
    local code, out, err, mib = run_measured({ "run", "metadata_extraction", dir .. "/wide.csv", "--config",
      dir .. "/cfg.json" }, dir)
    assert.equal(0, code, err)
    local t = json.decode(out).tables[1]
    assert.equal(2000, t.column_count)
    assert.equal(58000, t.columns_dropped)
    assert.equal(2, t.row_count)
    if not sanitized then assert.is_true(mib < 200, "peak RSS " .. mib .. " MiB") end
  end)
  -- n tiny CSV files (a header and two rows each) in d
  local function tiny_tables(d, n)
    os.execute("mkdir -p " .. H.q(d))
    for i = 1, n do
      H.write(string.format("%s/t%05d.csv", d, i), string.format("id,name,val\n1,a%d,%g\n2,b%d,%d\n", i, i * 0.5, i, i))
    end
  end

  it("a directory of many tiny tables: memory per table stays small, the store gets every table in full", function()
    -- before (every table's full model, store rows and report held to the
    -- end) a table cost about 30 KB; past detail_tables (1000) a table keeps
    -- a compact entry and its full model goes to a detail file
    tiny_tables(dir .. "/small", 1500)
    tiny_tables(dir .. "/many", 5000)
    local code1, _, err1, mib1 = run_measured({ "run", "metadata_extraction", dir .. "/small", "--write-to-db" },
      dir .. "/small")
    assert.equal(0, code1, err1)
    local code, out, err, mib = run_measured({ "run", "metadata_extraction", dir .. "/many", "--write-to-db" },
      dir .. "/many")
    assert.equal(0, code, err)
    local r = json.decode(out)
    assert.equal(5000, r.schema_info.tables)
    assert.equal(15000, r.schema_info.columns)
    assert.equal("success", r.extraction_status)
    assert.equal(5000, #r.tables)
    assert.equal(3, #r.tables[1].columns) -- the first 1000 in full
    assert.is_nil(r.tables[1].detail_omitted)
    local last = r.tables[5000]
    assert.equal("t05000.csv", last.table_name)
    assert.is_true(last.detail_omitted)
    assert.equal(0, #last.columns)
    assert.equal(3, last.column_count)
    assert.equal(2, last.row_count)
    assert.matches("5000 tables: columns, files and previews are shown for the first 1000 only", r.tables_note)
    -- the store holds every table and column, profiles included
    local st = H.open_store(dir .. "/many")
    local rows = st:query("SELECT COUNT(*) AS n FROM tables")
    local cols = st:query("SELECT COUNT(*) AS n, SUM(CASE WHEN profile_json IS NOT NULL THEN 1 ELSE 0 END) AS p, " ..
      "MAX(max_value) AS mx FROM columns WHERE table_name = 't05000.csv' OR table_name = 't00001.csv'")
    local allcols = st:query("SELECT COUNT(*) AS n FROM columns")
    st:close()
    assert.equal(5000, tonumber(rows[1].n))
    assert.equal(15000, tonumber(allcols[1].n))
    assert.equal(6, tonumber(cols[1].n))
    assert.equal(6, tonumber(cols[1].p))
    if not sanitized then
      local kb_per_table = (mib - mib1) * 1024 / 3500
      assert.is_true(kb_per_table < 15, string.format("%.1f KB per table (peak RSS %d MiB at 5000 tables, %d MiB at 1500)",
        kb_per_table, mib, mib1))
    end
  end)

  it("past detail_tables a source model keeps compact tables; its store record is the same in full", function()
    local extract, shape, report = require "nv.extract", require "nv.model", require "nv.report"
    H.write(dir .. "/a.csv", "id,name\n1,x\n2,y\n")
    H.write(dir .. "/b.json", '[{"k": 1, "v": "p"}, {"k": 2, "v": null}]\n')
    H.write(dir .. "/c.csv", "x;y\n1;2\n3\n")
    H.write(dir .. "/d.csv", "n\n" .. string.rep("7\n", 50))
    H.write(dir .. "/e.parquet", "PAR1 not really")
    local function note() end
    local function run(keep)
      local ctx = { log = { info = note, warning = note, error = note, debug = note }, config = {}, run_id = "r1",
                    workflow_id = "w", tenant_id = "t" }
      local m = extract.source(ctx, { source_id = "s1", data_source_path = dir, source_type = "auto" },
        { detail_tables = keep })
      local rec = shape.store_record(ctx, m)
      local list = {}
      for i, t in ipairs(rec.tables) do list[i] = t end
      assert.equal(#m.tables, #rec.tables)
      return m, rec, list, ctx
    end
    local full, frec, flist = run(nil)
    local m, rec, list, ctx = run(2)
    assert.equal(5, #m.tables)
    assert.is_nil(full.detail_file)
    assert.is_string(m.detail_file)
    assert.is_nil(m.tables[2].detail)
    for i = 3, 5 do
      assert.is_number(m.tables[i].detail)
      assert.equal(0, #m.tables[i].columns)
      assert.equal(#full.tables[i].columns, m.tables[i].column_count)
      assert.equal(full.tables[i].status, m.tables[i].status)
      assert.same(full.tables[i].errors, m.tables[i].errors)
    end
    assert.equal(full.status, m.status)
    assert.same(full.errors, m.errors)
    assert.same(full.quality, m.quality)
    -- the store rows are the same, table by table (timestamps aside)
    frec.tables, rec.tables = flist, list
    for _, r in ipairs({ frec, rec }) do
      r.source.extraction_timestamp = nil
      for _, t in ipairs(r.tables) do t.extracted_at = nil end
    end
    assert.same(frec, rec)
    -- the printed result: same counts and outcome, compact entries marked
    local rf = report.aggregate(ctx, { full }, report.metadata)
    local rc = report.aggregate(ctx, { m }, report.metadata)
    assert.same(rf.schema_info, rc.schema_info)
    assert.same(rf.failed_objects, rc.failed_objects)
    assert.equal(rf.status, rc.status)
    assert.is_nil(rf.tables_note)
    assert.matches("first 2 only", rc.tables_note)
    assert.is_true(rc.tables[5].detail_omitted)
    assert.same(rf.tables[5].quality, rc.tables[5].quality)
    -- the detail file goes with the job's cleanups
    assert.is_not_nil(io.open(m.detail_file, "rb"))
    for _, c in ipairs(ctx.cleanups) do c() end
    assert.is_nil(io.open(m.detail_file, "rb"))
  end)
  it("a detail file that cannot be written keeps every table in full, with a warning", function()
    for i = 1, 4 do H.write(dir .. "/t" .. i .. ".csv", "a,b\n" .. i .. ",x\n") end
    local warned = {}
    local function note() end
    local ctx = { log = { info = note, error = note, debug = note,
                          warning = function(_, fmt, ...) warned[#warned + 1] = string.format(fmt, ...) end },
                  config = {}, run_id = "r1" }
    local m = require("nv.extract").source(ctx, { source_id = "s1", data_source_path = dir },
      { detail_tables = 1, remote_tmpdir = dir .. "/no/such/dir" })
    assert.equal(4, #m.tables)
    assert.is_nil(m.detail_file)
    for _, t in ipairs(m.tables) do
      assert.is_nil(t.detail)
      assert.equal(2, #t.columns)
    end
    assert.equal(1, #warned)
    assert.matches("^table detail kept in memory: cannot create the table detail file: .*no/such/dir", warned[1])
  end)

  it("a detail file that fails after some tables were written: the rest stay in memory, the source says so", function()
    for i = 1, 5 do H.write(dir .. "/t" .. i .. ".csv", "a,b\n" .. i .. ",x\n") end
    local td = require "nv.tabledetail"
    local real = td.new
    td.new = function(...) -- the second write fails, as on a full disk
      local sp, err = real(...)
      if not sp then return sp, err end
      local put, n = sp.put, 0
      sp.put = function(self, t)
        n = n + 1
        if n == 2 then return nil, "cannot write the table detail file: No space left on device", "io" end
        return put(self, t)
      end
      return sp
    end
    local note = function() end
    local ctx = { log = { info = note, error = note, debug = note, warning = note }, config = {}, run_id = "r1" }
    local ok, m = pcall(require("nv.extract").source, ctx, { source_id = "s1", data_source_path = dir },
      { detail_tables = 2 })
    td.new = real
    assert(ok, m)
    assert.equal(5, #m.tables)
    assert.truthy(m.detail_file)
    assert.equal(1, #m.errors)
    assert.matches("No space left on device: the detail of the tables written before may be incomplete", m.errors[1])
    assert.equal("partial", m.status)
    -- the store record reads every table back without raising: the one spilled
    -- table in full, the others as they were kept
    local rec = require("nv.model").store_record({ run_id = "r1", config = {} }, m)
    local n = 0
    for _, t in ipairs(rec.tables) do
      n = n + 1
      assert.equal(2, #t.columns, t.table_name)
    end
    assert.equal(5, n)
    for _, c in ipairs(ctx.cleanups or {}) do c() end
  end)
end)
