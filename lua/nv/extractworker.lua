-- nv.extractworker: the job's sources extracted in parallel, one worker
-- thread and lua_State each (nv.workers.map runs "nv.extractworker.worker");
-- each worker runs nv.extract.process and hands back the serialized model,
-- its drift and its log records.

local M = {}

--- Runs in a worker thread's own lua_State (nv.workers.map): one source
-- from a serialized job context; returns the serialized model, its drift
-- and the worker's log records.
function M.worker(text)
  local serial = require "nv.serial"
  local log = require "nv.log"
  local input = assert(serial.load(text))
  if input.refuse_tenants then require("nv.connectors").refuse_tenants() end
  local cfg = input.config
  require("nv.config").register_secrets(cfg, log.add_secret)
  log.set_level(input.log_level or "INFO")
  if input.log_path then log.open_file(input.log_path) end
  local ctx = { config = cfg, run_id = input.run_id, job_id = input.run_id, workflow_id = input.workflow_id,
                tenant_id = input.tenant_id, job_type = input.job_type, log_path = input.log_path,
                worker_thread = true } -- a table detail file outlives the thread (run_parallel removes it)
  ctx.log = require("nv.job").logger("nvlua.jobs." .. tostring(input.job_type) .. ".worker")
  local store, serr
  if cfg.store then store, serr = require("nv.store").open(cfg.store, cfg) end
  ctx.store = store
  if cfg.store and not store then
    ctx.store_error = string.format("the store %s is unavailable: %s", require("nv.store").describe(cfg.store),
      tostring(serr))
  end
  local ok, m = pcall(require("nv.extract").process, ctx, input.src, input.opts)
  for _, cleanup in ipairs(ctx.cleanups or {}) do pcall(cleanup) end -- this thread's temp files
  if store then store:close() end
  if not ok then
    ctx.log:error("source %s: %s", tostring(input.src.source_id), tostring(m))
  end
  -- detail files no returned model names (a failed source, a file given
  -- up after a write error) go now: the caller only removes m.detail_file
  for _, path in ipairs(ctx.detail_files or {}) do
    if not (ok and m.detail_file == path) then os.remove(path) end
  end
  if not ok then
    m = nil
  else
    ctx.log:info("Source %s done: %s in %.2fs", tostring(m.source_id), m.status, m.elapsed)
  end
  local records = log.records()
  log.close_file()
  return serial.dump({ model = m, error = not ok and tostring(m) or nil, records = records,
                       drift = ctx.schema_drift })
end

--- Sources in parallel on nworkers threads, one lua_State each.
function M.run_parallel(ctx, list, opts, nworkers)
  local serial = require "nv.serial"
  local log = require "nv.log"
  local inputs = {}
  for i, src in ipairs(list) do
    inputs[i] = serial.dump({ config = ctx.config, run_id = ctx.run_id, workflow_id = ctx.workflow_id,
                              tenant_id = ctx.tenant_id, job_type = ctx.job_type, log_path = ctx.log_path,
                              log_level = log.level(), src = src, opts = opts,
                              -- a worker's fresh Lua state has no sandbox of its own: it
                              -- must refuse tenant connectors as this one does
                              refuse_tenants = require("nv.connectors").refusing() })
  end
  ctx.log:info("Extracting %d sources on %d workers", #list, math.min(nworkers, #list))
  local results = require("nv.workers").map("nv.extractworker.worker", inputs, math.min(nworkers, #list))
  local models = {}
  for i, r in ipairs(results) do
    local out = r.ok and serial.load(r.value)
    local m = out and out.model
    if not m then
      local err = string.format("source %s: worker failed: %s", tostring(list[i].source_id),
        tostring(out and out.error or r.error))
      ctx.log:error("%s", err)
      m = require("nv.model").failed(list[i], err)
    end
    if out and out.drift then
      ctx.schema_drift = ctx.schema_drift or {}
      for k, v in pairs(out.drift) do ctx.schema_drift[k] = v end
    end
    if out and ctx.store and out.records and #out.records > 0 then
      local seq, lerr = ctx.store:write_logs(ctx, out.records, ctx.log_seq or 0)
      if seq then
        ctx.log_seq = seq
      else
        ctx.log:warning("cannot store the log lines of source %s in %s: %s", tostring(list[i].source_id),
          ctx.store.name, tostring(lerr))
      end
    end
    if m.detail_file then -- the worker's table detail file: the job's now
      local path = m.detail_file
      ctx.cleanups = ctx.cleanups or {}
      ctx.cleanups[#ctx.cleanups + 1] = function() os.remove(path) end
    end
    models[i] = m
  end
  return models
end

return M
