-- nv.help: the REPL's help() — an overview, or the docs of one module or
-- function from nv.docs — and the Tab completion behind host/repl.c's
-- readline hook, computed against the live Lua state: globals, the nv.*
-- module names under the lazy `nv` table, and the fields (and methods,
-- after `:`) of whatever the text before the last `.` or `:` evaluates to.
local docs = require "nv.docs"

local M = {}

local IDENT = "^[%a_][%w_]*$"

local keywords = {
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
  "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
}

-- every nv.* module name known: documented, preloaded, loaded, or a
-- lua/nv/*.lua file under one of the roots
local function module_names()
  local set = {}
  for name in pairs(docs) do set[name] = true end
  for name in pairs(package.preload) do if name:match("^nv%.") then set[name] = true end end
  for name in pairs(package.loaded) do if type(name) == "string" and name:match("^nv%.") then set[name] = true end end
  local ok, host = pcall(require, "nv.host")
  local sok, sys = pcall(require, "nv.sys")
  if ok and sok then
    for _, root in ipairs(host.roots or {}) do
      for _, file in ipairs(sys.listdir(root .. "/lua/nv") or {}) do
        local n = file:match("^([%w_]+)%.lua$")
        if n then set["nv." .. n] = true end
      end
    end
  end
  local names = {}
  for name in pairs(set) do names[#names + 1] = name end
  table.sort(names)
  return names
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do if type(k) == "string" then keys[#keys + 1] = k end end
  table.sort(keys)
  return keys
end

-- the name of a loaded nv.* module that is x, or nil
local function module_of_value(x)
  for _, name in ipairs(sorted_keys(package.loaded)) do
    if name:match("^nv%.") and package.loaded[name] == x then return name end
  end
  return nil
end

-- module name, function name of a function exported by a loaded nv.* module
local function function_of_value(f)
  for _, name in ipairs(sorted_keys(package.loaded)) do
    local m = package.loaded[name]
    if name:match("^nv%.") and type(m) == "table" then
      for k, v in pairs(m) do
        if v == f and type(k) == "string" then return name, k end
      end
    end
  end
  return nil
end

local function module_text(name)
  local d = docs[name]
  local out = {}
  local ok, m = pcall(require, name)
  if not d then
    out[1] = name .. " - (no docs in nv.docs)"
    if ok and type(m) == "table" then
      for _, k in ipairs(sorted_keys(m)) do out[#out + 1] = "  " .. name .. "." .. k .. "  (" .. type(m[k]) .. ")" end
    end
    return table.concat(out, "\n") .. "\n"
  end
  out[1] = name .. " - " .. d.summary
  local fns = sorted_keys(d.functions)
  if ok and type(m) == "table" then -- what the module exports but the docs miss
    for _, k in ipairs(sorted_keys(m)) do
      if type(m[k]) == "function" and not d.functions[k] then fns[#fns + 1] = k end
    end
  end
  if #fns > 0 then out[#out + 1] = "Functions:" end
  for _, k in ipairs(fns) do
    out[#out + 1] = "  " .. name .. "." .. (d.functions[k] or (k .. "(...)  (undocumented)"))
  end
  if d.methods then
    out[#out + 1] = "Methods:"
    for _, line in ipairs(d.methods) do out[#out + 1] = "  " .. line end
  end
  return table.concat(out, "\n") .. "\n"
end

local function function_text(mod, fname)
  local d = docs[mod]
  local line = d and d.functions[fname]
  return mod .. "." .. (line or (fname .. "(...)  (undocumented)")) .. "\n"
end

local function overview()
  local out = {
    "help(nv.csv), help(\"nv.csv\"), help(nv.csv.open): the docs of a module or a function.",
    "Tab completes globals, nv.<module> names and the fields of what is before the last . or :",
    "Modules (the global nv loads nv.<name> on first use):",
  }
  local names = module_names()
  local w = 0
  for _, n in ipairs(names) do w = math.max(w, #n) end
  for _, n in ipairs(names) do
    out[#out + 1] = "  " .. n .. string.rep(" ", w + 2 - #n) .. (docs[n] and docs[n].summary or "(no docs)")
  end
  out[#out + 1] = "Jobs (from a shell: nvlua run JOB [data_source_path] [source_type] [tenant_id] [options];"
  out[#out + 1] = "      nvlua run JOB --help for one job; here: nv.job.main{\"JOB\", \"path\"} runs it):"
  local ok, text = pcall(function() return require("nv.usage").list_text() end)
  if ok then
    for line in text:gmatch("[^\n]+") do out[#out + 1] = "  " .. line end
  else
    out[#out + 1] = "  (cannot list the jobs: " .. tostring(text) .. ")"
  end
  local cok, names = pcall(function() return require("nv.connectors").type_names() end)
  out[#out + 1] = "Source types (nv.connectors; nvlua connectors from a shell): "
    .. (cok and table.concat(names, ", ") or ("(cannot list them: " .. tostring(names) .. ")"))
  return table.concat(out, "\n") .. "\n"
end

--- What help(...) prints.
function M.text(...)
  if select("#", ...) == 0 then return overview() end
  local x = ...
  if type(x) == "string" then
    local name = x:match("^nv%.") and x or ("nv." .. x)
    if docs[name] or package.preload[name] or package.loaded[name] then return module_text(name) end
    local mod, fname = name:match("^(.+)%.([%w_]+)$")
    if mod and (docs[mod] or package.loaded[mod] or package.preload[mod]) then
      local ok, m = pcall(require, mod)
      if (docs[mod] and docs[mod].functions[fname]) or (ok and type(m) == "table" and m[fname] ~= nil) then
        return function_text(mod, fname)
      end
    end
    return "no help for '" .. x .. "'; help() lists the modules\n"
  elseif type(x) == "table" then
    local name = module_of_value(x)
    if name then return module_text(name) end
    if x == rawget(_G, "nv") then return overview() end
  elseif type(x) == "function" then
    local mod, fname = function_of_value(x)
    if mod then return function_text(mod, fname) end
  elseif x == nil then
    return "help(nil): nothing to describe (a misspelt name?); help() lists the modules\n"
  end
  return "no help for this " .. type(x) .. " value; help() lists the modules\n"
end

--- help([x]): prints the overview, or the docs of x (a module or function, or its name).
function M.help(...)
  io.stdout:write(M.text(...))
  io.stdout:flush()
end

-- the value a dotted path of identifiers evaluates to (fields through
-- their metamethods, so nv.<name> loads), or nil
local function resolve(path)
  local v = _G
  for part in path:gmatch("[^.]+") do
    local ok, r = pcall(function() return v[part] end)
    if not ok or r == nil then return nil end
    v = r
  end
  return v
end

-- string keys of t, then those of its __index tables (bounded chain)
local function field_names(v, add)
  local seen = {}
  for _ = 1, 8 do
    if type(v) == "table" and not seen[v] then
      seen[v] = true
      for k, fv in pairs(v) do
        if type(k) == "string" and k:match(IDENT) then add(k, fv) end
      end
    end
    local mt = getmetatable(v)
    local idx = type(mt) == "table" and rawget(mt, "__index")
    if type(idx) ~= "table" then return end
    v = idx
  end
end

--- Completions of word (the text before the cursor back to a separator)
-- against the live state, sorted.
function M.complete(word)
  local set = {}
  local head, sep, part = word:match("^(.-)([.:])([%w_]*)$")
  if not head then
    if word ~= "" and not word:match(IDENT) then return {} end
    for k in pairs(_G) do
      if type(k) == "string" and k:match(IDENT) and k:sub(1, #word) == word then set[k] = true end
    end
    for _, k in ipairs(keywords) do if k:sub(1, #word) == word then set[k] = true end end
  else
    for seg in (head .. "."):gmatch("([^.]*)%.") do -- only a.b.c paths: nothing is called
      if not seg:match(IDENT) then return {} end
    end
    local v = resolve(head)
    if v == nil then return {} end
    local function add(k, fv)
      if k:sub(1, #part) == part and (sep == "." or type(fv) == "function") then set[head .. sep .. k] = true end
    end
    if sep == "." and v == rawget(_G, "nv") then -- the lazy nv table: modules not loaded yet too
      for _, name in ipairs(module_names()) do
        local first = name:match("^nv%.([%w_]+)")
        if first then add(first, true) end
      end
    end
    field_names(v, add)
  end
  local out = {}
  for k in pairs(set) do out[#out + 1] = k end
  table.sort(out)
  return out
end

--- readline's convention: {} for none, {match} for one, else {common
-- prefix, match1, match2, ...}.
function M.matches(word)
  local list = M.complete(word)
  if #list <= 1 then return list end
  local prefix = list[1]
  for i = 2, #list do
    local s, n = list[i], 0
    while n < #prefix and n < #s and prefix:byte(n + 1) == s:byte(n + 1) do n = n + 1 end
    prefix = prefix:sub(1, n)
  end
  table.insert(list, 1, prefix)
  return list
end

return M
