-- nv.remote: object-store sources (S3, Azure Blob) turned into local files
-- the extraction code reads like nv.filesource's listing.
--
--   remote.is_remote(path, source_type) -> "s3" | "azure" | nil
--   remote.materialize(ctx, src, opts) -> files, errors, cleanup, deltas | nil, message
--     src  = {source_id, data_source_path, source_type}
--     ctx.config.aws / ctx.config.azure hold the credentials (nv.config keys)
--     opts = {max_bytes = sample budget per object (a ranged GET of that many
--             bytes; nil = whole objects), include = {globs}, exclude = {globs},
--             include_hidden = bool, tmpdir = dir (default $TMPDIR or /tmp),
--             retries = n, timeout = s, page_size = n (listing page size),
--             parquet_footer_only = bool, footer_guess = bytes (nv.pqfooter),
--             delta = false to not read _delta_log, lazy = true: fetch
--             nothing yet — each file gets fetch_now() -> true | nil, msg
--             and release() (removes its copy), so a caller holds one
--             object on disk at a time)
--     files = {{path = local temp file, rel = key below the prefix, name =
--              basename, size = the object's size (listing), mtime = last
--              modified (epoch), etag =, url = masked URL of the object,
--              key = object key, partial = true when only a prefix was
--              fetched, ranges/fetch = a Parquet object read footer-first
--              (see below)}, …} in key order
--     errors = {"<masked object URL>: <cause>", …} (one object failing never
--              stops the others); cleanup() removes the temp files (idempotent)
--   A listing failure returns nil, "<masked source URL>: <cause>".
-- Downloads stream to disk (nv.http output=) and never write more than the
-- object's listed size or the budget; a prefix of an uncompressed object is
-- cut after its last line break. Hidden and `_`-prefixed path segments
-- (_SUCCESS, _delta_log, .tmp) are skipped as in the local listing.
-- An object whose reader reads it from byte ranges (nv.filereader.ranged:
-- Parquet, by name or source type) larger than the budget — or than the
-- footer guess with parquet_footer_only — is read footer-first (for
-- Parquet nv.pqfooter): at most 2 ranged GETs for the footer, one
-- more for the leading row groups that fit the budget; the file then has
-- ranges = {{offset, length}, …} (open it with nv.parquet's {size, ranges})
-- and fetch = {requests, bytes, row_groups}. A prefix holding _delta_log/
-- is a Delta table (nv.delta): its log is fetched and replayed first, and
-- only live data files are downloaded; the others are returned unfetched
-- with delta_stale = "removed" | "untracked" | "error" and no path.
-- deltas = {[rel prefix] = snapshot | {error = msg}}.
local s3 = require "nv.s3"
local azure = require "nv.azure"
local objstore = require "nv.objstore"
local sys = require "nv.sys"
local log = require "nv.log"
local delta = require "nv.delta"
local filereader = require "nv.filereader"

local M = {}

local azure_schemes = { abfs = true, abfss = true, wasb = true, wasbs = true }

--- "s3" | "azure" | nil: the object store a path (or a source_type that
-- names the s3 or azure connector, nv.connectors) is on.
function M.is_remote(path, source_type)
  if type(path) ~= "string" then return nil end
  local c = source_type and require("nv.connectors").for_type(tostring(source_type))
  if (c and c.name == "s3") or path:match("^s3[an]?://") then return "s3" end
  if c and c.name == "azure" then return "azure" end
  local scheme = path:match("^(%a+)://")
  if scheme and azure_schemes[scheme:lower()] then return "azure" end
  if path:match("^https?://[%w]+%.blob%.core%.[^/]+") or path:match("^https?://[%w]+%.dfs%.core%.[^/]+") then
    return "azure"
  end
  return nil
end

local function merged(base, extra)
  local t = {}
  for k, v in pairs(base or {}) do t[k] = v end
  for k, v in pairs(extra) do t[k] = v end
  return t
end

-- A store adapter: {prefix, list(), get(key, o), url(key), where}
local function open_s3(path, cfg, opts)
  local loc, err = s3.parse_url(path)
  if not loc then return nil, err end
  local c = s3.client(merged(cfg.aws, { retries = opts.retries, timeout = opts.timeout }))
  return {
    prefix = loc.prefix,
    where = "s3://" .. loc.bucket .. "/" .. loc.prefix,
    list = function(prefix) return c:list(loc.bucket, prefix, { max_keys = opts.page_size }) end,
    get = function(key, o) return c:get(loc.bucket, key, o) end,
    url = function(key) return "s3://" .. loc.bucket .. "/" .. key end,
  }
end

local function open_azure(path, cfg, opts)
  local loc, err = azure.parse_url(path)
  if not loc then return nil, err end
  local c, cerr = azure.client(loc, merged(cfg.azure, { retries = opts.retries, timeout = opts.timeout }))
  if not c then return nil, log.mask(path) .. ": " .. cerr end
  return {
    prefix = loc.prefix,
    where = c:display(loc.prefix),
    list = function(prefix) return c:list(prefix, { max_results = opts.page_size }) end,
    get = function(key, o) return c:get(key, o) end,
    url = function(key) return c:display(key) end,
  }
end

local hidden, matches = require("nv.globs").hidden, require("nv.globs").path_matches

-- key -> rel below prefix, or nil when outside it. A prefix without a
-- trailing '/' names either one object or a "directory".
local function relative(key, prefix)
  if prefix == "" then return key end
  if prefix:sub(-1) == "/" then
    return key:sub(1, #prefix) == prefix and key:sub(#prefix + 1) or nil
  end
  if key == prefix then return key:match("([^/]+)$") end
  if key:sub(1, #prefix + 1) == prefix .. "/" then return key:sub(#prefix + 2) end
  return nil
end

local function local_name(i, name)
  return string.format("%05d-%s", i, (name:gsub("[^%w%.%-_=]", "_")))
end

local function write_empty(path)
  local f, err = io.open(path, "wb")
  if not f then return nil, err end
  return f:close()
end

-- ranged GETs of one object into memory, bodies capped at the range's size
local function ranged_get(store, e)
  return function(first, last)
    local resp, err = store.get(e.key, { range = string.format("bytes=%d-%d", first, last), etag = e.etag,
                                         max_body = last - first + 1 })
    if not resp then return nil, err end
    return resp.body or ""
  end
end

-- Delta tables under the prefix: their logs fetched into dir and replayed.
local function load_deltas(store, entries, dir, made)
  local rels, keys = {}, {}
  for _, e in ipairs(entries) do
    local rel = relative(e.key, store.prefix)
    if rel and rel ~= "" then
      rels[#rels + 1] = rel
      keys[rel] = e
    end
  end
  local out = {}
  for _, p in ipairs(delta.roots_of(rels)) do
    local logrel = (p ~= "" and (p .. "/") or "") .. delta.LOG .. "/"
    local names = {}
    for _, rel in ipairs(rels) do
      if rel:sub(1, #logrel) == logrel and not rel:find("/", #logrel + 1, true) then
        names[#names + 1] = rel:sub(#logrel + 1)
      end
    end
    if not delta.is_log(names) then goto next_root end -- a stray _delta_log directory
    local e0 = keys[logrel .. names[1]]
    local where = store.url(e0.key):gsub("/[^/]*$", "")
    local prev -- each log file is read in full before the next is fetched
    local lg = delta.log_remote({ where = where, names = names, fetch = function(name, max_bytes)
      if prev then os.remove(prev) end
      local e = keys[logrel .. name]
      if e.size and e.size > max_bytes then
        return nil, string.format("%s/%s: %d bytes, more than the %d read", where, name, e.size, max_bytes)
      end
      local lp = dir .. "/" .. local_name(#made + 1, name)
      made[#made + 1] = lp
      prev = lp
      if (e.size or 0) == 0 then
        local ok, werr = write_empty(lp)
        if not ok then return nil, werr end
        return lp
      end
      local got, gerr = store.get(e.key, { output = lp, max_body = max_bytes, etag = e.etag })
      if not got then return nil, gerr end
      return lp
    end })
    do
      local first = #made + 1
      local snap, err = delta.snapshot(lg)
      out[p] = snap or { error = err }
      for i = first, #made do os.remove(made[i]) end -- the log is read: its copies go now
    end
    ::next_root::
  end
  return out
end

-- Downloads object e into f.path (f.partial/ranges/row_groups/fetch set
-- as described above): true | nil, message naming the object.
local function fetch(store, src, opts, e, f, snap)
  local lp, size, rel = f.path, f.size, f.rel
  local got, gerr
  -- the reader says whether it reads this object from byte ranges (a
  -- Parquet footer first); this layer only moves the bytes
  local ranged = size > 0 and filereader.ranged(rel, snap and "delta" or src.source_type)
  local guess = ranged and (opts.footer_guess or ranged.guess)
  local footer_first = ranged
    and ((opts.parquet_footer_only and size > guess) or (opts.max_bytes and size > opts.max_bytes))
  if footer_first then
    local info, ferr = ranged.fetch(ranged_get(store, e), size, lp,
      { guess = guess, budget = not opts.parquet_footer_only and opts.max_bytes or nil })
    if info then
      got = true
      f.partial, f.ranges, f.row_groups = true, info.ranges, info.row_groups
      f.fetch = { requests = info.requests, bytes = info.bytes, row_groups = info.row_groups,
                  footer_length = info.footer_length }
    else -- transport errors already name the object
      local url = store.url(e.key)
      gerr = tostring(ferr)
      if gerr:sub(1, #url + 2) ~= url .. ": " then gerr = url .. ": " .. gerr end
    end
  elseif size == 0 then
    got, gerr = write_empty(lp)
  else
    local want = size
    if opts.max_bytes and opts.max_bytes < size then want = math.max(1, math.floor(opts.max_bytes)) end
    got, gerr = store.get(e.key, { output = lp, max_body = want, truncate = true, etag = e.etag,
                                   range = want < size and string.format("bytes=0-%d", want - 1) or nil })
    if got then
      f.partial = want < size or got.truncated or (got.bytes or size) < size
      if f.partial then
        local fmt, comp = require("nv.fs").detect(lp)
        if fmt and comp == "none" then objstore.trim_partial_line(lp) end
      end
    end
  end
  if not got then return nil, gerr end
  return true
end

function M.materialize(ctx, src, opts)
  opts = opts or {}
  local cfg = (ctx and ctx.config) or {}
  local path = src.data_source_path
  local kind = M.is_remote(path, src.source_type)
  if not kind then return nil, log.mask(tostring(path)) .. ": not an S3 or Azure Blob source" end
  local store, err = (kind == "s3" and open_s3 or open_azure)(path, cfg, opts)
  if not store then return nil, err end
  local entries, lerr = store.list(store.prefix)
  if not entries then return nil, lerr end

  local dir = (opts.tmpdir or os.getenv("TMPDIR") or "/tmp"):gsub("/+$", "") .. "/nvlua-remote-" .. sys.random_hex(8)
  local ok, derr = sys.mkdirs(dir)
  if not ok then return nil, store.where .. ": cannot create a temporary directory: " .. tostring(derr) end

  local files, errors, made = {}, {}, {}
  local deltas = opts.delta ~= false and load_deltas(store, entries, dir, made) or {}
  local roots = {}
  for p in pairs(deltas) do roots[#roots + 1] = p end
  table.sort(roots, function(a, b) return #a < #b or (#a == #b and a < b) end)
  local closed = false
  local function cleanup()
    if closed then return end
    closed = true
    for _, p in ipairs(made) do os.remove(p) end
    os.remove(dir)
  end

  for _, e in ipairs(entries) do
    local rel = relative(e.key, store.prefix)
    local keep = rel and rel ~= "" and e.key:sub(-1) ~= "/"
      and (opts.include_hidden or not hidden(rel))
      and (not opts.include or #opts.include == 0 or matches(opts.include, rel))
      and not matches(opts.exclude, rel)
    local droot, drel
    if keep and #roots > 0 then droot, drel = delta.claim(roots, rel) end
    local snap = droot and deltas[droot]
    local stale = snap and (snap.error and "error" or (not snap.live[drel] and (snap.removed[drel] and "removed"
      or "untracked")))
    if keep and stale then
      files[#files + 1] = { rel = rel, name = rel:match("([^/]+)$"), size = e.size or 0, mtime = e.last_modified or 0,
                            etag = e.etag, url = store.url(e.key), key = e.key, delta_stale = stale }
    elseif keep then
      local name = rel:match("([^/]+)$")
      local lp = dir .. "/" .. local_name(#made + 1, name)
      made[#made + 1] = lp
      local f = { path = lp, rel = rel, name = name, size = e.size or 0, mtime = e.last_modified or 0, etag = e.etag,
                  url = store.url(e.key), key = e.key, partial = false }
      local function fetch_now() return fetch(store, src, opts, e, f, snap) end
      if opts.lazy then
        f.fetch_now, f.release = fetch_now, function() os.remove(lp) end
        files[#files + 1] = f
      else
        local got, gerr = fetch_now()
        if got then
          files[#files + 1] = f
        else
          errors[#errors + 1] = tostring(gerr)
          os.remove(lp)
        end
      end
    end
  end
  return files, errors, cleanup, deltas
end

-- a bounded prefix of each object is read unless full_profile
M.sample_bytes = 16 * 1024 * 1024

--- tables(ctx, src, opts) of the object-store connectors (connectors/s3.lua,
-- connectors/azure.lua; contract in connectors/README.md): the objects
-- listed lazily (each fetched just before it is read and its copy removed
-- right after, so the disk holds one object at a time), grouped into
-- tables | nil, message, code.
function M.tables(ctx, src, opts)
  local budget = opts.remote_max_bytes or (not opts.full_profile and M.sample_bytes or nil)
  local files, lerr, cleanup, deltas = M.materialize(ctx, src, { max_bytes = budget, include = opts.include,
    exclude = opts.exclude, include_hidden = opts.include_hidden, parquet_footer_only = opts.parquet_footer_only,
    footer_guess = opts.footer_guess, lazy = true, tmpdir = opts.remote_tmpdir })
  if cleanup then
    ctx.cleanups = ctx.cleanups or {}
    ctx.cleanups[#ctx.cleanups + 1] = cleanup
  end
  if not files then return nil, "data source " .. log.mask(src.data_source_path) .. ": " .. tostring(lerr), "io" end
  local out = require("nv.filetables").listing(src, opts, files, require("nv.filesource").local_path(src.data_source_path),
    deltas, lerr)
  out.connection_info = { kind = M.is_remote(src.data_source_path, src.source_type), path = log.mask(src.data_source_path) }
  return out
end

--- test_connection of the object-store connectors (opts: the run's
-- configuration, its aws/azure sections): lists the prefix and says how
-- many objects it holds | nil, message, code.
function M.test_connection(src, opts)
  local path = src.data_source_path
  local kind = M.is_remote(path, src.source_type)
  if not kind then return nil, log.mask(tostring(path)) .. ": not an S3 or Azure Blob source", "usage" end
  local store, err = (kind == "s3" and open_s3 or open_azure)(path, opts or {}, opts or {})
  if not store then return nil, log.mask(tostring(err)), "usage" end
  local entries, lerr = store.list(store.prefix)
  if not entries then return nil, log.mask(tostring(lerr)), "connect" end
  local bytes = 0
  for _, e in ipairs(entries) do bytes = bytes + (e.size or 0) end
  return true, { kind = kind, where = log.mask(store.where or path), objects = #entries, total_size_bytes = bytes }
end

return M
