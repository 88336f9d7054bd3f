-- Jobs as a user runs them: `nvlua run …` in a subprocess, asserting exit
-- codes, one JSON document on stdout, log lines on stderr and in the
-- per-run file, and the rows left in _executor_metadata.
local H = require "helper"
local json = require "nv.json"

local LOG_LINE = "^%d%d:%d%d:%d%d %- [%w_.]+ %- %u+ %- "

local function one_json(stdout)
  assert.matches("^[^\n]*\n$", stdout) -- exactly one line
  return assert(json.decode(stdout))
end

describe("nvlua run", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("schema_validation creates the schema, then finds it valid", function()
    local code, out, err = H.run({ "run", "schema_validation" }, { cwd = dir })
    assert.equal(0, code, err)
    local r = one_json(out)
    assert.equal("_executor_metadata", r.schema_name)
    -- issue 11: the state after the job, and what it changed (this test
    -- expected "valid" with every table missing and none found before)
    assert.equal("created", r.validation_status)
    assert.same({ "sources", "tables", "columns", "executor_runs", "logs", "file_profiles" }, r.tables_created)
    assert.same({}, r.tables_missing)
    assert.same({ "sources", "tables", "columns", "executor_runs", "logs", "file_profiles" }, r.tables_found)
    assert.same({}, r.tables_found_before)
    for line in err:gmatch("[^\n]+") do assert.matches(LOG_LINE, line) end
    assert.matches("nvlua%.job_manager %- INFO %- Starting job execution: " .. r.run_id, err)

    code, out = H.run({ "run", "schema_validation" }, { cwd = dir })
    assert.equal(0, code)
    r = one_json(out)
    assert.equal("valid", r.validation_status)
    assert.same({ "sources", "tables", "columns", "executor_runs", "logs", "file_profiles" }, r.tables_found)
    assert.same({}, r.tables_missing)
    assert.same({}, r.tables_created)
    assert.same({}, r.columns_added)
    assert.same({}, r.recommendations)
  end)

  it("records every run in executor_runs and its log lines in logs", function()
    local code, out = H.run({ "run", "schema_validation", "", "", "tenant-7" }, { cwd = dir })
    assert.equal(0, code)
    local r = one_json(out)
    local st = H.open_store(dir)
    local runs = assert(st:query("SELECT * FROM _executor_metadata.executor_runs WHERE run_id = ?", r.run_id))
    assert.equal(1, #runs)
    assert.equal("Success", runs[1].status)
    assert.equal("schema_validation", runs[1].run_mode)
    assert.equal("tenant-7", runs[1].tenant_id)
    assert.matches("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d%.%d%d%d$", runs[1].finished_at)
    assert.equal(require("nv.host").version, runs[1].executor_version)
    local logs = assert(st:query("SELECT * FROM _executor_metadata.logs WHERE run_id = ? ORDER BY seq", r.run_id))
    assert.is_true(#logs >= 2)
    assert.matches("Starting job execution", logs[1].log_message)
    assert.equal("INFO", logs[1].log_level)
    st:close()
    local day = os.date("!%Y-%m-%d")
    local file = H.read(dir .. "/logs/" .. day .. "/" .. r.run_id .. ".log")
    assert.is_string(file)
    assert.matches("Starting job execution: " .. r.run_id, file)
  end)

  it("full_pipeline runs on the bundled examples and lists api_transmission as skipped", function()
    local code, out = H.run({ "run", "full_pipeline", H.root .. "/examples/data", "--write-to-db" }, { cwd = dir })
    assert.equal(0, code)
    local r = one_json(out)
    assert.equal("created", r.schema_validation.status) -- a fresh store (issue 11: was "valid")
    assert.equal("success", r.metadata_extraction.extraction_status)
    assert.equal(3, r.metadata_extraction.files_found)
    assert.equal(1, #r.skipped)
    assert.equal("api_transmission", r.skipped[1].step)
    assert.equal("NUVYN_API_ENDPOINT is not set: nothing sent to the platform", r.skipped[1].reason)
  end)

  it("fails one job with exit 1, a JSON error naming the source, and a Failed run row", function()
    local code, out, err = H.run({ "run", "full_pipeline", "/nonexistent/data" }, { cwd = dir })
    assert.equal(1, code)
    local r = one_json(out)
    assert.is_false(r.success)
    assert.equal("failed", r.status)
    assert.equal("data source /nonexistent/data: cannot access /nonexistent/data: No such file or directory", r.error)
    assert.matches("ERROR %- Job failed: data source /nonexistent/data", err)
    local st = H.open_store(dir)
    local runs = assert(st:query("SELECT status, error_message FROM _executor_metadata.executor_runs"))
    assert.same({ { status = "Failed", error_message = r.error } }, runs)
    st:close()
  end)

  local usage = {
    { "an unknown job type", { "run", "no_such_job" }, {},
      "nvlua: unknown job type 'no_such_job'; known job types: api_transmission, data_reading, full_pipeline, metadata_extraction, quality_assessment, schema_validation" },
    { "a missing job type", { "run" }, {}, "nvlua: missing job type; known job types: " },
    { "a missing required parameter", { "run", "full_pipeline" }, {},
      "nvlua: missing required parameter 'data_source_path' for job 'full_pipeline'" },
    { "invalid payload JSON", { "run", "schema_validation" }, { NUVYN_JOB_PAYLOAD = "{oops" },
      "nvlua: invalid JSON in NUVYN_JOB_PAYLOAD: " },
    { "a source without source_id", { "run", "full_pipeline" },
      { NUVYN_JOB_PAYLOAD = '{"workflow_id":"w","sources":[{"data_source_path":"/x"}]}' },
      "nvlua: missing required field 'sources[1].source_id'" },
    { "a bad log level", { "run", "schema_validation", "--log-level", "LOUD" }, {},
      "nvlua: invalid log level 'LOUD' (DEBUG, INFO, WARNING, ERROR)" },
    { "a job type that is a path", { "run", "../etc/passwd" }, {}, "nvlua: unknown job type '../etc/passwd'" },
  }
  for _, c in ipairs(usage) do
    it("exits 2 on " .. c[1] .. " with nothing on stdout", function()
      local code, out, err = H.run(c[2], { cwd = dir, env = c[3] })
      assert.equal(2, code)
      assert.equal("", out)
      assert.equal(1, select(2, err:find(c[4], 1, true)) and 1 or 0, err)
    end)
  end

  it("takes the job type from NUVYN_JOB_PAYLOAD when the command line has none", function()
    local code, out = H.run({ "run" }, { cwd = dir, env = { NUVYN_JOB_PAYLOAD = '{"job_type":"schema_validation","tenant_id":"p"}' } })
    assert.equal(0, code)
    local r = one_json(out)
    assert.equal("schema_validation", r.job_type)
    assert.equal("p", r.tenant_id)
  end)

  it("never lets a secret reach stdout, stderr, the log file or the store", function()
    local secrets = { "NUVYNKEY-0123456789", "dapiSECRET0123456789", "AWSSECRET0123456789",
                      "SASsig0123456789", "Eby8vdM02xNOcqFlq==" }
    local env = {
      NUVYN_API_KEY = secrets[1], DATABRICKS_ACCESS_TOKEN = secrets[2], AWS_SECRET_ACCESS_KEY = secrets[3],
      AZURE_STORAGE_CONNECTION_STRING = "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=" .. secrets[5],
      EXECUTOR_LOG_LEVEL = "DEBUG",
    }
    local path = "https://acct.blob.core.windows.net/c/f.csv?sp=r&sig=" .. secrets[4]
    local script = dir .. "/leaky_job.lua"
    H.write(script, [[
      return { name = "leaky", run = function(ctx)
        ctx.log:info("api key %s token %s", ctx.config.api_key, ctx.config.databricks.access_token)
        ctx.log:info("aws %s conn %s path %s", ctx.config.aws.secret_access_key,
          ctx.config.azure.connection_string, ctx.config.data_source_path)
        print("printed " .. ctx.config.api_key)
        return { echo = ctx.config, note = "x" }
      end }]])
    local code, out, err = H.run({ script, path }, { cwd = dir, env = env })
    assert.equal(0, code, err)
    assert.matches("api key %*%*%* token %*%*%*", err)
    assert.matches("printed %*%*%*", err)
    local r = one_json(out)
    assert.equal("***", r.echo.api_key)
    local st = H.open_store(dir)
    local dump = {}
    for _, t in ipairs({ "executor_runs", "logs" }) do
      for _, row in ipairs(assert(st:query("SELECT * FROM _executor_metadata." .. t))) do
        dump[#dump + 1] = json.encode(row)
      end
    end
    st:close()
    local files = io.popen("cat " .. H.q(dir) .. "/logs/*/*.log"):read("a")
    local haystacks = { out = out, err = err, store = table.concat(dump, "\n"), logfile = files }
    assert.is_true(#files > 0)
    for where, text in pairs(haystacks) do
      for _, s in ipairs(secrets) do
        assert.is_nil(text:find(s, 1, true), s .. " leaked into " .. where)
      end
    end
  end)

  it("runs a job script given by path, as the platform ships them", function()
    local code, out = H.run({ H.root .. "/jobs/schema_validation.lua" }, { cwd = dir })
    assert.equal(0, code)
    assert.equal("created", one_json(out).validation_status) -- a fresh store (issue 11: was "valid")
  end)

  it("test_connection says what it reached, exits 1 naming the source, and tests every source of a payload", function()
    os.execute("mkdir -p " .. H.q(dir .. "/src"))
    H.write(dir .. "/src/a.csv", "x\n1\n")
    H.write(dir .. "/src/b.csv", "y\n2\n")
    local code, out, err = H.run({ "run", "test_connection", dir .. "/src" }, { cwd = dir })
    assert.equal(0, code, err)
    local r = one_json(out)
    assert.equal("success", r.connection_status)
    assert.equal("files", r.connector)
    assert.same({ kind = "files", path = dir .. "/src", type = "directory", entries = 2 }, r.connection_info)
    assert.is_nil(r.error)
    code, out = H.run({ "run", "test_connection", dir .. "/gone" }, { cwd = dir })
    assert.equal(1, code)
    r = one_json(out)
    assert.equal("source " .. dir .. "/gone: cannot stat " .. dir .. "/gone: No such file or directory", r.error)
    assert.same({ "notfound", 2 }, { r.error_code, r.native_code }) -- the kind, then ENOENT
    assert.equal("failed", r.status)
    local payload = json.encode({ job_type = "test_connection", workflow_id = "wf_tc", sources = json.array({
      { source_id = "ok", data_source_path = dir .. "/src/a.csv" },
      { source_id = "bad", data_source_path = "gopher://nowhere/x" } }) })
    code, out = H.run({ "run" }, { cwd = dir, env = { NUVYN_JOB_PAYLOAD = payload } })
    assert.equal(1, code)
    r = one_json(out)
    assert.equal("partial", r.connection_status)
    assert.equal("partial", r.status)
    assert.equal(2, #r.connections)
    assert.same({ "ok", "success" }, { r.connections[1].source_id, r.connections[1].connection_status })
    assert.same({ "bad", "failed", "usage" }, { r.connections[2].source_id, r.connections[2].connection_status,
                                               r.connections[2].error_code })
    assert.same({ 2, 1, 1 }, { r.objects_total, r.objects_succeeded, r.objects_failed })
    assert.equal("bad", r.failed_objects[1].source)
  end)

  it("finds jobs under NVLUA_PATH roots and lists them", function()
    local root = dir .. "/extra"
    os.execute("mkdir -p " .. H.q(root .. "/jobs"))
    H.write(root .. "/jobs/custom_job.lua", 'return { name = "custom_job", description = "says hello", run = function(ctx) return { hello = ctx.tenant_id } end }')
    local code, out = H.run({ "run", "custom_job", "", "", "t9" }, { cwd = dir, env = { NVLUA_PATH = root } })
    assert.equal(0, code)
    assert.equal("t9", one_json(out).hello)
    code, out = H.run({ "run", "--list" }, { cwd = dir, env = { NVLUA_PATH = root } })
    assert.equal(0, code)
    -- one line per job: its name first (scripts cut the first field), then its description
    local names, lines = {}, {}
    for line in out:gmatch("[^\n]+") do
      names[#names + 1] = line:match("^(%S+)")
      lines[names[#names]] = line
    end
    assert.same({ "api_transmission", "custom_job", "data_reading", "full_pipeline", "metadata_extraction",
                  "quality_assessment", "schema_validation", "test_connection" }, names)
    assert.matches("^custom_job +says hello$", lines.custom_job)
    for _, name in ipairs(names) do
      if name ~= "custom_job" then
        local description = dofile(H.root .. "/jobs/" .. name .. ".lua").description
        assert.equal(name .. string.rep(" ", #"metadata_extraction" + 2 - #name) .. description, lines[name])
      end
    end
  end)

  it("honours EXECUTOR_LOG_LEVEL and EXECUTOR_LOG_DIR", function()
    local code, _, err = H.run({ "run", "schema_validation" },
      { cwd = dir, env = { EXECUTOR_LOG_LEVEL = "WARNING", EXECUTOR_LOG_DIR = dir .. "/custom-logs" } })
    assert.equal(0, code)
    assert.equal("", err)
    local listing = io.popen("ls " .. H.q(dir .. "/custom-logs/" .. os.date("!%Y-%m-%d"))):read("a")
    assert.matches("^job_%x+%.log\n$", listing)
  end)

  it("reports a job that raises as a failure with its message", function()
    local script = dir .. "/boom.lua"
    H.write(script, 'return { name = "boom", run = function() error("kaboom") end }')
    local code, out, err = H.run({ script }, { cwd = dir })
    assert.equal(1, code)
    local r = one_json(out)
    assert.matches("kaboom$", r.error)
    assert.matches("stack traceback", err)
  end)

  it("works as nuvyn-executor, the seed executor's command", function()
    local code, out = H.run({ "schema_validation" }, { cwd = dir, exe = H.build .. "/nuvyn-executor" })
    assert.equal(0, code)
    assert.equal("created", one_json(out).validation_status) -- a fresh store (issue 11: was "valid")
  end)

  it("writes the store where --store says", function()
    local code = H.run({ "run", "schema_validation", "--store", "sqlite:" .. dir .. "/other.db" }, { cwd = dir })
    assert.equal(0, code)
    assert.truthy(H.read(dir .. "/other.db"))
    assert.is_nil(H.read(dir .. "/_executor_metadata.db"))
  end)
end)
