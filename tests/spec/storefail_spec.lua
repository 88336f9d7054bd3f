-- Honest failure of the store (issue 12): a store that cannot take a write
-- -- unreachable, read-only, over a file-size limit, stopped or cut mid-write
-- -- fails a --write-to-db job (exit 1, success false, written_to_db false,
-- a failed object naming the store and the cause), and the run's
-- executor_runs row is final wherever it can be written (retried once on a
-- new connection), else the result says run_record = "not written: …".
-- The store's contents are read back with python3's sqlite3 and psql, not
-- through nv.store. The PostgreSQL cases run on a private server started
-- here (tests/servers/pg.sh in a temp dir), because one of them stops it.
local H = require "helper"
local json = require "nv.json"

local DATA = H.root .. "/examples/data"


local function decode(out, err)
  local res = json.decode(out or "")
  assert(type(res) == "table", "no JSON result; stderr: " .. tostring(err))
  return res
end

-- the common shape of a store failure: exit 1, not written, a failed
-- object whose reason matches every pattern given
local function assert_store_failure(code, res, err, ...)
  assert.equal(1, code, err)
  assert.is_false(res.success)
  assert.is_false(res.written_to_db)
  local reasons = {}
  for _, f in ipairs(res.failed_objects) do reasons[#reasons + 1] = tostring(f.reason) end
  local all = table.concat(reasons, "\n")
  for _, pat in ipairs({ ... }) do
    assert.truthy(all:find(pat, 1, true), "no failed object names '" .. pat .. "': " .. all)
    assert.truthy(tostring(res.error):find(pat, 1, true), "error does not name '" .. pat .. "': " .. tostring(res.error))
  end
end

local function extraction(store, extra)
  local args = { "run", "metadata_extraction", DATA, "auto", "t1", "--write-to-db", "--store", store }
  for _, a in ipairs(extra or {}) do args[#args + 1] = a end
  return args
end

describe("a SQLite store that cannot take the write", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function()
    os.execute("chmod -R u+w " .. H.q(dir))
    H.rmdir(dir)
  end)

  -- a complete store from a first run, so later runs only add rows
  local function seeded(name)
    local path = dir .. "/" .. name
    local code, _, err = H.run(extraction("sqlite:" .. path), { cwd = dir })
    assert.equal(0, code, err)
    return path
  end

  it("fails the job when the store file has mode 0444 (root included) and keeps the store unchanged", function()
    local path = seeded("ro.db")
    local before = H.sqlite_rows(path, "SELECT run_id, status FROM executor_runs ORDER BY run_id")
    assert(os.execute("chmod 0444 " .. H.q(path)))
    local code, out, err = H.run(extraction("sqlite:" .. path), { cwd = dir })
    local res = decode(out, err)
    assert_store_failure(code, res, err, "sqlite:" .. path, "attempt to write a readonly database",
      "the store file has mode 0444")
    assert.matches("^not written: sqlite:" .. path:gsub("%p", "%%%0") .. ": .*readonly database", res.run_record)
    assert.truthy(err:find("the run record was not written", 1, true), err)
    assert.same(before, H.sqlite_rows(path, "SELECT run_id, status FROM executor_runs ORDER BY run_id"))
  end)

  it("fails the job when the store's directory has no write permission", function()
    local path = seeded("sub.db")
    local sub = dir .. "/ro"
    assert(os.execute("mkdir " .. H.q(sub) .. " && mv " .. H.q(path) .. " " .. H.q(sub) .. " && chmod 0555 " .. H.q(sub)))
    local code, out, err = H.run(extraction("sqlite:" .. sub .. "/sub.db"), { cwd = dir })
    local res = decode(out, err)
    assert_store_failure(code, res, err, "sqlite:" .. sub .. "/sub.db", "its directory has mode 0555")
    assert.equal(1, #H.sqlite_rows(sub .. "/sub.db", "SELECT run_id FROM executor_runs"))
  end)

  it("still records a run that does not write metadata when the store is read-only, saying so", function()
    local path = seeded("ro2.db")
    assert(os.execute("chmod 0444 " .. H.q(path)))
    local code, out, err = H.run({ "run", "metadata_extraction", DATA, "auto", "t1", "--store", "sqlite:" .. path },
      { cwd = dir })
    assert.equal(0, code, err) -- the extraction's output is stdout; the store was not asked for
    local res = decode(out, err)
    assert.is_true(res.success)
    assert.matches("^not written: .*the store file has mode 0444", res.run_record)
  end)

  -- ulimit -f: the process ignores SIGXFSZ, so the write fails with EFBIG
  -- and the job says so (before, the signal killed it with no result)
  local function limited(kb, args)
    local cmd = {}
    for _, a in ipairs(args) do cmd[#cmd + 1] = H.q(a) end
    local errf = dir .. "/stderr.txt"
    local line = string.format("cd %s && env -i PATH=%s bash -c %s 2>%s", H.q(dir), H.q(os.getenv("PATH")),
      H.q("ulimit -f " .. kb .. "; exec " .. H.q(H.bin) .. " " .. table.concat(cmd, " ")), H.q(errf))
    local p = assert(io.popen(line)) -- stdout is a pipe: not under the limit
    local out = p:read("a")
    local _, _, code = p:close()
    return code, out, H.read(errf)
  end

  it("fails the job when a file-size limit stops the store from growing, and rolls the source back", function()
    local path = seeded("full.db")
    local size = tonumber(H.read(path) and #H.read(path))
    assert.equal(0, size % 1024)
    local code, out, err = limited(size // 1024, extraction("sqlite:" .. path))
    local res = decode(out, err)
    assert_store_failure(code, res, err, "sqlite:" .. path)
    assert.truthy(res.error:find("disk I/O error", 1, true) or res.error:find("database or disk is full", 1, true),
      res.error)
    -- one source row (the first run's): the failed write left nothing behind
    assert.same({ { n = 1 } }, H.sqlite_rows(path, "SELECT COUNT(*) AS n FROM sources"))
  end)

  it("fails the job when a file-size limit stops a new store from being created", function()
    local code, out, err = limited(1, extraction("sqlite:" .. dir .. "/new.db"))
    assert.not_equal(153, code, "killed by SIGXFSZ") -- 128 + 25
    local res = decode(out, err)
    assert_store_failure(code, res, err, "the store sqlite:" .. dir .. "/new.db is unavailable")
    assert.matches("^not written: the store sqlite:", res.run_record)
  end)
end)

describe("SIGXFSZ", function()
  -- bit 24 of /proc/<pid>/status SigIgn is SIGXFSZ (25)
  local function ignored(status_text)
    local mask = assert(status_text:match("SigIgn:%s*(%x+)"), status_text)
    return (tonumber(mask, 16) >> 24) & 1 == 1
  end

  it("is ignored by nvlua and back to the default in children it spawns", function()
    local dir = H.tmpdir()
    local code, out, err = H.run({ "-e", [[
      local f = assert(io.open("/proc/self/status")); io.write(f:read("a")); f:close()
      local proc = require "nv.proc"
      local pid = assert(proc.spawn{ argv = { "cat", "/proc/self/status" }, stdout = "]]
        .. dir .. [[/child.txt" })
      assert(proc.wait(pid) == "exited")]] })
    assert.equal(0, code, err)
    assert.is_true(ignored(out))
    assert.is_false(ignored(assert(H.read(dir .. "/child.txt"))))
    H.rmdir(dir)
  end)
end)

describe("an unreachable store", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  local function closed_port()
    -- a port nothing listens on: bind one, note it, close it
    local p = assert(io.popen("python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0));"
      .. " print(s.getsockname()[1]); s.close()'"))
    local port = p:read("l")
    p:close()
    return port
  end

  it("fails a --write-to-db job, naming the store without its password", function()
    local url = "postgresql://nv:S3cretPw@127.0.0.1:" .. closed_port() .. "/testdb"
    local code, out, err = H.run(extraction(url), { cwd = dir })
    local res = decode(out, err)
    assert_store_failure(code, res, err, "the store postgresql://nv@127.0.0.1:", "is unavailable", "Connection refused")
    assert.matches("^not written: the store postgresql://nv@127%.0%.0%.1:%d+/testdb is unavailable", res.run_record)
    assert.is_nil(out:find("S3cretPw", 1, true))
    assert.is_nil(err:find("S3cretPw", 1, true))
  end)

  it("fails a --write-to-db job even with fail_on = never", function()
    local url = "mysql://nv:pw@127.0.0.1:" .. closed_port() .. "/x"
    local code, out, err = H.run(extraction(url, { "--fail-on", "never" }), { cwd = dir })
    local res = decode(out, err)
    assert_store_failure(code, res, err, "the store mysql://nv@127.0.0.1:", "is unavailable")
  end)

  it("fails every source of a parallel run, each naming the store", function()
    local url = "postgresql://nv:pw@127.0.0.1:" .. closed_port() .. "/testdb"
    H.write(dir .. "/p.json", json.encode({ workflow_id = "wf", sources = {
      { source_id = "a", data_source_path = DATA .. "/orders.csv" },
      { source_id = "b", data_source_path = DATA .. "/customers.csv" } } }))
    local code, out, err = H.run({ "run", "metadata_extraction", "--payload", dir .. "/p.json", "--write-to-db",
                                   "--store", url, "--workers", "2" }, { cwd = dir })
    assert.equal(1, code, err)
    local res = decode(out, err)
    assert.is_false(res.success)
    local named = 0
    for _, f in ipairs(res.failed_objects) do
      if tostring(f.reason):find("the store postgresql://nv@127.0.0.1:", 1, true) then named = named + 1 end
    end
    assert.equal(2, named)
  end)
end)

-- ---- MySQL/MariaDB: a private server ------------------------------------
local function is_root()
  local p = io.popen("id -u")
  local uid = p and p:read("l")
  if p then p:close() end
  return uid == "0"
end

local function have_mariadbd()
  local ok = os.execute("PATH=$PATH:/usr/sbin command -v mariadbd >/dev/null 2>&1")
  return ok == true
end

if not (is_root() and have_mariadbd()) then
  describe("a MySQL store that fails mid-run", function()
    pending("SKIPPED: needs root and mariadbd for a private server")
  end)
else
  describe("a MySQL store that fails mid-run", function()
    local srv, url, dir
    local function sql(text)
      local p = assert(io.popen(string.format("mariadb --no-defaults -S %s -uroot -N -B -e %s 2>&1",
        H.q(srv .. "/mariadb/sock"), H.q(text))))
      local out = p:read("a")
      local ok = p:close()
      assert(ok, out)
      return out
    end
    local function start()
      local p = assert(io.popen(H.q(H.root .. "/tests/servers/mariadb.sh") .. " start " .. H.q(srv) .. " 2>/dev/null"))
      local line = p:read("a")
      p:close()
      url = assert(line:match("NVLUA_TEST_MYSQL_URL='([^']+)'"), line)
    end
    local function run_row(run_id)
      return sql("SELECT CONCAT(status, '|', COALESCE(error_message, '')) FROM _executor_metadata.executor_runs"
        .. " WHERE run_id = '" .. run_id .. "'")
    end
    -- a job that runs `hook` (Lua source, with ctx in scope) before extracting
    local function hook_job(name, hook)
      local path = dir .. "/" .. name .. ".lua"
      H.write(path, "local extract, report = require 'nv.extract', require 'nv.report'\n"
        .. "return { name = '" .. name .. "', run = function(ctx)\n" .. hook .. "\n"
        .. "  return report.aggregate(ctx, extract.run(ctx, ctx.config), report.metadata)\nend }\n")
      return path
    end

    setup(function()
      srv = H.tmpdir()
      start()
    end)
    teardown(function()
      os.execute(H.q(H.root .. "/tests/servers/mariadb.sh") .. " stop " .. H.q(srv) .. " >/dev/null 2>&1")
      H.rmdir(srv)
    end)
    before_each(function()
      dir = H.tmpdir()
      sql("DROP DATABASE IF EXISTS _executor_metadata")
      local code, _, err = H.run({ "run", "schema_validation", "--store", url }, { cwd = dir })
      assert.equal(0, code, err)
    end)
    after_each(function() H.rmdir(dir) end)

    it("a connection killed before the write: the job fails, the run row Failed through a new connection", function()
      local job = hook_job("kill_then_extract", [[
  local id = assert(ctx.store:query("SELECT CONNECTION_ID() AS id"))[1].id
  local c = assert(require("nv.mysql").open(os.getenv("KILL_URL")))
  assert(c:exec("KILL " .. math.tointeger(tonumber(id))))
  c:close()]])
      local code, out, err = H.run({ job, DATA, "auto", "t1", "--write-to-db", "--store", url },
        { cwd = dir, env = { KILL_URL = url } })
      local res = decode(out, err)
      assert.matches("^Failed|.*cannot write metadata: the store mysql://nv@", run_row(res.run_id))
      assert_store_failure(code, res, err, "the store mysql://nv@127.0.0.1:")
      assert.equal("0\n", sql("SELECT COUNT(*) FROM _executor_metadata.sources WHERE run_id = '" .. res.run_id .. "'"))
    end)

    it("a user with only SELECT: the job fails and says the run record was not written", function()
      sql([[CREATE USER IF NOT EXISTS 'reader'@'127.0.0.1' IDENTIFIED BY 'rpw';
        GRANT SELECT ON _executor_metadata.* TO 'reader'@'127.0.0.1';
        GRANT SELECT ON testdb.* TO 'reader'@'127.0.0.1';]])
      local ro_url = url:gsub("//nv:pw@", "//reader:rpw@")
      local code, out, err = H.run(extraction(ro_url), { cwd = dir })
      local res = decode(out, err)
      assert.matches("^not written: mysql://reader@.*denied", res.run_record)
      assert_store_failure(code, res, err, "the store mysql://reader@127.0.0.1:", "denied")
      assert.equal("0\n", sql("SELECT COUNT(*) FROM _executor_metadata.executor_runs WHERE run_id = '"
        .. res.run_id .. "'"))
    end)

    it("a server killed mid-run: the job fails, and run_record says the row could not be written", function()
      local job = hook_job("stop_then_extract", string.format("  assert(os.execute(%q))",
        "kill -9 $(cat " .. srv .. "/mariadb/pid) && rm " .. srv .. "/mariadb/pid && sleep 0.5"))
      -- (the pid file goes too: the killed server may linger as a zombie no one reaps)
      local code, out, err = H.run({ job, DATA, "auto", "t1", "--write-to-db", "--store", url }, { cwd = dir })
      start()
      local res = decode(out, err)
      assert.matches("^not written: mysql://nv@127%.0%.0%.1:%d+/testdb: .*retry: cannot reconnect", res.run_record)
      assert_store_failure(code, res, err, "the store mysql://nv@127.0.0.1:")
      assert.equal("Running|\n", run_row(res.run_id))
    end)
  end)
end

-- ---- PostgreSQL: a private server --------------------------------------
local PGBIN = "/usr/lib/postgresql/15/bin"
local function can_run_pg()
  local f = io.open(PGBIN .. "/pg_ctl", "r")
  if not f then return false end
  f:close()
  return is_root()
end

if not can_run_pg() then
  describe("a PostgreSQL store that fails mid-run", function()
    pending("SKIPPED: needs root and PostgreSQL 15 (" .. PGBIN .. ") for a private server")
  end)
  return
end

describe("a PostgreSQL store that fails mid-run", function()
  local srv, url, port, dir
  local function psql(sql, db)
    local p = assert(io.popen(string.format("psql -X -q -tA -v ON_ERROR_STOP=1 -h %s -p %s -U postgres -d %s -c %s 2>&1",
      H.q(srv .. "/pg"), port, db or "testdb", H.q(sql))))
    local out = p:read("a")
    local ok = p:close()
    assert(ok, out)
    return out
  end
  local function start()
    local p = assert(io.popen(H.q(H.root .. "/tests/servers/pg.sh") .. " start " .. H.q(srv) .. " 2>/dev/null"))
    local line = p:read("a")
    p:close()
    url = assert(line:match("NVLUA_TEST_PG_URL='([^']+)'"), line)
    port = url:match(":(%d+)/")
  end

  setup(function()
    srv = H.tmpdir()
    os.execute("chmod 755 " .. H.q(srv))
    start()
  end)
  teardown(function()
    os.execute(H.q(H.root .. "/tests/servers/pg.sh") .. " stop " .. H.q(srv) .. " >/dev/null 2>&1")
    H.rmdir(srv)
  end)
  before_each(function()
    dir = H.tmpdir()
    psql("DROP SCHEMA IF EXISTS _executor_metadata CASCADE")
    local code, _, err = H.run({ "run", "schema_validation", "--store", url }, { cwd = dir })
    assert.equal(0, code, err)
  end)
  after_each(function() H.rmdir(dir) end)

  -- a trigger owned by the store's role that ends the writing connection
  -- (pg_terminate_backend of its own backend) after the first tables row:
  -- mid-transaction, or at COMMIT when deferred
  local function cut_on_tables_insert(deferred)
    psql([[CREATE FUNCTION _executor_metadata.cut() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$;
      ALTER FUNCTION _executor_metadata.cut() OWNER TO nv;]])
    if deferred then
      psql([[CREATE CONSTRAINT TRIGGER cut AFTER INSERT ON _executor_metadata.tables
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION _executor_metadata.cut()]])
    else
      psql([[CREATE TRIGGER cut AFTER INSERT ON _executor_metadata.tables
        FOR EACH ROW EXECUTE FUNCTION _executor_metadata.cut()]])
    end
  end

  local function run_row(run_id)
    return psql("SELECT status || '|' || coalesce(error_message, '') FROM _executor_metadata.executor_runs"
      .. " WHERE run_id = '" .. run_id .. "'")
  end

  it("a connection cut mid-write: nothing half-written, the run row Failed through a new connection", function()
    cut_on_tables_insert(false)
    local code, out, err = H.run(extraction(url), { cwd = dir })
    local res = decode(out, err)
    assert.matches("^Failed|.*cannot write metadata: the store postgresql://nv@", run_row(res.run_id))
    assert_store_failure(code, res, err, "the store postgresql://nv@127.0.0.1:" .. port .. "/testdb",
      "terminating connection due to administrator command")
    assert.equal("0\n", psql("SELECT count(*) FROM _executor_metadata.sources WHERE run_id = '" .. res.run_id .. "'"))
    assert.equal("0\n", psql("SELECT count(*) FROM _executor_metadata.tables WHERE run_id = '" .. res.run_id .. "'"))
    assert.is_nil(res.run_record)
    assert.truthy(err:find("retrying on a new connection", 1, true), err)
  end)

  it("a connection lost during COMMIT is not reported as written", function()
    cut_on_tables_insert(true)
    local code, out, err = H.run(extraction(url), { cwd = dir })
    local res = decode(out, err)
    assert.matches("^Failed|", run_row(res.run_id))
    assert_store_failure(code, res, err, "COMMIT failed: postgresql:")
    assert.equal("0\n", psql("SELECT count(*) FROM _executor_metadata.sources WHERE run_id = '" .. res.run_id .. "'"))
  end)

  it("a role with only SELECT: the job fails and says the run record was not written", function()
    psql([[DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'reader') THEN
      CREATE ROLE reader LOGIN PASSWORD 'rpw'; END IF; END $$;
      GRANT USAGE ON SCHEMA _executor_metadata TO reader;
      GRANT SELECT ON ALL TABLES IN SCHEMA _executor_metadata TO reader;]])
    local ro_url = url:gsub("//nv:pw@", "//reader:rpw@")
    local code, out, err = H.run(extraction(ro_url), { cwd = dir })
    local res = decode(out, err)
    assert.matches("^not written: postgresql://reader@.*permission denied for table executor_runs", res.run_record)
    assert_store_failure(code, res, err, "the store postgresql://reader@127.0.0.1:" .. port .. "/testdb",
      "permission denied for table")
    assert.equal("0\n", psql("SELECT count(*) FROM _executor_metadata.executor_runs WHERE run_id = '"
      .. res.run_id .. "'"))
  end)

  it("a server stopped mid-run: the job fails, and run_record says the row could not be written", function()
    -- a job that stops the server (pg_ctl -m immediate) before extracting
    local job = dir .. "/stop_then_extract.lua"
    H.write(job, string.format([[
local extract, report = require "nv.extract", require "nv.report"
return { name = "stop_then_extract", run = function(ctx)
  assert(os.execute(%q))
  return report.aggregate(ctx, extract.run(ctx, ctx.config), report.metadata)
end }]], "runuser -u postgres -- " .. PGBIN .. "/pg_ctl -D " .. srv .. "/pg/data -m immediate -w stop >/dev/null"))
    local code, out, err = H.run({ job, DATA, "auto", "t1", "--write-to-db", "--store", url }, { cwd = dir })
    start() -- for the checks and the next tests
    local res = decode(out, err)
    assert.matches("^not written: postgresql://nv@127%.0%.0%.1:%d+/testdb: .*retry: cannot reconnect", res.run_record)
    assert_store_failure(code, res, err, "the store postgresql://nv@127.0.0.1:" .. port .. "/testdb")
    assert.truthy(err:find("the run record was not written", 1, true), err)
    -- what it could write is there: the row from the start of the run
    assert.equal("Running|\n", run_row(res.run_id))
  end)
end)
