-- nv.dbsource: the driver every SQL connector shares. It runs
-- connect -> catalog -> profile -> model for a source whose connector
-- (connectors/postgresql.lua, mysql.lua, odbc.lua, sqlite.lua, or a tenant's)
-- declares `engine` (its name) and `dialect` (the table this driver calls);
-- the catalog SQL, type normalization and aggregates are the connector's,
-- the shared SQL machinery is nv.sqlcatalog (filters, options, the model's
-- tables, table status) and nv.sqlprofile (pushed-down aggregates, sample
-- profiling, the degradation chain).
--
--   dbsource.source(ctx, src, opts, model) -> model
--   dbsource.resolve(src)                   -> engine name, target | nil, msg
--   dbsource.test_connection(src, opts)     -> true, info | nil, msg, code, native code
--   dbsource.kinds()                        -> {source_type or scheme -> engine}
--   dbsource.engines[name]                  -> that connector's dialect
--   dbsource.supported_asset_types()        -> {"database", "schema", ...}
--
-- src = {source_id, data_source_path, source_type}; the path is a URL of a
-- scheme a SQL connector claims (postgresql://, mysql://, mariadb://,
-- sqlite:/path), an ODBC connection string "odbc:Driver=…;…" / "odbc:DSN=…",
-- or, with the connector's source_type, a bare target (a libpq
-- "host=… dbname=…" string, "Driver=…;…", a SQLite file path).
--
-- A dialect has: driver (the nv.* module with open/describe) or open(target,
-- o) / describe(target); quote(id); system_schemas, system_like; catalog(db,
-- opts, run, call, dialect, desc) (the shape is in nv.sqlcatalog);
-- normalize(c); aggregates(q, c, dialect) (nv.sqlprofile); and optionally
-- timeout_sql(s), query_timeout (the driver takes opts.query_timeout),
-- target(path), where(desc), prepare(opts, src) -> hint | nil, msg (checked
-- before connecting), for_connection(db, hint) -> the dialect for that
-- connection, reach(db, dialect, desc) -> {server_version, user, database,
-- schemas} (test_connection; by default from sql.whoami and
-- sql.visible_schemas filtered on schema_expr), auth_codes / auth_messages
-- (which failures are "auth"), degrade, minimal_aggregates, max_rows_samples.
--
-- opts (all optional):
--   include_schemas, exclude_schemas, include_tables, exclude_tables
--       glob patterns (* and ?), a list or a comma-separated string
--   profile = "pushdown" (default) | "sample" (sampled rows through
--       nv.profile) | "none" (catalog only)
--   sample_rows (5; rows kept as samples), profile_rows (10000; "sample")
--   exact_counts (with profile = "none": COUNT(*) per table)
--   connect_timeout (5 s), query_timeout (seconds, none by default)
--   chunk_columns (200), on_catalog = fn(model, conn) (a hook for tests,
--       called after the catalog queries with the source connection)
--   odbc_engine (connectors/odbc.lua)
-- Connections are read-only sessions; passwords are registered as secrets
-- before anything can log them and never reach the model.
local json = require "nv.json"
local log = require "nv.log"
local quality = require "nv.quality"
local sqlcatalog = require "nv.sqlcatalog"
local sqlprofile = require "nv.sqlprofile"
local sys = require "nv.sys"

local M = {}

local function sql_connectors()
  local out = {}
  for _, c in ipairs(require("nv.connectors").list()) do
    if c.engine then out[#out + 1] = c end
  end
  return out
end

--- source type (or URL scheme) -> engine: the aliases and schemes of the
-- connectors that declare an engine.
function M.kinds()
  local out = {}
  for _, c in ipairs(sql_connectors()) do
    for _, a in ipairs(c.source_types or {}) do out[a] = c.engine end
    for _, s in ipairs(c.schemes or {}) do out[s] = c.engine end
  end
  return out
end

--- engines[name]: the dialect of the connector whose engine is name.
M.engines = setmetatable({}, { __index = function(_, name)
  local c = require("nv.connectors").get(name) -- an engine is named for its connector
  if c and c.engine == name then return c.dialect end
  for _, x in ipairs(sql_connectors()) do
    if x.engine == name then return x.dialect end
  end
end })
local engines = M.engines

function M.supported_asset_types()
  return json.array({ "database", "schema", "table", "view", "column" })
end

--- Which engine serves a source: engine name, target | nil, msg.
function M.resolve(src)
  local path = src.data_source_path or ""
  if path:match("^odbc:") then return "odbc", path end
  if src.source_type == "odbc" then
    if path == "" then return nil, "an ODBC source needs a connection string (odbc:Driver=…;… or odbc:DSN=…)" end
    return "odbc", path
  end
  local kinds = M.kinds()
  local kind = kinds[(path:match("^(%a[%w+.-]*):") or ""):lower()]
  -- a URL (scheme://…), or scheme:… for a dialect that reads its own
  -- targets (sqlite:/path); else the source type names the kind
  if not (kind and (path:match("^%a[%w+.-]*://") or (engines[kind] or {}).target)) then
    kind = kinds[src.source_type or ""]
    if kind == "odbc" then -- snowflake, sqlserver, databricks_sql: through their ODBC drivers
      return nil, string.format("a %s source needs an ODBC connection string (odbc:Driver=…;… or odbc:DSN=…)",
        tostring(src.source_type))
    end
    if path == "" then kind = nil end
  end
  if not kind then
    return nil, string.format("cannot tell the database kind of source type '%s'", tostring(src.source_type))
  end
  local d = engines[kind]
  if d and d.target then return kind, d.target(path) end
  return kind, path
end

local function describe(kind, target)
  local d = engines[kind]
  local desc = d.describe and d.describe(target) or require(d.driver).describe(target)
  if not desc then return { kind = kind } end
  return { kind = kind, host = desc.host, port = desc.port and tostring(desc.port), database = desc.database,
           user = desc.user, driver = desc.driver, dsn = desc.dsn }
end

local function where(desc)
  local d = engines[desc.kind]
  if d and d.where then return d.where(desc) end
  return string.format("%s://%s%s:%s/%s", desc.kind, desc.user and (desc.user .. "@") or "",
    desc.host or "?", desc.port or "?", desc.database or "")
end

-- A failed connection's kind: "auth" when the server refused the user
-- (the driver says so, SQLSTATE class 28, a dialect's auth_codes, or a
-- message its auth_messages know; then the SQLSTATE they name is the
-- native code); the driver's kind when it is about the source itself
-- ("usage", "io", "parse", "notfound", "permission", "timeout", …); else
-- "connect". Returns kind, native code.
local PASS = { usage = true, io = true, parse = true, notfound = true, permission = true, timeout = true,
               memory = true, unsupported = true, cancelled = true, limit = true }
local function failure_kind(d, msg, kind, native)
  local n = tostring(native or "")
  if kind == "auth" or n:match("^28") or (d.auth_codes or {})[native] then return "auth", native end
  for pat, state in pairs(d.auth_messages or {}) do
    if tostring(msg):find(pat) then return "auth", state end
  end
  if PASS[kind] then return kind, native end
  return "connect", native
end

--- Opens a read-only connection for a source: conn, kind, desc, dialect |
-- nil, msg, code, native code.
local function connect(src, opts)
  local kind, target = M.resolve(src)
  if not kind then return nil, target, "usage" end
  local base = engines[kind]
  local desc = describe(kind, target)
  local hint
  if base.prepare then
    local h, herr = base.prepare(opts, src)
    if not h then return nil, herr, "usage" end
    hint = h
  end
  local qt = tonumber(opts.query_timeout)
  local o = { connect_timeout = tonumber(opts.connect_timeout) or 5, read_only = true,
              application_name = "nvlua source",
              query_timeout = base.query_timeout and qt and math.max(1, math.ceil(qt)) or nil }
  local db, err, fkind, native
  if base.open then
    db, err, fkind, native = base.open(target, o)
  else
    db, err, fkind, native = require(base.driver).open(target, o)
  end
  if not db then
    local code, n = failure_kind(base, err, fkind, native)
    return nil, log.mask(tostring(err)), code, n
  end
  local eng = base.for_connection and base.for_connection(db, hint) or base
  if qt and eng.timeout_sql then
    local ok, terr, _, tnative = db:exec(eng.timeout_sql(qt))
    if not ok then
      db:close()
      return nil, log.mask(tostring(terr)), "connect", tnative
    end
  end
  return db, kind, desc, eng
end

--- The dialect for an open connection of kind (ODBC: by choice, an
-- odbc_engine value, or the DBMS behind the driver).
function M.engine_for(kind, db, choice)
  local d = engines[kind]
  if d.for_connection then return d.for_connection(db, { engine = choice }) end
  return d
end

--- odbc_engine(opts) -> a name of odbc_engines | nil, msg (connectors/odbc.lua).
function M.odbc_engine(opts) return engines.odbc.odbc_engine(opts) end

local SHOWN_SCHEMAS = 10

-- test_connection of a dialect without reach(): its sql.whoami (version,
-- user_name, db_name) and sql.visible_schemas (filtered on schema_expr)
local function default_reach(db, d)
  local sql = d.sql or {}
  if not (sql.whoami and sql.visible_schemas) then return { schemas = {} } end
  local rows, err, kind, native = db:query(sql.whoami)
  if not rows then return nil, err, kind, native end
  local names, serr, skind, snative = sqlcatalog.schema_names(db, d, sql.visible_schemas, d.schema_expr)
  if not names then return nil, serr, skind, snative end
  local r = rows[1] or {}
  return { server_version = r.version, user = r.user_name, database = r.db_name, schemas = names }
end

--- Connects and says what it reached: true, info = {kind, description,
-- server_version, user, database, schema_count, schemas (the first 10
-- names), and the driver's own info fields} | nil, msg, code ("usage",
-- "connect", "auth", "io", "parse"), native code (SQLSTATE, errno).
-- Secrets are masked in every string.
function M.test_connection(src, opts)
  local db, kind, desc, eng = connect(src, opts or {})
  if not db then return nil, kind, desc, eng end
  local info = db.info and db:info() or {}
  local reach, rerr, _, rnative = (eng.reach or default_reach)(db, eng, desc)
  db:close()
  if not reach then return nil, log.mask(tostring(rerr)), "connect", rnative end
  info.kind = kind
  info.description = where(desc)
  info.server_version = reach.server_version or info.server_version
  info.user = reach.user or info.user
  info.database = reach.database or info.database
  info.profile = reach.profile
  info.tables = reach.tables
  local names = reach.schemas or {}
  info.schema_count = #names
  info.schemas = json.array()
  for i = 1, math.min(#names, SHOWN_SCHEMAS) do info.schemas[i] = names[i] end
  for k, v in pairs(info) do
    if type(v) == "string" then info[k] = log.mask(v) end
  end
  return true, info
end

--- Extracts one database source into model (see nv.extract.source).
function M.source(ctx, src, opts, model)
  opts = sqlcatalog.options(opts or {})
  local raw = src.data_source_path or ""
  model.source_path = log.mask(raw)
  local kind, target = M.resolve(src)
  if not kind then return sqlcatalog.fail(ctx, model, string.format("source %s: %s", model.source_path, target)) end
  if model.source_type == "auto" or model.source_type == nil then model.source_type = kind end
  local desc = describe(kind, target) -- registers the password before anything logs
  model.source_path = log.mask(raw)
  model.connection_info = json.encode(desc)
  local label = where(desc)
  local db, err, _, eng = connect(src, opts)
  if not db then return sqlcatalog.fail(ctx, model, string.format("source %s: %s", label, err)) end
  local counter = { catalog = 0, profile = 0 }
  local cat_err
  -- optional: a failure is the engine's to handle (rows | nil, message)
  -- instead of failing the source
  local function run(sql, params, optional)
    counter.catalog = counter.catalog + 1
    local rows, qerr = db:query(sql, table.unpack(params or {}))
    if not rows and not optional and not cat_err then cat_err = qerr end
    return rows, qerr
  end
  local function call(method, ...) -- an ODBC catalog function
    counter.catalog = counter.catalog + 1
    local rows, qerr = db[method](db, ...)
    if not rows and not cat_err then cat_err = qerr end
    return rows
  end
  local cat = eng.catalog(db, opts, run, call, eng, desc)
  model.catalog_queries = counter.catalog
  if cat_err or not cat then
    db:close()
    return sqlcatalog.fail(ctx, model, string.format("source %s: catalog query failed: %s", label,
      log.mask(tostring(cat_err))))
  end
  model.warnings = json.array()
  for _, w in ipairs(cat.warnings or {}) do
    local msg = string.format("source %s: %s", label, log.mask(tostring(w)))
    model.warnings[#model.warnings + 1] = msg
    ctx.log:warning("%s", msg)
  end
  model.database, model.server_version = cat.database, cat.version
  model.catalogs = json.array({ { name = cat.database } })
  model.schemas = json.array()
  for _, s in ipairs(cat.schemas or {}) do
    model.schemas[#model.schemas + 1] = { name = s.schema_name, comment = s.comment }
  end
  sqlcatalog.build_tables(model, cat, eng)
  ctx.log:info("Source %s: %d schemas, %d tables (%d catalog queries)", label, #model.schemas,
    #model.tables, counter.catalog)
  if opts.on_catalog then opts.on_catalog(model, db) end
  local failed, partial = 0, 0
  local qopts = { freshness_days = opts.freshness_days }
  for _, t in ipairs(model.tables) do
    if ctx.check_cancel then ctx.check_cancel() end -- a SIGTERM stops between tables
    local ok, perr
    if t.view_error then
      ok, perr = nil, t.view_error
    else
      ok, perr = sqlprofile.profile_table(db, eng, t, opts, counter,
        function(w) sqlcatalog.table_warning(ctx, model, label, t, w) end)
    end
    if not ok and eng.degrade and not t.view_error then
      sqlcatalog.table_partial(ctx, model, label, t, perr)
      partial = partial + 1
    elseif not ok then
      sqlcatalog.table_failed(ctx, model, label, t, perr)
      failed = failed + 1
    end
    for _, c in ipairs(t.columns) do
      c.base_type, c.category, c.element_type = nil, nil, nil
      if c.samples == nil then c.samples = json.array() end
    end
    t.quality = quality.table(t, qopts)
    model.total_size_bytes = model.total_size_bytes + (t.size_bytes or 0)
  end
  db:close()
  model.profile_queries = counter.profile
  if failed > 0 and failed == #model.tables then
    model.status = "failed"
  elseif failed > 0 or partial > 0 then
    model.status = "partial"
  else
    model.status = "success"
  end
  model.quality = quality.summarize(model.tables)
  ctx.log:info("Source %s: %s, %d tables profiled with %d queries", label, model.status,
    #model.tables - failed - partial, counter.profile)
  return model
end

M.now = sys.now
return M
