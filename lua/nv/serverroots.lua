-- nv.serverroots: the directories a job server's jobs may use, and the
-- check of a payload's local paths against them (nv.server answers 403
-- when it fails). Paths are judged after realpath (symlinks, "..").
local sys = require "nv.sys"

local M = {}

--- The directories jobs may read: spec is a ':'-separated string
-- (--roots) or an array (config server_roots); nil gives the default, the
-- working directory plus /dbfs and /Volumes where they exist. Returns the
-- resolved (realpath) list, or nil, message for a root that does not exist.
function M.resolve(spec)
  local list = {}
  if spec == nil then
    list = { ".", "/dbfs", "/Volumes" }
  elseif type(spec) == "string" then
    for p in spec:gmatch("[^:]+") do list[#list + 1] = p end
  elseif type(spec) == "table" then
    for _, p in ipairs(spec) do list[#list + 1] = tostring(p) end
  else
    return nil, "server_roots must be a list of directories"
  end
  local roots = {}
  for _, p in ipairs(list) do
    local r = sys.realpath(p)
    if r then
      roots[#roots + 1] = r
    elseif spec ~= nil then
      return nil, string.format("--roots: cannot resolve '%s': no such directory", p)
    end
  end
  if #roots == 0 then return nil, "--roots: no directory given" end
  return roots
end

-- the resolved form of path (which need not exist: its nearest existing
-- ancestor is resolved and the rest appended); relative paths are taken
-- from base. nil for a path that climbs out of what exists ("..").
local function resolve_path(path, base)
  if path:sub(1, 1) ~= "/" then path = base .. "/" .. path end
  local rest = {}
  local p = path
  while true do
    local r = sys.realpath(p)
    if r then
      for i = #rest, 1, -1 do
        if rest[i] == ".." then return nil end
        if rest[i] ~= "." and rest[i] ~= "" then r = (r == "/" and "" or r) .. "/" .. rest[i] end
      end
      return r
    end
    local parent, name = p:match("^(.*)/([^/]*)$")
    if not parent then return nil end
    rest[#rest + 1] = name
    p = parent == "" and "/" or parent
  end
end

local function under(r, roots)
  for _, root in ipairs(roots) do
    if r == root or root == "/" or r:sub(1, #root + 1) == root .. "/" then return true end
  end
  return false
end

--- Checks the local paths a payload names against the roots: what the job
-- reads (data_source_path, sources[i].data_source_path, sandbox_roots)
-- under roots; what it writes (log_dir, a sqlite: store) under
-- the roots or the jobs directory. Paths with a scheme (s3://, https://,
-- postgresql://, …) are not files and are not checked here; file:// is.
-- Relative paths count from base, the job's directory (its working
-- directory); jobs_dir is the server's. Returns true or nil, message.
function M.check(cfg, roots, base, jobs_dir)
  local function check(what, path, writes)
    if type(path) ~= "string" or path == "" then return true end
    local given = path
    if path:match("^%a[%w+.-]*:") then
      -- the local files behind a scheme: file://, dbfs:/ (the /dbfs mount),
      -- sqlite: (a store it writes, or a SQLite source it reads)
      if path:match("^file://") or path:match("^dbfs:/") then path = require("nv.filesource").local_path(path)
      elseif path:match("^sqlite:") then path = path:gsub("^sqlite:", ""):gsub("^//(/)", "%1")
      else return true end
    end
    local r = resolve_path(path, base)
    if r and (under(r, roots) or (writes and under(r, { jobs_dir }))) then return true end
    return nil, string.format("%s '%s' is outside the server's roots (%s; see --roots)",
      what, given, table.concat(roots, ", "))
  end
  local checks = { { "data_source_path", cfg.data_source_path }, { "log_dir", cfg.log_dir, true },
                   { "store", cfg.store, true } }
  for i, src in ipairs(cfg.sources or {}) do
    checks[#checks + 1] = { string.format("sources[%d].data_source_path", i), src.data_source_path }
  end
  for i, p in ipairs(type(cfg.sandbox_roots) == "table" and cfg.sandbox_roots or {}) do
    checks[#checks + 1] = { string.format("sandbox_roots[%d]", i), p }
  end
  for _, c in ipairs(checks) do
    local ok, msg = check(c[1], c[2], c[3])
    if not ok then return nil, msg end
  end
  return true
end


return M
