-- ODBC end to end: the nv.odbc driver, the `_executor_metadata` store over
-- ODBC (the same operations as store_spec.lua) and ODBC database sources
-- (nv.dbsource), against the Debian drivers:
--   PostgreSQL Unicode (odbc-postgresql)  needs NVLUA_TEST_PG_URL
--       eval "$(tests/servers/pg.sh start)"
--   MariaDB Unicode (odbc-mariadb)        needs NVLUA_TEST_MYSQL_URL
--       eval "$(tests/servers/mariadb.sh start)"
--   SQLite3 (libsqliteodbc)               needs only the driver
-- A backend whose driver is not registered with unixODBC (odbcinst -q -d),
-- or whose server variable is not set, is reported pending with the reason.
local H = require "helper"
local json = require "nv.json"
local schema = require "nv.schema"
local store_mod = require "nv.store"
local dbsource = require "nv.dbsource"
local nvlog = require "nv.log"
local odbc = require "nv.odbc"

local WRONG = "Wr0ng-Secret-7431"

local function have_driver(name)
  return os.execute("odbcinst -q -d -n " .. H.q(name) .. " >/dev/null 2>&1") == true
end

-- postgresql://user:pw@host:port/db (or mysql://) -> its parts
local function url_parts(url)
  local user, pw, host, port, db = (url or ""):match("^%a+://([^:@/]+):([^@]*)@([^:/]+):(%d+)/([^?]+)")
  if not user then return nil end
  return { user = user, pw = pw, host = host, port = port, db = db }
end

local SQLITE_DIR = H.tmpdir()

-- Each backend: how to reach it and what its driver says. `why` is set when
-- it cannot run here.
local backends = {
  {
    name = "PostgreSQL Unicode", env = "NVLUA_TEST_PG_URL", dbms = "PostgreSQL", flavor = "postgresql",
    types = "postgresql", qualified = '"_executor_metadata"."sources"',
    connstr = function(p, pw)
      return string.format("odbc:Driver=PostgreSQL Unicode;Server=%s;Port=%s;Database=%s;Uid=%s;Pwd=%s",
        p.host, p.port, p.db, p.user, pw or p.pw)
    end,
    types_ddl = "CREATE TABLE nvodbc_types (i bigint, d double precision, b boolean, t text, n numeric(10,2),"
      .. " y bytea, z integer)",
    bool_true = true,
    char_length = nil, -- psqlODBC translates {fn CHAR_LENGTH} but does not list it in SQL_STRING_FUNCTIONS
    -- {message, SQLSTATE (the native code, fourth), kind (third)}
    missing = { 'odbc: ERROR: relation "nvodbc_missing" does not exist; Error while executing the query', "42P01",
                "sql" },
    read_only = { "odbc: ERROR: cannot execute INSERT in a read-only transaction;"
      .. " Error while executing the query", "25006", "permission" },
    wrong_password = { 'password authentication failed for user "nv"', "08001", "connect" }, -- psqlODBC: no 28xxx
    reset_store = function(c) assert(c:exec('DROP SCHEMA IF EXISTS "_executor_metadata" CASCADE')) end,
    column_types = "SELECT column_name AS name, data_type AS type FROM information_schema.columns"
      .. " WHERE table_schema = '_executor_metadata' AND table_name = 'columns'",
    want_types = { is_nullable = "boolean", null_count = "bigint", mean_value = "double precision", column_name = "text" },
    not_null = 'null value in column "column_name" of relation "columns" violates not%-null constraint',
    drop_pair = { "DROP TABLE IF EXISTS nvodbc_child", "DROP TABLE IF EXISTS nvodbc_parent" },
  },
  {
    name = "MariaDB Unicode", env = "NVLUA_TEST_MYSQL_URL", dbms = "MariaDB", flavor = "mysql",
    types = "mysql_utf8mb4", qualified = '"_executor_metadata"."sources"',
    connstr = function(p, pw)
      return string.format("odbc:Driver=MariaDB Unicode;Server=%s;Port=%s;Database=%s;User=%s;Password=%s",
        p.host, p.port, p.db, p.user, pw or p.pw)
    end,
    types_ddl = "CREATE TABLE nvodbc_types (i BIGINT, d DOUBLE, b BOOLEAN, t LONGTEXT, n DECIMAL(10,2),"
      .. " y VARBINARY(100), z INT) CHARACTER SET utf8mb4",
    bool_true = 1, -- BOOLEAN is TINYINT(1); the ODBC driver reports SQL_TINYINT
    char_length = true,
    missing = { "odbc: Table 'testdb.nvodbc_missing' doesn't exist", "42S02", "sql" },
    read_only = { "odbc: Cannot execute statement in a READ ONLY transaction", "25006", "permission" },
    wrong_password = { "Access denied for user 'nv'@", "28000", "auth" },
    reset_store = function(c) assert(c:exec("DROP DATABASE IF EXISTS _executor_metadata")) end,
    column_types = "SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS"
      .. " WHERE TABLE_SCHEMA = '_executor_metadata' AND TABLE_NAME = 'columns'",
    want_types = { is_nullable = "tinyint(1)", null_count = "bigint(20)", mean_value = "double",
                   column_name = "varchar(191)" },
    not_null = "Field 'column_name' doesn't have a default value",
    drop_pair = { "DROP TABLE IF EXISTS nvodbc_child", "DROP TABLE IF EXISTS nvodbc_parent" },
  },
  {
    name = "SQLite3", dbms = "SQLite", flavor = "sqlite", types = "sqlite",
    qualified = '"_executor_metadata__sources"',
    connstr = function() return "odbc:Driver=SQLite3;Database=" .. SQLITE_DIR .. "/driver.db" end,
    types_ddl = "CREATE TABLE nvodbc_types (i INTEGER, d REAL, b BOOLEAN, t TEXT, n NUMERIC(10,2), y BLOB,"
      .. " z INTEGER)",
    bool_true = true,
    char_length = nil, -- lists no string function at all
    missing = { "odbc: no such table: nvodbc_missing (1)", "HY000", "sql" },
    read_only = { "odbc: attempt to write a readonly database (8)", "HY000", "sql" },
    reset_store = function(c)
      for _, t in ipairs(schema.table_names) do
        assert(c:exec('DROP TABLE IF EXISTS "_executor_metadata__' .. t .. '"'))
      end
    end,
    column_types = "SELECT name, type FROM pragma_table_info('_executor_metadata__columns')",
    want_types = { is_nullable = "INTEGER", null_count = "INTEGER", mean_value = "REAL", column_name = "TEXT" },
    not_null = "NOT NULL constraint failed: _executor_metadata__columns.column_name",
    drop_pair = { "DROP TABLE IF EXISTS nvodbc_child", "DROP TABLE IF EXISTS nvodbc_parent" },
  },
}

for _, B in ipairs(backends) do
  if not have_driver(B.name) then
    B.why = "the ODBC driver '" .. B.name .. "' is not registered (odbcinst -q -d); install its Debian package"
  elseif B.env then
    B.parts = url_parts(os.getenv(B.env))
    if not B.parts then B.why = B.env .. " is not set; start the server with tests/servers/*.sh first" end
  end
  if not B.why then B.cs = B.connstr(B.parts) end
end

local quiet_ctx = H.quiet_ctx

local function exec_all(db, list)
  for _, sql in ipairs(list) do assert(db:exec(sql)) end
end

local function by_name(list)
  local out = {}
  for _, x in ipairs(list) do out[x.name] = x end
  return out
end

local LONG = string.rep("héllo €𝄞 ", 9000) -- 108000 bytes: read back in many SQLGetData chunks

------------------------------------------------------------------------
-- the driver

for _, B in ipairs(backends) do
  describe("nv.odbc with " .. B.name, function()
    if B.why then
      pending("SKIPPED: " .. B.why)
      return
    end
    local db
    before_each(function() db = assert(odbc.open(B.cs)) end)
    after_each(function() db:close() end)

    it("reports the DBMS and driver", function()
      local info = db:info()
      assert.equal(B.dbms, info.dbms_name)
      assert.is_string(info.dbms_version)
      assert.matches("%.so$", info.driver_name)
      assert.is_table(info.string_functions)
      assert.equal(B.char_length, info.string_functions.CHAR_LENGTH)
    end)

    it("bounds a query with max_rows (SQL_ATTR_MAX_ROWS, then fetching stops) and checks its options", function()
      exec_all(db, { "DROP TABLE IF EXISTS nvodbc_types", B.types_ddl })
      for i = 1, 5 do assert(db:exec("INSERT INTO nvodbc_types (i) VALUES (?)", i)) end
      local rows, cols = assert(db:query({ "SELECT i FROM nvodbc_types WHERE i > ? ORDER BY i", max_rows = 2 }, 1))
      assert.same({ { { i = 2 }, { i = 3 } }, { "i" } }, { rows, cols })
      assert.equal(5, #assert(db:query({ "SELECT i FROM nvodbc_types", max_rows = 9 })))
      assert.equal(5, #assert(db:query("SELECT i FROM nvodbc_types"))) -- a new statement, unbounded
      assert.same({ nil, B.missing[1], B.missing[3], B.missing[2] },
        { db:query({ "SELECT * FROM nvodbc_missing", max_rows = 1 }) })
      assert.has_error(function() db:query({ "SELECT 1", max_row = 1 }) end,
        "bad argument #1 to 'query' (unknown query option 'max_row')")
      assert.has_error(function() db:query({ "SELECT 1", max_rows = 0 }) end,
        "bad argument #1 to 'query' (max_rows must be a positive integer)")
      assert.has_error(function() db:query({ max_rows = 1 }) end,
        "bad argument #1 to 'query' (the SQL text (string) expected at [1])")
    end)

    it("types results from SQLDescribeCol and binds every parameter kind", function()
      exec_all(db, { "DROP TABLE IF EXISTS nvodbc_types", B.types_ddl })
      assert.equal(1, db:exec("INSERT INTO nvodbc_types VALUES (?, ?, ?, ?, ?, ?, ?)",
        9007199254740993, 0.1, true, LONG, 12.5, "\0\255\1", nil))
      local rows, cols = assert(db:query("SELECT i, d, b, t, n, y, z FROM nvodbc_types"))
      assert.same({ "i", "d", "b", "t", "n", "y", "z" }, cols)
      local r = rows[1]
      assert.equal("integer", math.type(r.i))
      assert.equal(9007199254740993, r.i)
      assert.equal("float", math.type(r.d))
      assert.equal(0.1, r.d)
      assert.equal(B.bool_true, r.b)
      assert.equal(#LONG, #r.t)
      assert.is_true(r.t == LONG)
      assert.equal(12.5, r.n)
      assert.equal("\0\255\1", r.y)
      assert.is_nil(r.z)
    end)

    it("binds nil, booleans, integers, numbers and strings in WHERE clauses", function()
      exec_all(db, { "DROP TABLE IF EXISTS nvodbc_types", B.types_ddl })
      local nasty = [[it's "?" -- ; DROP TABLE nvodbc_types; ']]
      assert.equal(1, db:exec("INSERT INTO nvodbc_types (i, d, b, t) VALUES (?, ?, ?, ?)", 7, 2.25, false, nasty))
      assert.equal(1, db:exec("INSERT INTO nvodbc_types (i, t) VALUES (?, ?)", 8, nil))
      local rows = assert(db:query("SELECT i, d FROM nvodbc_types WHERE t = ? AND i = ? AND d = ?", nasty, 7, 2.25))
      assert.same({ { i = 7, d = 2.25 } }, rows)
      assert.same({ { i = 8 } }, assert(db:query("SELECT i FROM nvodbc_types WHERE t IS NULL")))
      assert.equal(2, db:exec("UPDATE nvodbc_types SET z = ?", 1))
      assert.equal(0, db:exec("DELETE FROM nvodbc_types WHERE i = ?", 99))
      assert.same({ { q = "?", b = "x" } }, assert(db:query("SELECT '?' AS q, ? AS b", "x")))
    end)

    it("returns nil, message, SQLSTATE for SQL errors and raises for misuse", function()
      assert.same({ nil, B.missing[1], B.missing[3], B.missing[2] }, { db:query("SELECT * FROM nvodbc_missing") })
      assert.has_error(function() db:exec("SELECT ?", 1, 2) end, "statement has 1 parameter(s), 2 given")
      assert.has_error(function() db:exec("SELECT ?", {}) end, "parameter 1: cannot bind a table")
      assert.has_error(function() db:commit() end, "no transaction is open")
      assert.equal(1, db:query("SELECT 1 AS x")[1].x) -- still usable
    end)

    it("commits and rolls back ODBC transactions", function()
      exec_all(db, { "DROP TABLE IF EXISTS nvodbc_types", B.types_ddl })
      assert.is_true(db:begin())
      assert.equal(1, db:exec("INSERT INTO nvodbc_types (i) VALUES (1)"))
      assert.is_true(db:rollback())
      assert.equal(0, db:query("SELECT COUNT(*) AS n FROM nvodbc_types")[1].n)
      assert.is_true(db:begin())
      assert.equal(1, db:exec("INSERT INTO nvodbc_types (i) VALUES (2)"))
      assert.is_true(db:commit())
      assert.equal(1, db:query("SELECT COUNT(*) AS n FROM nvodbc_types")[1].n)
    end)

    it("lists tables, columns and keys through the ODBC catalog functions", function()
      exec_all(db, B.drop_pair)
      exec_all(db, { "CREATE TABLE nvodbc_parent (id INTEGER PRIMARY KEY, name VARCHAR(20))",
                     "CREATE TABLE nvodbc_child (cid INTEGER PRIMARY KEY, pid INTEGER REFERENCES nvodbc_parent(id))" })
      local t = assert(db:tables(nil, nil, "nvodbc_parent", nil))
      assert.equal(1, #t)
      assert.same({ "nvodbc_parent", "TABLE" }, { t[1].table_name, t[1].table_type })
      local c = assert(db:columns(nil, nil, "nvodbc_parent", nil))
      assert.same({ "id", "name" }, { c[1].column_name, c[2].column_name })
      assert.same({ 1, 2 }, { c[1].ordinal_position, c[2].ordinal_position })
      local pk = assert(db:primary_keys(nil, nil, "nvodbc_parent"))
      assert.same({ "id" }, { pk[1].column_name })
      local fk = assert(db:foreign_keys(nil, nil, "nvodbc_parent", nil, nil, nil))
      assert.same({ "nvodbc_child", "pid", "id" }, { fk[1].fktable_name, fk[1].fkcolumn_name, fk[1].pkcolumn_name })
      assert.same({ nil, "odbc: Invalid use of null pointer", "usage", "HY009" }, { db:primary_keys() })
    end)

    it("closes idempotently, on scope exit, and refuses use after close", function()
      assert.is_true(db:close())
      assert.is_true(db:close())
      assert.equal("nv.odbc (closed)", tostring(db))
      assert.has_error(function() db:query("SELECT 1") end, "attempt to use a closed connection")
      local outer
      do
        local c <close> = assert(odbc.open(B.cs))
        outer = c
      end
      assert.equal("nv.odbc (closed)", tostring(outer))
    end)

    it("enforces read-only sessions", function()
      exec_all(db, { "DROP TABLE IF EXISTS nvodbc_types", B.types_ddl })
      local ro <close> = assert(odbc.open(B.cs, { read_only = true }))
      assert.same({ nil, B.read_only[1], B.read_only[3], B.read_only[2] },
        { ro:exec("INSERT INTO nvodbc_types (i) VALUES (1)") })
      assert.equal(0, ro:query("SELECT COUNT(*) AS n FROM nvodbc_types")[1].n)
    end)

    if B.parts then
      it("reports a wrong password naming driver, server and database, never the password", function()
        local c, err, kind, code = odbc.open(B.connstr(B.parts, WRONG))
        assert.is_nil(c)
        assert.equal(B.wrong_password[3], kind)
        assert.equal(B.wrong_password[2], code)
        local prefix = string.format("odbc: cannot connect to [%s] %s:%s/%s: ", B.name, B.parts.host, B.parts.port,
          B.parts.db)
        assert.equal(prefix, err:sub(1, #prefix))
        assert.truthy(err:find(B.wrong_password[1], 1, true), err)
        assert.is_nil(err:find(WRONG, 1, true))
        assert.equal("x *** y", nvlog.mask("x " .. WRONG .. " y")) -- registered as a secret
      end)
      it("reports a refused port naming driver and server:port, within the connect timeout", function()
        local p = setmetatable({ port = "1" }, { __index = B.parts })
        local t0 = os.time()
        local c, err = odbc.open(B.connstr(p, WRONG), { connect_timeout = 2 })
        assert.is_nil(c)
        local prefix = string.format("odbc: cannot connect to [%s] %s:1/%s: ", B.name, B.parts.host, B.parts.db)
        assert.equal(prefix, err:sub(1, #prefix))
        assert.is_nil(err:find(WRONG, 1, true))
        assert.is_true(os.time() - t0 <= 5)
      end)
    else
      it("reports an unopenable database file naming it", function()
        assert.same({ nil, "odbc: cannot connect to [SQLite3] /nonexistent-dir/x.db: connect failed", "connect", "HY000" },
          { odbc.open("odbc:Driver=SQLite3;Database=/nonexistent-dir/x.db;Pwd=" .. WRONG) })
        assert.equal("x *** y", nvlog.mask("x " .. WRONG .. " y"))
      end)
    end
  end)
end

describe("nv.odbc connection strings", function()
  it("describes a connection string without its password", function()
    local d = odbc.describe("odbc:Driver={PostgreSQL Unicode};Server=h;Port=5;Database=d;Uid=u;Pwd={a;b}}c}")
    assert.same({ driver = "PostgreSQL Unicode", host = "h", port = "5", database = "d", user = "u" }, d)
    assert.equal("x *** y", nvlog.mask("x a;b}c y")) -- the braced password, registered
    assert.same({ dsn = "x" }, odbc.describe("DSN=x"))
  end)

  it("names a missing DSN and a missing driver", function()
    assert.same({ nil, "odbc: cannot connect to [DSN=nvodbc-none]: Data source name not found and no default"
      .. " driver specified", "connect", "IM002" }, { odbc.open("DSN=nvodbc-none") })
    assert.same({ nil, "odbc: cannot connect to [NoSuchDriver]: Can't open lib 'NoSuchDriver' : file not found",
      "connect", "01000" }, { odbc.open("odbc:Driver=NoSuchDriver") })
  end)

  it("raises for bad options", function()
    assert.has_error(function() odbc.open("DSN=x", { connect_timeout = 0 }) end,
      "bad argument #2 to 'open' (connect_timeout must be 1..3600 s)")
    assert.has_error(function() odbc.open("DSN=x", 5) end, "bad argument #2 to 'open' (table expected, got number)")
  end)
end)

------------------------------------------------------------------------
-- the store

local function count(st, tname, where, ...)
  local rows = assert(st:query("SELECT COUNT(*) AS n FROM " .. st:qualified(tname) .. (where or ""), ...))
  return rows[1].n
end

local function sample_source(run_id, ntables)
  local tables = {}
  for i = 1, ntables do
    tables[i] = { table_id = "t" .. i, table_name = "file" .. i .. ".csv", file_type = "csv", row_count = 10 * i,
                  columns = { { column_name = "id", position = 0, data_type = "integer", is_nullable = false,
                                sample_values = { 1, 2, 3 } },
                              { column_name = "name", position = 1, data_type = "string", is_nullable = true } } }
  end
  return { source = { run_id = run_id, source_id = "src1", workflow_id = "wf1", source_path = "/data",
                      source_type = "csv", files_found = ntables, total_size_bytes = 1024,
                      extraction_timestamp = store_mod.timestamp(1700000000.5) },
           tables = tables }
end

for _, B in ipairs(backends) do
  describe("nv.store over ODBC with " .. B.name, function()
    if B.why then
      pending("SKIPPED: " .. B.why)
      return
    end
    local st
    before_each(function()
      local raw <close> = assert(odbc.open(B.cs))
      B.reset_store(raw)
      st = assert(store_mod.open(B.cs))
    end)
    after_each(function() st:close() end)

    it("opens through the odbc dialect with the " .. B.flavor .. " flavor", function()
      assert.equal("odbc", st.kind)
      assert.equal(B.types, st.dialect.name)
      assert.equal(B.qualified, st:qualified("sources"))
    end)

    it("creates the six tables with the flavor's types, then finds them", function()
      local changes, before = assert(st:ensure())
      assert.same(schema.table_names, changes.created)
      assert.same({}, before.found)
      assert.same({}, assert(st:ensure()).created)
      assert.same({ "sources", "tables", "columns", "executor_runs", "logs", "file_profiles" }, assert(st:validate()).found)
      local types = {}
      for _, r in ipairs(assert(st:query(B.column_types))) do types[r.name] = r.type end
      for col, want in pairs(B.want_types) do assert.equal(want, types[col], col) end
    end)

    it("migrates an older table by adding columns and keeps its rows", function()
      assert(st.db:exec("CREATE TABLE " .. st:qualified("sources") .. " (source_id VARCHAR(100), source_path TEXT)"))
      assert(st.db:exec("INSERT INTO " .. st:qualified("sources") .. " VALUES (?, ?)", "old", "/old"))
      local changes, before = assert(st:ensure())
      assert.same({ "sources" }, before.found)
      assert.is_true(#changes.columns_added > 5)
      assert.truthy(table.concat(changes.columns_added, ","):find("sources.workflow_id", 1, true))
      assert.same({ { source_id = "old", source_path = "/old" } },
        assert(st:query("SELECT source_id, source_path, workflow_id FROM " .. st:qualified("sources"))))
    end)

    it("writes a source in one transaction and replaces on re-run", function()
      assert(st:ensure())
      assert(st:write_source(sample_source("run1", 3)))
      assert(st:write_source(sample_source("run1", 2)))
      assert.equal(1, count(st, "sources"))
      assert.equal(2, count(st, "tables"))
      assert.equal(4, count(st, "columns"))
      assert(st:write_source(sample_source("run2", 1)))
      assert.equal(2, count(st, "sources"))
      local rows = assert(st:query("SELECT sample_values FROM " .. st:qualified("columns")
        .. " WHERE run_id = ? AND column_name = 'id'", "run2"))
      assert.same({ { sample_values = "[1,2,3]" } }, rows)
    end)

    it("rolls back a failed source write completely", function()
      assert(st:ensure())
      local rec = sample_source("run1", 2)
      rec.tables[2].columns[1].column_name = nil -- NOT NULL violation halfway through
      local ok, err = st:write_source(rec)
      assert.is_nil(ok)
      assert.matches(B.not_null, err)
      assert.equal(0, count(st, "sources"))
      assert.equal(0, count(st, "tables"))
      assert(st:write_source(sample_source("run1", 1))) -- the connection is usable again
      assert.equal(1, count(st, "sources"))
    end)

    it("binds values as parameters, never as SQL text", function()
      assert(st:ensure())
      local nasty = [[x'); DROP TABLE "_executor_metadata"."sources"; -- ? $1 "]]
      assert(st:upsert("executor_runs", { run_id = nasty, status = "Success" }))
      assert(st:upsert("executor_runs", { run_id = nasty, status = "Failed" }))
      local rows = assert(st:query("SELECT run_id, status FROM " .. st:qualified("executor_runs")
        .. " WHERE run_id = ?", nasty))
      assert.same({ { run_id = nasty, status = "Failed" } }, rows)
      assert.equal(0, count(st, "sources"))
    end)

    it("refuses unknown columns", function()
      assert(st:ensure())
      assert.has_error(function() st:insert("logs", { run_id = "r", seq = 1, bogus = 1 }) end,
        "table logs has no column 'bogus'")
    end)

    it("appends log records", function()
      assert(st:ensure())
      assert.equal(2, st:write_logs({ run_id = "r1" }, { { time = 1, level = "INFO", module = "m", message = "a" },
                                                          { time = 2, level = "ERROR", module = "m", message = "b" } }))
      assert.equal(2, count(st, "logs", " WHERE run_id = ?", "r1"))
    end)
  end)
end

describe("nv.store over ODBC, flavors", function()
  local other
  for _, B in ipairs(backends) do
    if not B.why and B.flavor ~= "sqlite" then other = other or B end
  end
  if not other or backends[3].why then
    pending("SKIPPED: needs SQLite3 and one server backend (" .. tostring(backends[1].why) .. ")")
    return
  end

  it("refuses to mix flavors while a store of another flavor is open", function()
    local sq = assert(store_mod.open(backends[3].cs))
    assert.same({ nil, "odbc: a sqlite store is open; close it before opening a " .. other.flavor .. " store" },
      { store_mod.open(other.cs) })
    sq:close()
    local st = assert(store_mod.open(other.cs))
    assert.equal(other.types, st.dialect.name)
    st:close()
  end)
end)

------------------------------------------------------------------------
-- database sources

local SQLITE_SOURCE = {
  "DROP VIEW IF EXISTS big_orders", "DROP TABLE IF EXISTS orders", "DROP TABLE IF EXISTS customers",
  "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT UNIQUE, score REAL, active BOOLEAN)",
  [[CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
      amount DOUBLE, note VARCHAR(20), raw BLOB)]],
  "CREATE INDEX orders_amount ON orders (amount)",
  "INSERT INTO customers VALUES (1, 'a@x.org', 1.5, 1), (2, NULL, 2.5, 0), (3, 'c@x.org', NULL, NULL)",
  [[INSERT INTO orders VALUES (10, 1, 9.5, 'x', x'00ff'), (11, 1, 10.5, '', NULL), (12, 2, NULL, NULL, NULL),
      (13, 3, 10.5, 'y', NULL)]],
  "CREATE VIEW big_orders AS SELECT order_id, amount FROM orders WHERE amount > 10",
}

local PG_SOURCE = {
  "DROP SCHEMA IF EXISTS nvodbc CASCADE",
  "CREATE SCHEMA nvodbc",
  "CREATE TABLE nvodbc.customers (id integer PRIMARY KEY, email text UNIQUE, active boolean)",
  [[CREATE TABLE nvodbc.orders (order_id bigint PRIMARY KEY, customer_id integer NOT NULL
      REFERENCES nvodbc.customers(id), amount double precision)]],
  "INSERT INTO nvodbc.customers VALUES (1, 'a@x.org', true), (2, NULL, false), (3, 'c@x.org', NULL)",
  "INSERT INTO nvodbc.orders VALUES (10, 1, 9.5), (11, 1, 10.5), (12, 2, NULL), (13, 3, 10.5)",
  "ANALYZE nvodbc.customers",
}

local MY_SOURCE = {
  "DROP TABLE IF EXISTS nvodbc_orders", "DROP TABLE IF EXISTS nvodbc_customers",
  "CREATE TABLE nvodbc_customers (id INT PRIMARY KEY, email VARCHAR(50) UNIQUE, active BOOLEAN)",
  [[CREATE TABLE nvodbc_orders (order_id BIGINT PRIMARY KEY, customer_id INT NOT NULL,
      amount DOUBLE, FOREIGN KEY (customer_id) REFERENCES nvodbc_customers(id))]],
  "INSERT INTO nvodbc_customers VALUES (1, 'a@x.org', 1), (2, NULL, 0), (3, 'c@x.org', NULL)",
  "INSERT INTO nvodbc_orders VALUES (10, 1, 9.5), (11, 1, 10.5), (12, 2, NULL), (13, 3, 10.5)",
}

local function extract(cs, opts)
  local ctx = quiet_ctx()
  local m = dbsource.source(ctx, { source_id = "src_odbc", data_source_path = cs, source_type = "odbc" }, opts or {},
    { source_id = "src_odbc", source_type = "odbc", tables = json.array(), errors = json.array(), files_found = 0,
      total_size_bytes = 0 })
  return m, ctx
end

describe("nv.dbsource over ODBC", function()
  it("resolves odbc: paths and bare strings with source_type odbc", function()
    assert.same({ "odbc", "odbc:DSN=x" }, { dbsource.resolve({ data_source_path = "odbc:DSN=x" }) })
    assert.same({ "odbc", "DSN=x" }, { dbsource.resolve({ data_source_path = "DSN=x", source_type = "odbc" }) })
    assert.same({ nil, "an ODBC source needs a connection string (odbc:Driver=…;… or odbc:DSN=…)" },
      { dbsource.resolve({ source_type = "odbc" }) })
  end)

  it("fails a source it cannot reach, naming the DSN", function()
    local m = extract("odbc:DSN=nvodbc-none;Pwd=" .. WRONG)
    assert.equal("failed", m.status)
    assert.same({ "source odbc:[DSN=nvodbc-none]: odbc: cannot connect to [DSN=nvodbc-none]: Data source name"
      .. " not found and no default driver specified" }, m.errors)
    assert.is_nil(json.encode(m):find(WRONG, 1, true))
  end)

  local sq = backends[3]
  if sq.why then
    pending("SKIPPED: " .. sq.why)
  else
    local src_cs = "odbc:Driver=SQLite3;Database=" .. SQLITE_DIR .. "/source.db"
    it("extracts SQLite through SQLTables/SQLColumns plus pragma joins, in six catalog calls", function()
      do
        local db <close> = assert(odbc.open(src_cs))
        exec_all(db, SQLITE_SOURCE)
      end
      local ok, info = dbsource.test_connection({ data_source_path = src_cs })
      assert.is_true(ok)
      assert.same({ "odbc", "odbc:[SQLite3] " .. SQLITE_DIR .. "/source.db", "SQLite" },
        { info.kind, info.description, info.dbms_name })
      local m = extract(src_cs, { query_timeout = 30 })
      assert.equal("success", m.status)
      assert.same({}, m.errors)
      assert.equal(6, m.catalog_queries)
      assert.same({ { name = "main" } }, m.schemas)
      local t = by_name(m.tables)
      assert.same({ "big_orders", "customers", "orders" }, { m.tables[1].name, m.tables[2].name, m.tables[3].name })
      assert.equal("view", t.big_orders.table_type)
      assert.matches("amount > 10", t.big_orders.definition)
      assert.same({ "id" }, t.customers.primary_key)
      assert.same({ { name = "orders_fk0", columns = { "customer_id" }, ref_schema = "main", ref_table = "customers",
                      ref_columns = { "id" } } }, t.orders.foreign_keys)
      assert.same({ "email" }, t.customers.unique_constraints[1].columns)
      assert.same({ "amount" }, by_name(t.orders.indexes).orders_amount.columns)
      assert.equal(3, t.customers.rows)
      assert.equal(4, t.orders.rows)
      local oc = by_name(t.orders.columns)
      assert.same({ "INTEGER", "integer", false }, { oc.customer_id.native_type, oc.customer_id.inferred_type,
                                                     oc.customer_id.declared_nullable })
      assert.same({ 0, 3, 1, 3 }, { oc.customer_id.null_count, oc.customer_id.distinct_count, oc.customer_id.min,
                                    oc.customer_id.max })
      assert.equal("main.customers(id)", oc.customer_id.foreign_key)
      assert.same({ "decimal", 1, 9.5, 10.5 }, { oc.amount.inferred_type, oc.amount.null_count, oc.amount.min,
                                                 oc.amount.max })
      assert.same({ "string", 1, 1, 0, 1 }, { oc.note.inferred_type, oc.note.empty_count, oc.note.null_count,
                                              oc.note.min_length, oc.note.max_length })
      assert.same({ "binary", { "0x00ff" } }, { oc.raw.inferred_type, oc.raw.samples })
      local cc = by_name(t.customers.columns)
      assert.same({ "boolean", false, true }, { cc.active.inferred_type, cc.active.min, cc.active.max })
      -- one aggregate + one sample query per table
      assert.equal(6, m.profile_queries)
    end)

    it("honours include/exclude patterns for tables", function()
      local m = extract(src_cs, { include_tables = "c*,o*", exclude_tables = "orders" })
      assert.same({ "customers" }, { m.tables[1].name, m.tables[2] and m.tables[2].name })
    end)
  end

  for _, B in ipairs({ backends[1], backends[2] }) do
    if B.why then
      pending("SKIPPED (" .. B.name .. "): " .. B.why)
    else
      it("extracts " .. B.dbms .. " through its catalog queries, in six catalog queries", function()
        do
          local db <close> = assert(odbc.open(B.cs))
          exec_all(db, B.flavor == "postgresql" and PG_SOURCE or MY_SOURCE)
        end
        local opts = B.flavor == "postgresql" and { include_schemas = "nvodbc" }
          or { include_tables = "nvodbc_customers,nvodbc_orders" }
        local m = extract(B.cs, opts)
        assert.equal("success", m.status, table.concat(m.errors, "\n"))
        assert.same({}, m.errors)
        assert.equal(6, m.catalog_queries)
        assert.equal(2, #m.tables)
        local pre = B.flavor == "postgresql" and "" or "nvodbc_"
        local t = by_name(m.tables)
        local cust, ord = t[pre .. "customers"], t[pre .. "orders"]
        assert.same({ "id" }, cust.primary_key)
        assert.same({ "customer_id" }, ord.foreign_keys[1].columns)
        assert.equal(3, cust.rows)
        assert.equal(4, ord.rows)
        local cc = by_name(cust.columns)
        assert.same({ "boolean", false, true }, { cc.active.inferred_type, cc.active.min, cc.active.max })
        local oc = by_name(ord.columns)
        assert.same({ 1, 9.5, 10.5, 2 }, { oc.amount.null_count, oc.amount.min, oc.amount.max,
                                           oc.amount.distinct_count })
        assert.is_nil(json.encode(m):find(":" .. B.parts.pw .. "@", 1, true))
      end)
    end
  end
end)

------------------------------------------------------------------------
-- odbc_engine = "generic": keys and view definitions from INFORMATION_SCHEMA

-- A composite foreign key declared in the other order than the unique key it
-- references: only POSITION_IN_UNIQUE_CONSTRAINT pairs ship_code with code.
local PG_IS_SOURCE = {
  "DROP SCHEMA IF EXISTS nvodbc_is CASCADE",
  "CREATE SCHEMA nvodbc_is",
  [[CREATE TABLE nvodbc_is.customers (id integer CONSTRAINT customers_pk PRIMARY KEY,
      email text CONSTRAINT customers_email_uq UNIQUE, region text NOT NULL, code integer NOT NULL,
      CONSTRAINT customers_region_code_uq UNIQUE (region, code))]],
  [[CREATE TABLE nvodbc_is.orders (order_id bigint, line integer, customer_id integer NOT NULL
      CONSTRAINT orders_customer_fk REFERENCES nvodbc_is.customers(id), ship_code integer, ship_region text,
      amount double precision, CONSTRAINT orders_pk PRIMARY KEY (order_id, line),
      CONSTRAINT orders_ship_fk FOREIGN KEY (ship_code, ship_region)
        REFERENCES nvodbc_is.customers (code, region))]],
  "CREATE VIEW nvodbc_is.big_orders AS SELECT order_id, amount FROM nvodbc_is.orders WHERE amount > 10",
  "INSERT INTO nvodbc_is.customers VALUES (1, 'a@x.org', 'eu', 7), (2, NULL, 'us', 7)",
  "INSERT INTO nvodbc_is.orders VALUES (10, 1, 1, 7, 'eu', 9.5), (10, 2, 2, 7, 'us', 10.5)",
}

-- InnoDB needs the referenced columns to lead an index in the same order.
local MY_IS_SOURCE = {
  "DROP VIEW IF EXISTS nvodbc_is_big_orders", "DROP TABLE IF EXISTS nvodbc_is_orders",
  "DROP TABLE IF EXISTS nvodbc_is_customers",
  [[CREATE TABLE nvodbc_is_customers (id INT PRIMARY KEY, email VARCHAR(50), region VARCHAR(8) NOT NULL,
      code INT NOT NULL, CONSTRAINT customers_email_uq UNIQUE (email),
      CONSTRAINT customers_code_region_uq UNIQUE (code, region))]],
  [[CREATE TABLE nvodbc_is_orders (order_id BIGINT, line INT, customer_id INT NOT NULL, ship_code INT,
      ship_region VARCHAR(8), amount DOUBLE, PRIMARY KEY (order_id, line),
      CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES nvodbc_is_customers (id),
      CONSTRAINT orders_ship_fk FOREIGN KEY (ship_code, ship_region)
        REFERENCES nvodbc_is_customers (code, region))]],
  "CREATE VIEW nvodbc_is_big_orders AS SELECT order_id, amount FROM nvodbc_is_orders WHERE amount > 10",
  "INSERT INTO nvodbc_is_customers VALUES (1, 'a@x.org', 'eu', 7), (2, NULL, 'us', 7)",
  "INSERT INTO nvodbc_is_orders VALUES (10, 1, 1, 7, 'eu', 9.5), (10, 2, 2, 7, 'us', 10.5)",
}

local function sorted_names(list)
  local out = {}
  for _, x in ipairs(list) do out[#out + 1] = x.name end
  table.sort(out)
  return out
end

describe("nv.dbsource over ODBC with odbc_engine", function()
  it("refuses an unknown engine before connecting, naming the allowed values", function()
    local m = extract("odbc:DSN=nvodbc-none", { odbc_engine = "oracle" })
    assert.equal("failed", m.status)
    assert.same({ "source odbc:[DSN=nvodbc-none]: odbc_engine must be one of auto, generic, postgresql, mysql,"
      .. " sqlite (got 'oracle')" }, m.errors)
    assert.same({ nil, "odbc_engine must be one of auto, generic, postgresql, mysql, sqlite (got '1')" },
      { dbsource.odbc_engine({ odbc_engine = 1 }) })
    assert.equal("auto", dbsource.odbc_engine({}))
    assert.equal("generic", dbsource.odbc_engine({ odbc_engine = "generic" }))
  end)

  -- the Lua half of the generic keys, on rows as MariaDB's views give them:
  -- every primary key is named PRIMARY, told apart by REFERENCED_TABLE_NAME
  it("pairs foreign key columns by position and tells apart per-table constraint names", function()
    local eng = dbsource.engines.odbc
    local t = { schema_name = "", table_name = "t", table_type = "table" }
    local u = { schema_name = "", table_name = "u", table_type = "table" }
    local v = { schema_name = "", table_name = "v", table_type = "view" }
    local native = { tables = { ["db\0t"] = t, ["db\0u"] = u, ["db\0v"] = v }, schemas = { db = "" } }
    local answers = {
      TABLE_CONSTRAINTS = {
        { NV_TYPE = "PRIMARY KEY", CONSTRAINT_SCHEMA = "db", CONSTRAINT_NAME = "PRIMARY", TABLE_SCHEMA = "db",
          TABLE_NAME = "u", COLUMN_NAME = "a", ORDINAL_POSITION = 1 },
        { NV_TYPE = "PRIMARY KEY", CONSTRAINT_SCHEMA = "db", CONSTRAINT_NAME = "PRIMARY", TABLE_SCHEMA = "db",
          TABLE_NAME = "u", COLUMN_NAME = "b", ORDINAL_POSITION = 2 },
        { NV_TYPE = "FOREIGN KEY", CONSTRAINT_SCHEMA = "db", CONSTRAINT_NAME = "t_fk", TABLE_SCHEMA = "db",
          TABLE_NAME = "t", COLUMN_NAME = "x", ORDINAL_POSITION = 1, POSITION_IN_UNIQUE_CONSTRAINT = 2 },
        { NV_TYPE = "FOREIGN KEY", CONSTRAINT_SCHEMA = "db", CONSTRAINT_NAME = "t_fk", TABLE_SCHEMA = "db",
          TABLE_NAME = "t", COLUMN_NAME = "y", ORDINAL_POSITION = 2, POSITION_IN_UNIQUE_CONSTRAINT = 1 },
        { NV_TYPE = "FOREIGN KEY", CONSTRAINT_SCHEMA = "db", CONSTRAINT_NAME = "t_lost", TABLE_SCHEMA = "db",
          TABLE_NAME = "t", COLUMN_NAME = "z", ORDINAL_POSITION = 1 },
        { NV_TYPE = "UNIQUE", CONSTRAINT_SCHEMA = "other", CONSTRAINT_NAME = "filtered_out", TABLE_SCHEMA = "other",
          TABLE_NAME = "t", COLUMN_NAME = "a", ORDINAL_POSITION = 1 },
      },
      REFERENTIAL_CONSTRAINTS = {
        { CONSTRAINT_SCHEMA = "db", CONSTRAINT_NAME = "t_fk", UNIQUE_CONSTRAINT_NAME = "PRIMARY", TABLE_NAME = "t",
          REFERENCED_TABLE_NAME = "u", NV_REF_SCHEMA = "db", NV_REF_TABLE = "w", NV_REF_COLUMN = "id",
          NV_REF_POSITION = 1 },
        { CONSTRAINT_SCHEMA = "db", CONSTRAINT_NAME = "t_fk", UNIQUE_CONSTRAINT_NAME = "PRIMARY", TABLE_NAME = "t",
          REFERENCED_TABLE_NAME = "u", NV_REF_SCHEMA = "db", NV_REF_TABLE = "u", NV_REF_COLUMN = "b",
          NV_REF_POSITION = 2 },
        { CONSTRAINT_SCHEMA = "db", CONSTRAINT_NAME = "t_fk", UNIQUE_CONSTRAINT_NAME = "PRIMARY", TABLE_NAME = "t",
          REFERENCED_TABLE_NAME = "u", NV_REF_SCHEMA = "db", NV_REF_TABLE = "u", NV_REF_COLUMN = "a",
          NV_REF_POSITION = 1 },
        -- no REFERENCED_TABLE_NAME: two tables' PRIMARY match, none is taken
        { CONSTRAINT_SCHEMA = "db", CONSTRAINT_NAME = "t_lost", UNIQUE_CONSTRAINT_NAME = "PRIMARY",
          NV_REF_SCHEMA = "db", NV_REF_TABLE = "u", NV_REF_COLUMN = "a", NV_REF_POSITION = 1 },
        { CONSTRAINT_SCHEMA = "db", CONSTRAINT_NAME = "t_lost", UNIQUE_CONSTRAINT_NAME = "PRIMARY",
          NV_REF_SCHEMA = "db", NV_REF_TABLE = "w", NV_REF_COLUMN = "id", NV_REF_POSITION = 1 },
      },
      VIEWS = { { NV_SCHEMA = "db", NV_TABLE = "v", NV_DEFINITION = "select 1" },
                { NV_SCHEMA = "other", NV_TABLE = "v", NV_DEFINITION = "select 2" } },
    }
    local sent = {}
    local function run(sql, params, optional)
      assert.is_nil(params)
      assert.is_true(optional)
      sent[#sent + 1] = sql
      for view, rows in pairs(answers) do
        if sql:find("INFORMATION_SCHEMA." .. view, 1, true) and not (view == "TABLE_CONSTRAINTS"
            and sql:find("REFERENTIAL", 1, true)) then
          return rows
        end
      end
    end
    local cat = { tables = { t, u, v } }
    assert.is_true(eng.keys(cat, run, nil, native))
    assert.equal(3, #sent)
    assert.same({
      { schema_name = "", table_name = "u", name = "PRIMARY", type = "p", columns = { "a", "b" } },
      { schema_name = "", table_name = "t", name = "t_fk", type = "f", columns = { "x", "y" }, ref_schema = "",
        ref_table = "u", ref_columns = { "b", "a" } },
      { schema_name = "", table_name = "t", name = "t_lost", type = "f", columns = { "z" }, ref_columns = {} },
    }, cat.constraints)
    assert.same({ "foreign keys without their referenced tables: t_lost (not in INFORMATION_SCHEMA"
      .. ".REFERENTIAL_CONSTRAINTS for this user, or a constraint name it cannot tell apart)" }, cat.warnings)
    assert.equal("select 1", v.definition)
    assert.is_nil(t.definition)
  end)

  local pgb, myb, sq = backends[1], backends[2], backends[3]

  if pgb.why then
    pending("SKIPPED (PostgreSQL Unicode): " .. pgb.why)
  else
    it("reads PostgreSQL keys and view definitions from INFORMATION_SCHEMA in five catalog queries", function()
      do
        local db <close> = assert(odbc.open(pgb.cs))
        exec_all(db, PG_IS_SOURCE)
      end
      local m, ctx = extract(pgb.cs, { odbc_engine = "generic", include_schemas = "nvodbc_is" })
      assert.equal("success", m.status)
      assert.same({}, m.errors)
      assert.same({}, m.warnings)
      assert.is_nil(table.concat(ctx.lines, "\n"):find("WARNING", 1, true))
      assert.equal(5, m.catalog_queries) -- SQLTables, SQLColumns, three INFORMATION_SCHEMA queries
      assert.same({ "big_orders", "customers", "orders" }, sorted_names(m.tables))
      local t = by_name(m.tables)
      local cust, ord = t.customers, t.orders
      assert.same({ "id" }, cust.primary_key)
      assert.same({ "order_id", "line" }, ord.primary_key)
      assert.same({ { name = "customers_email_uq", columns = { "email" } },
                    { name = "customers_region_code_uq", columns = { "region", "code" } } },
        cust.unique_constraints)
      assert.same({ { name = "orders_customer_fk", columns = { "customer_id" }, ref_schema = "nvodbc_is",
                      ref_table = "customers", ref_columns = { "id" } },
                    { name = "orders_ship_fk", columns = { "ship_code", "ship_region" }, ref_schema = "nvodbc_is",
                      ref_table = "customers", ref_columns = { "code", "region" } } }, ord.foreign_keys)
      local oc = by_name(ord.columns)
      assert.same({ true, true, false }, { oc.order_id.is_primary_key, oc.line.is_primary_key,
                                           oc.amount.is_primary_key })
      assert.equal("nvodbc_is.customers(region)", oc.ship_region.foreign_key)
      assert.equal("view", t.big_orders.table_type)
      assert.matches("amount > %(?10", t.big_orders.definition)
      assert.is_nil(cust.definition)
      assert.equal(2, ord.rows) -- ANSI aggregates profile it through the same engine
      assert.same({ 9.5, 10.5 }, { oc.amount.min, oc.amount.max })

      -- one table of three: the same five queries, and its foreign keys still
      -- name the table the filter leaves out
      local one = extract(pgb.cs, { odbc_engine = "generic", include_schemas = "nvodbc_is", include_tables = "orders",
                                    profile = "none" })
      assert.equal(5, one.catalog_queries)
      assert.same({ "orders" }, sorted_names(one.tables))
      assert.same({ "nvodbc_is", "customers", { "code", "region" } }, { one.tables[1].foreign_keys[2].ref_schema,
        one.tables[1].foreign_keys[2].ref_table, one.tables[1].foreign_keys[2].ref_columns })
    end)

    it("lets odbc_engine pick the PostgreSQL engine explicitly", function()
      local m = extract(pgb.cs, { odbc_engine = "postgresql", include_schemas = "nvodbc_is", profile = "none" })
      assert.equal("success", m.status)
      assert.equal(6, m.catalog_queries)
      assert.same({ "order_id", "line" }, by_name(m.tables).orders.primary_key)
    end)
  end

  if myb.why then
    pending("SKIPPED (MariaDB Unicode): " .. myb.why)
  else
    it("reads MariaDB keys and view definitions from INFORMATION_SCHEMA in five catalog queries", function()
      do
        local db <close> = assert(odbc.open(myb.cs))
        exec_all(db, MY_IS_SOURCE)
      end
      local m = extract(myb.cs, { odbc_engine = "generic", include_tables = "nvodbc_is_*" })
      assert.equal("success", m.status)
      assert.same({}, m.errors)
      assert.same({}, m.warnings)
      assert.equal(5, m.catalog_queries)
      assert.same({ "nvodbc_is_big_orders", "nvodbc_is_customers", "nvodbc_is_orders" }, sorted_names(m.tables))
      local t = by_name(m.tables)
      local cust, ord = t.nvodbc_is_customers, t.nvodbc_is_orders
      assert.equal("", cust.schema_name) -- the driver reports databases as catalogs, not schemas
      assert.same({ "id" }, cust.primary_key)
      assert.same({ "order_id", "line" }, ord.primary_key)
      assert.same({ { name = "customers_code_region_uq", columns = { "code", "region" } },
                    { name = "customers_email_uq", columns = { "email" } } }, cust.unique_constraints)
      assert.same({ { name = "orders_customer_fk", columns = { "customer_id" }, ref_schema = "",
                      ref_table = "nvodbc_is_customers", ref_columns = { "id" } },
                    { name = "orders_ship_fk", columns = { "ship_code", "ship_region" }, ref_schema = "",
                      ref_table = "nvodbc_is_customers", ref_columns = { "code", "region" } } }, ord.foreign_keys)
      assert.equal("nvodbc_is_customers(id)", by_name(ord.columns).customer_id.foreign_key)
      assert.matches("> 10", t.nvodbc_is_big_orders.definition)
      -- and the generic aggregates profile it
      assert.same({ 2, 2, 1 }, { ord.rows, cust.rows, t.nvodbc_is_big_orders.rows })
      local oc = by_name(ord.columns)
      assert.same({ 0, 2, 9.5, 10.5, 10.0 }, { oc.amount.null_count, oc.amount.distinct_count, oc.amount.min,
                                              oc.amount.max, oc.amount.mean })
      local cc = by_name(cust.columns)
      assert.same({ 1, 7, 7, 7 }, { cc.email.null_count, cc.email.min_length, cc.email.max_length, cc.code.mean })
    end)
  end

  if sq.why then
    pending("SKIPPED: " .. sq.why)
  else
    it("extracts SQLite without INFORMATION_SCHEMA: tables and columns, no keys, warnings naming why", function()
      local path = SQLITE_DIR .. "/generic.db"
      local cs = "odbc:Driver=SQLite3;Database=" .. path
      do
        local db <close> = assert(odbc.open(cs))
        exec_all(db, SQLITE_SOURCE)
      end
      local m, ctx = extract(cs, { odbc_engine = "generic" })
      assert.equal("success", m.status)
      assert.same({}, m.errors)
      assert.equal(4, m.catalog_queries) -- no REFERENTIAL_CONSTRAINTS query without keys to resolve
      assert.same({ "big_orders", "customers", "orders" }, sorted_names(m.tables))
      local t = by_name(m.tables)
      assert.same({ "id", "email", "score", "active" },
        { t.customers.columns[1].name, t.customers.columns[2].name, t.customers.columns[3].name,
          t.customers.columns[4].name })
      assert.is_nil(t.customers.primary_key)
      assert.same({}, t.orders.foreign_keys)
      assert.same({}, t.customers.unique_constraints)
      assert.is_nil(t.big_orders.definition)
      -- profiled with the generic aggregates ({fn LENGTH}: SQLite has no CHAR_LENGTH)
      assert.same({ 3, 4, 2 }, { t.customers.rows, t.orders.rows, t.big_orders.rows })
      local oc = by_name(t.orders.columns)
      assert.same({ 1, 1, 0, 1 }, { oc.note.null_count, oc.note.empty_count, oc.note.min_length, oc.note.max_length })
      assert.same({ 1, 2, 9.5, 10.5 }, { oc.amount.null_count, oc.amount.distinct_count, oc.amount.min, oc.amount.max })
      assert.near(61 / 6, oc.amount.mean, 1e-9)
      local cc = by_name(t.customers.columns)
      assert.same({ "boolean", false, true }, { cc.active.inferred_type, cc.active.min, cc.active.max })
      local want = {
        "source odbc:[SQLite3] " .. path .. ": primary, unique and foreign keys not read: INFORMATION_SCHEMA query"
          .. " failed: odbc: no such table: INFORMATION_SCHEMA.TABLE_CONSTRAINTS (1)",
        "source odbc:[SQLite3] " .. path .. ": view definitions not read: INFORMATION_SCHEMA query failed: odbc:"
          .. " no such table: INFORMATION_SCHEMA.VIEWS (1)",
      }
      assert.same(want, m.warnings)
      local logged = {}
      for _, l in ipairs(ctx.lines) do
        if l:match("^WARNING ") then logged[#logged + 1] = l:sub(9) end
      end
      assert.same(want, logged)
    end)
  end
end)

------------------------------------------------------------------------
-- odbc_engine = "generic": profiling with SQL every driver here accepts,
-- degrading per table

-- The same four rows on each backend; GEN_WANT is what they define.
local GEN_ROWS = [[(1, 5, 2.5, 1.25, 'héllo', 'a', %s, '2024-01-02'), (2, NULL, 4.0, 2.50, 'ab', '', %s, '2024-03-04'),
  (3, 7, NULL, NULL, NULL, 'xyz', %s, NULL), (4, 5, 1.5, 1.25, 'abcd', NULL, NULL, '2023-12-31')]]

-- Per backend: the fixture (items, which profiles; wallets, on which AVG
-- fails; shapes, on which MIN fails too; broken, a view whose rows cannot
-- be read), the filter that selects it, and how the backend names things.
local GEN = {
  postgresql = {
    setup = {
      "DROP SCHEMA IF EXISTS nvodbc_gen CASCADE", "CREATE SCHEMA nvodbc_gen",
      [[CREATE TABLE nvodbc_gen.items (id integer PRIMARY KEY, qty integer, price double precision, cost numeric(8,2),
          name varchar(20), note text, active boolean, day date)]],
      "INSERT INTO nvodbc_gen.items VALUES " .. GEN_ROWS:format("true", "false", "true"),
      "CREATE TABLE nvodbc_gen.wallets (id integer, balance money)", -- no avg(money)
      "INSERT INTO nvodbc_gen.wallets VALUES (1, 1.5), (2, 4.25), (3, NULL)",
      "CREATE TABLE nvodbc_gen.shapes (id integer, spot point)", -- no min(point), no point = point
      "INSERT INTO nvodbc_gen.shapes VALUES (1, point(1, 2)), (2, NULL)",
      "CREATE VIEW nvodbc_gen.broken AS SELECT id, 1 / (id - id) AS ratio FROM nvodbc_gen.items",
    },
    opts = { include_schemas = "nvodbc_gen" }, prefix = "", key = "nvodbc_gen.",
    bool = { "boolean", false, true, nil },
    len = '{fn LENGTH("name")}', -- psqlODBC does not list CHAR_LENGTH
    ref = '"nvodbc_gen"."items"',
    broken = "odbc: ERROR: division by zero; Error while executing the query",
  },
  mysql = {
    setup = {
      "DROP VIEW IF EXISTS nvodbc_gen_broken", "DROP FUNCTION IF EXISTS nvodbc_gen_boom",
      "DROP TABLE IF EXISTS nvodbc_gen_items",
      [[CREATE TABLE nvodbc_gen_items (id INT PRIMARY KEY, qty INT, price DOUBLE, cost DECIMAL(8,2), name VARCHAR(20),
          note TEXT, active BOOLEAN, day DATE) CHARACTER SET utf8mb4]],
      "INSERT INTO nvodbc_gen_items VALUES " .. GEN_ROWS:format("true", "false", "true"),
      [[CREATE FUNCTION nvodbc_gen_boom(x INT) RETURNS INT DETERMINISTIC
        BEGIN IF x > 1 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom'; END IF; RETURN x; END]],
      "CREATE VIEW nvodbc_gen_broken AS SELECT id, nvodbc_gen_boom(id) AS ratio FROM nvodbc_gen_items",
    },
    opts = { include_tables = "nvodbc_gen_*" }, prefix = "nvodbc_gen_", key = "",
    bool = { "integer", 0, 1, 2 / 3 }, -- BOOLEAN is TINYINT(1)
    len = "{fn CHAR_LENGTH(`name`)}", -- {fn LENGTH} would count bytes
    ref = "`nvodbc_gen_items`",
    broken = "odbc: boom",
  },
  sqlite = {
    setup = {
      "DROP VIEW IF EXISTS broken", "DROP TABLE IF EXISTS docs", "DROP TABLE IF EXISTS items",
      [[CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER, price DOUBLE, cost NUMERIC(8,2), name VARCHAR(20),
          note TEXT, active BOOLEAN, day DATE)]],
      "INSERT INTO items VALUES " .. GEN_ROWS:format(1, 0, 1),
      "CREATE TABLE docs (id INTEGER, doc TEXT)",
      [[INSERT INTO docs VALUES (1, '{"ratio": 1}'), (2, 'not json')]],
      "CREATE VIEW broken AS SELECT id, json_extract(doc, '$.ratio') AS ratio FROM docs",
    },
    opts = {}, prefix = "", key = "", -- the driver reports no schemas
    bool = { "boolean", false, true, nil },
    len = '{fn LENGTH("name")}',
    ref = '"items"',
    broken = "odbc: malformed JSON (1)",
  },
}

local function gen_label(B)
  if B.parts then
    return string.format("odbc:[%s] %s@%s:%s/%s", B.name, B.parts.user, B.parts.host, B.parts.port, B.parts.db)
  end
  return "odbc:[SQLite3] " .. SQLITE_DIR .. "/gen.db"
end

local function gen_cs(B)
  return B.parts and B.cs or "odbc:Driver=SQLite3;Database=" .. SQLITE_DIR .. "/gen.db"
end

-- Runs fn() while recording the first argument of every conn:query call
-- (the methods table is shared by all nv.odbc connections); returns the
-- list and fn's results.
local function recording_queries(cs, fn)
  local probe <close> = assert(odbc.open(cs))
  local methods = getmetatable(probe).__index
  local query, sent = methods.query, {}
  methods.query = function(self, q, ...)
    sent[#sent + 1] = q
    return query(self, q, ...)
  end
  local res = table.pack(pcall(fn))
  methods.query = query
  assert(res[1], res[2])
  return sent, table.unpack(res, 2, res.n)
end

local function gen_opts(G, more)
  local o = { odbc_engine = "generic" }
  for k, v in pairs(G.opts) do o[k] = v end
  for k, v in pairs(more or {}) do o[k] = v end
  return o
end

-- what the column stats must say, from GEN_ROWS (`sample`: through the
-- profiler, which counts '' as empty, not a value; lengths are characters
-- either way)
local function check_items(G, t, sample)
  assert.same({ "success", 4 }, { t.status, t.rows })
  local c = by_name(t.columns)
  local function stats(col)
    return { col.null_count, col.distinct_count, col.min, col.max }
  end
  assert.same({ 0, 4, 1, 4 }, stats(c.id))
  assert.equal(2.5, c.id.mean)
  assert.same({ 1, 2, 5, 7 }, stats(c.qty))
  assert.near(17 / 3, c.qty.mean, 1e-9)
  assert.same({ 1, 3, 1.5, 4.0 }, stats(c.price))
  assert.near(8 / 3, c.price.mean, 1e-9)
  assert.same({ "decimal", 1, 2, 1.25, 2.5 }, { c.cost.inferred_type, table.unpack(stats(c.cost)) })
  assert.near(5 / 3, c.cost.mean, 1e-9)
  assert.same({ "string", 1, 3, "ab", "héllo" }, { c.name.inferred_type, table.unpack(stats(c.name)) })
  assert.same({ 2, 5 }, { c.name.min_length, c.name.max_length }) -- "héllo": 5 characters, 6 bytes
  assert.same({ "date", 1, 3, "2023-12-31", "2024-03-04" }, { c.day.inferred_type, table.unpack(stats(c.day)) })
  local bool = G.bool
  local bmin, bmax = bool[2], bool[3]
  if sample and bool[1] == "boolean" then bmin, bmax = tostring(bmin), tostring(bmax) end
  assert.same({ bool[1], 1, 2, bmin, bmax }, { c.active.inferred_type, table.unpack(stats(c.active)) })
  if bool[4] then assert.near(bool[4], c.active.mean, 1e-9) end
  if sample then
    assert.same({ 1, 1, 2, "a", "xyz", 1, 3 }, { c.note.null_count, c.note.empty_count, c.note.distinct_count,
                                               c.note.min, c.note.max, c.note.min_length, c.note.max_length })
  else
    assert.same({ 1, 1, 3, "", "xyz", 0, 3 }, { c.note.null_count, c.note.empty_count, c.note.distinct_count,
                                              c.note.min, c.note.max, c.note.min_length, c.note.max_length })
  end
end

describe("nv.dbsource over ODBC, generic engine profiling", function()
  it("writes only portable aggregates: AVG(x * 1e0), {fn LENGTH}, booleans against a bound TRUE", function()
    local eng = dbsource.engines.odbc
    local col = function(norm, base) return { normalized = norm, base_type = base } end
    assert.same({ nn = 'COUNT("q")', dc = 'COUNT(DISTINCT "q")', mn = 'MIN("q")', mx = 'MAX("q")',
                  avg = 'AVG("q" * 1e0)' }, eng.aggregates('"q"', col("integer", 4), eng))
    assert.same({ nn = 'COUNT("q")', dc = 'COUNT(DISTINCT "q")', mn = 'MIN("q")', mx = 'MAX("q")',
                  em = [[COUNT(CASE WHEN "q" = '' THEN 1 END)]], mnl = 'MIN({fn LENGTH("q")})',
                  mxl = 'MAX({fn LENGTH("q")})' }, eng.aggregates('"q"', col("string", 12), eng))
    assert.same({ nn = 'COUNT("q")', dc = 'COUNT(DISTINCT "q")', tr = { 'COUNT(CASE WHEN "q" = ? THEN 1 END)', true } },
      eng.aggregates('"q"', col("boolean", -7), eng))
    assert.same({ nn = 'COUNT("q")' }, eng.aggregates('"q"', col("json", -1), eng))
    assert.same({ nn = 'COUNT("q")', dc = 'COUNT(DISTINCT "q")' }, eng.aggregates('"q"', col("uuid", -11), eng))
    assert.same({ nn = 'COUNT("q")', mn = 'MIN("q")', mx = 'MAX("q")' },
      eng.minimal_aggregates('"q"', col("decimal", 8)))
    assert.same({ nn = 'COUNT("q")' }, eng.minimal_aggregates('"q"', col("boolean", -7)))
  end)

  for _, B in ipairs(backends) do
    local G = GEN[B.flavor]
    if B.why then
      pending("SKIPPED (" .. B.name .. "): " .. B.why)
    else
      local cs = gen_cs(B)
      local function setup()
        local db <close> = assert(odbc.open(cs))
        exec_all(db, G.setup)
      end

      it("profiles " .. B.dbms .. " by pushdown with the generic engine", function()
        setup()
        local sent, m = recording_queries(cs, function()
          return extract(cs, gen_opts(G, { include_tables = G.prefix .. "items" }))
        end)
        assert.equal("success", m.status)
        -- the SQL forms this driver was sent: no LIMIT, the sample bounded by max_rows
        local agg, sample = sent[#sent - 1], sent[#sent]
        local q = G.ref:sub(1, 1)
        assert.matches("^SELECT COUNT%(%*%) AS n_rows, ", agg)
        for _, form in ipairs({ "AVG(" .. q .. "qty" .. q .. " * 1e0)", "MAX(" .. G.len .. ")",
                                "COUNT(CASE WHEN " .. q .. "note" .. q .. " = '' THEN 1 END)" }) do
          assert.truthy(agg:find(form, 1, true), form .. " in " .. agg)
        end
        assert.equal(G.bool[1] == "boolean", agg:find(q .. "active" .. q .. " = ? THEN 1 END", 1, true) ~= nil)
        assert.same({ "SELECT * FROM " .. G.ref, max_rows = 5 }, sample)
        for _, x in ipairs(sent) do assert.is_nil((type(x) == "table" and x[1] or x):find("LIMIT", 1, true)) end
        assert.same({}, m.errors)
        assert.equal(1, #m.tables)
        check_items(G, m.tables[1], false)
        assert.equal(2, m.profile_queries) -- one aggregate query, one sample query
        assert.same({ "1", "2", "3", "4" }, by_name(m.tables[1].columns).id.samples)
        local one = extract(cs, gen_opts(G, { include_tables = G.prefix .. "items", sample_rows = 1 }))
        assert.equal(1, #by_name(one.tables[1].columns).id.samples) -- the sample query, bounded by max_rows
      end)

      it("profiles " .. B.dbms .. " from a sample bounded by max_rows with the generic engine", function()
        setup()
        local m = extract(cs, gen_opts(G, { include_tables = G.prefix .. "items", profile = "sample" }))
        assert.equal("success", m.status)
        check_items(G, m.tables[1], true)
        assert.equal(4, m.tables[1].sampled_rows)
        local two = extract(cs, gen_opts(G, { include_tables = G.prefix .. "items", profile = "sample",
                                              profile_rows = 2 }))
        local t = two.tables[1]
        assert.same({ "success", 2, 2 }, { t.status, t.sampled_rows, t.rows })
        assert.equal(2, by_name(t.columns).id.non_null)
        -- figures of a sample that may not hold the table are not stated exact
        local id = by_name(t.columns).id
        assert.same({ false, false, 2 }, { id.distinct_exact, id.top_values_exact, id.sampled_rows })
        assert.is_nil(id.distinct_error)
        -- a sample holding every row (4 of 4) is the table: exact
        local whole = by_name(m.tables[1].columns).id
        assert.same({ true, true }, { whole.distinct_exact, whole.top_values_exact })
      end)

      it("keeps a " .. B.dbms .. " view whose rows cannot be read as partial, the other tables complete", function()
        setup()
        local m, ctx = extract(cs, gen_opts(G))
        local label = gen_label(B)
        local t = by_name(m.tables)
        local broken = t[G.prefix .. "broken"]
        local key = G.key .. G.prefix .. "broken"
        assert.equal("partial", m.status)
        assert.same({ "partial", "view" }, { broken.status, broken.table_type })
        assert.same({ "id", "ratio" }, { broken.columns[1].name, broken.columns[2].name }) -- the catalog stays
        local err = "source " .. label .. ": table " .. key .. ": not profiled, catalog metadata only: " .. G.broken
        assert.same({ err }, broken.errors)
        assert.same({ err }, m.errors)
        local w = {
          "source " .. label .. ": table " .. key .. ": aggregate query failed, retrying with COUNT, MIN and MAX"
            .. " only: " .. G.broken,
          "source " .. label .. ": table " .. key .. ": minimal aggregate query failed, profiling a sample of at"
            .. " most 10000 rows instead: " .. G.broken,
        }
        assert.same(w, broken.warnings)
        for _, x in ipairs(w) do
          assert.truthy(table.concat(m.warnings, "\n"):find(x, 1, true))
          assert.truthy(table.concat(ctx.lines, "\n"):find("WARNING " .. x, 1, true))
        end
        check_items(G, t[G.prefix .. "items"], false)
        assert.same({}, t[G.prefix .. "items"].warnings)
        if B.flavor == "postgresql" then
          -- no avg(money): COUNT, MIN and MAX only
          local wal = t.wallets
          assert.same({ "success", 3 }, { wal.status, wal.rows })
          assert.same({ "source " .. label .. ": table nvodbc_gen.wallets: aggregate query failed, retrying with"
            .. " COUNT, MIN and MAX only: odbc: ERROR: function avg(money) does not exist; Error while executing"
            .. " the query" }, wal.warnings)
          local bal = by_name(wal.columns).balance
          assert.same({ 1, 1.5, 4.25 }, { bal.null_count, bal.min, bal.max })
          assert.is_nil(bal.mean)
          assert.is_nil(bal.distinct_count)
          -- no min(point) either: profiled from the sample
          local sh = t.shapes
          assert.same({ "success", 2, 2 }, { sh.status, sh.rows, sh.sampled_rows })
          assert.equal(2, #sh.warnings)
          assert.matches("minimal aggregate query failed, profiling a sample of at most 10000 rows instead: odbc:"
            .. " ERROR: function min%(point%) does not exist", sh.warnings[2])
          local spot = by_name(sh.columns).spot
          assert.same({ 1, "(1,2)" }, { spot.null_count, spot.min })
          assert.equal(4, #m.tables)
        end
      end)
    end
  end

  local sq = backends[3]
  if not sq.why then
    it("reports partial tables and degradation warnings in metadata_extraction's JSON", function()
      local dir = H.tmpdir()
      local cs = "odbc:Driver=SQLite3;Database=" .. dir .. "/src.db"
      do
        local db <close> = assert(odbc.open(cs))
        exec_all(db, GEN.sqlite.setup)
      end
      H.write(dir .. "/cfg.json", '{"odbc_engine": "generic"}')
      local code, out, err = H.run({ "run", "metadata_extraction", cs, "odbc", "t1", "--config", dir .. "/cfg.json" },
        { cwd = dir })
      assert.equal(1, code, err) -- issue 11: a partial table is a failed object, exit 1 (fail_on = partial)
      local res = assert(json.decode(out))
      assert.equal("partial", res.status)
      assert.equal("broken", res.failed_objects[1].table)
      assert.matches("table broken: not profiled, catalog metadata only", res.failed_objects[1].reason)
      local md = res.metadata or res
      local status = {}
      for _, t in ipairs(md.tables) do status[t.table_name] = t.status end
      assert.same({ broken = "partial", docs = "success", items = "success" }, status)
      local text = json.encode(md.warnings)
      assert.truthy(text:find("table broken: aggregate query failed", 1, true), text)
      assert.truthy(text:find("table broken: minimal aggregate query failed", 1, true), text)
      H.rmdir(dir)
    end)
  end
end)

------------------------------------------------------------------------
-- the jobs, as subprocesses

describe("jobs over ODBC (subprocess)", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  local sq = backends[3]
  if sq.why then
    pending("SKIPPED: " .. sq.why)
  else
    it("schema_validation creates and then finds the tables in an ODBC SQLite store", function()
      local url = "odbc:Driver=SQLite3;Database=" .. dir .. "/x.db"
      local code, out, err = H.run({ "run", "schema_validation", "--store", url }, { cwd = dir })
      assert.equal(0, code, err)
      local res = assert(json.decode(out))
      assert.equal("created", res.validation_status) -- a fresh store (issue 11: was "valid")
      assert.equal("odbc", res.store)
      assert.same(schema.table_names, res.tables_created)
      local code2, out2 = H.run({ "run", "schema_validation", "--store", url }, { cwd = dir })
      assert.equal(0, code2)
      local res2 = assert(json.decode(out2))
      assert.equal("valid", res2.validation_status)
      assert.same({}, res2.tables_created)
      assert.same(schema.table_names, res2.tables_found)
      local db <close> = assert(odbc.open(url))
      local runs = assert(db:query('SELECT status FROM "_executor_metadata__executor_runs" WHERE run_mode = ?',
        "schema_validation"))
      assert.same({ { status = "Success" }, { status = "Success" } }, runs)
    end)

    it("metadata_extraction writes an ODBC SQLite source into the SQLite store", function()
      local src = "odbc:Driver=SQLite3;Database=" .. dir .. "/src.db"
      do
        local db <close> = assert(odbc.open(src))
        exec_all(db, SQLITE_SOURCE)
      end
      local code, out, err = H.run({ "run", "metadata_extraction", src, "odbc", "t1", "--write-to-db" },
        { cwd = dir })
      assert.equal(0, code, err)
      assert.equal(true, assert(json.decode(out)).success)
      local st <close> = H.open_store(dir)
      local s = assert(st:query("SELECT source_type, status, tables_found FROM _executor_metadata.sources"))
      assert.same({ { source_type = "odbc", status = "success", tables_found = 3 } }, s)
    end)
  end

  local pgb = backends[1]
  if pgb.why then
    pending("SKIPPED (PostgreSQL Unicode): " .. pgb.why)
  else
    it("metadata_extraction writes a PostgreSQL source read over ODBC into the SQLite store", function()
      do
        local db <close> = assert(odbc.open(pgb.cs))
        exec_all(db, PG_SOURCE)
      end
      H.write(dir .. "/cfg.json", '{"include_schemas": ["nvodbc"]}')
      local code, out, err = H.run({ "run", "metadata_extraction", pgb.cs, "odbc", "t1", "--write-to-db",
                                     "--config", dir .. "/cfg.json" }, { cwd = dir })
      assert.equal(0, code, err)
      local pw = "Pwd=" .. pgb.parts.pw .. ";"
      assert.is_nil(out:find(pw, 1, true))
      assert.is_nil(err:find(pw, 1, true))
      local st <close> = H.open_store(dir)
      local src = assert(st:query("SELECT source_type, status, tables_found, connection_info, source_path"
        .. " FROM _executor_metadata.sources"))
      assert.equal(1, #src)
      assert.same({ "odbc", "success", 2 }, { src[1].source_type, src[1].status, src[1].tables_found })
      assert.is_nil(src[1].connection_info:find(pgb.parts.pw, 1, true))
      assert.is_nil(src[1].source_path:find(pw, 1, true))
      assert.equal("PostgreSQL Unicode", json.decode(src[1].connection_info).driver)
      local tables = assert(st:query("SELECT table_name, table_type, schema_name, row_count, primary_key"
        .. " FROM _executor_metadata.tables ORDER BY table_name"))
      assert.same({ table_name = "customers", table_type = "table", schema_name = "nvodbc", row_count = 3,
                    primary_key = '["id"]' }, tables[1])
      local cols = assert(st:query("SELECT column_name, data_type, native_type, null_count, distinct_count,"
        .. " min_value, max_value, foreign_key FROM _executor_metadata.columns WHERE table_name = 'orders'"
        .. " ORDER BY position"))
      assert.same({ column_name = "customer_id", data_type = "integer", native_type = "integer", null_count = 0,
                    distinct_count = 3, min_value = "1", max_value = "3", foreign_key = "nvodbc.customers(id)" },
        cols[2])
    end)
  end
end)

describe("nv.dbsource over ODBC: test_connection and engine profiles", function()
  for _, B in ipairs(backends) do
    if B.why then
      pending("SKIPPED (" .. B.name .. "): " .. B.why)
    else
      it(B.name .. ": test_connection says what it reached" .. (B.wrong_password and ", a wrong password is auth" or ""),
        function()
        local ok, info = dbsource.test_connection({ data_source_path = B.cs })
        assert.is_true(ok)
        assert.same({ "odbc", B.dbms }, { info.kind, info.dbms_name })
        assert.is_string(info.server_version)
        assert.is_true(info.schema_count >= 1 and #info.schemas >= 1)
        if B.flavor == "sqlite" then
          assert.same({ { "main" }, 1 }, { info.schemas, info.schema_count })
        else
          assert.equal(B.parts.db, info.database)
          local set = {}
          for _, n in ipairs(info.schemas) do set[n] = true end
          assert.is_nil(set.information_schema or set.pg_catalog or set.mysql or set.performance_schema)
        end
        if B.wrong_password then
          local r = { dbsource.test_connection({ data_source_path = B.connstr(B.parts, WRONG) }) }
          assert.same({ nil, "auth" }, { r[1], r[3] })
          assert.matches(B.wrong_password[1], r[2], 1, true)
          assert.matches("^28", r[4])
          assert.is_nil(r[2]:find(WRONG, 1, true))
        end
      end)
    end
  end

  it("a missing DSN is a connect failure with its SQLSTATE", function()
    assert.same({ nil, "odbc: cannot connect to [DSN=nvodbc-none]: Data source name not found and no default driver"
      .. " specified", "connect", "IM002" }, { dbsource.test_connection({ data_source_path = "odbc:DSN=nvodbc-none" }) })
  end)

  it("snowflake, sqlserver and databricks_sql are profiles of the generic engine, picked by source_type or DBMS", function()
    local eng = dbsource.engines.odbc
    assert.same({ engine = "generic", profile = "snowflake" }, eng.prepare({}, { source_type = "snowflake" }))
    assert.same({ engine = "postgresql", profile = "sqlserver" },
      eng.prepare({ odbc_engine = "postgresql" }, { source_type = "sqlserver" }))
    assert.same({ engine = "auto" }, eng.prepare({}, { source_type = "odbc" }))
    assert.same({ nil, "odbc_engine must be one of auto, generic, postgresql, mysql, sqlite (got 'x')" },
      { eng.prepare({ odbc_engine = "x" }, { source_type = "snowflake" }) })
    -- a stand-in connection: what SQLTables / SQLColumns of SQL Server answer
    local fake = {
      info = function() return { dbms_name = "Microsoft SQL Server", dbms_version = "16", database = "db",
                                 identifier_quote = "[" } end,
      tables = function() return {
        { table_schem = "dbo", table_name = "t", table_type = "TABLE" },
        { table_schem = "INFORMATION_SCHEMA", table_name = "TABLES", table_type = "VIEW" },
        { table_schem = "sys", table_name = "objects", table_type = "VIEW" } } end,
      columns = function() return {
        { table_schem = "dbo", table_name = "t", column_name = "a", ordinal_position = 1, data_type = 4,
          type_name = "int", nullable = 1 },
        { table_schem = "sys", table_name = "objects", column_name = "name", ordinal_position = 1, data_type = 12,
          type_name = "sysname", nullable = 0 } } end,
    }
    local d = eng.for_connection(fake, { engine = "auto" }) -- the DBMS name picks the profile
    assert.same({ "sqlserver", { "INFORMATION_SCHEMA", "sys" }, "[a]]b]" }, { d.profile, d.system_schemas, d.quote("a]b") })
    assert.equal("snowflake", eng.for_connection(fake, { engine = "generic", profile = "snowflake" }).profile)
    local function call(method, ...) return fake[method](fake, ...) end
    local function run() return {} end
    local cat = d.catalog(fake, require("nv.sqlcatalog").options({}), run, call, d)
    assert.same({ { schema_name = "dbo" } }, cat.schemas)
    assert.same({ "t" }, { cat.tables[1].table_name, cat.tables[2] })
    assert.same({ "a" }, { cat.columns[1].name, cat.columns[2] })
  end)
end)

teardown(function() H.rmdir(SQLITE_DIR) end)
