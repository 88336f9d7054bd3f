-- nv.tabledetail: bounded memory for a source of many tables. Past the
-- first `keep` tables of a source (opts.detail_tables, default 1000) each
-- table's full model — column profiles, quality detail, file entries,
-- previews — goes to a temporary file as soon as the table is profiled;
-- the source model keeps a compact entry (name, status, counts, errors,
-- scores, the failed files) with `detail` = where the full model is. The
-- store record (nv.model.store_record) reads the full tables back one at a
-- time, so the store and the platform payload keep everything; the job's
-- printed result shows the compact entries past the first `keep`.
local serial = require "nv.serial"
local json = require "nv.json"
local sys = require "nv.sys"

local M = {}

M.default_keep = 1000

local Spill = {}
Spill.__index = Spill

--- A spill file for one source under dir (default $TMPDIR or /tmp):
-- spill | nil, msg, code. ctx.cleanups removes it when the job ends, unless
-- keep_file (a worker thread: its caller removes it once it read the model
-- back).
function M.new(ctx, keep_file, dir)
  local path = (dir or os.getenv("TMPDIR") or "/tmp"):gsub("/+$", "") .. "/nvlua-tables-" .. sys.random_hex(8)
  -- created new (never an existing file) and private: it holds sample values
  local made, merr = sys.write_new(path, "", tonumber("600", 8))
  if not made then return nil, "cannot create the table detail file: " .. tostring(merr), "io" end
  local fh, err = io.open(path, "ab")
  if not fh then
    os.remove(path)
    return nil, "cannot create the table detail file: " .. tostring(err), "io"
  end
  if not keep_file then
    ctx.cleanups = ctx.cleanups or {}
    ctx.cleanups[#ctx.cleanups + 1] = function() os.remove(path) end
  else -- the worker removes it when no model it hands back names it
    ctx.detail_files = ctx.detail_files or {}
    ctx.detail_files[#ctx.detail_files + 1] = path
  end
  return setmetatable({ path = path, fh = fh, offset = 0 }, Spill)
end

--- Writes a full table model: offset, length | nil, msg.
function Spill:put(t)
  local text = serial.dump(t)
  local ok, err = self.fh:write(text)
  if not ok then return nil, "cannot write the table detail file: " .. tostring(err), "io" end
  local at = self.offset
  self.offset = self.offset + #text
  return at, #text
end

--- Closes the writing side (the file stays for load): true | nil, msg.
function Spill:finish()
  if not self.fh then return true end
  local ok, err = self.fh:close()
  self.fh = nil
  if not ok then return nil, "cannot write the table detail file: " .. tostring(err), "io" end
  return true
end

--- The full table model at offset (length bytes) in the spill file at
-- path | nil, msg (a file a failed write left short).
function M.load(path, offset, length)
  local fh, err = io.open(path, "rb")
  if not fh then return nil, "table detail file: " .. tostring(err) end
  local text
  if fh:seek("set", offset) then text = fh:read(length) end
  fh:close()
  local t = text and #text == length and serial.load(text)
  if not t then return nil, "table detail file truncated" end
  return t
end

--- The full model of table t of source model m (t itself when it is not
-- spilled, or when its detail was lost: the source's errors say so).
function M.full(m, t)
  if t.detail and m.detail_file then return M.load(m.detail_file, t.detail, t.detail_len) or t end
  return t
end

local function compact_files(files)
  local out = json.array()
  for i, f in ipairs(files or {}) do
    out[i] = { path = f.path, local_path = f.local_path, name = f.name, size = f.size, format = f.format,
               status = f.status, error = f.error, warning = f.warning }
  end
  return out
end

-- the table fields kept as they are in a compact entry (small by nature)
local kept = { "table_id", "name", "key", "status", "rows", "size_bytes", "last_modified", "file_type", "data_format",
               "sheet", "sheet_state", "errors", "record_errors", "warnings", "ragged_rows", "bad_records",
               "ragged_lines", "partition_columns", "columns_dropped", "array_types", "delta", "merged_cells" }

-- shared empty list and map for the compact entries' empty fields
-- (thousands of them; nothing adds to a compact entry's lists)
local EMPTY, NONE = json.array(), {}

--- The compact entry of table t whose full model is at offset, length
-- (detail, detail_len) in the detail file.
function M.compact(t, offset, length)
  local c = { detail = offset, detail_len = length, column_count = #t.columns, columns = EMPTY,
              files = compact_files(t.files) }
  for _, k in ipairs(kept) do
    local v = t[k]
    if type(v) == "table" and next(v) == nil then v = getmetatable(v) == getmetatable(EMPTY) and EMPTY or NONE end
    c[k] = v
  end
  local q = t.quality or {}
  local findings = q.findings
  if type(findings) == "table" and next(findings) == nil then findings = NONE end
  c.quality = { scores = q.scores, capped = q.capped, level = q.level, findings = findings, columns = NONE }
  return c
end

local Holder = {}
Holder.__index = Holder

--- What source model m keeps of its tables: holder:add(t) -> t itself
-- while m holds fewer than opts.detail_tables (default 1000), else t's
-- compact entry (t masked, nv.redact, and written to the detail file; m
-- gets detail_file and detail_tables); holder:finish() once all are added.
-- A detail file that cannot be written keeps the tables in memory.
function M.holder(ctx, m, opts)
  return setmetatable({ ctx = ctx, m = m, keep = tonumber(opts.detail_tables) or M.default_keep,
                        dir = opts.remote_tmpdir }, Holder)
end

function Holder:add(t)
  if #self.m.tables < self.keep or self.spill == false then return t end
  local err
  if not self.spill then self.spill, err = M.new(self.ctx, self.ctx.worker_thread, self.dir) end
  local at, len
  if self.spill then at, len = self.spill:put(require("nv.redact").model(t)) end
  if self.spill and not at then err = len end
  if not at then
    self.ctx.log:warning("table detail kept in memory: %s", tostring(err))
    if self.spill and self.m.detail_file then
      -- tables spilled before keep what the file holds: close it; the
      -- source says their detail may be incomplete
      self.spill:finish()
      self.lost = string.format("%s: the detail of the tables written before may be incomplete", tostring(err))
    end
    self.spill = false
    return t
  end
  self.m.detail_file, self.m.detail_tables = self.spill.path, self.keep
  return M.compact(t, at, len)
end

function Holder:finish()
  if self.lost then
    self.m.errors[#self.m.errors + 1] = self.lost
    self.ctx.log:error("%s", self.lost)
  end
  if not self.spill then return end
  local ok, err = self.spill:finish()
  if not ok then -- the compact entries' detail is lost: the source says so (and fails its store write)
    self.m.errors[#self.m.errors + 1] = err
    self.ctx.log:error("%s", err)
  end
end

--- The number of columns of a table model, compact or full.
function M.ncolumns(t)
  return t.column_count or #t.columns
end

return M
