-- nv.store.databricks: the Databricks SQL dialect of the `_executor_metadata`
-- store (see find_dialect in nv.store), over nv.databricks (the SQL
-- Statement Execution API). The tables live in <catalog>._executor_metadata
-- (catalog from cfg.databricks.catalog, NVLUA_DATABRICKS_CATALOG or the
-- URL's ?catalog=, default hive_metastore), created on open when missing,
-- as Delta tables.
--
-- Store URLs: "databricks" (host, HTTP path and token from configure() or
-- DATABRICKS_SERVER_HOSTNAME / DATABRICKS_HTTP_PATH /
-- DATABRICKS_ACCESS_TOKEN) or "databricks://<host>/<http_path>[?catalog=C]"
-- (the token still comes from the configuration, never from the URL).
--
-- Traps:
--  * Databricks SQL has no multi-statement transactions. BEGIN / COMMIT /
--    ROLLBACK (what nv.store's transaction() sends) are handled here: after
--    BEGIN, writes are queued; COMMIT sends them in order, consecutive
--    INSERTs into one table merged into multi-row INSERTs (one round trip
--    per ~max_params values); ROLLBACK drops the queue. So a Lua error
--    inside a transaction writes nothing, but a statement failing during
--    COMMIT leaves the earlier ones applied (each Delta statement is
--    atomic on its own). Reads inside a transaction do not see the queue.
--  * nv.store's CREATE TABLE carries a PRIMARY KEY clause, which the
--    hive_metastore catalog rejects (key constraints exist only in Unity
--    Catalog, and only as informational ones): it is dropped, and
--    `USING DELTA` appended.
--  * Timestamps arrive as text ("2026-01-02 03:04:05.678"); a STRING
--    parameter cannot be store-assigned to a TIMESTAMP column, so INSERT
--    parameters for nv.schema's timestamp columns are typed TIMESTAMP.
local schema = require "nv.schema"
local databricks = require "nv.databricks"
local json = require "nv.json"

local M = {
  name = "databricks",
  begin = "BEGIN",
  transactions = false, -- no server-side transactions; see the header
}

local function quote(id)
  return "`" .. tostring(id):gsub("`", "``") .. "`"
end
M.quote = quote

local configured -- cfg.databricks given to configure()

--- Settings for later opens (cfg.databricks: server_hostname, http_path,
-- access_token, catalog, insecure_http, statement_timeout, max_params);
-- nil clears. Environment variables fill what is missing.
function M.configure(cfg)
  configured = cfg
end

local function catalog_of(cfg, url_catalog)
  return url_catalog or (cfg and cfg.catalog ~= json.null and cfg.catalog) or os.getenv("NVLUA_DATABRICKS_CATALOG")
      or "hive_metastore"
end

M.catalog = "hive_metastore" -- the catalog of the last open, for qualified()

function M.qualified(sname, tname)
  return quote(M.catalog) .. "." .. quote(sname) .. "." .. quote(tname)
end

-- logical type of each column, by table
local timestamp_cols = {}
for _, t in ipairs(schema.tables) do
  local set = {}
  for _, c in ipairs(t.columns) do
    if c[2] == "timestamp" then set[c[1]] = true end
  end
  timestamp_cols[t.name] = set
end

local function unquote(s)
  return (s:match("^`(.*)`$") or s):gsub("``", "`")
end

-- INSERT INTO <q> (`a`, `b`) VALUES (?, ?) -> {target, table, cols}
local function parse_insert(sql)
  local target, cols, marks = sql:match("^INSERT INTO (.-) %((.-)%) VALUES %(([?, ]*)%)$")
  if not target then return nil end
  local list = {}
  for c in (cols .. ","):gmatch("%s*(`[^`]*`)%s*,") do list[#list + 1] = unquote(c) end
  local _, nmarks = marks:gsub("%?", "")
  if #list ~= nmarks then return nil end
  local tname = unquote(target:match("(`[^`]*`)$") or "")
  return { target = target, table = tname, cols = list }
end

local function typed(ins, values)
  local ts = timestamp_cols[ins.table] or {}
  local types = {}
  for i, c in ipairs(ins.cols) do
    if ts[c] and type(values[i]) == "string" then types[i] = "TIMESTAMP" end
  end
  values.types = types
  return values
end

local function create_for_delta(sql)
  local body = sql:gsub(",%s*PRIMARY KEY %b()%s*\n?%)$", "\n)")
  return body .. " USING DELTA"
end

local DB = {}
DB.__index = DB

local function pack(...)
  return { n = select("#", ...), ... }
end

function DB:run(sql, params)
  local res, err, code, native = self.client:execute(sql, params)
  if not res then return nil, err, code, native end
  return res
end

-- Sends queued INSERTs for one target as multi-row statements.
function DB:flush_inserts(group)
  local cols, index = {}, {}
  for _, item in ipairs(group) do
    for _, c in ipairs(item.ins.cols) do
      if not index[c] then
        cols[#cols + 1] = c
        index[c] = #cols
      end
    end
  end
  local qcols = {}
  for i, c in ipairs(cols) do qcols[i] = quote(c) end
  local head = "INSERT INTO " .. group[1].ins.target .. " (" .. table.concat(qcols, ", ") .. ") VALUES "
  local per_row = math.max(1, #cols)
  local rows_per = math.max(1, math.min(self.max_rows, self.max_params // per_row))
  local ts = timestamp_cols[group[1].ins.table] or {}
  local i = 1
  while i <= #group do
    local marks, params, types = {}, { n = 0 }, {}
    local last = math.min(#group, i + rows_per - 1)
    for r = i, last do
      local item = group[r]
      local vals = {}
      for k, c in ipairs(item.ins.cols) do vals[c] = { v = item.params[k] } end
      local m = {}
      for k, c in ipairs(cols) do
        local cell = vals[c]
        params.n = params.n + 1
        if cell then params[params.n] = cell.v end -- may be false
        if ts[c] and cell and type(cell.v) == "string" then types[params.n] = "TIMESTAMP" end
        m[k] = "?"
      end
      marks[#marks + 1] = "(" .. table.concat(m, ", ") .. ")"
    end
    params.types = types
    local ok, err, code, native = self:run(head .. table.concat(marks, ", "), params)
    if not ok then return nil, err, code, native end
    i = last + 1
  end
  return true
end

function DB:commit()
  local queue = self.queue
  self.queue = nil
  local i = 1
  while i <= #queue do
    local item = queue[i]
    if item.ins then
      local group = { item }
      while queue[i + #group] and queue[i + #group].ins and queue[i + #group].ins.target == item.ins.target do
        group[#group + 1] = queue[i + #group]
      end
      local ok, err, code, native = self:flush_inserts(group)
      if not ok then return nil, err, code, native end
      i = i + #group
    else
      local ok, err, code, native = self:run(item.sql, item.params)
      if not ok then return nil, err, code, native end
      i = i + 1
    end
  end
  return true
end

--- exec(sql, ...) -> true | nil, msg, code (BEGIN/COMMIT/ROLLBACK: see header)
function DB:exec(sql, ...)
  if not self.client then error("attempt to use a closed Databricks store", 2) end
  local verb = sql:match("^%s*(%a+)%s*;?%s*$")
  verb = verb and verb:upper()
  if verb == "BEGIN" then
    if self.queue then return nil, "a transaction is already open", "usage" end
    self.queue = {}
    return true
  elseif verb == "COMMIT" then
    if not self.queue then return true end
    return self:commit()
  elseif verb == "ROLLBACK" then
    self.queue = nil
    return true
  end
  local params = pack(...)
  if sql:match("^CREATE TABLE ") then sql = create_for_delta(sql) end
  local ins = parse_insert(sql)
  if self.queue then
    self.queue[#self.queue + 1] = { sql = sql, params = params, ins = ins }
    return true
  end
  if ins then typed(ins, params) end
  local ok, err, code, native = self:run(sql, params)
  if not ok then return nil, err, code, native end
  return true
end

--- query(sql, ...) -> rows | nil, msg, code
function DB:query(sql, ...)
  if not self.client then error("attempt to use a closed Databricks store", 2) end
  local res, err, code, native = self:run(sql, pack(...))
  if not res then return nil, err, code, native end
  return res.rows
end

function DB:close()
  self.client, self.queue = nil, nil
  return true
end
DB.__gc = DB.close
DB.__close = DB.close

-- "databricks" | "databricks://host[:port]/http/path[?catalog=C]"
local function parse_target(target)
  if target == "databricks" or target == "databricks:" or target == nil then return {} end
  local rest = target:match("^databricks://(.+)$")
  if not rest then return nil, "Databricks store URL must be 'databricks' or 'databricks://<host>/<http_path>'" end
  local q
  rest, q = rest:match("^([^?]*)%??(.*)$")
  local host, path = rest:match("^([^/]+)(/.*)$")
  if not host then return nil, "Databricks store URL needs the warehouse HTTP path: databricks://<host>/sql/1.0/warehouses/<id>" end
  if host:find("@", 1, true) then return nil, "Databricks store URL must not carry credentials; use DATABRICKS_ACCESS_TOKEN" end
  local out = { host = host, http_path = path }
  for k, v in q:gmatch("([^&=]+)=([^&]*)") do
    if k == "catalog" then out.catalog = v end
  end
  return out
end

--- open(target [, cfg]) -> db | nil, msg. cfg: a cfg.databricks table
-- (default: what configure() was given; then the environment).
function M.open(target, cfg)
  local url, uerr = parse_target(target)
  if not url then return nil, uerr end
  cfg = cfg or configured or {}
  local opts = databricks.settings(cfg)
  if url.host then opts.host, opts.http_path = url.host, url.http_path end
  local client, err = databricks.connect(opts)
  if not client then return nil, "Databricks store: " .. err end
  local catalog = catalog_of(cfg, url.catalog)
  M.catalog = catalog
  local db = setmetatable({
    client = client, catalog = catalog,
    max_params = tonumber(cfg.max_params) or tonumber(os.getenv("NVLUA_DATABRICKS_MAX_PARAMS") or "") or 1000,
    max_rows = tonumber(cfg.max_rows) or 500,
  }, DB)
  local sname = quote(catalog) .. "." .. quote(schema.name)
  local ok, cerr = db:run("CREATE SCHEMA IF NOT EXISTS " .. sname)
  if not ok then
    return nil, string.format("cannot prepare schema %s.%s: %s", catalog, schema.name, cerr)
  end
  return db
end

function M.list_tables(db)
  local rows, err = db:query("SHOW TABLES IN " .. quote(db.catalog) .. "." .. quote(schema.name))
  if not rows then return nil, err end
  local set = {}
  for _, r in ipairs(rows) do
    if r.isTemporary ~= true then set[r.tableName] = true end
  end
  return set
end

function M.list_columns(db, tname)
  local rows, err = db:query("DESCRIBE TABLE " .. quote(db.catalog) .. "." .. quote(schema.name) .. "."
    .. quote(tname))
  if not rows then return nil, err end
  local set = {}
  for _, r in ipairs(rows) do
    local n = r.col_name
    if n == nil or n == "" or n:match("^#") then break end
    set[n] = true
  end
  return set
end

return M
