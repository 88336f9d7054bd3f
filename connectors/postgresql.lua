-- connectors/postgresql.lua: PostgreSQL 10+ (postgresql://user@host:port/db,
-- or a libpq "host=… dbname=…" conninfo with source_type postgresql) through
-- nv.pg. A catalog kind: the catalog in six set-based queries (never one per
-- table; bench/pg_catalog.sh times 10,000 tables), then each table profiled
-- with one pushed-down aggregate query (nv.sqlprofile). The driver that runs
-- connect -> catalog -> profile -> model is nv.dbsource; this module holds
-- what is PostgreSQL's: the catalog SQL, type normalization and aggregates
-- (also used for PostgreSQL reached through ODBC, connectors/odbc.lua).
-- Sessions are read-only, with JIT off (see catalog_sql).
local dbsource = require "nv.dbsource"
local json = require "nv.json"
local sqlcatalog = require "nv.sqlcatalog"

local D = {
  driver = "nv.pg",
  system_schemas = { "pg_catalog", "information_schema", "_executor_metadata" },
  system_like = { "pg\\_toast%", "pg\\_temp\\_%" },
  quote = function(id) return '"' .. tostring(id):gsub('"', '""') .. '"' end,
  timeout_sql = function(s) return string.format("SET statement_timeout = %d", math.floor(s * 1000)) end,
  schema_expr = "n.nspname",
}

local SQL = {}

-- who and where: the first catalog query (also turns JIT off for the session)
SQL.info = [[
SELECT current_database() AS database, current_user AS user_name, version() AS version,
  current_setting('server_version_num')::int AS version_num,
  CASE WHEN current_setting('server_version_num')::int >= 110000 THEN set_config('jit', 'off', false) END AS jit]]

-- %s: the schema filter (sqlcatalog.filter on n.nspname)
SQL.schemas = "SELECT n.nspname AS schema_name, ds.description AS comment FROM pg_namespace n"
  .. " LEFT JOIN pg_description ds ON ds.objoid = n.oid AND ds.classoid = 'pg_namespace'::regclass"
  .. " AND ds.objsubid = 0"
  .. " WHERE TRUE%s ORDER BY 1"

-- test_connection (nv.dbsource): who and where, and the schemas this user
-- may use (%s: the filter on D.schema_expr, system schemas left out)
SQL.whoami = "SELECT version() AS version, current_user AS user_name, current_database() AS db_name"
SQL.visible_schemas = "SELECT n.nspname AS schema_name FROM pg_namespace n"
  .. " WHERE has_schema_privilege(n.oid, 'USAGE')%s ORDER BY 1"

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
local function catalog_sql(version)
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

function D.catalog(db, opts, run)
  local cat = {}
  local f, fp = sqlcatalog.filter(D, opts, "n.nspname", "c.relname")
  local sf, sp = sqlcatalog.filter(D, opts, "n.nspname", nil)
  local info = run(SQL.info)
  if not info then return nil end
  cat.database, cat.version = info[1].database, info[1].version
  local q = catalog_sql(math.tointeger(tonumber(info[1].version_num)) or 0)
  cat.schemas = run(SQL.schemas:format(sf), sp)
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

function D.normalize(c)
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
function D.aggregates(q, c)
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

-- libpq reports every failed connection as 08001; the server's own
-- refusals (28P01 bad password, 28000 no pg_hba.conf entry or no such
-- role) are told by their text
D.auth_messages = { ["password authentication failed"] = "28P01", ["no pg_hba%.conf entry"] = "28000",
                    ["role \"[^\"]*\" does not exist"] = "28000" }

D.sql = SQL

return {
  name = "postgresql",
  description = "PostgreSQL 10+ (catalog, keys, comments, views; profiling pushed down as SQL)",
  source_types = { "postgresql", "postgres" },
  engine = "postgresql", -- the dialect nv.dbsource drives
  dialect = D,
  schemes = { "postgresql", "postgres" },
  asset_types = dbsource.supported_asset_types(),
  test_connection = dbsource.test_connection,
  extract = dbsource.source,
}
