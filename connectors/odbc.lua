-- connectors/odbc.lua: any ODBC driver through nv.odbc (odbc:DSN=…; or
-- odbc:Driver=…;…, or a bare "Driver=…;…" / "DSN=…" string with
-- source_type odbc). A catalog kind; the driver nv.dbsource runs it.
--
-- The engine follows the DBMS the driver reports (SQLGetInfo
-- SQL_DBMS_NAME), or opts.odbc_engine = "auto" (default) | "generic" |
-- "postgresql" | "mysql" | "sqlite" when the name misleads:
--  * PostgreSQL and MySQL/MariaDB reuse those connectors' dialects
--    unchanged (their catalog queries and pushed-down aggregates, sent
--    through ODBC);
--  * SQLite: one SQLTables and one SQLColumns call for the whole catalog,
--    plus the SQLite connector's pragma joins (keys, indexes) and view
--    definitions;
--  * any other DBMS, the generic engine: the SQLTables + SQLColumns pair
--    plus three INFORMATION_SCHEMA queries (keys with their columns,
--    foreign keys' referenced columns, view definitions; not
--    SQLPrimaryKeys/SQLForeignKeys, which need one call per table) and ANSI
--    aggregates. A DBMS without INFORMATION_SCHEMA, or a user who may not
--    read it, still extracts: no keys or view definitions, and
--    model.warnings says which query failed and why.
-- Snowflake, SQL Server and Databricks SQL are engine profiles of the
-- generic engine (PROFILES: the system schemas they hide): they need an
-- odbc: connection string to their ODBC driver, and their source_type (or
-- the DBMS name) picks the profile.
-- The generic and SQLite engines write only SQL that psqlODBC, MariaDB
-- Connector/ODBC and SQLite3 ODBC all accept: AVG(x * 1e0) for means (CAST …
-- AS DOUBLE PRECISION is not MariaDB's, {fn CONVERT} only psqlODBC
-- translates), {fn CHAR_LENGTH(x)} when the driver lists it in
-- SQL_STRING_FUNCTIONS, else {fn LENGTH(x)} (MariaDB's LENGTH counts bytes,
-- SQLite has no CHAR_LENGTH), booleans counted against a bound TRUE
-- (PostgreSQL has no MIN(boolean)); samples are bounded by SQL_ATTR_MAX_ROWS
-- (nv.odbc's max_rows), not LIMIT (SQL Server has none). They degrade per
-- table (nv.sqlprofile): minimal aggregates, then a bounded sample, then
-- catalog metadata only with status "partial". opts.query_timeout becomes
-- the ODBC statement timeout (SQL_ATTR_QUERY_TIMEOUT).
local dbsource = require "nv.dbsource"
local json = require "nv.json"
local sqlcatalog = require "nv.sqlcatalog"

local tkey = sqlcatalog.tkey

-- the generic engine
local D = {
  driver = "nv.odbc",
  system_schemas = {},
  quote = function(id) return '"' .. tostring(id):gsub('"', '""') .. '"' end,
  -- a character count through the ODBC escape; for_connection picks
  -- CHAR_LENGTH when the driver lists it (MariaDB's LENGTH counts bytes)
  length = function(q) return "{fn LENGTH(" .. q .. ")}" end,
  max_rows_samples = true, -- samples bounded by SQL_ATTR_MAX_ROWS, not LIMIT
  degrade = true,          -- per-table fallbacks (nv.sqlprofile)
  query_timeout = true,    -- the driver takes the statement timeout itself
}

-- engine profiles of the generic engine: source_type -> what differs
local PROFILES = {
  snowflake = { system_schemas = { "INFORMATION_SCHEMA" } },
  sqlserver = { system_schemas = { "INFORMATION_SCHEMA", "sys" } },
  databricks_sql = { system_schemas = { "information_schema" } },
}
-- DBMS names (SQL_DBMS_NAME) of the profiled engines
local PROFILE_DBMS = { { "Snowflake", "snowflake" }, { "SQL Server", "sqlserver" }, { "Spark SQL", "databricks_sql" },
                       { "Databricks", "databricks_sql" } }
D.profiles = PROFILES

local ODBC_NORMAL = {
  [-6] = "integer", [5] = "integer", [4] = "integer", [-5] = "integer",
  [2] = "decimal", [3] = "decimal", [6] = "decimal", [7] = "decimal", [8] = "decimal",
  [-7] = "boolean", [9] = "date", [91] = "date", [10] = "time", [92] = "time", [11] = "timestamp",
  [93] = "timestamp", [-2] = "binary", [-3] = "binary", [-4] = "binary", [-11] = "uuid",
}
local ODBC_TEXTUAL = { [1] = 1, [12] = 1, [-1] = 1, [-8] = 1, [-9] = 1, [-10] = 1 }

local STORE_PREFIX = "_executor_metadata__"
local ODBC_TABLE_TYPES = { TABLE = "table", VIEW = "view", ["BASE TABLE"] = "table" }

-- call(method, ...) runs one catalog function on the connection (counted);
-- run(sql) one query. Tables and columns come from one call each.
function D.catalog(db, opts, run, call, eng)
  local cat = {}
  local info = db:info()
  cat.database, cat.version = info.database, info.dbms_version
  local trows = call("tables", nil, nil, nil, "TABLE,VIEW")
  local crows = trows and call("columns", nil, nil, nil, nil)
  if not crows then return nil end
  local function sname(r)
    local s = r.table_schem
    if s == nil or s == "" then s = eng.default_schema or "" end
    return s
  end
  cat.tables, cat.columns = {}, {}
  local seen_schema, wanted, skip = {}, {}, {}
  for _, s in ipairs(eng.system_schemas or {}) do skip[s] = true end -- a profile's
  -- native: how the DBMS's own catalog views name tables and schemas (a
  -- driver without schemas, like MariaDB's, reports the database as the
  -- catalog, and INFORMATION_SCHEMA calls it the schema)
  local native = { tables = {}, schemas = {} }
  cat.schemas = {}
  for _, r in ipairs(trows) do
    local s, t = sname(r), r.table_name
    local ns = (r.table_schem ~= nil and r.table_schem ~= "") and r.table_schem or r.table_cat or ""
    native.schemas[ns] = native.schemas[ns] or s
    -- SQLite's own tables, and an ODBC store's prefixed tables (nv.store.odbc)
    local sys = t:match("^sqlite_") or t:sub(1, #STORE_PREFIX) == STORE_PREFIX
    if not sys and not skip[s] and sqlcatalog.keep(opts, s, t) then
      local entry = { schema_name = s, table_name = t,
                      table_type = ODBC_TABLE_TYPES[r.table_type] or (r.table_type or ""):lower(), comment = r.remarks }
      cat.tables[#cat.tables + 1] = entry
      wanted[tkey(s, t)] = true
      native.tables[tkey(ns, t)] = entry
      if not seen_schema[s] then
        seen_schema[s] = true
        cat.schemas[#cat.schemas + 1] = { schema_name = s }
      end
    end
  end
  for _, r in ipairs(crows) do
    local s = sname(r)
    if wanted[tkey(s, r.table_name)] then
      local nullable = r.nullable
      if nullable == nil then nullable = r.is_nullable ~= "NO" else nullable = nullable ~= 0 end
      cat.columns[#cat.columns + 1] = {
        schema_name = s, table_name = r.table_name, ordinal_position = r.ordinal_position, name = r.column_name,
        native_type = r.type_name, base_type = r.data_type, category = r.type_name, declared_nullable = nullable,
        default_value = r.column_def, comment = r.remarks,
      }
    end
  end
  table.sort(cat.columns, function(a, b)
    if a.schema_name ~= b.schema_name then return a.schema_name < b.schema_name end
    if a.table_name ~= b.table_name then return a.table_name < b.table_name end
    return (a.ordinal_position or 0) < (b.ordinal_position or 0)
  end)
  table.sort(cat.tables, function(a, b)
    if a.schema_name ~= b.schema_name then return a.schema_name < b.schema_name end
    return a.table_name < b.table_name
  end)
  if eng.keys then
    local ok = eng.keys(cat, run, wanted, native)
    if not ok then return nil end
  end
  return cat
end

function D.normalize(c)
  local tn = (c.native_type or ""):lower()
  if tn == "bool" or tn == "boolean" then return "boolean" end
  if tn:match("json") then return "json" end
  if tn == "uuid" or tn == "uniqueidentifier" then return "uuid" end
  return ODBC_NORMAL[c.base_type] or "string"
end

-- MIN and MAX: types every DBMS orders (PostgreSQL has no MIN for uuid,
-- json, boolean, point, xml, …; a "string" of a non-text ODBC type may be
-- any of them)
local ODBC_ORDERED = { integer = true, decimal = true, date = true, time = true, timestamp = true }
local function ordered(c)
  return ODBC_ORDERED[c.normalized] or (c.normalized == "string" and ODBC_TEXTUAL[c.base_type] ~= nil)
end

-- Aggregate expressions for one column: {key = sql | {sql, params...}}.
-- Booleans: `tr` counts the TRUE values against a bound SQL_BIT parameter
-- (b = ? works on boolean, BIT and TINYINT columns alike; MIN(b) does not).
function D.aggregates(q, c, eng)
  local norm = c.normalized
  local e = { nn = "COUNT(" .. q .. ")" }
  if norm ~= "binary" and norm ~= "json" then e.dc = "COUNT(DISTINCT " .. q .. ")" end
  if norm == "boolean" then
    e.tr = { "COUNT(CASE WHEN " .. q .. " = ? THEN 1 END)", true }
  elseif ordered(c) then
    e.mn, e.mx = "MIN(" .. q .. ")", "MAX(" .. q .. ")"
  end
  if norm == "integer" or norm == "decimal" then
    e.avg = "AVG(" .. q .. " * 1e0)" -- a double everywhere (1.0 would be MariaDB's 4-decimal DECIMAL)
  end
  if ODBC_TEXTUAL[c.base_type] and norm == "string" then
    e.em = "COUNT(CASE WHEN " .. q .. " = '' THEN 1 END)"
    local len = (eng or D).length(q)
    e.mnl, e.mxl = "MIN(" .. len .. ")", "MAX(" .. len .. ")"
  end
  return e
end

-- The retry after a failed aggregate query: COUNT(*), COUNT(col) and, for
-- ordered types, MIN and MAX.
function D.minimal_aggregates(q, c)
  local e = { nn = "COUNT(" .. q .. ")" }
  if ordered(c) then e.mn, e.mx = "MIN(" .. q .. ")", "MAX(" .. q .. ")" end
  return e
end

-- Any other DBMS: keys and view definitions from the SQL-standard
-- INFORMATION_SCHEMA views, three constant queries whatever the number of
-- tables, matched to the catalog in Lua (so the include/exclude filters
-- hold). Names are upper case and unquoted: SQL Server's views are upper
-- case (and may sit in a case-sensitive database), PostgreSQL folds them.
-- Columns only some engines have come through k.* / rc.*, so that naming
-- them never fails the query: POSITION_IN_UNIQUE_CONSTRAINT (not SQL
-- Server) pairs each foreign key column with its referenced column, and
-- MySQL/MariaDB's TABLE_NAME / REFERENCED_TABLE_NAME tell apart constraint
-- names that are unique per table only (every primary key is "PRIMARY").
local IS_KEYS = [[
SELECT tc.CONSTRAINT_TYPE AS nv_type, k.*
FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS tc
JOIN INFORMATION_SCHEMA.KEY_COLUMN_USAGE k ON k.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA
  AND k.CONSTRAINT_NAME = tc.CONSTRAINT_NAME AND k.TABLE_SCHEMA = tc.TABLE_SCHEMA AND k.TABLE_NAME = tc.TABLE_NAME
WHERE tc.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')
ORDER BY k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION]]
local IS_REFS = [[
SELECT rc.*, rk.TABLE_SCHEMA AS nv_ref_schema, rk.TABLE_NAME AS nv_ref_table, rk.COLUMN_NAME AS nv_ref_column,
  rk.ORDINAL_POSITION AS nv_ref_position
FROM INFORMATION_SCHEMA.REFERENTIAL_CONSTRAINTS rc
JOIN INFORMATION_SCHEMA.KEY_COLUMN_USAGE rk ON rk.CONSTRAINT_SCHEMA = rc.UNIQUE_CONSTRAINT_SCHEMA
  AND rk.CONSTRAINT_NAME = rc.UNIQUE_CONSTRAINT_NAME]]
local IS_VIEWS = [[
SELECT TABLE_SCHEMA AS nv_schema, TABLE_NAME AS nv_table, VIEW_DEFINITION AS nv_definition
FROM INFORMATION_SCHEMA.VIEWS]]
local IS_TYPES = { ["PRIMARY KEY"] = "p", ["FOREIGN KEY"] = "f", UNIQUE = "u" }

-- rows with lower-case keys (Snowflake and MariaDB answer in upper case)
local function lower_keys(rows)
  for i, r in ipairs(rows) do
    local l = {}
    for k, v in pairs(r) do l[k:lower()] = v end
    rows[i] = l
  end
  return rows
end

local function int(v) return math.tointeger(tonumber(v)) end

-- A foreign key's referenced table and columns from the IS_REFS rows of its
-- constraint name: true, or nil when none or several tables match.
local function resolve_fk(f, rows, native)
  local c, cand = f.c, {}
  for _, r in ipairs(rows or {}) do
    if (r.table_name == nil or r.table_name == f.table)
        and (r.referenced_table_name == nil or r.referenced_table_name == r.nv_ref_table) then
      cand[#cand + 1] = r
    end
  end
  local first = cand[1]
  if not first then return nil end
  local refcols = {}
  for _, r in ipairs(cand) do
    if r.nv_ref_schema ~= first.nv_ref_schema or r.nv_ref_table ~= first.nv_ref_table
        or r.unique_constraint_name ~= first.unique_constraint_name then
      return nil
    end
    local p = int(r.nv_ref_position)
    if p then refcols[p] = r.nv_ref_column end
  end
  local ns, rt = first.nv_ref_schema or "", first.nv_ref_table
  local known = native.tables[tkey(ns, rt)]
  c.ref_schema = known and known.schema_name or native.schemas[ns] or ns
  c.ref_table = rt
  for i = 1, #c.columns do c.ref_columns[i] = refcols[f.positions[i] or i] end
  return true
end

-- run(sql, nil, true): a failed query returns nil, message and leaves the
-- source alone; each failure becomes a warning naming what is missing.
function D.keys(cat, run, _, native)
  cat.constraints, cat.indexes, cat.warnings = {}, {}, {}
  local function try(lost, sql)
    local rows, err = run(sql, nil, true)
    if rows then return lower_keys(rows) end
    cat.warnings[#cat.warnings + 1] = string.format("%s: INFORMATION_SCHEMA query failed: %s", lost, tostring(err))
  end
  local krows = try("primary, unique and foreign keys not read", IS_KEYS)
  local by, fks, fk_of = {}, {}, {}
  for _, r in ipairs(krows or {}) do
    local t = native.tables[tkey(r.table_schema or "", r.table_name or "")]
    local ty = IS_TYPES[r.nv_type]
    if t and ty then
      local k = tkey(tkey(r.table_schema, r.table_name), r.constraint_name)
      local c = by[k]
      if not c then
        c = { schema_name = t.schema_name, table_name = t.table_name, name = r.constraint_name, type = ty,
              columns = {} }
        if ty == "f" then
          c.ref_columns = {}
          fk_of[k] = { c = c, schema = r.constraint_schema or "", table = r.table_name, positions = {} }
          fks[#fks + 1] = fk_of[k]
        end
        by[k] = c
        cat.constraints[#cat.constraints + 1] = c
      end
      c.columns[#c.columns + 1] = r.column_name
      if fk_of[k] then fk_of[k].positions[#c.columns] = int(r.position_in_unique_constraint) end
    end
  end
  if krows then
    local rrows = try("referenced tables of foreign keys not read", IS_REFS)
    if rrows then
      local refs, unresolved = {}, {}
      for _, r in ipairs(rrows) do
        local k = tkey(r.constraint_schema or "", r.constraint_name or "")
        refs[k] = refs[k] or {}
        table.insert(refs[k], r)
      end
      for _, f in ipairs(fks) do
        if not resolve_fk(f, refs[tkey(f.schema, f.c.name)], native) then unresolved[#unresolved + 1] = f.c.name end
      end
      if #unresolved > 0 then
        cat.warnings[#cat.warnings + 1] = string.format("foreign keys without their referenced tables: %s (not in"
          .. " INFORMATION_SCHEMA.REFERENTIAL_CONSTRAINTS for this user, or a constraint name it cannot tell apart)",
          table.concat(unresolved, ", "))
      end
    end
  end
  for _, r in ipairs(try("view definitions not read", IS_VIEWS) or {}) do
    local t = native.tables[tkey(r.nv_schema or "", r.nv_table or "")]
    if t and r.nv_definition ~= nil then t.definition = r.nv_definition end
  end
  return true
end

-- SQLite through ODBC: the generic catalog plus the SQLite connector's
-- keys, indexes and view definitions (its pragma joins).
local function sqlite_engine()
  local sqlite = require("nv.connectors").get("sqlite")
  assert(sqlite and sqlite.dialect, "the sqlite connector (connectors/sqlite.lua) is not installed")
  return setmetatable({ default_schema = "main", length = function(q) return "LENGTH(" .. q .. ")" end,
                        keys = sqlite.dialect.keys }, { __index = D })
end

-- opts.odbc_engine: which engine serves an ODBC source ("auto" = by the
-- DBMS name); "generic" is this module's engine whatever the DBMS.
D.odbc_engines = { "auto", "generic", "postgresql", "mysql", "sqlite" }

--- The odbc_engine option: a name of D.odbc_engines | nil, msg.
function D.odbc_engine(opts)
  local v = opts.odbc_engine
  if v == nil or v == json.null then return "auto" end
  for _, name in ipairs(D.odbc_engines) do
    if v == name then return name end
  end
  return nil, string.format("odbc_engine must be one of %s (got '%s')", table.concat(D.odbc_engines, ", "),
    tostring(v))
end

--- Before connecting (nv.dbsource): the engine hint {engine, profile} |
-- nil, msg. A profiled source_type (snowflake, …) means the generic
-- engine with its profile unless odbc_engine says otherwise.
function D.prepare(opts, src)
  local choice, err = D.odbc_engine(opts)
  if not choice then return nil, err end
  local st = type(src.source_type) == "string" and src.source_type:lower() or ""
  local profile = PROFILES[st] and st or nil
  if profile and choice == "auto" then choice = "generic" end
  return { engine = choice, profile = profile }
end

--- The engine for an open connection: the one hint.engine names (a
-- D.odbc_engine result; "auto": the one matching the DBMS behind the
-- driver).
function D.for_connection(db, hint)
  hint = type(hint) == "table" and hint or { engine = hint }
  local info = db:info()
  local dbms = info.dbms_name or ""
  local choice = hint.engine or "auto"
  if choice == "auto" then
    if dbms:find("PostgreSQL", 1, true) then
      choice = "postgresql"
    elseif dbms:find("MySQL", 1, true) or dbms:find("MariaDB", 1, true) then
      choice = "mysql"
    elseif dbms:find("SQLite", 1, true) then
      choice = "sqlite"
    else
      choice = "generic"
    end
  end
  if choice == "sqlite" then return sqlite_engine() end
  if choice == "generic" then
    local profile = hint.profile
    if not profile then
      for _, p in ipairs(PROFILE_DBMS) do
        if dbms:find(p[1], 1, true) then profile = p[2] break end
      end
    end
    local eng = { profile = profile }
    for k, v in pairs(PROFILES[profile] or {}) do eng[k] = v end
    -- identifiers quoted as the driver says (SQL_IDENTIFIER_QUOTE_CHAR: "`"
    -- for MySQL/MariaDB, whose sessions do not run with ANSI_QUOTES)
    local q = info.identifier_quote
    if type(q) == "string" and q:match("^[`%[]$") then
      local close = q == "[" and "]" or q
      local pat = "%" .. close
      eng.quote = function(id) return q .. tostring(id):gsub(pat, close .. close) .. close end
    end
    if type(info.string_functions) == "table" and info.string_functions.CHAR_LENGTH then
      eng.length = function(x) return "{fn CHAR_LENGTH(" .. x .. ")}" end
    end
    return setmetatable(eng, { __index = D })
  end
  local native = require("nv.connectors").get(choice)
  assert(native and native.dialect, "no connector for the ODBC engine " .. choice)
  return setmetatable({ driver = "nv.odbc", over_odbc = true, query_timeout = true }, { __index = native.dialect })
end

--- "odbc:[driver or DSN=…] user@host:port/database": where a source is,
-- for messages (from nv.odbc.describe, no secrets).
function D.where(desc)
  local s = "odbc:[" .. (desc.driver or (desc.dsn and ("DSN=" .. desc.dsn)) or "?") .. "]"
  if desc.host then
    return s .. " " .. (desc.user and (desc.user .. "@") or "") .. desc.host
      .. (desc.port and (":" .. desc.port) or "") .. "/" .. (desc.database or "")
  end
  return s .. (desc.database and (" " .. desc.database) or "")
end

--- test_connection: what the connection reached (the driver's info, and
-- the schemas SQLTables enumerates: catalog "", schema "%", table "").
function D.reach(db, eng)
  local info = db:info()
  local names, seen = {}, {}
  local function add(s)
    if s ~= nil and s ~= "" and not seen[s] then seen[s] = true; names[#names + 1] = s end
  end
  local rows = db:tables("", "%", "", nil)
  for _, r in ipairs(rows or {}) do add(r.table_schem) end
  if #names == 0 then -- a driver that does not enumerate schemas: those of its tables
    local trows, err, kind, state = db:tables(nil, nil, nil, "TABLE,VIEW")
    if not trows then return nil, err, kind, state end
    for _, r in ipairs(trows) do
      local s = r.table_schem
      add((s == nil or s == "") and (eng.default_schema or r.table_cat) or s)
    end
  end
  local skip = {}
  for _, s in ipairs(eng.system_schemas or {}) do skip[s] = true end
  local out = {}
  for _, s in ipairs(names) do if not skip[s] then out[#out + 1] = s end end
  table.sort(out)
  return { server_version = info.dbms_name and (info.dbms_name .. " " .. tostring(info.dbms_version or "")),
           user = info.user, database = info.database, schemas = out, profile = eng.profile }
end

-- what drivers say when the server refused the user (besides SQLSTATE 28xxx)
D.auth_messages = { ["password authentication failed"] = "28P01", ["Access denied for user"] = "28000",
                    ["Login failed for user"] = "28000", ["Incorrect username or password"] = "28000" }

return {
  name = "odbc",
  description = "generic ODBC (Snowflake, SQL Server, Databricks SQL, … through their ODBC drivers)",
  source_types = { "odbc", "snowflake", "sqlserver", "databricks_sql" },
  engine = "odbc", -- the dialect nv.dbsource drives
  dialect = D,
  schemes = { "odbc" },
  asset_types = dbsource.supported_asset_types(),
  test_connection = dbsource.test_connection,
  extract = dbsource.source,
}
