-- nv.profile: the Lua face of the column profiler (host/profiler/profile.c). The
-- statistics themselves are checked in tests/unit/test_profiler.c; this
-- spec protects the API, the result's shape and types, and the errors.
local profile = require "nv.profile"
local json = require "nv.json"

local FIELDS = {
  "name", "position", "native_type", "rows", "present", "null_count", "empty_count",
  "missing_count", "non_null", "distinct_count", "distinct_exact", "distinct_error", "inferred_type",
  "type_confidence", "type_counts", "valid_count", "invalid_count", "invalid_samples",
  "min", "max", "mean", "stddev", "p25", "p50", "p75", "min_length", "max_length",
  "avg_length", "top_values", "top_values_exact", "samples", "is_unique", "candidate_primary_key",
  "quantiles_exact", "quantile_error",
}

local function by_name(result)
  local t = {}
  for _, c in ipairs(result.columns) do t[c.name] = c end
  return t
end

describe("nv.profile", function()
  it("measures text lengths in characters, not bytes", function()
    local p = profile.new()
    p:column("name")
    for _, v in ipairs({ "ab", "héllo", "日本", ("é"):rep(9), "naïve café crème brûlée" }) do p:add_row({ v }) end
    local name = p:result().columns[1]
    assert.equal(2, name.min_length)
    assert.equal(23, name.max_length) -- 27 bytes
    assert.near((2 + 5 + 2 + 9 + 23) / 5, name.avg_length, 1e-12)
  end)

  it("profiles rows into per-column statistics", function()
    local p = profile.new()
    assert.equal(0, p:column("id"))
    assert.equal(1, p:column("amount"))
    assert.equal(2, p:column("city"))
    assert.equal(3, p:column("day"))
    assert.equal(0, p:column("id")) -- found, not added
    p:set_native_type("id", "INT64")
    p:add_row({ 1, "10.5", "Oslo", "2024-02-29" })
    p:add_row({ 2, "-3", "Oslo", "2023-12-31" })
    p:add_row({ 3, "7.25", "", "2024-01-15" })
    p:add_row({ 4, nil, "Bergen", json.null })
    local r = p:result()
    assert.equal(4, r.rows)
    assert.equal(4, #r.columns)
    local c = by_name(r)

    local id = c.id
    assert.equal(0, id.position)
    assert.equal("INT64", id.native_type)
    assert.equal("integer", id.inferred_type)
    assert.equal(1, id.min)
    assert.equal(4, id.max)
    assert.equal(math.type(id.min), "integer")
    assert.equal(2.5, id.mean)
    assert.near(math.sqrt(5 / 3), id.stddev, 1e-12)
    assert.equal(1, id.p25)
    assert.equal(2, id.p50)
    assert.equal(3, id.p75)
    assert.equal(4, id.distinct_count)
    assert.is_true(id.distinct_exact)
    assert.is_true(id.is_unique)
    assert.is_true(id.candidate_primary_key)
    assert.equal(1.0, id.type_confidence)
    assert.same({ integer = 4 }, id.type_counts)

    local amount = c.amount
    assert.equal("decimal", amount.inferred_type)
    assert.equal(1, amount.null_count)
    assert.equal(3, amount.non_null)
    assert.equal(-3.0, amount.min)
    assert.equal(math.type(amount.min), "float")
    assert.equal(10.5, amount.max)
    assert.near((10.5 - 3 + 7.25) / 3, amount.mean, 1e-12)
    assert.same({ integer = 1, decimal = 2 }, amount.type_counts)
    assert.is_false(amount.candidate_primary_key) -- a null

    local city = c.city
    assert.equal("string", city.inferred_type)
    assert.equal(1, city.empty_count)
    assert.equal("Bergen", city.min)
    assert.equal("Oslo", city.max)
    assert.is_nil(city.mean)
    assert.is_nil(city.p50)
    assert.same({ { value = "Oslo", count = 2, count_error = 0 }, { value = "Bergen", count = 1, count_error = 0 } },
      city.top_values)
    assert.is_true(city.top_values_exact)
    assert.equal(0, city.distinct_error)
    assert.same({ "Oslo", "Bergen" }, city.samples)
    assert.equal(4, city.min_length)
    assert.equal(6, city.max_length)
    assert.near(14 / 3, city.avg_length, 1e-12)
    assert.is_false(city.is_unique)

    local day = c.day
    assert.equal("date", day.inferred_type)
    assert.equal("2023-12-31", day.min)
    assert.equal("2024-02-29", day.max)
    assert.equal(1, day.null_count) -- json.null is a null
  end)

  it("returns every documented field and nothing else", function()
    local p = profile.new()
    p:set_native_type(p:column("n"), "INT")
    for i = 1, 10 do p:add("n", tostring(i)) end
    p:add_rows(12)
    local col = p:result().columns[1]
    local known = {}
    for _, f in ipairs(FIELDS) do
      known[f] = true
      assert.is_not_nil(col[f], f)
    end
    for k in pairs(col) do assert.is_true(known[k], "unexpected field " .. k) end
    assert.equal(2, col.missing_count)
    assert.equal(12, col.rows)
    assert.is_false(col.candidate_primary_key) -- missing values
    assert.same({}, col.invalid_samples)
  end)

  it("reports absent statistics as nil and an empty column as empty", function()
    local p = profile.new()
    p:add("e", nil)
    p:add("e", "   ")
    p:add_rows(2)
    local col = p:result().columns[1]
    assert.equal("empty", col.inferred_type)
    for _, f in ipairs({ "type_confidence", "min", "max", "mean", "stddev", "p25", "p50",
      "p75", "min_length", "max_length", "avg_length", "native_type" }) do
      assert.is_nil(col[f], f)
    end
    assert.same({}, col.top_values)
    assert.same({}, col.samples)
    assert.equal(1, col.null_count)
    assert.equal(1, col.empty_count)
    assert.equal(0, col.non_null)
  end)

  it("names invalid values against the inferred type", function()
    local p = profile.new()
    for i = 1, 97 do p:add("d", string.format("2023-01-%02d", i % 28 + 1)) end
    p:add("d", "2023-02-30")
    p:add("d", "soon")
    p:add("d", "2023-02-29")
    local col = p:result().columns[1]
    assert.equal("date", col.inferred_type)
    assert.equal(97, col.valid_count)
    assert.equal(3, col.invalid_count)
    assert.near(0.97, col.type_confidence, 1e-12)
    assert.same({ "2023-02-30", "soon", "2023-02-29" }, col.invalid_samples)
  end)

  it("adds booleans and floats natively, and refuses tables", function()
    local p = profile.new()
    p:add("b", true)
    p:add("b", false)
    p:add("f", 1.5)
    p:add("f", 2)
    local c = by_name(p:result())
    assert.equal("boolean", c.b.inferred_type)
    assert.equal("decimal", c.f.inferred_type)
    assert.equal(1.5, c.f.min)
    assert.equal(2.0, c.f.max)
    assert.error_matches(function() p:add("b", {}) end, "cannot profile a table value")
    assert.error_matches(function() p:add("b", print) end, "cannot profile a function value")
  end)

  it("merges like one pass", function()
    local one, a, b = profile.new(), profile.new(), profile.new()
    for _, p in ipairs({ one, a, b }) do
      p:column("k")
      p:column("v")
    end
    for i = 1, 600 do
      local row = { "key" .. (i % 7), i * 0.5 }
      one:add_row(row)
      if i <= 200 then a:add_row(row) else b:add_row(row) end
    end
    b:add("only_b", "x")
    a:merge(b)
    local x, y = by_name(one:result()), by_name(a:result())
    assert.equal(600, a:result().rows)
    for _, name in ipairs({ "k", "v" }) do
      for _, f in ipairs({ "present", "non_null", "distinct_count", "inferred_type", "min",
        "max", "top_values", "min_length", "max_length", "is_unique" }) do
        assert.same(x[name][f], y[name][f], name .. "." .. f)
      end
    end
    assert.near(x.v.mean, y.v.mean, 1e-9)
    assert.near(x.v.stddev, y.v.stddev, 1e-9)
    assert.near(150.5, y.v.p50, 150.5 * 0.02)
    assert.equal(599, y.only_b.missing_count)
    assert.error_matches(function() a:merge(a) end, "cannot merge a profile into itself")
    assert.error_matches(function() a:merge({}) end, "nv.Profile expected")
  end)

  it("raises on misuse", function()
    local p = profile.new()
    p:column("a")
    assert.error_matches(function() p:add(5, 1) end, "no column 5")
    assert.error_matches(function() p:add(-1, 1) end, "no column %-1")
    assert.error_matches(function() p:add(true, 1) end, "column name or index expected")
    assert.error_matches(function() p:add_row({ 1, 2 }) end,
      "row has 2 values but the profile has 1 columns")
    assert.error_matches(function() p:add_rows(-1) end, "row count must not be negative")
    assert.error_matches(function() p:column() end, "string expected")
  end)

  it("closes idempotently and refuses use after close", function()
    local p = profile.new()
    p:add("a", 1)
    assert.matches("^nv.Profile %(1 columns, 0 rows%)$", tostring(p))
    p:close()
    p:close()
    assert.equal("nv.Profile (closed)", tostring(p))
    for _, call in ipairs({
      function() p:add("a", 1) end, function() p:result() end, function() p:column("b") end,
      function() p:add_rows(1) end, function() p:add_row({}) end,
      function() profile.new():merge(p) end,
    }) do
      assert.error_matches(call, "attempt to use a closed profile")
    end
  end)

  it("closes at the end of a <close> scope", function()
    local kept
    do
      local p <close> = profile.new()
      kept = p
      p:add("a", 1)
    end
    assert.error_matches(function() kept:result() end, "attempt to use a closed profile")
  end)
end)

-- ---- inferred types against DuckDB's CSV sniffer ----------------------------
--
-- Each column below is profiled here and, when DuckDB is available (see
-- duckdb_dir), written as a one-column CSV that DuckDB's read_csv types with
-- its sniffer (tests/fixtures/duckdb_sniff_types.mjs). `duck` records what
-- DuckDB v1.5.6 answered; with DuckDB present the live answer is compared
-- with the record first, and is the truth used. Without DuckDB the record
-- is the truth. DuckDB types map to ours: BIGINT integer, DOUBLE decimal,
-- BOOLEAN boolean, DATE date, TIMESTAMP [WITH TIME ZONE] timestamp, TIME
-- time, VARCHAR string. Where we deliberately differ, `ours` holds our type
-- and `why` the reason:
--   * Y/N flags are booleans (DuckDB: only true/false, t/f, yes/no).
--   * A leading '+' is a sign: "+3" is a number (DuckDB: VARCHAR), except
--     before 7 to 15 digits: +14155552671 is a phone (a code, as 007).
--   * NA, N/A, #N/A, null, None, nil, - and -- are null markers (what R,
--     pandas and spreadsheets write for a missing value): they never count
--     against the type and stay out of min/max/mean (DuckDB: VARCHAR unless
--     nullstr says so). They are counted under type_counts.null.
--   * Dash dates with a two-digit year (99-01-02, 12-31-20) stay strings:
--     y-m-d, m-d-y and d-m-y all read them, and codes look the same
--     (DuckDB: DATE). D.M.YY needs two-digit day and month (31.12.99) so
--     that version numbers (3.10.12) stay strings (DuckDB: DATE).
--   * Digits grouped by thousands separators are numbers: "1,492" is 1492
--     (spreadsheet exports quote those >= 1000 and leave 991 plain). Only
--     exact grouping (d{1,3}(,ddd)+[.d*]); 1,5 stays text (DuckDB: VARCHAR).
--   * Dates with a time are timestamps whatever the date form, and a 12-hour
--     clock may omit seconds (3/20/2014 3:51 PM; DuckDB: VARCHAR for both).
--   * Text identifiers are refined: uuid, email, url, ip, json (DuckDB:
--     VARCHAR).
--   * An M/D vs D/M ambiguous column with no day above 12 reads as M/D
--     (DuckDB picks D/M); both normalise min/max to ISO.
--   * A leading zero makes a code in decimals too (00.5, 01.10 as in tariff
--     codes; DuckDB: DOUBLE). Plain 0, 0.5, -0.5 are numbers.
--   * Integers beyond int64 make a decimal column whose min/max are the
--     exact numerals (DuckDB: DOUBLE, rounded to 1.8446744073709552e+19).
--   * NaN and inf are decimals, as in DuckDB, but stay out of min/max/mean.
local DUCK_VERSION = "v1.5.6"
local function seq(n, f)
  local t = {}
  for i = 1, n do t[i] = f(i) end
  return t
end
local one_decimal = seq(40, function(i) return tostring(i * 7) end)
one_decimal[23] = "12.5"
local zips = seq(30, function(i) return string.format("%05d", 10000 + i * 2357) end)
zips[17] = "02134"
local NOMM = "min/max not compared"
local TYPE_CASES = {
  { "int", { "1", "2", "3", "-4" }, duck = "BIGINT" },
  { "int_zero", { "0", "1", "10" }, duck = "BIGINT" },
  { "int_01", { "0", "1", "1", "0" }, duck = "BIGINT" },
  { "int_yyyymmdd", { "20200102", "19991231" }, duck = "BIGINT" },
  { "int_one_decimal", one_decimal, duck = "DOUBLE" },
  { "dec", { "1.5", "-2.25", ".5" }, duck = "DOUBLE" },
  { "dec_sci", { "1e5", "1.5E-3", "-2e10" }, duck = "DOUBLE" },
  { "dec_nan", { "1.5", "NaN", "2" }, duck = "DOUBLE", minmax = "NaN stays out of max" },
  { "dec_inf", { "1.5", "inf", "-inf", "Infinity" }, duck = "DOUBLE", minmax = "inf stays out of min/max" },
  { "big", { "18446744073709551616", "1" }, duck = "DOUBLE", minmax = "exact, not rounded",
    min = "1", max = "18446744073709551616" },
  { "zip", zips, duck = "VARCHAR" },
  { "code_007", { "007", "123" }, duck = "VARCHAR" },
  { "code_decimal", { "-0.5", "-00.5" }, duck = "DOUBLE", ours = "string", why = "leading zero: a code" },
  { "phone_dash", { "555-123-4567", "555-987-6543" }, duck = "VARCHAR" },
  { "phone_paren", { "(555) 123-4567", "(555) 987-6543" }, duck = "VARCHAR" },
  { "phone_intl", { "+44 20 7946 0958", "+1 555 123 4567" }, duck = "VARCHAR" },
  { "phone_dot", { "555.123.4567", "555.987.6543" }, duck = "VARCHAR" },
  { "phone_e164", { "+14155552671", "+442079460958" }, duck = "VARCHAR" },
  { "percent", { "12%", "3.5%" }, duck = "VARCHAR" },
  { "thousands", { "1,234", "12,345,678" }, duck = "VARCHAR", ours = "integer", why = "grouped digits",
    min = 1234, max = 12345678 },
  { "thousands_mixed", { "991", "1,492", "11" }, duck = "VARCHAR", ours = "integer", why = "grouped digits",
    min = 11, max = 1492 },
  { "decimal_comma", { "1,5", "2,25" }, duck = "VARCHAR" },
  { "currency", { "$1.50", "$1,200.00" }, duck = "VARCHAR" },
  { "bool_tf", { "true", "false" }, duck = "BOOLEAN" },
  { "bool_TF", { "TRUE", "False" }, duck = "BOOLEAN" },
  { "bool_t", { "t", "f" }, duck = "BOOLEAN" },
  { "bool_yesno", { "yes", "no" }, duck = "BOOLEAN" },
  { "bool_YN", { "Y", "N", "Y" }, duck = "VARCHAR", ours = "boolean", why = "Y/N flags" },
  { "date_iso", { "2020-01-02", "1999-12-31" }, duck = "DATE" },
  { "date_ymd_slash", { "2020/01/02", "1999/12/31" }, duck = "DATE" },
  { "date_ymd_dots", { "2020.01.02", "1999.12.31" }, duck = "DATE" },
  { "date_mdyyyy", { "1/2/1999", "12/31/2020" }, duck = "DATE" },
  { "date_mdyy", { "1/2/99", "12/31/20", "3/4/05" }, duck = "DATE" },
  { "date_dmyyyy", { "13/2/1999", "31/12/2020" }, duck = "DATE" },
  { "date_ambiguous", { "1/2/1999", "3/4/2020" }, duck = "DATE", minmax = "ambiguous: M/D here",
    min = "1999-01-02", max = "2020-03-04" },
  { "date_dots", { "13.02.1999", "31.12.2020" }, duck = "DATE" },
  { "date_dots_yy", { "13.02.99", "31.12.20" }, duck = "DATE" },
  { "date_dots_short", { "13.2.99", "31.12.20" }, duck = "DATE", ours = "string", why = "D.M.YY needs DD.MM" },
  { "date_mdy_dash", { "01-02-1999", "12-31-2020" }, duck = "DATE" },
  { "date_dmy_dash", { "31-12-2020", "13-01-2020" }, duck = "DATE" },
  { "date_iso_unpadded", { "2023-1-5", "2023-12-31" }, duck = "DATE" },
  { "date_mdy_and_dmy", { "12/31/2020", "31/12/2020", "1/2/2020" }, duck = "VARCHAR" },
  { "date_yy_first", { "99-01-02", "20-12-31" }, duck = "DATE", ours = "string", why = "dash + YY" },
  { "date_pivot", { "1/1/68", "1/1/69" }, duck = "DATE" },
  { "date_month_name", { "Jan 2, 2020", "Dec 31, 1999" }, duck = "VARCHAR" },
  { "date_dmon", { "02-Jan-2020", "31-Dec-1999" }, duck = "VARCHAR" },
  { "time", { "12:30", "23:59:59", "1:05:00.123" }, duck = "TIME" },
  { "ts_utc", { "2020-01-02 03:04:05 UTC", "2020-01-02 03:04:06 UTC" }, duck = "TIMESTAMP" },
  { "ts_t", { "2020-01-02T03:04:05", "2020-01-02T03:04:05.123" }, duck = "TIMESTAMP" },
  { "ts_space", { "2020-01-02 03:04:05", "2020-01-02 03:04" }, duck = "TIMESTAMP" },
  { "ts_zone", { "2020-01-02T03:04:05Z", "2020-01-02T03:04:05+02:00" }, duck = "TIMESTAMP WITH TIME ZONE" },
  { "ts_ampm", { "1/2/2020 3:04:05 PM", "12/31/2020 11:00:00 AM" }, duck = "TIMESTAMP" },
  { "ts_ampm_minutes", { "3/20/2014 3:51 PM", "3/20/2014 11:04 AM" }, duck = "VARCHAR", ours = "timestamp",
    why = "12-hour clock without seconds", min = "2014-03-20T11:04:00", max = "2014-03-20T15:51:00" },
  { "ts_dots", { "02.01.2020 15:04", "31.12.2020 09:00:00" }, duck = "VARCHAR", ours = "timestamp",
    why = "D.M.Y with a time", min = "2020-01-02T15:04:00", max = "2020-12-31T09:00:00" },
  { "neg_plus", { "-1", "-2.5", "+3" }, duck = "VARCHAR", ours = "decimal", why = "+ is a sign",
    min = -2.5, max = 3 },
  { "null_NA", { "1", "NA", "2" }, duck = "VARCHAR", ours = "integer", why = "null marker", min = 1, max = 2 },
  { "null_N_A", { "1", "N/A", "2" }, duck = "VARCHAR", ours = "integer", why = "null marker", min = 1, max = 2 },
  { "null_null", { "1", "null", "2" }, duck = "VARCHAR", ours = "integer", why = "null marker", min = 1, max = 2 },
  { "null_dash", { "1", "-", "2" }, duck = "VARCHAR", ours = "integer", why = "null marker", min = 1, max = 2 },
  { "words", { "alpha", "beta", "gamma" }, duck = "VARCHAR" },
  { "mixed", { "1", "2", "abc" }, duck = "VARCHAR" },
  { "versions", { "1.2.10", "1.2.3", "2.0.1" }, duck = "VARCHAR" },
  { "uuid", { "123e4567-e89b-12d3-a456-426614174000", "AB5E4567-E89B-12D3-A456-426614174000" },
    duck = "VARCHAR", ours = "uuid", why = "refined text" },
  { "email", { "a@x.org", "b@y.net" }, duck = "VARCHAR", ours = "email", why = "refined text" },
  { "url", { "https://example.com/x", "s3://bucket/key" }, duck = "VARCHAR", ours = "url", why = "refined text" },
  { "ip", { "192.168.1.1", "10.0.0.255" }, duck = "VARCHAR", ours = "ip", why = "refined text" },
  { "json", { '{"a": 1}', "[1, 2]" }, duck = "VARCHAR", ours = "json", why = "refined text" },
}
local DUCK_TO_OURS = { BIGINT = "integer", DOUBLE = "decimal", BOOLEAN = "boolean", DATE = "date",
  TIMESTAMP = "timestamp", ["TIMESTAMP WITH TIME ZONE"] = "timestamp", TIME = "time", VARCHAR = "string" }

local duckdb_dir = require("helper").duckdb_dir -- @duckdb/node-api, npm-installed when NVLUA_TEST_DUCKDB=1

describe("inferred types against DuckDB's sniffer", function()
  local H = require "helper"
  local live -- DuckDB's answers in this run, or nil
  setup(function()
    local ddir = duckdb_dir()
    if not ddir then return end
    local dir = H.tmpdir()
    local cols = {}
    for _, c in ipairs(TYPE_CASES) do cols[c[1]] = c[2] end
    H.write(dir .. "/in.json", json.encode(cols))
    assert(os.execute("NVLUA_DUCKDB_DIR=" .. H.q(ddir) .. " node " ..
      H.q(H.root .. "/tests/fixtures/duckdb_sniff_types.mjs") .. " " .. H.q(dir .. "/in.json") ..
      " " .. H.q(dir .. "/out.json")), "duckdb_sniff_types.mjs failed")
    live = json.decode(H.read(dir .. "/out.json"))
    H.rmdir(dir)
  end)

  it("keeps a Parquet UINT64 column's extremes beyond int64 exact", function()
    local ddir = duckdb_dir()
    if not ddir then
      pending("DuckDB is not available (NVLUA_TEST_DUCKDB=1 installs it)")
      return
    end
    local dir = H.tmpdir()
    local path = dir .. "/u.parquet"
    H.write(dir .. "/w.mjs", [[
import { createRequire } from 'module';
const require = createRequire(process.env.NVLUA_DUCKDB_DIR + '/node_modules/');
const { DuckDBInstance } = require('@duckdb/node-api');
const con = await (await DuckDBInstance.create(':memory:')).connect();
await con.run(`copy (select * from (values (18446744073709551615::ubigint), (1::ubigint),
  (9223372036854775808::ubigint)) t(u)) to '${process.argv[2]}' (format parquet)`);
]])
    assert(os.execute("NVLUA_DUCKDB_DIR=" .. H.q(ddir) .. " node " .. H.q(dir .. "/w.mjs") .. " " .. H.q(path)))
    local pq = require "nv.parquet"
    local r <close> = assert(pq.open(path))
    local p = profile.new()
    assert(r:profile_into(p))
    H.rmdir(dir)
    local c = p:result().columns[1]
    assert.equal("decimal", c.inferred_type)
    assert.equal("1", c.min)
    assert.equal("18446744073709551615", c.max) -- 2^64 - 1, not 1.8446744073709552e+19
  end)

  local function ours(values)
    local p = profile.new()
    p:column("c")
    for _, v in ipairs(values) do p:add_row({ v }) end
    return p:result().columns[1]
  end

  -- ISO text of either side: T or space between date and time, UTC as Z / +00
  local function iso(s) return (tostring(s):gsub("T", " "):gsub("Z$", ""):gsub("%+00$", "")) end

  for _, case in ipairs(TYPE_CASES) do
    local name, values = case[1], case[2]
    it(name .. " is typed as DuckDB types it, or as documented", function()
      local duck = { type = case.duck }
      if live then
        duck = live.columns[name]
        assert.equal(case.duck, duck.type, name .. ": DuckDB " .. tostring(live.version) ..
          " no longer answers as " .. DUCK_VERSION .. " did")
      end
      local col = ours(values)
      local want = case.ours or DUCK_TO_OURS[duck.type]
      assert.equal(want, col.inferred_type, name .. (case.why and (" (" .. case.why .. ")") or ""))
      assert.equal(0, col.invalid_count, name)
      if case.min ~= nil then
        assert.equal(case.min, col.min, name .. " min")
        assert.equal(case.max, col.max, name .. " max")
      elseif live and not case.ours and not case.minmax and
          (want == "integer" or want == "decimal") then
        assert.equal(tonumber(duck.min), col.min, name .. " min")
        assert.equal(tonumber(duck.max), col.max, name .. " max")
      elseif live and not case.ours and not case.minmax and
          (want == "date" or want == "timestamp" or want == "time") then
        assert.equal(iso(duck.min), iso(col.min), name .. " min")
        assert.equal(iso(duck.max), iso(col.max), name .. " max")
      end
    end)
  end
end)

-- The shapes of real files whose columns were mistyped (538's m/d/yy poll
-- dates and quoted "4,779,736" populations, R's NA, FIPS codes with a
-- leading zero, unpadded ISO dates), end to end through nv.csv.
describe("inferred types of real-file shapes, through nv.csv", function()
  it("types each column as a person would", function()
    local H = require "helper"
    local csv = require "nv.csv"
    local dir = H.tmpdir()
    local path = dir .. "/shapes.csv"
    H.write(path, table.concat({
      "fips,state,pop,start,day,score,flag,when",
      '01001,Alabama,"4,779,736",1/14/18,2014-10-1,NA,Y,3/20/2014 3:51 PM',
      '02013,Alaska,"710,231",12/31/18,2015-6-9,2.5,,3/20/2014 11:04 AM',
      '56045,Wyoming,563626,9/6/18,2014-12-31,7,Y,3/21/2014 12:00 AM',
    }, "\n") .. "\n")
    local r <close> = assert(csv.open(path))
    local p = profile.new()
    assert(r:profile_into(p))
    H.rmdir(dir)
    local c = by_name(p:result())
    local want = {
      fips = { "string", "01001", "56045" }, state = { "string", "Alabama", "Wyoming" },
      pop = { "integer", 563626, 4779736 }, start = { "date", "2018-01-14", "2018-12-31" },
      day = { "date", "2014-10-01", "2015-06-09" }, score = { "decimal", 2.5, 7 },
      flag = { "boolean", "Y", "Y" }, when = { "timestamp", "2014-03-20T11:04:00", "2014-03-21T00:00:00" },
    }
    for name, w in pairs(want) do
      assert.equal(w[1], c[name].inferred_type, name)
      assert.equal(0, c[name].invalid_count, name)
      assert.equal(w[2], c[name].min, name .. " min")
      assert.equal(w[3], c[name].max, name .. " max")
    end
    assert.equal(1, c.score.type_counts.null)
  end)
end)

-- issue 14: a profile kept between runs (incremental runs, shards)
local H = require "helper"
describe("profile dump and load", function()
  local readers = require "nv.readers"
  local function profiled(path)
    local r <close> = assert(readers.open(path))
    local p = profile.new()
    assert(r:profile_into(p))
    return p
  end

  it("loads what it dumped: the same result and the same merges, on real files", function()
    local dir = H.root .. "/tests/fixtures/real"
    local n = 0
    for name in io.popen("ls " .. H.q(dir)):lines() do
      if name:match("%.csv$") or name:match("%.json$") or name:match("%.parquet$") then
        local p = profiled(dir .. "/" .. name)
        local q = assert(profile.load(p:dump()))
        assert.are.same(p:result(), q:result(), name)
        local m1, m2 = profile.new(), profile.new()
        m1:merge(p); m1:merge(q)
        m2:merge(q); m2:merge(q)
        assert.are.same(m1:result(), m2:result(), name)
        n = n + 1
      end
    end
    assert.is_true(n >= 30)
  end)

  it("keeps dumping and loading stable (a loaded profile dumps the same bytes)", function()
    local p = profiled(H.root .. "/examples/data/orders.csv")
    local s = p:dump()
    assert.are.equal(s, assert(profile.load(s)):dump())
  end)

  it("refuses damaged bytes with a reason", function()
    local s = profiled(H.root .. "/examples/data/customers.csv"):dump()
    local q, err, code = profile.load(s:sub(1, #s - 1))
    assert.is_nil(q)
    assert.are.equal("parse", code)
    assert.matches("checksum", err)
    local flipped = s:sub(1, 100) .. string.char(s:byte(101) ~ 1) .. s:sub(102)
    q, err, code = profile.load(flipped)
    assert.is_nil(q)
    assert.matches("checksum", err)
    q, err, code = profile.load("not a profile at all")
    assert.is_nil(q)
    assert.matches("not a serialised profile", err)
    assert.has_error(function() profile.load() end)
  end)
end)
