-- nv.model: shaping of the source model (see nv.extract.source) — a
-- failed source's model, and the nv.store write_source record of a model
-- (sources, tables and columns rows).
local json = require "nv.json"
local sys = require "nv.sys"
local tabledetail = require "nv.tabledetail"

local M = {}

--- The model of a source that failed before any table was read (masked).
function M.failed(src, err)
  return require("nv.redact").model { source_id = src.source_id, source_path = src.data_source_path,
           source_type = src.source_type, status = "failed", errors = json.array({ err }), tables = json.array(),
           files_found = 0, total_size_bytes = 0, extraction_timestamp = sys.now() }
end

local function tostr(v)
  if v == nil then return nil end
  return tostring(v)
end

-- profile column -> the columns-table row
local function column_row(c, t, q)
  local nulls = (c.null_count or 0) + (c.empty_count or 0) + (c.missing_count or 0)
  local samples = json.array()
  for i, v in ipairs(c.samples or {}) do samples[i] = v end
  local nullable = nulls > 0
  if c.declared_nullable ~= nil then nullable = c.declared_nullable end
  local pk = c.candidate_primary_key and true or false
  if c.is_primary_key ~= nil then pk = c.is_primary_key end
  return {
    table_name = t.name, column_name = c.name, position = c.position,
    data_type = c.inferred_type, native_type = c.native_type,
    is_nullable = nullable, is_primary_key = pk, foreign_key = c.foreign_key,
    default_value = c.default_value, comment = c.comment,
    sample_values = samples, null_count = not c.not_profiled and nulls or nil, empty_count = c.empty_count,
    distinct_count = c.distinct_count, min_value = tostr(c.min), max_value = tostr(c.max),
    mean_value = c.mean, stddev_value = c.stddev, min_length = c.min_length, max_length = c.max_length,
    quality_score = q and q.overall, profile_json = c,
  }
end

-- a table model -> its tables-table row, with its columns rows
local function table_row(ts, model, t)
  local q = t.quality
  local cols = {}
  local pk = json.array()
  for _, c in ipairs(t.columns) do
    cols[#cols + 1] = column_row(c, t, q.columns[c.name])
    if c.candidate_primary_key then pk[#pk + 1] = c.name end
  end
  if t.primary_key then pk = t.primary_key end
  return {
    table_id = t.table_id, table_name = t.name, table_type = t.table_type or "file",
    catalog_name = t.catalog_name, schema_name = t.schema_name, comment = t.comment,
    foreign_keys = t.foreign_keys,
    file_path = t.files[1] and t.files[1].path, file_type = t.file_type, row_count = t.rows,
    column_count = #t.columns, size_bytes = t.size_bytes,
    last_modified = t.last_modified and ts(t.last_modified),
    partition_columns = #t.partition_columns > 0 and t.partition_columns or nil,
    primary_key = #pk > 0 and pk or nil, quality_score = q.scores.overall, quality_json = q.scores,
    extracted_at = ts(model.extraction_timestamp), columns = cols,
  }
end

--- The store record for a source model (nv.store write_source). A model
-- with a table detail file gives rec.tables as a lazy list (ipairs, #, [i]).
function M.store_record(ctx, model)
  local ts = require("nv.store").timestamp
  local rec = {
    source = {
      run_id = ctx.run_id, workflow_id = ctx.workflow_id, source_id = model.source_id,
      tenant_id = ctx.tenant_id, source_name = model.source_path and model.source_path:match("([^/]+)/*$"),
      source_path = model.source_path, source_type = model.source_type,
      connection_info = model.connection_info or json.encode({ kind = "files", path = model.source_path }),
      extraction_timestamp = ts(model.extraction_timestamp), files_found = model.files_found,
      tables_found = #model.tables, total_size_bytes = model.total_size_bytes, status = model.status,
      error_message = #model.errors > 0 and table.concat(model.errors, "\n") or nil,
    },
    tables = {},
    schema_drift = model.schema_drift,
  }
  if model.detail_file then
    -- tables past the first detail_tables live in the detail file
    -- (nv.tabledetail): each row is built from it when read, one at a time
    rec.tables = setmetatable({}, {
      __index = function(_, i)
        local t = model.tables[i]
        return t and table_row(ts, model, tabledetail.full(model, t)) or nil
      end,
      __len = function() return #model.tables end,
    })
    return rec
  end
  for _, t in ipairs(model.tables) do rec.tables[#rec.tables + 1] = table_row(ts, model, t) end
  return rec
end

return M
