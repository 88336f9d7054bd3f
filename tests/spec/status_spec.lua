-- Issue 11, honest statuses: an unknown source type is a usage error, a
-- file a forced format cannot read is a failed file with the reason, a
-- failed object is named in the JSON and sets the exit code by fail_on /
-- success_threshold, and schema_validation says what it found and changed.
-- Expected figures are written out from the fixtures built here.
local H = require "helper"
local json = require "nv.json"

local one_json = H.one_json

local function run(dir, args, env)
  local code, out, err = H.run(args, { cwd = dir, env = env })
  return code, out ~= "" and one_json(out) or nil, err
end

describe("honest statuses", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("an unknown source_type is a usage error naming the known types and the nearest", function()
    H.write(dir .. "/a.csv", "x\n1\n")
    local code, out, err = H.run({ "run", "metadata_extraction", dir .. "/a.csv", "parquett" }, { cwd = dir })
    assert.equal(2, code)
    assert.equal("", out)
    assert.matches("nvlua: unknown source_type 'parquett' %(did you mean parquet%?%); known types: [^\n]*csv, ", err)
    code, out, err = H.run({ "run", "metadata_extraction" },
      { cwd = dir, env = { NUVYN_JOB_PAYLOAD = json.encode({ data_source_path = dir, data_source_type = "jsn" }) } })
    assert.equal(2, code)
    assert.matches("did you mean json%?", err)
    code = H.run({ "run", "metadata_extraction", dir .. "/a.csv", "--fail-on", "always" }, { cwd = dir })
    assert.equal(2, code)
  end)
  it("a non-empty file that a forced format reads as 0 rows is a failed file with the reason", function()
    local lines = { "id,name" }
    for k = 1, 8 do lines[#lines + 1] = k .. ",n" .. k end -- 9 lines, none of them JSON
    H.write(dir .. "/people.csv", table.concat(lines, "\n") .. "\n")
    local code, r = run(dir, { "run", "metadata_extraction", dir .. "/people.csv", "json" })
    assert.equal(1, code)
    assert.equal("failed", r.status)
    assert.is_false(r.success)
    local t = r.tables[1]
    assert.equal("failed", t.status)
    assert.equal(0, t.row_count)
    local want = "^" .. (dir .. "/people.csv"):gsub("%p", "%%%0")
        .. ": forced json: 9 of 9 records invalid %(first: [^\n]*%) \u{2014} the content looks like CSV$"
    assert.matches(want, t.errors[1])
    assert.matches(want, r.failed_objects[1].reason)
    assert.equal(dir .. "/people.csv", r.failed_objects[1].path)
    -- nothing was measured: no score, never 100
    assert.is_nil(t.quality.overall)
    assert.is_nil(t.quality.timeliness)
    assert.equal("the table could not be read (see its errors)", t.quality.unmeasured.validity)
    assert.is_nil(r.quality_metrics.overall_score)
    assert.equal("no dimension could be measured", r.quality_metrics.unmeasured.overall)
    code, r = run(dir, { "run", "quality_assessment", dir .. "/people.csv", "json" })
    assert.equal(1, code)
    assert.is_nil(r.overall_score)
    assert.equal("Unknown", r.quality_level)
    assert.matches("^people%.csv: quality not measured: the table could not be read", r.recommendations[1])
    -- forced parquet: the reader's reason, and what the content looks like
    code, r = run(dir, { "run", "metadata_extraction", dir .. "/people.csv", "parquet" })
    assert.equal(1, code)
    assert.matches("people%.csv: forced parquet: not a Parquet file [^\n]* \u{2014} the content looks like CSV$",
      r.tables[1].errors[1])
    -- the same file under its own format is a table
    code, r = run(dir, { "run", "metadata_extraction", dir .. "/people.csv", "csv" })
    assert.equal(0, code)
    assert.equal(8, r.tables[1].row_count)
  end)

  it("a source whose only file is binary is failed, whatever fail_on says", function()
    local bytes = {}
    for k = 0, 255 do bytes[#bytes + 1] = string.char(k) end
    os.execute("mkdir -p " .. H.q(dir .. "/src"))
    H.write(dir .. "/src/blob.csv", table.concat(bytes):rep(8))
    local code, r = run(dir, { "run", "metadata_extraction", dir .. "/src", "auto", "--fail-on", "never" })
    assert.equal(1, code)
    assert.equal("failed", r.status)
    assert.equal("failed", r.extraction_status)
    assert.is_false(r.success)
    assert.equal(dir .. "/src/blob.csv", r.failed_objects[1].path)
  end)

  -- the source in its own directory (the job's logs and store go to dir)
  it("a run from inside the source does not profile its own log file: a binary-only source is failed", function()
    local bytes = {}
    for k = 0, 255 do bytes[#bytes + 1] = string.char(k) end
    H.write(dir .. "/blob.dat", table.concat(bytes):rep(8))
    local code, r = run(dir, { "run", "metadata_extraction", "." }) -- logs/ and the store land in the source
    assert.equal(1, code)
    assert.equal("failed", r.status)
    assert.equal(1, r.files_found)
    assert.equal(1, #r.tables)
    assert.equal("blob.dat", r.tables[1].table_name)
    code, r = run(dir, { "run", "metadata_extraction", "." })
    assert.equal(1, code)
    assert.equal(1, r.files_found) -- the first run's log file is not data either
  end)

  it("an empty source says so as a warning", function()
    os.execute("mkdir -p " .. H.q(dir .. "/empty"))
    local code, r = run(dir, { "run", "metadata_extraction", dir .. "/empty", "--fail-on", "warnings" })
    assert.equal(1, code)
    assert.equal("completed", r.status)
    assert.same({ dir .. "/empty: no files found" }, r.warnings)
    assert.equal(1, r.warning_count)
  end)

  local function good_and_bad()
    local d = dir .. "/src"
    os.execute("mkdir -p " .. H.q(d))
    H.write(d .. "/good.csv", "id,v\n1,a\n2,b\n3,c\n")
    H.write(d .. "/bad.csv", "PK\0\0\1\2binary\0")
    return d
  end

  it("fail_on partial (the default) exits 1 when a file failed, never exits 0; the JSON names the failures", function()
    local src = good_and_bad()
    local code, r = run(dir, { "run", "metadata_extraction", src, "auto", "--write-to-db" })
    assert.equal(1, code)
    assert.equal("partial", r.status)
    assert.is_false(r.success)
    assert.equal(2, r.objects_total)
    assert.equal(1, r.objects_succeeded)
    assert.same({ { source = r.source_id, table = "bad.csv", path = src .. "/bad.csv",
                    reason = src .. "/bad.csv: binary data, not a CSV or JSON file" } }, r.failed_objects)
    assert.matches("^1 of 2 objects failed %(first: ", r.error)
    -- what succeeded is still written
    local st = H.open_store(dir)
    local rows = st:query("SELECT table_name, row_count FROM _executor_metadata.tables ORDER BY table_name")
    local runs = st:query("SELECT status FROM _executor_metadata.executor_runs")
    st:close()
    assert.same({ { table_name = "bad.csv", row_count = 0 }, { table_name = "good.csv", row_count = 3 } }, rows)
    assert.same({ { status = "Failed" } }, runs)
    code, r = run(dir, { "run", "metadata_extraction", src, "--fail-on=never" })
    assert.equal(0, code)
    assert.equal("partial", r.status)
    assert.is_true(r.success)
    assert.is_nil(r.error)
    assert.equal(1, #r.failed_objects)
    for _, job in ipairs({ "quality_assessment", "data_reading" }) do
      code, r = run(dir, { "run", job, src })
      assert.equal(1, code, job)
      assert.equal("partial", r.status, job)
      assert.equal(src .. "/bad.csv", r.failed_objects[1].path, job)
    end
  end)

  it("success_threshold: a partial run succeeds when succeeded / total objects reach it", function()
    local src = good_and_bad() -- 1 of 2 objects: 50%
    local function with(threshold, fail_on)
      local p = { data_source_path = src, success_threshold = threshold, fail_on = fail_on }
      return run(dir, { "run", "metadata_extraction" }, { NUVYN_JOB_PAYLOAD = json.encode(p) })
    end
    local code, r = with(50)
    assert.equal(0, code)
    assert.equal("partial", r.status)
    assert.is_true(r.success)
    code, r = with(60)
    assert.equal(1, code)
    assert.matches("50%.0%% of 2 objects succeeded, below success_threshold 60%%$", r.error)
    code = with(50, "warnings") -- no warnings here: the threshold decides
    assert.equal(0, code)
  end)

  it("ragged rows are table errors and warnings: fail_on warnings exits 1 on them", function()
    H.write(dir .. "/rag.csv", "a,b\n1,2\n3\n4,5,6\n7,8\n")
    local code, r = run(dir, { "run", "metadata_extraction", dir .. "/rag.csv" })
    assert.equal(0, code)
    assert.equal("completed", r.status)
    assert.same({ dir .. "/rag.csv: 2 rows have a different number of fields than the header (first at line 3)" },
      r.tables[1].errors)
    assert.equal(1, r.warning_count)
    code, r = run(dir, { "run", "metadata_extraction", dir .. "/rag.csv", "--fail-on", "warnings" })
    assert.equal(1, code)
    assert.equal("completed", r.status)
    assert.is_false(r.success)
    assert.equal("1 warning(s) and fail_on = warnings", r.error)
  end)

  it("full_pipeline transmits what succeeded in a partial run, then exits 1", function()
    local src = good_and_bad()
    local srv = H.platform_server(dir)
    local ok, err = pcall(function()
      local code, r = run(dir, { "run", "full_pipeline", src },
        { NUVYN_API_ENDPOINT = srv.url, NUVYN_API_KEY = "key-0123456789abcdef" })
      assert.equal(1, code)
      assert.equal("partial", r.status)
      assert.equal("success", r.api_transmission.transmission_status)
      assert.equal(src .. "/bad.csv", r.failed_objects[1].path)
      local reqs = srv.requests()
      assert.equal(1, #reqs)
      local names = {}
      for _, t in ipairs(reqs[1].json.metadata.tables) do names[#names + 1] = t.table_name end
      table.sort(names)
      assert.same({ "bad.csv", "good.csv" }, names)
    end)
    srv.stop()
    assert(ok, err)
  end)
end)

describe("schema_validation", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)
  local all = { "sources", "tables", "columns", "executor_runs", "logs", "file_profiles" }

  it("says created on a fresh store, valid on an existing one, migrated when a column was missing", function()
    local code, r = run(dir, { "run", "schema_validation" })
    assert.equal(0, code)
    assert.equal("created", r.validation_status)
    assert.same(all, r.tables_created)
    assert.same(all, r.tables_found)
    assert.same({}, r.tables_missing)
    assert.same({}, r.columns_added)
    assert.equal("completed", r.status)

    code, r = run(dir, { "run", "schema_validation" })
    assert.equal(0, code)
    assert.equal("valid", r.validation_status)
    assert.same({}, r.tables_created)
    assert.same(all, r.tables_found)
    assert.same({}, r.tables_missing)

    -- an older store: executor_runs without host_name (SQLite >= 3.35 drops columns)
    local st = H.open_store(dir)
    assert(st:query("ALTER TABLE _executor_metadata.executor_runs DROP COLUMN host_name"))
    st:close()
    code, r = run(dir, { "run", "schema_validation" })
    assert.equal(0, code)
    assert.equal("migrated", r.validation_status)
    assert.same({ "executor_runs.host_name" }, r.columns_added)
    assert.same({}, r.tables_created)
    assert.same(all, r.tables_found)
    assert.same({}, r.tables_missing)
    assert.is_nil(r.columns_missing)
    st = H.open_store(dir)
    local cols = st:query("SELECT name FROM pragma_table_info('executor_runs', '_executor_metadata') WHERE name = 'host_name'")
    st:close()
    assert.same({ { name = "host_name" } }, cols)
  end)
end)

describe("nv.job.decide", function()
  local job = require "nv.job"
  local partial = { status = "partial", objects_total = 4, objects_succeeded = 3,
                    failed_objects = { { reason = "x: bad" } } }
  local cases = {
    -- cfg, result, err -> status, exit code
    { {}, { status = "completed" }, nil, "completed", 0 },
    { {}, partial, nil, "partial", 1 },
    { { fail_on = "never" }, partial, nil, "partial", 0 },
    { { fail_on = "partial", success_threshold = 75 }, partial, nil, "partial", 0 },
    { { fail_on = "partial", success_threshold = 75.1 }, partial, nil, "partial", 1 },
    { { fail_on = "never" }, { status = "failed" }, nil, "failed", 1 },
    { { fail_on = "never", success_threshold = 0 }, { status = "failed" }, nil, "failed", 1 },
    { { fail_on = "warnings" }, { status = "completed", warning_count = 2 }, nil, "completed", 1 },
    { { fail_on = "partial" }, { status = "completed", warning_count = 2 }, nil, "completed", 0 },
    { { fail_on = "never" }, { status = "completed" }, "boom", "failed", 1 },
    { {}, { success = false }, nil, "failed", 1 },
    { {}, { success = true }, nil, "completed", 0 },
  }
  for i, c in ipairs(cases) do
    it("case " .. i, function()
      local status, code = job.decide(c[1], c[2], c[3])
      assert.equal(c[4], status)
      assert.equal(c[5], code)
    end)
  end
  it("says why a partial run fails", function()
    local _, _, why = job.decide({}, partial)
    assert.equal("1 of 4 objects failed (first: x: bad)", why)
    _, _, why = job.decide({ success_threshold = 80 }, partial)
    assert.equal("1 of 4 objects failed (first: x: bad); 75.0% of 4 objects succeeded, below success_threshold 80%", why)
  end)
end)
