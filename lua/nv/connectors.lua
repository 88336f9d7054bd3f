-- nv.connectors: the one registry of source kinds. Every kind is a Lua
-- module `connectors/<name>.lua` under one of the roots (nv.host.roots:
-- NVLUA_PATH entries first, then nvlua's own tree), implementing the
-- contract in connectors/README.md:
--   name, source_types = {alias…}, schemes = {url scheme…}, match(src)?,
--   asset_types = {…}, test_connection(src, opts) -> true, info | nil, msg, code
--   and tables(ctx, src, opts) (file-like) or extract(ctx, src, opts, model).
-- A tenant adds a kind by dropping a module into a root's connectors/
-- folder: no recompiling, no core file touched. The registry is also the
-- one list of `source_type` values (plus the file-format names the
-- readers force, which work with any file-like kind); nv.sourcetypes,
-- config validation, --help, the job server and the unknown-type error
-- all ask it.
local M = {}

-- file-format names a source_type may give: the reader forced for every
-- file of a file-like source (local, S3, Azure) — each reader's name and
-- aliases (nv.readers, host/readers/readers.c), and delta, whose files
-- are Parquet
M.formats = { delta = "parquet" }
for _, r in ipairs(require("nv.readers").list()) do
  M.formats[r.name] = r.name
  for _, a in ipairs(r.aliases) do M.formats[a] = r.name end
end
-- source_type values that mean "tell from the path"
M.auto = { auto = true, file = true, ["local"] = true }

local cache = {}     -- root list identity -> {by_name = {}, list = {}, errors = {}}

local function host_info()
  local ok, host = pcall(require, "nv.host")
  return ok and host or {}
end

-- True while a sandbox exists in this process (`nvlua --sandbox`, every job
-- of the job server): tenant connector modules are then not loaded at all
-- (their top-level code would run with the trusted library's privileges).
-- The job server sets refuse_tenants for its own process: it validates
-- payloads for jobs that run sandboxed.
local refuse_tenants = false
local function sandboxed()
  if refuse_tenants then return true end
  local sb = package.loaded["nv.sandbox"]
  return type(sb) == "table" and type(sb.active) == "function" and sb.active() or false
end

--- From now on this process loads no tenant connector module, as in a
-- sandbox (the job server, whose jobs all run sandboxed).
function M.refuse_tenants() refuse_tenants = true end

--- Whether this Lua state refuses tenant connector modules (a sandbox is
-- active, or refuse_tenants was called). Worker threads have states of
-- their own: whoever starts them passes this on (nv.extractworker).
function M.refusing() return sandboxed() end

local function is_list(v)
  if type(v) ~= "table" then return false end
  for _, x in ipairs(v) do if type(x) ~= "string" then return false end end
  return true
end

--- Checks a loaded connector module against the contract: true | nil, msg.
function M.validate(c, where)
  local function bad(msg) return nil, string.format("connector %s: %s", where, msg) end
  if type(c) ~= "table" then return bad("the module must return a table") end
  if type(c.name) ~= "string" or not c.name:match("^[%a_][%w_]*$") then
    return bad("'name' must be an identifier")
  end
  for _, k in ipairs({ "source_types", "schemes", "asset_types" }) do
    if c[k] ~= nil and not is_list(c[k]) then return bad(string.format("'%s' must be a list of strings", k)) end
  end
  if type(c.test_connection) ~= "function" then return bad("'test_connection' must be a function") end
  local tables, extract = type(c.tables) == "function", type(c.extract) == "function"
  if tables == extract then return bad("exactly one of 'tables' (file-like) and 'extract' (catalog) is required") end
  if c.match ~= nil and type(c.match) ~= "function" then return bad("'match' must be a function") end
  return true
end

local function scan()
  local host = host_info()
  local rs = host.roots or {}
  local sandbox = sandboxed()
  local key = table.concat(rs, "\0") .. (sandbox and "\0sandbox" or "")
  if cache[key] then return cache[key] end
  local reg = { by_name = {}, list = {}, errors = {}, aliases = {}, schemes = {}, refused = {} }
  local sys = require "nv.sys"
  for _, root in ipairs(rs) do
    local dir = root .. "/connectors"
    local names = sys.listdir and sys.listdir(dir) or {}
    table.sort(names)
    local origin = root == host.root and "builtin" or "tenant"
    for _, file in ipairs(names) do
      local name = file:match("^([%a_][%w_]*)%.lua$")
      local path = name and (dir .. "/" .. file)
      if name and not reg.by_name[name] and not reg.refused[name] and sandbox and origin == "tenant" then
        reg.refused[name] = string.format("sandbox: tenant connector %s is not allowed", path)
        reg.errors[#reg.errors + 1] = reg.refused[name]
      elseif name and not reg.by_name[name] and not reg.refused[name] then -- an earlier root overrides a later one
        local chunk, lerr = loadfile(path, "t")
        local ok, c = false, lerr
        if chunk then ok, c = pcall(chunk, name) end
        local valid, verr
        if ok then
          valid, verr = M.validate(c, path)
        else -- Lua's message starts with the file already ("path:1: …")
          local msg = tostring(c)
          verr = msg:sub(1, #path) == path and ("connector " .. msg) or string.format("connector %s: %s", path, msg)
        end
        if valid and c.name ~= name then valid, verr = nil, string.format("connector %s: its name is '%s'", path, c.name) end
        if valid then
          c.path, c.origin = path, origin
          reg.by_name[name] = c
          reg.list[#reg.list + 1] = c
        else
          reg.errors[#reg.errors + 1] = verr
        end
      end
    end
  end
  -- who answers to a name: a connector's own name first, then aliases and
  -- schemes in root order (NVLUA_PATH roots before nvlua's own tree, as
  -- for whole modules); a name already taken, or a format name, is
  -- reported, never silently shadowed
  for _, c in ipairs(reg.list) do
    reg.aliases[c.name] = c
    if M.formats[c.name] or M.auto[c.name] then
      reg.errors[#reg.errors + 1] = string.format("connector %s: its name '%s' is a format name: only its "
        .. "schemes and other source types reach it", c.path, c.name)
    end
  end
  local function claim(t, what, key, c)
    key = key:lower()
    local owner = t[key]
    if owner == c then return end
    if what == "source type" and (M.formats[key] or M.auto[key]) then
      reg.errors[#reg.errors + 1] = string.format("connector %s: %s '%s' is a format name; ignored", c.path, what, key)
    elseif owner then
      reg.errors[#reg.errors + 1] = string.format("connector %s: %s '%s' belongs to connector %s; ignored",
        c.path, what, key, owner.name)
    else
      t[key] = c
    end
  end
  for _, c in ipairs(reg.list) do
    for _, a in ipairs(c.source_types or {}) do claim(reg.aliases, "source type", a, c) end
  end
  for _, c in ipairs(reg.list) do
    for _, sch in ipairs(c.schemes or {}) do claim(reg.schemes, "scheme", sch, c) end
  end
  table.sort(reg.list, function(a, b) return a.name < b.name end)
  cache[key] = reg
  return reg
end

--- Every connector, sorted by name. Each carries `path` (the module file)
-- and `origin`: "builtin" (nvlua's own tree) or "tenant" (an NVLUA_PATH root).
function M.list() return scan().list end

--- The connector of that name | nil.
function M.get(name) return scan().by_name[name] end

--- Modules found under the roots' connectors/ folders that could not be
-- loaded or break the contract (messages).
function M.load_errors() return scan().errors end

--- The connector owning a source_type alias | nil.
function M.for_type(source_type)
  if type(source_type) ~= "string" then return nil end
  return scan().aliases[source_type:lower()]
end

--- Every source_type value a job accepts, sorted: the connectors' names
-- and aliases, the format names, and the "tell from the path" names.
function M.type_names()
  local seen, out = {}, {}
  local function add(n) if not seen[n] then seen[n] = true; out[#out + 1] = n end end
  for n in pairs(M.auto) do add(n) end
  for n in pairs(M.formats) do add(n) end
  for a in pairs(scan().aliases) do add(a) end
  table.sort(out)
  return out
end

--- Checks a source_type value: the normalized name (lower case) | nil,
-- message naming the known types and the nearest one.
function M.check(value, what)
  what = what or "source_type"
  if type(value) ~= "string" then return nil, string.format("%s must be a string", what), "usage" end
  local name = value:lower()
  local reg = scan()
  if M.auto[name] or M.formats[name] or reg.aliases[name] then return name end
  if reg.refused[name] then return nil, reg.refused[name], "usage" end
  local names = M.type_names()
  local near = require("nv.suggest").nearest(name, names)
  return nil, string.format("unknown %s '%s'%s; known types: %s", what, value,
    near and (" (did you mean " .. near .. "?)") or "", table.concat(names, ", ")), "usage"
end

--- The connector serving a source {data_source_path, source_type}:
-- connector, format? (the reader a format-named source_type forces) |
-- nil, message, "usage". Order: an explicit kind alias; a connector's
-- match(src); the path's URL scheme; a plain path is the "files" kind.
function M.resolve(src)
  local reg = scan()
  local path = type(src.data_source_path) == "string" and src.data_source_path or ""
  local st = type(src.source_type) == "string" and src.source_type:lower() or "auto"
  local format = M.formats[st]
  if not format and not M.auto[st] then
    local c = reg.aliases[st]
    if c then return c end
    local _, msg, code = M.check(st)
    return nil, msg, code
  end
  for _, c in ipairs(reg.list) do
    if c.match and c.match(src) then return c, format end
  end
  local scheme = path:match("^(%a[%w+.-]*):")
  if scheme and reg.refused[scheme:lower()] then return nil, reg.refused[scheme:lower()], "usage" end
  if scheme and path:match("^%a[%w+.-]*://") or (scheme and reg.schemes[scheme:lower()]) then
    local c = reg.schemes[scheme:lower()]
    if c then return c, format end
    if scheme:lower() ~= "file" then
      local refused = {}
      for _, why in pairs(reg.refused) do refused[#refused + 1] = why end
      table.sort(refused)
      return nil, string.format("%s: %s sources are not supported (known schemes: %s)%s",
        require("nv.log").mask(path), scheme, table.concat(M.scheme_names(), ", "),
        #refused > 0 and ("; " .. table.concat(refused, "; ")) or ""), "usage"
    end
  end
  local files = reg.by_name.files
  if not files then return nil, reg.refused.files or "no 'files' connector is installed", "usage" end
  return files, format
end

--- Every URL scheme a connector claims, sorted.
function M.scheme_names()
  local out = {}
  for s in pairs(scan().schemes) do out[#out + 1] = s end
  table.sort(out)
  return out
end

--- Forgets what was scanned (a test that adds a connector to a root).
function M.reload() cache = {} end

return M
