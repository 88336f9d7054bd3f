-- nv.pretty: readable rendering of Lua values for the REPL.
local M = {}

local function is_ident(s)
  return type(s) == "string" and s:match("^[%a_][%w_]*$") ~= nil
end

local function render(v, indent, seen, out, depth)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = string.format("%q", v)
  elseif t ~= "table" then
    out[#out + 1] = tostring(v)
  elseif seen[v] then
    out[#out + 1] = "<cycle " .. tostring(v) .. ">"
  elseif depth > 8 then
    out[#out + 1] = "{...}"
  elseif next(v) == nil then
    out[#out + 1] = "{}"
  else
    seen[v] = true
    local keys, n = {}, #v
    for k in pairs(v) do
      if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
    end
    table.sort(keys, function(a, b)
      local ta, tb = type(a), type(b)
      if ta ~= tb then return ta < tb end
      if ta == "string" or ta == "number" then return a < b end
      return tostring(a) < tostring(b)
    end)
    local pad = indent .. "  "
    out[#out + 1] = "{\n"
    for i = 1, n do
      out[#out + 1] = pad
      render(v[i], pad, seen, out, depth + 1)
      out[#out + 1] = ",\n"
    end
    for _, k in ipairs(keys) do
      out[#out + 1] = pad
      if is_ident(k) then
        out[#out + 1] = k
      else
        out[#out + 1] = "["
        render(k, pad, seen, out, depth + 1)
        out[#out + 1] = "]"
      end
      out[#out + 1] = " = "
      render(v[k], pad, seen, out, depth + 1)
      out[#out + 1] = ",\n"
    end
    out[#out + 1] = indent .. "}"
    seen[v] = nil
  end
end

--- Returns v rendered as text: tables expanded, strings quoted.
function M.format(v)
  local out = {}
  render(v, "", {}, out, 0)
  return table.concat(out)
end

--- Prints each argument on its own line (the REPL's result printer).
function M.print(...)
  for i = 1, select("#", ...) do
    io.stdout:write(M.format((select(i, ...))), "\n")
  end
  io.stdout:flush()
end

return M
