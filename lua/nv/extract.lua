-- nv.extract: the extraction pipeline of one source — resolve its
-- connector, list its tables (or let a catalog connector fill the model),
-- profile each table through its reader (nv.tableprofile), score quality,
-- hand on the source model; then the job level: the job's sources, drift,
-- store writes, parallel workers (nv.extractworker).
local filesource = require "nv.filesource"
local tableprofile = require "nv.tableprofile"
local tabledetail = require "nv.tabledetail"
local quality = require "nv.quality"
local json = require "nv.json"
local sys = require "nv.sys"
local shape = require "nv.model"

local M = {}

--- Extracts one source. src = {source_id, data_source_path, source_type}.
-- The source model (also what a catalog connector's extract(ctx, src,
-- opts, model) fills in): {source_id, source_path, source_type, status =
-- success | partial | failed, errors = {…}, files_found, total_size_bytes,
-- extraction_timestamp, quality = nv.quality.summarize(tables), tables = {
--   {table_id, name, key, status, rows, size_bytes, last_modified, file_type,
--    data_format? and delta? (a Delta table: file_type "delta", nv.delta's
--    summary: version, live/ignored files, checkpoint, partition columns),
--    files = {…}, errors = {…}, partition_columns = {…}, ragged_rows,
--    bad_records, quality = nv.quality.table(t), catalog_name?, schema_name?,
--    table_type?, comment?, definition?, primary_key = {…}?, foreign_keys?,
--    columns = { nv.profile result columns, plus optional native_type,
--                declared_nullable, default_value, comment, is_primary_key,
--                foreign_key } } } }
-- opts.parquet_footer_only: Parquet files (local or remote) give their
-- footer's row count, types, null counts and min/max, and no page is read.
-- Returns the source model (status success | partial | failed, never raises
-- for bad data), masked (nv.redact): the connector read the real path or
-- URL, everything after this sees only "…sig=***".
local function source(ctx, src, opts)
  opts = opts or {}
  local path = src.data_source_path
  local model = { source_id = src.source_id, source_path = path, source_type = src.source_type or "auto",
                  tables = json.array(), errors = json.array(), files_found = 0, total_size_bytes = 0,
                  extraction_timestamp = sys.now() }
  local function fail(err)
    model.status, model.errors[#model.errors + 1] = "failed", err
    ctx.log:error("%s", err)
    return model
  end
  -- 1. the connector
  local conn, cerr = require("nv.connectors").resolve(src)
  if not conn then return fail(cerr) end
  if conn.extract then return conn.extract(ctx, src, opts, model) end -- a catalog fills the model itself
  -- 2. its tables
  local listing, lerr = conn.tables(ctx, src, opts)
  if not listing then return fail(lerr) end
  if listing.connection_info then model.connection_info = json.encode(listing.connection_info) end
  for _, e in ipairs(listing.errors or {}) do
    model.errors[#model.errors + 1] = e
    ctx.log:warning("%s", e)
  end
  model.files_found, model.total_size_bytes = listing.files_found, listing.total_size_bytes
  if listing.warnings and #listing.warnings > 0 then
    model.warnings = json.array(listing.warnings)
    for _, w in ipairs(listing.warnings) do ctx.log:warning("%s", w) end
  end
  ctx.log:info("Source %s: %d files, %d bytes", path, model.files_found, model.total_size_bytes)
  -- 3. each table through its reader into the profiler, then quality
  local progress = require("nv.progress").new(model.files_found, model.total_size_bytes)
  local popts = { source_type = src.source_type, max_rows = opts.max_rows, max_bytes = opts.max_bytes,
                  threads = opts.threads,
                  max_columns = tonumber(opts.max_columns),
                  freshness_days = opts.freshness_days, parquet_footer_only = opts.parquet_footer_only,
                  previews = opts.previews, check_cancel = ctx.check_cancel, cancelled = ctx.cancelled }
  local inc = require("nv.incremental").open(ctx, src, popts) -- reuse of unchanged files' profiles
  popts.incremental = inc
  local failed, held = 0, tabledetail.holder(ctx, model, opts) -- past 1000 tables, compact entries
  for i, g in ipairs(listing.groups) do
    listing.groups[i] = false -- its files go once profiled (a listing of 50,000 files is ~50 MB)
    for _, t in ipairs(tableprofile.group(ctx, g, popts, progress)) do
      t.table_id = "t_" .. filesource.hash((src.source_id or "") .. "\0" .. t.key)
      for _, e in ipairs(t.errors) do model.errors[#model.errors + 1] = e end
      if t.status == "failed" then failed = failed + 1 end
      ctx.log:info("Table %s: %d rows, %d columns, %s", t.name, t.rows, #t.columns, t.status)
      model.tables[#model.tables + 1] = held:add(t)
    end
  end
  held:finish()
  if inc then -- what was reused; kept files the listing no longer has are dropped (a full listing only)
    model.incremental = inc:finish(#(listing.errors or {}) == 0)
    ctx.log:info("Source %s: %d files reused unchanged (%d bytes not read), %d read, %d dropped", path,
      model.incremental.files_reused, model.incremental.bytes_reused, model.incremental.files_read,
      model.incremental.files_removed)
  end
  -- 4. the source's status and quality
  local n = #model.tables
  if n > 0 and failed == n then
    model.status = "failed"
  elseif n > 0 and (failed > 0 or #model.errors > 0) then
    model.status = "partial"
  else
    model.status = "success"
  end
  model.quality = quality.summarize(model.tables)
  return model
end

function M.source(ctx, src, opts)
  return require("nv.redact").model(source(ctx, src, opts))
end

--- The sources a job runs over: spec 003's `sources` or the single one.
-- Returns list, skipped warnings.
function M.sources(ctx)
  local cfg = ctx.config
  local list, warnings = {}, {}
  if cfg.sources and #cfg.sources > 0 then
    for i, s in ipairs(cfg.sources) do
      if not s.data_source_path or s.data_source_path == "" then
        warnings[#warnings + 1] = string.format("sources[%d] (%s): no data_source_path, skipped", i, s.source_id)
      else
        list[#list + 1] = { source_id = s.source_id, data_source_path = s.data_source_path,
                            source_type = s.source_type or cfg.source_type }
      end
    end
  else
    local path = cfg.data_source_path
    list[1] = { source_id = cfg.source_id or ("src_" .. filesource.hash(path)), data_source_path = path,
                source_type = cfg.source_type }
  end
  return list, warnings
end

--- Extracts one source, checks its drift and writes it to the store when
-- write_to_db. Returns the source model.
function M.process(ctx, src, opts)
  local t0 = sys.monotonic()
  local m = M.source(ctx, src, opts)
  local rec = shape.store_record(ctx, m)
  if ctx.store and m.status ~= "failed" then
    local ok, drift = pcall(require("nv.drift").detect, ctx.store, rec,
      { row_change = tonumber(ctx.config.drift_row_change) })
    if ok and drift then
      m.schema_drift = drift
      rec.schema_drift = drift
      ctx.schema_drift = ctx.schema_drift or {}
      ctx.schema_drift[m.source_id] = drift
      if drift.changed then
        ctx.log:warning("Schema drift in %s since run %s: %d/%d tables added/removed, %d/%d columns added/removed, %d type changes",
          m.source_id, drift.previous_run_id, #drift.tables_added, #drift.tables_removed, #drift.columns_added,
          #drift.columns_removed, #drift.type_changes)
      end
    elseif not ok then
      ctx.log:warning("schema drift check failed for %s: %s", m.source_id, tostring(drift))
    end
  end
  if ctx.config.write_to_db then
    -- a write that did not happen is one failed object of the source, and
    -- fails the job whatever fail_on says (nv.job: ctx.store_failure)
    local ok, err = false, ctx.store_error or "the metadata store is unavailable"
    if ctx.store then
      ok, err = ctx.store:write_source(rec)
      if not ok then err = "the store " .. ctx.store.name .. ": " .. tostring(err) end
    end
    m.written_to_db = ok and true or false
    if not ok then
      m.store_error = "cannot write metadata: " .. tostring(err)
      m.errors[#m.errors + 1] = m.store_error
      ctx.log:error("cannot write metadata for %s: %s", m.source_path, err)
    else
      ctx.log:info("Metadata written to %s for source %s", ctx.store.kind, m.source_id)
    end
  end
  m.elapsed = math.floor((sys.monotonic() - t0) * 1000 + 0.5) / 1000
  return m
end


-- the first store write that failed, for nv.job (it fails the job)
local function note_store_failure(ctx, models)
  for _, m in ipairs(models) do
    if m.store_error and not ctx.store_failure then ctx.store_failure = m.store_error end
  end
  return models
end

--- opts with `threads`, the threads each file is read on: config `threads`
-- (--threads N, 1..64), else the cores this process may use shared by the
-- sources read at once (at least 1). A bad value is a warning, not a stop.
function M.with_threads(ctx, opts, concurrent, ncpu, warnings)
  local out = {}
  for k, v in pairs(opts) do out[k] = v end
  local want = ctx.config.threads
  local n = want ~= nil and tonumber(want) or nil
  if want ~= nil and not (n and n == math.floor(n) and n >= 1 and n <= 64) then
    local w = string.format("threads = %s is not an integer from 1 to 64; the default is used", tostring(want))
    ctx.log:warning("%s", w)
    warnings[#warnings + 1] = w
    n = nil
  end
  out.threads = n and math.floor(n) or math.min(64, math.max(1, ncpu // concurrent))
  return out
end

--- Extracts every source of the job (spec 003's `sources` in parallel on
-- `workers` threads, default one per core), each written to the store as
-- soon as it finishes when write_to_db. Returns the source models; a
-- failed write also sets ctx.store_failure (the reason).
function M.run(ctx, opts)
  local list, warnings = M.sources(ctx)
  for _, w in ipairs(warnings) do ctx.log:warning("%s", w) end
  local ncpu = require("nv.workers").ncpu()
  local nworkers = tonumber(ctx.config.workers) or ncpu
  local parallel = #list > 1 and nworkers > 1
  opts = M.with_threads(ctx, opts, parallel and math.min(nworkers, #list) or 1, ncpu, warnings)
  if parallel then
    return note_store_failure(ctx, require("nv.extractworker").run_parallel(ctx, list, opts, nworkers)), warnings
  end
  local models = {}
  for i, src in ipairs(list) do
    local m = M.process(ctx, src, opts)
    if #list > 1 then
      ctx.log:info("Source %d/%d done: %s (%s) in %.2fs", i, #list, tostring(m.source_id), m.status, m.elapsed)
    end
    models[#models + 1] = m
  end
  return note_store_failure(ctx, models), warnings
end

return M
