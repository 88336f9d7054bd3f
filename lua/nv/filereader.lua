-- nv.filereader: the reader of a file of a known format, opened through
-- nv.readers (the one list of readers, host/readers/readers.c), so the
-- table profiler and the previews open every file the same way and never
-- branch on the format themselves. What is format-specific on the Lua side
-- is declared here, once: the source options a reader's open takes, the
-- facts of its info() a file entry keeps, the formats whose file holds
-- several tables, and which readers read an object from byte ranges
-- (ranged, for the transport).
local readers = require "nv.readers"

local M = {}

-- the source options (nv.extract's opts) each reader's open takes
local open_keys = { csv = { "delimiter", "quote", "header" } }

-- what of a reader's info() a file entry keeps: entry key -> info key, or
-- a table of them (a sub-table of the entry)
local info_facts = {
  csv = { dialect = "dialect" },
  parquet = { parquet = { created_by = "created_by", row_groups = "row_groups", num_rows = "rows" } },
}

-- formats whose file holds several tables (tables(): a workbook's sheets)
local several_tables = { xlsx = "Excel workbooks are read one worksheet per table, not in a multi-file table" }

-- what nv.fs.detect names that no reader reads
local unsupported = {
  xls = "legacy .xls workbooks are not supported; save them as .xlsx or CSV",
  zip = "zip archives are not supported",
  binary = "binary data, not a CSV or JSON file",
}

-- Readers that can start from byte ranges of an object rather than its
-- first bytes (Parquet: the footer first, nv.pqfooter), by format. The
-- object names that say the format are the reader's extensions
-- (nv.readers.list), plus extra_suffixes. The transport (nv.remote) asks
-- ranged() and never knows which formats these are.
local ranged_readers = {
  parquet = { extra_suffixes = { ".parq" }, fetch = function(...) return require("nv.pqfooter").fetch(...) end,
              guess = function() return require("nv.pqfooter").guess end },
}

local descriptors -- nv.readers.list() by format name and alias, once
local function descriptor(name)
  if not descriptors then
    descriptors = {}
    for _, d in ipairs(readers.list()) do
      descriptors[d.name] = d
      for _, a in ipairs(d.aliases) do descriptors[a] = d end
    end
  end
  return descriptors[name]
end

-- the object-name suffixes of a ranged format
local function suffixes(fmt, r)
  local out = {}
  for _, e in ipairs((descriptor(fmt) or {}).extensions or {}) do out[#out + 1] = e end
  for _, e in ipairs(r.extra_suffixes or {}) do out[#out + 1] = e end
  return out
end

-- the source types that fix a ranged format (connectors' formats: parquet, delta)
local function type_format(source_type)
  local st = source_type and tostring(source_type):lower()
  return st and require("nv.connectors").formats[st]
end

local function ranged_of(fmt)
  local r = ranged_readers[fmt]
  return { fetch = r.fetch, guess = r.guess(), format = fmt }
end

--- How an object named rel (of source_type) is read from byte ranges, when
-- its reader can: {fetch = fn(get, size, path, opts) -> info | nil, msg,
-- guess = bytes read first, format = the reader's} | nil (read it from its
-- first bytes). get(first, last) -> bytes; info = {ranges, row_groups,
-- requests, bytes, footer_length} (nv.pqfooter.fetch).
function M.ranged(rel, source_type)
  local fmt = type_format(source_type)
  if fmt and ranged_readers[fmt] then return ranged_of(fmt) end
  local lower = tostring(rel):lower()
  for name, r in pairs(ranged_readers) do
    for _, suffix in ipairs(suffixes(name, r)) do
      if lower:sub(-#suffix) == suffix then return ranged_of(name) end
    end
  end
  return nil
end

--- The format of a file held as byte ranges of an object (file.ranges, set
-- by the transport from ranged()): the ranged reader's format.
function M.ranged_format(file, source_type)
  local r = M.ranged(file.rel or file.name or file.path, source_type)
  if r then return r.format end
  local name = next(ranged_readers) -- the one ranged reader
  return name
end

--- True when a file of format holds several tables (one per sheet).
function M.several_tables(format)
  return several_tables[format] ~= nil
end

--- Why a file of format cannot be one file of a multi-file table, or nil.
function M.not_in_table(file, format)
  local why = several_tables[format]
  return why and string.format("%s: %s", file.path, why) or nil
end

--- The facts of an open reader's info() a file entry keeps ({key = value}).
function M.facts(r)
  local info = r:info()
  local out = {}
  for key, from in pairs(info_facts[info.format] or {}) do
    if type(from) == "table" then
      local sub = {}
      for k, ik in pairs(from) do sub[k] = info[ik] end
      out[key] = sub
    else
      out[key] = info[from]
    end
  end
  return out
end

--- Opens a reader for a file of a known format: reader | nil, message.
-- file = {path, ranges?, object_size?, size}; opts: the source's options
-- (a reader takes those of open_keys).
function M.open(file, format, opts)
  local d = format and descriptor(format)
  if not d then
    return nil, string.format("%s: %s", file.path, unsupported[format] or ("unsupported format " .. tostring(format)))
  end
  opts = opts or {}
  local o = {}
  for _, k in ipairs(open_keys[d.name] or {}) do o[k] = opts[k] end
  if file.ranges and ranged_readers[d.name] then -- a remote object read footer-first: the copy holds byte ranges
    o.size, o.ranges = file.object_size or file.size, file.ranges
  end
  local r, err = readers.open(file.path, d.name, next(o) and o or nil)
  if not r then return nil, err end
  return r
end

return M
