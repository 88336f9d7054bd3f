-- nv.remote: object-store sources (S3, Azure Blob) turned into local files
-- the extraction code reads like nv.filesource's listing.
--
--   remote.is_remote(path, source_type) -> "s3" | "azure" | nil
--   remote.materialize(ctx, src, opts) -> files, errors, cleanup | nil, message
--     src  = {source_id, data_source_path, source_type}
--     ctx.config.aws / ctx.config.azure hold the credentials (nv.config keys)
--     opts = {max_bytes = sample budget per object (a ranged GET of that many
--             bytes; nil = whole objects), include = {globs}, exclude = {globs},
--             include_hidden = bool, tmpdir = dir (default $TMPDIR or /tmp),
--             retries = n, timeout = s, page_size = n (listing page size)}
--     files = {{path = local temp file, rel = key below the prefix, name =
--              basename, size = the object's size (listing), mtime = last
--              modified (epoch), etag =, url = masked URL of the object,
--              key = object key, partial = true when only a prefix was
--              fetched}, …} in key order
--     errors = {"<masked object URL>: <cause>", …} (one object failing never
--              stops the others); cleanup() removes the temp files (idempotent)
--   A listing failure returns nil, "<masked source URL>: <cause>".
-- Downloads stream to disk (nv.http output=) and never write more than the
-- object's listed size or the budget; a prefix of an uncompressed object is
-- cut after its last line break. Hidden and `_`-prefixed path segments
-- (_SUCCESS, _delta_log, .tmp) are skipped as in the local listing.
local s3 = require "nv.s3"
local azure = require "nv.azure"
local objstore = require "nv.objstore"
local sys = require "nv.sys"
local log = require "nv.log"

local M = {}

local s3_types = { aws_s3 = true, s3 = true }
local azure_types = { azure_blob = true, azure = true, adls = true, adls_gen2 = true, azure_datalake = true }
local azure_schemes = { abfs = true, abfss = true, wasb = true, wasbs = true }

function M.is_remote(path, source_type)
  if type(path) ~= "string" then return nil end
  local st = source_type and tostring(source_type):lower() or ""
  if s3_types[st] or path:match("^s3[an]?://") then return "s3" end
  if azure_types[st] then return "azure" end
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

local function hidden(rel)
  for seg in rel:gmatch("[^/]+") do
    if seg:match("^[._]") then return true end
  end
  return false
end

local function matches(globs, rel)
  for _, g in ipairs(globs or {}) do
    if objstore.glob(g, rel) then return true end
  end
  return false
end

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
    if keep then
      local name = rel:match("([^/]+)$")
      local lp = dir .. "/" .. local_name(#made + 1, name)
      made[#made + 1] = lp
      local size = e.size or 0
      local f = { path = lp, rel = rel, name = name, size = size, mtime = e.last_modified or 0, etag = e.etag,
                  url = store.url(e.key), key = e.key, partial = false }
      local got, gerr
      if size == 0 then
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
      if got then
        files[#files + 1] = f
      else
        errors[#errors + 1] = tostring(gerr)
        os.remove(lp)
      end
    end
  end
  return files, errors, cleanup
end

return M
