-- nv.pqfooter: Parquet read footer-first. An object store's Parquet object
-- is fetched as byte ranges — the tail (a guess at the footer's size), the
-- rest of the footer when the guess was short, then whole row groups
-- within a byte budget — into a local partial copy that nv.parquet opens
-- with {size =, ranges =}. Also table columns from footers alone (types,
-- null counts, min/max) for files whose pages are not read, merged with the
-- profiled columns of the others.
--
--   pqfooter.fetch(get, size, path, opts) -> info | nil, message
--     get(first, last) -> body | nil, message   (a ranged GET, inclusive)
--     opts = {guess = tail bytes (default M.guess), budget = bytes for the
--             footer plus sampled row groups (nil: footer only)}
--     info = {ranges = {{offset, length}, …}, row_groups = leading row
--             groups fetched (0: footer only; nil: all of them), requests =
--             GETs made, bytes = fetched, footer_length =}
--     At most 2 GETs for the footer (tail, then the exact remainder) and
--     one more for the row groups.
--   pqfooter.add(acc, md)          accumulates r:metadata() of a file whose
--                                  pages are not read (acc = {} to start)
--   pqfooter.merge(columns, acc)   -> columns: profile columns with the
--                                  footer-only files' rows, nulls, min/max
local pq = require "nv.parquet"

local M = {}

M.guess = 64 * 1024
M.max_footer = 64 * 1024 * 1024 -- as NV_PQ_MAX_FOOTER

local function write(path, ...)
  local f, err = io.open(path, "wb")
  if not f then return nil, err end
  for _, s in ipairs({ ... }) do
    local ok, werr = f:write(s)
    if not ok then
      f:close()
      return nil, werr
    end
  end
  return f:close()
end

-- the footer's length from the last 8 bytes, checked as nv.parquet does
local function footer_length(tail, size)
  local magic = tail:sub(-4)
  if magic == "PARE" then return nil, "encrypted Parquet footer (PARE) is not supported" end
  if magic ~= "PAR1" then return nil, "not a Parquet file (bad magic bytes)" end
  local len = string.unpack("<I4", tail, #tail - 7)
  if len > size - 12 then return nil, string.format("corrupt footer length %d (file has %d bytes)", len, size) end
  if len > M.max_footer then
    return nil, string.format("footer of %d bytes exceeds the %d-byte limit", len, M.max_footer)
  end
  return len
end

function M.fetch(get, size, path, opts)
  opts = opts or {}
  if size < 12 then return nil, string.format("not a Parquet file (only %d bytes)", size) end
  local n = math.min(size, math.max(12, opts.guess or M.guess))
  local tail, err = get(size - n, size - 1)
  if not tail then return nil, err end
  if #tail ~= n then return nil, string.format("short read: %d of %d bytes", #tail, n) end
  local info = { requests = 1, row_groups = 0 }
  -- row_groups: how many leading row groups the copy holds; nil = all
  local len, lerr = footer_length(tail, size)
  if not len then return nil, lerr end
  info.footer_length = len
  local start = size - n
  if len + 8 > n then -- the guess was short: fetch exactly the rest
    local first = size - 8 - len
    local more, merr = get(first, start - 1)
    if not more then return nil, merr end
    info.requests = 2
    if #more ~= start - first then return nil, string.format("short read: %d of %d bytes", #more, start - first) end
    tail, start = more .. tail, first
  end
  local ok, werr = write(path, tail)
  if not ok then return nil, werr end
  info.ranges = { { start, #tail } }
  info.bytes = #tail
  -- the budget pays for the footer and the row groups, not for what the
  -- tail guess read past the footer
  local room = (opts.budget or 0) - (len + 8)
  if start <= 4 then -- the tail holds the whole data area
    info.row_groups = nil
    return info
  end
  if room <= 0 then return info end
  local r = pq.open(path, { size = size, ranges = info.ranges })
  if not r then return info end -- the reader will say why when opened again
  local groups = r:row_group_ranges()
  r:close()
  local lo, hi, k = nil, nil, 0
  for _, g in ipairs(groups) do
    if g.length == 0 then break end
    local nlo, nhi = math.min(lo or g.offset, g.offset), math.max(hi or 0, g.offset + g.length)
    if math.min(nhi, start) - nlo > room then break end
    lo, hi, k = nlo, nhi, k + 1
  end
  if k == 0 then return info end
  hi = math.min(hi, start)
  if hi > lo then
    local body, berr = get(lo, hi - 1)
    info.requests = info.requests + 1
    if not body then return nil, berr end
    if #body ~= hi - lo then return nil, string.format("short read: %d of %d bytes", #body, hi - lo) end
    ok, werr = write(path, body, tail)
    if not ok then return nil, werr end
    info.bytes = info.bytes + #body
    if hi == start then
      info.ranges = { { lo, #body + #tail } }
    else
      info.ranges = { { lo, #body }, { start, #tail } }
    end
  end
  info.row_groups = k < #groups and k or nil
  return info
end

-- ---- footer-only columns ---------------------------------------------------

local function better(a, b, lower)
  if a == nil then return b end
  if b == nil or type(a) ~= type(b) or (type(a) ~= "number" and type(a) ~= "string") then return a end
  if lower then return b < a and b or a end
  return b > a and b or a
end

function M.add(acc, md)
  acc.rows = (acc.rows or 0) + md.num_rows
  acc.columns = acc.columns or {}
  acc.order = acc.order or {}
  for _, c in ipairs(md.columns) do
    local a = acc.columns[c.name]
    if not a then
      a = { name = c.name, data_type = c.data_type, native_type = c.logical_type or c.physical_type,
            nullable = c.nullable, rows = 0, nulls = 0, nulls_known = true }
      acc.columns[c.name] = a
      acc.order[#acc.order + 1] = c.name
    end
    a.rows = a.rows + md.num_rows
    if c.null_count then a.nulls = a.nulls + c.null_count else a.nulls_known = false end
    a.min = better(a.min, c.min, true)
    a.max = better(a.max, c.max, false)
    a.distinct_count = md.row_groups == 1 and a.files == nil and c.distinct_count or nil
    a.files = (a.files or 0) + 1
  end
end

function M.merge(columns, acc)
  if not acc or not acc.columns then return columns end
  local by = {}
  for _, c in ipairs(columns) do by[c.name] = c end
  for _, name in ipairs(acc.order) do
    local a = acc.columns[name]
    local c = by[name]
    local nulls = a.nulls_known and a.nulls or 0
    if c then
      c.rows = (c.rows or 0) + a.rows
      c.present = (c.present or 0) + a.rows
      c.null_count = (c.null_count or 0) + nulls
      c.non_null = (c.non_null or 0) + a.rows - nulls
      c.min, c.max = better(c.min, a.min, true), better(c.max, a.max, false)
      c.distinct_exact = false
      c.footer_rows = a.rows
    else
      c = { name = name, position = #columns, inferred_type = a.data_type, native_type = a.native_type,
            declared_nullable = a.nullable, rows = a.rows, present = a.rows, null_count = nulls,
            non_null = a.rows - nulls, min = a.min, max = a.max, distinct_count = a.distinct_count,
            distinct_exact = a.distinct_count and true or nil, type_confidence = 1, samples = {},
            null_count_unknown = not a.nulls_known or nil, footer_rows = a.rows, from_footer = true }
      columns[#columns + 1] = c
      by[name] = c
    end
  end
  -- columns missing from some files: those rows are missing values
  local total = 0
  for _, c in ipairs(columns) do total = math.max(total, c.rows or 0) end
  for _, c in ipairs(columns) do
    if c.from_footer and c.rows < total then
      c.missing_count = (c.missing_count or 0) + total - c.rows
      c.rows = total
    end
  end
  return columns
end

return M
