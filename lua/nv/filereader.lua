-- nv.filereader: the reader for a file of a known format (CSV, JSON,
-- Parquet), one entry per format, so the table profiler and the previews
-- open files the same way and never branch on the format themselves.
local M = {}

local readers = {
  csv = function(path, opts)
    return require("nv.csv").open(path, { delimiter = opts.delimiter, quote = opts.quote, header = opts.header })
  end,
  json = function(path)
    return require("nv.jsonfile").open(path)
  end,
  parquet = function(path, _, file)
    -- a remote object read footer-first: the local copy holds byte ranges
    local ranged = file.ranges and { size = file.object_size or file.size, ranges = file.ranges } or nil
    return require("nv.parquet").open(path, ranged)
  end,
}

local unsupported = {
  xlsx = "Excel workbooks are read one worksheet per table, not in a multi-file table",
  xls = "legacy .xls workbooks are not supported; save them as .xlsx or CSV",
  zip = "zip archives are not supported",
  binary = "binary data, not a CSV or JSON file",
}

--- Opens a reader for a file of a known format: reader | nil, message.
function M.open(file, format, opts)
  local open = readers[format]
  if not open then
    return nil, string.format("%s: %s", file.path, unsupported[format] or ("unsupported format " .. tostring(format)))
  end
  local r, err = open(file.path, opts or {}, file)
  if not r then return nil, err end
  return r
end

return M
