-- nv.incremental: cost proportional to change. Each file a run profiles
-- whole and without error is kept in the store's `file_profiles` table: its
-- serialised profile (nv.profile's p:dump()), the reader's statistics and
-- facts, keyed by the source and the file's path, with the file's identity
-- (size, mtime, ETag) and a fingerprint of everything else the profile
-- depends on (the options that shape a read, nvlua's version). A later run
-- of the same source reuses a file whose identity and fingerprint match
-- instead of reading it (a remote object is not even fetched), reads what
-- is new or changed, and drops the rows of files no longer listed.
--
-- On by default when the run writes to the store (write_to_db); config
-- `incremental` (true | false) decides otherwise, and `--full` (config
-- `full`) reads everything while still refreshing what is kept.
local json = require "nv.json"
local objstore = require "nv.objstore"

local M = {}

-- Bump when what a kept profile means changes (the profiler's result,
-- a reader's statistics): every kept file is then read again once.
local FORMAT = 1

local TABLE = "file_profiles"

local function hex_sha(s) return objstore.hex(objstore.sha256(s)) end
-- what the store sees of a path or URL: masked (a SAS sig=, a signed URL's
-- signature), which also keeps a file's key stable when its token changes
local function masked(s) return require("nv.redact").text(s) end

-- config booleans arrive as booleans or as "true"/"false" text
local function truthy(v)
  if v == nil then return nil end
  if v == true or v == "true" or v == "1" or v == 1 then return true end
  if v == false or v == "false" or v == "0" or v == 0 then return false end
  return nil
end

--- Whether this run keeps and reuses file profiles: on, reason.
function M.mode(cfg)
  cfg = cfg or {}
  local inc = truthy(cfg.incremental)
  if inc == nil then inc = truthy(cfg.write_to_db) == true end
  if not inc then return false, "off" end
  if truthy(cfg.full) then return true, "full" end
  return true, "reuse"
end

-- The options a file's profile depends on, beyond its bytes.
local function fingerprint(ctx, src, opts)
  local host = require "nv.host"
  return hex_sha(json.encode({
    format = FORMAT, nvlua = host.version, source_type = src.source_type or "auto",
    max_rows = opts.max_rows, max_bytes = opts.max_bytes, max_columns = opts.max_columns,
    delimiter = (ctx.config or {}).delimiter, quote = (ctx.config or {}).quote, header = (ctx.config or {}).header,
  }))
end

local Inc = {}
Inc.__index = Inc

--- The handle for one source, or nil when this run keeps nothing (off, no
-- store, previews wanted: those need the file at hand). Reads the kept
-- files' identities (not their profiles) once.
function M.open(ctx, src, opts)
  local on, how = M.mode(ctx.config)
  if not on or not ctx.store or opts.previews or opts.parquet_footer_only then return nil end
  local self = setmetatable({
    ctx = ctx, store = ctx.store, reuse = how == "reuse",
    source_key = hex_sha(json.encode({ ctx.tenant_id or (ctx.config or {}).tenant_id or "", src.source_id or "",
                                       masked(src.data_source_path or ""), src.source_type or "auto" })),
    fingerprint = fingerprint(ctx, src, opts),
    source_id = src.source_id, kept = {}, seen = {}, pending = {},
    stats = { files_reused = 0, files_read = 0, files_removed = 0, bytes_reused = 0, mode = how },
  }, Inc)
  local rows, err = self.store:query("SELECT file_key, fingerprint, size_bytes, mtime, etag FROM "
    .. self.store:qualified(TABLE) .. " WHERE source_key = ?", self.source_key)
  if not rows then
    ctx.log:warning("incremental: cannot read kept profiles from %s (%s); every file is read", self.store.name,
      tostring(err))
    self.reuse = false
    rows = {}
  end
  for _, r in ipairs(rows) do self.kept[r.file_key] = r end
  return self
end

local function file_key(f) return hex_sha(masked(f.url or f.path)) end
local function mtime_text(f) return f.mtime and string.format("%.6f", f.mtime) or "" end

--- The kept read of file f when it is unchanged: {profile = bytes,
-- format, compression, stats, facts, run_id} | nil.
function Inc:lookup(f)
  local key = file_key(f)
  self.seen[key] = true
  if not self.reuse then return nil end
  local k = self.kept[key]
  if not k or k.fingerprint ~= self.fingerprint or tonumber(k.size_bytes) ~= f.size
      or (k.mtime or "") ~= mtime_text(f) or (k.etag or "") ~= (f.etag or "") then
    return nil
  end
  local rows, err = self.store:query("SELECT profile, outcome, run_id FROM " .. self.store:qualified(TABLE)
    .. " WHERE source_key = ? AND file_key = ?", self.source_key, key)
  local row = rows and rows[1]
  if not row then
    if err then self.ctx.log:warning("incremental: %s: %s; read again", f.url or f.path, tostring(err)) end
    return nil
  end
  local bytes = objstore.unbase64(row.profile or "")
  local text = objstore.unbase64(row.outcome or "")
  local outcome = text and require("nv.serial").load(text)
  if not bytes or type(outcome) ~= "table" then
    self.ctx.log:warning("incremental: %s: the kept profile is unreadable; read again", f.url or f.path)
    return nil
  end
  outcome.profile, outcome.run_id = bytes, row.run_id
  return outcome
end

--- Counts a reused file.
function Inc:reused(f)
  self.stats.files_reused = self.stats.files_reused + 1
  self.stats.bytes_reused = self.stats.bytes_reused + (f.size or 0)
end

--- Keeps the read of file f (written by flush): profile = p:dump().
function Inc:keep(f, outcome, profile_bytes)
  self.stats.files_read = self.stats.files_read + 1
  outcome.profile = nil
  require("nv.redact").model(outcome) -- the reader's messages, as the model's are
  self.pending[#self.pending + 1] = {
    source_key = self.source_key, file_key = file_key(f), file_path = masked(f.url or f.path),
    source_id = self.source_id, workflow_id = self.ctx.workflow_id, run_id = self.ctx.run_id,
    fingerprint = self.fingerprint, size_bytes = f.size, mtime = mtime_text(f), etag = f.etag or "",
    format = outcome.format, row_count = outcome.stats and (outcome.stats.rows or outcome.stats.records),
    outcome = objstore.base64(require("nv.serial").dump(outcome)), profile = objstore.base64(profile_bytes),
    profiled_at = require("nv.store").timestamp(),
  }
  self.pending_bytes = (self.pending_bytes or 0) + #self.pending[#self.pending].profile
  if #self.pending >= 200 or self.pending_bytes >= 16 * 1024 * 1024 then self:flush() end -- memory stays bounded
end

--- A file that was read but not kept (failed, sampled): counted as read.
function Inc:read_only() self.stats.files_read = self.stats.files_read + 1 end

--- Writes the kept reads in one transaction; a failure is a warning (the
-- next run reads those files again), never the run's failure.
function Inc:flush()
  if #self.pending == 0 then return true end
  local pending = self.pending
  self.pending, self.pending_bytes = {}, 0
  local ok, err = self.store:transaction(function()
    for _, row in ipairs(pending) do
      local d, derr = self.store:delete(TABLE, { source_key = row.source_key, file_key = row.file_key })
      if not d then error(derr, 0) end
      local i, ierr = self.store:insert(TABLE, row)
      if not i then error(ierr, 0) end
    end
  end)
  if not ok then
    self.ctx.log:warning("incremental: cannot keep %d file profiles in %s: %s", #pending, self.store.name, tostring(err))
  end
  return ok
end

--- Ends the source: flushes, and when the listing was complete drops the
-- kept files it no longer lists. Returns the summary for the source model.
function Inc:finish(listing_complete)
  self:flush()
  if listing_complete then
    local gone = {}
    for key in pairs(self.kept) do if not self.seen[key] then gone[#gone + 1] = key end end
    table.sort(gone)
    if #gone > 0 then
      local ok, err = self.store:transaction(function()
        for _, key in ipairs(gone) do
          local d, derr = self.store:delete(TABLE, { source_key = self.source_key, file_key = key })
          if not d then error(derr, 0) end
        end
      end)
      if ok then self.stats.files_removed = #gone
      else self.ctx.log:warning("incremental: cannot drop %d removed files' profiles: %s", #gone, tostring(err)) end
    end
  end
  return self.stats
end

return M
