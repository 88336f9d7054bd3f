-- nv.source: what the jobs share about a data source path before any
-- connector touches it.
local sys = require "nv.sys"

local M = {}

--- The scheme of a path ("s3", "https", "abfss", "file") or nil for a
-- plain local path (/dbfs/… and /Volumes/… are plain paths on a cluster).
function M.scheme(path)
  return path and path:match("^(%a[%w+.-]*)://") or nil
end

--- Checks that a local path exists; remote paths are left to connectors.
-- Returns true or nil, message naming the source.
function M.check_path(path)
  if path == nil then return true end
  local scheme = M.scheme(path)
  if scheme and scheme ~= "file" then return true end
  local local_path = scheme and path:gsub("^file://", "") or path
  local st, err = sys.stat(local_path)
  if not st then return nil, "data source " .. path .. ": " .. err end
  return true
end

return M
