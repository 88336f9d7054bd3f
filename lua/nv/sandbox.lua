-- nv.sandbox: the restricted environment for job scripts the platform
-- ships (`nvlua --sandbox job.lua`, `nvlua --sandbox run …`, the job
-- server). The script gets a fresh global table:
--  * no os.execute, io.popen, os.remove, os.rename, os.exit, os.getenv,
--    os.tmpname, debug, package, collectgarbage, string.dump;
--  * load/loadfile/dofile accept text chunks only (no bytecode);
--  * io.open/io.lines/loadfile only for files under the allowed roots (the
--    data source path, NVLUA_SANDBOX_ROOTS, config sandbox_roots), checked
--    after symlinks are resolved;
--  * require returns nv.* modules built from nv.capabilities: only the
--    declared functions, each with its arguments checked (paths under the
--    roots, store URLs, HTTP hosts, the run's ctx), objects as handles;
--  * the strings' method table is a copy without dump (for host code too:
--    host code calls string.dump by name, never as a method);
--  * print and io.write go to stderr (stdout holds the job's JSON);
--  * CPU-time, wall-clock and memory limits (NVLUA_SANDBOX_CPU seconds,
--    default 3600; NVLUA_SANDBOX_WALL seconds, default 4 x the CPU limit,
--    at least 60 s; NVLUA_SANDBOX_MEMORY_MB, default 2048) via nv.limits, which also
--    bound C code (RLIMIT_CPU with SIGXCPU, RLIMIT_DATA, the supervisor's
--    SIGKILL past the wall-clock limit).
-- Every refusal raises "sandbox: <what> is not allowed".
-- Trusted library code (lua/nv/*) keeps the real environment: the job's
-- capabilities are the checked nv.* modules and a read-only view of ctx.
local sys = require "nv.sys"
local limits = require "nv.limits"
local caps = require "nv.capabilities"

local M = {}

M.forbidden = {
  os = { "execute", "remove", "rename", "exit", "getenv", "tmpname", "setlocale" },
  io = { "popen", "tmpfile", "input", "output", "close", "read", "stdout", "stdin" },
  string = { "dump" },
}
M.forbidden_globals = { "debug", "package", "collectgarbage", "module" }

local function deny(what)
  error("sandbox: " .. what .. " is not allowed", 0)
end
M.deny = deny

-- a table whose listed keys raise when read
local function blocking(t, blocked, prefix)
  local set = {}
  for _, k in ipairs(blocked) do set[k] = true end
  return setmetatable(t, {
    __index = function(_, k)
      if set[k] then deny(prefix .. k) end
      return nil
    end,
    __metatable = false,
  })
end

local function guarded_copy(lib, libname)
  local t = {}
  for k, v in pairs(lib) do t[k] = v end
  for _, k in ipairs(M.forbidden[libname] or {}) do t[k] = nil end
  return blocking(t, M.forbidden[libname] or {}, libname .. ".")
end

-- The strings' method table: a copy of string without dump, installed once
-- as the string metatable's __index. The sandbox can neither reach it
-- (getmetatable("") is nil there) nor change it; host code keeps `string`.
local function install_string_methods()
  local mt = getmetatable("")
  if mt.__nv_sandboxed then return end
  local copy = guarded_copy(string, "string")
  mt.__index = copy
  mt.__nv_sandboxed = true
end

local function dirname(p)
  local d = p:match("^(.*)/[^/]*$")
  if d == nil then return "." end
  if d == "" then return "/" end
  return d
end

--- Allowed roots from the configuration and environment (resolved).
function M.roots(cfg)
  local roots = {}
  local function add(p)
    if type(p) ~= "string" or p == "" or p:match("^%a[%w+.-]*://") and not p:match("^file://") then return end
    p = p:gsub("^file://", "")
    local r = sys.realpath(p)
    if r then
      local st = sys.stat(r)
      roots[#roots + 1] = (st and st.type == "file") and dirname(r) or r
    end
  end
  for p in (os.getenv("NVLUA_SANDBOX_ROOTS") or ""):gmatch("[^:]+") do add(p) end
  cfg = cfg or {}
  add(cfg.data_source_path)
  for _, s in ipairs(type(cfg.sources) == "table" and cfg.sources or {}) do
    if type(s) == "table" then add(s.data_source_path) end
  end
  for _, p in ipairs(type(cfg.sandbox_roots) == "table" and cfg.sandbox_roots or {}) do add(p) end
  return roots
end

--- The path with symlinks resolved; a path that does not exist yet is
-- resolved through its nearest existing ancestor (no ".." below it).
function M.resolve(path)
  local r = sys.realpath(path)
  if r then return r end
  local rest, p = {}, path
  for _ = 1, 256 do
    local name = p:match("([^/]*)$")
    if name == ".." then return nil end
    if name ~= "" and name ~= "." then table.insert(rest, 1, name) end
    local parent = dirname(p)
    if parent == p then return nil end
    p = parent
    r = sys.realpath(p)
    if r then return (r == "/" and "" or r) .. "/" .. table.concat(rest, "/") end
  end
  return nil
end

--- Whether path (existing or to be created) lies under one of roots.
function M.allowed(path, roots)
  local r = M.resolve(path)
  if not r then return false end
  for _, root in ipairs(roots) do
    if r == root or r:sub(1, #root + 1) == root .. "/" or root == "/" then return true, r end
  end
  return false
end

--- The resolved path if under the roots, else raises.
local function check_path(path, roots, what)
  if type(path) ~= "string" then
    error("bad argument #1 to '" .. what .. "' (string expected)", 0)
  end
  local p = path:gsub("^file://", "")
  if p:match("^%a[%w+.-]*:") then deny("path " .. path) end -- URLs, sqlite:, odbc:
  local ok, r = M.allowed(p, roots)
  if not ok then deny("path " .. path) end
  return r
end

-- scheme://host:port of an http(s) URL (userinfo dropped, lower case)
local function origin(url)
  if type(url) ~= "string" then return nil end
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil end
  scheme = scheme:lower()
  if scheme ~= "http" and scheme ~= "https" then return nil end
  local authority = rest:match("^[^/?#]*")
  if authority:find("[%s\\]") then return nil end
  authority = authority:match("([^@]*)$"):lower()
  local host, port = authority:match("^(%[[%x:.]+%])(.*)$")
  if not host then host, port = authority:match("^([^:]*)(.*)$") end
  if host == "" or not (port == "" or port:match("^:%d+$")) then return nil end
  port = port ~= "" and port:sub(2) or (scheme == "https" and "443" or "80")
  return scheme .. "://" .. host .. ":" .. tonumber(port)
end
M.origin = origin

-- the origins a sandboxed run may reach: the platform endpoint, the
-- sources' own hosts, the allow-list
local function http_allowed(state, url)
  local o = origin(url)
  if not o then return nil end
  local cfg = state.cfg or {}
  local list = { cfg.api_endpoint, cfg.data_source_path }
  for _, s in ipairs(type(cfg.sources) == "table" and cfg.sources or {}) do
    if type(s) == "table" then list[#list + 1] = s.data_source_path end
  end
  if type(cfg.sandbox_http_allow) == "table" then
    for _, u in ipairs(cfg.sandbox_http_allow) do list[#list + 1] = u end
  elseif type(cfg.sandbox_http_allow) == "string" then
    for u in cfg.sandbox_http_allow:gmatch("[^,%s]+") do list[#list + 1] = u end
  end
  for u in (os.getenv("NVLUA_SANDBOX_HTTP_ALLOW") or ""):gmatch("[^,%s]+") do list[#list + 1] = u end
  for _, u in ipairs(list) do
    if origin(u) == o then return o end
  end
  return nil, o
end

local states = setmetatable({}, { __mode = "k" }) -- roots table -> sandbox state

local function new_state(roots)
  local st = {
    roots = roots, cfg = nil, ctx = nil,
    real = setmetatable({}, { __mode = "k" }),  -- proxy -> real object
    proxy = setmetatable({}, { __mode = "k" }), -- real object -> proxy
    modules = {},
    handles = setmetatable({}, { __mode = "k" }), -- handle proxies (unwrapped for every function)
    models = setmetatable({}, { __mode = "k" }), -- model nv.extract.run returned -> fingerprint
  }
  states[roots] = st
  return st
end

local inward, outward, view, handle

-- a sandbox function handed to trusted code: what it receives is viewed,
-- what it returns is unwrapped
local function callback(st, f)
  local w = st.proxy[f]
  if w then return w end
  w = function(...)
    local n, a = select("#", ...), { ... }
    for i = 1, n do a[i] = outward(st, a[i]) end
    local r = table.pack(f(table.unpack(a, 1, n)))
    for i = 1, r.n do r[i] = inward(st, r[i]) end
    return table.unpack(r, 1, r.n)
  end
  st.proxy[f] = w
  return w
end

-- arguments of trusted functions: a handle becomes its object, a sandbox
-- function a callback; a view stays a view (a safe function cannot change
-- the run's data through it) unless all: the {ctx} functions, which are
-- written for the real ctx, get every view's real table
function inward(st, v, all)
  local r = st.real[v]
  if r ~= nil and (all or st.handles[v]) then return r end
  if type(v) == "function" then return callback(st, v) end
  return v
end

-- results and callback arguments: fresh data as is, the run's objects
-- (ctx, its config, the store) as their views and handles
function outward(st, v)
  local p = st.proxy[v]
  if p ~= nil then return p end
  return v
end

-- a trusted function with only inward arguments and outward results
local function plain(st, f, all)
  return function(...)
    local n, a = select("#", ...), { ... }
    for i = 1, n do a[i] = inward(st, a[i], all) end
    local r = table.pack(f(table.unpack(a, 1, n)))
    for i = 1, r.n do r[i] = outward(st, r[i]) end
    return table.unpack(r, 1, r.n)
  end
end

--- A read-only view of table t (nested tables viewed, functions wrapped).
function view(st, t, name)
  local p = st.proxy[t]
  if p then return p end
  local function get(v, k)
    if type(v) == "function" then return plain(st, v) end
    if type(v) == "table" and st.proxy[v] == nil then return view(st, v, name .. "." .. tostring(k)) end
    return outward(st, v)
  end
  p = setmetatable({}, {
    __index = function(_, k) return get(t[k], k) end,
    __newindex = function(_, k) deny("setting " .. name .. "." .. tostring(k)) end,
    __len = function() return #t end,
    __pairs = function()
      local k
      return function()
        local v
        k, v = next(t, k)
        if k == nil then return nil end
        return k, get(v, k)
      end
    end,
    __metatable = false,
  })
  st.proxy[t], st.real[p] = p, t
  return p
end

--- An object of a declared class: only its declared methods.
function handle(st, obj, class)
  if obj == nil or st.proxy[obj] then return st.proxy[obj] or obj end
  local methods = caps.classes[class] or {}
  local p = setmetatable({}, {
    __index = function(_, k)
      if methods[k] ~= "safe" then deny(class .. "." .. tostring(k)) end
      return plain(st, function(self, ...) return obj[k](self, ...) end)
    end,
    __newindex = function(_, k) deny("setting " .. class .. "." .. tostring(k)) end,
    __metatable = false,
  })
  st.proxy[obj], st.real[p], st.handles[p] = p, obj, true
  return p
end

-- nv.http options: a copy, with output and ca_bundle checked as paths;
-- connect_to (another host than the URL's) and follow (redirects to any
-- host) refused
local function check_http_opts(st, fullname, opts)
  if type(opts) ~= "table" then return opts end
  local copy = {}
  for k, v in pairs(opts) do copy[k] = v end
  if copy.connect_to ~= nil then deny(fullname .. " with connect_to") end
  if copy.follow then deny(fullname .. " with follow") end
  for _, k in ipairs({ "output", "ca_bundle" }) do
    if copy[k] ~= nil then copy[k] = check_path(copy[k], st.roots, fullname) end
  end
  return copy
end

local function check_store_url(st, url)
  local store = require "nv.store"
  if type(url) ~= "string" then return url end
  local kind, target = store.parse_url(url)
  if not kind then return url end
  if kind == "sqlite" then
    if target == ":memory:" then return url end
    return "sqlite:" .. check_path(target, st.roots, "nv.store.open")
  end
  if st.cfg and url == st.cfg.store then return url end
  deny("store " .. kind .. " other than the configured store")
end

-- what of a source model names files (report.reading previews them): the
-- tables, their files and each file's paths, as one string
local function model_fingerprint(m)
  if type(m) ~= "table" then return nil end
  local parts = {}
  for i, t in ipairs(type(m.tables) == "table" and m.tables or {}) do
    parts[#parts + 1] = "#" .. i .. tostring(t) .. tostring(t.sheet) .. tostring(t.files)
    for _, f in ipairs(type(t) == "table" and type(t.files) == "table" and t.files or {}) do
      parts[#parts + 1] = tostring(f) .. "\0" .. tostring(f.path) .. "\0" .. tostring(f.local_path) .. "\0"
        .. tostring(f.ranges)
    end
  end
  return table.concat(parts, "\n")
end

local function check_model(st, fullname, m)
  local fp = st.models[m]
  if fp == nil or fp ~= model_fingerprint(m) then
    deny(fullname .. " of a forged or changed model")
  end
end

local function check_opts(st, fullname, opts)
  local cfg = st.cfg
  if type(opts) ~= "table" then return opts end
  local o = inward(st, opts, true)
  if rawequal(o, cfg) then return o end
  local copy = {}
  for k, v in pairs(opts) do copy[k] = inward(st, v, true) end
  for k, v in pairs(copy) do
    if caps.path_keys[k] then
      copy[k] = check_path(v, st.roots, fullname)
    elseif not caps.free_keys[k] and not rawequal(v, cfg[k]) then
      deny(fullname .. " with a " .. tostring(k) .. " other than the run's")
    end
  end
  return copy
end

-- the sandbox's version of module.name (a function or value) under spec
local function wrap(st, modname, name, spec, v)
  local fullname = modname .. "." .. tostring(name)
  if spec == nil or spec == "never" then deny(fullname) end
  if type(v) ~= "function" then
    return (type(v) == "table") and view(st, v, fullname) or v
  end
  if spec == "safe" then return plain(st, v) end
  local ret = spec.returns
  local f = plain(st, v, spec.ctx ~= nil)
  return function(...)
    local n, a = select("#", ...), { ... }
    for _, k in ipairs(spec.path or {}) do a[k] = check_path(a[k], st.roots, fullname) end
    for i, keys in pairs(spec.refuse or {}) do
      for _, key in ipairs(keys) do
        if type(a[i]) == "table" and a[i][key] then deny(fullname .. " with " .. key) end
      end
    end
    if spec.store_url then
      a[spec.store_url] = check_store_url(st, a[spec.store_url])
      a[spec.store_url + 1] = st.cfg -- the dialect settings (a warehouse host) are the run's
      n = math.max(n, spec.store_url + 1)
    end
    if spec.http_url then
      if spec.http_opts and a[spec.http_opts] ~= nil then
        a[spec.http_opts] = check_http_opts(st, fullname, a[spec.http_opts])
      end
      local u = a[spec.http_url]
      if type(u) == "table" then u = u.url end
      local ok, o = http_allowed(st, u)
      if not ok then deny("http to " .. (o or tostring(u))) end
    end
    if spec.ctx then
      if st.ctx == nil or not rawequal(inward(st, a[spec.ctx], true), st.ctx) then
        deny(fullname .. " without the run's ctx")
      end
      if spec.opts then a[spec.opts] = check_opts(st, fullname, a[spec.opts]) end
      if spec.model then check_model(st, fullname, a[spec.model]) end
    end
    if spec.issues_models then
      local r = table.pack(f(table.unpack(a, 1, n)))
      for _, m in ipairs(type(r[1]) == "table" and r[1] or {}) do st.models[m] = model_fingerprint(m) end
      return table.unpack(r, 1, r.n)
    end
    if ret then
      for i = 1, n do a[i] = inward(st, a[i]) end -- (views stay views)
      local r = table.pack(v(table.unpack(a, 1, n)))
      if type(r[1]) == "table" or type(r[1]) == "userdata" then r[1] = handle(st, r[1], ret) end
      return table.unpack(r, 1, r.n)
    end
    return f(table.unpack(a, 1, n))
  end
end

--- The sandbox's table of module name: declared names only.
local function module_table(st, name)
  if st.modules[name] then return st.modules[name] end
  local decl = caps.modules[name]
  if decl == nil then deny("require('" .. tostring(name) .. "')") end
  local real = decl ~= "never" and require(name) or {}
  local cache = {}
  local t = setmetatable({}, {
    __index = function(_, k)
      if cache[k] ~= nil then return cache[k] end
      local spec = decl == "safe" and "safe" or decl == "never" and "never" or decl[k]
      if real[k] == nil and spec ~= "never" then return nil end
      local w = wrap(st, name, k, spec, real[k])
      cache[k] = w
      return w
    end,
    __newindex = function(_, k) deny("setting " .. name .. "." .. tostring(k)) end,
    __pairs = function()
      local k
      return function()
        local v
        repeat
          k, v = next(real, k)
        until k == nil or decl == "safe" or (type(decl) == "table" and decl[k] ~= nil and decl[k] ~= "never")
        if k == nil then return nil end
        return k, wrap(st, name, k, decl == "safe" and "safe" or decl[k], v)
      end
    end,
    __metatable = false,
  })
  st.modules[name] = t
  return t
end

local engaged = false -- a sandbox env exists in this process (M.active)

--- Whether a sandbox env exists in this process (nv.connectors then loads
-- no tenant connector module).
function M.active() return engaged end

--- A fresh global table for a sandboxed chunk; roots is filled later by the
-- runner (nv.job) with the configuration's roots.
function M.env(roots)
  engaged = true
  install_string_methods()
  M.limit()
  local st = new_state(roots)
  local env = {}
  for _, k in ipairs({ "assert", "error", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget", "rawlen",
                       "rawset", "select", "setmetatable", "tonumber", "tostring", "type", "xpcall", "_VERSION" }) do
    env[k] = _G[k]
  end
  env.getmetatable = function(v)
    -- the shared string metatable and C objects' metatables stay out of reach
    if type(v) == "string" or type(v) == "userdata" then return nil end
    return getmetatable(v)
  end
  env.string = guarded_copy(string, "string")
  env.table = guarded_copy(table, "table")
  env.math = guarded_copy(math, "math")
  env.utf8 = guarded_copy(utf8, "utf8")
  env.coroutine = guarded_copy(coroutine, "coroutine")
  env.os = blocking({ clock = os.clock, date = os.date, difftime = os.difftime, time = os.time },
    M.forbidden.os, "os.")
  local function check(path, what)
    return check_path(path, roots, what)
  end
  local stderr = {}
  stderr.write = function(self, ...)
    if self ~= stderr then error("bad self to 'write' (io.stderr expected)", 2) end
    io.stderr:write(...)
    return self
  end
  stderr.flush = function() return io.stderr:flush() end
  blocking(stderr, { "close", "setvbuf", "seek", "read", "lines" }, "io.stderr:")
  env.io = blocking({
    open = function(path, mode)
      return io.open(check(path, "io.open"), mode)
    end,
    lines = function(path, ...)
      if path == nil then deny("io.lines() on stdin") end
      return io.lines(check(path, "io.lines"), ...)
    end,
    write = function(...) return io.stderr:write(...) end,
    stderr = stderr, -- write and flush only (closing the host's stderr would lose its log lines)
  }, M.forbidden.io, "io.")
  env.print = function(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    io.stderr:write(require("nv.log").mask(table.concat(parts, "\t")), "\n")
  end
  env.load = function(chunk, name, mode, e)
    if mode ~= nil and mode ~= "t" then deny("load in mode '" .. tostring(mode) .. "' (bytecode)") end
    return load(chunk, name, "t", e or env)
  end
  env.loadfile = function(path, mode, e)
    local p = check(path, "loadfile")
    if mode ~= nil and mode ~= "t" then deny("loadfile in mode '" .. tostring(mode) .. "' (bytecode)") end
    return loadfile(p, "t", e or env)
  end
  env.dofile = function(path)
    local f, err = env.loadfile(path)
    if not f then error(err, 2) end
    return f()
  end
  env.require = function(name)
    if type(name) ~= "string" then deny("require(" .. type(name) .. ")") end
    return module_table(st, name)
  end
  env._G = env
  return blocking(env, M.forbidden_globals, "")
end

--- The job's view of ctx: read-only, the store as a handle; wrapped
-- functions given this view receive the real ctx. Records the run's
-- configuration (platform endpoint, store, sources) for the checks.
function M.view(ctx, roots)
  local st = states[roots] or new_state(roots)
  st.cfg, st.ctx = ctx.config, ctx
  if ctx.store then handle(st, ctx.store, "Store") end
  view(st, ctx.config, "ctx.config")
  return view(st, ctx, "ctx")
end

--- The limits from the environment (never from the job's configuration:
-- what the platform ships cannot raise its own limits): cpu and wall in
-- seconds, memory in MiB; 0 means none.
function M.limit_values()
  local cpu = tonumber(os.getenv("NVLUA_SANDBOX_CPU") or "") or 3600
  local mem = tonumber(os.getenv("NVLUA_SANDBOX_MEMORY_MB") or "") or 2048
  local wall = tonumber(os.getenv("NVLUA_SANDBOX_WALL") or "") or (cpu > 0 and math.max(4 * cpu, 60) or 0)
  return cpu, mem, wall
end

--- Turns the limits on (once per process; they cover the whole run) and
-- tells the supervisor (nv.limits.report) what they are.
function M.limit()
  local cpu, mem, wall = M.limit_values()
  limits.set_cpu(cpu)
  limits.set_memory(math.floor(mem * 1024 * 1024))
  limits.set_wall(wall)
  limits.report(string.format("limits %.17g %.17g %.17g", cpu, wall, mem))
end

--- The message for a failure under the limits: an allocation that failed
-- (Lua's "not enough memory", a reader's "out of memory") becomes
-- "sandbox: memory limit of N MiB exceeded"; anything else is unchanged.
function M.explain(msg)
  if type(msg) ~= "string" then return msg end
  local u = limits.usage()
  if u.max and u.max > 0 and (msg:find("not enough memory", 1, true) or msg:find("out of memory", 1, true)
                              or msg:find("Cannot allocate memory", 1, true)) then
    return string.format("sandbox: memory limit of %d MiB exceeded", u.max // (1024 * 1024))
  end
  return msg
end

--- Loads a script file into a sandbox env: chunk | nil, message.
function M.loadfile(path, roots)
  return loadfile(path, "t", M.env(roots))
end

return M
