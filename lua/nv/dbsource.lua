-- nv.dbsource: a relational database as a metadata source. Fills the
-- source model documented above nv.extract.source from a constant number of
-- set-based catalog queries (at most six per engine, never one per table), then
-- profiles each table with ONE pushed-down aggregate query (chunked for
-- tables wider than `chunk_columns`) plus one bounded sample query.
--
--   dbsource.source(ctx, src, opts, model) -> model
--   dbsource.resolve(src)                   -> engine name, target | nil, msg
--   dbsource.test_connection(src, opts)     -> true, info | nil, msg
--   dbsource.supported_asset_types()        -> {"database", "schema", ...}
--
-- src = {source_id, data_source_path, source_type}; the path is a
-- postgresql:// / mysql:// / mariadb:// URL (or, with source_type
-- postgresql, a libpq "host=… dbname=…" string), or an ODBC connection
-- string "odbc:Driver=…;…" / "odbc:DSN=…" (or, with source_type odbc, a bare
-- "Driver=…;…" / "DSN=…" string).
--
-- ODBC sources (nv.odbc) pick their engine from the DBMS the driver reports
-- (SQLGetInfo SQL_DBMS_NAME): PostgreSQL and MySQL/MariaDB reuse the
-- engines below unchanged (their catalog queries and pushed-down
-- aggregates, sent through ODBC); SQLite lists tables and columns with one
-- SQLTables and one SQLColumns call for the whole catalog, plus three
-- pragma joins (primary keys, foreign keys, indexes) and one query for view
-- definitions; any other DBMS (the "generic" engine) gets the SQLTables +
-- SQLColumns pair plus three INFORMATION_SCHEMA queries (keys with
-- their columns, foreign keys' referenced columns, view definitions; not
-- SQLPrimaryKeys/SQLForeignKeys, which need one call per table) and ANSI
-- aggregates. A DBMS without INFORMATION_SCHEMA, or a user who may not read
-- it, still extracts: no keys or view definitions, and model.warnings (also
-- logged) says which query failed and why.
-- The ODBC engines (generic and SQLite) write only SQL that psqlODBC,
-- MariaDB Connector/ODBC and SQLite3 ODBC all accept: AVG(x * 1e0) for
-- means (CAST … AS DOUBLE PRECISION is not MariaDB's, {fn CONVERT} only
-- psqlODBC translates), {fn CHAR_LENGTH(x)} when the driver lists it in
-- SQL_STRING_FUNCTIONS, else {fn LENGTH(x)} (MariaDB's LENGTH counts
-- bytes, SQLite has no CHAR_LENGTH), booleans counted against a bound TRUE
-- (PostgreSQL has no MIN(boolean)); samples are bounded by
-- SQL_ATTR_MAX_ROWS (nv.odbc's max_rows), not LIMIT (SQL Server has none).
-- They degrade per table: a failed aggregate query is retried with COUNT,
-- MIN and MAX only, then the table is profiled from a bounded sample; a
-- table whose rows cannot be read at all keeps its catalog metadata with
-- status "partial" and an error. Each step is a warning naming the table.
-- opts.query_timeout becomes the ODBC statement timeout
-- (SQL_ATTR_QUERY_TIMEOUT).
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
--   odbc_engine = "auto" (default: by the DBMS name) | "generic" |
--       "postgresql" | "mysql" | "sqlite": the engine of ODBC sources, for
--       when the DBMS name misleads; any other value fails the source
-- Connections are read-only sessions (PostgreSQL ones also with JIT off:
-- see pg_catalog_sql); passwords are registered as secrets before anything
-- can log them and never reach the model. bench/pg_catalog.sh times the
-- catalog of 10,000 PostgreSQL tables.
local json = require "nv.json"
local log = require "nv.log"
local quality = require "nv.quality"
local sys = require "nv.sys"

local M = {}

-- source type (or URL scheme) -> engine: the aliases and schemes of the
-- connectors that declare an engine (connectors/postgresql.lua, mysql, odbc)
function M.kinds()
  local out = {}
  for _, c in ipairs(require("nv.connectors").list()) do
    if c.engine then
      for _, a in ipairs(c.source_types or {}) do out[a] = c.engine end
      for _, s in ipairs(c.schemes or {}) do out[s] = c.engine end
    end
  end
  return out
end

function M.supported_asset_types()
  return json.array({ "database", "schema", "table", "view", "column" })
end

--- Which engine serves a source: "postgresql" | "mysql" | "odbc", target.
function M.resolve(src)
  local path = src.data_source_path or ""
  local scheme = path:match("^(%a[%w+.-]*)://")
  if path:match("^odbc:") then return "odbc", path end
  if src.source_type == "odbc" then
    if path == "" then return nil, "an ODBC source needs a connection string (odbc:Driver=…;… or odbc:DSN=…)" end
    return "odbc", path
  end
  local kinds = M.kinds()
  if scheme and kinds[scheme] then return kinds[scheme], path end
  local kind = kinds[src.source_type or ""]
  if kind == "odbc" then -- snowflake, sqlserver, databricks_sql: through their ODBC drivers
    return nil, string.format("a %s source needs an ODBC connection string (odbc:Driver=…;… or odbc:DSN=…)",
      tostring(src.source_type))
  end
  if kind and path ~= "" then return kind, path end
  return nil, string.format("cannot tell the database kind of source type '%s'", tostring(src.source_type))
end

local function list_of(v)
  if v == nil or v == json.null then return {} end
  if type(v) == "string" then
    local out = {}
    for p in v:gmatch("[^,]+") do out[#out + 1] = p:match("^%s*(.-)%s*$") end
    return out
  end
  return v
end

-- glob (* ?) -> LIKE pattern with backslash escapes
local function like(glob)
  return (glob:gsub("[\\%%_]", "\\%0"):gsub("%*", "%%"):gsub("%?", "_"))
end

-- Builds "AND …" conditions on a schema and a table expression. Returns
-- sql, params (a list to append to the query's own parameters).
local function filter(eng, opts, sexpr, texpr)
  local sql, params = {}, {}
  local function add_any(expr, pats, negate)
    if #pats == 0 then return end
    local parts = {}
    for _, p in ipairs(pats) do
      parts[#parts + 1] = expr .. (negate and " NOT LIKE ?" or " LIKE ?")
      params[#params + 1] = like(p)
    end
    sql[#sql + 1] = "(" .. table.concat(parts, negate and " AND " or " OR ") .. ")"
  end
  local marks = {}
  for i, s in ipairs(eng.system_schemas) do
    marks[i] = "?"
    params[#params + 1] = s
  end
  sql[#sql + 1] = sexpr .. " NOT IN (" .. table.concat(marks, ", ") .. ")"
  for _, p in ipairs(eng.system_like or {}) do
    sql[#sql + 1] = sexpr .. " NOT LIKE ?"
    params[#params + 1] = p
  end
  add_any(sexpr, opts.include_schemas, false)
  add_any(sexpr, opts.exclude_schemas, true)
  if texpr then
    add_any(texpr, opts.include_tables, false)
    add_any(texpr, opts.exclude_tables, true)
  end
  return " AND " .. table.concat(sql, " AND "), params
end

local function concat_params(a, b)
  local out = {}
  for _, v in ipairs(a) do out[#out + 1] = v end
  for _, v in ipairs(b) do out[#out + 1] = v end
  return out
end

local function tkey(s, t) return s .. "\0" .. t end

------------------------------------------------------------------------
-- engines

local engines = {}

engines.postgresql = {
  driver = "nv.pg",
  system_schemas = { "pg_catalog", "information_schema", "_executor_metadata" },
  system_like = { "pg\\_toast%", "pg\\_temp\\_%" },
  quote = function(id) return '"' .. tostring(id):gsub('"', '""') .. '"' end,
  timeout_sql = function(s) return string.format("SET statement_timeout = %d", math.floor(s * 1000)) end,
}

local PG_KINDS = "c.relkind IN ('r', 'v', 'm', 'p', 'f') AND NOT c.relispartition"
local PG_TABLE_TYPES = { r = "table", p = "partitioned_table", v = "view", m = "materialized_view",
                         f = "foreign_table" }

-- The catalog in six set-based queries, shaped so that 10,000 tables cost
-- well under a second of server time on a cold session:
--  * no per-row function that opens the relation (each builds a relcache
--    entry): sizes come from relpages of the table, its TOAST table and
--    their indexes (pg_total_relation_size only for tables written to but
--    never vacuumed or analyzed), defaults are deparsed without a
--    relation (they cannot refer to columns; generated columns can and keep
--    it), and index definitions are written from the catalog when
--    pg_get_indexdef would print exactly that (plain columns, default
--    opclass and collation, no options, INCLUDE or predicate), else asked for
--    (a varchar column's default opclass is text's: GetDefaultOpClass takes
--    the preferred binary-coercible type when none is declared for varchar);
--  * comments are joined from pg_description, not looked up per row;
--  * key columns travel as attribute numbers, named by build_tables from the
--    columns it already has.
-- The first query turns JIT off for the session: these queries are cheap but
-- look expensive to the planner, and compiling them costs more than running.
local function pg_catalog_sql(version)
  local q = {}
  local materialized = version >= 120000 and "MATERIALIZED " or "" -- CTEs always were before 12
  -- relpages is exact as of the last VACUUM, ANALYZE or CREATE INDEX; a
  -- relation never vacuumed nor analyzed has kept its creation-time pages
  -- unless rows were written since (per the statistics system)
  local known_size = (version >= 140000 and "c.reltuples >= 0" or "c.relpages > 0 OR c.reltuples > 0")
    .. " OR pg_stat_get_tuples_inserted(c.oid) + pg_stat_get_tuples_updated(c.oid)"
    .. " + pg_stat_get_tuples_deleted(c.oid) = 0"
  q.tables = [[
WITH ix AS (SELECT x.indrelid, sum(i.relpages)::int8 AS pages FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
  GROUP BY x.indrelid)
SELECT c.oid AS table_oid, n.nspname AS schema_name, c.relname AS table_name, c.relkind AS kind,
  ds.description AS comment, c.reltuples::float8 AS estimate,
  CASE WHEN c.relkind NOT IN ('r', 'm', 'p') THEN NULL
    WHEN ]] .. known_size .. [[ THEN
      (c.relpages + COALESCE(tc.relpages, 0) + COALESCE(ix.pages, 0) + COALESCE(tix.pages, 0))
      * current_setting('block_size')::int8
    ELSE pg_total_relation_size(c.oid) END AS size_bytes,
  CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END AS definition,
  extract(epoch FROM GREATEST(pg_stat_get_last_vacuum_time(c.oid), pg_stat_get_last_autovacuum_time(c.oid),
    pg_stat_get_last_analyze_time(c.oid), pg_stat_get_last_autoanalyze_time(c.oid)))::float8 AS last_modified
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class tc ON tc.oid = c.reltoastrelid
LEFT JOIN ix ON ix.indrelid = c.oid LEFT JOIN ix tix ON tix.indrelid = c.reltoastrelid
LEFT JOIN pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_class'::regclass AND ds.objsubid = 0
WHERE ]] .. PG_KINDS .. "%s ORDER BY 2, 3"
  -- No ORDER BY: build_tables orders each table's columns. The type lookups
  -- are a LATERAL subquery so that the planner memoizes them per type.
  q.columns = [[
SELECT a.attrelid AS table_oid, a.attnum AS ordinal_position, a.attname AS name,
  format_type(a.atttypid, a.atttypmod) AS native_type, ty.base_type, ty.category, ty.element_type,
  NOT a.attnotnull AS declared_nullable,
  pg_get_expr(d.adbin, ]] .. (version >= 120000 and "CASE WHEN a.attgenerated <> '' THEN d.adrelid ELSE 0 END" or "0")
    .. [[) AS default_value,
  ds.description AS comment
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN LATERAL (SELECT bt.typname AS base_type, bt.typcategory AS category, et.typname AS element_type
  FROM pg_type t JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
  LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typcategory = 'A'
  WHERE t.oid = a.atttypid OFFSET 0) ty ON TRUE
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_description ds ON ds.objoid = a.attrelid AND ds.classoid = 'pg_class'::regclass
  AND ds.objsubid = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND ]] .. PG_KINDS .. "%s"
  -- Key columns travel as attribute numbers (build_tables names them from
  -- the columns); only a foreign key's referenced columns, whose table may
  -- be filtered out, are named here. OFFSET 0 keeps those lookups
  -- parameterized index scans (the planner would hash all of pg_attribute).
  q.constraints = [[
WITH con AS ]] .. materialized .. [[(
  SELECT con.oid, con.conrelid, con.conname, con.contype, con.conkey, con.confrelid, con.confkey
  FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE con.contype IN ('p', 'f', 'u')%s),
r AS (
  SELECT con.oid, json_agg(a.attname ORDER BY u.ord)::text AS ref_columns
  FROM con CROSS JOIN unnest(con.confkey) WITH ORDINALITY AS u(attnum, ord)
  JOIN LATERAL (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = con.confrelid AND a.attnum = u.attnum
                OFFSET 0) a ON TRUE
  WHERE con.contype = 'f'
  GROUP BY con.oid)
SELECT con.conrelid AS table_oid, con.conname AS name, con.contype AS type, con.conkey::text AS keys,
  rn.nspname AS ref_schema, rc.relname AS ref_table, r.ref_columns
FROM con LEFT JOIN r ON r.oid = con.oid
LEFT JOIN pg_class rc ON rc.oid = con.confrelid LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
ORDER BY 1, 2]]
  q.indexes = [[
WITH x AS ]] .. materialized .. [[(
  SELECT x.indexrelid, x.indrelid, x.indisunique, x.indisprimary, x.indkey, x.indclass, x.indcollation, x.indoption,
    x.indexprs IS NULL AND x.indpred IS NULL]] .. (version >= 110000 and " AND x.indnatts = x.indnkeyatts" or "")
    .. (version >= 150000 and " AND NOT x.indnullsnotdistinct" or "") .. [[ AS simple,
    n.nspname, c.relname
  FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE TRUE%s),
k AS (
  SELECT k.indexrelid, string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord) AS list,
    bool_and(k.attnum > 0 AND k.opt = 0 AND (k.coll = 0 OR k.coll = a.attcollation) AND oc.opcdefault
             AND (oc.opcintype = a.atttypid OR a.atttypid = 'varchar'::regtype AND oc.opcintype = 'text'::regtype
                  AND varchar_as_text)) AS plain
  FROM (SELECT x.indexrelid, x.indrelid, u.attnum, u.opc, u.coll, u.opt, u.ord,
          NOT EXISTS (SELECT FROM pg_opclass WHERE opcintype = 'varchar'::regtype AND opcdefault) AS varchar_as_text
        FROM x,
          unnest(x.indkey::int2[], x.indclass::oid[], x.indcollation::oid[], x.indoption::int2[])
            WITH ORDINALITY AS u(attnum, opc, coll, opt, ord)) k
  LEFT JOIN LATERAL (SELECT a.attname, a.atttypid, a.attcollation FROM pg_attribute a
                     WHERE a.attrelid = k.indrelid AND a.attnum = k.attnum OFFSET 0) a ON TRUE
  LEFT JOIN pg_opclass oc ON oc.oid = k.opc
  GROUP BY k.indexrelid)
SELECT x.indrelid AS table_oid, i.relname AS name, x.indisunique AS is_unique, x.indisprimary AS is_primary,
  CASE WHEN x.simple AND k.plain AND i.reloptions IS NULL AND i.relkind = 'i'
    THEN format('CREATE %%sINDEX %%s ON %%s.%%s USING %%s (%%s)', CASE WHEN x.indisunique THEN 'UNIQUE ' ELSE '' END,
      quote_ident(i.relname), quote_ident(x.nspname), quote_ident(x.relname), quote_ident(am.amname), k.list)
    ELSE pg_get_indexdef(x.indexrelid) END AS definition,
  x.indkey::text AS keys
FROM x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam
LEFT JOIN k ON k.indexrelid = x.indexrelid
ORDER BY 1, 2]]
  return q
end

function engines.postgresql.catalog(db, opts, run)
  local cat = {}
  local f, fp = filter(engines.postgresql, opts, "n.nspname", "c.relname")
  local sf, sp = filter(engines.postgresql, opts, "n.nspname", nil)
  local info = run([[
SELECT current_database() AS database, current_user AS user_name, version() AS version,
  current_setting('server_version_num')::int AS version_num,
  CASE WHEN current_setting('server_version_num')::int >= 110000 THEN set_config('jit', 'off', false) END AS jit]])
  if not info then return nil end
  cat.database, cat.version = info[1].database, info[1].version
  local q = pg_catalog_sql(math.tointeger(tonumber(info[1].version_num)) or 0)
  cat.schemas = run("SELECT n.nspname AS schema_name, ds.description AS comment FROM pg_namespace n"
    .. " LEFT JOIN pg_description ds ON ds.objoid = n.oid AND ds.classoid = 'pg_namespace'::regclass"
    .. " AND ds.objsubid = 0"
    .. " WHERE TRUE" .. sf .. " ORDER BY 1", sp)
  cat.tables = run(q.tables:format(f), fp)
  cat.columns = run(q.columns:format(f), fp)
  cat.constraints = run(q.constraints:format(f), fp)
  cat.indexes = run(q.indexes:format(f), fp)
  for _, t in ipairs(cat.tables or {}) do
    t.table_type = PG_TABLE_TYPES[t.kind] or t.kind
    local e = t.estimate
    if e then t.estimate = e >= 0 and math.floor(e) or nil end
  end
  -- "{1,2}" (int2[]) or "1 2" (int2vector) -> {1, 2}
  local function numbers(text)
    local out = {}
    for d in (text or ""):gsub("^%[[^%]]*%]=", ""):gmatch("%-?%d+") do out[#out + 1] = math.tointeger(tonumber(d)) end
    return out
  end
  for _, c in ipairs(cat.constraints or {}) do
    c.keys = numbers(c.keys)
    c.ref_columns = c.ref_columns and json.decode(c.ref_columns) or nil
  end
  for _, x in ipairs(cat.indexes or {}) do x.keys = numbers(x.keys) end
  return cat
end

local PG_NORMAL = {
  int2 = "integer", int4 = "integer", int8 = "integer", oid = "integer",
  numeric = "decimal", float4 = "decimal", float8 = "decimal", money = "decimal",
  bool = "boolean", date = "date", timestamp = "timestamp", timestamptz = "timestamp",
  time = "time", timetz = "time", uuid = "uuid", json = "json", jsonb = "json", bytea = "binary",
}

function engines.postgresql.normalize(c)
  if c.category == "A" then
    return "array<" .. (PG_NORMAL[(c.element_type or ""):gsub("^_", "")] or "string") .. ">"
  end
  return PG_NORMAL[c.base_type] or "string"
end

-- base types with min/max aggregates; others are compared as text
local PG_ORDERED = { int2 = 1, int4 = 1, int8 = 1, oid = 1, numeric = 1, float4 = 1, float8 = 1, money = 1,
                     date = 1, timestamp = 1, timestamptz = 1, time = 1, timetz = 1, text = 1, varchar = 1,
                     bpchar = 1, name = 1, citext = 1 }
local PG_TEXTUAL = { text = 1, varchar = 1, bpchar = 1, name = 1, citext = 1 }
local PG_EQUALITY = { uuid = 1, bool = 1, bytea = 1, inet = 1, cidr = 1, macaddr = 1, interval = 1 }

-- aggregate expressions for one column: {key = sql}
function engines.postgresql.aggregates(q, c)
  local e = {}
  local bt = c.base_type
  e.nn = "COUNT(" .. q .. ")"
  if c.category ~= "A" and (PG_ORDERED[bt] or PG_EQUALITY[bt]) then
    e.dc = "COUNT(DISTINCT " .. q .. ")"
  else
    e.dc = "COUNT(DISTINCT " .. q .. "::text)"
  end
  if c.category == "A" then
    -- arrays: no min/max
  elseif PG_ORDERED[bt] then
    e.mn, e.mx = "MIN(" .. q .. ")", "MAX(" .. q .. ")"
  elseif bt == "bool" then
    e.mn, e.mx = "BOOL_AND(" .. q .. ")", "BOOL_OR(" .. q .. ")"
  elseif bt == "uuid" then
    e.mn, e.mx = "MIN(" .. q .. "::text)", "MAX(" .. q .. "::text)"
  end
  if c.normalized == "integer" or c.normalized == "decimal" then
    e.avg = "AVG(" .. q .. "::numeric)::float8"
    e.sd = "STDDEV_SAMP(" .. q .. "::numeric)::float8"
  end
  if PG_TEXTUAL[bt] and c.category ~= "A" then
    e.em = "COUNT(CASE WHEN " .. q .. " = '' THEN 1 END)"
    e.mnl, e.mxl = "MIN(length(" .. q .. "))", "MAX(length(" .. q .. "))"
  end
  return e
end

engines.mysql = {
  driver = "nv.mysql",
  system_schemas = { "mysql", "information_schema", "performance_schema", "sys", "_executor_metadata" },
  quote = function(id) return "`" .. tostring(id):gsub("`", "``") .. "`" end,
  timeout_sql = function(s) return string.format("SET SESSION max_statement_time = %g", s) end,
}

local MY_TYPES = { ["BASE TABLE"] = "table", VIEW = "view", ["SYSTEM VIEW"] = "view",
                   ["SYSTEM VERSIONED"] = "table" }
local MY_CONSTRAINTS = { ["PRIMARY KEY"] = "p", ["FOREIGN KEY"] = "f", UNIQUE = "u" }

function engines.mysql.catalog(db, opts, run)
  local cat = {}
  local info = run("SELECT DATABASE() AS db, CURRENT_USER() AS user_name, VERSION() AS version")
  if not info then return nil end
  cat.database, cat.version = info[1].db, info[1].version
  if #opts.include_schemas == 0 and cat.database then
    opts = setmetatable({ include_schemas = { cat.database } }, { __index = opts })
  end
  local f, fp = filter(engines.mysql, opts, "t.TABLE_SCHEMA", "t.TABLE_NAME")
  local sf, sp = filter(engines.mysql, opts, "SCHEMA_NAME", nil)
  cat.schemas = run("SELECT SCHEMA_NAME AS schema_name FROM information_schema.SCHEMATA WHERE 1 = 1" .. sf
    .. " ORDER BY 1", sp)
  cat.tables = run([[
SELECT t.TABLE_SCHEMA AS schema_name, t.TABLE_NAME AS table_name, t.TABLE_TYPE AS kind, t.ENGINE AS engine,
  t.TABLE_ROWS AS estimate, t.DATA_LENGTH + t.INDEX_LENGTH AS size_bytes, t.TABLE_COMMENT AS comment,
  UNIX_TIMESTAMP(t.UPDATE_TIME) AS last_modified, v.VIEW_DEFINITION AS definition
FROM information_schema.TABLES t
LEFT JOIN information_schema.VIEWS v ON v.TABLE_SCHEMA = t.TABLE_SCHEMA AND v.TABLE_NAME = t.TABLE_NAME
WHERE t.TABLE_TYPE IN ('BASE TABLE', 'VIEW', 'SYSTEM VERSIONED')]] .. f .. " ORDER BY 1, 2", fp)
  cat.columns = run([[
SELECT t.TABLE_SCHEMA AS schema_name, t.TABLE_NAME AS table_name, t.ORDINAL_POSITION AS ordinal_position,
  t.COLUMN_NAME AS name, t.COLUMN_TYPE AS native_type, t.DATA_TYPE AS base_type,
  t.IS_NULLABLE AS declared_nullable, t.COLUMN_DEFAULT AS default_value, t.COLUMN_COMMENT AS comment
FROM information_schema.COLUMNS t WHERE 1 = 1]] .. f .. " ORDER BY 1, 2, 3", fp)
  local rows = run([[
SELECT t.TABLE_SCHEMA AS schema_name, t.TABLE_NAME AS table_name, t.CONSTRAINT_NAME AS name,
  c.CONSTRAINT_TYPE AS type, t.COLUMN_NAME AS column_name, t.ORDINAL_POSITION AS ord,
  t.REFERENCED_TABLE_SCHEMA AS ref_schema, t.REFERENCED_TABLE_NAME AS ref_table,
  t.REFERENCED_COLUMN_NAME AS ref_column
FROM information_schema.KEY_COLUMN_USAGE t
JOIN information_schema.TABLE_CONSTRAINTS c ON c.CONSTRAINT_SCHEMA = t.CONSTRAINT_SCHEMA
  AND c.TABLE_NAME = t.TABLE_NAME AND c.CONSTRAINT_NAME = t.CONSTRAINT_NAME
WHERE c.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'FOREIGN KEY', 'UNIQUE')]] .. f .. " ORDER BY 1, 2, 3, 6", fp)
  local irows = run([[
SELECT t.TABLE_SCHEMA AS schema_name, t.TABLE_NAME AS table_name, t.INDEX_NAME AS name,
  t.NON_UNIQUE AS non_unique, t.SEQ_IN_INDEX AS seq, t.COLUMN_NAME AS column_name, t.INDEX_TYPE AS index_type
FROM information_schema.STATISTICS t WHERE 1 = 1]] .. f .. " ORDER BY 1, 2, 3, 5", fp)
  -- one row per key column -> one entry per constraint / index
  local function group(list, make, add)
    if not list then return nil end
    local out, by = {}, {}
    for _, r in ipairs(list) do
      local k = r.schema_name .. "\0" .. r.table_name .. "\0" .. r.name
      local g = by[k]
      if not g then
        g = make(r)
        by[k] = g
        out[#out + 1] = g
      end
      add(g, r)
    end
    return out
  end
  cat.constraints = group(rows, function(r)
    return { schema_name = r.schema_name, table_name = r.table_name, name = r.name,
             type = MY_CONSTRAINTS[r.type], columns = {}, ref_schema = r.ref_schema, ref_table = r.ref_table,
             ref_columns = r.ref_table and {} or nil }
  end, function(g, r)
    g.columns[#g.columns + 1] = r.column_name
    if g.ref_columns then g.ref_columns[#g.ref_columns + 1] = r.ref_column end
  end)
  cat.indexes = group(irows, function(r)
    return { schema_name = r.schema_name, table_name = r.table_name, name = r.name,
             is_unique = r.non_unique == 0, is_primary = r.name == "PRIMARY", index_type = r.index_type,
             columns = {} }
  end, function(g, r)
    g.columns[#g.columns + 1] = r.column_name
  end)
  for _, t in ipairs(cat.tables or {}) do
    t.table_type = MY_TYPES[t.kind] or t.kind
    if t.table_type == "view" then
      t.estimate, t.size_bytes = nil, nil
      -- MariaDB/MySQL put a broken view's error into its comment
      if t.comment and t.comment ~= "VIEW" and t.comment ~= "" then t.view_error = t.comment end
      t.comment = nil
    end
  end
  for _, c in ipairs(cat.columns or {}) do
    c.declared_nullable = c.declared_nullable == "YES"
    if c.default_value == "NULL" then c.default_value = nil end
  end
  return cat
end

local MY_NORMAL = {
  tinyint = "integer", smallint = "integer", mediumint = "integer", int = "integer", integer = "integer",
  bigint = "integer", year = "integer", decimal = "decimal", numeric = "decimal", float = "decimal",
  double = "decimal", real = "decimal", date = "date", datetime = "timestamp", timestamp = "timestamp",
  time = "time", json = "json", uuid = "uuid", binary = "binary", varbinary = "binary", tinyblob = "binary",
  blob = "binary", mediumblob = "binary", longblob = "binary", geometry = "binary", point = "binary",
  linestring = "binary", polygon = "binary", multipoint = "binary", multilinestring = "binary",
  multipolygon = "binary", geometrycollection = "binary",
}
local MY_TEXTUAL = { char = 1, varchar = 1, tinytext = 1, text = 1, mediumtext = 1, longtext = 1, enum = 1, set = 1 }

function engines.mysql.normalize(c)
  local native = (c.native_type or ""):lower()
  if native:match("^tinyint%(1%)") or native == "bit(1)" then return "boolean" end
  if c.base_type == "bit" then return "integer" end
  return MY_NORMAL[c.base_type] or "string"
end

function engines.mysql.aggregates(q, c)
  local e = { nn = "COUNT(" .. q .. ")", dc = "COUNT(DISTINCT " .. q .. ")" }
  if c.normalized ~= "binary" and c.normalized ~= "json" then
    if c.base_type == "bit" then
      e.mn, e.mx = "MIN(" .. q .. " + 0)", "MAX(" .. q .. " + 0)"
    else
      e.mn, e.mx = "MIN(" .. q .. ")", "MAX(" .. q .. ")"
    end
  end
  if c.normalized == "integer" or c.normalized == "decimal" then
    e.avg = "AVG(" .. q .. " * 1e0)" -- a DOUBLE, not a 4-decimal DECIMAL
    e.sd = "STDDEV_SAMP(" .. q .. ")"
  end
  if MY_TEXTUAL[c.base_type] then
    e.em = "COUNT(CASE WHEN " .. q .. " = '' THEN 1 END)"
    e.mnl, e.mxl = "MIN(CHAR_LENGTH(" .. q .. "))", "MAX(CHAR_LENGTH(" .. q .. "))"
  end
  return e
end

-- ODBC: the generic engine (SQLTables/SQLColumns) and SQLite through ODBC.
engines.odbc = {
  driver = "nv.odbc",
  system_schemas = {},
  quote = function(id) return '"' .. tostring(id):gsub('"', '""') .. '"' end,
  -- a character count through the ODBC escape; engine_for picks
  -- CHAR_LENGTH when the driver lists it (MariaDB's LENGTH counts bytes)
  length = function(q) return "{fn LENGTH(" .. q .. ")}" end,
  max_rows_samples = true, -- samples bounded by SQL_ATTR_MAX_ROWS, not LIMIT
  degrade = true,          -- per-table fallbacks, see pushdown_degraded
}

local ODBC_NORMAL = {
  [-6] = "integer", [5] = "integer", [4] = "integer", [-5] = "integer",
  [2] = "decimal", [3] = "decimal", [6] = "decimal", [7] = "decimal", [8] = "decimal",
  [-7] = "boolean", [9] = "date", [91] = "date", [10] = "time", [92] = "time", [11] = "timestamp",
  [93] = "timestamp", [-2] = "binary", [-3] = "binary", [-4] = "binary", [-11] = "uuid",
}
local ODBC_TEXTUAL = { [1] = 1, [12] = 1, [-1] = 1, [-8] = 1, [-9] = 1, [-10] = 1 }

local function glob_match(name, pats)
  for _, p in ipairs(pats) do
    local lp = "^" .. p:gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0"):gsub("%*", ".*"):gsub("%?", ".") .. "$"
    if name:match(lp) then return true end
  end
  return false
end

local function keep(opts, sname, tname)
  if #opts.include_schemas > 0 and not glob_match(sname, opts.include_schemas) then return false end
  if glob_match(sname, opts.exclude_schemas) then return false end
  if tname then
    if #opts.include_tables > 0 and not glob_match(tname, opts.include_tables) then return false end
    if glob_match(tname, opts.exclude_tables) then return false end
  end
  return true
end

local STORE_PREFIX = "_executor_metadata__"
local ODBC_TABLE_TYPES = { TABLE = "table", VIEW = "view", ["BASE TABLE"] = "table" }

-- call(method, ...) runs one catalog function on the connection (counted);
-- run(sql) one query. Tables and columns come from one call each.
function engines.odbc.catalog(db, opts, run, call, eng)
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
  local seen_schema, wanted = {}, {}
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
    if not sys and keep(opts, s, t) then
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

function engines.odbc.normalize(c)
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
function engines.odbc.aggregates(q, c, eng)
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
    local len = (eng or engines.odbc).length(q)
    e.mnl, e.mxl = "MIN(" .. len .. ")", "MAX(" .. len .. ")"
  end
  return e
end

-- The retry after a failed aggregate query: COUNT(*), COUNT(col) and, for
-- ordered types, MIN and MAX.
function engines.odbc.minimal_aggregates(q, c)
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
function engines.odbc.keys(cat, run, _, native)
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

-- SQLite through ODBC: the generic catalog plus keys, indexes and view
-- definitions from sqlite_master joined with the table-valued pragmas
-- (one query each, whatever the number of tables).
engines.odbc_sqlite = setmetatable({ default_schema = "main", length = function(q) return "LENGTH(" .. q .. ")" end },
  { __index = engines.odbc })

function engines.odbc_sqlite.keys(cat, run, wanted)
  local pk = run([[SELECT m.name AS table_name, p.name AS column_name, p.pk AS seq
FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND p.pk > 0 ORDER BY 1, 3]])
  local fk = run([[SELECT m.name AS table_name, f.id AS id, f.seq AS seq, f."table" AS ref_table,
  f."from" AS column_name, f."to" AS ref_column
FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table' ORDER BY 1, 2, 3]])
  local ix = run([[SELECT m.name AS table_name, l.name AS name, l."unique" AS is_unique, l.origin AS origin,
  i.seqno AS seq, i.name AS column_name
FROM sqlite_master m JOIN pragma_index_list(m.name) l JOIN pragma_index_info(l.name) i
WHERE m.type = 'table' ORDER BY 1, 2, 5]])
  local views = run("SELECT name, sql FROM sqlite_master WHERE type = 'view'")
  if not (pk and fk and ix and views) then return nil end
  cat.constraints, cat.indexes = {}, {}
  local by = {}
  for _, r in ipairs(pk) do
    if wanted[tkey("main", r.table_name)] then
      local k = "p\0" .. r.table_name
      if not by[k] then
        by[k] = { schema_name = "main", table_name = r.table_name, name = r.table_name .. "_pkey", type = "p",
                  columns = {} }
        cat.constraints[#cat.constraints + 1] = by[k]
      end
      table.insert(by[k].columns, r.column_name)
    end
  end
  for _, r in ipairs(fk) do
    if wanted[tkey("main", r.table_name)] then
      local k = "f\0" .. r.table_name .. "\0" .. r.id
      if not by[k] then
        by[k] = { schema_name = "main", table_name = r.table_name, name = r.table_name .. "_fk" .. r.id, type = "f",
                  columns = {}, ref_schema = "main", ref_table = r.ref_table, ref_columns = {} }
        cat.constraints[#cat.constraints + 1] = by[k]
      end
      table.insert(by[k].columns, r.column_name)
      table.insert(by[k].ref_columns, r.ref_column)
    end
  end
  for _, r in ipairs(ix) do
    if wanted[tkey("main", r.table_name)] then
      local k = "i\0" .. r.table_name .. "\0" .. r.name
      if not by[k] then
        by[k] = { schema_name = "main", table_name = r.table_name, name = r.name, is_unique = r.is_unique == 1,
                  is_primary = r.origin == "pk", columns = {} }
        cat.indexes[#cat.indexes + 1] = by[k]
        if r.origin == "u" then
          by["u\0" .. k] = { schema_name = "main", table_name = r.table_name, name = r.name, type = "u",
                              columns = by[k].columns }
          cat.constraints[#cat.constraints + 1] = by["u\0" .. k]
        end
      end
      table.insert(by[k].columns, r.column_name)
    end
  end
  local defs = {}
  for _, v in ipairs(views) do defs[v.name] = v.sql end
  for _, t in ipairs(cat.tables) do
    if t.table_type == "view" then t.definition = defs[t.table_name] end
  end
  return true
end

-- opts.odbc_engine: which engine serves an ODBC source ("auto" = by the
-- DBMS name); "generic" is engines.odbc whatever the DBMS.
M.odbc_engines = { "auto", "generic", "postgresql", "mysql", "sqlite" }

--- The odbc_engine option: a name of M.odbc_engines | nil, msg.
function M.odbc_engine(opts)
  local v = opts.odbc_engine
  if v == nil or v == json.null then return "auto" end
  for _, name in ipairs(M.odbc_engines) do
    if v == name then return name end
  end
  return nil, string.format("odbc_engine must be one of %s (got '%s')", table.concat(M.odbc_engines, ", "),
    tostring(v))
end

--- The engine for an open connection of kind: engines[kind], or for ODBC
-- the engine named by choice (an M.odbc_engine result), by default the one
-- matching the DBMS behind the driver.
function M.engine_for(kind, db, choice)
  if kind ~= "odbc" then return engines[kind] end
  local info = db:info()
  local dbms = info.dbms_name or ""
  choice = choice or "auto"
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
  if choice == "sqlite" then return engines.odbc_sqlite end
  if choice == "generic" then
    local eng = {}
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
    return setmetatable(eng, { __index = engines.odbc })
  end
  return setmetatable({ driver = "nv.odbc", over_odbc = true }, { __index = engines[choice] })
end

------------------------------------------------------------------------
-- profiling

local AGG_ORDER = { "nn", "dc", "mn", "mx", "tr", "avg", "sd", "em", "mnl", "mxl" }
local MAX_SAMPLE_CHARS = 200

local function sample_text(v, norm)
  if type(v) ~= "string" then return tostring(v) end
  if norm == "binary" and not v:match("^\\x") then
    local n = math.min(#v, 32)
    v = "0x" .. v:sub(1, n):gsub(".", function(ch) return string.format("%02x", ch:byte()) end)
      .. (#v > n and "…" or "")
  elseif #v > MAX_SAMPLE_CHARS then
    v = v:sub(1, MAX_SAMPLE_CHARS):gsub("[\128-\191]*$", ""):gsub("[\192-\255]$", "") .. "…"
  end
  return v
end

local function as_bool(v)
  if type(v) == "number" then return v ~= 0 end
  return v
end

-- One aggregate query per table (chunked by columns), built from
-- aggregates(q, c, eng) (eng.aggregates by default); fills the column stats
-- once every chunk has answered, so a failed query leaves none behind.
local function pushdown(db, eng, t, ref, opts, counter, aggregates)
  aggregates = aggregates or eng.aggregates
  local chunk = opts.chunk_columns or 200
  local ncols = #t.columns
  local got, nrows = {}, 0
  local first = 1
  repeat
    local last = math.min(ncols, first + chunk - 1)
    local exprs, keys, params = { "COUNT(*) AS n_rows" }, {}, {}
    for i = first, last do
      local c = t.columns[i]
      local e = aggregates(eng.quote(c.name), c, eng)
      for _, k in ipairs(AGG_ORDER) do
        local x = e[k]
        if x then
          if type(x) == "table" then -- {sql, params...}
            for j = 2, #x do params[#params + 1] = x[j] end
            x = x[1]
          end
          local alias = "a" .. i .. "_" .. k
          exprs[#exprs + 1] = x .. " AS " .. alias
          keys[#keys + 1] = { i, k, alias }
        end
      end
    end
    counter.profile = counter.profile + 1
    local rows, err = db:query("SELECT " .. table.concat(exprs, ", ") .. " FROM " .. ref, table.unpack(params))
    if not rows then return nil, err end
    local r = rows[1] or {}
    nrows = r.n_rows or 0
    for _, k in ipairs(keys) do
      got[k[1]] = got[k[1]] or {}
      got[k[1]][k[2]] = r[k[3]]
    end
    first = last + 1
  until first > ncols
  t.rows = nrows
  for i = 1, ncols do
    local c, s = t.columns[i], got[i] or {}
    local nn = s.nn or 0
    local empty = s.em or 0
    local valued = nn - empty
    c.rows, c.present, c.missing_count = t.rows, t.rows, 0
    c.null_count, c.empty_count = t.rows - nn, empty
    c.non_null, c.valid_count, c.invalid_count = valued, valued, 0
    c.distinct_count, c.distinct_exact = s.dc, s.dc ~= nil or nil
    if s.tr ~= nil then -- TRUE values counted: no MIN/MAX on booleans
      if nn > 0 then c.min, c.max = s.tr == nn, s.tr > 0 end
    elseif c.inferred_type == "boolean" then
      c.min, c.max = as_bool(s.mn), as_bool(s.mx)
    else
      c.min, c.max = s.mn, s.mx
    end
    c.mean, c.stddev = s.avg, s.sd
    c.min_length, c.max_length = s.mnl, s.mxl
    c.type_counts = valued > 0 and { [c.inferred_type] = valued } or {}
    c.type_confidence = valued > 0 and 1 or nil
    c.is_unique = s.dc ~= nil and nn > 0 and s.dc == nn
    c.candidate_primary_key = c.is_unique and nn == t.rows and t.rows > 0 or false
    c.invalid_samples = json.array()
  end
  return true
end

-- a row count option as an integer in [1, 2^31 - 1] (default when absent
-- or not a number: inf, NaN, negatives and fractions never reach SQL)
local function row_option(v, default)
  local n = tonumber(v)
  if not n or n ~= n then return default end
  n = math.floor(math.max(1, math.min(n, 2147483647)))
  return math.tointeger(n) or default
end

-- SELECT * of at most n rows: LIMIT, or SQL_ATTR_MAX_ROWS for the ODBC
-- engines (whose DBMS may have no LIMIT).
local function select_rows(db, eng, ref, n)
  if eng.max_rows_samples then return db:query({ "SELECT * FROM " .. ref, max_rows = math.max(1, n) }) end
  return db:query("SELECT * FROM " .. ref .. " LIMIT " .. n)
end

-- The nv.profile path: a bounded sample of rows through the profiler.
local function profile_sample(db, eng, t, ref, opts, counter)
  local n = row_option(opts.profile_rows, 10000)
  counter.profile = counter.profile + 1
  local rows, err = select_rows(db, eng, ref, n)
  if not rows then return nil, err end
  local p <close> = require("nv.profile").new()
  for i, c in ipairs(t.columns) do
    p:column(c.name)
    if c.native_type then p:set_native_type(i - 1, c.native_type) end
  end
  for _, r in ipairs(rows) do
    for i, c in ipairs(t.columns) do p:add(i - 1, r[c.name]) end
    p:add_rows(1)
  end
  local res = p:result()
  -- a sample that may not hold the whole table: its figures describe the
  -- sample, so nothing computed from it is stated exact for the table
  local partial = #rows >= n
  for i, pc in ipairs(res.columns) do
    local c = t.columns[i]
    if c then
      for k, v in pairs(pc) do
        if c[k] == nil or k == "inferred_type" then c[k] = v end
      end
      if partial then
        c.distinct_exact, c.top_values_exact, c.distinct_error = false, false, nil
        if c.quantiles_exact then c.quantiles_exact = false end
        c.sampled_rows = #rows
      end
    end
  end
  t.rows = #rows < n and #rows or (t.row_count_estimate or #rows)
  t.sampled_rows = #rows
  return true
end

local function samples(db, eng, t, ref, opts, counter)
  local limit = row_option(opts.sample_rows, 5)
  if limit <= 0 then return true end
  counter.profile = counter.profile + 1
  local rows, err = select_rows(db, eng, ref, limit)
  if not rows then return nil, err end
  for _, c in ipairs(t.columns) do
    local seen, list = {}, json.array()
    for _, r in ipairs(rows) do
      local v = r[c.name]
      if v ~= nil then
        local s = sample_text(v, c.inferred_type)
        if not seen[s] then
          seen[s] = true
          list[#list + 1] = s
        end
      end
    end
    if c.samples == nil or opts.profile ~= "sample" then c.samples = list end
  end
  return true
end

------------------------------------------------------------------------
-- the model

local function describe(kind, target)
  local drv = require(engines[kind].driver)
  local d = drv.describe(target)
  if not d then return { kind = kind } end
  return { kind = kind, host = d.host, port = d.port and tostring(d.port), database = d.database, user = d.user,
           driver = d.driver, dsn = d.dsn }
end

local function where(desc)
  if desc.kind == "odbc" then
    local s = "odbc:[" .. (desc.driver or (desc.dsn and ("DSN=" .. desc.dsn)) or "?") .. "]"
    if desc.host then s = s .. " " .. (desc.user and (desc.user .. "@") or "") .. desc.host
                             .. (desc.port and (":" .. desc.port) or "") .. "/" end
    if desc.host then return s .. (desc.database or "") end
    return s .. (desc.database and (" " .. desc.database) or "")
  end
  return string.format("%s://%s%s:%s/%s", desc.kind, desc.user and (desc.user .. "@") or "",
    desc.host or "?", desc.port or "?", desc.database or "")
end

local function fail(ctx, model, msg)
  model.status = "failed"
  model.errors[#model.errors + 1] = msg
  model.quality = quality.summarize(model.tables)
  ctx.log:error("%s", msg)
  return model
end

--- Opens a read-only connection for a source: conn, kind, desc, engine |
-- nil, msg.
local function connect(src, opts)
  local kind, target = M.resolve(src)
  if not kind then return nil, target end
  local desc = describe(kind, target)
  local choice, cerr = M.odbc_engine(opts)
  if not choice then return nil, cerr, desc end
  local drv = require(engines[kind].driver)
  local qt = tonumber(opts.query_timeout)
  local db, err = drv.open(target, { connect_timeout = tonumber(opts.connect_timeout) or 5, read_only = true,
                                     application_name = "nvlua source",
                                     query_timeout = kind == "odbc" and qt and math.max(1, math.ceil(qt)) or nil })
  if not db then return nil, log.mask(err), desc end
  local eng = M.engine_for(kind, db, choice)
  if qt and eng.timeout_sql then
    local ok, terr = db:exec(eng.timeout_sql(qt))
    if not ok then
      db:close()
      return nil, log.mask(terr), desc
    end
  end
  return db, kind, desc, eng
end

function M.test_connection(src, opts)
  local db, kind, desc = connect(src, opts or {})
  if not db then return nil, kind end
  local info = db:info()
  db:close()
  info.kind = kind
  info.description = where(desc)
  return true, info
end

local function options(opts)
  local o = setmetatable({}, { __index = opts })
  for _, k in ipairs({ "include_schemas", "exclude_schemas", "include_tables", "exclude_tables" }) do
    o[k] = list_of(opts[k])
  end
  o.profile = opts.profile or "pushdown"
  return o
end

-- What an engine's catalog(db, opts, run, call, eng) returns: {database,
-- version, schemas = {{schema_name, comment}}, tables = {{schema_name,
-- table_name, table_type, comment, estimate, size_bytes, definition,
-- last_modified, engine?, view_error?}}, columns = rows already in the
-- model's column shape {{name, ordinal_position, native_type, base_type,
-- category, element_type?, declared_nullable, default_value, comment}} (in
-- any order), constraints = {{name, type = p|f|u, columns, ref_schema?,
-- ref_table?, ref_columns?}}, indexes = {{name, is_unique, is_primary,
-- columns, definition?, index_type?}}, warnings = {text}? (what could not be
-- read; the source still succeeds)}. Constraints and indexes give their
-- columns by name (columns) or by ordinal position (keys; 0 = an
-- expression, skipped). Each row names its table by table_oid (PostgreSQL)
-- or by schema_name and table_name.
local function tref(r) return r.table_oid or tkey(r.schema_name, r.table_name) end

local function build_tables(ctx, model, cat, eng)
  local by = {}
  local hash = require("nv.filesource").hash
  local array = json.array
  local id_prefix = (model.source_id or "") .. "\0"
  for _, r in ipairs(cat.tables or {}) do
    local sname, tname = r.schema_name, r.table_name
    local t = {
      table_id = "t_" .. hash(id_prefix .. sname .. "." .. tname),
      name = tname, key = (sname ~= "" and (sname .. ".") or "") .. tname,
      schema_name = sname,
      catalog_name = cat.database, table_type = r.table_type, engine = r.engine,
      comment = (r.comment ~= "" and r.comment) or nil, definition = r.definition,
      row_count_estimate = r.estimate, rows = r.estimate or 0, size_bytes = r.size_bytes,
      last_modified = r.last_modified, status = "success",
      files = array(), errors = array(), warnings = {}, partition_columns = array(),
      ragged_rows = 0, bad_records = 0, columns = array(), foreign_keys = array(),
      unique_constraints = array(), indexes = array(), view_error = r.view_error,
    }
    by[tref(r)] = t
    model.tables[#model.tables + 1] = t
  end
  -- The column rows become the model's columns: a copy would double the
  -- tables (and the memory) of a wide catalog.
  local normalize = eng.normalize
  local last_ref, t
  local unordered = {} -- tables whose rows came out of ordinal order
  for _, c in ipairs(cat.columns or {}) do
    local ref = tref(c) -- rows mostly come grouped by table
    if ref ~= last_ref then last_ref, t = ref, by[ref] end
    if t then
      c.table_oid, c.schema_name, c.table_name = nil, nil, nil
      if c.comment == "" then c.comment = nil end
      c.is_primary_key = false
      local norm = normalize(c)
      c.normalized, c.inferred_type = norm, norm
      local cols = t.columns
      local n = #cols
      if n > 0 and (tonumber(cols[n].ordinal_position) or 0) > (tonumber(c.ordinal_position) or 0) then
        unordered[t] = true
      end
      cols[n + 1], c.position = c, n
    end
  end
  for tb in pairs(unordered) do
    local cols = tb.columns
    table.sort(cols, function(a, b) return (tonumber(a.ordinal_position) or 0) < (tonumber(b.ordinal_position) or 0) end)
    for i = 1, #cols do cols[i].position = i - 1 end
  end
  -- a key's columns: names (an array) and the model's columns (false where
  -- unknown), from names or from ordinal positions; nil when a position
  -- names no column (the table changed between the catalog queries)
  local named = {} -- table -> {column name -> column}, built on first use
  local function members(tb, k)
    local cols, names, list = tb.columns, array(), {}
    if k.keys then
      for _, n in ipairs(k.keys) do
        if n ~= 0 then
          local c = cols[n]
          if not (c and tonumber(c.ordinal_position) == n) then
            c = nil
            for _, x in ipairs(cols) do
              if tonumber(x.ordinal_position) == n then c = x break end
            end
          end
          if not c then return nil end
          names[#names + 1], list[#list + 1] = c.name, c
        end
      end
      return names, list
    end
    local m = named[tb]
    if not m then
      m = {}
      for _, c in ipairs(cols) do m[c.name] = c end
      named[tb] = m
    end
    for i, n in ipairs(k.columns or {}) do names[i], list[i] = n, m[n] or false end
    return names, list
  end
  for _, k in ipairs(cat.constraints or {}) do
    local tb = by[tref(k)]
    local cols, list
    if tb then cols, list = members(tb, k) end
    if cols then
      if k.type == "p" then
        tb.primary_key = cols
        for _, c in ipairs(list) do
          if c then c.is_primary_key = true end
        end
      elseif k.type == "f" then
        local refs = array()
        for i, n in ipairs(k.ref_columns or {}) do refs[i] = n end
        tb.foreign_keys[#tb.foreign_keys + 1] = { name = k.name, columns = cols, ref_schema = k.ref_schema,
                                                  ref_table = k.ref_table, ref_columns = refs }
        for i, c in ipairs(list) do
          if c then
            local rs = k.ref_schema == "" and "" or ((k.ref_schema or "?") .. ".") -- a DBMS without schemas
            c.foreign_key = string.format("%s%s(%s)", rs, k.ref_table or "?", refs[i] or "?")
          end
        end
      elseif k.type == "u" then
        tb.unique_constraints[#tb.unique_constraints + 1] = { name = k.name, columns = cols }
      end
    end
  end
  for _, x in ipairs(cat.indexes or {}) do
    local tb = by[tref(x)]
    local cols = tb and members(tb, x)
    if cols then
      tb.indexes[#tb.indexes + 1] = { name = x.name, unique = x.is_unique, primary = x.is_primary,
                                      columns = cols, definition = x.definition, index_type = x.index_type }
    end
  end
end

local function table_failed(ctx, model, label, t, msg)
  t.status = "failed"
  local e = string.format("source %s: table %s: %s", label, t.key, log.mask(tostring(msg)))
  t.errors[#t.errors + 1] = e
  model.errors[#model.errors + 1] = e
  ctx.log:error("%s", e)
end

-- A table of a degrading engine whose rows could not be read: its catalog
-- metadata stays, with an error naming it and the driver's message.
local function table_partial(ctx, model, label, t, msg)
  t.status = "partial"
  local e = string.format("source %s: table %s: not profiled, catalog metadata only: %s", label, t.key,
    log.mask(tostring(msg)))
  t.errors[#t.errors + 1] = e
  model.errors[#model.errors + 1] = e
  ctx.log:error("%s", e)
end

local function table_warning(ctx, model, label, t, msg)
  local w = string.format("source %s: table %s: %s", label, t.key, log.mask(msg))
  t.warnings[#t.warnings + 1] = w
  model.warnings[#model.warnings + 1] = w
  ctx.log:warning("%s", w)
end

-- pushdown for a degrading engine (eng.degrade): after a failed aggregate
-- query, once more with eng.minimal_aggregates, then a bounded sample
-- through the profiler; warn(text) names each step and its cause. Returns
-- true | nil, the last step's error.
local function pushdown_degraded(db, eng, t, ref, opts, counter, warn)
  local ok, err = pushdown(db, eng, t, ref, opts, counter)
  if ok or not eng.degrade then return ok, err end
  warn(string.format("aggregate query failed, retrying with COUNT, MIN and MAX only: %s", tostring(err)))
  ok, err = pushdown(db, eng, t, ref, opts, counter, eng.minimal_aggregates)
  if ok then return true end
  local n = row_option(opts.profile_rows, 10000)
  warn(string.format("minimal aggregate query failed, profiling a sample of at most %d rows instead: %s", n,
    tostring(err)))
  return profile_sample(db, eng, t, ref, opts, counter)
end

--- Extracts one database source into model (see nv.extract.source).
function M.source(ctx, src, opts, model)
  opts = options(opts or {})
  local raw = src.data_source_path or ""
  model.source_path = log.mask(raw)
  local kind, target = M.resolve(src)
  if not kind then return fail(ctx, model, string.format("source %s: %s", model.source_path, target)) end
  if model.source_type == "auto" or model.source_type == nil then model.source_type = kind end
  local desc = describe(kind, target) -- registers the password before anything logs
  model.source_path = log.mask(raw)
  model.connection_info = json.encode(desc)
  local label = where(desc)
  local db, err, _, eng = connect(src, opts)
  if not db then return fail(ctx, model, string.format("source %s: %s", label, err)) end
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
  local cat = eng.catalog(db, opts, run, call, eng)
  model.catalog_queries = counter.catalog
  if cat_err or not cat then
    db:close()
    return fail(ctx, model, string.format("source %s: catalog query failed: %s", label, log.mask(tostring(cat_err))))
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
  build_tables(ctx, model, cat, eng)
  ctx.log:info("Source %s: %d schemas, %d tables (%d catalog queries)", label, #model.schemas,
    #model.tables, counter.catalog)
  if opts.on_catalog then opts.on_catalog(model, db) end
  local failed, partial = 0, 0
  local profiling = opts.profile ~= "none" or opts.exact_counts
  local qopts = { freshness_days = opts.freshness_days }
  for _, t in ipairs(model.tables) do
    if ctx.check_cancel then ctx.check_cancel() end -- a SIGTERM stops between tables
    local ok, perr = true, nil
    if t.view_error then
      ok, perr = nil, t.view_error
    elseif #t.columns > 0 and profiling then
      local ref = (t.schema_name ~= "" and (eng.quote(t.schema_name) .. ".") or "") .. eng.quote(t.name)
      if opts.profile == "pushdown" then
        ok, perr = pushdown_degraded(db, eng, t, ref, opts, counter,
          function(w) table_warning(ctx, model, label, t, w) end)
      elseif opts.profile == "sample" then
        ok, perr = profile_sample(db, eng, t, ref, opts, counter)
      elseif opts.exact_counts then
        counter.profile = counter.profile + 1
        local rows, cerr = db:query("SELECT COUNT(*) AS n FROM " .. ref)
        if rows then t.rows = rows[1].n else ok, perr = nil, cerr end
      end
      if ok and opts.profile ~= "none" then ok, perr = samples(db, eng, t, ref, opts, counter) end
    end
    if not ok and eng.degrade and not t.view_error then
      table_partial(ctx, model, label, t, perr)
      partial = partial + 1
    elseif not ok then
      table_failed(ctx, model, label, t, perr)
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

M.engines = engines
M.now = sys.now
return M
