-- PostgreSQL end to end: the nv.pg driver, the `_executor_metadata` store
-- on PostgreSQL (the same operations as store_spec.lua), database sources
-- (nv.dbsource) and the jobs as subprocesses. Needs a server:
--   eval "$(tests/servers/pg.sh start)"     (sets NVLUA_TEST_PG_URL)
-- Without NVLUA_TEST_PG_URL every test here is reported pending.
local H = require "helper"
local URL = os.getenv("NVLUA_TEST_PG_URL")

if not URL or URL == "" then
  describe("PostgreSQL", function()
    pending("SKIPPED: NVLUA_TEST_PG_URL is not set; run eval \"$(tests/servers/pg.sh start)\" first")
  end)
  return
end

local pg = require "nv.pg"
local json = require "nv.json"
local store_mod = require "nv.store"
local schema = require "nv.schema"
local dbsource = require "nv.dbsource"

local WRONG = "Wr0ng-Secret-7431"
local function with_password(url, pw)
  return (url:gsub("^(%a+://[^:/@]+):[^@]*@", "%1:" .. pw .. "@"))
end
local host_port = URL:match("@([^/]+)/")

local quiet_ctx = H.quiet_ctx

local function new_model(id)
  return { source_id = id or "src_pg", source_type = "postgresql", tables = json.array(), errors = json.array(),
           files_found = 0, total_size_bytes = 0 }
end

local function exec_all(db, list)
  for _, sql in ipairs(list) do assert(db:exec(sql)) end
end

describe("nv.pg", function()
  local db
  before_each(function() db = assert(pg.open(URL)) end)
  after_each(function() db:close() end)

  it("types results: integers, numbers, booleans, text, NULL as nil", function()
    local rows, cols = assert(db:query(
      "SELECT 1::int2 AS a, 9007199254740993::int8 AS b, 2.5::numeric AS c, 0.1::float8 AS d, true AS e,"
      .. " 'x'::text AS f, NULL::int AS g, DATE '2024-01-02' AS h, '{\"k\":1}'::jsonb AS i"))
    assert.same({ "a", "b", "c", "d", "e", "f", "g", "h", "i" }, cols)
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
    assert.equal('{"k": 1}', r.i)
  end)

  it("binds nil, booleans, integers, numbers and strings as parameters", function()
    exec_all(db, { "CREATE TEMP TABLE p (a int8, b float8, c bool, d text, e text)" })
    assert.equal(1, db:exec("INSERT INTO p VALUES (?, ?, ?, ?, ?)", 9007199254740993, 0.1, false, "it's", nil))
    local rows = assert(db:query("SELECT * FROM p WHERE a = ? AND d = ?", 9007199254740993, "it's"))
    assert.same({ { a = 9007199254740993, b = 0.1, c = false, d = "it's" } }, rows)
  end)

  it("turns ? into $n outside quotes, identifiers and comments only", function()
    local rows = assert(db:query("SELECT '?' AS \"q?\", ? AS b, E'\\'?' AS c /* ? */, ? AS d -- ?\n", "x", "y"))
    assert.same({ { ["q?"] = "?", b = "x", c = "'?", d = "y" } }, rows)
  end)

  it("returns nil, message, kind, SQLSTATE for SQL errors and raises for misuse", function()
    assert.same({ nil, 'postgresql: relation "missing_table" does not exist', "sql", "42P01" },
      { db:query("SELECT * FROM missing_table") })
    assert.same({ nil, "postgresql: cannot insert multiple commands into a prepared statement", "sql", "42601" },
      { db:exec("SELECT 1; SELECT 2") })
    assert.has_error(function() db:exec("SELECT ?", 1, 2) end, "statement has 1 parameter(s), 2 given")
    assert.has_error(function() db:exec("SELECT ?", {}) end, "parameter 1: cannot bind a table")
    assert.equal(1, db:query("SELECT 1 AS x")[1].x) -- still usable
  end)

  it("closes idempotently, on scope exit, and refuses use after close", function()
    assert.is_true(db:close())
    assert.is_true(db:close())
    assert.equal("nv.pg (closed)", tostring(db))
    assert.has_error(function() db:query("SELECT 1") end, "attempt to use a closed connection")
    local outer
    do
      local c <close> = assert(pg.open(URL))
      outer = c
    end
    assert.equal("nv.pg (closed)", tostring(outer))
  end)

  it("reports a wrong password naming host:port/database, never the password", function()
    local c, err, kind, code = pg.open(with_password(URL, WRONG))
    assert.is_nil(c)
    assert.equal("connect", kind) -- libpq names no SQLSTATE: nv.dbsource tells auth by the message
    assert.equal("08001", code)
    assert.matches("^postgresql: cannot connect to " .. host_port:gsub("%p", "%%%0") .. "/testdb: ", err)
    assert.matches("password authentication failed for user \"nv\"", err)
    assert.is_nil(err:find(WRONG, 1, true))
    assert.equal("x *** y", require("nv.log").mask("x " .. WRONG .. " y")) -- registered as a secret
  end)

  it("reports a refused port naming host:port", function()
    local c, err = pg.open("postgresql://nv:" .. WRONG .. "@127.0.0.1:1/testdb", { connect_timeout = 2 })
    assert.is_nil(c)
    assert.matches("^postgresql: cannot connect to 127%.0%.0%.1:1/testdb: .*Connection refused", err)
    assert.is_nil(err:find(WRONG, 1, true))
  end)

  it("enforces read-only sessions", function()
    local ro <close> = assert(pg.open(URL, { read_only = true }))
    assert.same({ nil, "postgresql: cannot execute CREATE TABLE in a read-only transaction", "permission", "25006" },
      { ro:exec("CREATE TABLE ro_attempt (a int)") })
    assert.equal(1, ro:query("SELECT 1 AS x")[1].x)
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

describe("nv.store on PostgreSQL", function()
  local st
  before_each(function()
    local raw <close> = assert(pg.open(URL))
    assert(raw:exec('DROP SCHEMA IF EXISTS "_executor_metadata" CASCADE'))
    st = assert(store_mod.open(URL))
  end)
  after_each(function() st:close() end)

  it("opens through the postgresql dialect and creates the schema", function()
    assert.equal("postgresql", st.kind)
    local rows = assert(st:query("SELECT nspname FROM pg_namespace WHERE nspname = ?", schema.name))
    assert.equal(1, #rows)
  end)

  it("creates the six tables, then finds them", function()
    local changes, before = assert(st:ensure())
    assert.same(schema.table_names, changes.created)
    assert.same({}, before.found)
    assert.same({}, assert(st:ensure()).created)
    local report = assert(st:validate())
    assert.same({ "sources", "tables", "columns", "executor_runs", "logs", "file_profiles" }, report.found)
    local types = {}
    for _, r in ipairs(assert(st:query("SELECT column_name, data_type FROM information_schema.columns"
      .. " WHERE table_schema = ? AND table_name = 'columns'", schema.name))) do
      types[r.column_name] = r.data_type
    end
    assert.equal("boolean", types.is_nullable)
    assert.equal("bigint", types.null_count)
    assert.equal("double precision", types.mean_value)
  end)

  it("migrates an older table by adding columns and keeps its rows", function()
    assert(st.db:exec("CREATE TABLE " .. st:qualified("sources") .. " (source_id TEXT, source_path TEXT)"))
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
    local s = assert(st:query("SELECT extraction_timestamp::text AS ts FROM _executor_metadata.sources WHERE run_id = ?",
      "run2"))
    assert.equal("2023-11-14 22:13:20.5+00", s[1].ts)
  end)

  it("rolls back a failed source write completely", function()
    assert(st:ensure())
    local rec = sample_source("run1", 2)
    rec.tables[2].columns[1].column_name = nil -- NOT NULL violation halfway through
    local ok, err = st:write_source(rec)
    assert.is_nil(ok)
    assert.matches('null value in column "column_name" of relation "columns" violates not%-null constraint', err)
    assert.equal(0, count(st, "sources"))
    assert.equal(0, count(st, "tables"))
    assert(st:write_source(sample_source("run1", 1))) -- the connection is usable again
  end)

  it("binds values as parameters, never as SQL text", function()
    assert(st:ensure())
    local nasty = [[x'); DROP TABLE "_executor_metadata"."sources"; -- ? $1 "]]
    assert(st:upsert("executor_runs", { run_id = nasty, status = "Success" }))
    local rows = assert(st:query("SELECT run_id FROM _executor_metadata.executor_runs WHERE run_id = ?", nasty))
    assert.equal(nasty, rows[1].run_id)
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

-- the fixture: two tables with a PK/FK, a unique constraint, an index, a
-- view, comments and NULLs, in a schema of its own
local FIXTURE = {
  "DROP SCHEMA IF EXISTS nvspec CASCADE",
  "CREATE SCHEMA nvspec",
  [[CREATE TABLE nvspec.customers (id integer PRIMARY KEY, email text UNIQUE, score numeric(5,2),
      active boolean DEFAULT true, created timestamptz, tag uuid)]],
  "COMMENT ON TABLE nvspec.customers IS 'people who buy'",
  "COMMENT ON COLUMN nvspec.customers.email IS 'contact address'",
  [[CREATE TABLE nvspec.orders (order_id bigint PRIMARY KEY, customer_id integer NOT NULL
      REFERENCES nvspec.customers(id), amount double precision, note varchar(20), payload jsonb, raw bytea)]],
  "CREATE INDEX orders_amount ON nvspec.orders (amount)",
  [[INSERT INTO nvspec.customers VALUES (1, 'a@x.org', 1.5, true, '2024-01-01 10:00:00+00', NULL),
      (2, NULL, 2.5, false, NULL, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
      (3, 'c@x.org', NULL, NULL, '2024-02-01 10:00:00+00', NULL)]],
  [[INSERT INTO nvspec.orders VALUES (10, 1, 9.5, 'x', '{"a":1}', '\x00ff'), (11, 1, 10.5, '', NULL, NULL),
      (12, 2, NULL, NULL, NULL, NULL), (13, 3, 10.5, 'y', '[1]', NULL)]],
  "CREATE VIEW nvspec.big_orders AS SELECT order_id, amount FROM nvspec.orders WHERE amount > 10",
  "ANALYZE nvspec.customers",
  "ANALYZE nvspec.orders",
}

local function by_name(list)
  local out = {}
  for _, x in ipairs(list) do out[x.name] = x end
  return out
end

describe("nv.dbsource on PostgreSQL", function()
  setup(function()
    local db <close> = assert(pg.open(URL))
    exec_all(db, FIXTURE)
  end)

  local function extract(opts, src)
    local ctx = quiet_ctx()
    local m = dbsource.source(ctx, src or { source_id = "src_pg", data_source_path = URL, source_type = "postgresql" },
      opts or { include_schemas = "nvspec" }, new_model())
    return m, ctx
  end

  it("extracts tables, views, columns, keys, comments and statistics", function()
    local m = extract()
    assert.equal("success", m.status)
    assert.same({}, m.errors)
    assert.equal(6, m.catalog_queries)
    assert.same({ { name = "nvspec" } }, m.schemas)
    assert.equal("testdb", m.database)
    local t = by_name(m.tables)
    assert.same({ "big_orders", "customers", "orders" }, { m.tables[1].name, m.tables[2].name, m.tables[3].name })
    assert.equal("table", t.customers.table_type)
    assert.equal("view", t.big_orders.table_type)
    assert.matches("amount > 10", t.big_orders.definition)
    assert.equal("people who buy", t.customers.comment)
    assert.equal("nvspec", t.customers.schema_name)
    assert.equal("testdb", t.customers.catalog_name)
    assert.same({ "id" }, t.customers.primary_key)
    assert.same({ "order_id" }, t.orders.primary_key)
    assert.same({ { name = "orders_customer_id_fkey", columns = { "customer_id" }, ref_schema = "nvspec",
                    ref_table = "customers", ref_columns = { "id" } } }, t.orders.foreign_keys)
    assert.same({ { name = "customers_email_key", columns = { "email" } } }, t.customers.unique_constraints)
    local idx = by_name(t.orders.indexes)
    assert.same({ "amount" }, idx.orders_amount.columns)
    assert.is_false(idx.orders_amount.unique)
    assert.is_true(idx.orders_pkey.primary)
    assert.equal(3, t.customers.rows)
    assert.equal(4, t.orders.rows)
    assert.equal(3, t.customers.row_count_estimate)
    assert.is_true(t.customers.size_bytes > 0)
    assert.is_number(t.customers.last_modified) -- from the ANALYZE

    local want = {
      { "id", "integer", "integer", false },
      { "email", "text", "string", true },
      { "score", "numeric(5,2)", "decimal", true },
      { "active", "boolean", "boolean", true },
      { "created", "timestamp with time zone", "timestamp", true },
      { "tag", "uuid", "uuid", true },
    }
    for i, w in ipairs(want) do
      local c = t.customers.columns[i]
      assert.same(w, { c.name, c.native_type, c.inferred_type, c.declared_nullable })
      assert.equal(i - 1, c.position)
    end
    local oc = by_name(t.orders.columns)
    assert.same({ "bigint", "integer", "double precision", "character varying(20)", "jsonb", "bytea" },
      { oc.order_id.native_type, oc.customer_id.native_type, oc.amount.native_type, oc.note.native_type,
        oc.payload.native_type, oc.raw.native_type })
    assert.same({ "integer", "integer", "decimal", "string", "json", "binary" },
      { oc.order_id.inferred_type, oc.customer_id.inferred_type, oc.amount.inferred_type, oc.note.inferred_type,
        oc.payload.inferred_type, oc.raw.inferred_type })
    assert.equal("nvspec.customers(id)", oc.customer_id.foreign_key)
    assert.is_true(oc.order_id.is_primary_key)
    assert.is_false(oc.customer_id.is_primary_key)

    local cc = by_name(t.customers.columns)
    assert.equal("contact address", cc.email.comment)
    assert.equal("true", cc.active.default_value)
    -- statistics, pushed down
    assert.same({ 3, 0, 3, 1, 3, 2.0 }, { cc.id.rows, cc.id.null_count, cc.id.distinct_count, cc.id.min, cc.id.max,
                                         cc.id.mean })
    assert.same({ 1, 2, "a@x.org", "c@x.org", 7, 7 }, { cc.email.null_count, cc.email.distinct_count, cc.email.min,
                                                       cc.email.max, cc.email.min_length, cc.email.max_length })
    assert.same({ 1, 2, 1.5, 2.5, 2.0 }, { cc.score.null_count, cc.score.distinct_count, cc.score.min, cc.score.max,
                                          cc.score.mean })
    assert.same({ 1, false, true }, { cc.active.null_count, cc.active.min, cc.active.max })
    assert.same({ 2, 1 }, { cc.tag.null_count, cc.tag.distinct_count })
    assert.equal("2024-01-01 10:00:00+00", cc.created.min)
    assert.same({ 1, 1, 3 }, { oc.note.null_count, oc.note.empty_count, oc.note.distinct_count })
    assert.equal(2, oc.note.valid_count)
    assert.same({ 1, 2, 9.5, 10.5 }, { oc.amount.null_count, oc.amount.distinct_count, oc.amount.min, oc.amount.max })
    assert.same({ 3, 4 }, { oc.customer_id.distinct_count, oc.customer_id.valid_count })
    assert.same({ "1", "2", "3" }, cc.id.samples)
    assert.same({ "\\x00ff" }, oc.raw.samples)
    -- quality from the pushed-down profile
    assert.equal(100, t.orders.quality.columns.order_id.uniqueness)
    assert.is_number(m.quality.overall_score)
    assert.equal(2, t.big_orders.rows)
  end)

  it("describes the connection without the password", function()
    local m = extract()
    local info = json.decode(m.connection_info)
    assert.same({ kind = "postgresql", host = "127.0.0.1", port = host_port:match(":(%d+)$"), database = "testdb",
                  user = "nv" }, info)
    assert.is_nil(m.source_path:find(":pw@", 1, true))
    assert.matches(":%*%*%*@", m.source_path)
  end)

  it("applies include/exclude patterns in the catalog queries", function()
    local m = extract({ include_schemas = { "nvspec" }, exclude_tables = "big_*" })
    assert.same({ "customers", "orders" }, { m.tables[1].name, m.tables[2].name })
    assert.equal(2, #m.tables)
    local m2 = extract({ include_schemas = "nvspec", include_tables = "ord?rs" })
    assert.equal(1, #m2.tables)
    assert.equal(6, m2.catalog_queries)
  end)

  it("keeps the catalog query count constant however many tables there are", function()
    local db <close> = assert(pg.open(URL))
    exec_all(db, { "DROP SCHEMA IF EXISTS nvwide CASCADE", "CREATE SCHEMA nvwide" })
    for i = 1, 30 do assert(db:exec("CREATE TABLE nvwide.t" .. i .. " (a int, b text)")) end
    local m = extract({ include_schemas = "nvwide", profile = "none" })
    assert.equal(30, #m.tables)
    assert.equal(6, m.catalog_queries)
    assert.equal(0, m.profile_queries)
    exec_all(db, { "DROP SCHEMA nvwide CASCADE" })
  end)

  it("marks a table dropped mid-extraction failed and keeps the others", function()
    local db <close> = assert(pg.open(URL))
    exec_all(db, { "CREATE TABLE nvspec.doomed (a int)" })
    local m, ctx = extract({ include_schemas = "nvspec", on_catalog = function()
      assert(db:exec("DROP TABLE nvspec.doomed"))
    end })
    assert.equal("partial", m.status)
    local t = by_name(m.tables)
    assert.equal("failed", t.doomed.status)
    assert.equal("success", t.orders.status)
    assert.equal(4, t.orders.rows)
    local want = "source postgresql://nv@" .. host_port .. "/testdb: table nvspec.doomed: postgresql: relation "
      .. '"nvspec.doomed" does not exist'
    assert.same({ want }, m.errors)
    assert.same({ want }, t.doomed.errors)
    assert.truthy(table.concat(ctx.lines, "\n"):find(want, 1, true))
  end)

  it("fails the source on a wrong password, without the password", function()
    local m = extract(nil, { source_id = "s", data_source_path = with_password(URL, WRONG), source_type = "postgresql" })
    assert.equal("failed", m.status)
    assert.equal(1, #m.errors)
    assert.matches("^source postgresql://nv@" .. host_port:gsub("%p", "%%%0") .. "/testdb: postgresql: cannot connect", m.errors[1])
    assert.matches("password authentication failed", m.errors[1])
    assert.is_nil(json.encode(m):find(WRONG, 1, true))
  end)

  it("fails the source on a refused port, naming host:port", function()
    local m = extract({ connect_timeout = 2 }, { source_id = "s", data_source_path = "postgresql://nv:x@127.0.0.1:1/testdb" })
    assert.equal("failed", m.status)
    assert.matches("127%.0%.0%.1:1/testdb: .*Connection refused", m.errors[1])
  end)

  it("test_connection says what it reached: version, user, database, visible schemas", function()
    local ok, info = dbsource.test_connection({ data_source_path = URL, source_type = "postgresql" })
    assert.is_true(ok)
    local db <close> = assert(pg.open(URL))
    local want = db:query("SELECT version() AS v, current_user AS u, current_database() AS d")[1]
    assert.same({ "postgresql", want.v, want.u, want.d }, { info.kind, info.server_version, info.user, info.database })
    local set = {}
    for _, n in ipairs(info.schemas) do set[n] = true end
    assert.is_true(set.public and set.nvspec)
    assert.is_nil(set.pg_catalog or set.information_schema or set.pg_toast)
    assert.is_true(info.schema_count >= #info.schemas and #info.schemas <= 10)
    assert.matches("^postgresql://nv@" .. host_port:gsub("%p", "%%%0") .. "/testdb$", info.description)
  end)

  it("test_connection fails with code auth on a wrong password, connect on a refused port", function()
    local r = { dbsource.test_connection({ data_source_path = with_password(URL, WRONG), source_type = "postgresql" }) }
    assert.same({ nil, "auth", "28P01" }, { r[1], r[3], r[4] })
    assert.matches('password authentication failed for user "nv"', r[2])
    assert.is_nil(r[2]:find(WRONG, 1, true))
    r = { require("nv.connectors").get("postgresql").test_connection(
      { data_source_path = "postgresql://nv:" .. WRONG .. "@127.0.0.1:1/testdb" }, { connect_timeout = 2 }) }
    assert.same({ nil, "connect", "08001" }, { r[1], r[3], r[4] })
    assert.matches("127%.0%.0%.1:1/testdb: .*Connection refused", r[2])
    assert.is_nil(r[2]:find(WRONG, 1, true))
  end)

  it("never writes through a source connection", function()
    local ok, info = dbsource.test_connection({ data_source_path = URL, source_type = "postgresql" })
    assert.is_true(ok)
    assert.equal("testdb", info.database)
    local attempt
    extract({ include_schemas = "nvspec", profile = "none", on_catalog = function(_, conn)
      attempt = { conn:exec("INSERT INTO nvspec.customers (id) VALUES (99)") }
    end })
    assert.same({ nil, "postgresql: cannot execute INSERT in a read-only transaction", "permission", "25006" }, attempt)
    local db <close> = assert(pg.open(URL))
    assert.equal(0, db:query("SELECT COUNT(*) AS n FROM nvspec.customers WHERE id = 99")[1].n)
  end)
end)

-- catalog details the set-based queries must get right: index definitions
-- written from the catalog, keys across a dropped column, a foreign key into
-- a schema the filter leaves out, generated columns, array element types
local EDGE = {
  "DROP SCHEMA IF EXISTS nvedge CASCADE",
  "DROP SCHEMA IF EXISTS nvedge_ref CASCADE",
  "CREATE SCHEMA nvedge",
  "CREATE SCHEMA nvedge_ref",
  "CREATE TABLE nvedge_ref.ref (a int, b text, PRIMARY KEY (a, b))",
  [[CREATE TABLE nvedge."Odd Table" (gone int, "Id" bigint GENERATED ALWAYS AS IDENTITY, s serial,
      code varchar(10) COLLATE "C", name text, v varchar(20), amount numeric(10,2) DEFAULT 0.5,
      total numeric GENERATED ALWAYS AS (amount * 2) STORED, ints int[], ra int, rb text, created timestamptz,
      PRIMARY KEY ("Id", s), FOREIGN KEY (ra, rb) REFERENCES nvedge_ref.ref (a, b), UNIQUE (v, name))]],
  'ALTER TABLE nvedge."Odd Table" DROP COLUMN gone',
  'CREATE INDEX e_expr ON nvedge."Odd Table" (lower(name))',
  'CREATE INDEX e_partial ON nvedge."Odd Table" (amount) WHERE amount > 0',
  'CREATE INDEX e_include ON nvedge."Odd Table" (s) INCLUDE (name)',
  'CREATE INDEX e_desc ON nvedge."Odd Table" (created DESC NULLS LAST)',
  'CREATE INDEX e_opclass ON nvedge."Odd Table" (name text_pattern_ops)',
  'CREATE INDEX e_collate ON nvedge."Odd Table" (name COLLATE "C")',
  'CREATE INDEX e_code ON nvedge."Odd Table" (code)',
  'CREATE INDEX e_varchar ON nvedge."Odd Table" (v)',
  'CREATE INDEX e_hash ON nvedge."Odd Table" USING hash (v)',
  'CREATE INDEX e_gin ON nvedge."Odd Table" USING gin (ints)',
  'CREATE INDEX "E Quoted" ON nvedge."Odd Table" ("Id", name)',
  'CREATE INDEX e_fill ON nvedge."Odd Table" (ra) WITH (fillfactor = 70)',
  "CREATE TABLE nvedge.parted (k int, v text) PARTITION BY RANGE (k)",
  "CREATE TABLE nvedge.parted_1 PARTITION OF nvedge.parted FOR VALUES FROM (0) TO (10)",
  "CREATE INDEX parted_k ON nvedge.parted (k)",
  "CREATE TABLE nvedge.unanalyzed (a int)",
  "INSERT INTO nvedge.unanalyzed SELECT generate_series(1, 1000)",
  "CREATE TABLE nvedge.pristine (id int PRIMARY KEY, note text)",
}

describe("nv.dbsource catalog details on PostgreSQL", function()
  local m
  setup(function()
    do
      local db <close> = assert(pg.open(URL))
      exec_all(db, EDGE)
    end
    -- the inserts reach the statistics system when their backend reports
    local db <close> = assert(pg.open(URL))
    for _ = 1, 150 do
      local r = db:query("SELECT n_tup_ins AS n FROM pg_stat_user_tables WHERE relid = 'nvedge.unanalyzed'::regclass")
      if r[1].n > 0 then break end
      assert(db:query("SELECT pg_sleep(0.1)"))
    end
    m = dbsource.source(quiet_ctx(), { source_id = "src_pg", data_source_path = URL, source_type = "postgresql" },
      { include_schemas = "nvedge", profile = "none", on_catalog = function(_, conn)
        assert.same({ { jit = "off" } }, conn:query("SHOW jit"))
      end }, new_model())
  end)
  teardown(function()
    local db <close> = assert(pg.open(URL))
    exec_all(db, { "DROP SCHEMA nvedge CASCADE", "DROP SCHEMA nvedge_ref CASCADE" })
  end)

  it("writes each index definition exactly as pg_get_indexdef does", function()
    local db <close> = assert(pg.open(URL))
    local want = {}
    for _, r in ipairs(assert(db:query([[SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS def
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
        JOIN pg_class c ON c.oid = x.indrelid WHERE n.nspname = 'nvedge' AND NOT c.relispartition]]))) do
      want[r.name] = r.def
    end
    local got, n = {}, 0
    for _, t in ipairs(m.tables) do
      for _, x in ipairs(t.indexes) do
        got[x.name] = x.definition
        n = n + 1
      end
    end
    assert.equal(16, n)
    assert.same(want, got)
  end)

  it("names key columns by position across a dropped column", function()
    local t = by_name(m.tables)["Odd Table"]
    assert.same({ "Id", "s" }, t.primary_key)
    assert.same({ { name = "Odd Table_ra_rb_fkey", columns = { "ra", "rb" }, ref_schema = "nvedge_ref",
                    ref_table = "ref", ref_columns = { "a", "b" } } }, t.foreign_keys)
    assert.same({ { name = "Odd Table_v_name_key", columns = { "v", "name" } } }, t.unique_constraints)
    local idx = by_name(t.indexes)
    assert.same({ "Id", "name" }, idx["E Quoted"].columns)
    assert.same({ "s", "name" }, idx.e_include.columns)
    assert.same({}, idx.e_expr.columns)
    local c = by_name(t.columns)
    assert.same({ 0, 2, true }, { c.Id.position, c.Id.ordinal_position, c.Id.is_primary_key })
    assert.equal("nvedge_ref.ref(b)", c.rb.foreign_key)
  end)

  it("deparses defaults and generated columns, and types array elements", function()
    local c = by_name(by_name(m.tables)["Odd Table"].columns)
    assert.equal("0.5", c.amount.default_value)
    assert.equal("(amount * (2)::numeric)", c.total.default_value)
    assert.matches("^nextval%(", c.s.default_value)
    assert.equal("array<integer>", c.ints.inferred_type)
  end)

  it("sizes never-analyzed tables exactly, written to or not", function()
    local db <close> = assert(pg.open(URL))
    local r = db:query("SELECT pg_total_relation_size('nvedge.unanalyzed') AS u,"
      .. " pg_total_relation_size('nvedge.pristine') AS p")[1]
    assert.is_true(r.u > 0)
    local t = by_name(m.tables)
    assert.same({ r.u, r.p }, { t.unanalyzed.size_bytes, t.pristine.size_bytes })
    assert.is_nil(t.unanalyzed.row_count_estimate)
    assert.equal("partitioned_table", t.parted.table_type)
  end)
end)

describe("nvlua jobs against PostgreSQL", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("schema_validation creates the schema in a PostgreSQL store", function()
    do
      local raw <close> = assert(pg.open(URL))
      assert(raw:exec('DROP SCHEMA IF EXISTS "_executor_metadata" CASCADE'))
    end
    local code, out, err = H.run({ "run", "schema_validation", "--store", URL }, { cwd = dir })
    assert.equal(0, code, err)
    local res = assert(json.decode(out))
    assert.equal("created", res.validation_status) -- a fresh store (issue 11: was "valid")
    assert.equal("postgresql", res.store)
    assert.same(schema.table_names, res.tables_created)
    assert.is_nil(out:find(":pw@", 1, true))
    local code2, out2 = H.run({ "run", "schema_validation", "--store", URL }, { cwd = dir })
    assert.equal(0, code2)
    assert.same({}, assert(json.decode(out2)).tables_created)
    local st <close> = assert(store_mod.open(URL))
    local runs = assert(st:query("SELECT status FROM _executor_metadata.executor_runs WHERE run_mode = ?",
      "schema_validation"))
    assert.equal(2, #runs)
  end)

  it("metadata_extraction writes a PostgreSQL source into the SQLite store", function()
    do
      local db <close> = assert(pg.open(URL))
      exec_all(db, FIXTURE)
    end
    H.write(dir .. "/cfg.json", '{"include_schemas": ["nvspec"]}')
    local code, out, err = H.run({ "run", "metadata_extraction", URL, "postgresql", "t1", "--write-to-db",
                                   "--config", dir .. "/cfg.json" }, { cwd = dir })
    assert.equal(0, code, err)
    assert.is_nil(out:find(":pw@", 1, true))
    assert.is_nil(err:find(":pw@", 1, true))
    local st = H.open_store(dir)
    local src = assert(st:query("SELECT source_type, status, tables_found, connection_info, source_path"
      .. " FROM _executor_metadata.sources"))
    assert.equal(1, #src)
    assert.same({ "postgresql", "success", 3 }, { src[1].source_type, src[1].status, src[1].tables_found })
    assert.is_nil(src[1].connection_info:find("pw", 1, true))
    assert.is_nil(src[1].source_path:find(":pw@", 1, true))
    local tables = assert(st:query("SELECT table_name, table_type, schema_name, row_count, primary_key"
      .. " FROM _executor_metadata.tables ORDER BY table_name"))
    assert.same({ table_name = "customers", table_type = "table", schema_name = "nvspec", row_count = 3,
                  primary_key = '["id"]' }, tables[2])
    local cols = assert(st:query("SELECT column_name, data_type, native_type, null_count, distinct_count,"
      .. " min_value, max_value, foreign_key FROM _executor_metadata.columns WHERE table_name = 'orders'"
      .. " ORDER BY position"))
    assert.same({ column_name = "customer_id", data_type = "integer", native_type = "integer", null_count = 0,
                  distinct_count = 3, min_value = "1", max_value = "3", foreign_key = "nvspec.customers(id)" },
      cols[2])
    st:close()
  end)
end)
