-- nv.store.odbc: the ODBC dialect of the `_executor_metadata` store (see
-- find_dialect in nv.store). Store URL `odbc:<connection string>`, e.g.
--   odbc:Driver=PostgreSQL Unicode;Server=h;Port=5432;Database=d;Uid=u;Pwd=p
--   odbc:Driver=MariaDB Unicode;Server=h;Port=3306;User=u;Password=p
--   odbc:Driver=SQLite3;Database=/path/file.db
--   odbc:DSN=name
-- The driver is nv.odbc. On open the dialect asks the driver which DBMS it
-- reached (SQLGetInfo SQL_DBMS_NAME) and picks a flavor:
--   PostgreSQL     schema "_executor_metadata" (created when missing),
--                  nv.schema.types.postgresql
--   MySQL/MariaDB  database "_executor_metadata" (utf8mb4, binary
--                  collation), the mysql types with the VARCHAR(191) key fix
--                  of nv.store.mysql; the session runs with ANSI_QUOTES (so
--                  identifiers are "quoted" as everywhere else), strict mode
--                  and UTC
--   SQLite         ATTACH cannot be expressed through one ODBC connection
--                  string, so the tables live in the main database under
--                  prefixed names: "_executor_metadata__sources",
--                  "_executor_metadata__tables", … (st:qualified(name) gives
--                  the right name); nv.schema.types.sqlite
-- Other DBMSs are refused with a message naming them.
--
-- Transactions use ODBC's own (autocommit off + SQLEndTran): the store's
-- BEGIN/COMMIT/ROLLBACK statements are turned into conn:begin/commit/
-- rollback by a thin wrapper around the connection.
--
-- Trap: nv.store keeps one dialect table per store kind, and reads its
-- `name` (the type map) and `qualified` without a connection at hand. They
-- follow the flavor of the ODBC stores that are open; opening a store of a
-- different flavor while one is still open is refused rather than letting
-- the two mix DDL.
-- NVLUA_STORE_CONNECT_TIMEOUT (seconds, default 10) bounds the connect.
local schema = require "nv.schema"
local mysql_dialect = require "nv.store.mysql" -- registers its type map

local PREFIX = schema.name .. "__"

local function quote(id)
  return '"' .. tostring(id):gsub('"', '""') .. '"'
end

local function timeout()
  return tonumber(os.getenv("NVLUA_STORE_CONNECT_TIMEOUT") or "") or 10
end

local function name_set(db, sql, ...)
  local rows, err = db:query(sql, ...)
  if not rows then return nil, err end
  local set = {}
  for _, r in ipairs(rows) do set[r.name] = true end
  return set
end

local flavors = {}

flavors.postgresql = {
  types = "postgresql",
  prepare = function(conn)
    local have, err = conn:query("SELECT 1 AS x FROM pg_namespace WHERE nspname = ?", schema.name)
    if have and #have == 0 then
      local ok, cerr = conn:exec("CREATE SCHEMA IF NOT EXISTS " .. quote(schema.name))
      if not ok then have, err = nil, cerr end
    end
    if not have then return nil, "cannot prepare schema " .. schema.name .. ": " .. tostring(err) end
    return true
  end,
  qualified = function(sname, tname) return quote(sname) .. "." .. quote(tname) end,
  list_tables = function(db)
    return name_set(db, "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ?",
      schema.name)
  end,
  list_columns = function(db, tname)
    return name_set(db, "SELECT column_name AS name FROM information_schema.columns"
      .. " WHERE table_schema = ? AND table_name = ?", schema.name, tname)
  end,
}

flavors.mysql = {
  types = mysql_dialect.name,
  prepare = function(conn)
    local steps = {
      "SET SESSION sql_mode = 'ANSI_QUOTES,STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
      "SET SESSION time_zone = '+00:00'",
    }
    for _, sql in ipairs(steps) do
      local ok, err = conn:exec(sql)
      if not ok then return nil, "cannot prepare the session: " .. tostring(err) end
    end
    local have, err = conn:query("SELECT 1 AS x FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", schema.name)
    if have and #have == 0 then
      local ok, cerr = conn:exec("CREATE DATABASE IF NOT EXISTS " .. quote(schema.name)
        .. " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
      if not ok then have, err = nil, cerr end
    end
    if not have then return nil, "cannot prepare database " .. schema.name .. ": " .. tostring(err) end
    return true
  end,
  qualified = function(sname, tname) return quote(sname) .. "." .. quote(tname) end,
  list_tables = function(db)
    return name_set(db, "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
      schema.name)
  end,
  list_columns = function(db, tname)
    return name_set(db, "SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS"
      .. " WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", schema.name, tname)
  end,
}

flavors.sqlite = {
  types = "sqlite",
  prepare = function() return true end,
  qualified = function(sname, tname) return quote(sname .. "__" .. tname) end,
  list_tables = function(db)
    local rows, err = db:query("SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, ?) = ?",
      #PREFIX, PREFIX)
    if not rows then return nil, err end
    local set = {}
    for _, r in ipairs(rows) do set[r.name:sub(#PREFIX + 1)] = true end
    return set
  end,
  list_columns = function(db, tname)
    return name_set(db, "SELECT name FROM pragma_table_info(?)", PREFIX .. tname)
  end,
}

local function flavor_of(dbms)
  dbms = dbms or ""
  if dbms:find("PostgreSQL", 1, true) then return "postgresql" end
  if dbms:find("MySQL", 1, true) or dbms:find("MariaDB", 1, true) then return "mysql" end
  if dbms:find("SQLite", 1, true) then return "sqlite" end
  return nil
end

local M = {
  name = "sqlite", -- follows the open stores' flavor (see the trap above)
  quote = quote,
  begin = "BEGIN",
  flavors = flavors,
  flavor_of = flavor_of,
  prefix = PREFIX,
}

-- open wrappers per flavor (weak: a store dropped without close counts no more)
local open_dbs = setmetatable({}, { __mode = "k" })

local function other_flavor_open(flavor)
  for db in pairs(open_dbs) do
    if db.conn and db.flavor ~= flavor then return db.flavor end
  end
  return nil
end

-- the connection as nv.store sees it: exec/query/close, with the store's
-- transaction statements mapped to ODBC transactions
local Db = {}
Db.__index = Db
local TX = { BEGIN = "begin", COMMIT = "commit", ROLLBACK = "rollback" }

function Db:exec(sql, ...)
  local conn = self.conn
  if not conn then error("attempt to use a closed connection", 2) end
  local tx = TX[sql]
  if tx then
    if tx ~= "begin" and not self.in_tx then return nil, "odbc: no transaction is open", "usage" end
    local ok, err, kind, state = conn[tx](conn)
    if ok then self.in_tx = tx == "begin" end
    return ok and 0 or nil, err, kind, state
  end
  return conn:exec(sql, ...)
end

function Db:query(sql, ...)
  local conn = self.conn
  if not conn then error("attempt to use a closed connection", 2) end
  return conn:query(sql, ...)
end

function Db:info()
  return self.conn:info()
end

function Db:close()
  local conn = self.conn
  if conn then
    self.conn = nil
    open_dbs[self] = nil
    return conn:close()
  end
  return true
end

function M.open(target)
  local odbc = require "nv.odbc"
  local conn, err = odbc.open(target, { connect_timeout = timeout() })
  if not conn then return nil, err end
  local info = conn:info()
  local flavor = flavor_of(info.dbms_name)
  if not flavor then
    conn:close()
    return nil, string.format("odbc: a store on %s is not supported (PostgreSQL, MySQL/MariaDB or SQLite)",
      tostring(info.dbms_name))
  end
  local other = other_flavor_open(flavor)
  if other then
    conn:close()
    return nil, string.format("odbc: a %s store is open; close it before opening a %s store", other, flavor)
  end
  local ok, perr = flavors[flavor].prepare(conn)
  if not ok then
    conn:close()
    return nil, perr
  end
  M.name = flavors[flavor].types
  M.current = flavor
  local db = setmetatable({ conn = conn, flavor = flavor, dbms = info.dbms_name }, Db)
  open_dbs[db] = true
  return db
end

function M.qualified(sname, tname)
  return flavors[M.current or "sqlite"].qualified(sname, tname)
end

function M.list_tables(db)
  return flavors[db.flavor].list_tables(db)
end

function M.list_columns(db, tname)
  return flavors[db.flavor].list_columns(db, tname)
end

return M
