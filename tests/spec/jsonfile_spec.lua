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

  it("returns nil, message, errno for a missing file", function()
    local r, err, code = jf.open(path("missing.json"))
    assert.is_nil(r)
    assert.equal("cannot open " .. path("missing.json") .. ": No such file or directory", err)
    assert.equal(2, code)
  end)

  it("raises on misuse: unknown or bad options", function()
    assert.has_error(function() jf.open(path("hetero.ndjson"), { bogus = 1 }) end, "unknown option 'bogus'")
    assert.has_error(function() jf.open(path("hetero.ndjson"), { compression = "lz4" }) end,
      "bad option 'compression': 'lz4' is not one of auto, none, gzip, zstd")
    assert.has_error(function() jf.open(path("hetero.ndjson"), { format = "csv" }) end,
      "bad option 'format': 'csv' is not one of auto, ndjson, array, (none)")
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
      "record 4 (line 5, byte offset 302): invalid literal",
      "record 5 (line 6, byte offset 311): not an object (found a number)",
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
    assert.same({ "record 2 (line 2, byte offset 328): nesting deeper than 64 levels" }, st.errors)
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
    assert.equal("record 2 (line 2, byte offset 23): unexpected data after the value", st.errors[2])
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
