-- connectors/sqlite.lua: a SQLite database file, read directly with the
-- SQLite library (nv.store.sqlite), never written: it is opened through a
-- `file:…?mode=ro` URI with PRAGMA query_only on. Paths: `sqlite:/path/to/file.db`
-- (also `sqlite:///path`), or a plain path with source_type sqlite; either
-- way the file must start with SQLite's header ("SQLite format 3\0").
-- A catalog kind run by nv.dbsource: tables, views, columns with their
-- declared types, primary keys, foreign keys, unique indexes and view
-- definitions from sqlite_master joined with the table-valued pragmas (a
-- constant number of queries; a view that no longer compiles is read on
-- its own and fails alone), then each table profiled with one pushed-down
-- aggregate query (nv.sqlprofile). The same key queries serve SQLite
-- reached through ODBC (connectors/odbc.lua).
local dbsource = require "nv.dbsource"
local sys = require "nv.sys"
local sqlcatalog = require "nv.sqlcatalog"

local tkey = sqlcatalog.tkey

local MAGIC = "SQLite format 3\0"

local D = {
  driver = "nv.store.sqlite",
  system_schemas = {},
  quote = function(id) return '"' .. tostring(id):gsub('"', '""') .. '"' end,
  exact_counts = true, -- no row estimates: profile = "none" still counts (a local file)
}

local SQL = {}
SQL.info = "SELECT sqlite_version() AS version"
SQL.tables = [[
SELECT name AS table_name, type AS kind FROM sqlite_master
WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name]]
-- %s: 'table' or 'view'; hidden = 1 marks a virtual table's hidden columns
-- (table_xinfo, unlike table_info, lists generated columns)
SQL.columns = [[
SELECT m.name AS table_name, p.cid AS cid, p.name AS name, p.type AS native_type, p."notnull" AS not_null,
  p.dflt_value AS default_value
FROM sqlite_master m JOIN pragma_table_xinfo(m.name) p
WHERE m.type = '%s' AND m.name NOT LIKE 'sqlite\_%%' ESCAPE '\' AND p.hidden <> 1]]
SQL.columns_of = [[
SELECT cid, name, type AS native_type, "notnull" AS not_null, dflt_value AS default_value
FROM pragma_table_xinfo(?) WHERE hidden <> 1]]
-- sizes from the dbstat virtual table (a table with its indexes); optional:
-- a SQLite built without it gives none
SQL.sizes = [[
SELECT m.tbl_name AS table_name, SUM(s.pgsize) AS size_bytes
FROM dbstat s JOIN sqlite_master m ON m.name = s.name GROUP BY m.tbl_name]]
SQL.primary_keys = [[
SELECT m.name AS table_name, p.name AS column_name, p.pk AS seq
FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND p.pk > 0 ORDER BY 1, 3]]
SQL.foreign_keys = [[
SELECT m.name AS table_name, f.id AS id, f.seq AS seq, f."table" AS ref_table,
  f."from" AS column_name, f."to" AS ref_column
FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table' ORDER BY 1, 2, 3]]
SQL.indexes = [[
SELECT m.name AS table_name, l.name AS name, l."unique" AS is_unique, l.origin AS origin,
  i.seqno AS seq, i.name AS column_name
FROM sqlite_master m JOIN pragma_index_list(m.name) l JOIN pragma_index_info(l.name) i
WHERE m.type = 'table' ORDER BY 1, 2, 5]]
SQL.views = "SELECT name, sql FROM sqlite_master WHERE type = 'view'"
D.sql = SQL

--- sqlite:/path, sqlite:///path or a plain path -> the file's path.
function D.target(path)
  return (path:gsub("^[Ss][Qq][Ll][Ii][Tt][Ee]:", ""):gsub("^//", ""))
end

-- a path as a file: URI (RFC 3986 percent-encoding for what is not plain)
local function uri(path)
  return "file:" .. path:gsub("[^%w/._~-]", function(ch) return string.format("%%%02X", ch:byte()) end)
    .. "?mode=ro"
end

function D.describe(path)
  return { database = path }
end

function D.where(desc) return "sqlite:" .. tostring(desc.database or "?") end

--- Opens the file read-only: db | nil, msg, kind ("notfound",
-- "permission", "io": missing or unreadable, "parse": not a SQLite
-- database, or nv.store.sqlite's), native code (errno, SQLite's code).
function D.open(path, o)
  local f, ferr, errno = io.open(path, "rb")
  if not f then
    return nil, string.format("sqlite: cannot open %s: %s", path, ferr), sys.errno_kind(errno or 5), errno or 5
  end
  local head = f:read(#MAGIC)
  f:close()
  if head ~= MAGIC then
    return nil, string.format("sqlite: %s is not a SQLite database (no \"SQLite format 3\" header)", path), "parse"
  end
  local timeout = math.floor((tonumber(o and o.connect_timeout) or 5) * 1000)
  local db, err, kind, native = require("nv.store.sqlite").open(uri(path), { busy_timeout_ms = timeout })
  if not db then return nil, err, kind, native end
  local ok, qerr, qkind, qnative = db:exec("PRAGMA query_only = 1")
  if not ok then
    db:close()
    return nil, qerr, qkind, qnative
  end
  return db
end

local TABLE_TYPES = { table = "table", view = "view" }

function D.catalog(db, opts, run, _, _, desc)
  local cat = { warnings = {} }
  local info = run(SQL.info)
  local trows = info and run(SQL.tables)
  if not trows then return nil end
  cat.version = "SQLite " .. tostring(info[1].version)
  cat.database = tostring(desc and desc.database or ""):match("([^/]*)$")
  cat.schemas, cat.tables, cat.columns = {}, {}, {}
  local wanted, by = {}, {}
  for _, r in ipairs(trows) do
    if sqlcatalog.keep(opts, "main", r.table_name) then
      local t = { schema_name = "main", table_name = r.table_name, table_type = TABLE_TYPES[r.kind] or r.kind }
      cat.tables[#cat.tables + 1] = t
      wanted[tkey("main", r.table_name)], by[r.table_name] = true, t
    end
  end
  if #cat.tables > 0 or #opts.include_schemas == 0 or sqlcatalog.keep(opts, "main") then
    cat.schemas[1] = { schema_name = "main" }
  end
  local function add(name, c)
    if not by[name] then return end
    cat.columns[#cat.columns + 1] = {
      schema_name = "main", table_name = name, ordinal_position = c.cid + 1, name = c.name,
      native_type = c.native_type ~= "" and c.native_type or nil, declared_nullable = c.not_null == 0,
      default_value = c.default_value,
    }
  end
  local cols = run(SQL.columns:format("table"))
  if not cols then return nil end
  for _, c in ipairs(cols) do add(c.table_name, c) end
  -- views: one query, or one per view when one of them no longer compiles
  local vcols = run(SQL.columns:format("view"), nil, true)
  if vcols then
    for _, c in ipairs(vcols) do add(c.table_name, c) end
  else
    for _, t in ipairs(cat.tables) do
      if t.table_type == "view" then
        local rows, err = run(SQL.columns_of, { t.table_name }, true)
        if rows then
          for _, c in ipairs(rows) do add(t.table_name, c) end
        else
          t.view_error = "view does not compile: " .. tostring(err)
        end
      end
    end
  end
  for _, s in ipairs(run(SQL.sizes, nil, true) or {}) do
    local t = by[s.table_name]
    if t then t.size_bytes = s.size_bytes end
  end
  if not D.keys(cat, run, wanted) then return nil end
  return cat
end

-- Keys, indexes and view definitions (cat.tables already read): four
-- queries whatever the number of tables; wanted = {tkey("main", table)}.
function D.keys(cat, run, wanted)
  local pk = run(SQL.primary_keys)
  local fk = run(SQL.foreign_keys)
  local ix = run(SQL.indexes)
  local views = run(SQL.views)
  if not (pk and fk and ix and views) then return nil end
  cat.constraints, cat.indexes = {}, {}
  local by, pk_of = {}, {}
  for _, r in ipairs(pk) do
    pk_of[r.table_name] = pk_of[r.table_name] or {}
    table.insert(pk_of[r.table_name], r.column_name)
  end
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
      local f = by[k]
      f.columns[#f.columns + 1] = r.column_name
      -- REFERENCES parent without a column list: the parent's primary key
      f.ref_columns[#f.columns] = r.ref_column or (pk_of[r.ref_table] or {})[#f.columns] or nil
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

-- declared type -> the model's type, after SQLite's own affinity rules
-- (https://sqlite.org/datatype3.html 3.1) with the date/time, JSON and
-- UUID names applications declare
function D.normalize(c)
  local t = (c.native_type or ""):upper()
  if t:find("BOOL", 1, true) then return "boolean" end
  if t:find("INT", 1, true) then return "integer" end
  if t:find("CHAR", 1, true) or t:find("CLOB", 1, true) or t:find("TEXT", 1, true) then return "string" end
  if t:find("BLOB", 1, true) then return "binary" end
  if t:find("REAL", 1, true) or t:find("FLOA", 1, true) or t:find("DOUB", 1, true) then return "decimal" end
  if t:find("DATETIME", 1, true) or t:find("TIMESTAMP", 1, true) then return "timestamp" end
  if t:find("DATE", 1, true) then return "date" end
  if t:find("TIME", 1, true) then return "time" end
  if t:find("JSON", 1, true) then return "json" end
  if t:find("UUID", 1, true) or t:find("GUID", 1, true) then return "uuid" end
  if t:find("NUM", 1, true) or t:find("DEC", 1, true) or t:find("MONEY", 1, true) then return "decimal" end
  return "string" -- no declared type (any value) or a name SQLite does not know
end

-- Aggregates for one column. SQLite has no STDDEV: the sample variance
-- from sums (in floating point: a product of integers could overflow),
-- its square root taken by nv.sqlprofile.
function D.aggregates(q, c)
  local norm = c.normalized
  local e = { nn = "COUNT(" .. q .. ")" }
  if norm ~= "binary" then
    e.dc = "COUNT(DISTINCT " .. q .. ")"
    e.mn, e.mx = "MIN(" .. q .. ")", "MAX(" .. q .. ")"
  end
  if norm == "integer" or norm == "decimal" then
    local x = "(" .. q .. " * 1.0)"
    e.avg = "AVG(" .. x .. ")"
    e.var = string.format("(SUM(%s * %s) - SUM(%s) * SUM(%s) / COUNT(%s)) / NULLIF(COUNT(%s) - 1, 0)", x, x, x, x,
      q, q)
  end
  if norm == "string" then
    e.em = "COUNT(CASE WHEN " .. q .. " = '' THEN 1 END)"
    e.mnl, e.mxl = "MIN(LENGTH(" .. q .. "))", "MAX(LENGTH(" .. q .. "))"
  end
  return e
end

--- test_connection: what the file holds.
function D.reach(db, _, desc)
  local rows, err, kind, native = db:query(SQL.info)
  if not rows then return nil, err, kind, native end
  local dbs, derr, dkind, dnative = db:query("SELECT name FROM pragma_database_list ORDER BY seq")
  if not dbs then return nil, derr, dkind, dnative end
  local names = {}
  for _, r in ipairs(dbs) do if r.name ~= "temp" then names[#names + 1] = r.name end end
  local t = db:query("SELECT COUNT(*) AS n FROM sqlite_master WHERE type IN ('table', 'view')"
    .. " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
  return { server_version = "SQLite " .. tostring(rows[1].version), database = desc and desc.database,
           schemas = names, tables = t and t[1].n or nil }
end

return {
  name = "sqlite",
  description = "SQLite database files, read-only (catalog, keys, indexes, views; profiling pushed down as SQL)",
  source_types = { "sqlite" },
  engine = "sqlite", -- the dialect nv.dbsource drives
  dialect = D,
  schemes = { "sqlite" },
  asset_types = dbsource.supported_asset_types(),
  test_connection = dbsource.test_connection,
  extract = dbsource.source,
}
