-- nv.filereader: the reader for a file of a known format (CSV, JSON,
-- Parquet), one entry per format, so the table profiler and the previews
-- open files the same way and never branch on the format themselves; and
-- which formats are read from byte ranges (ranged), for the transport.
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

-- Formats whose reader can start from byte ranges of an object rather
-- than its first bytes (Parquet: the footer first, nv.pqfooter), with the
-- object names that say the format. The transport (nv.remote) asks
-- ranged() and never knows which formats these are.
local ranged_readers = {
  parquet = { suffixes = { ".parquet", ".parq" }, fetch = function(...) return require("nv.pqfooter").fetch(...) end,
              guess = function() return require("nv.pqfooter").guess end },
}

-- the source types that fix a ranged format (connectors' formats: parquet, delta)
local function type_format(source_type)
  local st = source_type and tostring(source_type):lower()
  return st and require("nv.connectors").formats[st]
end

--- How an object named rel (of source_type) is read from byte ranges, when
-- its reader can: {fetch = fn(get, size, path, opts) -> info | nil, msg,
-- guess = bytes read first} | nil (read it from its first bytes).
-- get(first, last) -> bytes; info = {ranges, row_groups, requests, bytes,
-- footer_length} (nv.pqfooter.fetch).
function M.ranged(rel, source_type)
  local fmt = type_format(source_type)
  if fmt and ranged_readers[fmt] then
    local r = ranged_readers[fmt]
    return { fetch = r.fetch, guess = r.guess() }
  end
  local lower = tostring(rel):lower()
  for _, r in pairs(ranged_readers) do
    for _, suffix in ipairs(r.suffixes) do
      if lower:sub(-#suffix) == suffix then return { fetch = r.fetch, guess = r.guess() } end
    end
  end
  return nil
end

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
