-- nv.serverjobs: a job's life on the job server (nv.server): its
-- directory and records (status, pid, error, stdout.json, stderr.log),
-- starting it as `nvlua --sandbox run <job_type>` with the server's
-- limits, reaping it (finish), signalling, the scheduler tick, and on
-- restart adopting the jobs a previous server left running (same pid,
-- start time, boot and command line) or finishing them from what they left.
-- nv.server mixes `methods` into its Server class; the HTTP routes stay there.
local json = require "nv.json"
local log = require "nv.log"
local proc = require "nv.proc"
local sys = require "nv.sys"

local J = {}
local Methods = {}
J.methods = Methods

-- Linux refuses a single environment string over 128 KiB (MAX_ARG_STRLEN):
-- larger payloads reach the job as `--payload /dev/stdin` (a file)
J.MAX_ENV_PAYLOAD = 120 * 1024

local MODULE = "nvlua.server"
local function logf(level, fmt, ...)
  if log.enabled(level) then log.write(level, MODULE, string.format(fmt, ...)) end
end

--- Writes path through a temporary file renamed into place: true | nil, msg.
function J.write_file(path, text)
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "wb")
  if not f then return nil, err end
  local ok, werr = f:write(text)
  local cok, cerr = f:close()
  if not ok or not cok then
    os.remove(tmp)
    return nil, werr or cerr
  end
  return os.rename(tmp, path)
end

--- The whole content of path | nil.
function J.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- ---------------------------------------------------------------- process identity

-- A process's identity: "<start time in clock ticks since boot>@<boot id>",
-- and its state letter; nil once it is gone (or a zombie). A pid that was
-- reused by another process has another start time.
function J.identity(pid)
  local stat = J.read_file("/proc/" .. math.tointeger(pid) .. "/stat")
  if not stat then return nil end
  local rest = stat:match("^.*%)%s+(.*)$")
  if not rest then return nil end
  local fields = {}
  for f in rest:gmatch("%S+") do fields[#fields + 1] = f end
  local state, start = fields[1], fields[20]
  if not start or state == "Z" or state == "X" then return nil end
  local boot = (J.read_file("/proc/sys/kernel/random/boot_id") or "?"):match("^%s*(.-)%s*$")
  return start .. "@" .. boot, state
end

-- the argument vector of a live process (from /proc/PID/cmdline)
local function cmdline(pid)
  local text = J.read_file("/proc/" .. math.tointeger(pid) .. "/cmdline")
  if not text then return nil end
  local argv = {}
  for a in text:gmatch("([^%z]*)%z") do argv[#argv + 1] = a end
  return argv
end


function Methods:job_dir(id) return self.dir .. "/" .. id end

function Methods:save_status(j)
  local ok, err = J.write_file(self:job_dir(j.id) .. "/status", j.status .. "\n")
  if not ok then logf("WARNING", "cannot write status of %s: %s", j.id, tostring(err)) end
  return ok, err
end


function Methods:start(j)
  local d = self:job_dir(j.id)
  local argv = { self.exe, "--sandbox", "run", j.job_type }
  local payload_env, stdin = j.payload, nil
  if #j.payload > J.MAX_ENV_PAYLOAD then -- beyond what execve takes in one variable
    stdin = d .. "/payload.in"
    local ok, werr = J.write_file(stdin, j.payload)
    if not ok then
      j.status, j.error, j.finished_at = "failed", "cannot pass the payload: " .. tostring(werr), sys.now()
      self:save_status(j)
      return
    end
    argv[#argv + 1], argv[#argv + 2], payload_env = "--payload", "/dev/stdin", false
  end
  -- the job's temp files (object-store copies) live in its own directory,
  -- removed once it ends however it ends (even SIGKILL)
  local tmp = d .. "/tmp"
  local tok, terr = sys.mkdirs(tmp)
  if not tok then logf("WARNING", "job %s: cannot create %s: %s", j.id, tmp, tostring(terr)) end
  local pid, err = proc.spawn({
    argv = argv,
    -- the sandbox's own limits match the server's (its supervisor ends a
    -- job past the wall-clock limit and records why)
    env = { NUVYN_JOB_PAYLOAD = payload_env, NVLUA_SERVER_TOKEN = false, TMPDIR = tok and tmp or nil,
            NVLUA_SANDBOX_CPU = tostring(self.settings.job_cpu), NVLUA_SANDBOX_WALL = tostring(self.settings.job_wall) },
    stdout = d .. "/stdout.json", stderr = d .. "/stderr.log", cwd = d,
    rlimits = { as = self.settings.job_memory * 1024 * 1024, cpu = self.settings.job_cpu },
    stdin = stdin,
  })
  -- spawn returns once the child has exec'd, its stdin open: the
  -- payload (secrets and all) need not stay on disk
  if stdin then os.remove(stdin) end
  j.payload = nil -- kept only until it is handed over
  j.started_at = sys.now()
  j.t0 = sys.monotonic()
  if not pid then
    j.status, j.error, j.finished_at = "failed", "cannot start the job: " .. tostring(err), sys.now()
    logf("ERROR", "job %s: %s", j.id, j.error)
    self:save_status(j)
    return
  end
  j.pid, j.status, j.command = pid, "running", table.concat(argv, " ", 2)
  j.identity = J.identity(pid)
  self.running = self.running + 1
  -- what a restarted server needs to find this child again (see adopt)
  local ok, werr = J.write_file(d .. "/pid", json.encode({ pid = pid, identity = j.identity or json.null,
    started_at = j.started_at, command = j.command }) .. "\n")
  if not ok then logf("WARNING", "job %s: cannot write its pid file: %s", j.id, tostring(werr)) end
  logf("INFO", "job %s (%s) started: pid %d", j.id, j.job_type, pid)
  self:save_status(j)
end

-- last non-empty stderr line, for jobs that printed no result
local function last_line(text)
  local last
  for line in (text or ""):gmatch("[^\n]+") do
    if line:match("%S") then last = line end
  end
  return last and (last:gsub("^nvlua: ", "")) or nil
end

function Methods:finish(j, how, code)
  local d = self:job_dir(j.id)
  self.running = self.running - 1
  j.pid = nil
  j.finished_at = sys.now()
  j.wall_time = sys.monotonic() - j.t0
  j.exit_code = how == "exited" and code or nil
  local out = J.read_file(d .. "/stdout.json")
  local result = out and json.decode(out)
  if type(result) == "table" then j.result = result end
  local rok, rerr = sys.remove_tree(d .. "/tmp")
  if not rok then logf("WARNING", "job %s: %s", j.id, tostring(rerr)) end
  os.remove(d .. "/pid")
  local own_error = j.result and j.result.error
  -- "orphan": a child of a previous server, its exit status unknown: its
  -- result document says how it ended (a job prints it last, success or not)
  if (how == "exited" and code == 0 and j.result) or (how == "orphan" and j.result and j.result.success == true) then
    j.status = "completed" -- even when a cancel came too late to stop it
  elseif j.cancel_reason and (how ~= "exited" or not own_error or tostring(own_error):match("^cancelled")) then
    j.status, j.error = "cancelled", j.cancel_reason -- stopped by the cancel, not by its own failure
  else
    j.status = "failed"
    j.error = (j.result and j.result.error)
      or (how == "signaled" and string.format("the job was killed by signal %d", code))
      or (how == "orphan" and ("the job ended while no server watched it and left no result"
          .. ((last_line(J.read_file(d .. "/stderr.log")) or ""):gsub("^(.)", ": %1"))))
      or last_line(J.read_file(d .. "/stderr.log"))
      or string.format("the job exited with status %s", tostring(code))
    j.error = log.mask(tostring(j.error))
  end
  if j.error then J.write_file(d .. "/error", j.error .. "\n") end
  logf(j.status == "failed" and "WARNING" or "INFO", "job %s %s (exit %s) in %.3fs",
    j.id, j.status, tostring(code), j.wall_time)
  self:save_status(j)
end

-- seconds a cancelled job has to stop after SIGTERM before SIGKILL (a job
-- stops at its next file or table; one blocked in I/O cannot)
J.KILL_AFTER = 5

--- Sends signal sig to a running job's process; an adopted one only while
-- its identity still matches (its pid may have been reused).
function Methods:signal(j, sig)
  if j.adopted and J.identity(j.pid) ~= j.identity then return nil, "the job's process has ended" end
  return proc.kill(j.pid, sig)
end

--- Reaps finished jobs, kills cancelled ones that outlived SIGTERM, and
-- starts queued ones.
function Methods:tick()
  for _, id in ipairs(self.order) do
    local j = self.jobs[id]
    if j.status == "running" and j.pid then
      local how, code
      if j.adopted then -- not our child: no waitpid, its identity tells whether it lives
        how = J.identity(j.pid) == j.identity and "running" or "orphan"
      else
        how, code = proc.poll(j.pid)
      end
      if how == nil then
        self:finish(j, "lost", code)
      elseif how ~= "running" then
        self:finish(j, how, code)
      elseif j.cancel_at and not j.killed and sys.monotonic() - j.cancel_at >= J.KILL_AFTER then
        j.killed = true
        logf("WARNING", "job %s did not stop %ds after SIGTERM: SIGKILL", j.id, J.KILL_AFTER)
        self:signal(j, "KILL")
      end
    end
  end
  while self.running < self.settings.max_jobs and #self.queue > 0 do
    self:start(self.jobs[table.remove(self.queue, 1)])
  end
end

-- ---------------------------------------------------------------- responses


--- A job a previous server left "running": adopted when its process still
-- lives and is that job (same pid, start time and boot, and the command
-- line of `nvlua --sandbox run <job_type>`); otherwise finished from what
-- it left (its result document) — never marked failed while it runs on.
function Methods:adopt(j)
  local d = self:job_dir(j.id)
  local rec = json.decode(J.read_file(d .. "/pid") or "")
  if type(rec) ~= "table" or not math.tointeger(rec.pid) then
    j.status, j.error = "failed", "interrupted: the server stopped before the job finished"
    j.finished_at = sys.now()
    J.write_file(d .. "/error", j.error .. "\n")
    self:save_status(j)
    return
  end
  local pid = math.tointeger(rec.pid)
  j.started_at = type(rec.started_at) == "number" and rec.started_at or nil
  j.command = type(rec.command) == "string" and rec.command or nil
  j.t0 = sys.monotonic() - (j.started_at and math.max(0, sys.now() - j.started_at) or 0)
  local argv = cmdline(pid) or {}
  local ours = rec.identity ~= json.null and J.identity(pid) == rec.identity
    and argv[2] == "--sandbox" and argv[3] == "run" and argv[4] == j.job_type
  self.running = self.running + 1 -- finish() counts it down
  if ours then
    j.pid, j.identity, j.adopted = pid, rec.identity, true
    logf("INFO", "job %s (pid %d) still runs: adopted", j.id, pid)
  else
    logf("INFO", "job %s ended while no server watched it", j.id)
    self:finish(j, "orphan")
  end
end

--- Loads the jobs a previous server left in the directory: finished ones
-- as they were, running ones adopted or finished (adopt), queued ones
-- cancelled (as a graceful stop does).
function Methods:load_previous()
  local names = sys.listdir(self.dir) or {}
  table.sort(names)
  for _, id in ipairs(names) do
    local d = self:job_dir(id)
    os.remove(d .. "/payload.in") -- a server killed between writing and handing it over
    local status = (J.read_file(d .. "/status") or ""):match("^(%a+)")
    local payload = J.read_file(d .. "/payload.json")
    if id:match("^job_%x+$") and status and payload then
      local p = json.decode(payload)
      p = type(p) == "table" and p or {}
      local j = { id = id, job_type = tostring(p.job_type or "?"),
                  workflow_id = type(p.workflow_id) == "string" and p.workflow_id or nil,
                  status = status, created_at = (sys.stat(d .. "/payload.json") or {}).mtime }
      if status == "completed" or status == "failed" or status == "cancelled" then
        local r = json.decode(J.read_file(d .. "/stdout.json") or "")
        j.result = type(r) == "table" and r or nil
        local saved = (J.read_file(d .. "/error") or ""):match("^(.-)\n?$")
        if saved == "" then saved = nil end
        if status ~= "completed" then
          j.error = saved or (j.result and j.result.error) or last_line(J.read_file(d .. "/stderr.log"))
        end
      elseif status == "running" then
        self:adopt(j)
      else
        j.status, j.error = "cancelled", "cancelled: the server stopped before the job started"
        j.finished_at = sys.now()
        J.write_file(d .. "/error", j.error .. "\n")
        self:save_status(j)
      end
      self.jobs[id] = j
      self.order[#self.order + 1] = id
    end
  end
  table.sort(self.order, function(a, b)
    return (self.jobs[a].created_at or 0) < (self.jobs[b].created_at or 0)
  end)
end

return J
