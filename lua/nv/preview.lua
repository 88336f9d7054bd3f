-- nv.preview: bounded previews of a file — its first bytes and rows, or a
-- worksheet's first rows. The extraction takes them while each file is at
-- hand; the report (data_reading) opens local files here when a model
-- carries none, without going back through the extractor.
local json = require "nv.json"
local fs = require "nv.fs"
local filereader = require "nv.filereader"

local M = {}

--- A bounded raw preview of a file: its first bytes, cut at a line end.
function M.text(path, nbytes)
  local head = fs.head(path, nbytes or 1024)
  if not head then return nil end
  local cut = head:match("^(.*)\n[^\n]*$")
  return cut or head
end

--- The first rows of table `tname` (nil: the file's one table) of an open
-- reader r: rows, error? (a failure part-way keeps the rows so far).
function M.rows(r, tname, nrows)
  local rows = json.array()
  local ok, err = pcall(function()
    for row in r:rows(tname, nrows) do rows[#rows + 1] = row end
  end)
  return rows, not ok and tostring(err) or nil
end

--- data_reading's preview of one file of a known format: {preview = raw
-- text, opened = whether a reader opened it, and then rows = first rows,
-- columns = header?, error = msg?}. f = {path, name, ranges?, size};
-- popts = {rows, bytes}.
function M.file(f, format, popts)
  popts = popts or {}
  local out = { preview = M.text(f.path, popts.bytes or 1024), opened = false }
  local r = filereader.open(f, format, {})
  if not r then return out end
  out.opened = true
  local rows, err = M.rows(r, nil, popts.rows or 10)
  out.error = err
  if r.header then out.columns = r:header() end -- a reader that names its columns apart from the rows
  r:close()
  out.rows = rows
  return out
end

--- The first rows (header included) of a worksheet of an open workbook: rows, error?
function M.sheet_rows(wb, sheet, nrows)
  return M.rows(wb, sheet, (nrows or 10) + 1)
end

--- The first rows of one worksheet of the workbook at path: rows, error?
function M.sheet(path, sheet, nrows)
  local wb = require("nv.readers").open(path) -- the format its content says
  if not wb then return nil end
  local rows, err = M.sheet_rows(wb, sheet, nrows)
  wb:close()
  return rows, err
end
return M
