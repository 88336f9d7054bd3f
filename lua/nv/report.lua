-- nv.report: the JSON shapes of spec 001 (per job) and spec 003
-- (multi-source aggregation), built from nv.extract's source models.
local json = require "nv.json"
local preview = require "nv.preview"
local tabledetail = require "nv.tabledetail"

local M = {}

local function column_summary(c, q)
  return {
    name = c.name, position = c.position, data_type = c.inferred_type, native_type = c.native_type,
    type_confidence = c.type_confidence, partition = c.partition,
    null_count = not c.not_profiled and (c.null_count or 0) + (c.empty_count or 0) + (c.missing_count or 0) or nil,
    not_profiled = c.not_profiled, -- why no value could be read
    distinct_count = c.distinct_count, distinct_exact = c.distinct_exact, distinct_error = c.distinct_error,
    min = c.min, max = c.max, mean = c.mean, stddev = c.stddev, p25 = c.p25, p50 = c.p50, p75 = c.p75,
    quantiles_exact = c.quantiles_exact, quantile_error = c.quantile_error,
    min_length = c.min_length, max_length = c.max_length, avg_length = c.avg_length,
    top_values = c.top_values and json.array(c.top_values) or nil, top_values_exact = c.top_values_exact,
    sample_values = json.array(c.samples or {}),
    candidate_primary_key = c.candidate_primary_key, invalid_count = c.invalid_count,
    invalid_utf8 = c.invalid_utf8, -- bytes shown as U+FFFD
    quality = q,
  }
end

-- a table's errors: its failures, then the record-level problems of the
-- files that were read (ragged rows, malformed records skipped)
local function table_errors(t)
  if not t.record_errors or #t.record_errors == 0 then return t.errors end
  local out = json.array()
  for _, e in ipairs(t.errors or {}) do out[#out + 1] = e end
  for _, e in ipairs(t.record_errors) do out[#out + 1] = e end
  return out
end

-- a compact table (past the source's first detail_tables, nv.tabledetail):
-- its counts, status, errors and scores, not its columns and files
local function compact_summary(t)
  return {
    table_id = t.table_id, table_name = t.name, file_type = t.file_type, row_count = t.rows,
    column_count = tabledetail.ncolumns(t), columns_dropped = t.columns_dropped, size_bytes = t.size_bytes,
    status = t.status, detail_omitted = true,
    last_modified = t.last_modified and os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t.last_modified)),
    errors = table_errors(t), warnings = t.warnings and #t.warnings > 0 and json.array(t.warnings) or nil,
    ragged_rows = t.ragged_rows > 0 and t.ragged_rows or nil, bad_records = t.bad_records > 0 and t.bad_records or nil,
    data_format = t.data_format, quality = t.quality.scores, columns = json.array(),
  }
end

local function table_summary(t)
  if t.detail then return compact_summary(t) end
  local cols = json.array()
  for _, c in ipairs(t.columns) do cols[#cols + 1] = column_summary(c, t.quality.columns[c.name]) end
  return {
    table_id = t.table_id, table_name = t.name, file_type = t.file_type, row_count = t.rows,
    column_count = #t.columns, columns_dropped = t.columns_dropped, size_bytes = t.size_bytes, status = t.status,
    last_modified = t.last_modified and os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t.last_modified)),
    partition_columns = t.partition_columns, files = t.files, errors = table_errors(t),
    warnings = t.warnings and #t.warnings > 0 and json.array(t.warnings) or nil,
    ragged_rows = t.ragged_rows > 0 and t.ragged_rows or nil, ragged_lines = t.ragged_lines,
    bad_records = t.bad_records > 0 and t.bad_records or nil, array_types = t.array_types,
    data_format = t.data_format, delta = t.delta,
    quality = t.quality.scores, columns = cols,
  }
end

local function ncolumns(m)
  local n = 0
  for _, t in ipairs(m.tables) do n = n + tabledetail.ncolumns(t) end
  return n
end

-- a source of more than detail_tables tables (nv.tabledetail): what the
-- result leaves out past them
local function detail_note(m)
  if not m.detail_tables then return nil end
  return string.format("%d tables: columns, files and previews are shown for the first %d only "
    .. "(detail_omitted); the store and the platform payload hold every table in full", #m.tables, m.detail_tables)
end

--- metadata_extraction (spec 001) for one source.
function M.metadata(m)
  local tables = json.array()
  for _, t in ipairs(m.tables) do tables[#tables + 1] = table_summary(t) end
  local qm = {}
  if m.quality then
    qm.overall_score = m.quality.overall_score
    for k, v in pairs(m.quality.quality_metrics) do qm[k] = v end
    qm.unmeasured = m.quality.unmeasured
  end
  return {
    source_id = m.source_id, source_path = m.source_path, source_type = m.source_type,
    extraction_status = m.status, files_found = m.files_found, total_size_bytes = m.total_size_bytes,
    schema_info = { tables = #m.tables, columns = ncolumns(m) },
    quality_metrics = qm, tables = tables, errors = m.errors, written_to_db = m.written_to_db,
    schema_drift = m.schema_drift,
    incremental = m.incremental, -- nv.incremental: files reused unchanged / read / dropped
    warnings = m.warnings and #m.warnings > 0 and json.array(m.warnings) or nil,
    tables_note = detail_note(m),
  }
end

--- quality_assessment (spec 001) for one source.
function M.quality(m)
  local q = m.quality or {}
  local per_table = json.array()
  for _, t in ipairs(m.tables) do
    per_table[#per_table + 1] = { table_name = t.name, scores = t.quality.scores, columns = t.quality.columns,
                                  quality_level = t.quality.level or require("nv.quality").level(t.quality.scores.overall) }
  end
  return {
    source_id = m.source_id, source_path = m.source_path, status = m.status,
    overall_score = q.overall_score, quality_level = q.quality_level, quality_metrics = q.quality_metrics or {},
    unmeasured = q.unmeasured,
    recommendations = q.recommendations or json.array(), tables = per_table, errors = m.errors,
    tables_note = detail_note(m),
  }
end

--- data_reading (spec 001) for one source: previews bounded by opts. The
-- extraction takes them while each file is at hand (nv.preview);
-- a model without them (an extraction run without previews) has its local
-- files opened again here.
function M.reading(ctx, m, opts)
  opts = opts or {}
  local popts = { rows = opts.preview_rows or 10, bytes = opts.preview_bytes or 1024 }
  local sample = {}
  local files_read = 0
  for _, t in ipairs(m.tables) do
    for i, f in ipairs(t.files) do
      local entry = { size = f.size, format = f.format, status = f.status, error = f.error }
      local pv = t.previews and t.previews[i]
      if t.detail then -- past the source's first detail_tables tables: no preview kept
        entry.note = "preview omitted: past the first " .. tostring(m.detail_tables) .. " tables of the source"
        sample[t.sheet and t.name or f.name] = entry
        goto next_file
      end
      if f.status ~= "failed" and f.format == "xlsx" and t.sheet then
        local rows, err
        if pv then
          rows, err = pv.rows, pv.error
        else
          rows, err = preview.sheet(f.local_path or f.path, t.sheet, popts.rows)
        end
        if rows then
          entry.rows, entry.sheet, entry.error = rows, t.sheet, err or entry.error
          files_read = files_read + 1
        end
        sample[t.name] = entry
        goto next_file
      end
      if f.status ~= "failed" and f.format ~= "empty" then
        pv = pv or preview.file({ path = f.local_path or f.path, name = f.name, ranges = f.ranges,
                                          size = f.size }, f.format, popts)
        entry.preview, entry.note = pv.preview, pv.note
        if pv.opened then
          entry.rows, entry.columns = pv.rows, pv.columns
          if pv.error then entry.error = pv.error end
          files_read = files_read + 1
        end
      end
      sample[f.name] = entry
      ::next_file::
    end
  end
  return {
    source_id = m.source_id, source_path = m.source_path, files_found = m.files_found, files_read = files_read,
    sample_data = sample, connection_status = m.status == "failed" and "failed" or "success", errors = m.errors,
    tables_note = detail_note(m),
  }
end

--- What failed in a source model, for the job's outcome: {failed =
-- {{source, table?, path?, reason}}, total = objects, succeeded = objects,
-- warnings = {text}}. The objects are the tables (a table succeeds when
-- its status is success: a partial table is a failed object, its failed
-- files named) and every source error that belongs to no table (a listing
-- error, a refused connection, a failed store write), one object each.
function M.outcome(m)
  local out = { failed = {}, total = 0, succeeded = 0, warnings = {} }
  local in_table, seen_w = {}, {}
  local function warn(w)
    if not seen_w[w] then seen_w[w], out.warnings[#out.warnings + 1] = true, w end
  end
  for _, t in ipairs(m.tables or {}) do
    out.total = out.total + 1
    for _, e in ipairs(t.errors or {}) do in_table[e] = true end
    if t.status == "success" then
      out.succeeded = out.succeeded + 1
    else
      local n = #out.failed
      for _, f in ipairs(t.files or {}) do
        if f.status == "failed" then
          out.failed[#out.failed + 1] = { source = m.source_id, table = t.name, path = f.path, reason = f.error }
        end
      end
      if #out.failed == n then
        out.failed[#out.failed + 1] = { source = m.source_id, table = t.name,
                                        reason = (t.errors and t.errors[1]) or ("table " .. tostring(t.status)) }
      end
    end
    for _, w in ipairs(t.warnings or {}) do warn(w) end
    for _, w in ipairs(t.record_errors or {}) do warn(w) end
  end
  for _, e in ipairs(m.errors or {}) do
    if not in_table[e] then
      out.total = out.total + 1
      out.failed[#out.failed + 1] = { source = m.source_id, reason = e }
    end
  end
  if m.status == "failed" and #out.failed == 0 then
    out.total = out.total + 1
    out.failed[1] = { source = m.source_id, reason = "source failed" }
  end
  for _, w in ipairs(m.warnings or {}) do warn(w) end
  return out
end

-- completed: nothing failed; failed: nothing succeeded (or a source failed
-- outright while nothing else succeeded); partial otherwise
local function status_of(succeeded, nfailed)
  if nfailed == 0 then return "completed" end
  if succeeded == 0 then return "failed" end
  return "partial"
end

-- the outcome fields every job result carries (nv.job applies fail_on)
local function add_outcome(r, failed, total, succeeded, nwarnings)
  r.status = status_of(succeeded, #failed)
  r.failed_objects = json.array(failed)
  r.objects_total, r.objects_succeeded, r.objects_failed = total, succeeded, #failed
  r.warning_count = nwarnings
  if r.status == "failed" then
    r.error = r.error or string.format("%d of %d objects failed (first: %s)", #failed, total,
      tostring(failed[1].reason))
  end
  return r
end

--- Copies a step's outcome fields (status, failed_objects, counts, error)
-- into a job's result (full_pipeline).
function M.merge_outcome(result, step)
  for _, k in ipairs({ "status", "objects_total", "objects_succeeded", "objects_failed", "warning_count", "error" }) do
    result[k] = step[k]
  end
  result.failed_objects = json.array()
  for i, f in ipairs(step.failed_objects or {}) do result.failed_objects[i] = f end
  return result
end

--- Adds one failed object (a failed step) to a result's outcome.
function M.add_failed(result, obj)
  result.failed_objects = result.failed_objects or json.array()
  result.failed_objects[#result.failed_objects + 1] = obj
  result.objects_total = (result.objects_total or 0) + 1
  result.objects_failed = #result.failed_objects
  result.status = status_of(result.objects_succeeded or 0, #result.failed_objects)
  return result
end

--- api_transmission's outcome fields on nv.transmit.send's result: the
-- payloads are the objects (sent succeeded; pending and rejected failed).
function M.transmission_outcome(r)
  local failed = {}
  local sent, pending, rejected = r.sent or 0, r.pending or 0, r.rejected or 0
  if pending > 0 then
    failed[#failed + 1] = { step = "api_transmission", reason = string.format("%d payload(s) kept in the outbox%s",
      pending, r.error and (": " .. tostring(r.error)) or "") }
  end
  if rejected > 0 then
    failed[#failed + 1] = { step = "api_transmission",
                            reason = string.format("%d payload(s) rejected by the platform", rejected) }
  end
  if not r.success and #failed == 0 then
    failed[1] = { step = "api_transmission", reason = tostring(r.error or r.transmission_status) }
  end
  local total = math.max(sent + pending + rejected, #failed)
  r.status = status_of(sent, #failed)
  r.failed_objects = json.array(failed)
  r.objects_total, r.objects_succeeded, r.objects_failed = total, sent, #failed
  return r
end

--- One result, or spec 003's aggregate when the job had several sources.
-- Either carries status (completed | partial | failed), failed_objects,
-- objects_total / objects_succeeded / objects_failed and warning_count.
function M.aggregate(ctx, models, shape)
  if #models == 1 and not (ctx.config.sources and #ctx.config.sources > 0) then
    local m = models[1]
    local r = shape(m)
    local o = M.outcome(m)
    if m.status == "failed" then r.error = m.errors[1] end
    return add_outcome(r, o.failed, o.total, o.succeeded, #o.warnings)
  end
  local sources = json.array()
  local processed, failed = 0, 0
  local all_failed, total, succeeded, nwarn = {}, 0, 0, 0
  for _, m in ipairs(models) do
    if m.status == "failed" then failed = failed + 1 else processed = processed + 1 end
    sources[#sources + 1] = { source_id = m.source_id, source_path = m.source_path, status = m.status,
                              metadata = shape(m) }
    local o = M.outcome(m)
    for _, f in ipairs(o.failed) do all_failed[#all_failed + 1] = f end
    total, succeeded, nwarn = total + o.total, succeeded + o.succeeded, nwarn + #o.warnings
  end
  local r = { workflow_id = ctx.workflow_id, total_sources = #models, sources_processed = processed,
              sources_failed = failed, sources = sources,
              error = #models > 0 and failed == #models and string.format("all %d sources failed", #models) or nil }
  return add_outcome(r, all_failed, total, succeeded, nwarn)
end

return M
