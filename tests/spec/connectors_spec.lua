-- The connector registry as users and tenants meet it: `nvlua connectors`,
-- tenant connector modules dropped into an NVLUA_PATH root (no core file
-- touched) and extracted end to end into a SQLite store, a reader-free
-- catalog source, broken tenant modules, and tenant modules under the
-- sandbox. The tenant connectors are tests/fixtures/tenant_connectors/*.lua:
-- csvhttp (CSV files on a web server — python3's http.server here) and
-- inventory (an in-memory catalog whose extract fills the model itself).
local H = require "helper"
local json = require "nv.json"

local FIXTURES = H.root .. "/tests/fixtures/tenant_connectors"
local BUILTIN = { "azure", "files", "mysql", "odbc", "postgresql", "s3", "sqlite", "unity_catalog" }

local function sleep(s) os.execute("sleep " .. s) end

-- a temporary tenant root holding the named fixture connectors (and extra files)
local function tenant_root(dir, names, extra)
  local root = dir .. "/tenant"
  assert(os.execute("mkdir -p " .. H.q(root .. "/connectors")))
  for _, n in ipairs(names) do
    H.write(root .. "/connectors/" .. n .. ".lua", assert(H.read(FIXTURES .. "/" .. n .. ".lua")))
  end
  for file, text in pairs(extra or {}) do H.write(root .. "/connectors/" .. file, text) end
  return root
end

-- python3 -m http.server over dir; returns {port, stop()}
local function web_server(dir, log)
  local pidf = log .. ".pid"
  assert(os.execute(string.format("python3 -u -m http.server 0 --bind 127.0.0.1 --directory %s >%s 2>&1 & echo $! >%s",
    H.q(dir), H.q(log), H.q(pidf))))
  local port
  for _ = 1, 100 do
    port = tonumber((H.read(log) or ""):match("port (%d+)"))
    if port then break end
    sleep(0.05)
  end
  local pid = assert(tonumber(H.read(pidf)))
  assert(port, "http.server did not start: " .. tostring(H.read(log)))
  return { port = port, stop = function() os.execute("kill " .. pid .. " 2>/dev/null") end }
end

local function rows(dir, sql, ...)
  local st = H.open_store(dir)
  local r = assert(st:query(sql, ...))
  st:close()
  return r
end

describe("nvlua connectors", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("lists every built-in kind with its aliases, schemes, asset types and module (text and --json)", function()
    local code, out, err = H.run({ "connectors", "--json" }, { cwd = dir })
    assert.equal(0, code, err)
    local t = H.one_json(out)
    local names = {}
    for _, c in ipairs(t.connectors) do
      names[#names + 1] = c.name
      assert.equal("builtin", c.origin, c.name)
      assert.equal(H.root .. "/connectors/" .. c.name .. ".lua", c.path)
    end
    assert.same(BUILTIN, names)
    local by = {}
    for _, c in ipairs(t.connectors) do by[c.name] = c end
    assert.same({ "postgresql", "postgres" }, by.postgresql.source_types)
    assert.equal("catalog", by.postgresql.kind)
    assert.equal("file-like", by.s3.kind)
    assert.same({ "catalog", "schema", "table", "view", "column" }, by.unity_catalog.asset_types)
    assert.same({}, t.load_errors)
    -- the accepted source_type values are the registry's (not a second list)
    assert.same(require("nv.connectors").type_names(), t.source_types)

    local tcode, text = H.run({ "connectors" }, { cwd = dir })
    assert.equal(0, tcode)
    assert.matches("\npostgresql %(catalog, builtin%) %- PostgreSQL", text)
    assert.matches("\n  source types: postgresql, postgres\n  schemes:      postgresql, postgres\n", text)
    assert.matches("module:       " .. H.root:gsub("%p", "%%%0") .. "/connectors/s3%.lua\n", text)
    assert.equal(2, (H.run({ "connectors", "--jsn" }, { cwd = dir })))
  end)

  it("nvlua --help and run JOB --help name the registry's source types", function()
    local _, out = H.run({ "--help" }, { cwd = dir })
    assert.matches("nvlua connectors", out, 1, true)
    local _, jout = H.run({ "run", "metadata_extraction", "--help" }, { cwd = dir })
    for _, n in ipairs(require("nv.connectors").type_names()) do
      assert.truthy(jout:find(n, 1, true), n .. " missing from run metadata_extraction --help")
    end
  end)
end)

describe("tenant connectors (NVLUA_PATH root)", function()
  local dir, web, root, url
  setup(function()
    dir = H.tmpdir()
    assert(os.execute("mkdir -p " .. H.q(dir .. "/web/exports") .. " " .. H.q(dir .. "/run")))
    H.write(dir .. "/web/exports/orders.csv", "id,amount,country\n1,9.5,DE\n2,12.0,FR\n3,7.25,DE\n")
    H.write(dir .. "/web/exports/customers.csv", "customer_id,name\n10,Ada\n11,Grace\n")
    H.write(dir .. "/web/exports/index.json", json.encode({ files = json.array({ "orders.csv", "customers.csv" }) }))
    web = web_server(dir .. "/web", dir .. "/web.log")
    url = "csvhttp://127.0.0.1:" .. web.port .. "/exports/"
    root = tenant_root(dir, { "csvhttp", "inventory" })
  end)
  teardown(function()
    if web then web.stop() end
    H.rmdir(dir)
  end)
  local function run(args, extra_env)
    local env = { NVLUA_PATH = root }
    for k, v in pairs(extra_env or {}) do env[k] = v end
    return H.run(args, { cwd = dir .. "/run", env = env })
  end

  it("are listed by nvlua connectors as tenant modules, after the built-ins they do not replace", function()
    local code, out, err = run({ "connectors", "--json" })
    assert.equal(0, code, err)
    local t = H.one_json(out)
    local by, names = {}, {}
    for _, c in ipairs(t.connectors) do by[c.name] = c; names[#names + 1] = c.name end
    assert.same({ "azure", "csvhttp", "files", "inventory", "mysql", "odbc", "postgresql", "s3", "sqlite", "unity_catalog" },
      names)
    assert.equal("tenant", by.csvhttp.origin)
    assert.equal(root .. "/connectors/csvhttp.lua", by.csvhttp.path)
    assert.same({ "csvhttp", "web_csv" }, by.csvhttp.source_types)
    assert.equal("catalog", by.inventory.kind)
    assert.equal("builtin", by.files.origin)
  end)

  it("test_connection reaches the web server through the tenant connector, and names the source when it cannot", function()
    local code, out, err = run({ "run", "test_connection", url })
    assert.equal(0, code, err)
    local r = H.one_json(out)
    assert.equal("success", r.connection_status)
    assert.equal("csvhttp", r.connector)
    assert.same({ kind = "csvhttp", url = "http://127.0.0.1:" .. web.port .. "/exports/", files = 2 }, r.connection_info)
    local bad = "csvhttp://127.0.0.1:" .. web.port .. "/nothing-here/"
    code, out = run({ "run", "test_connection", bad })
    assert.equal(1, code)
    r = H.one_json(out)
    assert.equal("failed", r.connection_status)
    assert.equal("source " .. bad .. ": http://127.0.0.1:" .. web.port .. "/nothing-here/index.json: HTTP 404", r.error)
    assert.equal("connect", r.error_code)
  end)

  it("metadata_extraction --write-to-db extracts the web server's CSV files into the SQLite store", function()
    local code, out, err = run({ "run", "metadata_extraction", url, "", "", "--write-to-db" })
    assert.equal(0, code, err)
    local r = H.one_json(out)
    assert.equal("success", r.extraction_status)
    assert.equal(2, r.files_found)
    local tables = rows(dir .. "/run", "SELECT table_name, row_count, column_count FROM _executor_metadata.tables"
      .. " WHERE source_id = ? ORDER BY table_name", r.source_id)
    assert.equal(2, #tables)
    assert.same({ "customers.csv", 2, 2 }, { tables[1].table_name, tables[1].row_count, tables[1].column_count })
    assert.same({ "orders.csv", 3, 3 }, { tables[2].table_name, tables[2].row_count, tables[2].column_count })
    local cols = rows(dir .. "/run", "SELECT c.column_name FROM _executor_metadata.columns c"
      .. " JOIN _executor_metadata.tables t ON t.table_id = c.table_id WHERE t.source_id = ? AND t.table_name = ?"
      .. " ORDER BY c.column_name", r.source_id, "orders.csv")
    local names = {}
    for _, c in ipairs(cols) do names[#names + 1] = c.column_name end
    assert.same({ "amount", "country", "id" }, names)
    local src = rows(dir .. "/run", "SELECT connection_info FROM _executor_metadata.sources WHERE source_id = ?",
      r.source_id)
    assert.equal("csvhttp", json.decode(src[1].connection_info).kind)
    -- full_pipeline: the same tables again, each step's result from the one extraction
    code, out, err = run({ "run", "full_pipeline", url, "", "", "--write-to-db" })
    assert.equal(0, code, err)
    local p = H.one_json(out)
    assert.equal("success", p.metadata_extraction.extraction_status)
    assert.same({ tables = 2, columns = 5 }, p.metadata_extraction.schema_info)
    assert.equal(2, p.data_reading.files_read)
    local runs = rows(dir .. "/run", "SELECT COUNT(DISTINCT run_id) AS n FROM _executor_metadata.tables WHERE source_id = ?",
      r.source_id)
    assert.equal(2, runs[1].n)
  end)

  it("full_pipeline runs a reader-free catalog source whose extract fills the model (no file, no reader)", function()
    local code, out, err = run({ "run", "full_pipeline", "inventory:warehouse", "", "", "--write-to-db" })
    assert.equal(0, code, err)
    local r = H.one_json(out)
    local m = r.metadata_extraction
    assert.equal("success", m.extraction_status)
    assert.equal(0, m.files_found)
    assert.same({ tables = 2, columns = 5 }, m.schema_info)
    local tables = rows(dir .. "/run", "SELECT table_name, schema_name, catalog_name, row_count"
      .. " FROM _executor_metadata.tables WHERE source_id = ? ORDER BY table_name", m.source_id)
    assert.same({ "items", "stock", "warehouse", 1200 },
      { tables[1].table_name, tables[1].schema_name, tables[1].catalog_name, tables[1].row_count })
    assert.same({ "moves", "stock", "warehouse", 52000 },
      { tables[2].table_name, tables[2].schema_name, tables[2].catalog_name, tables[2].row_count })
    local cols = rows(dir .. "/run", "SELECT c.column_name FROM _executor_metadata.columns c JOIN"
      .. " _executor_metadata.tables t ON t.table_id = c.table_id WHERE t.source_id = ? AND t.table_name = 'items'"
      .. " ORDER BY c.column_name", m.source_id)
    assert.same({ "price", "qty", "sku" }, { cols[1].column_name, cols[2].column_name, cols[3].column_name })
    local st = rows(dir .. "/run", "SELECT source_type FROM _executor_metadata.sources WHERE source_id = ?", m.source_id)
    assert.equal("inventory", st[1].source_type)
    code, out = run({ "run", "test_connection", "inventory:warehouse", "inventory" })
    assert.equal(0, code)
    assert.same({ "stock.items", "stock.moves" }, H.one_json(out).connection_info.tables)
  end)

  it("under --sandbox are refused (never loaded), while the built-ins still run", function()
    local sroot = tenant_root(H.tmpdir(), { "inventory" }, {
      -- top-level code that would leave a marker if the module were loaded
      ["marker.lua"] = "local f = io.open(" .. string.format("%q", dir .. "/run/marker") .. ", 'w') f:write('x') f:close()\n"
        .. "return {name = 'marker', test_connection = function() return true, {} end,"
        .. " extract = function(_, _, _, m) return m end}",
    })
    local env = { NVLUA_PATH = sroot, NVLUA_SANDBOX_ROOTS = dir .. "/run" }
    local code, out, err = H.run({ "--sandbox", "run", "metadata_extraction", "inventory:warehouse", "inventory" },
      { cwd = dir .. "/run", env = env })
    assert.equal(2, code)
    assert.equal("", out)
    assert.matches("sandbox: tenant connector " .. (sroot .. "/connectors/inventory.lua"):gsub("%p", "%%%0")
      .. " is not allowed", err)
    code, out, err = H.run({ "--sandbox", "run", "test_connection", "inventory:warehouse" },
      { cwd = dir .. "/run", env = env })
    assert.equal(1, code, err)
    assert.matches("sandbox: tenant connector .-/connectors/inventory%.lua is not allowed", H.one_json(out).error)
    assert.is_nil(H.read(dir .. "/run/marker"))
    H.write(dir .. "/run/a.csv", "x\n1\n")
    code, out, err = H.run({ "--sandbox", "run", "metadata_extraction", dir .. "/run/a.csv" },
      { cwd = dir .. "/run", env = env })
    assert.equal(0, code, err)
    assert.is_nil(H.read(dir .. "/run/marker"))
    -- several sources run on worker threads, each with a Lua state of its own:
    -- they refuse tenant modules too (a worker once loaded them unsandboxed)
    H.write(dir .. "/run/b.csv", "y\n2\n")
    local payload = string.format('{"workflow_id":"w","sources":[{"source_id":"a","data_source_path":"%s"},'
      .. '{"source_id":"b","data_source_path":"%s"}]}', dir .. "/run/a.csv", dir .. "/run/b.csv")
    code, out, err = H.run({ "--sandbox", "run", "metadata_extraction", "--workers", "2" },
      { cwd = dir .. "/run", env = { NVLUA_PATH = sroot, NVLUA_SANDBOX_ROOTS = dir .. "/run",
                                     NUVYN_JOB_PAYLOAD = payload } })
    assert.equal(0, code, err)
    assert.is_nil(H.read(dir .. "/run/marker"))
    -- the job server's process refuses them the same way (its jobs all run sandboxed)
    code, out = H.run({ "-e", "local c = require('nv.connectors'); c.refuse_tenants();"
      .. " local _, msg = c.check('inventory'); print(msg)" }, { env = env })
    assert.equal(0, code)
    assert.equal("sandbox: tenant connector " .. sroot .. "/connectors/inventory.lua is not allowed\n", out)
    assert.is_nil(H.read(dir .. "/run/marker"))
    H.rmdir(sroot:match("^(.*)/tenant$"))
    -- a tenant override of a built-in kind is refused too, not replaced by the built-in
    local oroot = tenant_root(H.tmpdir(), {}, { ["files.lua"] = assert(H.read(H.root .. "/connectors/files.lua")) })
    code, out, err = H.run({ "--sandbox", "run", "metadata_extraction", dir .. "/run/a.csv" },
      { cwd = dir .. "/run", env = { NVLUA_PATH = oroot, NVLUA_SANDBOX_ROOTS = dir .. "/run" } })
    assert.equal(1, code, err)
    local refused = H.one_json(out)
    assert.equal("sandbox: tenant connector " .. oroot .. "/connectors/files.lua is not allowed", refused.error)
    assert.same({ refused.error }, refused.errors)
    H.rmdir(oroot:match("^(.*)/tenant$"))
  end)
end)

describe("broken tenant connector modules", function()
  local dir, root
  setup(function()
    dir = H.tmpdir()
    root = tenant_root(dir, {}, {
      ["broken.lua"] = "return { name = 'broken',,, }\n",
      ["halfdone.lua"] = "return { name = 'halfdone', source_types = {'halfdone'}, test_connection = function() end }\n",
      ["raises.lua"] = "error('cannot initialise: no licence key')\n",
      ["misnamed.lua"] = "return { name = 'other', test_connection = function() end, extract = function() end }\n",
    })
  end)
  teardown(function() H.rmdir(dir) end)

  it("are named with the file and the cause, and the built-ins keep working", function()
    local env = { NVLUA_PATH = root }
    local code, out, err = H.run({ "connectors", "--json" }, { cwd = dir, env = env })
    assert.equal(1, code)
    local t = H.one_json(out)
    local names = {}
    for _, c in ipairs(t.connectors) do names[#names + 1] = c.name end
    assert.same(BUILTIN, names)
    local c = root .. "/connectors/"
    assert.equal(4, #t.load_errors)
    assert.matches("^connector " .. (c .. "broken.lua"):gsub("%p", "%%%0") .. ":1: unexpected symbol near ','",
      t.load_errors[1])
    assert.equal("connector " .. c .. "halfdone.lua: exactly one of 'tables' (file-like) and 'extract' (catalog)"
      .. " is required", t.load_errors[2])
    assert.equal("connector " .. c .. "misnamed.lua: its name is 'other'", t.load_errors[3])
    assert.matches("^connector " .. (c .. "raises.lua"):gsub("%p", "%%%0") .. ":1: cannot initialise: no licence key",
      t.load_errors[4])
    for _, e in ipairs(t.load_errors) do assert.truthy(err:find("nvlua: " .. e, 1, true), err) end
    H.write(dir .. "/a.csv", "x,y\n1,2\n")
    code, out, err = H.run({ "run", "metadata_extraction", dir .. "/a.csv" }, { cwd = dir, env = env })
    assert.equal(0, code, err)
    assert.equal("success", H.one_json(out).extraction_status)
    -- a source_type only a broken module would have served is unknown, not a crash
    code, _, err = H.run({ "run", "metadata_extraction", dir .. "/a.csv", "halfdone" }, { cwd = dir, env = env })
    assert.equal(2, code)
    assert.matches("unknown source_type 'halfdone'", err)
  end)

  it("claiming another kind's source type or a format name is reported, not silently shadowing it", function()
    local croot = tenant_root(H.tmpdir(), {}, {
      ["aaa_s3.lua"] = "return {name = 'aaa_s3', source_types = {'s3', 'csv', 'aaa'},"
        .. " test_connection = function() return true, {} end, extract = function(_, _, _, m) return m end}",
    })
    local code, out = H.run({ "connectors", "--json" }, { cwd = dir, env = { NVLUA_PATH = croot } })
    assert.equal(1, code)
    local t = H.one_json(out)
    local c = croot .. "/connectors/aaa_s3.lua"
    assert.same({ "connector " .. c .. ": source type 's3' belongs to connector s3; ignored",
                  "connector " .. c .. ": source type 'csv' is a format name; ignored" }, t.load_errors)
    -- s3 stays the s3 kind; the tenant answers to its own name and alias
    code, out = H.run({ "-e", "local r = require('nv.connectors'); print(r.for_type('s3').name, r.for_type('aaa').name,"
      .. " r.resolve({ data_source_path = 's3://b/p' }).name)" }, { env = { NVLUA_PATH = croot } })
    assert.equal(0, code)
    assert.equal("s3\taaa_s3\ts3\n", out)
    H.rmdir(croot:match("^(.*)/tenant$"))
  end)
end)

describe("nv.conntest", function()
  local conntest = require "nv.conntest"
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("reports what the connector reached, or the source, the cause and the kind", function()
    H.write(dir .. "/a.csv", "x\n1\n")
    local e = conntest.source({ source_id = "s1", data_source_path = dir }, {})
    assert.equal("success", e.connection_status)
    assert.equal("files", e.connector)
    assert.same({ kind = "files", path = dir, type = "directory", entries = 1 }, e.connection_info)
    e = conntest.source({ source_id = "s2", data_source_path = dir .. "/none" }, {})
    assert.equal("failed", e.connection_status)
    assert.equal("source " .. dir .. "/none: cannot stat " .. dir .. "/none: No such file or directory", e.error)
    assert.same({ "notfound", 2 }, { e.error_code, e.native_code }) -- the kind, then ENOENT
    e = conntest.source({ source_id = "s3", data_source_path = "gopher://x/y" }, {})
    assert.equal("usage", e.error_code)
    assert.matches("^gopher://x/y: gopher sources are not supported %(known schemes: ", e.error)
  end)

  it("masks a password in what it reports", function()
    local e = conntest.source({ source_id = "s4", data_source_path = "postgresql://u:Secr3tPw@127.0.0.1:1/db",
                                source_type = "postgresql" }, { connect_timeout = 1 })
    assert.equal("failed", e.connection_status)
    assert.is_nil(json.encode(e):find("Secr3tPw", 1, true))
    assert.equal("connect", e.error_code)
  end)
end)

describe("test_connection against a real database", function()
  local URL = os.getenv("NVLUA_TEST_PG_URL")
  if not URL or URL == "" then
    it("(PostgreSQL)", function() pending("SKIPPED: NVLUA_TEST_PG_URL is not set (tests/servers/pg.sh)") end)
    return
  end
  it("reports the server version, user and database, the password masked; a wrong one fails (PostgreSQL)", function()
    local dir = H.tmpdir()
    local pw = URL:match("^postgresql://[^:]+:([^@]+)@")
    local code, out, err = H.run({ "run", "test_connection", URL, "postgresql" }, { cwd = dir })
    assert.equal(0, code, err)
    local r = H.one_json(out)
    assert.equal("postgresql", r.connector)
    assert.equal("success", r.connection_status)
    assert.equal(URL:match("/([^/?]+)$"), r.connection_info.database)
    assert.equal(URL:match("^postgresql://([^:]+):"), r.connection_info.user)
    assert.matches("^PostgreSQL %d+%.%d+", tostring(r.connection_info.server_version))
    assert.is_nil(out:find(":" .. pw .. "@", 1, true))
    local bad = URL:gsub(":" .. pw:gsub("%p", "%%%0") .. "@", ":Wr0ngPassw0rd@")
    code, out = H.run({ "run", "test_connection", bad, "postgresql", "--log-dir", dir .. "/logs" }, { cwd = dir })
    assert.equal(1, code)
    r = H.one_json(out)
    assert.equal("failed", r.connection_status)
    assert.matches("password authentication failed", r.error)
    assert.equal("auth", r.error_code)
    assert.is_nil(out:find("Wr0ngPassw0rd", 1, true))
    H.rmdir(dir)
  end)
end)

describe("test_connection against the object-store emulators", function()
  local stores = H.object_stores("tconn")
  if #stores == 0 then
    it("(S3, Azure Blob)", function()
      pending("SKIPPED: NVLUA_TEST_S3_ENDPOINT / NVLUA_TEST_AZURE_BLOB are not set (tests/servers/objectstores.sh)")
    end)
    return
  end
  for _, s in ipairs(stores) do
    it("reports the objects and bytes under the prefix, secrets masked (" .. s.name .. ")", function()
      assert(s.put("a.csv", "x\n1\n"))
      assert(s.put("b.csv", "y\n22\n"))
      local dir = H.tmpdir()
      local code, out, err = H.run({ "run", "test_connection", s.path, s.source_type }, { cwd = dir, env = s.env })
      assert.equal(0, code, err)
      local r = H.one_json(out)
      assert.equal("success", r.connection_status)
      assert.equal(s.source_type == "aws_s3" and "s3" or "azure", r.connector)
      assert.equal(2, r.connection_info.objects)
      assert.equal(#"x\n1\n" + #"y\n22\n", r.connection_info.total_size_bytes)
      if s.source_type == "azure_blob" then -- the account key reached nvlua only through the environment
        assert.is_nil((out .. err):find(require("nv.azure").dev_key, 1, true), "the account key leaked")
      end
      H.rmdir(dir)
    end)
  end
end)
