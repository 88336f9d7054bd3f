-- connectors/mysql.lua: MySQL 5.7+/8 and MariaDB 10+
-- (mysql://user:password@host:port/db or mariadb://…) through nv.mysql. A
-- catalog kind: six INFORMATION_SCHEMA queries for the whole catalog (the
-- URL's database by default), then each table profiled with one
-- pushed-down aggregate query (nv.sqlprofile) by the driver nv.dbsource.
-- This module holds what is MySQL's: the catalog SQL, type normalization
-- and aggregates (also used for MySQL/MariaDB reached through ODBC).
local dbsource = require "nv.dbsource"
local sqlcatalog = require "nv.sqlcatalog"

local D = {
  driver = "nv.mysql",
  system_schemas = { "mysql", "information_schema", "performance_schema", "sys", "_executor_metadata" },
  quote = function(id) return "`" .. tostring(id):gsub("`", "``") .. "`" end,
  timeout_sql = function(s) return string.format("SET SESSION max_statement_time = %g", s) end,
  schema_expr = "SCHEMA_NAME",
}

local MY_TYPES = { ["BASE TABLE"] = "table", VIEW = "view", ["SYSTEM VIEW"] = "view",
                   ["SYSTEM VERSIONED"] = "table" }
local MY_CONSTRAINTS = { ["PRIMARY KEY"] = "p", ["FOREIGN KEY"] = "f", UNIQUE = "u" }

-- the catalog queries; %s is the schema/table filter (sqlcatalog.filter on
-- t.TABLE_SCHEMA and t.TABLE_NAME, or SCHEMA_NAME for the schemas)
local SQL = {}
SQL.info = "SELECT DATABASE() AS db, CURRENT_USER() AS user_name, VERSION() AS version"
SQL.schemas = "SELECT SCHEMA_NAME AS schema_name FROM information_schema.SCHEMATA WHERE 1 = 1%s ORDER BY 1"
-- test_connection (nv.dbsource): who and where, and the visible schemas
SQL.whoami = "SELECT VERSION() AS version, CURRENT_USER() AS user_name, DATABASE() AS db_name"
SQL.visible_schemas = SQL.schemas
SQL.tables = [[
SELECT t.TABLE_SCHEMA AS schema_name, t.TABLE_NAME AS table_name, t.TABLE_TYPE AS kind, t.ENGINE AS engine,
  t.TABLE_ROWS AS estimate, t.DATA_LENGTH + t.INDEX_LENGTH AS size_bytes, t.TABLE_COMMENT AS comment,
  UNIX_TIMESTAMP(t.UPDATE_TIME) AS last_modified, v.VIEW_DEFINITION AS definition
FROM information_schema.TABLES t
LEFT JOIN information_schema.VIEWS v ON v.TABLE_SCHEMA = t.TABLE_SCHEMA AND v.TABLE_NAME = t.TABLE_NAME
WHERE t.TABLE_TYPE IN ('BASE TABLE', 'VIEW', 'SYSTEM VERSIONED')%s ORDER BY 1, 2]]
SQL.columns = [[
SELECT t.TABLE_SCHEMA AS schema_name, t.TABLE_NAME AS table_name, t.ORDINAL_POSITION AS ordinal_position,
  t.COLUMN_NAME AS name, t.COLUMN_TYPE AS native_type, t.DATA_TYPE AS base_type,
  t.IS_NULLABLE AS declared_nullable, t.COLUMN_DEFAULT AS default_value, t.COLUMN_COMMENT AS comment
FROM information_schema.COLUMNS t WHERE 1 = 1%s ORDER BY 1, 2, 3]]
SQL.constraints = [[
SELECT t.TABLE_SCHEMA AS schema_name, t.TABLE_NAME AS table_name, t.CONSTRAINT_NAME AS name,
  c.CONSTRAINT_TYPE AS type, t.COLUMN_NAME AS column_name, t.ORDINAL_POSITION AS ord,
  t.REFERENCED_TABLE_SCHEMA AS ref_schema, t.REFERENCED_TABLE_NAME AS ref_table,
  t.REFERENCED_COLUMN_NAME AS ref_column
FROM information_schema.KEY_COLUMN_USAGE t
JOIN information_schema.TABLE_CONSTRAINTS c ON c.CONSTRAINT_SCHEMA = t.CONSTRAINT_SCHEMA
  AND c.TABLE_NAME = t.TABLE_NAME AND c.CONSTRAINT_NAME = t.CONSTRAINT_NAME
WHERE c.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'FOREIGN KEY', 'UNIQUE')%s ORDER BY 1, 2, 3, 6]]
SQL.indexes = [[
SELECT t.TABLE_SCHEMA AS schema_name, t.TABLE_NAME AS table_name, t.INDEX_NAME AS name,
  t.NON_UNIQUE AS non_unique, t.SEQ_IN_INDEX AS seq, t.COLUMN_NAME AS column_name, t.INDEX_TYPE AS index_type
FROM information_schema.STATISTICS t WHERE 1 = 1%s ORDER BY 1, 2, 3, 5]]

function D.catalog(db, opts, run)
  local cat = {}
  local info = run(SQL.info)
  if not info then return nil end
  cat.database, cat.version = info[1].db, info[1].version
  if #opts.include_schemas == 0 and cat.database then
    opts = setmetatable({ include_schemas = { cat.database } }, { __index = opts })
  end
  local f, fp = sqlcatalog.filter(D, opts, "t.TABLE_SCHEMA", "t.TABLE_NAME")
  local sf, sp = sqlcatalog.filter(D, opts, "SCHEMA_NAME", nil)
  cat.schemas = run(SQL.schemas:format(sf), sp)
  cat.tables = run(SQL.tables:format(f), fp)
  cat.columns = run(SQL.columns:format(f), fp)
  local rows = run(SQL.constraints:format(f), fp)
  local irows = run(SQL.indexes:format(f), fp)
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

function D.normalize(c)
  local native = (c.native_type or ""):lower()
  if native:match("^tinyint%(1%)") or native == "bit(1)" then return "boolean" end
  if c.base_type == "bit" then return "integer" end
  return MY_NORMAL[c.base_type] or "string"
end

function D.aggregates(q, c)
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

-- MySQL client/server error numbers that mean "who you are was refused"
D.auth_codes = { [1044] = true, [1045] = true, [1698] = true, [2049] = true, [2059] = true }

D.sql = SQL

return {
  name = "mysql",
  description = "MySQL 5.7+/8 and MariaDB 10+ (catalog, keys, comments, views; profiling pushed down as SQL)",
  source_types = { "mysql", "mariadb" },
  engine = "mysql", -- the dialect nv.dbsource drives
  dialect = D,
  schemes = { "mysql", "mariadb" },
  asset_types = dbsource.supported_asset_types(),
  test_connection = dbsource.test_connection,
  extract = dbsource.source,
}
