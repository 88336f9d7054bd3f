-- connectors/files.lua: local files, and Databricks' /dbfs/… and
-- /Volumes/… paths (plain paths on a cluster). A file-like kind: tables()
-- lists the files under the path and groups them into tables.
local filesource = require "nv.filesource"
local filetables = require "nv.filetables"
local delta = require "nv.delta"
local sys = require "nv.sys"
local log = require "nv.log"

local C = {
  name = "files",
  description = "local files, /dbfs/… and /Volumes/… (CSV, TSV, JSON/NDJSON, Parquet, Delta, xlsx; gzip/zstd/…)",
  source_types = { "files" },
  schemes = { "file", "dbfs" }, -- dbfs:/x is read through the cluster's /dbfs/x mount
  asset_types = { "file", "table", "delta_table", "worksheet", "column" },
}

-- The job's own output inside a local source (its log directory, a
-- SQLite store file), dropped from the listing: a run from inside the
-- source directory must not profile its own log lines as data.
local function drop_own_files(ctx, root, files)
  local own = {}
  if ctx.log_path then
    local logdir = ctx.log_path:match("^(.*)/[^/]+/[^/]+$")
    local real = logdir and sys.realpath(logdir)
    if real then own[#own + 1] = { prefix = real .. "/" } end
  end
  local store = type(ctx.config) == "table" and type(ctx.config.store) == "string"
      and ctx.config.store:match("^sqlite:(.+)$")
  local sreal = store and sys.realpath(store)
  if sreal then own[#own + 1] = { path = sreal } end
  local rroot = #own > 0 and sys.realpath(root)
  if not rroot then return files end
  local inside = false -- only then is each file resolved
  for _, o in ipairs(own) do
    local p = o.prefix or o.path
    if p == rroot or p:sub(1, #rroot + 1) == rroot .. "/" then inside = true end
  end
  if not inside then return files end
  local kept = {}
  for _, f in ipairs(files) do
    local abs = sys.realpath(f.path) or f.path
    local mine = false
    for _, o in ipairs(own) do
      if (o.prefix and abs:sub(1, #o.prefix) == o.prefix) or (o.path and abs == o.path) then mine = true end
    end
    if not mine then kept[#kept + 1] = f end
  end
  return kept
end

function C.test_connection(src)
  local path = src.data_source_path
  if type(path) ~= "string" or path == "" then return nil, "a file source needs a path", "usage" end
  local lp = filesource.local_path(path)
  local st, err, kind, errno = sys.stat(lp)
  if not st then return nil, log.mask(tostring(err)), kind, errno end
  local info = { kind = "files", path = log.mask(path), type = st.type }
  if st.type == "directory" then
    local names, lerr, lkind, lerrno = sys.listdir(lp)
    if not names then return nil, log.mask(tostring(lerr)), lkind, lerrno end
    info.entries = #names
  else
    info.size_bytes = st.size
  end
  return true, info
end

function C.tables(ctx, src, opts)
  local path = src.data_source_path
  local files, lerr, kind, errno = filesource.list(path, { include = opts.include, exclude = opts.exclude,
                                                           include_hidden = opts.include_hidden })
  if not files then return nil, "data source " .. log.mask(path) .. ": " .. tostring(lerr), kind or "io", errno end
  local root = filesource.local_path(path)
  files = drop_own_files(ctx, root, files)
  return filetables.listing(src, opts, files, root, delta.load_local(root, files), lerr)
end

return C
