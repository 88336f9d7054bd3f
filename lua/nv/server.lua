-- nv.server: `nvlua serve`, the job server of spec 003 ("API server").
--
--   GET  /health        -> 200 {"status":"ok","version":…}
--   POST /jobs/create   spec 003 body -> 202 {"job_id","status":"queued"|"running",
--                       "job_type","sandboxed":true[,"warnings"]}
--                       | 400 {"error"} (invalid JSON, validation, unknown job type)
--                       | 403 {"error"} (a path outside the roots: nv.serverroots)
--   GET  /jobs          -> 200 {"jobs":[summary…],"count":n}
--   GET  /jobs/<id>     -> 200 {"job_id","job_type","status","success","execution_time",
--                       "result_data","error","sandboxed","exit_code",…} | 404
--   POST /connections/test  spec 003 body of one or more sources -> the
--                       test_connection job's result (nv.serverconn) | 400 |
--                       403 | 504 (no answer within server_test_timeout)
--   POST /jobs/<id>/cancel -> 200 (a queued job: cancelled at once) | 202 (a
--                       running job: SIGTERM sent — the job stops at its next
--                       file or table — and SIGKILL KILL_AFTER seconds later if
--                       it has not; "cancelling" until it ends)
--                       | 409 (already finished) | 404
-- Other methods on these paths: 405 (with Allow); other paths: 404; bodies
-- over the limit: 413 (answered in C by nv.httpd).
--
-- Each job runs as `<nvlua> --sandbox run <job_type>` (nv.proc) with
-- NUVYN_JOB_PAYLOAD set to the request body, in <server_dir>/<job_id>/
-- which holds payload.json (the body with its secrets masked), stdout.json,
-- stderr.log, status, error (why it failed or was cancelled), pid (while
-- it runs: what a restarted server needs to adopt it) and tmp/ (its
-- TMPDIR). Secrets reach the job only through its environment, or for a
-- body too large for one variable through its stdin (`--payload
-- /dev/stdin`: a 0600 file unlinked as soon as the child holds it open).
-- The server runs with umask 077: every file it or its jobs create is
-- 0600, every directory 0700. At most server_max_jobs run at once; the
-- rest wait in a FIFO queue.
--
-- Auth: with NVLUA_SERVER_TOKEN set, every route but /health needs
-- `Authorization: Bearer <token>` (compared in constant time; the token is
-- a registered secret and is removed from the jobs' environment). Without
-- it the server binds loopback addresses only.
--
-- Shutdown: on SIGTERM, SIGINT or SIGHUP the server stops taking jobs
-- (POST /jobs/create answers 503), cancels the queued ones, keeps
-- answering status requests while the running jobs finish, and after
-- server_grace seconds (default 30; a second signal: at once) sends them
-- SIGTERM, then SIGKILL 5 s later. It exits 0 once every job has ended,
-- each job's final status written to its directory.
local config = require "nv.config"
local host = require "nv.host"
local httpd = require "nv.httpd"
local job = require "nv.job"
local json = require "nv.json"
local log = require "nv.log"
local proc = require "nv.proc"
local serverroots = require "nv.serverroots"
local sys = require "nv.sys"
local serverjobs = require "nv.serverjobs"

local M = {}
M.EXIT_OK, M.EXIT_FAILED, M.EXIT_USAGE = 0, 1, 2
M.MODULE = "nvlua.server"

M.usage = [[
usage: nvlua serve [--port 8080] [--bind 127.0.0.1] [--port-file FILE] [--dir DIR]
                   [--max-jobs N] [--max-body BYTES] [--grace SECONDS] [--config FILE.json]
  --port        TCP port (0: any free port; see --port-file)     config server_port
  --bind        listen address; non-loopback needs NVLUA_SERVER_TOKEN  config server_bind
  --port-file   write the bound port to FILE once listening
  --dir         jobs directory (default ./jobs-server)            config server_dir
  --max-jobs    jobs running at once (default: the number of CPUs) config server_max_jobs
  --max-body    request body limit in bytes (default 1048576)    config server_max_body
  --grace       seconds running jobs get to finish on shutdown (default 30) config server_grace
  --header-timeout  seconds a client has to send its request headers (default 10; the body
                gets 6 times as long; idle connections close after 30 s)  config server_header_timeout
  --max-connections  open connections at most (default 256)     config server_max_connections
  --per-ip-connections  connections one client address may hold (default 32)
                                                                 config server_per_ip_connections
  --roots       DIR[:DIR…] the only directories jobs may read (default: the working
                directory, /dbfs and /Volumes where present)     config server_roots (a list)
  --job-memory  MB of address space per job (default 4096; 0: none) config server_job_memory_mb
  --job-cpu     CPU seconds per job (default 3600; 0: none)      config server_job_cpu
  --test-timeout  seconds POST /connections/test waits for its check (default 20)
                                                                 config server_test_timeout
  --job-wall    wall-clock seconds per job (default 4 x --job-cpu, at least 60; 0: none)
                                                                 config server_job_wall
Routes: GET /health, POST /jobs/create, POST /connections/test, GET /jobs, GET /jobs/<id>,
POST /jobs/<id>/cancel.
SIGTERM/SIGINT: no new jobs, running ones finish (up to --grace seconds), exit 0.
With NVLUA_SERVER_TOKEN set, all but /health need `Authorization: Bearer <token>`.
]]

local function logf(level, fmt, ...)
  if log.enabled(level) then log.write(level, M.MODULE, string.format(fmt, ...)) end
end

local function stderr(fmt, ...)
  io.stderr:write("nvlua: ", string.format(fmt, ...), "\n")
  io.stderr:flush()
end

local function cpu_count()
  local f = io.open("/proc/cpuinfo", "r")
  if not f then return 2 end
  local n = 0
  for line in f:lines() do
    if line:match("^processor%s*:") then n = n + 1 end
  end
  f:close()
  return n > 0 and n or 2
end

--- True when addr is a loopback address (127.0.0.0/8 or ::1).
function M.is_loopback(addr)
  return addr == "::1" or addr:match("^127%.%d+%.%d+%.%d+$") ~= nil
end

-- ---------------------------------------------------------------- options

local flags = {
  ["--port"] = "port", ["--bind"] = "bind", ["--port-file"] = "port_file",
  ["--dir"] = "dir", ["--max-jobs"] = "max_jobs", ["--max-body"] = "max_body",
  ["--config"] = "config", ["--grace"] = "grace",
  ["--header-timeout"] = "header_timeout", ["--max-connections"] = "max_connections",
  ["--per-ip-connections"] = "per_ip_connections", ["--roots"] = "roots",
  ["--job-memory"] = "job_memory", ["--job-cpu"] = "job_cpu", ["--job-wall"] = "job_wall",
  ["--test-timeout"] = "test_timeout",
}

--- Parses `serve` arguments; returns opts or nil, message.
function M.parse_args(args)
  local opts = {}
  local i = 1
  while i <= #args do
    local a = args[i]
    local flag, inline = a:match("^(%-%-[%w-]+)=(.*)$")
    flag = flag or a
    local key = flags[flag]
    if not key then return nil, "unknown option '" .. a .. "' for serve" end
    local value = inline
    if value == nil then
      i = i + 1
      value = args[i]
      if value == nil then return nil, "option '" .. flag .. "' needs a value" end
    end
    opts[key] = value
    i = i + 1
  end
  for _, k in ipairs({ "port", "max_jobs", "max_body", "grace", "header_timeout", "max_connections",
                       "per_ip_connections", "job_memory", "job_cpu", "job_wall", "test_timeout" }) do
    if opts[k] ~= nil then
      local n = math.tointeger(tonumber(opts[k]))
      if not n or n < 0 then return nil, string.format("--%s must be a non-negative integer", k:gsub("_", "-")) end
      opts[k] = n
    end
  end
  return opts
end

-- server settings: command line > --config file / environment > defaults
local function settings(opts)
  local cfg, err = config.load({
    args = opts.config and { "--config", opts.config } or {},
    getenv = function(k) if k ~= "NUVYN_JOB_PAYLOAD" then return os.getenv(k) end end,
  })
  if not cfg then return nil, err end
  local s = {
    bind = opts.bind or cfg.server_bind or "127.0.0.1",
    port = opts.port or math.tointeger(cfg.server_port) or 8080,
    dir = opts.dir or cfg.server_dir or "jobs-server",
    max_jobs = opts.max_jobs or math.tointeger(cfg.server_max_jobs) or cpu_count(),
    max_body = opts.max_body or math.tointeger(cfg.server_max_body) or 1048576,
    port_file = opts.port_file,
    grace = opts.grace or math.tointeger(cfg.server_grace) or 30,
    header_timeout = opts.header_timeout or math.tointeger(cfg.server_header_timeout) or 10,
    max_connections = opts.max_connections or math.tointeger(cfg.server_max_connections) or 256,
    per_ip_connections = opts.per_ip_connections or math.tointeger(cfg.server_per_ip_connections) or 32,
    job_memory = opts.job_memory or math.tointeger(cfg.server_job_memory_mb) or 4096,
    job_cpu = opts.job_cpu or math.tointeger(cfg.server_job_cpu) or 3600,
    test_timeout = opts.test_timeout or math.tointeger(cfg.server_test_timeout) or 20,
    job_wall = opts.job_wall or math.tointeger(cfg.server_job_wall),
  }
  if s.job_wall == nil then s.job_wall = s.job_cpu > 0 and math.max(4 * s.job_cpu, 60) or 0 end
  local roots, rerr = serverroots.resolve(opts.roots or cfg.server_roots)
  if not roots then return nil, rerr end
  s.roots = roots
  if s.max_jobs < 1 then s.max_jobs = 1 end
  if s.bind == "localhost" then s.bind = "127.0.0.1" end
  return s
end

--- The payload text with every secret nv.config recognises (secret-named
-- fields, passwords in URLs and connection strings, SAS sig=, …) replaced
-- by "***": what is kept on disk. The text itself when it has none.
function M.masked_payload(text)
  local t = json.decode(text)
  if type(t) ~= "table" then return text end
  local secrets = {}
  config.register_secrets(t, function(v)
    if type(v) == "string" and v ~= "" then secrets[#secrets + 1] = v end
  end)
  if #secrets == 0 then return text end
  table.sort(secrets, function(a, b) return #a > #b end)
  local function plain(p) return (p:gsub("%p", "%%%0")) end
  local function walk(v)
    if type(v) == "string" then
      for _, sec in ipairs(secrets) do v = v:gsub(plain(sec), "***") end
      return v
    elseif type(v) == "table" then
      local out = {}
      for k, x in pairs(v) do out[k] = walk(x) end
      return setmetatable(out, getmetatable(v))
    end
    return v
  end
  return json.encode(walk(t))
end

-- ---------------------------------------------------------------- the server

local Server = {}
Server.__index = Server
for name, f in pairs(serverjobs.methods) do Server[name] = f end -- a job's life: nv.serverjobs

--- Creates a server state (no socket yet). s: settings; token: or nil.
function M.new(s, token)
  -- payloads are checked here for jobs that run sandboxed: no tenant
  -- connector module is loaded into the server (nv.connectors)
  require("nv.connectors").refuse_tenants()
  local exe = host.exe
  local dir = sys.realpath(s.dir) or s.dir
  return setmetatable({
    settings = s, token = token, exe = exe, dir = dir,
    jobs = {}, order = {}, queue = {}, running = 0,
  }, Server)
end

local json_headers = { ["Content-Type"] = "application/json" }

local function reply(status, value, extra)
  local headers = json_headers
  if extra then
    headers = { ["Content-Type"] = "application/json" }
    for k, v in pairs(extra) do headers[k] = v end
  end
  return status, headers, log.mask(json.encode(value)) .. "\n"
end

local function err(status, msg, extra) return reply(status, { error = msg }, extra) end
M.reply, M.err = reply, err

-- a 500 (507 for a full disk) naming what failed and why, not where
local function storage_error(what, why)
  why = tostring(why)
  local full = why:find("No space left on device", 1, true) or why:find("File too large", 1, true)
  return err(full and 507 or 500, what .. ": " .. (why:match(".*: ([^:]+)$") or why))
end

local function summary(j)
  local success = json.null
  if j.status == "completed" then success = true
  elseif j.status == "failed" or j.status == "cancelled" then success = false end
  return {
    job_id = j.id, job_type = j.job_type, status = j.status, success = success,
    created_at = j.created_at, workflow_id = j.workflow_id or json.null,
  }
end

local function detail(j)
  local t = summary(j)
  local r = j.result
  t.sandboxed = true
  t.command = j.command and ("nvlua " .. j.command) or json.null
  t.started_at = j.started_at or json.null
  t.finished_at = j.finished_at or json.null
  t.exit_code = j.exit_code or json.null
  t.execution_time = (r and r.execution_time) or (j.wall_time and math.floor(j.wall_time * 1000 + 0.5) / 1000)
    or json.null
  t.result_data = r or json.null
  t.error = j.error or json.null
  t.warnings = j.warnings and json.array(j.warnings) or nil
  return t
end

-- ---------------------------------------------------------------- routes

-- Validates a spec-003 payload (req.body) for job type jt (the payload's
-- job_type when nil; check(cfg) -> true | nil, msg: a route's own rule) and
-- records a queued job for it: j | nil, status, headers, body (the refusal).
function Server:admit(req, jt, check)
  if self.draining then return nil, err(503, "the server is shutting down: no new jobs", { ["Retry-After"] = "60" }) end
  local payload, jerr = json.decode(req.body)
  if payload == nil then return nil, err(400, "invalid JSON: " .. tostring(jerr)) end
  if type(payload) ~= "table" or json.is_array(payload) then
    return nil, err(400, "invalid JSON: expected an object")
  end
  if jt and payload.job_type ~= nil and payload.job_type ~= jt then
    return nil, err(400, string.format("job_type must be '%s' here (or absent), got '%s'", jt, tostring(payload.job_type)))
  end
  jt = jt or payload.job_type
  if jt == nil or jt == "" then return nil, err(400, "missing required field 'job_type'") end
  if type(jt) ~= "string" or not job.find(jt) then
    return nil, err(400, string.format("unknown job type '%s'; known job types: %s", tostring(jt),
      table.concat(job.known_jobs(), ", ")))
  end
  -- the same rules as the job itself applies to NUVYN_JOB_PAYLOAD (nv.config;
  -- source_type / data_source_type through nv.connectors.check)
  local cfg, verr = config.load({
    args = {}, job_type = jt,
    getenv = function(k) if k == "NUVYN_JOB_PAYLOAD" then return req.body end end,
  })
  if not cfg then return nil, err(400, (verr:gsub("^invalid JSON in NUVYN_JOB_PAYLOAD: ", "invalid JSON: "))) end
  local cok, cerr = true, nil
  if check then cok, cerr = check(cfg) end
  if not cok then return nil, err(400, cerr) end
  local id = "job_" .. sys.random_hex(8)
  local pok, perr = serverroots.check(cfg, self.settings.roots, self:job_dir(id), self.dir)
  if not pok then return nil, err(403, perr) end
  local warnings
  for i, s in ipairs(cfg.sources or {}) do
    if s.data_source_path == nil or s.data_source_path == "" then
      warnings = warnings or {}
      warnings[#warnings + 1] = string.format("sources[%d] (%s) has no data_source_path: it will be skipped",
        i, tostring(s.source_id))
    end
  end
  local d = self:job_dir(id)
  local ok, merr = sys.mkdirs(d)
  if ok then ok, merr = serverjobs.write_file(d .. "/payload.json", M.masked_payload(req.body)) end
  if not ok then
    logf("ERROR", "cannot create job directory %s: %s", d, tostring(merr))
    sys.remove_tree(d) -- no half record for a restarted server to find
    return nil, storage_error("cannot create the job directory", merr)
  end
  local j = { id = id, job_type = jt, payload = req.body, status = "queued", created_at = sys.now(),
              workflow_id = cfg.workflow_id, warnings = warnings }
  local sok, serr = self:save_status(j)
  if not sok then -- a job without its record would be lost to a restart
    sys.remove_tree(d)
    return nil, storage_error("cannot record the job", serr)
  end
  self.jobs[id] = j
  self.order[#self.order + 1] = id
  for _, w in ipairs(warnings or {}) do logf("WARNING", "job %s: %s", id, w) end
  return j
end

function Server:create(req)
  local j, status, headers, body = self:admit(req)
  if not j then return status, headers, body end
  self.queue[#self.queue + 1] = j.id
  self:tick()
  return reply(202, { job_id = j.id, status = j.status, job_type = j.job_type, sandboxed = true,
                      warnings = j.warnings and json.array(j.warnings) or nil })
end

--- Cancels a queued job at once, or asks a running one to stop (SIGTERM);
-- reason becomes the job's error. Returns true, or false when the job has
-- already ended.
function Server:cancel(j, reason)
  if j.status == "queued" then
    for i, id in ipairs(self.queue) do
      if id == j.id then
        table.remove(self.queue, i)
        break
      end
    end
    j.status, j.error, j.finished_at = "cancelled", reason, sys.now()
    self:save_status(j)
    logf("INFO", "job %s cancelled before it started", j.id)
    return true
  end
  if j.status ~= "running" or not j.pid then return false end
  if not j.cancel_reason then
    j.cancel_reason, j.cancel_at = reason, sys.monotonic()
    local ok, kerr = self:signal(j, "TERM")
    if not ok then logf("WARNING", "cannot signal job %s: %s", j.id, tostring(kerr)) end
    logf("INFO", "job %s: cancelling (SIGTERM sent to pid %d)", j.id, j.pid)
  end
  return true
end

function Server:cancel_route(j)
  if j.status == "completed" or j.status == "failed" or j.status == "cancelled" then
    return err(409, string.format("job '%s' has already ended (%s)", j.id, j.status))
  end
  local was = j.status
  self:cancel(j, "cancelled by request")
  if was == "queued" then return reply(200, detail(j)) end
  return reply(202, { job_id = j.id, status = "cancelling" })
end

function Server:list()
  local out = {}
  for _, id in ipairs(self.order) do out[#out + 1] = summary(self.jobs[id]) end
  return reply(200, { jobs = json.array(out), count = #out })
end

function Server:authorized(req)
  if not self.token then return true end
  local h = req.headers.authorization or ""
  local given = h:match("^[Bb]earer%s+(%S+)%s*$") or ""
  return httpd.secure_equal(given, self.token)
end

local function method_not_allowed(allow)
  return err(405, "method not allowed (allowed: " .. allow .. ")", { Allow = allow })
end

--- Routes one request: returns status, headers, body.
function Server:handle(req)
  local path, method = req.path, req.method
  if path == "/health" then
    if method ~= "GET" and method ~= "HEAD" then return method_not_allowed("GET") end
    return reply(200, { status = "ok", version = host.version })
  end
  if not self:authorized(req) then
    return err(401, "unauthorized: missing or wrong credentials in the Authorization header", { ["WWW-Authenticate"] = 'Bearer realm="nvlua"' })
  end
  if path == "/jobs/create" then
    if method ~= "POST" then return method_not_allowed("POST") end
    return self:create(req)
  end
  if path == "/connections/test" then
    if method ~= "POST" then return method_not_allowed("POST") end
    return require("nv.serverconn").test(self, req)
  end
  if path == "/jobs" or path == "/jobs/" then
    if method ~= "GET" and method ~= "HEAD" then return method_not_allowed("GET") end
    return self:list()
  end
  local cid = path:match("^/jobs/([^/]+)/cancel$")
  if cid then
    if method ~= "POST" then return method_not_allowed("POST") end
    local j = self.jobs[cid]
    if not j then return err(404, "no job '" .. cid .. "'") end
    return self:cancel_route(j)
  end
  local id = path:match("^/jobs/([^/]+)$")
  if id then
    if method ~= "GET" and method ~= "HEAD" then return method_not_allowed("GET") end
    local j = self.jobs[id]
    if not j then return err(404, "no job '" .. id .. "'") end
    return reply(200, detail(j))
  end
  return err(404, "not found: " .. path)
end

--- Serves forever (until the socket fails). Returns an exit code.
function Server:serve()
  local s = self.settings
  local srv, lerr = httpd.listen({ bind = s.bind, port = s.port, max_body = s.max_body,
    header_timeout = s.header_timeout, body_timeout = 6 * s.header_timeout,
    max_connections = s.max_connections,
    per_ip_connections = math.min(s.per_ip_connections, s.max_connections) })
  if not srv then
    stderr("%s", lerr)
    return M.EXIT_FAILED
  end
  srv:on_request(function(req)
    local t0 = sys.monotonic()
    local status, headers, body = self:handle(req)
    logf("INFO", "%s %s %d (%.1f ms) from %s", req.method, req.path, status,
      (sys.monotonic() - t0) * 1000, req.remote)
    return status, headers, body
  end)
  self.srv = srv
  local port = srv:port()
  if s.port_file then
    local ok, werr = serverjobs.write_file(s.port_file, tostring(port) .. "\n")
    if not ok then
      stderr("cannot write --port-file %s: %s", s.port_file, tostring(werr))
      srv:close()
      return M.EXIT_FAILED
    end
  end
  logf("INFO", "nvlua %s job server listening on %s:%d (jobs in %s, at most %d at once%s)",
    host.version, s.bind, port, self.dir, s.max_jobs, self.token and ", bearer token required" or "")
  local trap = self.trap
  while true do
    srv:poll(self.running > 0 and 100 or 250)
    self:tick()
    local sig = trap and trap:take()
    if sig then return self:shutdown(sig) end
  end
end

--- Graceful stop after signal sig: no new jobs, queued ones cancelled,
-- running ones given settings.grace seconds, then SIGTERM, then SIGKILL.
function Server:shutdown(sig)
  local srv, trap = self.srv, self.trap
  self.draining = true
  logf("INFO", "received SIG%s: shutting down (%d running job(s), %d queued; grace %ds)",
    tostring(sig), self.running, #self.queue, self.settings.grace)
  while #self.queue > 0 do
    self:cancel(self.jobs[self.queue[1]], "cancelled: the server stopped before the job started")
  end
  local t0 = sys.monotonic()
  local phase = "grace" -- then "term" (SIGTERM sent), then "kill"
  while self.running > 0 do
    srv:poll(100)
    self:tick()
    local again = trap:take()
    local elapsed = sys.monotonic() - t0
    if phase == "grace" and (again or elapsed >= self.settings.grace) then
      phase, t0 = "term", sys.monotonic()
      for _, id in ipairs(self.order) do
        local j = self.jobs[id]
        if j.status == "running" then self:cancel(j, "cancelled: the server stopped while the job was running") end
      end
    elseif phase == "term" and (again or elapsed >= 5) then
      phase = "kill"
      for _, id in ipairs(self.order) do
        local j = self.jobs[id]
        if j.status == "running" and j.pid then
          logf("WARNING", "job %s did not stop after SIGTERM: SIGKILL", j.id)
          self:signal(j, "KILL")
        end
      end
    end
  end
  srv:close()
  logf("INFO", "job server stopped")
  while trap:take() do end -- signals that came meanwhile must not kill the exit
  trap:close()
  return M.EXIT_OK
end

-- the settings' valid ranges (nv.httpd and nv.proc raise outside them)
M.ranges = {
  { "port", 0, 65535 }, { "header_timeout", 1, 14400 }, { "max_connections", 1, 10000 },
  { "per_ip_connections", 1, 10000 }, { "job_memory", 0, 1048576 }, { "job_cpu", 0, 100000000 },
  { "test_timeout", 1, 600 },
  { "job_wall", 0, 100000000 },
}

--- `nvlua serve [--port N] [--bind ADDR] [--port-file F] [--dir D]
-- [--max-jobs N] [--max-body BYTES] [--config FILE.json]`.
function M.main(args)
  if args and (args[1] == "-h" or args[1] == "--help") then
    io.stdout:write(M.usage)
    return M.EXIT_OK
  end
  local opts, perr = M.parse_args(args or {})
  if not opts then
    stderr("%s", perr)
    return M.EXIT_USAGE
  end
  local s, serr = settings(opts)
  if not s then
    stderr("%s", serr)
    return M.EXIT_USAGE
  end
  local token = os.getenv("NVLUA_SERVER_TOKEN")
  if token == "" then token = nil end
  if token then log.add_secret(token) end
  if not M.is_loopback(s.bind) and not token then
    stderr("refusing to listen on %s: not a loopback address and NVLUA_SERVER_TOKEN is not set "
      .. "(set it to require a bearer token, or bind 127.0.0.1)", s.bind)
    return M.EXIT_USAGE
  end
  for _, r in ipairs(M.ranges) do
    local v = s[r[1]]
    if v < r[2] or v > r[3] then
      stderr("--%s must be between %d and %d", (r[1]:gsub("_", "-")), r[2], r[3])
      return M.EXIT_USAGE
    end
  end
  proc.umask(tonumber("077", 8)) -- job records, payloads and outputs: owner only
  local ok, merr = sys.mkdirs(s.dir)
  if not ok then
    stderr("%s", merr)
    return M.EXIT_FAILED
  end
  if not host.exe or host.exe == "" then
    stderr("cannot find the nvlua executable to run jobs")
    return M.EXIT_FAILED
  end
  local server = M.new(s, token)
  server:load_previous()
  local trap, terr = proc.trap({ "TERM", "INT", "HUP" })
  if not trap then logf("WARNING", "no graceful shutdown: %s", tostring(terr)) end
  server.trap = trap
  return server:serve()
end

return M
