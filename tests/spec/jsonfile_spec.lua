-- nv.jsonfile: NDJSON and top-level-array JSON files (plain, gzip, zstd)
-- streamed into a profile, previewed as tables. Fixtures come from
-- tests/fixtures/make_json_fixtures.sh (their exact contents are assumed here).
local H = require "helper"
local jf = require "nv.jsonfile"
local profile = require "nv.profile"
local cjson = require "cjson"

local dir
setup(function()
  dir = H.tmpdir()
  local ok = os.execute("sh " .. H.q(H.root .. "/tests/fixtures/make_json_fixtures.sh") .. " " .. H.q(dir))
  assert(ok, "fixture generation failed")
end)
teardown(function() H.rmdir(dir) end)

local function path(name) return dir .. "/" .. name end

local function open(name, opts)
  return assert(jf.open(path(name), opts))
end

--- Profiles a fixture into a new profile: stats | nil, msg, stats; and p.
local function profile_file(name, opts, budget)
  local p = profile.new()
  local r <close> = open(name, opts)
  local st, err, partial = r:profile_into(p, budget)
  return st, err, partial, p
end

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

describe("nv.jsonfile.open", function()
  it("detects NDJSON and array layouts from the first byte", function()
    assert.equal("ndjson", open("hetero.ndjson"):format())
    assert.equal("array", open("array.json"):format())
    assert.equal("array", open("array.json.gz"):format())
    assert.equal("ndjson", open("empty.json"):format())
    assert.equal("ndjson", open("array.json", { format = "ndjson" }):format())
  end)

  it("returns nil, message, \"open\", errno for a missing file", function()
    local r, err, code, errno = jf.open(path("missing.json"))
    assert.is_nil(r)
    assert.equal("cannot open " .. path("missing.json") .. ": No such file or directory", err)
    assert.equal("open", code)
    assert.equal(2, errno)
  end)

  it("raises on misuse: unknown or bad options", function()
    assert.has_error(function() jf.open(path("hetero.ndjson"), { bogus = 1 }) end, "unknown option 'bogus'")
    assert.has_error(function() jf.open(path("hetero.ndjson"), { compression = "lz4" }) end,
      "bad option 'compression': 'lz4' is not one of auto, none, gzip, zstd")
    assert.has_error(function() jf.open(path("hetero.ndjson"), { format = "csv" }) end,
      "bad option 'format': 'csv' is not one of auto, ndjson, array, values")
    assert.has_error(function() jf.open(path("hetero.ndjson"), { max_record_bytes = 0 }) end,
      "bad option 'max_record_bytes': expected an integer from 1 to 1073741824")
  end)

  it("closes idempotently and raises on use after close", function()
    local r = open("hetero.ndjson")
    r:close()
    r:close()
    assert.equal("nv.JsonReader (closed)", tostring(r))
    assert.has_error(function() r:format() end, "attempt to use a closed reader")
    assert.has_error(function() r:profile_into(profile.new()) end, "attempt to use a closed reader")
    assert.has_error(function() r:records() end, "attempt to use a closed reader")
  end)
end)

describe("reader:profile_into", function()
  it("streams heterogeneous NDJSON: counts, bad lines and errors", function()
    local st = assert(profile_file("hetero.ndjson"))
    assert.equal(5, st.records)
    assert.equal(8, st.lines)
    assert.equal(2, st.bad_records)
    assert.same({ 5, 6 }, st.bad_lines)
    assert.same({
      'record 4 (line 5, byte offset 302): invalid literal; text: not json',
      'record 5 (line 6, byte offset 311): not an object (found a number); text: 42',
    }, st.errors)
    assert.equal(457, st.bytes)
    assert.equal(457, st.raw_bytes)
    assert.equal(0, st.invalid_utf8)
    assert.is_false(st.truncated)
    assert.equal("ndjson", st.format)
  end)

  it("feeds the profile: rows, flattened columns, absent keys as missing, types", function()
    local _, _, _, p = profile_file("hetero.ndjson")
    local res = p:result()
    assert.equal(5, res.rows)
    local names, by = {}, {}
    for i, c in ipairs(res.columns) do
      names[i] = c.name
      by[c.name] = c
    end
    assert.same({ "id", "name", "active", "score", "tags", "user.address.city", "user.address.zip", "nums", "mixed",
      "objs", "extra.deep.er" }, names)
    assert.equal(0, by.id.missing_count)
    assert.equal(3, by.score.missing_count) -- only records 1 and 4 have it
    assert.equal(1, by.active.missing_count)
    assert.equal(1, by.active.null_count)
    assert.equal("integer", by.id.inferred_type)
    assert.equal("string", by.name.inferred_type)
    assert.equal("boolean", by.active.inferred_type)
    assert.equal(5, by.id.max)
  end)

  it("keeps the first of repeated keys so a record gives one value per column", function()
    local f = path("dup.ndjson")
    H.write(f, '{"a":1,"a":2,"b":{"c":1},"b.c":2}\n{"a":3}\n')
    local p = profile.new()
    local r <close> = assert(jf.open(f))
    local st = assert(r:profile_into(p))
    assert.equal(2, st.duplicate_keys)
    local res = p:result()
    assert.equal(2, res.rows)
    assert.equal(0, res.columns[1].missing_count)
    assert.equal(3, res.columns[1].max)
    assert.equal("b.c", res.columns[2].name)
    assert.equal(1, res.columns[2].missing_count)
  end)

  it("summarises array element types per column", function()
    local st = assert(profile_file("hetero.ndjson"))
    assert.same({ mixed = "array<mixed>", nums = "array<integer>", objs = "array<object>", tags = "array<string>" },
      st.array_types)
    st = assert(profile_file("array.json"))
    assert.same({ list = "array<number>" }, st.array_types)
  end)

  it("streams a top-level array, also gzipped", function()
    for _, name in ipairs({ "array.json", "array.json.gz" }) do
      local st = assert(profile_file(name))
      assert.equal(3, st.records)
      assert.equal(0, st.bad_records)
      assert.equal("array", st.format)
      assert.equal(80, st.bytes)
    end
    local st = assert(profile_file("array.json.gz"))
    assert.equal(83, st.raw_bytes)
  end)

  it("reads zstd the same as plain", function()
    local st = assert(profile_file("hetero.ndjson.zst"))
    assert.equal(5, st.records)
    assert.same({ 5, 6 }, st.bad_lines)
    assert.equal(457, st.bytes)
    assert.is_true(st.raw_bytes < st.bytes)
    st = assert(profile_file("hetero.ndjson.zst", { compression = "zstd" }))
    assert.equal(5, st.records)
  end)

  it("profiles an empty file as zero records", function()
    local st = assert(profile_file("empty.json"))
    assert.equal(0, st.records)
    assert.equal(0, st.bad_records)
    assert.same({}, st.errors)
  end)

  it("stops at a syntax error in array layout, keeping what came before", function()
    local st, err, partial = profile_file("invalid.json")
    assert.is_nil(st)
    assert.equal(path("invalid.json") .. ": record 2 (byte offset 18): expected a string key", err)
    assert.equal(1, partial.records)
  end)

  it("stops at truncated gzip data, naming the file and the position", function()
    local st, err, partial = profile_file("truncated.ndjson.gz")
    assert.is_nil(st)
    assert.matches("^" .. path("truncated.ndjson.gz"):gsub("%p", "%%%0")
      .. ": truncated gzip data %(unexpected end of file%) %(at byte offset %d+%)$", err)
    assert.is_true(partial.records > 0 and partial.records < 10000)
  end)

  it("refuses a record over max_record_bytes with its number, line and offset", function()
    local st, err, partial = profile_file("hetero.ndjson", { max_record_bytes = 100 })
    assert.is_nil(st)
    assert.equal(path("hetero.ndjson") .. ": record 1 (line 1, byte offset 0): record larger than "
      .. "max_record_bytes (100)", err)
    assert.equal(0, partial.records)
    st, err, partial = profile_file("hetero.ndjson", { max_record_bytes = 113 })
    assert.is_nil(st)
    assert.equal(path("hetero.ndjson") .. ": record 1 (line 1, byte offset 0): record larger than "
      .. "max_record_bytes (113)", err)
    st = assert(profile_file("hetero.ndjson", { max_record_bytes = 114 }))
    assert.equal(5, st.records)
  end)

  it("skips a record nested too deeply and goes on", function()
    local st = assert(profile_file("deep.ndjson"))
    assert.equal(2, st.records)
    assert.same({ 2 }, st.bad_lines)
    -- the excerpt: the record's first 40 bytes as written, "…" as it goes on
    assert.same({ 'record 2 (line 2, byte offset 328): nesting deeper than 64 levels; text: ' ..
      string.rep('{"k":', 8) .. '…' }, st.errors)
  end)

  it("counts strings with invalid UTF-8 or lone surrogates", function()
    local st = assert(profile_file("badutf8.ndjson"))
    assert.equal(3, st.records)
    assert.equal(2, st.invalid_utf8)
  end)

  it("reads a pretty-printed array forced to NDJSON line by line", function()
    local st = assert(profile_file("array.json", { format = "ndjson" }))
    assert.equal(1, st.records) -- line 4, '  {"id": 3}', is a record on its own
    assert.equal(4, st.bad_records)
    assert.same({ 1, 2, 3, 5 }, st.bad_lines)
    assert.equal('record 2 (line 2, byte offset 23): unexpected data after the value; text: {"id": 1, "v": "a"},',
      st.errors[2])
  end)

  it("honours max_records and max_bytes, marking the stats truncated", function()
    local st = assert(profile_file("many.ndjson.gz", nil, { max_records = 10 }))
    assert.equal(10, st.records)
    assert.is_true(st.truncated)
    assert.equal(10, st.rows)
    st = assert(profile_file("many.ndjson.gz", nil, { max_rows = 7 }))
    assert.equal(7, st.records)
    st = assert(profile_file("hetero.ndjson", nil, { max_records = 5 }))
    assert.equal(5, st.records)
    assert.is_false(st.truncated)
    st = assert(profile_file("hetero.ndjson", nil, { max_bytes = 230 }))
    assert.equal(2, st.records) -- line 2's newline is at byte offset 212, line 4's at 301
    assert.equal(230, st.bytes)
    assert.is_true(st.truncated)
    st = assert(profile_file("hetero.ndjson", nil, { max_bytes = 457 }))
    assert.equal(5, st.records)
    assert.is_false(st.truncated)
  end)

  it("raises on misuse: not a profile, unknown budget option", function()
    local r <close> = open("hetero.ndjson")
    assert.has_error(function() r:profile_into({}) end)
    assert.has_error(function() r:profile_into(profile.new(), { max_lines = 1 }) end, "unknown option 'max_lines'")
  end)

  it("runs a full pass on every call", function()
    local r <close> = open("hetero.ndjson")
    local a = assert(r:profile_into(profile.new()))
    local b = assert(r:profile_into(profile.new()))
    assert.equal(5, a.records)
    assert.equal(5, b.records)
  end)
end)

describe("reader:records", function()
  it("decodes records as nested tables, skipping bad lines", function()
    local r <close> = open("hetero.ndjson")
    local got = {}
    for rec in r:records(10) do got[#got + 1] = rec end
    assert.equal(5, #got)
    assert.same({ id = 1, name = "ada", active = true, score = 9.5, tags = { "x", "y" },
      user = { address = { city = "Paris", zip = "75001" } } }, got[1])
    assert.equal("caf\u{e9} \u{1F600}", got[3].name)
    assert.equal(cjson.null, got[3].active)
    assert.equal(math.type(got[4].score), "integer")
    assert.same({ deep = { er = "x" } }, got[5].extra)
  end)

  it("stops after max records (default 20)", function()
    local r <close> = open("many.ndjson.gz")
    local n = 0
    for _ in r:records(3) do n = n + 1 end
    assert.equal(3, n)
    n = 0
    for _ in r:records() do n = n + 1 end
    assert.equal(20, n)
  end)

  it("streams top-level arrays", function()
    local r <close> = open("array.json")
    local ids = {}
    for rec in r:records() do ids[#ids + 1] = rec.id end
    assert.same({ 1, 2, 3 }, ids)
  end)

  it("raises the file's error while iterating", function()
    local r <close> = open("invalid.json")
    assert.has_error(function()
      for _ in r:records() do end
    end, path("invalid.json") .. ": record 2 (byte offset 18): expected a string key")
  end)
end)

describe("reader:profile_into progress", function()
  local pdir, path
  setup(function()
    pdir = H.tmpdir()
    path = pdir .. "/big.ndjson"
    local lines = {}
    for i = 1, 20000 do lines[i] = string.format('{"id":%d,"name":"n%d"}', i, i) end
    H.write(path, table.concat(lines, "\n") .. "\n")
  end)
  teardown(function() H.rmdir(pdir) end)

  it("reports the bytes read every progress_bytes, and the profile is unchanged", function()
    local r = assert(jf.open(path))
    local p = profile.new()
    local seen = {}
    local st = assert(r:profile_into(p, { progress = function(n) seen[#seen + 1] = n end, progress_bytes = 50000 }))
    local size = #H.read(path)
    assert.is_true(#seen >= 2, #seen .. " reports for " .. size .. " bytes")
    for i = 2, #seen do assert.is_true(seen[i] >= seen[i - 1]) end
    assert.is_true(seen[#seen] <= size)
    assert.equal(20000, st.records)
    -- a second pass into a new profile gives the same result (it used to
    -- keep the first profile's column numbers and lose every column)
    local q = profile.new()
    assert(r:profile_into(q))
    assert.same(p:result(), q:result())
    r:close()
  end)

  it("survives a failing callback and refuses to close the reader or the profile under itself", function()
    local r = assert(jf.open(path))
    local calls = 0
    local st = assert(r:profile_into(profile.new(), { progress_bytes = 50000, progress = function()
      calls = calls + 1
      error("boom")
    end }))
    assert.equal(1, calls)
    assert.equal(20000, st.records)
    local closed_err
    assert(r:profile_into(profile.new(), { progress_bytes = 50000, progress = function()
      local ok, e = pcall(r.close, r)
      closed_err = closed_err or (not ok and e)
    end }))
    assert.matches("busy", closed_err)
    -- nor through __close from a to-be-closed variable
    local tbc_err
    assert(r:profile_into(profile.new(), { progress_bytes = 50000, progress = function()
      local ok, e = pcall(function() local _ <close> = r end)
      tbc_err = tbc_err or (not ok and e)
    end }))
    assert.matches("busy", tbc_err)
    -- a callback returning false cancels the profile
    assert.has_error(function()
      r:profile_into(profile.new(), { progress_bytes = 50000, progress = function() return false end })
    end, path .. ": cancelled")
    local p2 = profile.new()
    assert.has_error(function()
      r:profile_into(p2, { progress_bytes = 50000, progress = function() p2:close() end })
    end, path .. ": the profile was closed during profile_into")
    assert.has_error(function() r:profile_into(profile.new(), { progress = 1 }) end,
      "option 'progress' must be a function")
    r:close()
  end)
end)

-- ---- shapes of real files: truth from Python's json module and DuckDB ------

-- The shapes issue 11 found read as 0 rows: a pretty-printed GeoJSON
-- FeatureCollection and an API dump (records in a member array), one
-- pretty-printed object (one record), arrays of scalars, concatenated
-- objects; and NDJSON with malformed lines, which must be reported.
local function shape_fixtures(d)
  local files = {}
  local function put(name, text)
    H.write(d .. "/" .. name, text)
    files[#files + 1] = name
  end
  local feats = {}
  for i = 1, 40 do
    feats[i] = string.format('    {"type": "Feature", "id": %d,\n     "geometry": {"type": "Point", "coordinates": [%d.5, %d.25]},\n' ..
      '     "properties": {"name": "p%d", "pop": %s, "tags": {"k": "v%d"}}}', i, i, -i, i, i % 7 == 0 and "null" or tostring(i * 10), i % 3)
  end
  put("geo.geojson", '{\n  "type": "FeatureCollection",\n  "crs": {"type": "name", "properties": {"name": "EPSG:4326"}},\n' ..
    '  "bbox": [1, -40, 40, -1],\n  "features": [\n' .. table.concat(feats, ",\n") .. "\n  ]\n}\n")
  local rows = {}
  for i = 1, 25 do
    rows[i] = string.format('{"id": %d, "user": {"login": "u%d", "site_admin": %s}, "labels": ["a", "b"], "score": %s}', i, i,
      i % 2 == 0 and "true" or "false", i % 4 == 0 and "1.5" or tostring(i))
  end
  put("api.json", '{\n  "meta": {"count": 25, "next": null, "errors": [{"code": 1}, {"code": 2}]},\n  "data": [\n    ' ..
    table.concat(rows, ",\n    ") .. '\n  ]\n}\n')
  put("one.json", '{\n  "name": "nvlua",\n  "version": "1.0",\n  "config": {"a": 1, "b": [1, 2], "c": {"d": "x"}},\n' ..
    '  "tags": ["x", "y"],\n  "owners": [{"n": "a"}],\n  "empty": {}\n}\n')
  local ints = {}
  for i = 1, 30 do ints[i] = tostring(i * 7 - 50) end
  put("ints.json", "[" .. table.concat(ints, ", ") .. "]")
  put("strings.json", '[\n  "alpha",\n  "beta",\n  "gamma \\u00e9"\n]\n')
  put("concat.json", '{"a": 1, "b": "x"}{"a": 2, "b": "y"}\n{\n  "a": 3,\n  "c": {"d": true}\n}\n{\n  "a": 4\n}\n')
  local lines = {}
  for i = 1, 12 do
    if i == 3 then lines[i] = '{"id": 3, "name": "unterminated'
    elseif i == 7 then lines[i] = '{"id": 7 "name": "x"}'
    elseif i == 9 then lines[i] = '{"id": 9, "password": "hunter2", "n": 01}'
    elseif i == 11 then lines[i] = '"just a string"'
    else lines[i] = string.format('{"id": %d, "name": "n%d"}', i, i) end
  end
  put("bad.ndjson", table.concat(lines, "\n") .. "\n")
  put("multi.ndjson", '{"id":1,"name":"a, b"}{"id":2,"name":"c"}{"id":3,"name":"}{"}\n') -- several objects on one line
  put("broken_first.ndjson", '{"id":1,"name":"unterminated}\n{"id":2,"name":"b"}\n{"id":3,"name":"c"}\n')
  put("one_line.jsonl", '{"id":1,"items":[{"k":1},{"k":2},{"k":3}]}\n') -- .jsonl: one record, items a column
  return files
end

local function duckdb_dir()
  local d = os.getenv("NVLUA_DUCKDB_DIR") or ((os.getenv("HOME") or "/tmp") .. "/.cache/nvlua-duckdb")
  local f = io.open(d .. "/node_modules/@duckdb/node-api/package.json", "rb")
  if not f or not os.execute("command -v node >/dev/null 2>&1") then return nil end
  f:close()
  return d
end

local function capture(cmd)
  local pipe = assert(io.popen(cmd, "r"))
  local out = pipe:read("a")
  assert(pipe:close(), "failed: " .. cmd)
  return out
end

describe("JSON shapes of real files", function()
  local sdir, files, py
  setup(function()
    sdir = H.tmpdir()
    files = shape_fixtures(sdir)
    local args = {}
    for i, f in ipairs(files) do args[i] = H.q(sdir .. "/" .. f) end
    py = cjson.decode(capture("python3 " .. H.q(H.root .. "/tests/fixtures/json_truth.py") .. " " .. table.concat(args, " ")))
  end)
  teardown(function() H.rmdir(sdir) end)

  local function read(name)
    local p <close> = profile.new()
    local r <close> = assert(jf.open(sdir .. "/" .. name))
    local st = assert(r:profile_into(p))
    local names = {}
    for i, c in ipairs(p:result().columns) do names[i] = c.name end
    table.sort(names)
    return st, names, r:format(), r:records_path()
  end

  for _, name in ipairs({ "geo.geojson", "api.json", "one.json", "ints.json", "strings.json", "concat.json", "bad.ndjson",
                          "multi.ndjson", "broken_first.ndjson" }) do
    it("reads " .. name .. " as Python's json module does by the documented rules", function()
      local want = py[sdir .. "/" .. name]
      local st, names, fmt, rpath = read(name)
      assert.equal(want.layout, fmt)
      assert.equal(want.records_path ~= cjson.null and want.records_path or nil, rpath)
      assert.equal(want.records_path ~= cjson.null and want.records_path or nil, st.records_path)
      assert.equal(want.rows, st.rows)
      assert.same(want.columns, names)
      assert.same(want.bad_lines, st.bad_lines)
      assert.equal(#want.bad_lines, st.bad_records)
    end)
  end

  it("reads a one-line .jsonl object as one NDJSON record", function()
    local st, names, fmt = read("one_line.jsonl")
    assert.equal("ndjson", fmt)
    assert.equal(1, st.rows)
    assert.same({ "id", "items" }, names)
  end)

  it("names GeoJSON features and API data as the records path", function()
    assert.equal("features", select(4, read("geo.geojson")))
    assert.equal("data", select(4, read("api.json")))
  end)

  it("reports each malformed NDJSON line with its cause and an excerpt", function()
    local st = read("bad.ndjson")
    local want = py[sdir .. "/bad.ndjson"]
    local text = H.read(sdir .. "/bad.ndjson")
    local starts, at = {}, 0
    for line in text:gmatch("([^\n]*)\n") do
      starts[#starts + 1] = { at = at, text = line }
      at = at + #line + 1
    end
    local causes = { "unterminated string", "expected ',' or '}' after an object member",
      "invalid number (leading zero)", "not an object (found a string)" }
    assert.equal(#want.bad_lines, #st.errors)
    for i, e in ipairs(st.errors) do
      local line, off, cause, ex = e:match('^record %d+ %(line (%d+), byte offset (%d+)%): (.-); text: (.*)$')
      assert.equal(want.bad_lines[i], tonumber(line), e)
      local l = starts[tonumber(line)]
      assert.is_true(tonumber(off) >= l.at and tonumber(off) <= l.at + #l.text, e)
      assert.equal(causes[i], cause)
      local head = l.text:sub(1, 40)
      assert.equal(head .. (#l.text > 40 and "\u{2026}" or ""), ex)
    end
  end)

  it("previews value records as {json = value}", function()
    local r <close> = assert(jf.open(sdir .. "/strings.json"))
    local got = {}
    for rec in r:records() do got[#got + 1] = rec end
    assert.same({ { json = "alpha" }, { json = "beta" }, { json = "gamma \u{e9}" } }, got)
  end)

  it("previews the records of a member array", function()
    local r <close> = assert(jf.open(sdir .. "/geo.geojson"))
    local n, first = 0, nil
    for rec in r:records(100) do
      n = n + 1
      first = first or rec
    end
    assert.equal(40, n)
    assert.equal("p1", first.properties.name)
  end)

  local ddir = duckdb_dir()
  if not ddir then
    pending("DuckDB comparison: @duckdb/node-api not found (see tests/spec/parquet_spec.lua)")
    return
  end
  local duck
  setup(function()
    local args = {}
    for i, f in ipairs(files) do args[i] = H.q(sdir .. "/" .. f) end
    duck = cjson.decode(capture("NVLUA_DUCKDB_DIR=" .. H.q(ddir) .. " node " ..
      H.q(H.root .. "/tests/fixtures/duckdb_json.mjs") .. " " .. table.concat(args, " ")))
  end)

  local function top_names(names)
    local set, out = {}, {}
    for _, n in ipairs(names) do set[n:match("^[^.]+")] = true end
    for k in pairs(set) do out[#out + 1] = k end
    table.sort(out)
    return out
  end

  local function duck_names(d)
    local out = {}
    for i, c in ipairs(d.columns) do out[i] = c[1] end
    table.sort(out)
    return out
  end

  it("reads one pretty-printed object as DuckDB does: one row, its members as columns", function()
    local d = duck[sdir .. "/one.json"]
    local st, names = read("one.json")
    assert.equal(d.rows, st.rows)
    assert.same(duck_names(d), top_names(names))
  end)

  for _, name in ipairs({ "ints.json", "strings.json" }) do
    it("reads " .. name .. " as DuckDB does: one row per element, one column named as DuckDB names it", function()
      local d = duck[sdir .. "/" .. name]
      local st, names = read(name)
      assert.equal(d.rows, st.rows)
      assert.same(duck_names(d), names)
    end)
  end

  for _, name in ipairs({ "concat.json", "multi.ndjson" }) do
    it("reads concatenated objects in " .. name .. " as DuckDB does", function()
      local d = duck[sdir .. "/" .. name]
      local st, names = read(name)
      assert.equal(d.rows, st.rows)
      assert.same(duck_names(d), top_names(names))
    end)
  end

  it("takes as many records from a member array as DuckDB counts in it", function()
    assert.equal(duck[sdir .. "/geo.geojson"].lengths.features, read("geo.geojson").rows)
    assert.equal(duck[sdir .. "/api.json"].lengths.data, read("api.json").rows)
  end)
end)

describe("a large pretty-printed object", function()
  local bdir
  setup(function()
    bdir = H.tmpdir()
    local f = assert(io.open(bdir .. "/big.geojson", "wb"))
    f:write('{\n  "type": "FeatureCollection",\n  "name": "', string.rep("n", 100000), '",\n  "features": [\n')
    for i = 1, 20000 do
      f:write(i > 1 and ",\n" or "", string.format('    {"type": "Feature", "properties": {"id": %d, "v": "%s"}}', i,
        string.rep("x", i % 50)))
    end
    f:write("\n  ]\n}\n")
    f:close()
  end)
  teardown(function() H.rmdir(bdir) end)

  it("streams its member array: each record bounded by max_record_bytes, not the whole object", function()
    local size = #H.read(bdir .. "/big.geojson")
    assert.is_true(size > 1024 * 1024)
    local p <close> = profile.new()
    local r <close> = assert(jf.open(bdir .. "/big.geojson", { max_record_bytes = 1024 }))
    assert.equal("object", r:format())
    assert.equal("features", r:records_path())
    local st = assert(r:profile_into(p))
    assert.equal(20000, st.rows)
    assert.equal(0, st.bad_records)
    assert.equal(size, st.bytes)
    local by = {}
    for _, c in ipairs(p:result().columns) do by[c.name] = c end
    assert.equal(20000, by["properties.id"].max)
  end)

  it("as one record (forced values layout) it is refused past max_record_bytes, naming it", function()
    local p <close> = profile.new()
    local r <close> = assert(jf.open(bdir .. "/big.geojson", { max_record_bytes = 1024, format = "values" }))
    local st, err = r:profile_into(p)
    assert.is_nil(st)
    assert.equal(bdir .. "/big.geojson: record 1 (byte offset 0): record larger than max_record_bytes (1024)", err)
  end)
end)
