-- nv.filesource: a file-based data source as tables. Lists files (nv.fs),
-- groups them the way AWS Glue crawlers do — Hive-style partition
-- directories (…/year=2024/month=01/part-*.csv) and Spark part-file
-- directories become ONE table with partition columns — and detects each
-- table's format from content (magic bytes, sniffing), honouring an
-- explicit source_type.
local fs = require "nv.fs"

local M = {}

-- source_type values that name a file format (nv.connectors)
M.explicit_formats = require("nv.connectors").formats

--- The local path a file source names: file:// stripped, and dbfs:/x
-- (Databricks' DBFS URI) read through the cluster's /dbfs/x mount.
function M.local_path(path)
  local p = path:gsub("^file://", "")
  if p:match("^dbfs:/") then p = "/dbfs/" .. p:gsub("^dbfs:/+", "") end
  return p
end

--- 64-bit FNV-1a of s as 16 hex digits (stable identifiers).
function M.hash(s)
  local h = -3750763034362895579 -- 14695981039346656037 as a signed 64-bit integer
  for i = 1, #s do
    h = h ~ s:byte(i)
    h = h * 1099511628211
  end
  return string.format("%016x", h)
end

local function split(rel)
  local parts = {}
  for seg in rel:gmatch("[^/]+") do parts[#parts + 1] = seg end
  return parts
end

local function basename(path)
  return path:match("([^/]+)/*$") or path
end

--- Groups listed files into tables.
-- Returns { {key=, name=, files={…}, partition_columns={…}, partitions={…}}, … }
-- in listing order.
function M.group(files, root)
  local tables, by_key = {}, {}
  local root_name = basename(root)
  local function table_for(key, name)
    local t = by_key[key]
    if not t then
      t = { key = key, name = name, files = {}, partition_columns = {}, partitions = {} }
      by_key[key] = t
      tables[#tables + 1] = t
    end
    return t
  end
  for _, f in ipairs(files) do
    local segs = split(f.rel)
    local dirs = #segs - 1
    local first_part
    for i = 1, dirs do
      if segs[i]:match("^[^=]+=.*$") then first_part = i break end
    end
    local t
    if first_part then
      local prefix = table.concat(segs, "/", 1, first_part - 1)
      t = table_for("dir:" .. prefix, prefix ~= "" and basename(prefix) or root_name)
      local values = {}
      for i = first_part, dirs do
        local k, v = segs[i]:match("^([^=]+)=(.*)$")
        if k then
          values[k] = v
          if not t.partition_columns[k] then
            t.partition_columns[k] = true
            t.partition_columns[#t.partition_columns + 1] = k
          end
        end
      end
      f.partition = values
    elseif f.name:match("^part%-") then
      local prefix = table.concat(segs, "/", 1, dirs)
      t = table_for("dir:" .. prefix, prefix ~= "" and basename(prefix) or root_name)
    else
      t = table_for("file:" .. f.rel, f.name)
    end
    t.files[#t.files + 1] = f
  end
  for _, t in ipairs(tables) do
    local pc = {}
    for _, k in ipairs(t.partition_columns) do pc[#pc + 1] = k end
    t.partition_columns = pc
    t.size_bytes, t.last_modified = 0, nil
    for _, f in ipairs(t.files) do
      t.size_bytes = t.size_bytes + f.size
      if not t.last_modified or f.mtime > t.last_modified then t.last_modified = f.mtime end
    end
  end
  return tables
end

--- Lists a local source. opts: include, exclude (glob lists),
-- include_hidden. Returns files, errors | nil, message naming the path,
-- kind ("notfound", "permission", "unsupported", "io", …), errno.
function M.list(path, opts)
  local files, errors, kind, errno = fs.list(M.local_path(path), opts)
  if not files then return nil, errors, kind, errno end
  return files, errors
end

--- A local file's identity (size, mtime, inode) | nil, msg, kind, errno.
function M.identity(path)
  return fs.identity(path)
end

--- How a file changed between two identities, or nil when it did not:
-- "size A -> B", "replaced (inode A -> B)" or "modified (mtime A -> B)".
function M.changed(before, after)
  if not before then return nil end
  if not after then return "removed" end
  if before.ino ~= after.ino or before.dev ~= after.dev then
    return string.format("replaced (inode %d -> %d)", before.ino, after.ino)
  end
  if before.size ~= after.size then return string.format("size %d -> %d", before.size, after.size) end
  if before.mtime ~= after.mtime then
    return string.format("modified (mtime %.6f -> %.6f)", before.mtime, after.mtime)
  end
  return nil
end

--- The format of a file: the explicit source_type when it names one, else
-- detected from content (nv.fs.detect asks the readers' sniffers, the one
-- detection path). Returns format, compression | nil, msg.
function M.format(file, source_type)
  -- a remote object held as byte ranges (read footer-first): its ranged reader's format
  if file.ranges then return require("nv.filereader").ranged_format(file, source_type), "none" end
  local fmt, comp = fs.detect(file.path)
  if not fmt then return nil, comp end
  local explicit = M.explicit_formats[source_type or ""]
  if explicit and fmt ~= "binary" and fmt ~= "empty" then return explicit, comp end
  return fmt, comp
end

return M
