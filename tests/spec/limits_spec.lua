-- A sandboxed run ended by a limit still tells the truth (host/supervisor.c,
-- nv.job.finish_lost): whatever ends it - the CPU limit in Lua or inside a
-- C call, the wall-clock limit in Lua or blocked in C, a signal - stdout
-- holds its JSON result (success false, status failed, the reason), it
-- exits 1, and its executor_runs row is Failed with the reason, read back
-- by Python's sqlite3.
local H = require "helper"
local json = require "nv.json"
local proc = require "nv.proc"

local function sleep(s) os.execute("sleep " .. s) end

describe("a sandboxed run ended by a limit", function()
  local dir
  before_each(function()
    dir = H.tmpdir()
    H.write(dir .. "/data.csv", "a,b\n1,2\n")
  end)
  after_each(function() H.rmdir(dir) end)

  local function job(name, body)
    local path = dir .. "/" .. name .. ".lua"
    H.write(path, "return { name = '" .. name .. "', run = function(ctx) " .. body .. " end }\n")
    return path
  end

  local function run(path, env, extra)
    local args = { "--sandbox", path, dir .. "/data.csv", "--store", "sqlite:" .. dir .. "/store.db" }
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    env = env or {}
    env.NVLUA_SANDBOX_ROOTS = dir
    return H.run(args, { cwd = dir, env = env })
  end

  local function run_row(run_id)
    return H.sqlite_rows(dir .. "/store.db",
      "SELECT status, error_message, finished_at IS NOT NULL AS finished FROM executor_runs WHERE run_id = '"
      .. run_id .. "'")
  end

  -- the result says it failed and why; the run row agrees
  local function assert_told(code, stdout, err, why)
    assert.equal(1, code, err)
    local r = assert(json.decode(stdout), "no JSON result: " .. stdout .. "\n" .. err)
    assert.is_false(r.success)
    assert.equal("failed", r.status)
    assert.equal(why, r.error and r.error:match("sandbox: .*$"))
    assert.truthy(r.run_id and r.run_id:match("^job_%x+$"), stdout)
    local rows = run_row(r.run_id)
    assert.equal(1, #rows, json.encode(rows))
    assert.equal("Failed", rows[1].status)
    assert.equal(why, rows[1].error_message:match("sandbox: .*$"))
    assert.equal(1, rows[1].finished)
    return r
  end

  it("by the CPU limit inside one long C call (the second SIGXCPU)", function()
    local t0 = os.time()
    local code, stdout, err = run(job("spin", 'local s = ("a"):rep(40) s:find(("a*"):rep(20) .. "b")'),
      { NVLUA_SANDBOX_CPU = "1" })
    assert_told(code, stdout, err, "sandbox: CPU limit of 1 s exceeded")
    assert.truthy(err:find("nvlua: sandbox: CPU limit of 1 s exceeded", 1, true), err)
    assert.truthy(os.time() - t0 < 30, "took " .. (os.time() - t0) .. " s")
  end)

  it("by the CPU limit in Lua, through the run's own failure path", function()
    local code, stdout, err = run(job("loop", "while true do end"), { NVLUA_SANDBOX_CPU = "1" })
    assert_told(code, stdout, err, "sandbox: CPU limit of 1 s exceeded")
  end)

  it("by the wall-clock limit in Lua (the hook) with CPU time to spare", function()
    local code, stdout, err = run(job("loop", "while true do end"),
      { NVLUA_SANDBOX_CPU = "100", NVLUA_SANDBOX_WALL = "1" })
    local r = assert_told(code, stdout, err, "sandbox: wall-clock limit of 1 s exceeded")
    -- the limit counts from the process's start, execution_time from the job's
    assert.truthy(r.execution_time >= 0.8 and r.execution_time < 3, stdout)
  end)

  it("by the wall-clock limit while blocked in C (the supervisor's SIGKILL)", function()
    assert(os.execute("mkfifo " .. H.q(dir .. "/fifo")))
    local t0 = os.time()
    local code, stdout, err = run(job("block", 'local f = io.open("' .. dir .. '/fifo") return { x = f:read("a") }'),
      { NVLUA_SANDBOX_WALL = "1" }, { "--write-to-db" })
    local r = assert_told(code, stdout, err, "sandbox: wall-clock limit of 1 s exceeded")
    assert.is_false(r.written_to_db)
    assert.truthy(r.execution_time >= 1, stdout)
    assert.truthy(os.time() - t0 < 20, "took " .. (os.time() - t0) .. " s")
    assert.truthy(err:find("nvlua: sandbox: wall-clock limit of 1 s exceeded", 1, true), err)
  end)

  it("by a signal to the job's process (a kernel kill, the OOM killer)", function()
    assert(os.execute("mkfifo " .. H.q(dir .. "/fifo")))
    local path = job("block", 'ctx.log:info("blocking") local f = io.open("' .. dir .. '/fifo") return { x = f:read("a") }')
    local pid = assert(proc.spawn({ argv = { H.bin, "--sandbox", path, dir .. "/data.csv", "--store",
                                             "sqlite:" .. dir .. "/store.db" },
                                    env = { NVLUA_SANDBOX_ROOTS = dir }, cwd = dir,
                                    stdout = dir .. "/out", stderr = dir .. "/err" }))
    -- the supervised child: the one process whose parent is pid
    local child
    for _ = 1, 200 do
      local kids = H.read("/proc/" .. pid .. "/task/" .. pid .. "/children") or ""
      child = tonumber(kids:match("%d+"))
      if child and (H.read(dir .. "/err") or ""):find("blocking", 1, true) then break end
      sleep(0.05)
    end
    assert(child, "no child process")
    assert(proc.kill(child, "KILL"))
    local how, code
    for _ = 1, 200 do
      how, code = proc.poll(pid)
      if how ~= "running" then break end
      sleep(0.05)
    end
    assert.same({ "exited", 1 }, { how, code })
    assert_told(code, H.read(dir .. "/out"), H.read(dir .. "/err"), "sandbox: the job was killed by signal 9 (Killed)"
      .. " under a memory limit of 2048 MiB")
  end)

  it("passes SIGTERM on to the job, which ends through its own failure path", function()
    assert(os.execute("mkfifo " .. H.q(dir .. "/fifo")))
    -- the job waits in Lua (checking for cancellation), not in C
    local path = job("wait", 'while true do ctx.check_cancel() end')
    local pid = assert(proc.spawn({ argv = { H.bin, "--sandbox", path, dir .. "/data.csv", "--store",
                                             "sqlite:" .. dir .. "/store.db" },
                                    env = { NVLUA_SANDBOX_ROOTS = dir }, cwd = dir,
                                    stdout = dir .. "/out", stderr = dir .. "/err" }))
    for _ = 1, 200 do
      if (H.read(dir .. "/err") or ""):find("Starting job execution", 1, true) then break end
      sleep(0.05)
    end
    assert(proc.kill(pid, "TERM"))
    assert.same({ "exited", 1 }, { proc.wait(pid) })
    local r = assert(json.decode(H.read(dir .. "/out")), H.read(dir .. "/err"))
    assert.equal("failed", r.status)
    assert.equal("cancelled: received SIGTERM", r.error)
    assert.equal("Failed", run_row(r.run_id)[1].status)
  end)

  it("does not touch a run that ends normally, nor exit codes of runs that never started", function()
    local code, stdout, err = run(job("ok", "return { fine = true }"))
    assert.equal(0, code, err)
    local r = assert(json.decode(stdout))
    assert.is_true(r.success)
    assert.equal("Success", run_row(r.run_id)[1].status)
    assert.equal("", (stdout:gsub("^[^\n]*\n", ""))) -- one document
    code = H.run({ "--sandbox", "run", "no_such_job" })
    assert.equal(2, code)
    code, stdout = H.run({ "--sandbox", "run", "--list" })
    assert.equal(0, code)
    assert.truthy(stdout:find("metadata_extraction", 1, true))
  end)
end)
