-- nv.serial: plain data (tables of strings, numbers, booleans, nv.json
-- arrays and json.null) to Lua literal text and back — how results cross
-- from one worker's lua_State to another's. Unlike JSON it keeps integers
-- apart from floats and empty arrays apart from empty objects. Loading
-- runs in an empty environment (only the array/null markers exist).
local json = require "nv.json"

local M = {}

local function emit(v, out, depth)
  local t = type(v)
  if v == nil or v == json.null then
    out[#out + 1] = "N"
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif t == "number" then
    if math.type(v) == "integer" then
      out[#out + 1] = string.format("%d", v)
    elseif v ~= v then
      out[#out + 1] = "(0/0)"
    elseif v == math.huge or v == -math.huge then
      out[#out + 1] = v > 0 and "math_huge" or "-math_huge"
    else
      out[#out + 1] = string.format("%.17g", v)
      if not out[#out]:find("[.eEn]") then out[#out] = out[#out] .. ".0" end
    end
  elseif t == "string" then
    out[#out + 1] = string.format("%q", v)
  elseif t == "table" then
    if depth > 200 then error("nv.serial: nesting deeper than 200 levels", 0) end
    local arr = getmetatable(v) == getmetatable(json.array())
    out[#out + 1] = arr and "A{" or "{"
    for k, val in pairs(v) do
      out[#out + 1] = "["
      emit(k, out, depth + 1)
      out[#out + 1] = "]="
      emit(val, out, depth + 1)
      out[#out + 1] = ","
    end
    out[#out + 1] = "}"
  else
    error("nv.serial: cannot serialize a " .. t, 0)
  end
end

function M.dump(v)
  local out = { "return " }
  emit(v, out, 0)
  return table.concat(out)
end

function M.load(text)
  local env = { A = json.array, N = json.null, math_huge = math.huge }
  local f, err = load(text, "=serial", "t", env)
  if not f then return nil, err end
  local ok, v = pcall(f)
  if not ok then return nil, v end
  return v
end

return M
