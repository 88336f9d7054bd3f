-- The one error convention (README "Errors", issue 13): an expected failure
-- of every C module returns nil, message, kind, native — the kind a string
-- from the documented set, the native code (errno, SQLite's result code,
-- MySQL's error number, a SQLSTATE) fourth. The errno numbers are Linux's
-- (asm-generic/errno-base.h), the SQLite codes sqlite3.h's, the MySQL
-- numbers and SQLSTATEs the servers' documented ones: truths independent
-- of nvlua. The PostgreSQL and MySQL SQL errors need the servers
-- (NVLUA_TEST_PG_URL, NVLUA_TEST_MYSQL_URL); the refused connections do not.
local H = require "helper"
local sys = require "nv.sys"

local KINDS = {
  usage = true, connect = true, auth = true, io = true, parse = true, cancelled = true, limit = true,
  unsupported = true, timeout = true, notfound = true, permission = true, exists = true, busy = true,
  memory = true, sql = true, open = true,
}

-- r: the packed results of a failing call; checks the shape and returns
-- kind, native
local function failure(r, want_msg)
  assert.is_nil(r[1])
  assert.equal("string", type(r[2]))
  if want_msg then assert.truthy(r[2]:find(want_msg, 1, true), r[2]) end
  assert.equal("string", type(r[3]), "the third value is a string kind: " .. tostring(r[3]))
  assert.is_true(KINDS[r[3]], "a documented kind: " .. r[3])
  assert.is_not_nil(r[4], "the native code is the fourth value")
  return r[3], r[4]
end

describe("the error convention", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("nv.sys: errno kinds, the errno fourth", function()
    assert.same({ "notfound", 2 }, { failure({ sys.stat(dir .. "/none") }, "No such file or directory") })
    assert(sys.write_new(dir .. "/a", "x"))
    assert.same({ "exists", 17 }, { failure({ sys.write_new(dir .. "/a", "y") }, "File exists") })
    assert.same({ "notfound", 20 }, { failure({ sys.mkdirs(dir .. "/a/b") }, "Not a directory") }) -- ENOTDIR
    assert.same({ "notfound", 2 }, { failure({ sys.listdir(dir .. "/none") }) })
    assert.same({ "notfound", 2 }, { failure({ sys.realpath(dir .. "/none") }) })
    local held = assert(sys.lock(dir .. "/.lock"))
    assert.same({ "busy", 11 }, { failure({ sys.lock(dir .. "/.lock", 0) }, "Resource temporarily unavailable") })
    held:close()
  end)

  it("nv.proc: errno kinds, the errno fourth", function()
    local proc = require "nv.proc"
    assert.same({ "notfound", 2 }, { failure({ proc.spawn({ argv = { dir .. "/no-such-program" } }) },
      "No such file or directory") })
    assert.same({ "notfound", 3 }, { failure({ proc.kill(4194303 + 1, 0) }, "No such process") }) -- ESRCH
  end)

  it("nv.sys.errno_kind maps errnos to the documented kinds", function()
    local want = {
      [1] = "permission", [2] = "notfound", [5] = "io", [11] = "busy", [12] = "memory", [13] = "permission",
      [17] = "exists", [20] = "notfound", [21] = "usage", [22] = "usage", [24] = "limit", [27] = "io",
      [28] = "io", [30] = "permission", [36] = "usage", [38] = "unsupported", [39] = "exists",
      [95] = "unsupported", [98] = "busy", [110] = "timeout", [111] = "connect", [113] = "connect",
      [122] = "io",
    }
    for errno, kind in pairs(want) do assert.equal(kind, sys.errno_kind(errno), "errno " .. errno) end
    assert.has_error(function() sys.errno_kind(-1) end)
  end)

  it("nv.fs: list, identity, detect and head", function()
    local fs = require "nv.fs"
    assert.same({ "notfound", 2 }, { failure({ fs.list(dir .. "/none") }, "cannot access") })
    assert.same({ "notfound", 2 }, { failure({ fs.identity(dir .. "/none") }, "cannot stat") })
    assert.same({ "notfound", 2 }, { failure({ fs.detect(dir .. "/none") }) })
    assert.same({ "notfound", 2 }, { failure({ fs.head(dir .. "/none", 10) }) })
    assert.is_true(os.execute("mkfifo " .. H.q(dir .. "/fifo")))
    assert.same({ "unsupported", 22 }, { failure({ fs.list(dir .. "/fifo") }, "not a regular file") })
  end)

  it("nv.log.open_file and nv.objstore.trim_partial_line", function()
    assert.same({ "notfound", 2 }, { failure({ require("nv.log").open_file(dir .. "/none/x.log") }) })
    assert.same({ "notfound", 2 }, { failure({ require("nv.objstore").trim_partial_line(dir .. "/none") }) })
  end)

  it("nv.httpd.listen: a port in use is busy, EADDRINUSE", function()
    local httpd = require "nv.httpd"
    local a <close> = assert(httpd.listen({ port = 0 }))
    assert.same({ "busy", 98 }, { failure({ httpd.listen({ port = a:port() }) }, "Address already in use") })
  end)

  it("nv.store.sqlite: SQLite's kinds, its extended result code fourth", function()
    local sqlite = require "nv.store.sqlite"
    local db <close> = assert(sqlite.open(":memory:"))
    assert.same({ "sql", 1 }, { failure({ db:query("SELECT * FROM missing") }, "no such table: missing") })
    assert.same({ "usage", 21 }, { failure({ db:exec(" ") }, "empty statement") }) -- SQLITE_MISUSE
    assert.same({ "sql", 2067 }, { failure({ db:script("CREATE TABLE t (a UNIQUE); INSERT INTO t VALUES (1);"
      .. " INSERT INTO t VALUES (1)") }, "UNIQUE constraint failed") }) -- SQLITE_CONSTRAINT_UNIQUE
    H.write(dir .. "/junk.db", string.rep("not a database ", 100))
    assert.same({ "parse", 26 }, { failure({ sqlite.open(dir .. "/junk.db", { schema = "s" }) },
      "file is not a database") }) -- SQLITE_NOTADB
    assert.same({ "notfound", 14 }, { failure({ sqlite.open(dir .. "/none/x.db") }) }) -- CANTOPEN from ENOENT
  end)

  it("nv.pg, nv.mysql, nv.odbc: a refused connection is connect, the native code fourth", function()
    assert.same({ "connect", "08001" }, { failure({ require("nv.pg").open("postgresql://u:p@127.0.0.1:1/db",
      { connect_timeout = 2 }) }, "Connection refused") })
    assert.same({ "connect", 2002 }, { failure({ require("nv.mysql").open("mysql://u:p@127.0.0.1:1/db",
      { connect_timeout = 2 }) }, "Can't connect") }) -- CR_CONNECTION_ERROR
    assert.same({ "usage", 2005 }, { failure({ require("nv.mysql").open("mysql://u:p@h:99999/db") }, "bad port") })
    assert.same({ "connect", "IM002" }, { failure({ require("nv.odbc").open("DSN=nvlua_no_such_dsn") },
      "Data source name not found") })
  end)

  local PG = os.getenv("NVLUA_TEST_PG_URL")
  local MY = os.getenv("NVLUA_TEST_MYSQL_URL")
  if PG and PG ~= "" then
    it("nv.pg: SQL errors by SQLSTATE", function()
      local db <close> = assert(require("nv.pg").open(PG))
      assert.same({ "sql", "42P01" }, { failure({ db:query("SELECT * FROM errconv_missing") }, "does not exist") })
      assert.same({ "sql", "42601" }, { failure({ db:query("SELEC 1") }, "syntax error") })
      local ro <close> = assert(require("nv.pg").open(PG, { read_only = true }))
      assert.same({ "permission", "25006" }, { failure({ ro:exec("CREATE TABLE errconv_t (a int)") }, "read-only") })
      assert.same({ "timeout", "57014" }, { failure({ (function()
        assert(db:exec("SET statement_timeout = 100"))
        return db:query("SELECT pg_sleep(2)")
      end)() }, "statement timeout") })
    end)
  else
    pending("nv.pg SQL errors: NVLUA_TEST_PG_URL is not set (tests/servers/pg.sh)")
  end
  if MY and MY ~= "" then
    it("nv.mysql: SQL errors by error number", function()
      local db <close> = assert(require("nv.mysql").open(MY))
      assert.same({ "sql", 1146 }, { failure({ db:query("SELECT * FROM errconv_missing") }, "doesn't exist") })
      assert.same({ "sql", 1064 }, { failure({ db:query("SELEC 1") }, "SQL syntax") })
      assert(db:exec("CREATE TABLE IF NOT EXISTS errconv_t (a int)"))
      local ro <close> = assert(require("nv.mysql").open(MY, { read_only = true }))
      assert.same({ "permission", 1792 }, { failure({ ro:exec("INSERT INTO errconv_t VALUES (1)") }, "READ ONLY") })
      assert(db:exec("DROP TABLE errconv_t"))
    end)
  else
    pending("nv.mysql SQL errors: NVLUA_TEST_MYSQL_URL is not set (tests/servers/mariadb.sh)")
  end
end)
