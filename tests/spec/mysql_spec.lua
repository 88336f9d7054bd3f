-- MySQL/MariaDB end to end: the nv.mysql driver, the `_executor_metadata`
-- store on MariaDB (the same operations as store_spec.lua), database
-- sources (nv.dbsource) and the jobs as subprocesses. Needs a server:
--   eval "$(tests/servers/mariadb.sh start)"     (sets NVLUA_TEST_MYSQL_URL)
-- Without NVLUA_TEST_MYSQL_URL every test here is reported pending.
local H = require "helper"
local URL = os.getenv("NVLUA_TEST_MYSQL_URL")

if not URL or URL == "" then
  describe("MySQL/MariaDB", function()
    pending("SKIPPED: NVLUA_TEST_MYSQL_URL is not set; run eval \"$(tests/servers/mariadb.sh start)\" first")
  end)
  return
end

local mysql = require "nv.mysql"
local json = require "nv.json"
local store_mod = require "nv.store"
local schema = require "nv.schema"
local dbsource = require "nv.dbsource"

local WRONG = "Wr0ng-Secret-7431"
local function with_password(url, pw)
  return (url:gsub("^(%a+://[^:/@]+):[^@]*@", "%1:" .. pw .. "@"))
end
local function with_database(url, db)
  return (url:gsub("/[^/?]*$", "/" .. db))
end
local host_port = URL:match("@([^/]+)/")
local FIXTURE_URL = with_database(URL, "nvspec")

local quiet_ctx = H.quiet_ctx

local function new_model(id)
  return { source_id = id or "src_my", source_type = "mysql", tables = json.array(), errors = json.array(),
           files_found = 0, total_size_bytes = 0 }
end

local function exec_all(db, list)
  for _, sql in ipairs(list) do assert(db:exec(sql)) end
end

describe("nv.mysql", function()
  local db
  before_each(function() db = assert(mysql.open(URL)) end)
  after_each(function() db:close() end)

  it("types results: integers, numbers, booleans, text, NULL as nil", function()
    exec_all(db, { [[CREATE TEMPORARY TABLE ty (a smallint, b bigint, c decimal(5,2), d double, e boolean,
                      f varchar(5), g int, h date, i bit(1), j int unsigned, k datetime(3))]] })
    assert(db:exec("INSERT INTO ty VALUES (1, 9007199254740993, 2.5, 0.1, true, 'x', NULL, '2024-01-02', b'1', 7,"
      .. " '2024-01-02 03:04:05.123')"))
    local rows, cols = assert(db:query("SELECT * FROM ty"))
    assert.same({ "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k" }, cols)
    local r = rows[1]
    assert.equal("integer", math.type(r.a))
    assert.equal(9007199254740993, r.b)
    assert.equal("integer", math.type(r.b))
    assert.equal("float", math.type(r.c))
    assert.equal(2.5, r.c)
    assert.equal(0.1, r.d)
    assert.is_true(r.e)
    assert.equal("x", r.f)
    assert.is_nil(r.g)
    assert.equal("2024-01-02", r.h)
    assert.is_true(r.i)
    assert.equal(7, r.j)
    assert.equal("2024-01-02 03:04:05.123", r.k)
  end)

  it("binds nil, booleans, integers, numbers and strings as parameters", function()
    exec_all(db, { "CREATE TEMPORARY TABLE p (a bigint, b double, c boolean, d text, e text)" })
    assert.equal(1, db:exec("INSERT INTO p VALUES (?, ?, ?, ?, ?)", 9007199254740993, 0.1, false, "it's ?", nil))
    local rows = assert(db:query("SELECT * FROM p WHERE a = ? AND d = ?", 9007199254740993, "it's ?"))
    assert.same({ { a = 9007199254740993, b = 0.1, c = false, d = "it's ?" } }, rows)
  end)

  it("reads values longer than its first buffer", function()
    local long = string.rep("abcdefgh", 2000)
    local rows = assert(db:query("SELECT ? AS v, CHAR_LENGTH(?) AS n", long, long))
    assert.same({ { v = long, n = #long } }, rows)
  end)

  it("returns nil, message, kind, error number for SQL errors and raises for misuse", function()
    local ok, err, kind, code = db:query("SELECT * FROM missing_table")
    assert.is_nil(ok)
    assert.matches("^mysql: Table '[%w_]+%.missing_table' doesn't exist$", err)
    assert.equal("sql", kind)
    assert.equal(1146, code)
    assert.has_error(function() db:exec("SELECT ?", 1, 2) end, "statement has 1 parameter(s), 2 given")
    assert.has_error(function() db:exec("SELECT ?", {}) end, "parameter 1: cannot bind a table")
    assert.equal(1, db:query("SELECT 1 AS x")[1].x) -- still usable
  end)

  it("closes idempotently, on scope exit, and refuses use after close", function()
    assert.is_true(db:close())
    assert.is_true(db:close())
    assert.equal("nv.mysql (closed)", tostring(db))
    assert.has_error(function() db:query("SELECT 1") end, "attempt to use a closed connection")
    local outer
    do
      local c <close> = assert(mysql.open(URL))
      outer = c
    end
    assert.equal("nv.mysql (closed)", tostring(outer))
  end)

  it("reports a wrong password naming host:port/database, never the password", function()
    local c, err, kind, code = mysql.open(with_password(URL, WRONG))
    assert.is_nil(c)
    assert.equal("auth", kind)
    assert.equal(1045, code)
    assert.matches("^mysql: cannot connect to " .. host_port:gsub("%p", "%%%0") .. "/testdb: Access denied for user 'nv'",
      err)
    assert.is_nil(err:find(WRONG, 1, true))
    assert.equal("x *** y", require("nv.log").mask("x " .. WRONG .. " y")) -- registered as a secret
  end)

  it("reports a refused port naming host:port", function()
    local c, err, kind, code = mysql.open("mysql://nv:" .. WRONG .. "@127.0.0.1:1/testdb", { connect_timeout = 2 })
    assert.is_nil(c)
    assert.equal("connect", kind)
    assert.equal(2002, code)
    assert.matches("^mysql: cannot connect to 127%.0%.0%.1:1/testdb: Can't connect to server on '127%.0%.0%.1'", err)
    assert.is_nil(err:find(WRONG, 1, true))
  end)

  it("rejects URLs it cannot read without quoting them", function()
    assert.same({ nil, "mysql: expected a mysql://user:password@host:port/database URL", "usage", 2005 },
      { mysql.open("postgresql://nv:" .. WRONG .. "@h/db") })
    assert.same({ nil, "mysql: bad port in URL", "usage", 2005 }, { mysql.open("mysql://nv:" .. WRONG .. "@h:99999/db") })
    assert.same({ host = "h", port = 3306, database = "d b", user = "u@x" }, mysql.describe("mysql://u%40x:p@h/d%20b"))
  end)

  it("enforces read-only sessions", function()
    local ro <close> = assert(mysql.open(URL, { read_only = true }))
    exec_all(db, { "CREATE TABLE IF NOT EXISTS ro_target (a int)" })
    assert.same({ nil, "mysql: Cannot execute statement in a READ ONLY transaction", "permission", 1792 },
      { ro:exec("INSERT INTO ro_target VALUES (1)") })
    assert.equal(1, ro:query("SELECT 1 AS x")[1].x)
    exec_all(db, { "DROP TABLE ro_target" })
  end)
end)

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

describe("nv.store on MySQL/MariaDB", function()
  local st
  before_each(function()
    local raw <close> = assert(mysql.open(URL))
    assert(raw:exec("DROP DATABASE IF EXISTS `_executor_metadata`"))
    st = assert(store_mod.open(URL))
  end)
  after_each(function() st:close() end)

  it("opens through the mysql dialect and creates the database", function()
    assert.equal("mysql", st.kind)
    local rows = assert(st:query("SELECT DEFAULT_COLLATION_NAME AS c FROM information_schema.SCHEMATA"
      .. " WHERE SCHEMA_NAME = ?", schema.name))
    assert.same({ { c = "utf8mb4_bin" } }, rows)
  end)

  it("creates the six tables (keys within InnoDB's limit), then finds them", function()
    local changes, before = assert(st:ensure())
    assert.same(schema.table_names, changes.created)
    assert.same({}, before.found)
    assert.same({}, assert(st:ensure()).created)
    local report = assert(st:validate())
    assert.same({ "sources", "tables", "columns", "executor_runs", "logs", "file_profiles" }, report.found)
    local types = {}
    for _, r in ipairs(assert(st:query("SELECT COLUMN_NAME AS c, COLUMN_TYPE AS t FROM information_schema.COLUMNS"
      .. " WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'columns'", schema.name))) do
      types[r.c] = r.t
    end
    assert.equal("varchar(191)", types.column_name)
    assert.equal("longtext", types.profile_json)
    assert.equal("tinyint(1)", types.is_nullable)
    assert.equal("datetime(3)", st:query("SELECT COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE"
      .. " TABLE_SCHEMA = ? AND TABLE_NAME = 'sources' AND COLUMN_NAME = 'extraction_timestamp'", schema.name)[1].t)
  end)

  it("migrates an older table by adding columns and keeps its rows", function()
    assert(st.db:exec("CREATE TABLE " .. st:qualified("sources") .. " (source_id VARCHAR(50), source_path TEXT)"))
    assert(st.db:exec("INSERT INTO " .. st:qualified("sources") .. " VALUES (?, ?)", "old", "/old"))
    local changes, before = assert(st:ensure())
    assert.same({ "sources" }, before.found)
    assert.is_true(#changes.columns_added > 5)
    assert.truthy(table.concat(changes.columns_added, ","):find("sources.workflow_id", 1, true))
    assert.same({ { source_id = "old", source_path = "/old" } },
      assert(st:query("SELECT source_id, source_path, workflow_id FROM _executor_metadata.sources")))
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
    local rows = assert(st:query("SELECT sample_values, is_nullable FROM _executor_metadata.columns"
      .. " WHERE run_id = ? AND column_name = 'id'", "run2"))
    assert.same({ { sample_values = "[1,2,3]", is_nullable = false } }, rows)
    local s = assert(st:query("SELECT extraction_timestamp AS ts FROM _executor_metadata.sources WHERE run_id = ?",
      "run2"))
    assert.equal("2023-11-14 22:13:20.500", s[1].ts)
  end)

  it("rolls back a failed source write completely", function()
    assert(st:ensure())
    local rec = sample_source("run1", 2)
    rec.tables[2].columns[1].column_name = nil -- NOT NULL column missing halfway through
    local ok, err = st:write_source(rec)
    assert.is_nil(ok)
    assert.matches("mysql: Field 'column_name' doesn't have a default value", err, 1, true)
    assert.equal(0, count(st, "sources"))
    assert.equal(0, count(st, "tables"))
    assert(st:write_source(sample_source("run1", 1))) -- the connection is usable again
  end)

  it("binds values as parameters, never as SQL text", function()
    assert(st:ensure())
    local nasty = [[x'); DROP TABLE `_executor_metadata`.`sources`; -- ? \' "]]
    assert(st:upsert("executor_runs", { run_id = nasty, status = "Success" }))
    local rows = assert(st:query("SELECT run_id FROM _executor_metadata.executor_runs WHERE run_id = ?", nasty))
    assert.equal(nasty, rows[1].run_id)
    assert.equal(0, count(st, "sources"))
  end)

  it("keeps keys that differ only by case apart (binary collation)", function()
    assert(st:ensure())
    assert(st:upsert("executor_runs", { run_id = "Run", status = "a" }))
    assert(st:upsert("executor_runs", { run_id = "run", status = "b" }))
    assert.equal(2, count(st, "executor_runs"))
  end)

  it("refuses unknown columns", function()
    assert(st:ensure())
    assert.has_error(function() st:insert("logs", { run_id = "r", seq = 1, bogus = 1 }) end,
      "table logs has no column 'bogus'")
  end)
end)

local FIXTURE = {
  "DROP DATABASE IF EXISTS nvspec",
  "CREATE DATABASE nvspec",
  [[CREATE TABLE nvspec.customers (id integer PRIMARY KEY, email varchar(100) UNIQUE COMMENT 'contact address',
      score decimal(5,2), active boolean DEFAULT true, created datetime, raw varbinary(10))
      COMMENT 'people who buy']],
  [[CREATE TABLE nvspec.orders (order_id bigint PRIMARY KEY, customer_id integer NOT NULL, amount double,
      note varchar(20), FOREIGN KEY (customer_id) REFERENCES nvspec.customers(id))]],
  "CREATE INDEX orders_amount ON nvspec.orders (amount)",
  [[INSERT INTO nvspec.customers VALUES (1, 'a@x.org', 1.5, true, '2024-01-01 10:00:00', 0x00ff),
      (2, NULL, 2.5, false, NULL, NULL), (3, 'c@x.org', NULL, NULL, '2024-02-01 10:00:00', NULL)]],
  [[INSERT INTO nvspec.orders VALUES (10, 1, 9.5, 'x'), (11, 1, 10.5, ''), (12, 2, NULL, NULL),
      (13, 3, 10.5, 'y')]],
  "CREATE VIEW nvspec.big_orders AS SELECT order_id, amount FROM nvspec.orders WHERE amount > 10",
  "ANALYZE TABLE nvspec.customers, nvspec.orders",
}

local function by_name(list)
  local out = {}
  for _, x in ipairs(list) do out[x.name] = x end
  return out
end

describe("nv.dbsource on MySQL/MariaDB", function()
  setup(function()
    local db <close> = assert(mysql.open(URL))
    for _, sql in ipairs(FIXTURE) do
      if sql:match("^ANALYZE") then assert(db:query(sql)) else assert(db:exec(sql)) end
    end
  end)

  local function extract(opts, src)
    local ctx = quiet_ctx()
    local m = dbsource.source(ctx, src or { source_id = "src_my", data_source_path = FIXTURE_URL, source_type = "mysql" },
      opts or {}, new_model())
    return m, ctx
  end

  it("extracts tables, views, columns, keys, comments and statistics", function()
    local m = extract()
    assert.equal("success", m.status)
    assert.same({}, m.errors)
    assert.equal(6, m.catalog_queries)
    assert.same({ { name = "nvspec" } }, m.schemas)
    local t = by_name(m.tables)
    assert.same({ "big_orders", "customers", "orders" }, { m.tables[1].name, m.tables[2].name, m.tables[3].name })
    assert.equal("table", t.customers.table_type)
    assert.equal("view", t.big_orders.table_type)
    assert.matches("> 10", t.big_orders.definition)
    assert.equal("people who buy", t.customers.comment)
    assert.equal("nvspec", t.customers.schema_name)
    assert.same({ "id" }, t.customers.primary_key)
    assert.same({ { name = "orders_ibfk_1", columns = { "customer_id" }, ref_schema = "nvspec",
                    ref_table = "customers", ref_columns = { "id" } } }, t.orders.foreign_keys)
    assert.same({ { name = "email", columns = { "email" } } }, t.customers.unique_constraints)
    local idx = by_name(t.orders.indexes)
    assert.same({ "amount" }, idx.orders_amount.columns)
    assert.is_false(idx.orders_amount.unique)
    assert.is_true(idx.PRIMARY.primary)
    assert.equal(3, t.customers.rows)
    assert.equal(4, t.orders.rows)
    assert.equal(3, t.customers.row_count_estimate)
    assert.is_true(t.customers.size_bytes > 0)

    local want = {
      { "id", "int(11)", "integer", false },
      { "email", "varchar(100)", "string", true },
      { "score", "decimal(5,2)", "decimal", true },
      { "active", "tinyint(1)", "boolean", true },
      { "created", "datetime", "timestamp", true },
      { "raw", "varbinary(10)", "binary", true },
    }
    for i, w in ipairs(want) do
      local c = t.customers.columns[i]
      assert.same(w, { c.name, c.native_type, c.inferred_type, c.declared_nullable })
      assert.equal(i - 1, c.position)
    end
    local oc = by_name(t.orders.columns)
    assert.equal("nvspec.customers(id)", oc.customer_id.foreign_key)
    assert.is_true(oc.order_id.is_primary_key)
    local cc = by_name(t.customers.columns)
    assert.equal("contact address", cc.email.comment)
    assert.equal("1", cc.active.default_value)
    assert.same({ 3, 0, 3, 1, 3, 2.0 }, { cc.id.rows, cc.id.null_count, cc.id.distinct_count, cc.id.min, cc.id.max,
                                         cc.id.mean })
    assert.same({ 1, 2, "a@x.org", "c@x.org", 7, 7 }, { cc.email.null_count, cc.email.distinct_count, cc.email.min,
                                                       cc.email.max, cc.email.min_length, cc.email.max_length })
    assert.same({ 1, 2, 1.5, 2.5, 2.0 }, { cc.score.null_count, cc.score.distinct_count, cc.score.min, cc.score.max,
                                          cc.score.mean })
    assert.same({ 1, false, true }, { cc.active.null_count, cc.active.min, cc.active.max })
    assert.equal("2024-01-01 10:00:00", cc.created.min)
    assert.same({ 1, 1, 3 }, { oc.note.null_count, oc.note.empty_count, oc.note.distinct_count })
    assert.same({ 1, 2, 9.5, 10.5 }, { oc.amount.null_count, oc.amount.distinct_count, oc.amount.min, oc.amount.max })
    assert.same({ "0x00ff" }, cc.raw.samples)
    assert.same({ "1", "2", "3" }, cc.id.samples)
    assert.equal(100, t.orders.quality.columns.order_id.uniqueness)
    assert.equal(2, t.big_orders.rows)
  end)

  it("describes the connection without the password", function()
    local m = extract()
    assert.same({ kind = "mysql", host = "127.0.0.1", port = host_port:match(":(%d+)$"), database = "nvspec",
                  user = "nv" }, json.decode(m.connection_info))
    assert.matches(":%*%*%*@", m.source_path)
  end)

  it("applies include/exclude patterns in the catalog queries", function()
    local m = extract({ exclude_tables = "big_*" })
    assert.same({ "customers", "orders" }, { m.tables[1].name, m.tables[2].name })
    assert.equal(2, #m.tables)
    local m2 = extract({ include_tables = { "ord?rs" } })
    assert.equal(1, #m2.tables)
    assert.equal(6, m2.catalog_queries)
  end)

  it("marks a broken view and a table dropped mid-extraction failed, keeps the others", function()
    local db <close> = assert(mysql.open(URL))
    exec_all(db, { "CREATE TABLE nvspec.doomed (a int)", "CREATE TABLE nvspec.gone (a int)",
                   "CREATE VIEW nvspec.broken AS SELECT a FROM nvspec.gone", "DROP TABLE nvspec.gone" })
    local m = extract({ on_catalog = function() assert(db:exec("DROP TABLE nvspec.doomed")) end })
    exec_all(db, { "DROP VIEW nvspec.broken" })
    assert.equal("partial", m.status)
    local t = by_name(m.tables)
    assert.equal("failed", t.doomed.status)
    assert.equal("failed", t.broken.status)
    assert.equal("success", t.orders.status)
    local prefix = "source mysql://nv@" .. host_port .. "/nvspec: table "
    assert.same({ prefix .. "nvspec.broken: View 'nvspec.broken' references invalid table(s) or column(s) or"
                    .. " function(s) or definer/invoker of view lack rights to use them",
                  prefix .. "nvspec.doomed: mysql: Table 'nvspec.doomed' doesn't exist" }, m.errors)
  end)

  it("fails the source on a wrong password or a refused port", function()
    local m = extract(nil, { source_id = "s", data_source_path = with_password(FIXTURE_URL, WRONG) })
    assert.equal("failed", m.status)
    assert.matches("^source mysql://nv@" .. host_port:gsub("%p", "%%%0") .. "/nvspec: mysql: cannot connect", m.errors[1])
    assert.is_nil(json.encode(m):find(WRONG, 1, true))
    local m2 = extract({ connect_timeout = 2 }, { source_id = "s", data_source_path = "mysql://nv:x@127.0.0.1:1/db" })
    assert.equal("failed", m2.status)
    assert.matches("127%.0%.0%.1:1/db: Can't connect", m2.errors[1])
  end)

  it("test_connection says what it reached; a wrong password is auth (1045), a refused port connect", function()
    local ok, info = dbsource.test_connection({ data_source_path = FIXTURE_URL, source_type = "mysql" })
    assert.is_true(ok)
    local db <close> = assert(mysql.open(FIXTURE_URL))
    local want = db:query("SELECT VERSION() AS v, CURRENT_USER() AS u, DATABASE() AS d")[1]
    assert.same({ "mysql", want.v, want.u, "nvspec" }, { info.kind, info.server_version, info.user, info.database })
    local set = {}
    for _, n in ipairs(info.schemas) do set[n] = true end
    assert.is_true(set.nvspec)
    assert.is_nil(set.mysql or set.information_schema or set.performance_schema or set.sys)
    assert.is_true(info.schema_count >= #info.schemas)
    local r = { dbsource.test_connection({ data_source_path = with_password(FIXTURE_URL, WRONG) }) }
    assert.same({ nil, "auth", 1045 }, { r[1], r[3], r[4] })
    assert.matches("Access denied for user 'nv'", r[2])
    assert.is_nil(r[2]:find(WRONG, 1, true))
    r = { dbsource.test_connection({ data_source_path = "mysql://nv:" .. WRONG .. "@127.0.0.1:1/db" },
      { connect_timeout = 2 }) }
    assert.same({ nil, "connect", 2002 }, { r[1], r[3], r[4] })
    assert.is_nil(r[2]:find(WRONG, 1, true))
  end)

  it("never writes through a source connection", function()
    local attempt
    extract({ profile = "none", on_catalog = function(_, conn)
      attempt = { conn:exec("INSERT INTO nvspec.customers (id) VALUES (99)") }
    end })
    assert.same({ nil, "mysql: Cannot execute statement in a READ ONLY transaction", "permission", 1792 }, attempt)
    local db <close> = assert(mysql.open(URL))
    assert.equal(0, db:query("SELECT COUNT(*) AS n FROM nvspec.customers WHERE id = 99")[1].n)
  end)
end)

describe("nvlua jobs against MySQL/MariaDB", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("schema_validation creates the database in a MySQL store", function()
    do
      local raw <close> = assert(mysql.open(URL))
      assert(raw:exec("DROP DATABASE IF EXISTS `_executor_metadata`"))
    end
    local code, out, err = H.run({ "run", "schema_validation", "--store", URL }, { cwd = dir })
    assert.equal(0, code, err)
    local res = assert(json.decode(out))
    assert.equal("created", res.validation_status) -- a fresh store (issue 11: was "valid")
    assert.equal("mysql", res.store)
    assert.same(schema.table_names, res.tables_created)
    assert.is_nil(out:find(":pw@", 1, true))
    local st <close> = assert(store_mod.open(URL))
    assert.equal(1, count(st, "executor_runs", " WHERE run_mode = ?", "schema_validation"))
  end)

  it("metadata_extraction writes a MySQL source into the SQLite store", function()
    local code, out, err = H.run({ "run", "metadata_extraction", FIXTURE_URL, "mysql", "t1", "--write-to-db" },
      { cwd = dir })
    assert.equal(0, code, err)
    assert.is_nil(out:find(":pw@", 1, true))
    local st = H.open_store(dir)
    local src = assert(st:query("SELECT source_type, status, tables_found, connection_info"
      .. " FROM _executor_metadata.sources"))
    assert.same({ "mysql", 3 }, { src[1].source_type, src[1].tables_found })
    assert.is_nil(src[1].connection_info:find("pw", 1, true))
    local cols = assert(st:query("SELECT column_name, data_type, native_type, null_count, distinct_count,"
      .. " min_value, max_value FROM _executor_metadata.columns WHERE table_name = 'customers' ORDER BY position"))
    assert.same({ column_name = "score", data_type = "decimal", native_type = "decimal(5,2)", null_count = 1,
                  distinct_count = 2, min_value = "1.5", max_value = "2.5" }, cols[3])
    st:close()
  end)
end)
