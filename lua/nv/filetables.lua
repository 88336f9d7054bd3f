-- nv.filetables: what the file-like connectors (files, s3, azure) share:
-- a listing of files grouped into tables (a directory of like files, a
-- Hive-partitioned tree, a Delta table) in the shape connectors/README.md
-- gives for tables(ctx, src, opts).
local delta = require "nv.delta"
local filesource = require "nv.filesource"
local log = require "nv.log"

local M = {}

--- The listing tables() returns: {groups, files_found, total_size_bytes,
-- errors, warnings, connection_info?}. files: the listed files;
-- root: the local root the table names are relative to; deltas: Delta
-- snapshots found (nv.delta), lerrs: per-file listing errors.
function M.listing(src, opts, files, root, deltas, lerrs)
  local out = { groups = {}, files_found = #files, total_size_bytes = 0, errors = {}, warnings = {} }
  for _, e in ipairs(lerrs or {}) do out.errors[#out.errors + 1] = e end
  for _, f in ipairs(files) do out.total_size_bytes = out.total_size_bytes + (f.size or 0) end
  if #files == 0 then out.warnings[1] = log.mask(src.data_source_path or "?") .. ": no files found" end
  out.groups = delta.group(files, root, deltas or {}, filesource.group,
    { filtered = (opts.include and #opts.include > 0) or (opts.exclude and #opts.exclude > 0) })
  return out
end

return M
