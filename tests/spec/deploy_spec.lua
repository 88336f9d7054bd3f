-- The Databricks deployment pieces: the spark_python_task launcher run with
-- python3 against the built binary, and the Jobs API examples.
local H = require "helper"
local json = require "nv.json"

describe("databricks deployment", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  local function launch(params, env)
    env = env or {}
    env.NVLUA_BIN = H.bin
    local args = { H.root .. "/databricks/nvlua_launcher.py" }
    for _, p in ipairs(params) do args[#args + 1] = p end
    return H.run(args, { exe = "python3", cwd = dir, env = env })
  end

  it("runs a job through the launcher and passes its result and status through", function()
    local code, out, err = launch({ "schema_validation" })
    assert.equal(0, code, err)
    assert.equal("created", json.decode(out).validation_status) -- a fresh store (issue 11: was "valid")
    code, out = launch({ "full_pipeline", dir .. "/missing" })
    assert.equal(1, code)
    assert.is_false(json.decode(out).success)
    code = launch({ "no_such_job" })
    assert.equal(2, code)
  end)

  it("writes logs under /dbfs/executor/logs-style dirs when told it runs on a cluster", function()
    local code = launch({ "schema_validation", "--log-dir", dir .. "/dbfs-logs" },
      { DATABRICKS_RUNTIME_VERSION = "15.4" })
    assert.equal(0, code)
    assert.truthy(io.popen("ls " .. H.q(dir .. "/dbfs-logs")):read("a"):match("%d%d%d%d%-%d%d%-%d%d"))
  end)

  it("reports a missing binary and missing parameters", function()
    local code, _, err = H.run({ H.root .. "/databricks/nvlua_launcher.py" }, { exe = "python3", env = { NVLUA_BIN = H.bin } })
    assert.equal(2, code)
    assert.matches("no job type given", err)
  end)

  it("ships a valid Jobs API body for every job type, secrets only as secret references", function()
    for _, job in ipairs({ "schema_validation", "metadata_extraction", "data_reading", "quality_assessment",
                           "api_transmission", "full_pipeline", "test_connection" }) do
      local body = assert(json.decode(assert(H.read(H.root .. "/databricks/jobs/" .. job .. ".json"))), job)
      local task = body.tasks[1]
      assert.equal("dbfs:/executor/nvlua_launcher.py", task.spark_python_task.python_file)
      assert.equal(job, task.spark_python_task.parameters[1])
      for k, v in pairs(task.new_cluster.spark_env_vars) do
        if k:match("TOKEN") or k:match("KEY") then assert.matches("^{{secrets/", v) end
      end
    end
  end)
end)
