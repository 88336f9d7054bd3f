-- The profile accuracy oracle: 300,000 rows with known distributions (Zipf,
-- near-uniform mid-cardinality dates, heavy hitters inside a mostly-unique
-- column, normal decimals with nulls, cardinalities on both sides of the
-- exact threshold), written by tests/oracle/oracle.py, which also recomputes
-- every statistic from the CSV in Python and checks each reported figure
-- against the bound nvlua states (exact, or count_error / distinct_error /
-- quantile_error). The same data as CSV, NDJSON, typed Parquet (DuckDB), a
-- partitioned table, profiles merged in-process (as parallel splits merge)
-- and sources profiled on worker threads.
local H = require "helper"
local json = require "nv.json"

local ROWS = 300000
local ORACLE = H.root .. "/tests/oracle/oracle.py"

local function check(dir, result_text, label)
  local path = dir .. "/" .. label .. ".json"
  H.write(path, result_text)
  local p = assert(io.popen("python3 " .. H.q(ORACLE) .. " check " .. H.q(dir .. "/data.csv") .. " " ..
    H.q(path) .. " " .. H.q(label)))
  local out = p:read("a")
  p:close()
  local r = json.decode(out)
  assert(type(r) == "table", "oracle printed: " .. tostring(out))
  io.stderr:write(string.format("\n  oracle %-9s worst distinct error %.4f, worst quantile rank error %.4f, " ..
    "exact top values %d/%d columns, heavy hitters reported %d\n", label, r.figures.distinct_rel_error_max,
    r.figures.quantile_rank_error_max, r.figures.top_exact_ok, r.figures.top_exact_columns, r.figures.heavy_reported))
  assert.same({}, r.violations)
  assert.equal(10, r.figures.columns)
  return r
end

local function extract(path, dir)
  local code, out, err = H.run({ "run", "metadata_extraction", path }, { cwd = dir })
  assert.equal(0, code, err)
  return out
end

describe("profile accuracy oracle", function()
  local dir
  setup(function()
    dir = H.tmpdir()
    assert(os.execute("python3 " .. H.q(ORACLE) .. " gen " .. H.q(dir) .. " " .. ROWS), "generator failed")
  end)
  teardown(function() H.rmdir(dir) end)

  it("CSV: every figure within its stated bound", function()
    local r = check(dir, extract(dir .. "/data.csv", dir), "csv")
    -- the suite exercises both regimes: exact columns and spilled ones
    assert.is_true(r.figures.top_exact_columns >= 4)
    assert.is_true(r.figures.distinct_rel_error_max > 0)
    assert.is_true(r.figures.heavy_reported >= 3)
  end)

  it("NDJSON: the same bounds", function()
    check(dir, extract(dir .. "/data.ndjson", dir), "ndjson")
  end)

  it("a partitioned table (4 files, one profile): the same bounds", function()
    check(dir, extract(dir .. "/parts", dir), "parts")
  end)

  it("profiles merged in-process, as parallel splits merge: the same bounds", function()
    local csv, profile = require "nv.csv", require "nv.profile"
    local ps = {}
    for k = 1, 4 do
      local r <close> = assert(csv.open(dir .. "/parts/part=" .. k .. "/data.csv"))
      ps[k] = profile.new()
      assert(r:profile_into(ps[k]))
    end
    -- a tree: (1 + 2) + (3 + 4); card70k's halves fit the exact table
    -- alone but not together, so the merge itself spills
    ps[1]:merge(ps[2])
    ps[3]:merge(ps[4])
    ps[1]:merge(ps[3])
    local res = ps[1]:result()
    assert.equal(ROWS, res.rows)
    local r = check(dir, json.encode(res), "merged")
    assert.is_true(r.figures.top_exact_columns >= 4)
  end)

  it("two sources on two worker threads: the same bounds for each", function()
    local payload = json.encode({ workflow_id = "oracle", sources = {
      { source_id = "csv", data_source_path = dir .. "/data.csv" },
      { source_id = "ndjson", data_source_path = dir .. "/data.ndjson" } } })
    local code, out, err = H.run({ "run", "metadata_extraction", "--workers", "2" },
      { cwd = dir, env = { NUVYN_JOB_PAYLOAD = payload } })
    assert.equal(0, code, err)
    local res = json.decode(out)
    assert.equal(2, #res.sources)
    for _, s in ipairs(res.sources) do
      check(dir, json.encode({ columns = s.metadata.tables[1].columns }), "worker-" .. s.source_id)
    end
  end)

  describe("typed Parquet (DuckDB writes it)", function()
    local ddir, why = H.duckdb_dir()
    if not ddir then
      pending("DuckDB: " .. why)
      return
    end
    it("the same bounds", function()
      assert(os.execute("NVLUA_DUCKDB_DIR=" .. H.q(ddir) .. " node " .. H.q(H.root .. "/tests/oracle/to_parquet.mjs") ..
        " " .. H.q(dir .. "/data.csv") .. " " .. H.q(dir .. "/data.parquet")), "DuckDB conversion failed")
      check(dir, extract(dir .. "/data.parquet", dir), "parquet")
    end)
  end)
end)
