-- nv.profile: the Lua face of the column profiler (host/profile.c). The
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
