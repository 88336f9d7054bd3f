-- nv.sandbox: the restricted environment for job scripts the platform
-- ships (`nvlua --sandbox job.lua`, `nvlua --sandbox run …`, the job
-- server). The script gets a fresh global table:
--  * no os.execute, io.popen, os.remove, os.rename, os.exit, os.getenv,
--    os.tmpname, debug, package.loadlib, collectgarbage, string.dump;
--    using one raises "sandbox: <name> is not allowed";
--  * load/loadfile/dofile accept text chunks only (no bytecode);
--  * io.open/io.lines only for files under the allowed roots (the data
--    source path, NVLUA_SANDBOX_ROOTS, config sandbox_roots);
--  * require only nv.* modules and cjson, returned read-only;
--  * print and io.write go to stderr (stdout holds the job's JSON);
--  * CPU-time and memory limits (NVLUA_SANDBOX_CPU seconds, default 3600;
--    NVLUA_SANDBOX_MEMORY_MB, default 2048) via nv.limits.
-- Trusted library code (lua/nv/*) keeps the real environment: the job's
-- capabilities are the nv.* modules and ctx, not the OS.
local sys = require "nv.sys"
local limits = require "nv.limits"

local M = {}

M.forbidden = {
  os = { "execute", "remove", "rename", "exit", "getenv", "tmpname", "setlocale" },
  io = { "popen", "tmpfile", "input", "output", "close", "read", "stdout", "stdin" },
  string = { "dump" },
}
M.forbidden_globals = { "debug", "package", "collectgarbage", "rawequal_", "module" }

local function deny(name)
  error("sandbox: " .. name .. " is not allowed", 3)
end

local function guarded_copy(lib, libname)
  local t = {}
  for k, v in pairs(lib) do t[k] = v end
  local blocked = {}
  for _, k in ipairs(M.forbidden[libname] or {}) do
    t[k] = nil
    blocked[k] = true
  end
  return setmetatable(t, {
    __index = function(_, k)
      if blocked[k] then deny(libname .. "." .. k) end
      return nil
    end,
    __metatable = false,
  })
end

local function readonly(mod, name)
  if type(mod) ~= "table" then return mod end
  return setmetatable({}, {
    __index = mod,
    __newindex = function(_, k) error("sandbox: module " .. name .. " is read-only (setting " .. tostring(k) .. ")", 2) end,
    __pairs = function() return next, mod, nil end,
    __metatable = false,
  })
end

local function dirname(p)
  return p:match("^(.*)/[^/]*$") or "."
end

--- Allowed roots from the configuration and environment (resolved).
function M.roots(cfg)
  local roots = {}
  local function add(p)
    if not p or p == "" or p:match("^%a[%w+.-]*://") and not p:match("^file://") then return end
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
  for _, s in ipairs(cfg.sources or {}) do add(s.data_source_path) end
  for _, p in ipairs(type(cfg.sandbox_roots) == "table" and cfg.sandbox_roots or {}) do add(p) end
  return roots
end

--- Whether path (existing or to be created) lies under one of roots.
function M.allowed(path, roots)
  local r = sys.realpath(path)
  if not r then
    local parent = sys.realpath(dirname(path))
    if not parent then return false end
    r = parent .. "/" .. path:match("([^/]*)$")
  end
  for _, root in ipairs(roots) do
    if r == root or r:sub(1, #root + 1) == root .. "/" then return true end
  end
  return false
end

local allowed_modules = { cjson = true, ["cjson.safe"] = true }

--- A fresh global table for a sandboxed chunk.
function M.env(roots)
  local env = {}
  for _, k in ipairs({ "assert", "error", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget", "rawlen",
                       "rawset", "select", "setmetatable", "tonumber", "tostring", "type", "xpcall", "_VERSION" }) do
    env[k] = _G[k]
  end
  env.getmetatable = function(v)
    if type(v) == "string" then return nil end -- the shared string metatable stays out of reach
    return getmetatable(v)
  end
  env.string = guarded_copy(string, "string")
  env.table = guarded_copy(table, "table")
  env.math = guarded_copy(math, "math")
  env.utf8 = guarded_copy(utf8, "utf8")
  env.coroutine = guarded_copy(coroutine, "coroutine")
  env.os = guarded_copy({ clock = os.clock, date = os.date, difftime = os.difftime, time = os.time,
                          execute = true, remove = true, rename = true, exit = true, getenv = true,
                          tmpname = true, setlocale = true }, "os")
  local function check(path, what)
    if type(path) ~= "string" then error("bad argument #1 to '" .. what .. "' (string expected)", 3) end
    if not M.allowed(path, roots) then
      error("sandbox: " .. what .. "('" .. path .. "') is outside the allowed roots", 3)
    end
  end
  env.io = guarded_copy({
    open = function(path, mode)
      check(path, "io.open")
      return io.open(path, mode)
    end,
    lines = function(path, ...)
      if path == nil then deny("io.lines() on stdin") end
      check(path, "io.lines")
      return io.lines(path, ...)
    end,
    write = function(...) return io.stderr:write(...) end,
    stderr = io.stderr,
    popen = true, tmpfile = true, input = true, output = true, close = true, read = true,
    stdout = true, stdin = true,
  }, "io")
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
    check(path, "loadfile")
    if mode ~= nil and mode ~= "t" then deny("loadfile in mode '" .. tostring(mode) .. "' (bytecode)") end
    return loadfile(path, "t", e or env)
  end
  env.dofile = function(path)
    local f, err = env.loadfile(path)
    if not f then error(err, 2) end
    return f()
  end
  env.require = function(name)
    if type(name) ~= "string" or not (name:match("^nv%.[%w_.]+$") or allowed_modules[name])
        or name == "nv.limits" or name == "nv.sandbox" then
      error("sandbox: require('" .. tostring(name) .. "') is not allowed (only nv.* modules and cjson)", 2)
    end
    return readonly(require(name), name)
  end
  env._G = env
  local blocked = {}
  for _, k in ipairs(M.forbidden_globals) do blocked[k] = true end
  return setmetatable(env, {
    __index = function(_, k)
      if blocked[k] then deny(k) end
      return nil
    end,
    __metatable = false,
  })
end

--- Turns the limits on (once per process; they cover the whole run).
function M.limit()
  local cpu = tonumber(os.getenv("NVLUA_SANDBOX_CPU") or "") or 3600
  local mem = tonumber(os.getenv("NVLUA_SANDBOX_MEMORY_MB") or "") or 2048
  limits.set_cpu(cpu)
  limits.set_memory(math.floor(mem * 1024 * 1024))
end

--- Loads a script file into a sandbox env: chunk | nil, message.
function M.loadfile(path, roots)
  return loadfile(path, "t", M.env(roots))
end

return M
