-- The job server (`nvlua serve`, spec 003's API server) over real HTTP, and
-- the two C modules under it: nv.proc (child processes) and nv.httpd
-- (libmicrohttpd in external-polling mode, handlers on the Lua thread).
local H = require "helper"
local json = require "nv.json"
local http = require "nv.http"
local proc = require "nv.proc"

local passthrough = { "PATH", "HOME", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" }

local function base_env(extra)
  local env = {}
  for _, k in ipairs(passthrough) do env[k] = os.getenv(k) end
  for k, v in pairs(extra or {}) do env[k] = v end
  return env
end

local function sleep(s) os.execute("sleep " .. s) end

-- waits for a child started with proc.spawn, at most `secs`; returns how, code
local function wait_for(pid, secs)
  for _ = 1, math.floor(secs * 20) do
    local how, code = proc.poll(pid)
    if how ~= "running" then return how, code end
    sleep(0.05)
  end
  proc.kill(pid, "KILL")
  return proc.wait(pid)
end

local function wait_port(file, pid, errfile)
  for _ = 1, 200 do
    local port = tonumber(H.read(file) or "")
    if port then return port end
    local how = proc.poll(pid)
    if how ~= "running" then error("server exited: " .. tostring(H.read(errfile))) end
    sleep(0.05)
  end
  error("server did not write its port: " .. tostring(H.read(errfile)))
end

local function no_sanitizer_report(text)
  assert.falsy((text or ""):find("AddressSanitizer", 1, true), text)
  assert.falsy((text or ""):find("runtime error:", 1, true), text)
end

describe("nv.proc", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("spawns without a shell and reports the exit code", function()
    local pid = assert(proc.spawn({ argv = { "sh", "-c", "echo out; echo err >&2; exit 3" },
                                    stdout = dir .. "/o", stderr = dir .. "/e" }))
    assert.same({ "exited", 3 }, { proc.wait(pid) })
    assert.equal("out\n", H.read(dir .. "/o"))
    assert.equal("err\n", H.read(dir .. "/e"))
    local how, msg = proc.poll(pid) -- already reaped
    assert.is_nil(how)
    assert.truthy(msg:find("cannot wait for process " .. pid, 1, true), msg)
  end)

  it("polls a running child, kills it and reports the signal", function()
    local pid = assert(proc.spawn({ argv = { "sleep", "30" } }))
    assert.equal("running", proc.poll(pid))
    assert.is_true(proc.kill(pid, "TERM"))
    assert.same({ "signaled", 15 }, { wait_for(pid, 5) })
  end)

  it("merges env over the environment, removes with false, or replaces it", function()
    local pid = assert(proc.spawn({ argv = { "sh", "-c", 'printf "%s|%s|%s" "$NV_A" "$HOME" "$PATH"' },
                                    env = { NV_A = "1", HOME = false }, stdout = dir .. "/o" }))
    assert.same({ "exited", 0 }, { proc.wait(pid) })
    assert.equal("1||" .. os.getenv("PATH"), H.read(dir .. "/o"))
    pid = assert(proc.spawn({ argv = { "/bin/sh", "-c", 'printf "%s|%s" "$NV_B" "$HOME"' },
                              env = { NV_B = 2 }, replace = true, stdout = dir .. "/o2" }))
    assert.same({ "exited", 0 }, { proc.wait(pid) })
    assert.equal("2|", H.read(dir .. "/o2"))
  end)

  it("traps signals into a signalfd, and children start with them unblocked", function()
    local code, out, err = H.run({ "-e", [[
      local proc, sys = require "nv.proc", require "nv.sys"
      local t = assert(proc.trap({ "TERM", "USR1" }))
      assert(t:take() == nil)
      assert(proc.kill(sys.getpid(), "TERM"))
      assert(proc.kill(sys.getpid(), "USR1"))
      local got = { t:take(), t:take() }
      table.sort(got) -- pending signals come out in signal-number order
      local a, b = got[1], got[2]
      -- a child spawned now still dies of SIGTERM
      local pid = assert(proc.spawn({ argv = { "sleep", "30" } }))
      proc.kill(pid, "TERM")
      local how, sig = proc.wait(pid)
      t:close()
      assert(not pcall(t.take, t))
      io.write(a, " ", b, " ", tostring(t:close()), " ", how, " ", sig)
    ]] })
    assert.equal(0, code, err)
    assert.equal("TERM USR1 true signaled 15", out)
    assert.has_error(function() proc.trap({ "KILL" }) end)
    assert.has_error(function() proc.trap({ "BOGUS" }) end)
  end)

  it("sets the child's RLIMIT_CPU and RLIMIT_AS (rlimits)", function()
    local pid = assert(proc.spawn({ argv = { "sh", "-c", "sleep 0.2; ulimit -t; ulimit -H -t; ulimit -v" },
                                    rlimits = { cpu = 7, as = 512 * 1024 * 1024 }, stdout = dir .. "/o" }))
    assert.same({ "exited", 0 }, { proc.wait(pid) })
    local want_as = proc.rlimit_as_supported and tostring(512 * 1024) or "unlimited"
    assert.equal("7\n12\n" .. want_as .. "\n", H.read(dir .. "/o"))
    assert.has_error(function() proc.spawn({ argv = { "true" }, rlimits = { nofile = 1 } }) end,
      "spawn: unknown rlimit 'nofile' (known: as, cpu)")
    assert.has_error(function() proc.spawn({ argv = { "true" }, rlimits = { cpu = -1 } }) end,
      "spawn: rlimit 'cpu' must be a non-negative integer")
  end)

  it("sets the limits before the child runs any code (between fork and exec)", function()
    -- cat reads its own limits as its first act: a limit set after spawn
    -- returns (prlimit) races with it
    local want_as = proc.rlimit_as_supported and tostring(300 * 1024 * 1024) or "unlimited"
    for i = 1, 20 do
      local out = dir .. "/limits" .. i
      local pid = assert(proc.spawn({ argv = { "cat", "/proc/self/limits" }, stdout = out,
                                      rlimits = { cpu = 9, as = 300 * 1024 * 1024 } }))
      assert.same({ "exited", 0 }, { proc.wait(pid) })
      local text = H.read(out)
      assert.truthy(text:find("Max cpu time%s+9%s+14%s+seconds"), text)
      assert.truthy(text:find("Max address space%s+" .. want_as .. "%s+" .. want_as), text)
    end
  end)

  it("runs in cwd", function()
    local pid = assert(proc.spawn({ argv = { "pwd" }, cwd = dir, stdout = dir .. "/o" }))
    proc.wait(pid)
    assert.equal(dir .. "\n", H.read(dir .. "/o"))
  end)

  it("returns nil, message for a missing program or directory", function()
    local pid, msg = proc.spawn({ argv = { "/nonexistent/prog" } })
    assert.is_nil(pid)
    assert.equal("cannot spawn /nonexistent/prog: No such file or directory", msg)
    pid, msg = proc.spawn({ argv = { "true" }, cwd = dir .. "/missing" })
    assert.is_nil(pid)
    assert.truthy(msg:find("No such file or directory", 1, true), msg)
  end)

  it("raises on misuse", function()
    assert.has_error(function() proc.spawn({ argv = {} }) end, "spawn: 'argv' needs 1 to 4096 strings")
    assert.has_error(function() proc.spawn({ argv = { "true" }, shell = true }) end, "spawn: unknown option 'shell'")
    assert.has_error(function() proc.kill(0) end)
    assert.has_error(function() proc.kill(-1) end)
    assert.has_error(function() proc.kill(1, "BOGUS") end)
  end)
end)

describe("nv.httpd", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  -- a server script answering `n` requests, then closing and exiting 0
  local script = [[
    local httpd = require "nv.httpd"
    local json = require "nv.json"
    local port_file, n = arg[1], tonumber(arg[2])
    assert(not pcall(httpd.listen, { bind = "example.com" }))
    local srv <close> = assert(httpd.listen({ bind = "127.0.0.1", port = 0, max_body = 64 }))
    srv:on_request(function(req)
      if req.path == "/boom" then error("handler exploded") end
      if req.path == "/badstatus" then return "x" end
      if req.path == "/reenter" then srv:poll(0) end
      return 201, { ["X-Echo"] = req.method, ["Content-Type"] = "application/json" },
        json.encode({ method = req.method, path = req.path, query = req.query, body = req.body,
                      auth = req.headers.authorization, remote = req.remote })
    end)
    local f = assert(io.open(port_file .. ".tmp", "w"))
    f:write(srv:port())
    f:close()
    os.rename(port_file .. ".tmp", port_file)
    local answered = 0
    while answered < n do answered = answered + srv:poll(1000) end
    srv:close()
    srv:close()
    assert(not pcall(srv.poll, srv, 0))
    print("done", answered)
  ]]

  it("answers requests on the Lua thread: echo, errors as 500, 413 in C", function()
    H.write(dir .. "/srv.lua", script)
    local pid = assert(proc.spawn({ argv = { H.bin, dir .. "/srv.lua", dir .. "/port", "7" },
                                    env = base_env(), replace = true,
                                    stdout = dir .. "/out", stderr = dir .. "/err" }))
    local port = wait_port(dir .. "/port", pid, dir .. "/err")
    local base = "http://127.0.0.1:" .. port
    local r = assert(http.request({ method = "POST", url = base .. "/echo?a=1&b=x%20y", body = "hello",
                                    headers = { Authorization = "Bearer abc" }, retries = 0 }))
    assert.equal(201, r.status)
    assert.equal("POST", r.headers["x-echo"])
    local e = json.decode(r.body)
    assert.same({ method = "POST", path = "/echo", query = { a = "1", b = "x y" }, body = "hello",
                  auth = "Bearer abc", remote = "127.0.0.1" }, e)

    r = assert(http.request({ url = base .. "/boom", retries = 0 }))
    assert.equal(500, r.status)
    assert.equal('{"error":"internal server error"}', r.body)
    r = assert(http.request({ url = base .. "/badstatus", retries = 0 }))
    assert.equal(500, r.status)
    r = assert(http.request({ url = base .. "/reenter", retries = 0 }))
    assert.equal(500, r.status)

    -- announced by Content-Length: refused before the body is read
    r = assert(http.request({ method = "POST", url = base .. "/big", body = string.rep("x", 65), retries = 0 }))
    assert.equal(413, r.status)
    assert.equal('{"error":"request body too large (limit 64 bytes)"}', r.body)
    -- chunked: counted while it arrives
    H.write(dir .. "/big", string.rep("y", 500))
    local p = io.popen(string.format("curl -s -o /dev/null -w '%%{http_code}' -H 'Transfer-Encoding: chunked' "
      .. "--data-binary @%s %s/chunked", H.q(dir .. "/big"), base))
    local out = p:read("a")
    p:close()
    assert.equal("413", out)
    -- exactly 64 bytes pass
    r = assert(http.request({ method = "PUT", url = base .. "/ok", body = string.rep("z", 64), retries = 0 }))
    assert.equal(201, r.status)

    assert.same({ "exited", 0 }, { wait_for(pid, 30) })
    local err = H.read(dir .. "/err")
    assert.truthy(err:find("nvlua.httpd - ERROR - request handler failed: " .. dir .. "/srv.lua:7: handler exploded", 1, true), err)
    assert.truthy(err:find("request handler returned status x", 1, true), err)
    assert.truthy(err:find("srv:poll called from inside a request handler", 1, true), err)
    no_sanitizer_report(err)
    assert.equal("done\t7\n", H.read(dir .. "/out"))
  end)

  it("compares secrets in constant time", function()
    local httpd = require "nv.httpd"
    assert.is_true(httpd.secure_equal("abc", "abc"))
    assert.is_false(httpd.secure_equal("abd", "abc"))
    assert.is_false(httpd.secure_equal("ab", "abc"))
    assert.is_false(httpd.secure_equal("abcd", "abc"))
    assert.is_false(httpd.secure_equal("", "abc"))
  end)

  it("reports a port in use as nil, message", function()
    local httpd = require "nv.httpd"
    local a = assert(httpd.listen({ port = 0 }))
    assert.same({ connections = 0, cut = 0 }, a:stats())
    local b, msg = httpd.listen({ port = a:port() })
    assert.is_nil(b)
    assert.truthy(msg:find("cannot listen on 127.0.0.1:" .. a:port(), 1, true), msg)
    a:close()
    assert.has_error(function() a:port() end, "attempt to use a closed server")
    assert.has_error(function() httpd.listen({ prot = 1 }) end, "listen: unknown option 'prot'")
  end)
end)

describe("nvlua serve", function()
  local dir, server, token_server
  local HOLD_ROOT = H.root .. "/tests/fixtures/jobroot" -- the test job `hold` (see hold_job)
  local plat -- the platform stand-in whose /hold holds it
  local TOKEN = "s3cr3t-T0ken-for-spec"

  local function start(extra_env, args, jobs_dir)
    local sdir = H.tmpdir()
    local argv = { H.bin, "serve", "--port", "0", "--port-file", sdir .. "/port", "--dir", jobs_dir or (sdir .. "/jobs"),
                   "--max-jobs", "2", "--roots", dir }
    for _, a in ipairs(args or {}) do argv[#argv + 1] = a end
    local env = base_env(extra_env)
    if env.NVLUA_PATH == nil then env.NVLUA_PATH = HOLD_ROOT end -- the test job `hold`
    if env.NVLUA_PATH == false then env.NVLUA_PATH = nil end
    local pid = assert(proc.spawn({ argv = argv, env = env, replace = true, cwd = sdir,
                                    stdout = sdir .. "/out", stderr = sdir .. "/err" }))
    local s = { pid = pid, dir = sdir }
    s.port = wait_port(sdir .. "/port", pid, sdir .. "/err")
    s.url = "http://127.0.0.1:" .. s.port
    function s.stop()
      proc.kill(pid, "TERM")
      wait_for(pid, 10)
      local err = H.read(sdir .. "/err")
      H.rmdir(sdir)
      return err
    end
    return s
  end

  local function call(s, method, path, body, headers)
    local r = assert(http.request({ method = method, url = s.url .. path, body = body, headers = headers,
                                    retries = 0, timeout = 30 }))
    return r.status, json.decode(r.body) or r.body, r
  end

  local function create(s, payload, headers)
    return call(s, "POST", "/jobs/create", type(payload) == "string" and payload or json.encode(payload), headers)
  end

  local function await(s, id, headers)
    local t
    for _ = 1, 1200 do
      local status
      status, t = call(s, "GET", "/jobs/" .. id, nil, headers)
      assert.equal(200, status)
      if t.status == "completed" or t.status == "failed" or t.status == "cancelled" then return t end
      sleep(0.1)
    end
    error("job " .. id .. " did not finish: " .. json.encode(t))
  end

  setup(function()
    dir = H.tmpdir()
    os.execute("mkdir -p " .. H.q(dir .. "/src1") .. " " .. H.q(dir .. "/src2"))
    H.write(dir .. "/src1/orders.csv", "id,amount,country\n1,9.5,DE\n2,12.0,FR\n3,7.25,DE\n")
    H.write(dir .. "/src2/customers.csv", "customer_id,name\n10,Ada\n11,Grace\n")
    server = start({ NVLUA_PATH = false }) -- the built-in jobs only (their list is asserted)
    token_server = start({ NVLUA_SERVER_TOKEN = TOKEN })
  end)

  teardown(function()
    if plat then plat.stop() end
    local e1 = server and server.stop()
    local e2 = token_server and token_server.stop()
    H.rmdir(dir)
    no_sanitizer_report(e1)
    no_sanitizer_report(e2)
    assert.falsy((e2 or ""):find(TOKEN, 1, true))
  end)

  it("GET /health answers ok with the version", function()
    local status, t = call(server, "GET", "/health")
    assert.equal(200, status)
    assert.equal("ok", t.status)
    assert.equal(require("nv.host").version, t.version)
  end)

  it("runs a schema_validation job sandboxed until completed", function()
    local status, t = create(server, { job_type = "schema_validation" })
    assert.equal(202, status, json.encode(t))
    assert.truthy(t.job_id:match("^job_%x+$"))
    assert.truthy(t.status == "running" or t.status == "queued")
    local j = await(server, t.job_id)
    assert.equal("completed", j.status, json.encode(j))
    assert.is_true(j.success)
    assert.equal("created", j.result_data.validation_status) -- a fresh store (issue 11: was "valid")
    assert.equal("number", type(j.execution_time))
    -- the job ran as `nvlua --sandbox run schema_validation`
    assert.is_true(j.sandboxed)
    assert.equal("nvlua --sandbox run schema_validation", j.command)
    local jd = server.dir .. "/jobs/" .. t.job_id
    assert.equal("completed\n", H.read(jd .. "/status"))
    assert.equal(json.encode(j.result_data), json.encode(json.decode(H.read(jd .. "/stdout.json"))))
    assert.equal('{"job_type":"schema_validation"}', H.read(jd .. "/payload.json"))
  end)

  it("runs a multi-source metadata_extraction job with a result per source", function()
    local status, t = create(server, {
      job_type = "metadata_extraction", workflow_id = "wf_spec",
      sources = json.array({
        { source_id = "s1", data_source_path = dir .. "/src1", data_source_type = "csv" },
        { source_id = "s2", data_source_path = dir .. "/src2" },
      }),
    })
    assert.equal(202, status, json.encode(t))
    local j = await(server, t.job_id)
    assert.equal("completed", j.status, json.encode(j))
    local r = j.result_data
    assert.equal("wf_spec", r.workflow_id)
    assert.equal(2, r.total_sources)
    assert.equal(2, r.sources_processed)
    assert.equal(0, r.sources_failed)
    local by_id = {}
    for _, s in ipairs(r.sources) do by_id[s.source_id] = s end
    assert.equal("success", by_id.s1.status)
    assert.equal("success", by_id.s2.status)
    assert.equal(dir .. "/src1", by_id.s1.source_path)
  end)

  it("warns about a source without data_source_path (skipped)", function()
    local status, t = create(server, { job_type = "metadata_extraction", workflow_id = "wf_w",
      sources = json.array({ { source_id = "a", data_source_path = dir .. "/src1" }, { source_id = "b" } }) })
    assert.equal(202, status)
    assert.same({ "sources[2] (b) has no data_source_path: it will be skipped" }, t.warnings)
    await(server, t.job_id)
  end)

  local bad = {
    { "malformed JSON", '{"job_type": "schema_validation",', "^invalid JSON: " },
    { "a JSON array", "[1,2]", "^invalid JSON: expected an object$" },
    { "a missing job_type", "{}", "^missing required field 'job_type'$" },
    { "a missing source_id", json.encode({ job_type = "metadata_extraction", workflow_id = "w",
        sources = json.array({ { source_id = "a", data_source_path = "/x" }, { data_source_path = "/y" } }) }),
      "^missing required field 'sources%[2%]%.source_id'$" },
    { "a missing first source_id", json.encode({ job_type = "metadata_extraction", workflow_id = "w",
        sources = json.array({ { data_source_path = "/x" } }) }),
      "^missing required field 'sources%[1%]%.source_id'$" },
    { "sources without workflow_id", json.encode({ job_type = "metadata_extraction",
        sources = json.array({ { source_id = "a", data_source_path = "/x" } }) }),
      "^missing required field 'workflow_id' %(required with 'sources'%)$" },
    { "an unknown job type", '{"job_type":"mine_bitcoin"}',
      "^unknown job type 'mine_bitcoin'; known job types: api_transmission, data_reading, full_pipeline, metadata_extraction, quality_assessment, schema_validation, test_connection$" },
  }
  for _, c in ipairs(bad) do
    it("answers 400 with the reason for " .. c[1], function()
      local status, t = create(server, c[2])
      assert.equal(400, status)
      assert.truthy(t.error:match(c[3]), t.error)
    end)
  end

  it("passes a payload too large for the environment as --payload FILE", function()
    local status, t = create(server, { job_type = "schema_validation", workflow_id = "wf_big",
                                       note = string.rep("n", 200 * 1024) })
    assert.equal(202, status)
    local j = await(server, t.job_id)
    assert.equal("completed", j.status, json.encode(j))
    assert.equal("wf_big", j.result_data.workflow_id)
    -- through its stdin, never a file that stays (it was 0644 payload.json, secrets in clear)
    assert.equal("nvlua --sandbox run schema_validation --payload /dev/stdin", j.command)
    assert.is_nil(require("nv.sys").stat(server.dir .. "/jobs/" .. t.job_id .. "/payload.in"))
  end)

  it("answers 413 for a body over the limit", function()
    local status, t = create(server, '{"job_type":"schema_validation","pad":"' .. string.rep("x", 1048576) .. '"}')
    assert.equal(413, status)
    assert.equal("request body too large (limit 1048576 bytes)", t.error)
  end)

  it("answers 404 for an unknown job or path and 405 for a wrong method", function()
    local status, t = call(server, "GET", "/jobs/job_0000000000000000")
    assert.equal(404, status)
    assert.equal("no job 'job_0000000000000000'", t.error)
    assert.equal(404, (call(server, "GET", "/nope")))
    local r
    status, t, r = call(server, "GET", "/jobs/create")
    assert.equal(405, status)
    assert.equal("POST", r.headers.allow)
    assert.equal(405, (call(server, "DELETE", "/jobs")))
    assert.equal(405, (call(server, "POST", "/health")))
  end)

  it("reports a failing job (missing path) as failed with the error", function()
    local status, t = create(server, { job_type = "metadata_extraction", data_source_path = dir .. "/missing",
                                       source_id = "gone" })
    assert.equal(202, status)
    local j = await(server, t.job_id)
    assert.equal("failed", j.status, json.encode(j))
    assert.is_false(j.success)
    assert.equal(1, j.exit_code)
    assert.truthy(j.error:find(dir .. "/missing", 1, true), j.error)
  end)

  it("reports a job refused by its own validation as failed with the message", function()
    local status, t = create(server, { job_type = "metadata_extraction" })
    assert.equal(202, status)
    local j = await(server, t.job_id)
    assert.equal("failed", j.status)
    assert.equal(2, j.exit_code)
    assert.truthy(j.error:find("missing required parameter 'data_source_path'", 1, true), j.error)
  end)

  it("GET /jobs lists the jobs in creation order", function()
    local _, a = create(server, { job_type = "schema_validation" })
    local _, b = create(server, { job_type = "schema_validation", workflow_id = "wf_list" })
    local status, t = call(server, "GET", "/jobs")
    assert.equal(200, status)
    assert.equal(#t.jobs, t.count)
    local pos = {}
    for i, j in ipairs(t.jobs) do pos[j.job_id] = i end
    assert.truthy(pos[a.job_id] and pos[b.job_id] and pos[a.job_id] < pos[b.job_id])
    assert.equal("wf_list", t.jobs[pos[b.job_id]].workflow_id)
    await(server, a.job_id)
    await(server, b.job_id)
  end)

  it("runs at most --max-jobs at once and queues the rest", function()
    local ids = {}
    for i = 1, 4 do
      local status, t = create(server, { job_type = "schema_validation", workflow_id = "q" .. i })
      assert.equal(202, status)
      ids[i] = t.job_id
    end
    local _, t = call(server, "GET", "/jobs")
    local running = 0
    for _, j in ipairs(t.jobs) do if j.status == "running" then running = running + 1 end end
    assert.truthy(running <= 2, "running: " .. running)
    for _, id in ipairs(ids) do assert.equal("completed", await(server, id).status) end
  end)

  it("keeps finished jobs across a restart on the same directory", function()
    local jobs_dir = dir .. "/restart-jobs"
    local a = start(nil, nil, jobs_dir)
    local _, t = create(a, { job_type = "schema_validation", workflow_id = "wf_restart" })
    assert.equal("completed", await(a, t.job_id).status)
    a.stop()
    local b = start(nil, nil, jobs_dir)
    local status, j = call(b, "GET", "/jobs/" .. t.job_id)
    local _, list = call(b, "GET", "/jobs")
    b.stop()
    assert.equal(200, status)
    assert.equal("completed", j.status)
    assert.equal("created", j.result_data.validation_status) -- a fresh store (issue 11: was "valid")
    assert.equal(1, list.count)
  end)

  -- The test job `hold` (tests/fixtures/jobroot/jobs/hold.lua, on the
  -- servers' NVLUA_PATH): its step 2 waits in an HTTP request to the platform
  -- stand-in's /hold?file=F, so it runs exactly as long as the test wants and
  -- is blocked in I/O meanwhile. (Issue 12: a FIFO source, which used to hold
  -- jobs here, is now refused without being opened.) Returns the job id and
  -- the file whose creation releases it.
  local function hold_job(s, name, extra)
    plat = plat or H.platform_server(H.tmpdir())
    local gate = dir .. "/" .. name .. ".release"
    local payload = { job_type = "hold", api_endpoint = plat.url,
                      hold_url = plat.url .. "/hold?file=" .. gate }
    for k, v in pairs(extra or {}) do payload[k] = v end
    local status, t = create(s, payload)
    assert.equal(202, status, json.encode(t))
    return t.job_id, gate
  end
  local function fifo_job(s, name) return hold_job(s, name) end

  local function await_status(s, id, want)
    for _ = 1, 300 do
      local _, t = call(s, "GET", "/jobs/" .. id)
      if t.status == want then return t end
      sleep(0.05)
    end
    error("job " .. id .. " never reached " .. want)
  end

  -- waits until the job's stderr shows pattern (it got that far)
  local function await_log(s, id, pattern)
    for _ = 1, 300 do
      if (H.read(s.dir .. "/jobs/" .. id .. "/stderr.log") or ""):find(pattern) then return end
      sleep(0.05)
    end
    error("job " .. id .. " never logged " .. pattern)
  end

  -- releases a held job; returns a pid to kill and wait for (a no-op
  -- process: the callers' cleanup stays as it was)
  local function release(gate)
    H.write(gate, "go\n")
    return assert(proc.spawn({ argv = { "true" } }))
  end

  it("cancels a running job (SIGTERM) and a queued one, and refuses to cancel a finished one", function()
    local s = start(nil, { "--max-jobs", "1" })
    local running = fifo_job(s, "cancel_running")
    await_status(s, running, "running")
    await_log(s, running, "hold: step 2") -- now blocked in its HTTP request
    local _, q = create(s, { job_type = "schema_validation", workflow_id = "queued" })
    assert.equal("queued", q.status)
    local st, t = call(s, "POST", "/jobs/" .. q.job_id .. "/cancel")
    assert.equal(200, st)
    assert.equal("cancelled", t.status)
    assert.is_false(t.success)
    st, t = call(s, "POST", "/jobs/" .. running .. "/cancel")
    assert.equal(202, st)
    assert.equal("cancelling", t.status)
    local j = await(s, running)
    assert.equal("cancelled", j.status)
    assert.equal("cancelled by request", j.error)
    st, t = call(s, "POST", "/jobs/" .. running .. "/cancel")
    assert.equal(409, st)
    assert.matches("already ended %(cancelled%)", t.error)
    assert.equal(404, (call(s, "POST", "/jobs/job_nope/cancel")))
    assert.equal(405, (call(s, "GET", "/jobs/" .. running .. "/cancel")))
    assert.equal("cancelled\n", H.read(s.dir .. "/jobs/" .. running .. "/status"))
    assert.is_nil(require("nv.sys").stat(s.dir .. "/jobs/" .. running .. "/tmp")) -- its temp dir is gone
    -- blocked in its request, the job could not act on SIGTERM: SIGKILL followed
    local err = s.stop()
    assert.matches("did not stop 5s after SIGTERM: SIGKILL", err)
    no_sanitizer_report(err)
  end)

  it("a cancelled job stops itself at its next file: recorded, temp files removed, no SIGKILL", function()
    local s = start(nil, { "--max-jobs", "1" })
    -- held in step 2; cancelled meanwhile, released, it sees SIGTERM before step 3
    local id, gate = hold_job(s, "cancel_next")
    local t = { job_id = id }
    await_status(s, t.job_id, "running")
    await_log(s, t.job_id, "hold: step 2")
    assert.equal(202, (call(s, "POST", "/jobs/" .. t.job_id .. "/cancel")))
    local feeder = release(gate)
    local j = await(s, t.job_id)
    proc.kill(feeder, "KILL")
    proc.wait(feeder)
    assert.equal("cancelled", j.status)
    assert.equal("cancelled by request", j.error)
    assert.equal("cancelled: received SIGTERM", j.result_data.error)
    assert.equal(1, j.exit_code)
    local err = s.stop()
    assert.falsy(err:find("SIGKILL", 1, true), err)
    no_sanitizer_report(err)
  end)

  it("on SIGTERM stops taking jobs, lets the running one end by itself, and exits 0", function()
    local s = start(nil, { "--max-jobs", "1", "--grace", "60" })
    local running, fifo = fifo_job(s, "drain")
    await_status(s, running, "running")
    local _, q = create(s, { job_type = "schema_validation" })
    assert.is_true(proc.kill(s.pid, "TERM"))
    local st
    for _ = 1, 100 do -- the server notices the signal within one poll
      st = create(s, { job_type = "schema_validation" })
      if st == 503 then break end
      sleep(0.05)
    end
    assert.equal(503, st)
    local _, qj = call(s, "GET", "/jobs/" .. q.job_id)
    assert.equal("cancelled", qj.status)
    assert.equal("cancelled: the server stopped before the job started", qj.error)
    assert.equal("running", proc.poll(s.pid))
    local feeder = release(fifo)
    local how, code = wait_for(s.pid, 30)
    proc.kill(feeder, "KILL")
    proc.wait(feeder)
    assert.same({ "exited", 0 }, { how, code })
    -- the job ended on its own, released, not cancelled
    assert.equal("completed\n", H.read(s.dir .. "/jobs/" .. running .. "/status"))
    assert.matches('"held":true', H.read(s.dir .. "/jobs/" .. running .. "/stdout.json"))
    local err = H.read(s.dir .. "/err")
    assert.falsy(err:find("SIGTERM sent", 1, true), err)
    assert.matches("received SIGTERM: shutting down", err)
    assert.matches("job server stopped", err)
    no_sanitizer_report(err)
    H.rmdir(s.dir)
  end)

  it("after the grace period stops a running job with SIGTERM and records it cancelled", function()
    local s = start(nil, { "--grace", "1" })
    local running = fifo_job(s, "grace")
    await_status(s, running, "running")
    assert.is_true(proc.kill(s.pid, "TERM"))
    assert.same({ "exited", 0 }, { wait_for(s.pid, 30) })
    assert.equal("cancelled\n", H.read(s.dir .. "/jobs/" .. running .. "/status"))
    assert.matches("SIGTERM", H.read(s.dir .. "/err"))
    -- a restarted server shows the job as cancelled
    local b = start(nil, nil, s.dir .. "/jobs")
    local _, j = call(b, "GET", "/jobs/" .. running)
    assert.equal("cancelled", j.status)
    assert.equal("cancelled: the server stopped while the job was running", j.error)
    no_sanitizer_report(b.stop())
    H.rmdir(s.dir)
  end)

  describe("secrets at rest", function()
    local API_KEY, AWS_SECRET = "nvk_live_A1b2C3d4E5f6", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLE"
    local PG_PASS, SAS_SIG = "Pg-Pass-9zQ", "sv2024Sig%2Bq7XyZ"
    local secrets = { API_KEY, AWS_SECRET, PG_PASS, SAS_SIG }

    local function payload(pad)
      return { job_type = "metadata_extraction", workflow_id = "wf_secret", workers = 1, fail_on = "never",
               api_key = API_KEY, aws = { secret_access_key = AWS_SECRET }, pad = pad,
               sources = json.array({
                 { source_id = "local", data_source_path = dir .. "/src1" },
                 { source_id = "pg", data_source_type = "postgresql",
                   data_source_path = "postgresql://nv:" .. PG_PASS .. "@127.0.0.1:1/db" },
                 { source_id = "sas", data_source_path = "https://127.0.0.1:1/c/orders.csv?sv=2024&sig=" .. SAS_SIG },
               }) }
    end

    -- every regular file below root, read whole
    local function files(root)
      local p = io.popen("find " .. H.q(root) .. " -type f")
      local out = {}
      for f in p:lines() do out[#out + 1] = f end
      p:close()
      return out
    end

    local function modes(root, kind)
      local p = io.popen("find " .. H.q(root) .. " -mindepth 1 -type " .. kind .. " -printf '%m %p\\n'")
      local out = {}
      for line in p:lines() do out[#out + 1] = line end
      p:close()
      return out
    end

    for _, size in ipairs({ "small", "large" }) do
      it("keeps no secret in any file of a " .. size .. " payload's job; records 0600 in 0700", function()
        local s = start()
        local st, t = create(s, payload(size == "large" and string.rep("p", 200 * 1024) or nil))
        assert.equal(202, st, json.encode(t))
        local j = await(s, t.job_id)
        assert.equal("completed", j.status, json.encode(j)) -- the job got its secrets all the same
        local by_id = {}
        for _, src in ipairs(j.result_data.sources) do by_id[src.source_id] = src.status end
        assert.equal("success", by_id["local"])
        local _, listed = call(s, "GET", "/jobs/" .. t.job_id)
        local seen = { json.encode(listed) }
        local all = files(s.dir)
        assert.truthy(#all >= 5, table.concat(all, " "))
        for _, f in ipairs(all) do seen[#seen + 1] = f .. ": " .. (H.read(f) or "") end
        local text = table.concat(seen, "\n")
        for _, secret in ipairs(secrets) do
          assert.falsy(text:find(secret, 1, true), "secret " .. secret .. " found in:\n" .. text:sub(1, 4000))
        end
        -- the stored payload still says what was asked, secrets masked
        local stored = json.decode(H.read(s.dir .. "/jobs/" .. t.job_id .. "/payload.json"))
        assert.equal("***", stored.api_key)
        assert.equal("***", stored.aws.secret_access_key)
        assert.equal("postgresql://nv:***@127.0.0.1:1/db", stored.sources[2].data_source_path)
        assert.equal(dir .. "/src1", stored.sources[1].data_source_path)
        for _, line in ipairs(modes(s.dir .. "/jobs", "f")) do assert.equal("600", line:match("^(%d+)"), line) end
        for _, line in ipairs(modes(s.dir .. "/jobs", "d")) do assert.equal("700", line:match("^(%d+)"), line) end
        no_sanitizer_report(s.stop())
      end)
    end
  end)

  describe("POST /connections/test", function()
    local function test(s, payload, headers)
      return call(s, "POST", "/connections/test", type(payload) == "string" and payload or json.encode(payload), headers)
    end

    it("answers with the test_connection job's result, run sandboxed at once and listed as a job", function()
      local status, t, r = test(server, { data_source_path = dir .. "/src1", data_source_type = "auto" })
      assert.equal(200, status, json.encode(t))
      assert.is_true(t.success)
      assert.equal("success", t.connection_status)
      assert.equal("files", t.connector)
      assert.same({ kind = "files", path = dir .. "/src1", type = "directory", entries = 1 }, t.connection_info)
      assert.equal("test_connection", t.job_type)
      assert.truthy(t.server_job_id:match("^job_%x+$"))
      assert.equal("/jobs/" .. t.server_job_id, r.headers.location or r.headers.Location)
      local _, j = call(server, "GET", "/jobs/" .. t.server_job_id)
      assert.equal("completed", j.status)
      assert.equal("nvlua --sandbox run test_connection", j.command)
      -- the body is the job's own document, as `nvlua run test_connection` prints it
      local doc = assert(json.decode(H.read(server.dir .. "/jobs/" .. t.server_job_id .. "/stdout.json")))
      t.server_job_id = nil
      assert.same(doc, t)
    end)

    it("answers 200 with success false, the source and the cause, when the source is not reachable", function()
      local status, t = test(server, { data_source_path = dir .. "/none" })
      assert.equal(200, status, json.encode(t))
      assert.is_false(t.success)
      assert.equal("failed", t.connection_status)
      assert.equal("source " .. dir .. "/none: cannot stat " .. dir .. "/none: No such file or directory", t.error)
      assert.same({ "notfound", 2 }, { t.error_code, t.native_code }) -- the kind, then ENOENT
      local _, j = call(server, "GET", "/jobs/" .. t.server_job_id)
      assert.equal("failed", j.status)
    end)

    it("validates the payload like /jobs/create: 400, 403, 405, 401, and queues nothing", function()
      local _, before = call(server, "GET", "/jobs")
      local cases = {
        { { data_source_path = dir .. "/src1", data_source_type = "postgrs" }, 400,
          "^unknown source_type 'postgrs' %(did you mean postgres%?%); known types: adls, " },
        { {}, 400, "^missing required field 'data_source_path'$" },
        { { job_type = "full_pipeline", data_source_path = dir .. "/src1" }, 400,
          "^job_type must be 'test_connection' here %(or absent%), got 'full_pipeline'$" },
        { { data_source_path = "/etc" }, 403, "^data_source_path '/etc' is outside the server's roots" },
        { "[1]", 400, "^invalid JSON: expected an object$" },
      }
      for _, c in ipairs(cases) do
        local status, t = test(server, c[1])
        assert.equal(c[2], status, json.encode(c[1]))
        assert.truthy(t.error:match(c[3]), t.error)
      end
      local _, after = call(server, "GET", "/jobs")
      assert.equal(before.count, after.count)
      assert.equal(405, (call(server, "GET", "/connections/test")))
      assert.equal(401, (test(token_server, { data_source_path = dir .. "/src1" })))
      local status, t = test(token_server, { data_source_path = dir .. "/src1" },
        { Authorization = "Bearer " .. TOKEN })
      assert.equal(200, status, json.encode(t))
      assert.is_true(t.success)
    end)

    it("answers 504 and cancels the check when the source does not answer within --test-timeout", function()
      local hold = dir .. "/hold-port"
      local lpid = assert(proc.spawn({ argv = { "python3", "-c", "import socket,time\n"
        .. "s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(8)\n"
        .. "open(" .. string.format("%q", hold) .. ",'w').write(str(s.getsockname()[1])); time.sleep(60)" } }))
      local port
      for _ = 1, 100 do
        port = tonumber(H.read(hold) or "")
        if port then break end
        sleep(0.05)
      end
      assert(port, "listener did not start")
      local s = start(nil, { "--test-timeout", "1" })
      local t0 = os.time()
      local status, t, r = test(s, { data_source_path = "postgresql://u:Pw0rd1x@127.0.0.1:" .. port .. "/db",
                                     data_source_type = "postgresql", connect_timeout = 3 })
      assert.equal(504, status, json.encode(t))
      assert.truthy(os.time() - t0 <= 3)
      local id = t.error:match("%(job (job_%x+) cancelled%)")
      assert.truthy(id, t.error)
      assert.matches("^test_connection did not finish within 1 s", t.error)
      assert.equal("/jobs/" .. id, r.headers.location or r.headers.Location)
      assert.equal(200, (call(s, "GET", "/health"))) -- the server goes on
      local j
      for _ = 1, 100 do
        _, j = call(s, "GET", "/jobs/" .. id)
        if j.status ~= "running" then break end
        sleep(0.1)
      end
      assert.truthy(j.status == "cancelled" or j.status == "failed", j.status)
      local err = s.stop()
      proc.kill(lpid, "KILL")
      proc.wait(lpid)
      assert.falsy((err or ""):find("Pw0rd1x", 1, true))
    end)
  end)

  describe("roots and limits", function()
    it("refuses paths outside --roots with 403, after resolving symlinks", function()
      local link = dir .. "/etc-link"
      assert.is_true(os.execute("ln -sfn /etc " .. H.q(link)))
      local cases = {
        { { job_type = "metadata_extraction", data_source_path = "/etc/shadow" },
          "data_source_path '/etc/shadow' is outside the server's roots (" .. dir .. "; see --roots)" },
        { { job_type = "metadata_extraction", data_source_path = link .. "/shadow" },
          "data_source_path '" .. link .. "/shadow' is outside the server's roots" },
        { { job_type = "metadata_extraction", data_source_path = "file://" .. dir .. "/../../etc/passwd" },
          "data_source_path 'file://" .. dir .. "/../../etc/passwd' is outside" },
        { { job_type = "metadata_extraction", workflow_id = "w", sources = json.array({
            { source_id = "ok", data_source_path = dir .. "/src1" },
            { source_id = "bad", data_source_path = "/root" } }) },
          "sources[2].data_source_path '/root' is outside" },
        { { job_type = "metadata_extraction", data_source_path = dir .. "/src1", sandbox_roots = { "/" } },
          "sandbox_roots[1] '/' is outside" },
        -- a SQLite source and a dbfs:/ URI name local files too
        { { job_type = "metadata_extraction", data_source_path = "sqlite:/etc/passwd", data_source_type = "sqlite" },
          "data_source_path 'sqlite:/etc/passwd' is outside" },
        { { job_type = "metadata_extraction", data_source_path = "sqlite:///etc/passwd" },
          "data_source_path 'sqlite:///etc/passwd' is outside" },
        { { job_type = "metadata_extraction", data_source_path = "dbfs:/../etc" },
          "data_source_path 'dbfs:/../etc' is outside" },
        { { job_type = "metadata_extraction", data_source_path = dir .. "/src1", log_dir = "/etc/cron.d" },
          "log_dir '/etc/cron.d' is outside" },
        { { job_type = "metadata_extraction", data_source_path = dir .. "/src1", store = "sqlite:/tmp/../etc/x.db" },
          "store 'sqlite:/tmp/../etc/x.db' is outside" },
        { { job_type = "metadata_extraction", data_source_path = "../../../../../../etc/shadow" },
          "data_source_path '../../../../../../etc/shadow' is outside" },
      }
      local _, before = call(server, "GET", "/jobs")
      for _, c in ipairs(cases) do
        local status, t = create(server, c[1])
        assert.equal(403, status, json.encode(c[1]))
        assert.equal(c[2], t.error:sub(1, #c[2]))
      end
      local _, after = call(server, "GET", "/jobs")
      assert.equal(before.count, after.count) -- nothing was queued
      -- inside the roots (a symlink into them too; an object-store URL is no local path)
      assert.is_true(os.execute("ln -sfn " .. H.q(dir .. "/src1") .. " " .. H.q(dir .. "/src-link")))
      local status, t = create(server, { job_type = "metadata_extraction", data_source_path = dir .. "/src-link" })
      assert.equal(202, status, json.encode(t))
      assert.equal("completed", await(server, t.job_id).status)
    end)

    it("defaults its roots to the working directory", function()
      local s = start(nil, { "--roots", "." })
      local status, t = create(s, { job_type = "metadata_extraction", data_source_path = dir .. "/src1" })
      local err = s.stop()
      assert.equal(403, status)
      assert.matches("is outside the server's roots %(" .. s.dir:gsub("%p", "%%%0"), t.error)
      no_sanitizer_report(err)
      local code, _, e = H.run({ "serve", "--roots", dir .. "/nope", "--port", "0" })
      assert.equal(2, code)
      assert.matches("cannot resolve", e)
    end)

    it("runs each job under RLIMIT_AS and RLIMIT_CPU", function()
      local s = start(nil, { "--job-memory", "3000", "--job-cpu", "120" })
      local id = fifo_job(s, "limits")
      await_status(s, id, "running")
      local rec = json.decode(assert(H.read(s.dir .. "/jobs/" .. id .. "/pid")))
      local limits = assert(H.read("/proc/" .. math.tointeger(rec.pid) .. "/limits"))
      assert.matches("Max cpu time%s+120%s+125%s+seconds", limits)
      if proc.rlimit_as_supported then
        local as = tostring(3000 * 1024 * 1024)
        assert.matches("Max address space%s+" .. as .. "%s+" .. as .. "%s+bytes", limits)
      end
      proc.kill(math.tointeger(rec.pid), "KILL")
      await_status(s, id, "failed")
      no_sanitizer_report(s.stop())
    end)
  end)

  describe("a job ended by its wall-clock limit", function()
    it("fails with the reason in its record, its result and its run row alike", function()
      local s = start(nil, { "--job-wall", "1" })
      local id = hold_job(s, "wall") -- blocked in an HTTP request: only the supervisor can end it
      local t0 = os.time()
      local t = await(s, id)
      assert.equal("failed", t.status)
      local why = "sandbox: wall-clock limit of 1 s exceeded"
      assert.equal(why, t.error)
      assert.truthy(os.time() - t0 < 30, "took " .. (os.time() - t0) .. " s")
      local r = assert(json.decode(H.read(s.dir .. "/jobs/" .. id .. "/stdout.json")))
      assert.is_false(r.success)
      assert.equal("failed", r.status)
      assert.equal(why, r.error)
      assert.same({ { status = "Failed", error_message = why } }, H.sqlite_rows(s.dir .. "/jobs/" .. id
        .. "/_executor_metadata.db", "SELECT status, error_message FROM executor_runs WHERE run_id = '" .. r.run_id .. "'"))
      no_sanitizer_report(s.stop())
    end)
  end)

  describe("after kill -9 of the server", function()
    -- a job held by a FIFO source (b) that then completes: source a is
    -- profiled, b fails (a FIFO cannot seek), fail_on = never makes it a success
    local function held_job(s, name)
      local id, gate = hold_job(s, name, { workflow_id = "wf_" .. name })
      await_status(s, id, "running")
      await_log(s, id, "hold: step 2")
      return id, gate
    end

    local function job_pid(s, id)
      local rec = json.decode(H.read(s.dir .. "/jobs/" .. id .. "/pid") or "")
      return assert(rec and math.tointeger(rec.pid), "no pid file")
    end

    local function kill9(s)
      proc.kill(s.pid, "KILL")
      assert.same({ "signaled", 9 }, { wait_for(s.pid, 10) })
    end

    it("a restarted server adopts a job that still runs and records how it really ended", function()
      local a = start()
      local id, fifo = held_job(a, "adopt")
      local pid = job_pid(a, id)
      kill9(a)
      assert.is_true(os.execute("kill -0 " .. pid)) -- the orphan runs on
      local b = start(nil, nil, a.dir .. "/jobs")
      local _, j = call(b, "GET", "/jobs/" .. id)
      assert.equal("running", j.status, json.encode(j)) -- not "failed" while it runs
      local feeder = release(fifo)
      j = await(b, id)
      proc.kill(feeder, "KILL")
      proc.wait(feeder)
      assert.equal("completed", j.status, json.encode(j))
      assert.is_true(j.success)
      assert.is_true(j.result_data.success)
      assert.equal("completed\n", H.read(a.dir .. "/jobs/" .. id .. "/status"))
      no_sanitizer_report(b.stop())
      H.rmdir(a.dir)
    end)

    it("a job that ended while no server ran is recorded from its result; a queued one is cancelled", function()
      local a = start(nil, { "--max-jobs", "1" })
      local id, fifo = held_job(a, "down")
      local _, q = create(a, { job_type = "schema_validation", workflow_id = "queued" })
      assert.equal("queued", q.status)
      local pid = job_pid(a, id)
      kill9(a)
      local feeder = release(fifo)
      for _ = 1, 200 do -- the orphan finishes while no server runs
        if not os.execute("kill -0 " .. pid .. " 2>/dev/null") then break end
        sleep(0.05)
      end
      proc.kill(feeder, "KILL")
      proc.wait(feeder)
      local b = start(nil, nil, a.dir .. "/jobs")
      local _, j = call(b, "GET", "/jobs/" .. id)
      assert.equal("completed", j.status, json.encode(j))
      assert.is_true(j.success)
      local _, qj = call(b, "GET", "/jobs/" .. q.job_id)
      assert.equal("cancelled", qj.status)
      assert.equal("cancelled: the server stopped before the job started", qj.error)
      no_sanitizer_report(b.stop())
      H.rmdir(a.dir)
    end)

    it("a job whose process is gone without a result is failed; a reused pid is not adopted", function()
      local a = start()
      local id = held_job(a, "gone")
      local pid = job_pid(a, id)
      kill9(a)
      proc.kill(pid, "KILL") -- dies without printing its result
      for _ = 1, 100 do
        if not os.execute("kill -0 " .. pid .. " 2>/dev/null") then break end
        sleep(0.05)
      end
      -- a stranger with the same pid would differ in its start time: simulate
      -- one by pointing the record at a live process of ours that is no job
      local other = assert(proc.spawn({ argv = { "sleep", "30" } }))
      local jd = a.dir .. "/jobs/" .. id
      local rec = json.decode(H.read(jd .. "/pid"))
      rec.pid = other
      H.write(jd .. "/pid", json.encode(rec))
      local b = start(nil, nil, a.dir .. "/jobs")
      local _, j = call(b, "GET", "/jobs/" .. id)
      local err = b.stop()
      assert.equal("running", proc.poll(other)) -- never signalled
      proc.kill(other, "KILL")
      proc.wait(other)
      assert.equal("failed", j.status, json.encode(j))
      assert.matches("^the job ended while no server watched it and left no result", j.error)
      no_sanitizer_report(err)
      H.rmdir(a.dir)
    end)
  end)

  describe("under slow and many clients", function()
    -- tests/servers/slow_clients.py: real sockets from other loopback
    -- addresses than the probe's (127.0.0.1), /health timed from outside
    local function load(s, slow, burst, secs)
      local p = io.popen(string.format("python3 %s %d %d %d %d",
        H.q(H.root .. "/tests/servers/slow_clients.py"), s.port, slow, burst, secs))
      local out = p:read("a")
      p:close()
      return assert(json.decode(out), out)
    end

    -- count of probes that got no 200 within 1 s, among probes[from..]
    local function slow_probes(probes, from)
      local bad = 0
      for i = from, #probes do
        local t = probes[i]
        if t == json.null or t == nil or t > 1 then bad = bad + 1 end
      end
      return bad
    end

    it("64 clients trickling headers hold no slot past --header-timeout; /health answers within 1 s", function()
      local s = start(nil, { "--header-timeout", "2" })
      local r = load(s, 64, 0, 6)
      local err = s.stop()
      assert.equal(64, r.slow_opened)
      assert.equal(0, slow_probes(r.during, 1), json.encode(r.during))
      assert.equal(64, r.slow_cut, json.encode(r)) -- each one ended by the server, none left open
      assert.equal(0, slow_probes(r.after, 1), json.encode(r.after))
      no_sanitizer_report(err)
    end)

    it("300 slow clients and 400 idle connections: /health answers within 1 s after the first 2 s", function()
      local s = start()
      local r = load(s, 300, 400, 8)
      local err = s.stop()
      assert.truthy(#r.during >= 20, json.encode(r.during))
      -- probes are 0.25 s apart: from the 9th on, past the first 2 s
      assert.equal(0, slow_probes(r.during, 9), json.encode(r.during))
      assert.equal(r.slow_opened, r.slow_cut, json.encode(r))
      assert.equal(0, slow_probes(r.after, 1), json.encode(r.after)) -- no stall once they close
      no_sanitizer_report(err)
    end)
  end)

  describe("with NVLUA_SERVER_TOKEN", function()
    local good = { Authorization = "Bearer " .. TOKEN }

    it("answers 401 without a token or with a wrong one", function()
      local status, t, r = call(token_server, "GET", "/jobs")
      assert.equal(401, status)
      assert.equal("unauthorized: missing or wrong credentials in the Authorization header", t.error)
      assert.equal('Bearer realm="nvlua"', r.headers["www-authenticate"])
      assert.equal(401, (call(token_server, "GET", "/jobs", nil, { Authorization = "Bearer wrong" })))
      assert.equal(401, (call(token_server, "GET", "/jobs", nil, { Authorization = "Bearer " .. TOKEN .. "x" })))
      assert.equal(401, (call(token_server, "GET", "/jobs", nil, { Authorization = TOKEN })))
      assert.equal(401, (create(token_server, { job_type = "schema_validation" })))
      assert.equal(401, (call(token_server, "GET", "/jobs/job_00")))
    end)

    it("serves /health without a token and everything with the right one", function()
      assert.equal(200, (call(token_server, "GET", "/health")))
      assert.equal(200, (call(token_server, "GET", "/jobs", nil, good)))
    end)

    it("never shows the token in logs or job outputs", function()
      local status, t = create(token_server, { job_type = "schema_validation" }, good)
      assert.equal(202, status)
      local j = await(token_server, t.job_id, good)
      assert.equal("completed", j.status)
      local jd = token_server.dir .. "/jobs/" .. t.job_id
      for _, f in ipairs({ "stdout.json", "stderr.log" }) do
        local text = assert(H.read(jd .. "/" .. f))
        assert.falsy(text:find(TOKEN, 1, true), f .. ": " .. text)
      end
      local _, body = call(token_server, "GET", "/jobs/" .. t.job_id, nil, good)
      assert.falsy(json.encode(body):find(TOKEN, 1, true))
      assert.falsy((H.read(token_server.dir .. "/err") or ""):find(TOKEN, 1, true))
    end)
  end)

  describe("binding", function()
    it("refuses a non-loopback address without NVLUA_SERVER_TOKEN", function()
      local code, out, err = H.run({ "serve", "--bind", "0.0.0.0", "--port", "0" })
      assert.equal(2, code)
      assert.equal("", out)
      assert.truthy(err:find("refusing to listen on 0.0.0.0: not a loopback address and NVLUA_SERVER_TOKEN is not set", 1, true), err)
    end)

    it("prints its usage with --help", function()
      local code, out = H.run({ "serve", "--help" })
      assert.equal(0, code)
      assert.truthy(out:find("usage: nvlua serve [--port 8080] [--bind 127.0.0.1]", 1, true), out)
    end)

    it("rejects settings out of range with a usage error", function()
      for _, c in ipairs({ { "--header-timeout", "0", "--header-timeout must be between 1 and 14400" },
                           { "--max-connections", "20000", "--max-connections must be between 1 and 10000" },
                           { "--job-memory", "99999999", "--job-memory must be between 0 and 1048576" } }) do
        local code, _, err = H.run({ "serve", "--port", "0", c[1], c[2] })
        assert.equal(2, code)
        assert.truthy(err:find(c[3], 1, true), err)
      end
    end)

    it("rejects unknown options", function()
      local code, _, err = H.run({ "serve", "--frobnicate" })
      assert.equal(2, code)
      assert.truthy(err:find("unknown option '--frobnicate' for serve", 1, true), err)
    end)

    it("binds a non-loopback address when a token is set", function()
      local s = start({ NVLUA_SERVER_TOKEN = TOKEN }, { "--bind", "0.0.0.0" })
      local status = call(s, "GET", "/health")
      local err = s.stop()
      assert.equal(200, status)
      assert.truthy(err:find("listening on 0.0.0.0:", 1, true), err)
    end)
  end)
end)
