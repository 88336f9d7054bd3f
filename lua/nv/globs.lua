-- nv.globs: the include/exclude glob lists every source kind takes, in one
-- place. A glob has `*` (any run of characters) and `?` (one character);
-- everything else stands for itself.
--
--   globs.list_of(v)            -> {glob…}: "a, b" or an array (nil/json.null: {})
--   globs.pattern(glob)         -> an anchored Lua pattern matching the whole name
--   globs.like(glob)            -> a LIKE pattern with backslash escapes (ESCAPE '\')
--   globs.matches(list, name)   -> true when any glob of list matches the whole name
--   globs.keep(name, include, exclude) -> matched by include (or include empty)
--                                         and by no exclude glob
--   globs.path_matches(list, rel) -> object-store paths: fnmatch on the path,
--                                    then on its base name (nv.objstore.glob)
--   globs.hidden(rel)           -> true when a segment of rel starts with . or _
local M = {}

--- A list option: "a, b" (comma-separated, trimmed) or an array; nil and
-- json.null are the empty list.
function M.list_of(v)
  if v == nil or v == require("nv.json").null then return {} end
  if type(v) == "string" then
    local out = {}
    for p in v:gmatch("[^,]+") do
      local s = p:match("^%s*(.-)%s*$")
      if s ~= "" then out[#out + 1] = s end
    end
    return out
  end
  return v
end

--- glob -> an anchored Lua pattern.
function M.pattern(glob)
  return "^" .. tostring(glob):gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0"):gsub("%*", ".*"):gsub("%?", ".") .. "$"
end

--- glob -> LIKE pattern: %, _ and \ escaped with a backslash, * -> %, ? -> _.
function M.like(glob)
  return (tostring(glob):gsub("[\\%%_]", "\\%0"):gsub("%*", "%%"):gsub("%?", "_"))
end

--- Whether any glob of list matches the whole name.
function M.matches(list, name)
  for _, g in ipairs(list or {}) do
    if name:match(M.pattern(g)) then return true end
  end
  return false
end

--- An include list (empty: everything) and an exclude list.
function M.keep(name, include, exclude)
  if include and #include > 0 and not M.matches(include, name) then return false end
  return not M.matches(exclude, name)
end

--- Object-store paths: any glob matching the path (fnmatch, / not crossed
-- by *), the whole path, or its base name.
function M.path_matches(list, rel)
  local objstore = require "nv.objstore"
  for _, g in ipairs(list or {}) do
    if objstore.glob(g, rel) then return true end
  end
  return false
end

--- Whether a segment of a relative path is hidden (starts with . or _).
function M.hidden(rel)
  for seg in rel:gmatch("[^/]+") do
    if seg:match("^[._]") then return true end
  end
  return false
end

return M
