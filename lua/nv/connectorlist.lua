-- nv.connectorlist: `nvlua connectors [--json]`, what the registry
-- (nv.connectors) holds: every connector's kind, aliases (source_type
-- values), URL schemes, asset types, description, and where its module was
-- loaded from (a tenant root of NVLUA_PATH, or nvlua's own tree); modules
-- that could not be loaded are listed after them, on stderr, and the exit
-- status is then 1.
local connectors = require "nv.connectors"
local json = require "nv.json"

local M = {}

--- The registry as rows, sorted by name, and the load errors.
function M.rows()
  local out = json.array()
  for _, c in ipairs(connectors.list()) do
    out[#out + 1] = {
      name = c.name, description = c.description or "",
      source_types = json.array(c.source_types or {}), schemes = json.array(c.schemes or {}),
      asset_types = json.array(c.asset_types or {}),
      kind = c.extract and "catalog" or "file-like", origin = c.origin or "builtin", path = c.path,
    }
  end
  return out, json.array(connectors.load_errors())
end

local function joined(list) return #list > 0 and table.concat(list, ", ") or "-" end

--- The listing `nvlua connectors` prints.
function M.text()
  local rows, errors = M.rows()
  local out = {}
  for _, r in ipairs(rows) do
    out[#out + 1] = string.format("%s (%s, %s) - %s", r.name, r.kind, r.origin, r.description)
    out[#out + 1] = "  source types: " .. joined(r.source_types)
    out[#out + 1] = "  schemes:      " .. joined(r.schemes)
    out[#out + 1] = "  asset types:  " .. joined(r.asset_types)
    out[#out + 1] = "  module:       " .. tostring(r.path)
  end
  local formats = {}
  for name in pairs(connectors.formats) do formats[#formats + 1] = name end
  table.sort(formats)
  out[#out + 1] = "Formats a source_type may force on a file-like source: " .. table.concat(formats, ", ")
  out[#out + 1] = "Tenant connectors: <root>/connectors/<name>.lua under an NVLUA_PATH root (connectors/README.md)."
  return table.concat(out, "\n") .. "\n", errors
end

local USAGE = "usage: nvlua connectors [--json]   the source kinds nvlua can read (the connector registry)\n"

--- `nvlua connectors [--json]`: 0, or 1 when a module could not be loaded, 2 on a bad argument.
function M.main(args)
  args = args or {}
  local as_json = false
  for _, a in ipairs(args) do
    if a == "--json" then
      as_json = true
    elseif a == "--help" or a == "-h" then
      io.stdout:write(USAGE)
      return 0
    else
      io.stderr:write("nvlua: unknown argument '", a, "' for connectors\n", USAGE)
      return 2
    end
  end
  local errors
  if as_json then
    local rows
    rows, errors = M.rows()
    io.stdout:write(json.encode({ connectors = rows, load_errors = errors,
                                  source_types = json.array(connectors.type_names()),
                                  schemes = json.array(connectors.scheme_names()) }), "\n")
  else
    local text
    text, errors = M.text()
    io.stdout:write(text)
  end
  io.stdout:flush()
  for _, e in ipairs(errors) do io.stderr:write("nvlua: ", e, "\n") end
  return #errors > 0 and 1 or 0
end

return M
