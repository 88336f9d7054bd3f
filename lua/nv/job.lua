-- nv.job: the job contract and its runner.
--
-- A job script (jobs/<name>.lua) returns a table:
--   return {
--     name   = "schema_validation",
--     description = "one line: what the job does",   -- `run --list`, `--help`
--     params = { data_source_path = { required = true, help = "…" } },  -- optional;
--                  -- keys: required, unless (another key that satisfies it), hint, help
--     outputs = { key = "meaning", … },  -- main keys of the result (`run JOB --help`)
--     example = "nvlua run my_job …",
--     store  = true,                  -- ctx.store must open (else optional)
--     run    = function(ctx) ... return result_table end,
--   }
-- run(ctx) returns the result (a table) or raises / returns nil, message.
-- The runner builds ctx {config, run_id, job_id, workflow_id, tenant_id,
-- log, store}, times the run, records it in executor_runs and logs, prints
-- the result as one JSON document on stdout and returns the exit code:
-- 0 success, 1 job failure (by fail_on: see M.decide), 2 usage error.
local config = require "nv.config"
local json = require "nv.json"
local log = require "nv.log"
local store_mod = require "nv.store"
local sys = require "nv.sys"
local host = require "nv.host"

local M = {}
local report_run -- (defined below)
M.EXIT_OK, M.EXIT_FAILED, M.EXIT_USAGE = 0, 1, 2

local function stderr(fmt, ...)
  io.stderr:write("nvlua: ", string.format(fmt, ...), "\n")
  io.stderr:flush()
end

--- A logger bound to a module name: lg:info(fmt, ...), debug/warning/error.
function M.logger(module)
  local lg = {}
  for _, level in ipairs({ "debug", "info", "warning", "error" }) do
    local LEVEL = level:upper()
    lg[level] = function(_, fmt, ...)
      if log.enabled(LEVEL) then
        log.write(LEVEL, module, select("#", ...) > 0 and string.format(fmt, ...) or tostring(fmt))
      end
    end
  end
  return lg
end

--- Directories holding job scripts, highest priority first.
function M.job_dirs()
  local dirs = {}
  for _, root in ipairs(host.roots or {}) do dirs[#dirs + 1] = root .. "/jobs" end
  return dirs
end

local function file_exists(path)
  local f = io.open(path, "r")
  if f then f:close() return true end
  return false
end

--- Names of the available job types (jobs/*.lua in every root), sorted.
function M.known_jobs()
  local seen, names = {}, {}
  for _, dir in ipairs(M.job_dirs()) do
    for _, file in ipairs(sys.listdir(dir) or {}) do
      local name = file:match("^([%w_]+)%.lua$")
      if name and not seen[name] then
        seen[name] = true
        names[#names + 1] = name
      end
    end
  end
  table.sort(names)
  return names
end

--- Finds jobs/<job_type>.lua; returns path or nil.
function M.find(job_type)
  if type(job_type) ~= "string" or not job_type:match("^[%w_]+$") then return nil end
  for _, dir in ipairs(M.job_dirs()) do
    local path = dir .. "/" .. job_type .. ".lua"
    if file_exists(path) then return path end
  end
  return nil
end

--- Loads a job script (into env when given: the sandbox); returns the job
-- table or nil, message.
function M.load(path, env)
  local chunk, err
  if env then chunk, err = loadfile(path, "t", env) else chunk, err = loadfile(path, "t") end
  if not chunk then return nil, err end
  local ok, job = pcall(chunk)
  if not ok then return nil, string.format("%s: %s", path, tostring(job)) end
  if type(job) ~= "table" or type(job.run) ~= "function" then
    return nil, path .. ": a job script must return a table with a run(ctx) function"
  end
  return job
end

local function new_run_id()
  return "job_" .. sys.random_hex(8)
end

local function setup_logging(cfg, run_id, started)
  if cfg.log_level and not pcall(log.set_level, cfg.log_level) then
    return nil, "invalid log level '" .. tostring(cfg.log_level) .. "' (DEBUG, INFO, WARNING, ERROR)"
  end
  local dir = cfg.log_dir
  if not dir then
    dir = os.getenv("DATABRICKS_RUNTIME_VERSION") and "/dbfs/executor/logs" or "logs"
  end
  local day = os.date("!%Y-%m-%d", math.floor(started))
  local path = dir .. "/" .. day .. "/" .. run_id .. ".log"
  local ok, err = sys.mkdirs(dir .. "/" .. day)
  if ok then ok, err = log.open_file(path) end
  if not ok then return true, "log file disabled: " .. tostring(err) end
  return true, nil, path
end

-- parameters worth recording (masked later as a whole)
local function run_parameters(cfg)
  local p = {}
  for _, k in ipairs({ "data_source_path", "source_type", "tenant_id", "workflow_id", "source_id",
                       "write_to_db", "store" }) do
    p[k] = cfg[k]
  end
  if cfg.sources then p.sources = #cfg.sources end
  return log.mask(json.encode(p))
end

--- The run's status and exit code from the job's result (or its error)
-- and the configuration's fail_on / success_threshold:
--   status   the result's status (completed | partial | failed; a result
--            without one: failed when success = false, else completed);
--            an error raised or returned by the job is failed
--   failed   always exit 1
--   partial  exit 1 unless fail_on = never, or objects_succeeded /
--            objects_total * 100 >= success_threshold (default 100)
--   warnings with fail_on = warnings, exit 1 also when warning_count > 0
-- Returns status, exit code, error message (for a non-zero exit).
function M.decide(cfg, result, err)
  if err then return "failed", M.EXIT_FAILED, err end
  local status = result.status
  if status ~= "completed" and status ~= "partial" and status ~= "failed" then
    status = result.success == false and "failed" or "completed"
  end
  if status == "failed" then return status, M.EXIT_FAILED, result.error or "the job failed" end
  local fail_on = cfg.fail_on or "partial"
  if fail_on == "never" then return status, M.EXIT_OK end
  if status == "partial" then
    local threshold = tonumber(cfg.success_threshold) or 100
    local total, ok = tonumber(result.objects_total), tonumber(result.objects_succeeded)
    local rate = (total and ok and total > 0) and ok / total * 100 or nil
    if not rate or rate < threshold then
      local fo = type(result.failed_objects) == "table" and result.failed_objects or {}
      local why = result.error or (#fo > 0 and string.format("%d of %s objects failed (first: %s)", #fo,
        tostring(total or "?"), tostring(fo[1].reason))) or "some objects failed"
      if rate and cfg.success_threshold then
        why = string.format("%s; %.1f%% of %d objects succeeded, below success_threshold %g%%", why, rate, total,
          tonumber(cfg.success_threshold))
      end
      return status, M.EXIT_FAILED, why
    end
  end
  if fail_on == "warnings" and (tonumber(result.warning_count) or 0) > 0 then
    return status, M.EXIT_FAILED, string.format("%d warning(s) and fail_on = warnings", result.warning_count)
  end
  return status, M.EXIT_OK
end

-- prints the result document; true | nil, why (stdout on a full disk)
local function emit_result(result)
  local ok, err = io.stdout:write(log.mask(json.encode(result)), "\n")
  if ok then ok, err = io.stdout:flush() end
  if not ok then return nil, "cannot write the result to stdout: " .. tostring(err) end
  return true
end

local function check_params(job, cfg)
  for name, spec in pairs(job.params or {}) do
    if spec.required and (cfg[name] == nil or cfg[name] == "") then
      local satisfied = spec.unless and cfg[spec.unless] ~= nil
      if not satisfied then
        return nil, string.format("missing required parameter '%s' for job '%s'%s", name, job.name or "?",
          spec.hint and (" (" .. spec.hint .. ")") or "")
      end
    end
  end
  return true
end

-- Tells the supervisor of a sandboxed run (nv.limits.report) what it needs
-- to finish the run should the process end without its result: the
-- configuration (the store to open, the secrets to mask), the run row and
-- the result's identity. Through a pipe, never a file. True when sent.
report_run = function(cfg, run_row, ctx, started)
  local limits = require "nv.limits"
  if not limits.usage().supervised then return false end
  local ok, text = pcall(json.encode, {
    config = cfg, run_row = run_row, started = started, store_open = ctx.store ~= nil,
    result = { job_id = ctx.run_id, run_id = ctx.run_id, job_type = ctx.job_type,
               workflow_id = ctx.workflow_id, tenant_id = ctx.tenant_id },
  })
  if not ok then return false end
  return limits.report("run " .. text) == true
end

--- The supervisor's end of a sandboxed run that ended without its result
-- (main.c, with the child's report_run document and why it ended): prints
-- the failure result (success false, status failed, the reason) and
-- writes the run row Failed with the reason. Returns the exit code (1).
function M.finish_lost(info_text, reason)
  local info = json.decode(info_text)
  if type(info) ~= "table" or type(info.config) ~= "table" or type(info.run_row) ~= "table" then
    stderr("the run's report is unreadable; its result is lost")
    return M.EXIT_FAILED
  end
  local cfg = info.config
  config.register_secrets(cfg, log.add_secret)
  local started = tonumber(info.started) or sys.now()
  local elapsed = math.max(0, sys.now() - started)
  local result = type(info.result) == "table" and info.result or {}
  result.success, result.status, result.error = false, "failed", reason
  result.failed_objects = json.array()
  result.execution_time = math.floor(elapsed * 1000 + 0.5) / 1000
  if cfg.write_to_db then result.written_to_db = false end
  local row = info.run_row
  row.status = "Failed"
  row.finished_at = store_mod.timestamp(started + elapsed)
  row.duration_ms = math.floor(elapsed * 1000 + 0.5)
  row.error_message = log.mask(reason)
  row.result_summary = json.encode({ status = "failed" })
  local store, serr = store_mod.open(cfg.store, cfg)
  local why
  if store then
    local ok, err = store:upsert("executor_runs", row)
    if not ok then why = string.format("%s: %s", store.name, tostring(err)) end
    store:close()
  else
    why = string.format("the store %s is unavailable: %s", store_mod.describe(cfg.store), tostring(serr))
  end
  if why then
    result.run_record = "not written: " .. log.mask(why)
    stderr("the run record was not written to %s", log.mask(why))
  end
  emit_result(result)
  return M.EXIT_FAILED
end

--- Runs a loaded job with its argument list. Returns the exit code.
-- opts.sandbox_roots: the (initially empty) roots table of the sandbox env
-- the job was loaded into; filled from the configuration here.
function M.run_job(job, args, script_path, job_type, opts)
  job_type = job_type or job.name or (script_path and script_path:match("([%w_]+)%.lua$")) or "job"
  local cfg, cerr = config.load({ args = args or {}, job_type = job_type })
  if not cfg then
    stderr("%s", cerr)
    return M.EXIT_USAGE
  end
  config.register_secrets(cfg, log.add_secret)
  if opts and opts.sandbox_roots then
    local sandbox = require "nv.sandbox"
    for _, r in ipairs(sandbox.roots(cfg)) do table.insert(opts.sandbox_roots, r) end
    sandbox.limit()
  end
  local ok, perr = check_params(job, cfg)
  if not ok then
    stderr("%s", perr)
    return M.EXIT_USAGE
  end

  local started, t0 = sys.now(), sys.monotonic()
  local run_id = new_run_id()
  local lok, lwarn, log_path = setup_logging(cfg, run_id, started)
  if not lok then
    stderr("%s", lwarn)
    return M.EXIT_USAGE
  end
  local ctx = {
    config = cfg, run_id = run_id, job_id = run_id, job_type = job_type,
    workflow_id = cfg.workflow_id or run_id, source_id = cfg.source_id,
    tenant_id = cfg.tenant_id, started_at = started, log_path = log_path,
    version = host.version,
  }
  ctx.log = M.logger("nvlua.jobs." .. job_type)
  ctx.logger = function(_, module) return M.logger(module) end
  local jlog = M.logger("nvlua.job_manager")
  -- SIGTERM (a job server's cancel, a supervisor's stop) is received through
  -- a signalfd and ends the job at the next file or table, through the
  -- normal failure path: the run is recorded and temp files are removed
  local trap = require("nv.proc").trap({ "TERM" })
  local stop_signal
  ctx.cancelled = function()
    if not stop_signal and trap then stop_signal = trap:take() end
    return stop_signal ~= nil
  end
  ctx.check_cancel = function()
    if ctx.cancelled() then error(string.format("cancelled: received SIG%s", stop_signal), 0) end
  end
  if lwarn then jlog:warning("%s", lwarn) end
  jlog:info("Starting job execution: %s (%s)", run_id, job_type)

  -- the store: always tried (every run is recorded); required if job.store
  local store, serr = store_mod.open(cfg.store, cfg)
  if store then
    local before
    ctx.schema_changes, before = store:ensure()
    if not ctx.schema_changes then
      serr = before
      store:close()
      store = nil
    else
      ctx.schema_before = before
    end
  end
  if not store then
    ctx.store_error = string.format("the store %s is unavailable: %s", store_mod.describe(cfg.store),
      tostring(serr))
    jlog:warning("metadata store unavailable: %s", tostring(serr))
    if job.store then
      jlog:error("job '%s' needs the metadata store", job_type)
    end
  end
  ctx.store = store

  local run_row = {
    run_id = run_id, job_id = run_id, workflow_id = ctx.workflow_id, source_id = ctx.source_id,
    tenant_id = ctx.tenant_id, run_mode = job_type, executor_version = host.version,
    status = "Running", started_at = store_mod.timestamp(started),
    parameters = run_parameters(cfg), host_name = sys.hostname(),
  }
  if store then
    local wok, werr = store:upsert("executor_runs", run_row)
    if not wok then jlog:warning("cannot record the run in %s: %s", store.name, werr) end
  end
  local supervised = opts and opts.sandbox_roots and report_run(cfg, run_row, ctx, started)


  -- print() inside a job must not corrupt the one JSON document on stdout
  local saved_print = print
  print = function(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    io.stderr:write(log.mask(table.concat(parts, "\t")), "\n")
  end
  local result, err
  if job.store and not store then
    err = "metadata store unavailable: " .. tostring(serr)
  else
    local jctx = opts and opts.sandbox_roots and require("nv.sandbox").view(ctx, opts.sandbox_roots) or ctx
    local rok, r1, r2 = xpcall(job.run, debug.traceback, jctx)
    if not rok then
      err = tostring(r1)
    elseif r1 == nil then
      err = tostring(r2 or "job returned no result")
    elseif type(r1) ~= "table" then
      err = "job returned a " .. type(r1) .. " instead of a result table"
    else
      result = r1
    end
  end
  print = saved_print

  local elapsed = sys.monotonic() - t0
  result = result or {}
  local status, code, why = M.decide(cfg, result, err)
  if ctx.store_failure and code == M.EXIT_OK then -- a store write asked for and not done
    code, why = M.EXIT_FAILED, ctx.store_failure
  end
  local success = code == M.EXIT_OK
  if err then result.error = result.error or err:match("^[^\n]*") end
  if success then
    result.error = nil -- failed_objects names what failed in a run that exits 0
  else
    result.error = result.error or why
    jlog:error("Job %s: %s", status == "failed" and "failed" or ("exits 1 (" .. status .. ", fail_on = "
      .. tostring(cfg.fail_on) .. ")"), tostring(why or err or result.error or "see the result"))
  end
  if opts and opts.sandbox_roots then result.error = require("nv.sandbox").explain(result.error) end
  result.job_id, result.run_id, result.job_type = run_id, run_id, job_type
  result.workflow_id, result.tenant_id = ctx.workflow_id, ctx.tenant_id
  result.success = success
  result.status = status
  if result.failed_objects == nil then result.failed_objects = json.array() end
  result.execution_time = math.floor(elapsed * 1000 + 0.5) / 1000
  jlog:info("Job %s %s in %.3fs", run_id, status, elapsed)
  -- the log file is part of the run's output: lines it lost (a full disk,
  -- a file-size limit) fail the run, said before the run row is written
  local log_ok, log_err = log.close_file()
  if not log_ok then
    result.log_file = "incomplete: " .. tostring(log_err)
    stderr("%s", log_err)
    require("nv.report").add_failed(result, { step = "log_file", reason = log_err })
    if success then
      success, result.success, result.error = false, false, log_err
    end
  end

  local run_record_error
  if store then
    run_row.status = success and "Success" or "Failed"
    run_row.finished_at = store_mod.timestamp(started + elapsed)
    run_row.duration_ms = math.floor(elapsed * 1000 + 0.5)
    run_row.error_message = (not success) and log.mask(tostring(result.error or err)) or nil
    run_row.result_summary = log.mask(json.encode({ status = result.status, skipped = result.skipped,
                                                    objects_failed = result.objects_failed }))
    run_row.schema_drift = ctx.schema_drift and log.mask(json.encode(ctx.schema_drift)) or nil
    run_record_error = M.record_run(store, cfg, run_row, ctx)
  elseif cfg.store then
    run_record_error = ctx.store_error
  end
  if run_record_error then
    result.run_record = "not written: " .. run_record_error
    if success and (job.store or cfg.write_to_db) then -- the store holds part of the job's output
      success = false
      result.error = "run record " .. result.run_record
      require("nv.report").add_failed(result, { step = "run_record", reason = result.error })
      result.success = false
    end
  end
  for _, cleanup in ipairs(ctx.cleanups or {}) do pcall(cleanup) end
  local eok, eerr = emit_result(result)
  if not eok then -- the result is lost: the run failed, and its row says so
    stderr("%s", eerr)
    success = false
    if store and not run_record_error and run_row.status == "Success" then
      run_row.status, run_row.error_message = "Failed", log.mask(eerr)
      local fresh, ferr = store_mod.open(cfg.store, cfg)
      local uok, uerr = fresh and fresh:upsert("executor_runs", run_row)
      if fresh then fresh:close() end
      if not uok then stderr("the run record still says Success: %s", log.mask(tostring(uerr or ferr))) end
    end
  end
  if supervised then require("nv.limits").report("done") end
  if trap then -- a SIGTERM from now on ends the process as usual
    while trap:take() do end
    trap:close()
  end
  return success and M.EXIT_OK or M.EXIT_FAILED
end

--- Writes the run's final executor_runs row and its log lines, then closes
-- store. A row that cannot be written on the job's connection (a store
-- that died mid-run) is retried once on a fresh connection. Returns nil
-- when the row was written, else why not (also said on stderr).
function M.record_run(store, cfg, run_row, ctx)
  local ok, err = store:upsert("executor_runs", run_row)
  local target = store
  if not ok then
    stderr("cannot record the run in %s: %s; retrying on a new connection", store.name, log.mask(tostring(err)))
    store:close()
    local fresh, ferr = store_mod.open(cfg.store, cfg)
    target = fresh
    if fresh then
      ok, ferr = fresh:upsert("executor_runs", run_row)
      if not ok then err = tostring(err) .. "; retry: " .. tostring(ferr) end
    else
      err = tostring(err) .. "; retry: cannot reconnect: " .. tostring(ferr)
    end
  end
  if target then
    local lok, lerr = target:write_logs(ctx, log.records(), ctx.log_seq or 0)
    if ok and not lok then stderr("cannot store log lines in %s: %s", target.name, log.mask(tostring(lerr))) end
    target:close()
  end
  if ok then return nil end
  local why = string.format("%s: %s", store.name, tostring(err))
  stderr("the run record was not written to %s", log.mask(why))
  return log.mask(why)
end

--- `nvlua [--sandbox] SCRIPT args…`: the script runs in the sandbox; if it
-- returns a job table, that job runs. Returns the exit code.
function M.run_sandboxed(path, args)
  local sandbox = require "nv.sandbox"
  local roots = sandbox.roots(nil)
  local chunk, err = loadfile(path, "t", sandbox.env(roots))
  if not chunk then
    stderr("%s", err)
    return M.EXIT_FAILED
  end
  sandbox.limit()
  local ok, ret = xpcall(chunk, debug.traceback, table.unpack(args))
  if not ok then
    stderr("%s", log.mask(tostring(sandbox.explain(ret))))
    return M.EXIT_FAILED
  end
  if type(ret) == "table" and type(ret.run) == "function" then
    return M.run_job(ret, args, path, nil, { sandbox_roots = roots })
  end
  return M.EXIT_OK
end

--- `nvlua run <job_type> [args...]` / `nuvyn-executor …`; with sandbox,
-- the job script runs in the sandbox.
function M.main(args, sandboxed)
  local job_type = args[1]
  if job_type == "--list" then
    io.stdout:write(require("nv.usage").list_text())
    return M.EXIT_OK
  end
  if job_type == "--help" or job_type == "-h" then
    io.stdout:write("usage: nvlua run <job_type> [data_source_path] [source_type] [tenant_id] [options]\n",
      require("nv.usage").main_text())
    return M.EXIT_OK
  end
  local rest = table.move(args, 2, #args, 1, {})
  if job_type == nil or job_type:sub(1, 1) == "-" then
    -- no job type on the command line: spec 003's payload may carry it
    local payload = json.decode(os.getenv("NUVYN_JOB_PAYLOAD") or "")
    if type(payload) == "table" and type(payload.job_type) == "string" then
      rest = args
      job_type = payload.job_type
    else
      stderr("missing job type; known job types: %s", table.concat(M.known_jobs(), ", "))
      return M.EXIT_USAGE
    end
  end
  local path = M.find(job_type)
  if not path then
    local known = M.known_jobs()
    local near = config.nearest(job_type, known)
    stderr("unknown job type '%s'%s; known job types: %s", job_type,
      near and (" (did you mean " .. near .. "?)") or "", table.concat(known, ", "))
    return M.EXIT_USAGE
  end
  local roots, env = nil, nil
  if sandboxed then
    roots = {}
    env = require("nv.sandbox").env(roots)
  end
  local job, err = M.load(path, env)
  if not job then
    stderr("cannot load job '%s': %s", job_type, err)
    return M.EXIT_FAILED
  end
  for _, a in ipairs(rest) do -- help wins over everything else: nothing runs, no store opens
    if a == "--help" or a == "-h" then
      io.stdout:write(require("nv.usage").job_text(job_type, job))
      return M.EXIT_OK
    end
  end
  return M.run_job(job, rest, path, job_type, roots and { sandbox_roots = roots })
end

return M
