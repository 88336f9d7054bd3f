-- nv.report: the JSON shapes of spec 001 (per job) and spec 003
-- (multi-source aggregation), built from nv.extract's source models.
local json = require "nv.json"
local extract = require "nv.extract"

local M = {}

local function column_summary(c, q)
  return {
    name = c.name, position = c.position, data_type = c.inferred_type, native_type = c.native_type,
    type_confidence = c.type_confidence, partition = c.partition,
    null_count = (c.null_count or 0) + (c.empty_count or 0) + (c.missing_count or 0),
    distinct_count = c.distinct_count, distinct_exact = c.distinct_exact, distinct_error = c.distinct_error,
    min = c.min, max = c.max, mean = c.mean, stddev = c.stddev, p25 = c.p25, p50 = c.p50, p75 = c.p75,
    quantiles_exact = c.quantiles_exact, quantile_error = c.quantile_error,
    min_length = c.min_length, max_length = c.max_length, avg_length = c.avg_length,
    top_values = c.top_values and json.array(c.top_values) or nil, top_values_exact = c.top_values_exact,
    sample_values = json.array(c.samples or {}),
    candidate_primary_key = c.candidate_primary_key, invalid_count = c.invalid_count,
    quality = q,
  }
end

local function table_summary(t)
  local cols = json.array()
  for _, c in ipairs(t.columns) do cols[#cols + 1] = column_summary(c, t.quality.columns[c.name]) end
  return {
    table_id = t.table_id, table_name = t.name, file_type = t.file_type, row_count = t.rows,
    column_count = #t.columns, size_bytes = t.size_bytes, status = t.status,
    last_modified = t.last_modified and os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t.last_modified)),
    partition_columns = t.partition_columns, files = t.files, errors = t.errors,
    ragged_rows = t.ragged_rows > 0 and t.ragged_rows or nil, ragged_lines = t.ragged_lines,
    bad_records = t.bad_records > 0 and t.bad_records or nil, array_types = t.array_types,
    data_format = t.data_format, delta = t.delta,
    quality = t.quality.scores, columns = cols,
  }
end

local function ncolumns(m)
  local n = 0
  for _, t in ipairs(m.tables) do n = n + #t.columns end
  return n
end

--- metadata_extraction (spec 001) for one source.
function M.metadata(m)
  local tables = json.array()
  for _, t in ipairs(m.tables) do tables[#tables + 1] = table_summary(t) end
  local qm = {}
  if m.quality then
    qm.overall_score = m.quality.overall_score
    for k, v in pairs(m.quality.quality_metrics) do qm[k] = v end
  end
  return {
    source_id = m.source_id, source_path = m.source_path, source_type = m.source_type,
    extraction_status = m.status, files_found = m.files_found, total_size_bytes = m.total_size_bytes,
    schema_info = { tables = #m.tables, columns = ncolumns(m) },
    quality_metrics = qm, tables = tables, errors = m.errors, written_to_db = m.written_to_db,
    schema_drift = m.schema_drift,
    warnings = m.warnings and #m.warnings > 0 and json.array(m.warnings) or nil,
  }
end

--- quality_assessment (spec 001) for one source.
function M.quality(m)
  local q = m.quality or {}
  local per_table = json.array()
  for _, t in ipairs(m.tables) do
    per_table[#per_table + 1] = { table_name = t.name, scores = t.quality.scores, columns = t.quality.columns,
                                  quality_level = require("nv.quality").level(t.quality.scores.overall) }
  end
  return {
    source_id = m.source_id, source_path = m.source_path, status = m.status,
    overall_score = q.overall_score, quality_level = q.quality_level, quality_metrics = q.quality_metrics or {},
    recommendations = q.recommendations or json.array(), tables = per_table, errors = m.errors,
  }
end

--- data_reading (spec 001) for one source: previews bounded by opts. The
-- extraction takes them while each file is at hand (nv.extract previews);
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
      if f.status ~= "failed" and f.format == "xlsx" and t.sheet then
        local rows, err
        if pv then
          rows, err = pv.rows, pv.error
        else
          rows, err = extract.preview_sheet(f.local_path or f.path, t.sheet, popts.rows)
        end
        if rows then
          entry.rows, entry.sheet, entry.error = rows, t.sheet, err or entry.error
          files_read = files_read + 1
        end
        sample[t.name] = entry
        goto next_file
      end
      if f.status ~= "failed" and f.format ~= "empty" then
        pv = pv or extract.preview_file({ path = f.local_path or f.path, name = f.name, ranges = f.ranges,
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
  }
end

--- One result, or spec 003's aggregate when the job had several sources.
function M.aggregate(ctx, models, shape)
  if #models == 1 and not (ctx.config.sources and #ctx.config.sources > 0) then
    local r = shape(models[1])
    r.success = models[1].status ~= "failed"
    if not r.success then r.error = models[1].errors[1] end
    return r
  end
  local sources = json.array()
  local processed, failed = 0, 0
  for _, m in ipairs(models) do
    if m.status == "failed" then failed = failed + 1 else processed = processed + 1 end
    sources[#sources + 1] = { source_id = m.source_id, source_path = m.source_path, status = m.status,
                              metadata = shape(m) }
  end
  local all_failed = #models > 0 and failed == #models
  return { workflow_id = ctx.workflow_id, total_sources = #models, sources_processed = processed,
           sources_failed = failed, sources = sources, success = not all_failed,
           error = all_failed and string.format("all %d sources failed", #models) or nil }
end

return M
