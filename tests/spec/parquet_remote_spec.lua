-- Remote Parquet read footer-first (nv.pqfooter, nv.remote): metadata costs
-- at most two ranged GETs per object — the tail (a guess at the footer),
-- then exactly the rest of the footer when the guess was short — and a
-- sample adds one GET for the leading row groups that fit the budget. The
-- emulators keep no request count, so requests are counted by wrapping
-- nv.http.request in this process.
local H = require "helper"
local pqfooter = require "nv.pqfooter"
local pq = require "nv.parquet"
local json = require "nv.json"
local sys = require "nv.sys"

local testing = H.root .. "/../shared/parquet-testing"
local have_testing = io.open(testing .. "/alltypes_plain.parquet", "rb")
if have_testing then have_testing:close() end

-- a ranged GET over a string, recording {first, last} of each call
local function getter(object)
  local calls = {}
  return function(first, last)
    calls[#calls + 1] = { first, last }
    return object:sub(first + 1, last + 1)
  end, calls
end

-- enough of a Parquet object for the footer logic: magic, data, a footer of
-- flen bytes, its length, magic
local function object(data_len, flen)
  return "PAR1" .. ("d"):rep(data_len) .. ("f"):rep(flen) .. string.pack("<I4", flen) .. "PAR1"
end

describe("nv.pqfooter.fetch", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("takes one ranged GET when the footer fits the guess", function()
    local obj = object(100000, 1000)
    local get, calls = getter(obj)
    local info = assert(pqfooter.fetch(get, #obj, dir .. "/copy", { guess = 4096 }))
    assert.same({ { #obj - 4096, #obj - 1 } }, calls)
    assert.equal(1, info.requests)
    assert.equal(0, info.row_groups)
    assert.equal(1000, info.footer_length)
    assert.same({ { #obj - 4096, 4096 } }, info.ranges)
    assert.equal(obj:sub(-4096), H.read(dir .. "/copy"))
  end)

  it("takes exactly two when the footer is larger: the tail, then the rest of the footer", function()
    local obj = object(100000, 10000)
    local get, calls = getter(obj)
    local info = assert(pqfooter.fetch(get, #obj, dir .. "/copy", { guess = 4096 }))
    local start = #obj - 8 - 10000
    assert.same({ { #obj - 4096, #obj - 1 }, { start, #obj - 4096 - 1 } }, calls)
    assert.equal(2, info.requests)
    assert.same({ { start, 10008 } }, info.ranges)
    assert.equal(obj:sub(start + 1), H.read(dir .. "/copy"))
  end)

  it("takes the whole object in one GET when it is smaller than the guess", function()
    local obj = object(10, 20)
    local get, calls = getter(obj)
    local info = assert(pqfooter.fetch(get, #obj, dir .. "/copy", { guess = 4096 }))
    assert.same({ { 0, #obj - 1 } }, calls)
    assert.is_nil(info.row_groups) -- every row group is in the copy
  end)

  local bad = {
    { "bad magic", ("x"):rep(5000), "not a Parquet file (bad magic bytes)" },
    { "an encrypted footer", ("x"):rep(5000) .. "PARE", "encrypted Parquet footer (PARE) is not supported" },
    { "a corrupt footer length", "PAR1" .. ("x"):rep(5000) .. string.pack("<I4", 99999) .. "PAR1",
      "corrupt footer length 99999 (file has 5012 bytes)" },
  }
  for _, c in ipairs(bad) do
    it("stops after the first GET on " .. c[1], function()
      local get, calls = getter(c[2])
      local info, err = pqfooter.fetch(get, #c[2], dir .. "/copy", { guess = 1024 })
      assert.is_nil(info)
      assert.equal(c[3], err)
      assert.equal(1, #calls)
    end)
  end

  it("passes a failed GET's message on", function()
    local info, err = pqfooter.fetch(function() return nil, "s3://b/k: 403 Forbidden" end, 100000, dir .. "/copy")
    assert.is_nil(info)
    assert.equal("s3://b/k: 403 Forbidden", err)
  end)

  describe("on a real file", function()
    if not have_testing then
      pending("../shared/parquet-testing is not present")
      return
    end
    it("gives nv.parquet the same footer as the whole file", function()
      local path = testing .. "/alltypes_plain.parquet"
      local obj = assert(H.read(path))
      local get, calls = getter(obj)
      local info = assert(pqfooter.fetch(get, #obj, dir .. "/copy", { guess = 256 }))
      assert.equal(2, #calls)
      local r <close> = assert(pq.open(dir .. "/copy", { size = #obj, ranges = info.ranges }))
      local whole <close> = assert(pq.open(path))
      assert.same(whole:metadata(), r:metadata())
      local st, err = r:profile_into(require("nv.profile").new())
      assert.is_nil(st)
      assert.equal(dir .. "/copy: column 'id', row group 0: bytes 4-76 of the object were not fetched (footer-first copy)", err)
    end)
  end)
end)

describe("nv.parquet byte-range copies", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("rejects ranges that do not describe the copy", function()
    H.write(dir .. "/c", ("x"):rep(10))
    local cases = {
      { { size = 100, ranges = { { 90, 5 } } }, "the local copy has 10 bytes, the byte ranges 5" },
      { { size = 100, ranges = { { 95, 10 } } }, "byte range 1 (offset 95, 10 bytes) is empty, unsorted, overlapping or outside the 100-byte object" },
      { { size = 100, ranges = { { 50, 5 }, { 10, 5 } } }, "byte range 2 (offset 10, 5 bytes) is empty, unsorted, overlapping or outside the 100-byte object" },
    }
    for _, c in ipairs(cases) do
      local r, err, code = pq.open(dir .. "/c", c[1])
      assert.is_nil(r)
      assert.equal(dir .. "/c: " .. c[2], err)
      assert.equal("open", code)
    end
    assert.has_error(function() pq.open(dir .. "/c", { size = 100 }) end, "option 'ranges' must be a table")
    assert.has_error(function() pq.open(dir .. "/c", { ranges = { { 0, 10 } } }) end,
      "options 'size' and 'ranges' (1 to 4096 {offset, length} pairs) go together")
    assert.has_error(function() pq.open(dir .. "/c", { size = 10, ranges = { 5 } }) end,
      "byte range 1 must be {offset, length}")
    assert.has_error(function() pq.open(dir .. "/c", { size = 10, ranges = { { 0, 10 } }, x = 1 }) end,
      "unknown option 'x'")
  end)
end)

-- ---- against the emulators ----------------------------------------------------------

local counting = H.count_requests

local function quiet()
  local nop = function() end
  return { info = nop, warning = nop, error = nop, debug = nop }
end

-- GETs per object (listing requests left out)
local function per_object(seen)
  local n = {}
  for _, r in ipairs(seen) do
    if not r.url:find("?", 1, true) then
      local name = r.url:match("([^/]+)$")
      n[name] = n[name] or {}
      table.insert(n[name], r.range or "whole")
    end
  end
  return n
end

local function duckdb_dir()
  local d = os.getenv("NVLUA_DUCKDB_DIR") or ((os.getenv("HOME") or "/tmp") .. "/.cache/nvlua-duckdb")
  local f = io.open(d .. "/node_modules/@duckdb/node-api/package.json", "rb")
  if not f then return nil, "@duckdb/node-api not found in " .. d end
  f:close()
  if not os.execute("command -v node >/dev/null 2>&1") then return nil, "node is not installed" end
  return d
end

local function stores() return H.object_stores("pqr") end

describe("remote Parquet metadata", function()
  if not have_testing then
    pending("../shared/parquet-testing is not present")
    return
  end
  local list = stores()
  if #list == 0 then
    pending("SKIPPED: neither NVLUA_TEST_S3_ENDPOINT nor NVLUA_TEST_AZURE_BLOB is set")
    return
  end
  local extract = require "nv.extract"
  local names = { "alltypes_plain.parquet", "alltypes_dictionary.parquet", "datapage_v2.snappy.parquet",
                  "nulls.snappy.parquet", "delta_binary_packed.parquet" }

  for _, st in ipairs(list) do
    it("takes at most 2 ranged GETs per object with parquet_footer_only (" .. st.name .. ")", function()
      local footers = {}
      for _, n in ipairs(names) do
        local body = assert(H.read(testing .. "/" .. n))
        assert(st.put(n, body))
        local r <close> = assert(pq.open(testing .. "/" .. n))
        footers[n] = { size = #body, footer = r:metadata().footer_length, rows = r:metadata().num_rows }
      end
      local seen, restore = counting()
      local ctx = { config = st.config, log = quiet() }
      local ok, m = pcall(extract.source, ctx, { data_source_path = st.path, source_type = st.source_type },
        { parquet_footer_only = true, footer_guess = 512 })
      restore()
      for _, c in ipairs(ctx.cleanups or {}) do c() end
      assert(ok, m)
      assert.equal("success", m.status, json.encode(m.errors))
      local gets = per_object(seen)
      for _, n in ipairs(names) do
        local f = footers[n]
        local want = f.size <= 512 and 1 or (f.footer + 8 > 512 and 2 or 1)
        assert.equal(want, #gets[n], n)
        if f.size > 512 then
          assert.equal(string.format("bytes=%d-%d", f.size - 512, f.size - 1), gets[n][1], n)
        end
        if want == 2 then
          assert.equal(string.format("bytes=%d-%d", f.size - 8 - f.footer, f.size - 512 - 1), gets[n][2], n)
        end
        local t
        for _, x in ipairs(m.tables) do if x.name == n then t = x end end
        assert.equal(f.rows, t.rows, n)
        assert.is_true(t.files[1].footer_only, n)
      end
    end)
  end

  local ddir, why = duckdb_dir()
  for _, st in ipairs(list) do
    it("samples leading row groups within the budget with one more GET (" .. st.name .. ")", function()
      if not ddir then return pending("DuckDB: " .. why) end
      local dir = H.tmpdir()
      local spec = dir .. "/spec.json"
      H.write(spec, json.encode({ row_groups = { out = dir .. "/rg.parquet", rows = 50000, row_group_size = 4096 } }))
      assert(os.execute("NVLUA_DUCKDB_DIR=" .. H.q(ddir) .. " node " ..
        H.q(H.root .. "/tests/fixtures/make_delta_fixtures.mjs") .. " " .. H.q(spec)), "fixture generator failed")
      local body = assert(H.read(dir .. "/rg.parquet"))
      assert(st.put("rg.parquet", body))
      local whole <close> = assert(pq.open(dir .. "/rg.parquet"))
      local groups = whole:row_group_ranges()
      local md = whole:metadata()
      -- a budget of the footer plus about two and a half row groups
      local budget = md.footer_length + 8 + groups[1].length + groups[2].length + groups[3].length // 2
      local seen, restore = counting()
      local ctx = { config = st.config, log = quiet() }
      local ok, m = pcall(extract.source, ctx, { data_source_path = st.path, source_type = st.source_type },
        { include = { "rg.parquet" }, remote_max_bytes = budget })
      restore()
      for _, c in ipairs(ctx.cleanups or {}) do c() end
      H.rmdir(dir)
      assert(ok, m)
      local t = m.tables[1]
      assert.equal("success", t.status, json.encode(t.errors))
      local gets = per_object(seen)["rg.parquet"]
      assert.equal(2, #gets) -- the footer fits the default guess; then the row groups
      assert.equal(string.format("bytes=%d-%d", groups[1].offset, groups[2].offset + groups[2].length - 1), gets[2])
      assert.equal(50000, t.rows) -- from the footer
      assert.equal(2 * 4096, t.files[1].rows_profiled)
      assert.equal(2, t.files[1].fetch.row_groups)
      local by = {}
      for _, c in ipairs(t.columns) do by[c.name] = c end
      assert.equal(0, by.id.min)
      assert.equal(8191, by.id.max)
    end)
  end
end)
