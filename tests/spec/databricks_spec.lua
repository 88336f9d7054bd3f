-- Databricks support against tests/servers/databricks_emulator.py, a local
-- EMULATOR of the SQL Statement Execution and Unity Catalog endpoints
-- backed by SQLite (no Databricks is reachable from the test machines):
-- the statement client (nv.databricks), the store dialect
-- (nv.store.databricks) in process and through `nvlua run`, and the Unity
-- Catalog extractor (nv.unitycatalog).
local H = require "helper"
local json = require "nv.json"
local http = require "nv.http"
local dbx = require "nv.databricks"

local TOKEN = "dapi" .. require("nv.sys").random_hex(16)
local WAREHOUSE = "emu0123abcd"
local HTTP_PATH = "/sql/1.0/warehouses/" .. WAREHOUSE

local function sleep(s) os.execute("sleep " .. s) end

-- Starts the emulator in dir; returns {url, port, config(t), requests(), stop()}.
local function start_emulator(dir)
  local port_file, pidf = dir .. "/port", dir .. "/emulator.pid"
  assert(os.execute(string.format(
    "python3 %s --port-file %s --token %s --warehouse-id %s --data-dir %s >%s 2>&1 & echo $! >%s",
    H.q(H.root .. "/tests/servers/databricks_emulator.py"), H.q(port_file), H.q(TOKEN), H.q(WAREHOUSE),
    H.q(dir .. "/data"), H.q(dir .. "/emulator.out"), H.q(pidf))))
  local port
  for _ = 1, 100 do
    port = tonumber(H.read(port_file) or "")
    if port then break end
    sleep(0.05)
  end
  local pid = assert(tonumber(H.read(pidf)), "emulator pid")
  assert(port, "emulator did not start: " .. tostring(H.read(dir .. "/emulator.out")))
  local e = { port = port, url = "http://127.0.0.1:" .. port, dir = dir }
  function e.config(t) assert(http.post_json(e.url .. "/_emulator/config", t)) end
  function e.reset()
    e.config({ pending_polls = 0, chunk_rows = 1000, page_size = 100, empty_pages = false, external_links = false,
               fail_status = json.null, clear_requests = true })
  end
  function e.requests(path)
    local r = assert(http.get(e.url .. "/_emulator/requests"))
    local out = {}
    for _, q in ipairs(assert(json.decode(r.body))) do
      if not path or q.path == path then out[#out + 1] = q end
    end
    return out
  end
  function e.stop() os.execute("kill " .. pid .. " 2>/dev/null") end
  return e
end

local function client(emu, extra)
  local o = { host = emu.url, http_path = HTTP_PATH, token = TOKEN, poll_base = 0.01, poll_max = 0.05 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return assert(dbx.connect(o))
end

local function cfg_for(emu, extra)
  local c = { server_hostname = emu.url, http_path = HTTP_PATH, access_token = TOKEN }
  for k, v in pairs(extra or {}) do c[k] = v end
  return c
end

local function quiet_logger()
  local l = { lines = {} }
  local function add(self, level, fmt, ...) self.lines[#self.lines + 1] = level .. " " .. string.format(fmt, ...) end
  function l:info(...) add(self, "INFO", ...) end
  function l:warning(...) add(self, "WARNING", ...) end
  function l:error(...) add(self, "ERROR", ...) end
  function l:debug(...) end
  return l
end

describe("Databricks emulator", function()
  local dir, emu
  setup(function()
    dir = H.tmpdir()
    emu = start_emulator(dir)
  end)
  teardown(function()
    if emu then emu.stop() end
    require("nv.store.databricks").configure(nil)
    H.rmdir(dir)
  end)
  before_each(function() emu.reset() end)

  describe("statement client", function()
    setup(function()
      local c = client(emu)
      assert(c:exec("CREATE SCHEMA IF NOT EXISTS hive_metastore.client_t"))
      assert(c:exec("CREATE TABLE IF NOT EXISTS hive_metastore.client_t.vals (id BIGINT NOT NULL, name STRING,"
        .. " ok BOOLEAN, score DOUBLE, seen TIMESTAMP, small INT) USING DELTA"))
    end)

    it("sends ? markers as named parameters :p1.. with types, NULL inline, ? in quotes untouched (emulator)", function()
      local c = client(emu)
      assert(c:exec("INSERT INTO `hive_metastore`.`client_t`.`vals` (id, name, ok, score, seen, small)"
        .. " VALUES (?, ?, ?, ?, ?, length('a?b'))", 7, "it's?", true, 2.5, nil))
      local reqs = emu.requests("/api/2.0/sql/statements")
      local body = reqs[#reqs].body
      assert.equal(WAREHOUSE, body.warehouse_id)
      assert.equal("INSERT INTO `hive_metastore`.`client_t`.`vals` (id, name, ok, score, seen, small)"
        .. " VALUES (:p1, :p2, :p3, :p4, NULL, length('a?b'))", body.statement)
      assert.same({ { name = "p1", value = "7", type = "BIGINT" }, { name = "p2", value = "it's?", type = "STRING" },
                    { name = "p3", value = "true", type = "BOOLEAN" }, { name = "p4", value = "2.5", type = "DOUBLE" } },
        body.parameters)
      assert.equal("INLINE", body.disposition)
      assert.equal("JSON_ARRAY", body.format)
      assert.equal("CONTINUE", body.on_wait_timeout)
      assert.has_error(function() c:exec("SELECT ?", 1, 2) end,
        "nv.databricks: the statement has 1 parameter markers but 2 values were given")
    end)

    it("decodes rows with the manifest schema into typed Lua values (emulator)", function()
      local c = client(emu)
      assert(c:execute("INSERT INTO hive_metastore.client_t.vals (id, name, ok, score, seen, small) VALUES (?, ?, ?, ?, ?, ?)",
        { n = 6, 8, "eight", false, 0.125, "2026-01-02 03:04:05.678", 3, types = { [5] = "TIMESTAMP" } }))
      local res = assert(c:execute("SELECT id, name, ok, score, seen, small FROM hive_metastore.client_t.vals WHERE id = ?",
        { 8 }))
      assert.equal(1, res.row_count)
      local names = {}
      for i, col in ipairs(res.columns) do names[i] = col.name .. ":" .. col.type_name end
      assert.same({ "id:LONG", "name:STRING", "ok:BOOLEAN", "score:DOUBLE", "seen:TIMESTAMP", "small:INT" }, names)
      local r = res.rows[1]
      assert.equal(8, r.id)
      assert.equal("integer", math.type(r.id))
      assert.equal("eight", r.name)
      assert.is_false(r.ok)
      assert.equal(0.125, r.score)
      assert.equal("2026-01-02 03:04:05.678", r.seen)
      assert.equal("integer", math.type(r.small))
      local cnt = assert(c:query("SELECT COUNT(*) AS n FROM hive_metastore.client_t.vals WHERE name IS NULL"))
      assert.equal("integer", math.type(cnt[1].n))
    end)

    it("polls PENDING/RUNNING statements with backoff until SUCCEEDED (emulator)", function()
      emu.config({ pending_polls = 4 })
      local delays = {}
      local orig = dbx.sleep
      dbx.sleep = function(s) delays[#delays + 1] = s end
      local c = client(emu, { poll_base = 0.1, poll_max = 0.3 })
      local ok, res = pcall(c.execute, c, "SELECT 41 + ? AS answer", { 1 })
      dbx.sleep = orig
      assert.is_true(ok, res)
      assert.equal(42, res.rows[1].answer)
      assert.equal(4, res.polls)
      assert.same({ 0.1, 0.2, 0.3, 0.3 }, delays)
      local gets = 0
      for _, q in ipairs(emu.requests()) do
        if q.method == "GET" and q.path == "/api/2.0/sql/statements/" .. res.statement_id then gets = gets + 1 end
      end
      assert.equal(4, gets)
    end)

    it("cancels a statement that outlives the timeout and says so (emulator)", function()
      emu.config({ pending_polls = 100000 })
      local c = client(emu, { timeout = 0.2 })
      local res, err, code = c:execute("SELECT 1 AS x")
      assert.is_nil(res)
      assert.equal("timeout", code)
      assert.matches("^Databricks SQL statement still [A-Z]+ after 0 s; canceled %[SELECT 1 AS x%]$", err)
      local cancels = 0
      for _, q in ipairs(emu.requests()) do
        if q.path:match("/cancel$") then cancels = cancels + 1 end
      end
      assert.equal(1, cancels)
    end)

    it("returns FAILED statements as nil, message with the SQLSTATE (emulator)", function()
      local c = client(emu)
      local rows, err, code, state = c:query("SELECT * FROM hive_metastore.client_t.missing")
      assert.is_nil(rows)
      assert.equal("sql", code)
      assert.equal("42P01", state) -- the SQLSTATE is the native code
      assert.matches("^Databricks SQL statement failed: %[TABLE_OR_VIEW_NOT_FOUND%] .* SQLSTATE: 42P01 %[SELECT %* FROM hive_metastore.client_t.missing%]$", err)
      local _, err2 = c:exec("INSERT INTO hive_metastore.client_t.vals (name) VALUES (?)", "no id")
      assert.matches("DELTA_NOT_NULL_CONSTRAINT_VIOLATED", err2)
      assert.matches("SQLSTATE: 23502", err2)
    end)

    it("reports a rejected token (HTTP 401) without the token (emulator)", function()
      local wrong = "dapiWRONG" .. require("nv.sys").random_hex(8)
      local c = assert(dbx.connect({ host = emu.url, http_path = HTTP_PATH, token = wrong }))
      local rows, err, code, status = c:query("SELECT 1")
      assert.is_nil(rows)
      assert.equal("auth", code)
      assert.equal(401, status) -- the HTTP status is the native code
      assert.equal("Databricks rejected the access token (HTTP 401 on POST /api/2.0/sql/statements):"
        .. " UNAUTHENTICATED: Credential was not sent or was of an unsupported type for this API. [SELECT 1]", err)
      assert.is_nil(err:find(wrong, 1, true))
      assert.is_nil(err:find(TOKEN, 1, true))
    end)

    it("follows result chunks and refuses external links clearly (emulator)", function()
      local c = client(emu)
      emu.config({ chunk_rows = 2 })
      for i = 100, 104 do
        assert(c:exec("INSERT INTO hive_metastore.client_t.vals (id, name) VALUES (?, ?)", i, "chunk" .. i))
      end
      local rows = assert(c:query("SELECT id FROM hive_metastore.client_t.vals WHERE name LIKE 'chunk%' ORDER BY id"))
      assert.equal(5, #rows)
      assert.equal(104, rows[5].id)
      local chunk_gets = 0
      for _, q in ipairs(emu.requests()) do
        if q.method == "GET" and q.path:match("/result/chunks/%d+$") then chunk_gets = chunk_gets + 1 end
      end
      assert.equal(2, chunk_gets) -- chunks 1 and 2; chunk 0 came with the statement
      emu.config({ external_links = true })
      local none, err, code = c:query("SELECT 1 AS x")
      assert.is_nil(none)
      assert.equal("unsupported", code)
      assert.matches("external links %(EXTERNAL_LINKS disposition%), which nvlua does not fetch", err)
    end)

    it("validates connection settings before any request (emulator not contacted)", function()
      local n0 = #emu.requests()
      local _, err, code = dbx.connect({ host = "http://db.example.com", http_path = HTTP_PATH, token = "x" })
      assert.equal("usage", code)
      assert.equal("Databricks host http://db.example.com: plain http:// is only allowed for loopback hosts"
        .. " (or with databricks.insecure_http)", err)
      _, err = dbx.connect({ host = emu.url, http_path = "/wrong", token = "x" })
      assert.equal("Databricks HTTP path '/wrong' is not a SQL warehouse path (/sql/1.0/warehouses/<id>)", err)
      _, err = dbx.connect({ host = emu.url, http_path = HTTP_PATH })
      assert.equal("Databricks access token is not set (DATABRICKS_ACCESS_TOKEN)", err)
      assert.equal("https://adb-1.azuredatabricks.net", dbx.base_url("adb-1.azuredatabricks.net"))
      assert.equal(n0, #emu.requests())
    end)
  end)

  describe("store", function()
    local store = require "nv.store"
    local dialect = require "nv.store.databricks"

    it("opens, validates, creates and migrates hive_metastore._executor_metadata (emulator)", function()
      dialect.configure(cfg_for(emu))
      local st = assert(store.open("databricks"))
      assert.equal("databricks", st.kind)
      assert.equal("`hive_metastore`.`_executor_metadata`.`sources`", st:qualified("sources"))
      local before = assert(st:validate())
      assert.same({ "sources", "tables", "columns", "executor_runs", "logs", "file_profiles" }, before.missing)
      local done = assert(st:ensure())
      assert.same({ "sources", "tables", "columns", "executor_runs", "logs", "file_profiles" }, done.created)
      local creates = {}
      for _, q in ipairs(emu.requests("/api/2.0/sql/statements")) do
        if q.body.statement:match("^CREATE TABLE") then creates[#creates + 1] = q.body.statement end
      end
      assert.equal(6, #creates)
      assert.matches("^CREATE TABLE IF NOT EXISTS `hive_metastore`.`_executor_metadata`.`sources` %(\n", creates[1])
      assert.matches("%) USING DELTA$", creates[1])
      assert.is_nil(creates[1]:find("PRIMARY KEY", 1, true))
      assert.matches("`total_size_bytes` BIGINT", creates[1])
      assert.matches("`extraction_timestamp` TIMESTAMP", creates[1])
      local again = assert(st:validate())
      assert.same({}, again.missing)
      assert.same({ "sources", "tables", "columns", "executor_runs", "logs", "file_profiles" }, again.found)
      st:close()
    end)

    it("adds missing columns to an older table and keeps its rows (emulator)", function()
      dialect.configure(cfg_for(emu, { catalog = "migrate_cat" }))
      local c = client(emu)
      assert(c:exec("CREATE SCHEMA IF NOT EXISTS migrate_cat._executor_metadata"))
      assert(c:exec("CREATE TABLE migrate_cat._executor_metadata.logs (run_id STRING NOT NULL, seq INT NOT NULL,"
        .. " log_message STRING) USING DELTA"))
      assert(c:exec("INSERT INTO migrate_cat._executor_metadata.logs (run_id, seq, log_message) VALUES ('old', 1, 'kept')"))
      local st = assert(store.open("databricks"))
      assert.equal("`migrate_cat`.`_executor_metadata`.`logs`", st:qualified("logs"))
      local before = assert(st:validate())
      assert.same({ "workflow_id", "source_id", "log_timestamp", "log_level", "module" }, before.missing_columns.logs)
      local done = assert(st:ensure())
      assert.same({ "logs.workflow_id", "logs.source_id", "logs.log_timestamp", "logs.log_level", "logs.module" },
        done.columns_added)
      local after = assert(st:validate())
      assert.is_nil(next(after.missing_columns))
      local rows = assert(st:query("SELECT log_message FROM migrate_cat._executor_metadata.logs WHERE run_id = ?", "old"))
      assert.same({ { log_message = "kept" } }, rows)
      st:close()
    end)

    it("writes sources/tables/columns/logs/runs and answers spec 003's queries (emulator)", function()
      dialect.configure(cfg_for(emu))
      local st = assert(store.open("databricks"))
      assert(st:ensure())
      local ts = store.timestamp(1767225600.25)
      assert(st:upsert("executor_runs", { run_id = "run1", workflow_id = "workflow_123", status = "Running",
                                          started_at = ts }))
      assert(st:upsert("executor_runs", { run_id = "run1", workflow_id = "workflow_123", status = "Success",
                                          started_at = ts, duration_ms = 1234 }))
      local function source(sid, ncols)
        local cols = {}
        for i = 1, ncols do
          cols[i] = { column_name = "c" .. i, position = i - 1, data_type = "integer", is_nullable = i % 2 == 0,
                      sample_values = { "1", "2" }, mean_value = i + 0.5 }
        end
        return { source = { run_id = "run1", workflow_id = "workflow_123", source_id = sid, source_path = "/data/" .. sid,
                            source_type = "csv", extraction_timestamp = ts, files_found = 1, total_size_bytes = 10 },
                 tables = { { table_id = "t_" .. sid, table_name = sid .. ".csv", row_count = 3, column_count = ncols,
                              extracted_at = ts, columns = cols } } }
      end
      local n0 = #emu.requests("/api/2.0/sql/statements")
      assert(st:write_source(source("source_1", 40)))
      local sent = #emu.requests("/api/2.0/sql/statements") - n0
      assert.is_true(sent <= 6, "write_source took " .. sent .. " statements") -- 3 deletes + 3 batched inserts
      assert(st:write_source(source("source_2", 3)))
      assert(st:write_source(source("source_1", 4))) -- replaces source_1's rows
      assert.equal(2, assert(st:write_logs({ run_id = "run1", workflow_id = "workflow_123" },
        { { time = 1767225600, level = "INFO", module = "m", message = "one" },
          { time = 1767225601, level = "ERROR", module = "m", message = "two" } })))

      -- spec 003, "Get All Sources for a Workflow"
      local rows = assert(st:query([[
SELECT s.workflow_id, s.source_id, s.source_path, s.source_type, s.extraction_timestamp, s.files_found,
    COUNT(DISTINCT t.table_name) as table_count, COUNT(c.column_name) as total_columns
FROM hive_metastore._executor_metadata.sources s
LEFT JOIN hive_metastore._executor_metadata.tables t
    ON s.workflow_id = t.workflow_id AND s.source_id = t.source_id
LEFT JOIN hive_metastore._executor_metadata.columns c
    ON t.workflow_id = c.workflow_id AND t.source_id = c.source_id AND t.table_name = c.table_name
WHERE s.workflow_id = 'workflow_123'
GROUP BY s.workflow_id, s.source_id, s.source_path, s.source_type, s.extraction_timestamp, s.files_found
ORDER BY s.source_id]]))
      assert.equal(2, #rows)
      assert.same({ "source_1", 1, 4 }, { rows[1].source_id, rows[1].table_count, rows[1].total_columns })
      assert.same({ "source_2", 1, 3 }, { rows[2].source_id, rows[2].table_count, rows[2].total_columns })
      assert.equal("2026-01-01 00:00:00.250", rows[1].extraction_timestamp)
      -- "Get Specific Source Data"
      rows = assert(st:query([[
SELECT c.workflow_id, c.source_id, c.table_name, c.column_name, c.data_type, c.position, c.is_nullable
FROM hive_metastore._executor_metadata.columns c
WHERE c.workflow_id = 'workflow_123' AND c.source_id = 'source_1'
ORDER BY c.table_name, c.position]]))
      assert.equal(4, #rows)
      assert.same({ "c1", 0, false }, { rows[1].column_name, rows[1].position, rows[1].is_nullable })
      assert.is_true(rows[2].is_nullable)
      -- "Compare Sources in a Workflow"
      rows = assert(st:query([[
SELECT source_id, COUNT(DISTINCT table_name) as table_count, COUNT(column_name) as column_count,
    SUM(CASE WHEN is_nullable THEN 1 ELSE 0 END) as nullable_columns
FROM hive_metastore._executor_metadata.columns
WHERE workflow_id = 'workflow_123'
GROUP BY source_id
ORDER BY source_id]]))
      assert.same({ { source_id = "source_1", table_count = 1, column_count = 4, nullable_columns = 2 },
                    { source_id = "source_2", table_count = 1, column_count = 3, nullable_columns = 1 } }, rows)
      -- runs and logs
      rows = assert(st:query("SELECT run_id, status, duration_ms FROM hive_metastore._executor_metadata.executor_runs"
        .. " WHERE run_id = 'run1'"))
      assert.same({ { run_id = "run1", status = "Success", duration_ms = 1234 } }, rows)
      rows = assert(st:query("SELECT seq, log_level, log_message, log_timestamp FROM hive_metastore._executor_metadata.logs"
        .. " WHERE run_id = 'run1' ORDER BY seq"))
      assert.same({ 1, "INFO", "one", "2026-01-01 00:00:00.000" },
        { rows[1].seq, rows[1].log_level, rows[1].log_message, rows[1].log_timestamp })
      -- timestamps travel as TIMESTAMP parameters
      local typed = false
      for _, q in ipairs(emu.requests("/api/2.0/sql/statements")) do
        for _, p in ipairs(q.body.parameters or {}) do
          if p.value == ts and p.type == "TIMESTAMP" then typed = true end
        end
      end
      assert.is_true(typed)
      st:close()
    end)

    it("sends nothing when a transaction raises, and reports a failing COMMIT (emulator)", function()
      dialect.configure(cfg_for(emu))
      local st = assert(store.open("databricks"))
      assert(st:ensure())
      local n0 = #emu.requests("/api/2.0/sql/statements")
      local ok, err = st:transaction(function()
        assert(st:insert("logs", { run_id = "tx", seq = 1, log_message = "never" }))
        error("boom")
      end)
      assert.is_nil(ok)
      assert.matches("boom", err)
      assert.equal(n0, #emu.requests("/api/2.0/sql/statements"))
      ok, err = st:transaction(function()
        assert(st:insert("logs", { run_id = "tx", seq = 2, log_message = "x" }))
        assert(st.db:exec("INSERT INTO `hive_metastore`.`_executor_metadata`.`nope` (`a`) VALUES (?)", 1))
      end)
      assert.is_nil(ok)
      assert.matches("TABLE_OR_VIEW_NOT_FOUND", err)
      local db = st.db
      st:close()
      assert.has_error(function() db:query("SELECT 1") end, "attempt to use a closed Databricks store")
    end)

    it("fails to open with a clear message on a wrong token, without the token (emulator)", function()
      local wrong = "dapiBAD" .. require("nv.sys").random_hex(8)
      dialect.configure(cfg_for(emu, { access_token = wrong }))
      local st, err = store.open("databricks")
      assert.is_nil(st)
      assert.matches("^cannot prepare schema hive_metastore%._executor_metadata: Databricks rejected the access token %(HTTP 401", err)
      assert.is_nil(err:find(wrong, 1, true))
    end)
  end)

  describe("nvlua run", function()
    local function env(extra)
      local e = { DATABRICKS_SERVER_HOSTNAME = emu.url, DATABRICKS_HTTP_PATH = HTTP_PATH,
                  DATABRICKS_ACCESS_TOKEN = TOKEN, NVLUA_DATABRICKS_CATALOG = "cli_cat" }
      for k, v in pairs(extra or {}) do e[k] = v end
      return e
    end

    local function grep_token(path)
      local p = io.popen("grep -rl " .. H.q(TOKEN) .. " " .. H.q(path) .. " 2>/dev/null")
      local out = p:read("a")
      p:close()
      return out
    end

    it("schema_validation --store databricks creates the tables on the emulator; the token leaks nowhere", function()
      local work = dir .. "/cli"
      os.execute("mkdir -p " .. H.q(work))
      local code, out, errout = H.run({ "run", "schema_validation", "--store", "databricks", "--log-dir", work .. "/logs" },
        { env = env(), cwd = work })
      assert.equal(0, code, errout)
      local res = assert(json.decode(out), out)
      assert.equal("created", res.validation_status) -- a fresh store (issue 11: was "valid")
      assert.equal("databricks", res.store)
      assert.same({ "sources", "tables", "columns", "executor_runs", "logs", "file_profiles" }, res.tables_created)
      -- the run is recorded in the emulator's store
      local c = client(emu)
      local runs = assert(c:query("SELECT run_id, run_mode, status FROM cli_cat._executor_metadata.executor_runs"))
      assert.equal(1, #runs)
      assert.same({ res.run_id, "schema_validation", "Success" }, { runs[1].run_id, runs[1].run_mode, runs[1].status })
      local logs = assert(c:query("SELECT COUNT(*) AS n FROM cli_cat._executor_metadata.logs WHERE run_id = ?", res.run_id))
      assert.is_true(logs[1].n > 0)
      -- second run: everything found, nothing created
      code, out, errout = H.run({ "run", "schema_validation", "--store", "databricks", "--log-dir", work .. "/logs" },
        { env = env(), cwd = work })
      assert.equal(0, code, errout)
      res = assert(json.decode(out))
      assert.equal("valid", res.validation_status)
      assert.same({}, res.tables_created)
      assert.same({ "sources", "tables", "columns", "executor_runs", "logs", "file_profiles" }, res.tables_found)
      assert.is_nil(out:find(TOKEN, 1, true))
      assert.is_nil(errout:find(TOKEN, 1, true))
      assert.equal("", grep_token(work))
      assert.equal("", grep_token(dir .. "/data")) -- the emulator's SQLite files (the store)
    end)

    it("metadata_extraction --write-to-db --store databricks writes a source to the emulator (debug log on)", function()
      local work = dir .. "/cli2"
      os.execute("mkdir -p " .. H.q(work .. "/data"))
      H.write(work .. "/data/orders.csv", "id,amount,placed\n1,9.5,2024-01-01\n2,3.25,2024-01-02\n")
      local code, out, errout = H.run({ "run", "metadata_extraction", work .. "/data", "csv", "tenant1", "--write-to-db",
        "--store", "databricks", "--source-id", "src_cli", "--log-dir", work .. "/logs", "--log-level", "DEBUG" },
        { env = env(), cwd = work })
      assert.equal(0, code, errout)
      local res = assert(json.decode(out), out)
      assert.is_true(res.success)
      local c = client(emu)
      local rows = assert(c:query("SELECT t.table_name, t.row_count, c.column_name, c.data_type"
        .. " FROM cli_cat._executor_metadata.tables t JOIN cli_cat._executor_metadata.columns c"
        .. " ON t.source_id = c.source_id AND t.table_id = c.table_id AND t.run_id = c.run_id"
        .. " WHERE t.source_id = 'src_cli' ORDER BY c.position"))
      assert.equal(3, #rows)
      assert.same({ "orders.csv", 2, "id", "integer" }, { rows[1].table_name, rows[1].row_count, rows[1].column_name,
                                                           rows[1].data_type })
      assert.is_nil(out:find(TOKEN, 1, true))
      assert.is_nil(errout:find(TOKEN, 1, true))
      assert.equal("", grep_token(work))
      assert.equal("", grep_token(dir .. "/data"))
    end)

    it("fails the run with a usable message when the emulator rejects the token", function()
      local work = dir .. "/cli3"
      os.execute("mkdir -p " .. H.q(work))
      local wrong = "dapiNOPE" .. require("nv.sys").random_hex(8)
      local code, out, errout = H.run({ "run", "schema_validation", "--store", "databricks", "--log-dir", work .. "/logs" },
        { env = env({ DATABRICKS_ACCESS_TOKEN = wrong }), cwd = work })
      assert.equal(1, code)
      assert.matches("Databricks rejected the access token %(HTTP 401", out .. errout)
      assert.is_nil((out .. errout):find(wrong, 1, true))
      local p = io.popen("grep -rl " .. H.q(wrong) .. " " .. H.q(work) .. " 2>/dev/null")
      assert.equal("", p:read("a"))
      p:close()
    end)
  end)

  describe("Unity Catalog extraction", function()
    local uc = require "nv.unitycatalog"
    setup(function()
      local c = client(emu)
      assert(c:exec("CREATE CATALOG IF NOT EXISTS main COMMENT 'the main catalog'"))
      assert(c:exec("CREATE SCHEMA IF NOT EXISTS main.sales COMMENT 'sales data'"))
      assert(c:exec("CREATE SCHEMA IF NOT EXISTS main.hr"))
      assert(c:exec("CREATE TABLE main.sales.orders (id BIGINT NOT NULL COMMENT 'order id', amount DECIMAL(10,2),"
        .. " placed_at TIMESTAMP, note STRING) USING DELTA COMMENT 'Orders'"))
      for _, name in ipairs({ "customers", "invoices", "returns", "shipments" }) do
        assert(c:exec("CREATE TABLE main.sales." .. name .. " (id BIGINT NOT NULL, name STRING) USING DELTA"))
      end
      assert(c:exec("CREATE TABLE main.hr.people (person_id INT NOT NULL, active BOOLEAN) USING DELTA"))
    end)

    local function ctx()
      return { config = { databricks = { server_hostname = emu.url, access_token = TOKEN } }, log = quiet_logger() }
    end
    local function new_model(sid, path)
      return { source_id = sid, source_path = path, source_type = "auto", tables = json.array(), errors = json.array(),
               files_found = 0, total_size_bytes = 0, extraction_timestamp = os.time() }
    end

    it("lists catalogs, schemas, tables and columns through every page (emulator, page size 2, empty pages)", function()
      emu.config({ page_size = 2, empty_pages = true })
      local m = uc.source(ctx(), { source_id = "uc1", data_source_path = "uc://main" }, {}, new_model("uc1", "uc://main"))
      assert.equal("success", m.status, table.concat(m.errors, "\n"))
      assert.equal("unity_catalog", m.source_type)
      local names = {}
      for _, t in ipairs(m.tables) do names[#names + 1] = t.key end
      assert.same({ "main.hr.people", "main.sales.customers", "main.sales.invoices", "main.sales.orders",
                    "main.sales.returns", "main.sales.shipments" }, names)
      local orders = m.tables[4]
      assert.equal("Orders", orders.comment)
      assert.equal("MANAGED", orders.table_type)
      assert.equal("delta", orders.file_type)
      assert.equal("main", orders.catalog_name)
      assert.equal("sales", orders.schema_name)
      local cols = {}
      for _, c in ipairs(orders.columns) do
        cols[#cols + 1] = { c.name, c.position, c.native_type, c.inferred_type, c.declared_nullable, c.comment }
      end
      assert.same({ { "id", 0, "bigint", "integer", false, "order id" },
                    { "amount", 1, "decimal(10,2)", "decimal", true },
                    { "placed_at", 2, "timestamp", "timestamp", true },
                    { "note", 3, "string", "string", true } }, cols)
      assert.same({ { name = "hr" }, { name = "sales", comment = "sales data" } },
        (function()
          local s = {}
          for i, x in ipairs(m.schemas) do s[i] = { name = x.name, comment = x.comment } end
          return s
        end)())
      -- every page was read: tables of sales came in pages of 2 with empty pages between
      local table_reqs, tokens = 0, 0
      for _, q in ipairs(emu.requests("/api/2.1/unity-catalog/tables")) do
        table_reqs = table_reqs + 1
        if q.query.page_token then tokens = tokens + 1 end
        assert.same({ "0" }, q.query.max_results)
      end
      -- hr: one page; sales (5 tables): [2], [] , [2], [], [1] -> 5 pages, 4 with a token
      assert.equal(6, table_reqs)
      assert.equal(4, tokens)
      -- the model goes into the store record as any database source
      local rec = require("nv.model").store_record({ run_id = "r", workflow_id = "w", tenant_id = "t" }, m)
      assert.equal(6, #rec.tables)
      assert.equal("sales", rec.tables[4].schema_name)
      assert.equal(4, #rec.tables[4].columns)
      assert.equal("bigint", rec.tables[4].columns[1].native_type)
    end)

    it("restricts to one schema with uc://catalog.schema and lists catalogs with uc:// (emulator)", function()
      local m = uc.source(ctx(), { source_id = "uc2", data_source_path = "uc://main.hr" }, {}, new_model("uc2"))
      assert.equal("success", m.status)
      assert.equal(1, #m.tables)
      assert.equal("people", m.tables[1].name)
      assert.equal("boolean", m.tables[1].columns[2].inferred_type)
      emu.config({ page_size = 1 })
      local all = uc.source(ctx(), { source_id = "uc3", data_source_path = "uc://", source_type = "unity_catalog" },
        { catalogs = "main", schemas = { "sa*" }, tables = "orders,returns" }, new_model("uc3"))
      assert.equal("success", all.status, table.concat(all.errors, "\n"))
      local names = {}
      for _, t in ipairs(all.tables) do names[#names + 1] = t.key end
      assert.same({ "main.sales.orders", "main.sales.returns" }, names)
      local cat_reqs = emu.requests("/api/2.1/unity-catalog/catalogs")
      assert.is_true(#cat_reqs >= 2, "catalog pages: " .. #cat_reqs)
    end)

    it("test_connection lists the catalogs and the path's schemas; failures carry their kind (emulator)", function()
      local opts = { databricks = { server_hostname = emu.url, access_token = TOKEN } }
      local ok, info = uc.test_connection({ data_source_path = "uc://main" }, opts)
      assert.is_true(ok, info)
      assert.equal("unity_catalog", info.kind)
      assert.equal(emu.url, info.host)
      local cats = {}
      for _, c in ipairs(info.catalogs) do cats[c] = true end
      assert.is_true(cats.main, json.encode(info.catalogs))
      assert.equal(#info.catalogs, info.catalog_count)
      assert.equal("main", info.catalog)
      assert.same({ "hr", "sales" }, (function() local t = {} for i, n in ipairs(info.schemas) do t[i] = n end
        table.sort(t) return t end)())
      ok, info = uc.test_connection({ data_source_path = "uc://main.sales" }, opts)
      assert.is_true(ok, info)
      assert.equal("sales", info.schema)
      local nok, msg, code = uc.test_connection({ data_source_path = "uc://main.nosuch" }, opts)
      assert.is_nil(nok)
      assert.equal("Unity Catalog " .. emu.url .. ": schema main.nosuch does not exist (or is not visible)", msg)
      assert.equal("usage", code)
      nok, msg, code = uc.test_connection({ data_source_path = "uc://nosuch" }, opts)
      assert.is_nil(nok)
      assert.equal("Unity Catalog " .. emu.url .. "/nosuch: cannot list the schemas of catalog nosuch: Databricks GET"
        .. " /api/2.1/unity-catalog/schemas: HTTP 404: CATALOG_DOES_NOT_EXIST: Catalog 'nosuch' does not exist.", msg)
      assert.equal("connect", code)
      local wrong = "dapiTC" .. require("nv.sys").random_hex(8)
      nok, msg, code = uc.test_connection({ data_source_path = "uc://" },
        { databricks = { server_hostname = emu.url, access_token = wrong } })
      assert.is_nil(nok)
      assert.equal("auth", code)
      assert.matches("^Unity Catalog " .. emu.url:gsub("%p", "%%%0") .. ": cannot list catalogs: Databricks rejected"
        .. " the access token %(HTTP 401 on GET /api/2%.1/unity%-catalog/catalogs%)", msg)
      assert.is_nil(msg:find(wrong, 1, true))
      nok, msg, code = uc.test_connection({ data_source_path = "uc://main" }, { databricks = { server_hostname = emu.url } })
      assert.is_nil(nok)
      assert.equal("usage", code)
      assert.equal("source uc://main: Databricks access token is not set (DATABRICKS_ACCESS_TOKEN)", msg)
      local reqs = emu.requests()
      for _, q in ipairs(reqs) do
        assert.truthy(q.path:match("^/api/2%.1/unity%-catalog/"), q.path) -- the REST API only, no warehouse
      end
    end)

    it("nvlua run test_connection uc://main exits 0 with what it reached; the token leaks nowhere (emulator)", function()
      local work = H.tmpdir()
      local env = { DATABRICKS_SERVER_HOSTNAME = emu.url, DATABRICKS_ACCESS_TOKEN = TOKEN }
      local code, out, err = H.run({ "run", "test_connection", "uc://main.hr" }, { cwd = work, env = env })
      assert.equal(0, code, err)
      local r = H.one_json(out)
      assert.equal("unity_catalog", r.connector)
      assert.equal("success", r.connection_status)
      assert.equal("hr", r.connection_info.schema)
      assert.is_nil((out .. err):find(TOKEN, 1, true))
      env.DATABRICKS_ACCESS_TOKEN = "dapiWRONG" .. require("nv.sys").random_hex(8)
      code, out = H.run({ "run", "test_connection", "uc://main" }, { cwd = work, env = env })
      assert.equal(1, code)
      r = H.one_json(out)
      assert.equal("auth", r.error_code)
      assert.matches("Databricks rejected the access token", r.error)
      assert.is_nil(out:find(env.DATABRICKS_ACCESS_TOKEN, 1, true))
      H.rmdir(work)
    end)

    it("claims only Unity Catalog sources (decided without the emulator)", function()
      local cases = {
        { "uc://main", nil, true }, { "databricks://adb-1.net/main.sales", nil, true },
        { "main.sales", "unity_catalog", true }, { "main", "databricks", true },
        { "/dbfs/mnt/data", "databricks", false }, { "s3://bucket/x", "databricks", false },
        { "examples/data", nil, false }, { "postgresql://h/db", nil, false },
      }
      for _, c in ipairs(cases) do
        assert.equal(c[3], uc.handles({ data_source_path = c[1], source_type = c[2] }), c[1])
      end
      local _, err = uc.parse_path("uc://a.b.c")
      assert.equal("Unity Catalog path 'uc://a.b.c' must be uc://<catalog>[.<schema>]", err)
    end)

    it("fails the source with the API's message, never the token (emulator)", function()
      local m = uc.source(ctx(), { source_id = "uc4", data_source_path = "uc://nosuch" }, {}, new_model("uc4"))
      assert.equal("failed", m.status)
      assert.matches("catalog nosuch: cannot list schemas: Databricks GET /api/2.1/unity%-catalog/schemas: HTTP 404:"
        .. " CATALOG_DOES_NOT_EXIST: Catalog 'nosuch' does not exist%.", m.errors[1])
      local wrong = "dapiUC" .. require("nv.sys").random_hex(8)
      local c = ctx()
      c.config.databricks.access_token = wrong
      local m2 = uc.source(c, { source_id = "uc5", data_source_path = "uc://main" }, {}, new_model("uc5"))
      assert.equal("failed", m2.status)
      assert.matches("Databricks rejected the access token %(HTTP 401 on GET /api/2.1/unity%-catalog/schemas%)",
        m2.errors[1])
      assert.is_nil(json.encode(m2):find(wrong, 1, true))
      assert.is_nil(m2.connection_info:find(wrong, 1, true))
    end)
  end)
end)
