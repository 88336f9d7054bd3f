-- Escapes from `nvlua --sandbox` (issue 12): each is tried as a subprocess
-- run and must fail with exactly "sandbox: <what> is not allowed" while its
-- side effect does not happen (no file created or removed, no command run,
-- no request reaching a listener). Also: every exported name of every
-- nv.* module is declared in nv.capabilities; CPU limits stop long C calls;
-- memory limits bound C allocations.
local H = require "helper"
local json = require "nv.json"
local caps = require "nv.capabilities"

-- every nv.* module: preloaded C modules, lua/nv/**.lua, nv.host
local function all_modules()
  local names, seen = {}, {}
  local function add(n)
    if not seen[n] then seen[n] = true names[#names + 1] = n end
  end
  for k in pairs(package.preload) do
    if k:match("^nv%.") or k:match("^cjson") then add(k) end
  end
  add("nv.host") -- set by the runtime in package.loaded
  local p = assert(io.popen("cd " .. H.q(H.root .. "/lua") .. " && find nv -name '*.lua'"))
  for f in p:lines() do add((f:gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", "."))) end
  p:close()
  table.sort(names)
  return names
end

describe("nv.capabilities", function()
  it("declares every exported name of every nv.* module", function()
    local missing = {}
    local modules = all_modules()
    assert.truthy(#modules >= 40, #modules)
    for _, name in ipairs(modules) do
      local decl = caps.modules[name]
      if decl == nil then
        missing[#missing + 1] = name
      elseif type(decl) == "table" then
        local ok, mod = pcall(require, name)
        assert.truthy(ok, mod)
        for k in pairs(type(mod) == "table" and mod or {}) do
          if decl[k] == nil then missing[#missing + 1] = name .. "." .. tostring(k) end
        end
      else
        assert.truthy(decl == "safe" or decl == "never", name)
      end
    end
    assert.same({}, missing)
  end)

  it("declares every method of the store handle", function()
    local missing = {}
    for k, v in pairs(require("nv.store").Store) do
      if type(v) == "function" and not k:match("^__") and caps.classes.Store[k] == nil then
        missing[#missing + 1] = k
      end
    end
    assert.same({}, missing)
  end)

  it("declares only known kinds", function()
    for mname, decl in pairs(caps.modules) do
      for fname, spec in pairs(type(decl) == "table" and decl or {}) do
        local ok = spec == "safe" or spec == "never" or type(spec) == "table" and
          (spec.path or spec.store_url or spec.http_url or spec.ctx)
        assert.truthy(ok, mname .. "." .. fname)
      end
    end
  end)
end)

describe("nvlua --sandbox escapes", function()
  local dir, root, out, server
  setup(function()
    dir = H.tmpdir()
    server = H.platform_server(dir)
  end)
  teardown(function()
    server.stop()
    H.rmdir(dir)
  end)
  before_each(function()
    server.reset()
    os.execute("rm -rf " .. H.q(dir .. "/root") .. " " .. H.q(dir .. "/out"))
    root, out = dir .. "/root", dir .. "/out"
    assert(os.execute("mkdir -p " .. H.q(root) .. " " .. H.q(out .. "/victim")))
    H.write(root .. "/data.csv", "a,b\n1,2\n")
    H.write(out .. "/secret.txt", "top secret\n")
    H.write(out .. "/victim/keep", "x")
    assert(os.execute("ln -s ../out/secret.txt " .. H.q(root .. "/link")))
    assert(os.execute("ln -s ../out " .. H.q(root .. "/dirlink")))
  end)

  local function script(code, env)
    H.write(dir .. "/s.lua", code)
    env = env or {}
    env.NVLUA_SANDBOX_ROOTS = env.NVLUA_SANDBOX_ROOTS or root
    return H.run({ "--sandbox", dir .. "/s.lua" }, { cwd = root, env = env })
  end

  -- the state outside the roots that no escape may change
  local function untouched()
    assert.equal("top secret\n", H.read(out .. "/secret.txt"))
    assert.equal("x", H.read(out .. "/victim/keep"))
    local p = assert(io.popen("ls -A " .. H.q(out)))
    local names = p:read("a")
    p:close()
    assert.equal("secret.txt\nvictim\n", names)
    assert.same({}, server.requests())
  end

  local function first_error(err)
    return (err:match("(sandbox: [^\n]-)\n") or err:match("(sandbox: .*)$") or err)
  end

  -- {code, exact refusal}; OUT, ROOT and URL are replaced by the paths and
  -- the listener's address
  local escapes = {
    { 'require("nv.proc").spawn{argv={"/bin/sh","-c","touch OUT/pwned"}}', "sandbox: nv.proc.spawn is not allowed" },
    { 'require("nv.proc").trap({"TERM"})', "sandbox: nv.proc.trap is not allowed" },
    { 'require("nv.proc").kill(1, "TERM")', "sandbox: nv.proc.kill is not allowed" },
    { 'require("nv.workers").map("os.execute", {"touch OUT/pwned"}, 1)', "sandbox: nv.workers.map is not allowed" },
    { 'require("nv.sys").remove_tree("OUT/victim")', "sandbox: nv.sys.remove_tree is not allowed" },
    { 'require("nv.sys").mkdirs("OUT/made")', "sandbox: nv.sys.mkdirs is not allowed" },
    { 'require("nv.sys").listdir("OUT")', "sandbox: path OUT is not allowed" },
    { 'require("nv.sys").listdir("ROOT/dirlink")', "sandbox: path ROOT/dirlink is not allowed" },
    { 'require("nv.sys").stat("/etc/shadow")', "sandbox: path /etc/shadow is not allowed" },
    { 'for i = 1, 1e9 do require("nv.sys").sleep(1) end', "sandbox: nv.sys.sleep is not allowed" },
    { 'require("nv.fs").head("/etc/shadow")', "sandbox: path /etc/shadow is not allowed" },
    { 'require("nv.fs").head("ROOT/link")', "sandbox: path ROOT/link is not allowed" },
    { 'require("nv.fs").head("ROOT/../out/secret.txt")', "sandbox: path ROOT/../out/secret.txt is not allowed" },
    { 'require("nv.fs").list("OUT")', "sandbox: path OUT is not allowed" },
    { 'require("nv.fs").list("ROOT", {follow_links = true})', "sandbox: nv.fs.list with follow_links is not allowed" },
    { 'require("nv.filesource").list("ROOT", {follow_links = true})',
      "sandbox: nv.filesource.list with follow_links is not allowed" },
    { 'require("nv.fs").detect("OUT/secret.txt")', "sandbox: path OUT/secret.txt is not allowed" },
    { 'require("nv.log").open_file("OUT/pwned")', "sandbox: nv.log.open_file is not allowed" },
    { 'require("nv.log").set_stderr(false)', "sandbox: nv.log.set_stderr is not allowed" },
    { 'require("nv.store").open("sqlite:OUT/pwned")', "sandbox: path OUT/pwned is not allowed" },
    { 'require("nv.store").open("sqlite:ROOT/dirlink/pwned")', "sandbox: path ROOT/dirlink/pwned is not allowed" },
    { 'require("nv.store").open("postgresql://u:pw@127.0.0.1:1/x")',
      "sandbox: store postgresql other than the configured store is not allowed" },
    { 'local s = assert(require("nv.store").open("sqlite:ROOT/ok.db")) s:query("ATTACH DATABASE \'OUT/pwned\' AS a")',
      "sandbox: Store.query is not allowed" },
    { 'local s = assert(require("nv.store").open("sqlite:ROOT/ok.db")) s:transaction(function(raw) end)',
      "sandbox: Store.transaction is not allowed" },
    { 'require("nv.store.sqlite").open("OUT/pwned")', "sandbox: nv.store.sqlite.open is not allowed" },
    { 'require("nv.http").get("URL/x")', "sandbox: http to URLORIGIN is not allowed" },
    { 'require("nv.http").request{url = "URL/x", method = "POST"}', "sandbox: http to URLORIGIN is not allowed" },
    { 'require("nv.http").post_json("URL/api/metadata", {})', "sandbox: http to URLORIGIN is not allowed" },
    { 'require("nv.http").get("file:///etc/shadow")', "sandbox: http to file:///etc/shadow is not allowed" },
    { 'require("nv.http").get("URL/x", {output = "OUT/pwned"})', "sandbox: path OUT/pwned is not allowed" },
    { 'require("nv.http").request{url = "URL/x", connect_to = "a:1:127.0.0.1:1"}',
      "sandbox: nv.http.request with connect_to is not allowed" },
    { 'require("nv.http").post_json("URL/x", {}, {follow = true})', "sandbox: nv.http.post_json with follow is not allowed" },
    { 'require("nv.httpd").listen{port = 0}', "sandbox: nv.httpd.listen is not allowed" },
    { 'require("nv.s3").client({})', "sandbox: nv.s3.client is not allowed" },
    { 'require("nv.azure").client({})', "sandbox: nv.azure.client is not allowed" },
    { 'require("nv.pg").open("host=127.0.0.1")', "sandbox: nv.pg.open is not allowed" },
    { 'require("nv.mysql").open({})', "sandbox: nv.mysql.open is not allowed" },
    { 'require("nv.odbc").open("DSN=x")', "sandbox: nv.odbc.open is not allowed" },
    { 'require("nv.databricks").connect({})', "sandbox: nv.databricks.connect is not allowed" },
    { 'require("nv.dbsource").test_connection({})', "sandbox: nv.dbsource.test_connection is not allowed" },
    { 'require("nv.remote").materialize({}, {}, {})', "sandbox: nv.remote.materialize is not allowed" },
    { 'require("nv.pqfooter").fetch({})', "sandbox: nv.pqfooter.fetch is not allowed" },
    { 'require("nv.outbox").open("OUT/box")', "sandbox: nv.outbox.open is not allowed" },
    { 'require("nv.csv").open("/etc/passwd")', "sandbox: path /etc/passwd is not allowed" },
    { 'require("nv.csv").sniff("ROOT/link")', "sandbox: path ROOT/link is not allowed" },
    { 'require("nv.jsonfile").open("OUT/secret.txt")', "sandbox: path OUT/secret.txt is not allowed" },
    { 'require("nv.parquet").open("OUT/secret.txt")', "sandbox: path OUT/secret.txt is not allowed" },
    { 'require("nv.xlsx").open("OUT/secret.txt")', "sandbox: path OUT/secret.txt is not allowed" },
    { 'require("nv.delta").log_local("OUT")', "sandbox: path OUT is not allowed" },
    { 'require("nv.filesource").list("OUT")', "sandbox: path OUT is not allowed" },
    { 'require("nv.filesource").format({path = "OUT/secret.txt"})', "sandbox: nv.filesource.format is not allowed" },
    { 'require("nv.extract").run({config = {data_source_path = "/etc"}}, {})',
      "sandbox: nv.extract.run without the run's ctx is not allowed" },
    { 'require("nv.extract").source({}, {data_source_path = "/etc/shadow"}, {})',
      "sandbox: nv.extract.source is not allowed" },
    { 'require("nv.transmit").send({config = {api_endpoint = "URL"}}, {})',
      "sandbox: nv.transmit.send without the run's ctx is not allowed" },
    { 'require("nv.job").run_job({run = print}, {})', "sandbox: nv.job.run_job is not allowed" },
    { 'require("nv.server").main({})', "sandbox: nv.server.main is not allowed" },
    { 'require("nv.usage").list_text()', "sandbox: nv.usage.list_text is not allowed" },
    { 'require("nv.help").text("nv.proc")', "sandbox: nv.help.text is not allowed" },
    { 'require("nv.sandbox").env({"/"})', "sandbox: nv.sandbox.env is not allowed" },
    { 'require("nv.capabilities").modules["nv.proc"] = "safe"', "sandbox: nv.capabilities.modules is not allowed" },
    { 'require("nv.limits").set_memory(0)', "sandbox: nv.limits.set_memory is not allowed" },
    { 'require("nv.config").load({args = {}})', "sandbox: nv.config.load is not allowed" },
    { 'require("nv.config").defaults.store = "sqlite:OUT/pwned"',
      "sandbox: setting nv.config.defaults.store is not allowed" },
    { 'require("nv.json").encode = print', "sandbox: setting nv.json.encode is not allowed" },
    { 'require("cjson").encode_max_depth(1)', "sandbox: cjson.encode_max_depth is not allowed" },
    { 'require("os")', "sandbox: require('os') is not allowed" },
    { 'require("debug")', "sandbox: require('debug') is not allowed" },
    { 'require("nv.no_such_module")', "sandbox: require('nv.no_such_module') is not allowed" },
    { 'require("socket.core")', "sandbox: require('socket.core') is not allowed" },
    { 'package.loadlib("libc.so.6", "system")', "sandbox: package is not allowed" },
    { 'debug.sethook()', "sandbox: debug is not allowed" },
    { 'collectgarbage("stop")', "sandbox: collectgarbage is not allowed" },
    { 'os.execute("touch OUT/pwned")', "sandbox: os.execute is not allowed" },
    { 'io.popen("touch OUT/pwned")', "sandbox: io.popen is not allowed" },
    { 'os.remove("OUT/secret.txt")', "sandbox: os.remove is not allowed" },
    { 'io.output("OUT/pwned")', "sandbox: io.output is not allowed" },
    { 'io.open("OUT/pwned", "w")', "sandbox: path OUT/pwned is not allowed" },
    { 'io.open("ROOT/link", "a")', "sandbox: path ROOT/link is not allowed" },
    { 'io.open("ROOT/dirlink/pwned", "w")', "sandbox: path ROOT/dirlink/pwned is not allowed" },
    { 'io.open("ROOT/nodir/../../out/pwned", "w")', "sandbox: path ROOT/nodir/../../out/pwned is not allowed" },
    { 'io.open("file://OUT/secret.txt")', "sandbox: path file://OUT/secret.txt is not allowed" },
    { 'io.lines("/etc/shadow")', "sandbox: path /etc/shadow is not allowed" },
    { 'io.stderr:close()', "sandbox: io.stderr:close is not allowed" },
    { 'dofile("OUT/secret.txt")', "sandbox: path OUT/secret.txt is not allowed" },
    { 'local d = ("").dump', "sandbox: string.dump is not allowed" },
    { 'local s = "x" s.dump(print)', "sandbox: string.dump is not allowed" },
    { 'string.dump(print)', "sandbox: string.dump is not allowed" },
    { 'load("return 1", "x", "bt")', "sandbox: load in mode 'bt' (bytecode) is not allowed" },
  }

  local function subst(s)
    return (s:gsub("URLORIGIN", server.url):gsub("URL", server.url):gsub("OUT", out):gsub("ROOT", root))
  end

  for _, c in ipairs(escapes) do
    it("refuses " .. c[1], function()
      local code, stdout, err = script(subst(c[1]))
      assert.equal(1, code, err)
      assert.equal("", stdout)
      assert.equal(subst(c[2]), first_error(err))
      untouched()
    end)
  end

  it("keeps the strings' metatable and C objects' metatables out of reach", function()
    local code, stdout, err = script([[
      assert(getmetatable("") == nil, "string metatable")
      local f = assert(io.open("data.csv"))
      assert(getmetatable(f) == nil, "userdata metatable")
      f:close()
      assert(("abc"):upper() == "ABC" and ("a,b"):find(",", 1, true) == 2)
      -- changing the sandbox's string table does not change the methods
      rawset(string, "rep", function() return "evil" end)
      assert(("x"):rep(2) == "xx", "string methods changed")
      assert(load(function() return nil end) ~= nil)
      local f, e = load(string.char(27) .. "Lua")
      assert(f == nil and e:find("binary", 1, true), e)
      io.write("done\n")
    ]])
    assert.equal(0, code, err)
    assert.equal("", stdout)
    assert.truthy(err:find("done", 1, true))
    -- host code in the same process still has string.dump by name
    assert.equal("function", type(string.dump))
  end)

  it("allows only the configured hosts, matched on scheme, host and port", function()
    local code, _, err = script(subst([[
      local http = require "nv.http"
      local r = assert(http.get("URL/allowed"))
      local ok, e = pcall(http.get, "http://localhost:]] .. server.port .. [[/other")
      assert(not ok and e == "sandbox: http to http://localhost:]] .. server.port .. [[ is not allowed", e)
      ok, e = pcall(http.get, "http://127.0.0.1:]] .. server.port .. [[@localhost:]] .. server.port .. [[/x")
      assert(not ok and e:find("http to http://localhost:", 1, true), e)
      ok, e = pcall(http.get, "URL/x", { output = "OUT/pwned" })
      assert(not ok and e == "sandbox: path OUT/pwned is not allowed", e)
      ok, e = pcall(http.get, "URL/x", { connect_to = { "127.0.0.1:]] .. server.port .. [[:localhost:1" } })
      assert(not ok and e == "sandbox: nv.http.get with connect_to is not allowed", e)
      assert(http.get("URL/saved", { output = "ROOT/saved.txt" }))
      io.write("ok\n")]]), { NVLUA_SANDBOX_HTTP_ALLOW = server.url })
    assert.equal(0, code, err)
    local reqs = server.requests()
    assert.equal(2, #reqs)
    assert.truthy(reqs[1].path:find("/allowed", 1, true), json.encode(reqs[1]))
    assert.truthy(reqs[2].path:find("/saved", 1, true), json.encode(reqs[2]))
    assert.truthy(H.read(root .. "/saved.txt"))
    assert.is_nil(H.read(out .. "/pwned"))
  end)

  it("writes files under the roots only, resolved after symlinks", function()
    local code, _, err = script(subst([[
      local f = assert(io.open("ROOT/new.txt", "w")) f:write("fine") f:close()
      local st = assert(require("nv.store").open("sqlite:ROOT/meta.db"))
      assert(st:ensure())
      st:close()
      local names = assert(require("nv.sys").listdir("ROOT"))
      io.write(#names, "\n")]]))
    assert.equal(0, code, err)
    assert.equal("fine", H.read(root .. "/new.txt"))
    assert.truthy(H.read(root .. "/meta.db"))
    untouched()
  end)

  -- a shipped job script run by `nvlua --sandbox job.lua data`: its ctx is
  -- a read-only view and the trusted functions get the real one
  local function job(body, env)
    H.write(dir .. "/job.lua", "return { name = 'shipped', run = function(ctx)\n" .. subst(body) .. "\nend }")
    env = env or {}
    env.NUVYN_API_ENDPOINT = env.NUVYN_API_ENDPOINT or server.url
    return H.run({ "--sandbox", dir .. "/job.lua", root .. "/data.csv", "--store", "sqlite:" .. root .. "/m.db" },
      { cwd = root, env = env })
  end

  local job_escapes = {
    { 'ctx.config.data_source_path = "/etc/shadow"', "sandbox: setting ctx.config.data_source_path is not allowed" },
    { 'ctx.config.sources = {}', "sandbox: setting ctx.config.sources is not allowed" },
    { 'ctx.store:query("ATTACH DATABASE \'OUT/pwned\' AS a")', "sandbox: Store.query is not allowed" },
    { 'ctx.store.db:exec("select 1")', "sandbox: Store.db is not allowed" },
    { 'require("nv.extract").run(ctx, {data_source_path = "/etc"})',
      "sandbox: nv.extract.run with a data_source_path other than the run's is not allowed" },
    { 'require("nv.extract").run(ctx, {sources = {{data_source_path = "/etc/shadow"}}})',
      "sandbox: nv.extract.run with a sources other than the run's is not allowed" },
    { 'require("nv.extract").run(ctx, {remote_tmpdir = "OUT"})', "sandbox: path OUT is not allowed" },
    { 'require("nv.extract").run(ctx, {databricks = {host = "127.0.0.1"}})',
      "sandbox: nv.extract.run with a databricks other than the run's is not allowed" },
    { 'require("nv.extract").run(ctx, {aws = {endpoint_url = "http://127.0.0.1:1"}})',
      "sandbox: nv.extract.run with a aws other than the run's is not allowed" },
    { 'require("nv.transmit").run(ctx, {}) require("nv.http").get("http://localhost:PORT/")',
      "sandbox: http to http://localhost:PORT is not allowed" },
    { 'require("nv.store").open("postgresql://u:pw@127.0.0.1:1/x")',
      "sandbox: store postgresql other than the configured store is not allowed" },
    { 'require("nv.fs").head("/etc/shadow")', "sandbox: path /etc/shadow is not allowed" },
    { 'return require("nv.report").reading(ctx, {tables = {{files = {{path = "OUT/secret.txt", name = "s"}}}}}, {})',
      "sandbox: nv.report.reading of a forged or changed model is not allowed" },
    { 'local m = require("nv.extract").run(ctx, {})[1] m.tables[1].files[1].path = "OUT/secret.txt" ' ..
      'return require("nv.report").reading(ctx, m, {})',
      "sandbox: nv.report.reading of a forged or changed model is not allowed" },
  }
  for _, c in ipairs(job_escapes) do
    it("refuses in a job: " .. c[1], function()
      local body = c[1]:gsub("PORT", tostring(server.port))
      local code, stdout, err = job(body)
      assert.equal(1, code, err)
      local r = assert(json.decode(stdout), stdout)
      assert.is_false(r.success)
      assert.equal(subst(c[2]:gsub("PORT", tostring(server.port))), r.error)
      assert.equal("top secret\n", H.read(out .. "/secret.txt"))
      assert.falsy(stdout:find("top secret", 1, true))
      assert.is_nil(H.read(out .. "/pwned"))
      for _, q in ipairs(server.requests()) do -- only the configured endpoint may be reached
        assert.truthy(q.path:match("^/api/metadata"), json.encode(q))
      end
    end)
  end

  it("lets a job use its ctx, the store handle, extraction and the platform endpoint", function()
    local code, stdout, err = job([[
      local extract, report = require("nv.extract"), require("nv.report")
      local opts = {}
      for k, v in pairs(ctx.config) do opts[k] = v end
      opts.max_rows = 10
      local models = extract.run(ctx, opts)
      local md = report.aggregate(ctx, models, report.metadata)
      local v = require("nv.store").validation_report(ctx.store, ctx.schema_before, ctx.schema_changes)
      local r = assert(require("nv.http").get(ctx.config.api_endpoint .. "/health"))
      ctx.log:info("rows %s", tostring(md.tables and md.tables[1] and md.tables[1].row_count))
      return { columns = md.tables[1].column_count, schema = v.validation_status, status = r.status }]])
    assert.equal(0, code, err)
    local r = assert(json.decode(stdout))
    assert.equal(2, r.columns)
    assert.equal(1, #server.requests())
  end)

  it("runs a multi-source job (workers) and full_pipeline with its platform endpoint", function()
    H.write(root .. "/y.csv", "c,d\n3,4\n5,6\n")
    local payload = json.encode({ job_type = "metadata_extraction", workflow_id = "wf1", workers = 2,
      sources = { { source_id = "s1", data_source_path = root .. "/data.csv" },
                  { source_id = "s2", data_source_path = root .. "/y.csv" } } })
    local code, stdout, err = H.run({ "--sandbox", "run" }, { cwd = root, env = { NUVYN_JOB_PAYLOAD = payload } })
    assert.equal(0, code, err)
    local r = assert(json.decode(stdout))
    assert.equal(2, r.sources_processed)
    code, stdout, err = H.run({ "--sandbox", "run", "full_pipeline", root .. "/data.csv" },
      { cwd = root, env = { NUVYN_API_ENDPOINT = server.url, NUVYN_API_KEY = "k" } })
    assert.equal(0, code, err)
    r = assert(json.decode(stdout))
    assert.equal("success", r.api_transmission.transmission_status)
    local reqs = server.requests()
    assert.equal(1, #reqs)
    assert.equal("/api/metadata", reqs[1].path)
  end)

  it("stops a backtracking string.find (one long C call) at the CPU limit", function()
    local t0 = os.time()
    local code, stdout, err = script('local s = ("a"):rep(40) s:find(("a*"):rep(20) .. "b")',
      { NVLUA_SANDBOX_CPU = "1" })
    assert.equal(1, code)
    assert.equal("", stdout)
    assert.truthy(err:find("sandbox: CPU limit of 1 s exceeded", 1, true), err)
    assert.truthy(os.time() - t0 < 30, "took " .. (os.time() - t0) .. " s")
  end)

  it("stops a loop that catches the CPU error, and one inside a coroutine made before the limit", function()
    local code, _, err = script('while true do pcall(function() while true do end end) end',
      { NVLUA_SANDBOX_CPU = "1" })
    assert.equal(1, code)
    assert.truthy(err:find("sandbox: CPU limit of 1 s exceeded", 1, true), err)
    H.write(dir .. "/job.lua", [[
      local co = coroutine.wrap(function() while true do end end)
      return { name = "spin", run = function() co() end }]])
    local code2, stdout2, err2 = H.run({ "--sandbox", dir .. "/job.lua", root .. "/data.csv" },
      { cwd = root, env = { NVLUA_SANDBOX_CPU = "1" } })
    assert.equal(1, code2)
    local r = json.decode(stdout2)
    -- coroutine.wrap adds the position where it propagates the error
    assert.equal("sandbox: CPU limit of 1 s exceeded", r and r.error:match("sandbox: .*$"), err2)
  end)
end)

describe("nvlua --sandbox memory limit", function()
  local dir
  setup(function() dir = H.tmpdir() end)
  teardown(function() H.rmdir(dir) end)

  -- runs nvlua under python3, which reports the child's peak RSS (KiB)
  local function run_rss(args, env)
    local rss = dir .. "/rss"
    local code, stdout, err = H.run({ "-c", "import resource, subprocess, sys\n" ..
      "r = subprocess.run(sys.argv[2:])\n" ..
      "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n" ..
      "sys.exit(r.returncode)", rss, H.bin, table.unpack(args) }, { exe = "python3", env = env, cwd = dir })
    return code, stdout, err, tonumber(H.read(rss))
  end

  local function data_limited()
    return require("nv.limits").usage().data_limit
  end

  it("bounds the readers' and the profiler's C allocations, failing with the limit's message", function()
    if not data_limited() then
      pending("a sanitized build bounds the Lua heap only")
      return
    end
    -- 3 records of 50,000 keys: unbounded this takes ~850 MB (600 MB with
    -- the Lua heap alone capped at 100 MiB)
    local parts = {}
    for i = 1, 50000 do parts[i] = string.format('"k%d": %d', i, i) end
    local rec = "{" .. table.concat(parts, ", ") .. "}"
    H.write(dir .. "/wide.json", "[" .. rec .. "," .. rec .. "," .. rec .. "]")
    local code, stdout, err, rss = run_rss({ "--sandbox", "run", "metadata_extraction", dir .. "/wide.json" },
      { NVLUA_SANDBOX_MEMORY_MB = "100" })
    assert.equal(1, code, err)
    local r = assert(json.decode(stdout), stdout)
    assert.equal("sandbox: memory limit of 100 MiB exceeded", r.error)
    assert.truthy(rss < (100 + 40) * 1024, "peak RSS " .. tostring(rss) .. " KiB")
  end)

  it("profiles a large CSV under a 200 MiB cap", function()
    local f = assert(io.open(dir .. "/big.csv", "w"))
    f:write("id,name,score\n")
    for i = 1, 300000 do f:write(i, ",name_", i * 7919 % 1000003, ",", i % 1000 / 7, "\n") end
    f:close()
    local code, stdout, err, rss = run_rss({ "--sandbox", "run", "metadata_extraction", dir .. "/big.csv" },
      { NVLUA_SANDBOX_MEMORY_MB = "200" })
    assert.equal(0, code, err)
    local r = assert(json.decode(stdout))
    assert.is_true(r.success)
    assert.equal(300000, r.tables[1].row_count)
    assert.truthy(rss < 200 * 1024, "peak RSS " .. tostring(rss) .. " KiB")
  end)
end)
