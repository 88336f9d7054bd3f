local H = require "helper"
local store_mod = require "nv.store"
local sqlite = require "nv.store.sqlite"
local schema = require "nv.schema"

local function count(st, tname, where)
  local rows = assert(st:query("SELECT COUNT(*) AS n FROM " .. st:qualified(tname) .. (where or "")))
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
                      source_type = "csv", files_found = ntables, total_size_bytes = 1024 },
           tables = tables }
end

describe("nv.store (SQLite)", function()
  local dir, st
  before_each(function()
    dir = H.tmpdir()
    st = H.open_store(dir)
  end)
  after_each(function()
    st:close()
    H.rmdir(dir)
  end)

  it("creates the six tables, then finds them", function()
    local changes, before = assert(st:ensure())
    assert.same(schema.table_names, changes.created)
    assert.same({}, before.found)
    local again = assert(st:ensure())
    assert.same({}, again.created)
    local report = assert(st:validate())
    assert.same({ "sources", "tables", "columns", "executor_runs", "logs", "file_profiles" }, report.found)
    assert.same({}, report.missing)
  end)

  it("reports a failing catalog query by its message, not SQLite's numeric code (issue 13)", function()
    assert(st:ensure())
    assert(st.db:exec("DETACH DATABASE _executor_metadata"))
    local report, err, code = st:validate()
    assert.is_nil(report)
    assert.equal("sqlite: prepare: no such table: _executor_metadata.sqlite_master", err)
    assert.is_nil(code)
    local changes, eerr = st:ensure()
    assert.is_nil(changes)
    assert.equal("sqlite: prepare: no such table: _executor_metadata.sqlite_master", eerr)
  end)

  it("returns a failed query as nil, message, a string kind and the native code", function()
    local rows, err, kind, native = st:query("SELECT * FROM no_such_table")
    assert.is_nil(rows)
    assert.equal("sqlite: prepare: no such table: no_such_table", err)
    assert.equal("sql", kind)
    assert.equal(1, native) -- SQLITE_ERROR
  end)

  it("holds every column the specs name, plus workflow_id and source_id", function()
    assert(st:ensure())
    local want = {
      sources = { "source_id", "source_path", "source_type", "extraction_timestamp", "files_found", "total_size_bytes" },
      tables = { "table_id", "table_name", "file_path", "file_type", "row_count", "column_count", "size_bytes" },
      columns = { "table_id", "table_name", "column_name", "data_type", "position", "is_nullable", "sample_values",
                  "null_count", "distinct_count", "min_value", "max_value", "is_primary_key", "foreign_key", "quality_score" },
      executor_runs = { "run_id", "executor_version", "run_mode", "status", "started_at", "finished_at", "error_message" },
      logs = { "run_id", "log_timestamp", "log_level", "log_message" },
    }
    for tname, cols in pairs(want) do
      local have = {}
      for _, r in ipairs(assert(st:query("SELECT name FROM pragma_table_info(?, '_executor_metadata')", tname))) do
        have[r.name] = true
      end
      for _, c in ipairs(cols) do assert.is_true(have[c], tname .. "." .. c) end
      assert.is_true(have.workflow_id, tname .. ".workflow_id")
      assert.is_true(have.source_id, tname .. ".source_id")
    end
  end)

  it("migrates an older table by adding columns and keeps its rows", function()
    assert(st.db:exec('CREATE TABLE "_executor_metadata"."sources" (source_id TEXT, source_path TEXT)'))
    assert(st.db:exec('INSERT INTO "_executor_metadata"."sources" VALUES (?, ?)', "old", "/old"))
    local changes, before = assert(st:ensure())
    assert.same({ "sources" }, before.found)
    assert.is_true(#changes.columns_added > 5)
    assert.truthy(table.concat(changes.columns_added, ","):find("sources.workflow_id", 1, true))
    local rows = assert(st:query('SELECT source_id, source_path, workflow_id FROM _executor_metadata.sources'))
    assert.same({ { source_id = "old", source_path = "/old" } }, rows)
  end)

  it("writes a source in one transaction and replaces on re-run, never duplicates", function()
    assert(st:ensure())
    assert(st:write_source(sample_source("run1", 3)))
    assert(st:write_source(sample_source("run1", 2)))
    assert.equal(1, count(st, "sources"))
    assert.equal(2, count(st, "tables"))
    assert.equal(4, count(st, "columns"))
    assert(st:write_source(sample_source("run2", 1)))
    assert.equal(2, count(st, "sources"))
    local rows = assert(st:query("SELECT sample_values FROM _executor_metadata.columns WHERE run_id = ? AND column_name = 'id'", "run2"))
    assert.equal("[1,2,3]", rows[1].sample_values)
  end)

  it("rolls back a failed source write completely", function()
    assert(st:ensure())
    local rec = sample_source("run1", 2)
    rec.tables[2].columns[1].column_name = nil -- NOT NULL violation halfway through
    local ok, err = st:write_source(rec)
    assert.is_nil(ok)
    assert.matches("NOT NULL constraint failed", err)
    assert.matches("^sqlite: exec: ", err) -- the driver's message, no Lua source position (issue 12)
    assert.equal(0, count(st, "sources"))
    assert.equal(0, count(st, "tables"))
  end)

  it("opens a store file without write bits read-only, for root too, and says why a write fails", function()
    assert(st:ensure())
    assert(st:write_source(sample_source("run1", 1)))
    st:close()
    local path = dir .. "/_executor_metadata.db"
    assert(os.execute("chmod 0444 " .. H.q(path)))
    st = H.open_store(dir) -- a complete schema: ensure() has nothing to write
    assert.same({ created = {}, columns_added = {} }, (assert(st:ensure())))
    assert.equal(1, count(st, "sources")) -- still readable
    assert.equal("the store file has mode 0444", st.db:read_only())
    local ok, err = st:write_source(sample_source("run2", 1))
    assert.is_nil(ok)
    assert.equal("sqlite: exec: attempt to write a readonly database (the store file has mode 0444)", err)
    assert.equal(1, count(st, "sources"))
    assert(os.execute("chmod 0644 " .. H.q(path)))
  end)

  it("binds values as parameters, never as SQL text", function()
    assert(st:ensure())
    local nasty = [[x'); DROP TABLE "_executor_metadata"."sources"; --]]
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

  it("runs the spec's example queries as printed", function()
    assert(st:ensure())
    assert(st:write_source(sample_source("run1", 2)))
    assert(st:upsert("executor_runs", { run_id = "job_abc123", status = "Success", run_mode = "x",
                                        started_at = store_mod.timestamp(1) }))
    assert(st:write_logs({ run_id = "job_abc123" }, { { time = 1, level = "INFO", module = "m", message = "hello" } }))
    local queries = {
      -- 000
      [[SELECT s.source_name, t.table_name, c.column_name, c.data_type
        FROM _executor_metadata.sources s
        JOIN _executor_metadata.tables t ON s.source_id = t.source_id
        JOIN _executor_metadata.columns c ON t.table_id = c.table_id
        WHERE s.source_name = 'MySQL_Orders']],
      -- 001
      [[SELECT run_id, executor_version, run_mode, status, started_at, finished_at, error_message
        FROM _executor_metadata.executor_runs WHERE status = 'Success' ORDER BY started_at DESC LIMIT 10]],
      [[SELECT l.log_timestamp, l.log_level, l.log_message, r.run_mode
        FROM _executor_metadata.logs l JOIN _executor_metadata.executor_runs r ON l.run_id = r.run_id
        WHERE r.run_id = 'job_abc123' ORDER BY l.log_timestamp DESC]],
      -- 002
      [[SELECT * FROM _executor_metadata.sources ORDER BY extraction_timestamp DESC]],
      [[SELECT t.table_name, t.file_type, t.row_count, t.column_count, t.size_bytes
        FROM _executor_metadata.tables t JOIN _executor_metadata.sources s ON t.source_id = s.source_id
        WHERE s.source_path LIKE '%amazon%' ORDER BY t.table_name]],
      [[SELECT c.column_name, c.data_type, c.position, c.is_nullable, c.sample_values
        FROM _executor_metadata.columns c
        JOIN _executor_metadata.tables t ON c.source_id = t.source_id AND c.table_name = t.table_name
        WHERE t.table_name = 'amazon.csv' ORDER BY c.position]],
      [[SELECT s.source_id, s.source_path, s.extraction_timestamp, s.files_found,
          COUNT(DISTINCT t.table_name) as table_count, COUNT(c.column_name) as total_columns
        FROM _executor_metadata.sources s
        LEFT JOIN _executor_metadata.tables t ON s.source_id = t.source_id
        LEFT JOIN _executor_metadata.columns c ON t.source_id = c.source_id
        GROUP BY s.source_id, s.source_path, s.extraction_timestamp, s.files_found
        ORDER BY s.extraction_timestamp DESC LIMIT 1]],
      -- 003 (its hive_metastore. catalog prefix is Databricks-only)
      [[SELECT s.workflow_id, s.source_id, s.source_path, s.source_type, s.extraction_timestamp, s.files_found,
          COUNT(DISTINCT t.table_name) as table_count, COUNT(c.column_name) as total_columns
        FROM _executor_metadata.sources s
        LEFT JOIN _executor_metadata.tables t ON s.workflow_id = t.workflow_id AND s.source_id = t.source_id
        LEFT JOIN _executor_metadata.columns c ON t.workflow_id = c.workflow_id AND t.source_id = c.source_id
          AND t.table_name = c.table_name
        WHERE s.workflow_id = 'wf1'
        GROUP BY s.workflow_id, s.source_id, s.source_path, s.source_type, s.extraction_timestamp, s.files_found
        ORDER BY s.source_id]],
      [[SELECT source_id, COUNT(DISTINCT table_name) as table_count, COUNT(column_name) as column_count,
          SUM(CASE WHEN is_nullable THEN 1 ELSE 0 END) as nullable_columns
        FROM _executor_metadata.columns WHERE workflow_id = 'wf1' GROUP BY source_id ORDER BY source_id]],
    }
    for i, sql in ipairs(queries) do
      local rows, _, err = st:query(sql)
      assert.is_table(rows, "query " .. i .. ": " .. tostring(err))
    end
    local r = st:query(queries[#queries])
    assert.same({ { source_id = "src1", table_count = 2, column_count = 4, nullable_columns = 2 } }, r)
    local l = st:query(queries[3])
    assert.equal("hello", l[1].log_message)
  end)

  it("names a store in messages without its password", function()
    assert.equal("postgresql://nv@db.example:5432/meta", store_mod.describe("postgresql://nv:S3cret@db.example:5432/meta"))
    assert.equal("mysql://127.0.0.1/x", store_mod.describe("mysql://127.0.0.1/x"))
    assert.equal("odbc:Driver=PG;Server=h;UID=u;PWD=***;Database=d",
      store_mod.describe("odbc:Driver=PG;Server=h;UID=u;PWD=S3cret;Database=d"))
    assert.equal("sqlite:/tmp/a.db", store_mod.describe("sqlite:/tmp/a.db"))
    assert.equal("sqlite:_executor_metadata.db", store_mod.describe(nil))
  end)

  it("names unsupported store kinds and bad URLs", function()
    -- every store kind now exists: an ODBC URL reaches the driver manager
    assert.same({ nil, "odbc: cannot connect to [DSN=nvlua-no-such-dsn]: Data source name not found and no"
      .. " default driver specified" }, { store_mod.open("odbc:DSN=nvlua-no-such-dsn") })
    assert.same({ nil, "unrecognised store 'ftp://x' (use sqlite:PATH, postgresql://…, mysql://…, odbc:…)" },
      { store_mod.open("ftp://x") })
    assert.same({ "sqlite", "/a/b.db" }, { store_mod.parse_url("/a/b.db") })
  end)
end)

describe("nv.store.sqlite", function()
  it("opens, queries with parameters, and closes idempotently", function()
    local db = assert(sqlite.open(":memory:"))
    assert.equal(0, db:exec("CREATE TABLE t (a, b)"))
    assert.equal(1, db:exec("INSERT INTO t VALUES (?, ?)", 1, "x"))
    assert.equal(1, db:exec("INSERT INTO t VALUES (?, ?)", 2.5, nil))
    local rows, cols = db:query("SELECT a, b FROM t ORDER BY a")
    assert.same({ "a", "b" }, cols)
    assert.same({ { a = 1, b = "x" }, { a = 2.5 } }, rows)
    assert.is_true(db:close())
    assert.is_true(db:close())
    assert.has_error(function() db:exec("SELECT 1") end, "attempt to use a closed database")
  end)

  it("closes on scope exit", function()
    local outer
    do
      local db <close> = assert(sqlite.open(":memory:"))
      outer = db
    end
    assert.equal("nv.sqlite (closed)", tostring(outer))
  end)

  it("returns nil, message, code for SQL errors and raises for misuse", function()
    local db = assert(sqlite.open(":memory:"))
    local ok, err, kind, code = db:exec("SELECT * FROM missing")
    assert.is_nil(ok)
    assert.equal("sqlite: prepare: no such table: missing", err)
    assert.equal("sql", kind)
    assert.equal(1, code) -- SQLITE_ERROR
    assert.has_error(function() db:exec("SELECT ?", 1, 2) end, "statement has 1 parameter(s), 2 given")
    assert.has_error(function() db:exec("SELECT ?", {}) end, "parameter 1: cannot bind a table")
    assert.has_error(function() db:exec("SELECT 1; SELECT 2") end,
      "exec/query take one statement; use db:script for several")
    db:close()
  end)

  it("reports an unopenable file naming it", function()
    local db, err = sqlite.open("/nonexistent-dir/x.db", { schema = "_executor_metadata" })
    assert.is_nil(db)
    assert.equal("sqlite: cannot open /nonexistent-dir/x.db: unable to open database: /nonexistent-dir/x.db", err)
  end)
end)
