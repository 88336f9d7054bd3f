-- nv.config: a job's configuration from four layers. Precedence, highest
-- first: command line > NUVYN_JOB_PAYLOAD (spec 003) > --config FILE.json >
-- environment > defaults. Usage errors come back as nil, message (the
-- runner exits 2); every secret found is registered with nv.log for masking.
local json = require "nv.json"
local sourcetypes = require "nv.connectors"

local M = {}

M.defaults = {
  source_type = "auto",
  fail_on = "partial",
  tenant_id = "default",
  write_to_db = false,
  store = "sqlite:_executor_metadata.db",
}

-- environment variable -> config path (dotted for nested tables)
M.env_map = {
  { "NUVYN_API_ENDPOINT", "api_endpoint" },
  { "NUVYN_API_KEY", "api_key" },
  { "EXECUTOR_WRITE_TO_DB", "write_to_db", "boolean" },
  { "EXECUTOR_LOG_LEVEL", "log_level" },
  { "EXECUTOR_LOG_DIR", "log_dir" },
  { "NVLUA_STORE", "store" },
  { "DATABRICKS_SERVER_HOSTNAME", "databricks.server_hostname" },
  { "DATABRICKS_HTTP_PATH", "databricks.http_path" },
  { "DATABRICKS_ACCESS_TOKEN", "databricks.access_token" },
  { "DATABRICKS_WORKSPACE_URL", "databricks.workspace_url" },
  { "DATABRICKS_TOKEN", "databricks.token" },
  { "AWS_ACCESS_KEY_ID", "aws.access_key_id" },
  { "AWS_SECRET_ACCESS_KEY", "aws.secret_access_key" },
  { "AWS_SESSION_TOKEN", "aws.session_token" },
  { "AWS_DEFAULT_REGION", "aws.region" },
  { "AWS_REGION", "aws.region" },
  { "AWS_ENDPOINT_URL", "aws.endpoint_url" },
  { "AZURE_STORAGE_CONNECTION_STRING", "azure.connection_string" },
}

-- spec 003 payload names -> ours
local aliases = { data_source_type = "source_type" }

-- command-line flags: flag -> {key, kind, help = text, arg = value name}.
-- `nvlua --help` and `nvlua run JOB --help` print this table (nv.usage):
-- an entry without help text fails the specs.
M.flags = {
  ["--write-to-db"] = { "write_to_db", "true",
    help = "write the sources/tables/columns rows to the store (as EXECUTOR_WRITE_TO_DB=true)" },
  ["--no-write-to-db"] = { "write_to_db", "false",
    help = "do not write metadata rows, whatever the environment or payload says" },
  ["--config"] = { nil, "file", arg = "FILE.json",
    help = "configuration file (JSON object; the keys of the README's Configuration section)" },
  ["--payload"] = { nil, "payload", arg = "FILE.json",
    help = "a spec-003 job payload read from a file instead of NUVYN_JOB_PAYLOAD" },
  ["--store"] = { "store", "value", arg = "URL",
    help = "the _executor_metadata store: sqlite:PATH (default sqlite:_executor_metadata.db), "
      .. "postgresql://..., mysql://..., odbc:..., databricks" },
  ["--workflow-id"] = { "workflow_id", "value", arg = "ID",
    help = "workflow identifier recorded on every row (default: the run id)" },
  ["--source-id"] = { "source_id", "value", arg = "ID", help = "source identifier recorded on every row" },
  ["--log-dir"] = { "log_dir", "value", arg = "DIR",
    help = "log files go to DIR/YYYY-MM-DD/RUN_ID.log (default ./logs)" },
  ["--log-level"] = { "log_level", "value", arg = "LEVEL",
    help = "DEBUG, INFO (default), WARNING or ERROR" },
  ["--workers"] = { "workers", "value", arg = "N",
    help = "parallel workers for multi-source payloads (default: one per core this process may use: affinity mask and cgroup CPU quota honoured)" },
  ["--full"] = { "full", "true",
    help = "read every file again, reusing no kept profile (incremental runs still keep this run's)" },
  ["--threads"] = { "threads", "value", arg = "N",
    help = "threads reading one file: Parquet column chunks, CSV columns (1-64; default: the cores this process may use, shared by the sources read in parallel)" },
  ["--fail-on"] = { "fail_on", "value", arg = "WHEN",
    help = "exit 1 when: partial (default; any file, table or source failed, unless success_threshold "
      .. "is met), warnings (also on warnings), never (only when nothing succeeded)" },
}
local positional = { "data_source_path", "source_type", "tenant_id" }
M.positional = positional

--- The candidate nearest to word when near enough to be a typo, or nil
-- (nv.suggest's rule).
M.nearest = require("nv.suggest").nearest

--- The flag names, sorted.
function M.flag_names()
  local names = {}
  for name in pairs(M.flags) do names[#names + 1] = name end
  table.sort(names)
  return names
end

local function set_path(t, path, value)
  local head, rest = path:match("^([^.]+)%.(.+)$")
  if not head then
    t[path] = value
    return
  end
  if type(t[head]) ~= "table" then t[head] = {} end
  set_path(t[head], rest, value)
end

local function parse_bool(s, what)
  if type(s) == "boolean" then return s end
  local v = tostring(s):lower()
  if v == "1" or v == "true" or v == "yes" or v == "on" then return true end
  if v == "0" or v == "false" or v == "no" or v == "off" or v == "" then return false end
  return nil, string.format("%s must be true or false, got '%s'", what, tostring(s))
end

-- deep merge src into dst (src wins); arrays are replaced, not merged
local function merge(dst, src)
  for k, v in pairs(src) do
    k = aliases[k] or k
    if type(v) == "table" and not json.is_array(v) and next(v) ~= nil
        and type(dst[k]) == "table" and not json.is_array(dst[k]) then
      merge(dst[k], v)
    else
      dst[k] = v
    end
  end
  return dst
end

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("a")
  f:close()
  return s
end

--- Parses job arguments (what follows the job type).
-- Returns {values = {...}, config_file = path|nil, payload_file = path|nil}
-- or nil, message.
function M.parse_args(args)
  local values, out, npos = {}, {}, 0
  local i = 1
  while i <= #args do
    local a = args[i]
    local flag, inline = a:match("^(%-%-[%w-]+)=(.*)$")
    flag = flag or a
    local spec = M.flags[flag]
    if a:sub(1, 2) == "--" then
      if not spec then
        local near = M.nearest(flag, M.flag_names())
        return nil, "unknown option '" .. a .. "'" .. (near and (" (did you mean " .. near .. "?)") or "")
      end
      local kind = spec[2]
      local value = inline
      if kind ~= "true" and kind ~= "false" and value == nil then
        i = i + 1
        value = args[i]
        if value == nil then return nil, "option '" .. flag .. "' needs a value" end
      end
      if kind == "true" then values[spec[1]] = true
      elseif kind == "false" then values[spec[1]] = false
      elseif kind == "file" then out.config_file = value
      elseif kind == "payload" then out.payload_file = value
      else values[spec[1]] = value end
    else
      npos = npos + 1
      if npos > #positional then
        return nil, "unexpected argument '" .. a .. "' (at most: data_source_path source_type tenant_id)"
      end
      if a ~= "" then values[positional[npos]] = a end -- "" means "not given" (spec 003)
    end
    i = i + 1
  end
  out.values = values
  return out
end

local function from_env(getenv)
  local t = {}
  for _, e in ipairs(M.env_map) do
    local v = getenv(e[1])
    if v ~= nil and v ~= "" then
      if e[3] == "boolean" then
        local b, err = parse_bool(v, e[1])
        if b == nil then return nil, err end
        v = b
      end
      set_path(t, e[2], v)
    end
  end
  return t
end

local function decode_object(text, what)
  local v, err = json.decode(text)
  if v == nil then return nil, string.format("invalid JSON in %s: %s", what, err) end
  if type(v) ~= "table" or json.is_array(v) then
    return nil, string.format("invalid JSON in %s: expected an object", what)
  end
  return v
end

-- a key names a secret when one of its words does, or it ends like one
local secret_words = { password = true, passwd = true, pwd = true, secret = true, token = true,
                       apikey = true, sig = true, signature = true, credential = true, credentials = true }
local secret_suffixes = { "api_key", "access_key", "account_key", "private_key", "key_id", "sas" }

local function is_secret_key(k)
  k = tostring(k):lower()
  for word in k:gmatch("[^_%-.]+") do
    if secret_words[word] then return true end
  end
  for _, suffix in ipairs(secret_suffixes) do
    if k == suffix or k:sub(-#suffix - 1) == "_" .. suffix then return true end
  end
  return false
end

--- Registers every secret in t (recursively) with the masking filter.
-- The inside of an ODBC braced value starting at v[at] == "{" ("}}" is an
-- escaped "}"), as written: `{a;b}}c}` gives "a;b}}c".
local function odbc_braced(v, at)
  local i = at + 1
  while true do
    local j = v:find("}", i, true)
    if not j then return v:sub(at + 1) end
    if v:sub(j + 1, j + 1) ~= "}" then return v:sub(at + 1, j - 1) end
    i = j + 2
  end
end

function M.register_secrets(t, add)
  for k, v in pairs(t) do
    if type(v) == "table" then
      M.register_secrets(v, add)
    elseif type(v) == "string" then
      if is_secret_key(k) or k == "connection_string" then add(v) end
      -- secret parts of connection strings and URLs
      for part in v:gmatch("[Aa]ccount[Kk]ey=([^;]+)") do add(part) end
      for part in v:gmatch("[Ss]hared[Aa]ccess[Ss]ignature=([^;]+)") do add(part) end
      for part in v:gmatch("[?&]sig=([^&%s]+)") do add(part) end
      for part in v:gmatch("[Pp][Ww][Dd]=([^;{][^;]*)") do add(part) end
      for part in v:gmatch("[Pp]assword=([^;&%s{][^;&%s]*)") do add(part) end
      for _, key in ipairs({ "[Pp][Ww][Dd]=()%{", "[Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd]=()%{" }) do
        for at in v:gmatch(key) do -- ODBC's braced value: as written, and unescaped
          local raw = odbc_braced(v, at)
          add(raw)
          add((raw:gsub("}}", "}")))
        end
      end
      for part in v:gmatch("://[^/@:%s]+:([^@/%s]+)@") do add(part) end
    end
  end
end

M.fail_on_values = { partial = true, warnings = true, never = true }

--- Checks (and normalizes) fail_on and success_threshold: true | nil, message.
function M.check_outcome_rules(cfg)
  local f = cfg.fail_on
  if type(f) ~= "string" or not M.fail_on_values[f:lower()] then
    return nil, string.format("invalid fail_on '%s' (partial, warnings, never)", tostring(f))
  end
  cfg.fail_on = f:lower()
  local t = cfg.success_threshold
  if t ~= nil then
    local n = tonumber(t)
    if not n or n ~= n or n < 0 or n > 100 then
      return nil, string.format("invalid success_threshold '%s' (a percentage from 0 to 100)", tostring(t))
    end
    cfg.success_threshold = n
  end
  return true
end

local function validate(cfg)
  if cfg.write_to_db ~= nil then
    local b, err = parse_bool(cfg.write_to_db, "write_to_db")
    if b == nil then return nil, err end
    cfg.write_to_db = b
  end
  for _, k in ipairs({ "incremental", "full" }) do
    if cfg[k] ~= nil then
      local b, err = parse_bool(cfg[k], k)
      if b == nil then return nil, err end
      cfg[k] = b
    end
  end
  for _, k in ipairs({ "data_source_path", "source_type", "tenant_id", "workflow_id", "source_id", "store", "log_dir", "log_level" }) do
    if cfg[k] ~= nil and type(cfg[k]) ~= "string" then
      if type(cfg[k]) == "number" then cfg[k] = tostring(cfg[k])
      else return nil, string.format("field '%s' must be a string", k) end
    end
  end
  local st, sterr = sourcetypes.check(cfg.source_type or "auto")
  if not st then return nil, sterr end
  cfg.source_type = st
  local ok, ferr = M.check_outcome_rules(cfg)
  if not ok then return nil, ferr end
  if cfg.sources ~= nil then
    if type(cfg.sources) ~= "table" or (next(cfg.sources) ~= nil and not json.is_array(cfg.sources)) then
      return nil, "field 'sources' must be an array of objects"
    end
    if #cfg.sources > 0 and not cfg.workflow_id then
      return nil, "missing required field 'workflow_id' (required with 'sources')"
    end
    for i, s in ipairs(cfg.sources) do
      if type(s) ~= "table" then return nil, string.format("field 'sources[%d]' must be an object", i) end
      for k, v in pairs(s) do
        local a = aliases[k]
        if a and s[a] == nil then s[a] = v end
      end
      if s.source_id == nil or s.source_id == "" then
        return nil, string.format("missing required field 'sources[%d].source_id'", i)
      end
      if s.source_type ~= nil and s.source_type ~= "" then
        local sst, serr = sourcetypes.check(s.source_type, string.format("sources[%d].source_type", i))
        if not sst then return nil, serr end
        s.source_type = sst
      end
    end
  end
  return cfg
end

local function config_bool(v)
  local b = parse_bool(v == nil and false or v, "write_to_db")
  return b == true
end

--- Builds the configuration.
-- opts: args (job arguments), getenv (default os.getenv), job_type.
-- Returns cfg or nil, message (a usage error).
function M.load(opts)
  local getenv = opts.getenv or os.getenv
  local parsed, err = M.parse_args(opts.args or {})
  if not parsed then return nil, err end

  local cfg = merge({}, M.defaults)
  local env, eerr = from_env(getenv)
  if not env then return nil, eerr end
  merge(cfg, env)

  if parsed.config_file then
    local text, ferr = read_file(parsed.config_file)
    if not text then return nil, "cannot read --config file: " .. ferr end
    local t, jerr = decode_object(text, "--config " .. parsed.config_file)
    if not t then return nil, jerr end
    merge(cfg, t)
  end

  local payload_text, payload_what = getenv("NUVYN_JOB_PAYLOAD"), "NUVYN_JOB_PAYLOAD"
  if parsed.payload_file then
    local text, ferr = read_file(parsed.payload_file)
    if not text then return nil, "cannot read --payload file: " .. ferr end
    payload_text, payload_what = text, "--payload " .. parsed.payload_file
  end
  if payload_text and payload_text ~= "" then
    local t, jerr = decode_object(payload_text, payload_what)
    if not t then return nil, jerr end
    merge(cfg, t)
  end

  merge(cfg, parsed.values)
  if opts.job_type then cfg.job_type = opts.job_type end
  -- spec 002: with --write-to-db and DATABRICKS_* set, the store is Databricks SQL
  -- (unless a store was chosen explicitly)
  local d = cfg.databricks or {}
  if cfg.store == M.defaults.store and config_bool(cfg.write_to_db) and d.server_hostname and d.http_path
      and (d.access_token or d.token) then
    cfg.store = "databricks"
  end
  return validate(cfg)
end

M.parse_bool = parse_bool
return M
