-- nv.databricks: a small client of the Databricks SQL Statement Execution
-- API (POST /api/2.0/sql/statements) on top of nv.http.
--
--   databricks.connect(opts)        -> client | nil, msg, code
--   databricks.settings(cfg, env)   -> opts for connect from a config
--                                      table (cfg.databricks) and the
--                                      DATABRICKS_* environment
--   client:execute(sql, params)     -> result | nil, msg, code
--       result = {statement_id, columns = {{name, type_name, type_text}},
--                 rows = {{col = value, …}}, row_count}
--   client:query(sql, ...)          -> rows | nil, msg, code
--   client:exec(sql, ...)           -> true | nil, msg, code
--   client:get(path, query)         -> decoded JSON | nil, msg, code
--                                      (any REST GET, e.g. Unity Catalog;
--                                      connect{rest_only = true} needs no
--                                      warehouse)
--
-- opts: host (DATABRICKS_SERVER_HOSTNAME: a host name, https:// implied,
-- or a full URL; plain http:// only for loopback hosts or with
-- insecure_http = true), http_path ("/sql/1.0/warehouses/<id>", which
-- gives the warehouse id; or warehouse_id), token (DATABRICKS_ACCESS_TOKEN,
-- sent only as a bearer token, which nv.http registers for masking),
-- timeout (seconds a statement may take, default 600: then it is cancelled),
-- wait_timeout ("10s"; "0s" or 5-50 s), poll_base (0.25 s), poll_max (5 s),
-- http_timeout (60 s per request), retries (3: nv.http retries connect
-- errors, 429 and 5xx), catalog / schema (defaults for unqualified names).
--
-- Parameters: the `?` markers of the store's SQL (outside quotes,
-- backquotes and comments) become named markers :p1, :p2, … with
-- {name, value, type}; every value travels as text with its type (Lua
-- integer BIGINT, float DOUBLE, boolean BOOLEAN, string STRING, or the
-- type given in params.types[i], e.g. "TIMESTAMP"). nil / json.null
-- become the literal NULL in the SQL (an untyped NULL fits any column).
--
-- Results are requested INLINE in JSON_ARRAY format, every chunk is
-- followed (next_chunk_internal_link), and values are decoded with the
-- manifest schema: integer types to Lua integers, FLOAT/DOUBLE/DECIMAL to
-- numbers, BOOLEAN to booleans, everything else stays text. A response
-- with external_links (EXTERNAL_LINKS disposition) is refused with a clear
-- message: those URLs carry temporary credentials and need no token.
--
-- Failures return nil, message, kind, native (README "Errors"): kind
-- "auth" (401/403; native the HTTP status), "connect" (another non-2xx;
-- the HTTP status), "sql" (state FAILED; the message ends with the
-- SQLSTATE, also the native code), "cancelled" (the statement was
-- canceled, or closed before its result was read), "timeout", "limit" (too
-- many chunks, a truncated result), "unsupported" (external links), "parse" (a
-- response we cannot read), "usage" (a bad host, HTTP path, token or
-- wait_timeout), or nv.http's transfer kinds. Messages never carry the
-- token.
local http = require "nv.http"
local json = require "nv.json"
local log = require "nv.log"
local sys = require "nv.sys"

local M = {}

local sleep = sys.sleep
M.sleep = sleep -- replaceable by tests

local function is_loopback(host)
  return host == "127.0.0.1" or host == "localhost" or host == "[::1]" or host:match("^127%.%d+%.%d+%.%d+$")
end

--- The workspace base URL for a host setting: url | nil, msg.
function M.base_url(host, insecure_http)
  if type(host) ~= "string" or host == "" then
    return nil, "Databricks host is not set (DATABRICKS_SERVER_HOSTNAME)"
  end
  host = host:gsub("/+$", "")
  local scheme, rest = host:match("^(%a[%w+.-]*)://(.+)$")
  if not scheme then return "https://" .. host end
  scheme = scheme:lower()
  if scheme == "https" then return "https://" .. rest end
  if scheme == "http" then
    local h = rest:match("^([^/:]+)") or rest:match("^(%[[^%]]+%])")
    if insecure_http or (h and is_loopback(h)) then return "http://" .. rest end
    return nil, "Databricks host " .. log.mask(host) .. ": plain http:// is only allowed for loopback hosts"
      .. " (or with databricks.insecure_http)"
  end
  return nil, "Databricks host " .. log.mask(host) .. ": unsupported scheme " .. scheme
end

--- The warehouse id in an HTTP path ("/sql/1.0/warehouses/<id>" or the
-- older "/sql/1.0/endpoints/<id>"): id | nil, msg.
function M.warehouse_id(http_path)
  if type(http_path) ~= "string" or http_path == "" then
    return nil, "Databricks HTTP path is not set (DATABRICKS_HTTP_PATH)"
  end
  local id = http_path:match("^/?sql/[%d.]+/warehouses/([%w-]+)/?$")
      or http_path:match("^/?sql/[%d.]+/endpoints/([%w-]+)/?$")
  if not id then
    return nil, "Databricks HTTP path '" .. http_path .. "' is not a SQL warehouse path (/sql/1.0/warehouses/<id>)"
  end
  return id
end

--- Connection options from a config table (cfg.databricks) over the
-- environment (getenv defaults to os.getenv).
function M.settings(cfg, getenv)
  cfg = cfg or {}
  getenv = getenv or os.getenv
  local function pick(key, env)
    local v = cfg[key]
    if v == nil or v == "" or v == json.null then v = env and getenv(env) end
    if v == "" then v = nil end
    return v
  end
  local insecure = cfg.insecure_http
  if insecure == nil then
    local e = getenv("NVLUA_DATABRICKS_INSECURE_HTTP")
    insecure = e == "1" or e == "true"
  end
  return {
    host = pick("server_hostname", "DATABRICKS_SERVER_HOSTNAME") or pick("workspace_url", "DATABRICKS_WORKSPACE_URL")
        or pick("host", "DATABRICKS_HOST"),
    http_path = pick("http_path", "DATABRICKS_HTTP_PATH"),
    warehouse_id = pick("warehouse_id", "DATABRICKS_WAREHOUSE_ID"),
    token = pick("access_token", "DATABRICKS_ACCESS_TOKEN") or pick("token", "DATABRICKS_TOKEN"),
    insecure_http = insecure and true or false,
    timeout = tonumber(pick("statement_timeout", "NVLUA_DATABRICKS_TIMEOUT")),
    catalog = pick("catalog", "NVLUA_DATABRICKS_CATALOG"),
  }
end

-- ---- placeholders ------------------------------------------------------

--- Rewrites `?` markers to :p1, :p2, … (not inside '…', "…", `…`, -- and
-- /* */ comments). nulls[i] = true puts NULL in place of the i-th marker.
-- Returns sql, number of markers.
function M.named_markers(sql, nulls)
  nulls = nulls or {}
  local out, n, i, len = {}, 0, 1, #sql
  while i <= len do
    local c = sql:sub(i, i)
    if c == "'" or c == '"' or c == "`" then
      local j = i + 1
      while j <= len do
        local d = sql:sub(j, j)
        if d == "\\" and c ~= "`" then
          j = j + 2
        elseif d == c then
          if sql:sub(j + 1, j + 1) == c then j = j + 2 else break end
        else
          j = j + 1
        end
      end
      out[#out + 1] = sql:sub(i, j)
      i = j + 1
    elseif c == "-" and sql:sub(i + 1, i + 1) == "-" then
      local j = sql:find("\n", i, true) or len
      out[#out + 1] = sql:sub(i, j)
      i = j + 1
    elseif c == "/" and sql:sub(i + 1, i + 1) == "*" then
      local _, j = sql:find("*/", i + 2, true)
      j = j or len
      out[#out + 1] = sql:sub(i, j)
      i = j + 1
    elseif c == "?" then
      n = n + 1
      out[#out + 1] = nulls[n] and "NULL" or (":p" .. n)
      i = i + 1
    else
      local j = sql:find("['\"`?/-]", i + 1) or (len + 1)
      out[#out + 1] = sql:sub(i, j - 1)
      i = j
    end
  end
  return table.concat(out), n
end

local function param_of(name, v, ptype)
  local t = math.type(v)
  if ptype then
    if type(v) == "boolean" then v = tostring(v) end
    if t == "float" then v = string.format("%.17g", v) end
    return { name = name, value = tostring(v), type = ptype }
  end
  if t == "integer" then return { name = name, value = tostring(v), type = "BIGINT" } end
  if t == "float" then
    if v ~= v or v == math.huge or v == -math.huge then
      return { name = name, value = v ~= v and "NaN" or (v > 0 and "Infinity" or "-Infinity"), type = "DOUBLE" }
    end
    return { name = name, value = string.format("%.17g", v), type = "DOUBLE" }
  end
  if type(v) == "boolean" then return { name = name, value = tostring(v), type = "BOOLEAN" } end
  if type(v) == "string" then return { name = name, value = v, type = "STRING" } end
  error("nv.databricks: parameter " .. name .. " has unsupported type " .. type(v), 3)
end

--- The request's statement text and parameter list for sql with `?`
-- markers and params (an array, n = count; params.types optional).
function M.bind(sql, params, n)
  params = params or {}
  n = n or params.n or #params
  local types = params.types or {}
  local nulls = {}
  for i = 1, n do
    local v = params[i]
    if v == nil or v == json.null then nulls[i] = true end
  end
  local text, markers = M.named_markers(sql, nulls)
  if markers ~= n then
    error(string.format("nv.databricks: the statement has %d parameter markers but %d values were given",
      markers, n), 3)
  end
  local list = json.array()
  for i = 1, n do
    if not nulls[i] then list[#list + 1] = param_of("p" .. i, params[i], types[i]) end
  end
  return text, list
end

-- ---- decoding ----------------------------------------------------------

local int_types = { BYTE = true, SHORT = true, INT = true, LONG = true }
local num_types = { FLOAT = true, DOUBLE = true, DECIMAL = true }

local function decode_value(v, tname)
  if v == nil or v == json.null then return nil end
  if type(v) ~= "string" then return v end
  if int_types[tname] then return math.tointeger(tonumber(v)) or tonumber(v) or v end
  if num_types[tname] then return tonumber(v) or v end
  if tname == "BOOLEAN" then
    if v == "true" then return true elseif v == "false" then return false end
  end
  return v
end

-- ---- the client ----------------------------------------------------------

local Client = {}
Client.__index = Client

--- Opens a client (no request is made): client | nil, msg, "usage".
function M.connect(opts)
  opts = opts or {}
  local base, berr = M.base_url(opts.host, opts.insecure_http)
  if not base then return nil, berr, "usage" end
  local wid = opts.warehouse_id
  if not wid and not opts.rest_only then
    local werr
    wid, werr = M.warehouse_id(opts.http_path)
    if not wid then return nil, werr, "usage" end
  end
  if type(opts.token) ~= "string" or opts.token == "" then
    return nil, "Databricks access token is not set (DATABRICKS_ACCESS_TOKEN)", "usage"
  end
  log.add_secret(opts.token)
  local wait = opts.wait_timeout or "10s"
  local ws = tonumber(tostring(wait):match("^(%d+)s$") or "")
  if not ws or (ws ~= 0 and (ws < 5 or ws > 50)) then
    return nil, "wait_timeout must be \"0s\" or between \"5s\" and \"50s\", got " .. tostring(wait), "usage"
  end
  return setmetatable({
    base = base, warehouse = wid, token = opts.token, wait_timeout = wait,
    timeout = tonumber(opts.timeout) or 600, poll_base = tonumber(opts.poll_base) or 0.25,
    poll_max = tonumber(opts.poll_max) or 5, http_timeout = tonumber(opts.http_timeout) or 60,
    retries = tonumber(opts.retries) or 3, retry_base = tonumber(opts.retry_base),
    catalog = opts.catalog, schema = opts.schema, statements = 0,
  }, Client)
end

local function api_error(resp)
  local body = resp.json or json.decode(resp.body or "")
  local msg
  if type(body) == "table" then
    msg = body.message or (body.error and body.error.message)
    if body.error_code and msg then msg = body.error_code .. ": " .. msg end
  end
  if not msg then msg = (resp.body or ""):sub(1, 200):gsub("%s+", " ") end
  return log.mask(msg)
end

-- One REST call: decoded JSON | nil, msg, code.
function Client:call(method, path, body)
  local req = {
    method = method, url = self.base .. path, bearer = self.token, timeout = self.http_timeout,
    retries = self.retries, retry_base = self.retry_base,
    headers = { Accept = "application/json" },
  }
  if body ~= nil then
    req.body = json.encode(body)
    req.headers["Content-Type"] = "application/json"
  end
  local resp, err, code, native = http.request(req)
  if not resp then return nil, log.mask(tostring(err)), code, native end
  if resp.status == 401 or resp.status == 403 then
    return nil, string.format("Databricks rejected the access token (HTTP %d on %s %s): %s", resp.status, method,
      path:match("^[^?]*"), api_error(resp)), "auth", resp.status
  end
  if resp.status < 200 or resp.status > 299 then
    return nil, string.format("Databricks %s %s: HTTP %d: %s", method, path:match("^[^?]*"), resp.status,
      api_error(resp)), "connect", resp.status
  end
  local decoded = json.decode(resp.body or "")
  if type(decoded) ~= "table" then
    return nil, string.format("Databricks %s %s: the response is not JSON", method, path:match("^[^?]*")), "parse"
  end
  return decoded
end

local function urlencode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

--- GET path with query parameters (a table; keys sorted): JSON | nil, msg, code.
function Client:get(path, query)
  local parts = {}
  if query then
    local keys = {}
    for k in pairs(query) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do parts[#parts + 1] = urlencode(k) .. "=" .. urlencode(query[k]) end
  end
  return self:call("GET", path .. (#parts > 0 and ("?" .. table.concat(parts, "&")) or ""))
end

local function failure(st, sql_head)
  local status = st.status or {}
  local e = status.error or {}
  local msg = e.message or e.error_code or "no message"
  local state = status.sql_state
  if state and not msg:find(state, 1, true) then msg = msg .. " (SQLSTATE " .. state .. ")" end
  return string.format("Databricks SQL statement failed: %s [%s]", log.mask(msg), sql_head)
end

local function head(sql)
  local s = sql:gsub("%s+", " "):gsub("^ ", "")
  if #s > 80 then s = s:sub(1, 77) .. "..." end
  return s
end

-- Collects the rows of a SUCCEEDED statement into res.
function Client:collect(st, res)
  local manifest = st.manifest or {}
  if manifest.format and manifest.format ~= "JSON_ARRAY" then
    return nil, "Databricks returned results in format " .. tostring(manifest.format) .. "; only JSON_ARRAY is read",
      "parse"
  end
  local cols = json.array()
  for i, c in ipairs((manifest.schema or {}).columns or {}) do
    cols[i] = { name = c.name, type_name = c.type_name or "STRING", type_text = c.type_text,
                position = math.tointeger(c.position) or (i - 1) }
  end
  res.columns = cols
  local rows = json.array()
  local chunk = st.result
  local seen = 0
  while chunk and chunk ~= json.null do
    if chunk.external_links and chunk.external_links ~= json.null then
      return nil, "Databricks returned the result as external links (EXTERNAL_LINKS disposition), which nvlua does"
        .. " not fetch; use disposition INLINE (results up to 25 MiB) or a smaller result", "unsupported"
    end
    for _, r in ipairs(chunk.data_array or {}) do
      local row = {}
      for i, c in ipairs(cols) do row[c.name] = decode_value(r[i], c.type_name) end
      rows[#rows + 1] = row
    end
    seen = seen + 1
    local link = chunk.next_chunk_internal_link
    if link == nil or link == json.null then
      local nidx = chunk.next_chunk_index
      if nidx == nil or nidx == json.null then break end
      link = string.format("/api/2.0/sql/statements/%s/result/chunks/%d", st.statement_id, math.tointeger(nidx))
    end
    if seen > 100000 then return nil, "Databricks result has too many chunks", "limit" end
    local err, code, native
    chunk, err, code, native = self:call("GET", link)
    if not chunk then return nil, err, code, native end
  end
  if manifest.truncated == true then
    return nil, "Databricks truncated the result (row or byte limit)", "limit"
  end
  res.rows, res.row_count = rows, #rows
  return res
end

--- Runs one statement; polls until it ends or opts.timeout passes.
-- params: array of values (params.n for trailing nils, params.types).
function Client:execute(sql, params)
  local text, plist = M.bind(sql, params)
  local req = {
    warehouse_id = self.warehouse, statement = text, wait_timeout = self.wait_timeout,
    on_wait_timeout = "CONTINUE", disposition = "INLINE", format = "JSON_ARRAY",
  }
  if #plist > 0 then req.parameters = plist end
  if self.catalog then req.catalog = self.catalog end
  if self.schema then req.schema = self.schema end
  local sql_head = head(text)
  local t0 = sys.monotonic()
  self.statements = self.statements + 1
  local st, err, code, native = self:call("POST", "/api/2.0/sql/statements", req)
  if not st then return nil, err .. " [" .. sql_head .. "]", code, native end
  local delay, polls = self.poll_base, 0
  while true do
    local state = type(st.status) == "table" and st.status.state
    if state == "SUCCEEDED" then
      return self:collect(st, { statement_id = st.statement_id, polls = polls })
    elseif state == "FAILED" then
      return nil, failure(st, sql_head), "sql", type(st.status) == "table" and st.status.sql_state or nil
    elseif state == "CANCELED" then
      return nil, "Databricks SQL statement was canceled [" .. sql_head .. "]", "cancelled"
    elseif state == "CLOSED" then
      return nil, "Databricks SQL statement was closed before its result was read [" .. sql_head .. "]", "cancelled"
    elseif state ~= "PENDING" and state ~= "RUNNING" then
      return nil, "Databricks returned an unknown statement state " .. tostring(state), "parse"
    end
    local id = st.statement_id
    if type(id) ~= "string" or not id:match("^[%w%-]+$") then
      return nil, "Databricks returned a pending statement without a valid statement_id", "parse"
    end
    local elapsed = sys.monotonic() - t0
    if elapsed >= self.timeout then
      self:call("POST", "/api/2.0/sql/statements/" .. id .. "/cancel", {})
      return nil, string.format("Databricks SQL statement still %s after %.0f s; canceled [%s]", state,
        self.timeout, sql_head), "timeout"
    end
    M.sleep(math.min(delay, self.timeout - elapsed))
    delay = math.min(delay * 2, self.poll_max)
    polls = polls + 1
    st, err, code, native = self:call("GET", "/api/2.0/sql/statements/" .. id)
    if not st then return nil, err .. " [" .. sql_head .. "]", code, native end
  end
end

local function pack(...)
  return { n = select("#", ...), ... }
end

function Client:query(sql, ...)
  local res, err, code, native = self:execute(sql, pack(...))
  if not res then return nil, err, code, native end
  return res.rows
end

function Client:exec(sql, ...)
  local res, err, code, native = self:execute(sql, pack(...))
  if not res then return nil, err, code, native end
  return true
end

M.Client = Client
return M
