-- Quality dimensions computed from profile results (spec 001), exact
-- values from hand-made profiles, and recommendations from findings.
local quality = require "nv.quality"

local function col(t)
  t.rows = t.rows or 100
  t.present = t.present or t.rows
  t.null_count = t.null_count or 0
  t.empty_count = t.empty_count or 0
  t.missing_count = t.missing_count or 0
  return t
end

describe("nv.quality", function()
  it("scores completeness, validity, uniqueness, consistency and accuracy per column", function()
    local s, findings = quality.column(col {
      name = "email", null_count = 10, empty_count = 10, inferred_type = "email",
      valid_count = 76, invalid_count = 4, invalid_samples = { "bob@" },
      distinct_count = 80, type_counts = { email = 76, string = 4 },
    })
    assert.near(0.8, s.completeness, 1e-12)
    assert.near(0.95, s.validity, 1e-12)
    assert.near(0.95, s.consistency, 1e-12)
    assert.is_nil(s.uniqueness) -- not an identifier
    assert.equal(1, s.accuracy)
    assert.same({ "column email: 20.0% of values are missing (null, empty or absent)",
                  "column email: 5.0% of values are not valid email values (e.g. 'bob@')" }, findings)
  end)

  it("checks uniqueness of identifier-like columns only", function()
    local s, f = quality.column(col { name = "customer_id", inferred_type = "integer", valid_count = 100,
                                      distinct_count = 98, distinct_exact = true, type_counts = { integer = 100 } })
    assert.near(0.98, s.uniqueness, 1e-12)
    assert.same({ "column customer_id: looks like an identifier but has 2 duplicate values" }, f)
    s = quality.column(col { name = "country", inferred_type = "string", distinct_count = 3, type_counts = { string = 100 } })
    assert.is_nil(s.uniqueness)
  end)

  it("finds placeholders and extreme outliers for accuracy", function()
    local s, f = quality.column(col { name = "amount", inferred_type = "decimal", valid_count = 90, invalid_count = 10,
      type_counts = { decimal = 90, string = 10 }, top_values = { { value = "N/A", count = 10 }, { value = "5", count = 3 } },
      min = 1, max = 100000, p25 = 10, p50 = 20, p75 = 30 })
    assert.near(0.9 * 0.95, s.accuracy, 1e-12)
    assert.equal("column amount: placeholder value 'N/A' in 10 rows", f[2])
    assert.matches("^column amount: extreme outliers", f[3])
  end)

  it("scores a table: structure, timeliness against the freshness window, overall", function()
    local now = 1700000000
    local r = quality.table({
      name = "orders.csv", rows = 100, ragged_rows = 5, ragged_lines = { 7 }, last_modified = now - 60 * 86400,
      columns = { col { name = "id", inferred_type = "integer", valid_count = 100, distinct_count = 100,
                        type_counts = { integer = 100 } } },
    }, { now = now, freshness_days = 30 })
    assert.equal(100, r.scores.completeness)
    assert.equal(100, r.scores.uniqueness)
    assert.equal(95, r.scores.consistency)
    assert.equal(50, r.scores.timeliness)
    assert.equal(100, r.scores.validity)
    assert.near((100 + 100 + 100 + 95 + 50 + 100) / 6, r.scores.overall, 0.01)
    assert.same({ "orders.csv: 5 rows have a different number of fields than the header (first at line 7)",
                  "orders.csv: last modified 60 days ago (freshness window 30 days)" }, r.findings)
  end)

  it("summarizes tables weighted by rows, with levels and derived recommendations", function()
    local a = { name = "a", rows = 300, quality = { scores = { completeness = 100, validity = 90 }, findings = {} } }
    local b = { name = "b", rows = 100, quality = { scores = { completeness = 60, validity = 50 }, findings = { "b: x" } } }
    local s = quality.summarize({ a, b })
    assert.equal(90, s.quality_metrics.completeness)
    assert.equal(80, s.quality_metrics.validity)
    assert.equal(85, s.overall_score)
    assert.equal("Good", s.quality_level)
    assert.same({ "b: x" }, s.recommendations)
    local clean = quality.summarize({ a })
    assert.same({ "No issues found in 1 table(s): data quality is excellent - maintain current standards" },
      clean.recommendations)
  end)

  it("bands levels", function()
    assert.same({ "Excellent", "Good", "Fair", "Poor", "Unknown" },
      { quality.level(90), quality.level(75), quality.level(60), quality.level(59.99), quality.level(nil) })
  end)
  -- issue 11: what could not be measured is absent with a reason, never 100
  it("a failed table is measured on nothing", function()
    local r = quality.table({ name = "bad.csv", status = "failed", rows = 0, columns = {}, last_modified = 1700000000,
                              errors = { "bad.csv: binary data" } }, { now = 1700000000 })
    for _, dim in ipairs(quality.dimensions) do
      assert.is_nil(r.scores[dim], dim)
      assert.equal("the table could not be read (see its errors)", r.scores.unmeasured[dim])
    end
    assert.is_nil(r.scores.overall)
    assert.equal("the table could not be read (see its errors)", r.scores.unmeasured.overall)
    assert.equal("Unknown", r.level)
    assert.same({ "bad.csv: quality not measured: the table could not be read (bad.csv: binary data)" }, r.findings)
  end)

  it("a table without rows has no overall score: timeliness alone does not make one", function()
    local now = 1700000000
    local r = quality.table({ name = "empty.csv", status = "success", rows = 0, columns = {}, last_modified = now },
      { now = now })
    assert.equal(100, r.scores.timeliness)
    assert.is_nil(r.scores.overall)
    assert.same({ completeness = "no rows", validity = "no rows", uniqueness = "no rows", consistency = "no rows",
                  accuracy = "no rows", overall = "only timeliness could be measured (no rows)" }, r.scores.unmeasured)
    local s = quality.summarize({ { name = "empty.csv", rows = 0, status = "success", quality = r } })
    assert.is_nil(s.overall_score)
    assert.equal("Unknown", s.quality_level)
    assert.equal("no rows", s.unmeasured.validity)
    assert.equal("only timeliness could be measured", s.unmeasured.overall)
    assert.same({}, s.recommendations)
  end)

  it("malformed records skipped count against validity and cap the level at Good", function()
    -- 90 records read, all valid; 10 more skipped as malformed: validity 90/100
    local r = quality.table({ name = "e.ndjson", status = "success", rows = 90, bad_records = 10,
      columns = { col { name = "id", rows = 90, inferred_type = "integer", valid_count = 90, distinct_count = 90,
                        type_counts = { integer = 90 } } } })
    assert.equal(90, r.scores.validity)
    assert.equal(100, r.scores.consistency)
    assert.near((100 + 90 + 100 + 100 + 100) / 5, r.scores.overall, 0.01) -- 98: would be Excellent
    assert.equal("Good", r.level)
    assert.same({ "e.ndjson: 10 malformed records skipped (10.0% of the records)" }, r.findings)
    assert.is_nil(r.scores.unmeasured.uniqueness)
    assert.equal("no modification time", r.scores.unmeasured.timeliness)
    local s = quality.summarize({ { name = "e.ndjson", rows = 90, status = "success", quality = r } })
    assert.equal("Good", s.quality_level)
  end)

  it("a source's score comes from the tables that were measured; a failed one caps the level", function()
    local good = { name = "a", rows = 10, status = "success",
                   quality = { scores = { completeness = 100, validity = 100, consistency = 100, accuracy = 100, overall = 100 },
                               findings = {} } }
    local bad = { name = "b", rows = 0, status = "failed",
                  quality = quality.table({ name = "b", status = "failed", columns = {} }) }
    local s = quality.summarize({ good, bad })
    assert.equal(100, s.overall_score)
    assert.equal(100, s.quality_metrics.validity)
    assert.equal("Good", s.quality_level)
    assert.equal("b: quality not measured: the table could not be read", s.recommendations[1])
    assert.equal("Excellent", quality.summarize({ good }).quality_level)
  end)
end)
