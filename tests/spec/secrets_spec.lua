-- Secrets never leak (issue 12): sources whose path, URL or connection
-- string carries a secret — SAS sig=, X-Amz-Credential/Signature, token=,
-- access_token=, api_key=, password=, key=, client_secret=, a URL password,
-- ODBC PWD=, a Databricks dapi token, a registered AWS secret — run through
-- metadata_extraction, full_pipeline (to the local platform server, and to
-- a dead one so the payload stays in the outbox), data_reading,
-- quality_assessment and api_transmission. Then stdout, stderr, every file
-- the runs wrote (store file, outbox, logs) and every request body the
-- platform received are searched for each secret value: none may appear.
-- Local sources are directories named with the query-like text (their data
-- is read, so tables, files and columns carry the path); remote ones point
-- at closed loopback ports or fail to resolve, so the failure messages are
-- searched too. The masked path keeps its structure (…&sig=***).
-- Every case fails on the code before nv.redact except the plain
-- PostgreSQL/MySQL/ODBC URLs and Unity Catalog, which nv.dbsource and
-- nv.unitycatalog already masked: they stay as guards.
local H = require "helper"
local json = require "nv.json"

local DAPI = "dapi" .. "0123456789abcdef0123456789abcdef"
local AWS_SECRET = "AwsSecretKeyReg10xyz"
local API_KEY = "key-0123456789abcdef"

-- dir: the source directory's name under the spec's src/ (a CSV f.csv in
-- it, or file when given); masked: the source_path the outputs must show
local local_cases = {
  { name = "an Azure SAS sig= in the path", dir = "p?sv=2021-08-06&sig=SasSigLocal1",
    secrets = { "SasSigLocal1" }, masked = "p?sv=2021-08-06&sig=***" },
  { name = "S3 X-Amz-Credential and X-Amz-Signature in the path",
    dir = "q?X-Amz-Credential=AKIACREDLOCAL2/20240101/us-east-1/s3/aws4_request&X-Amz-Signature=AmzSigLocal2",
    secrets = { "AKIACREDLOCAL2", "AmzSigLocal2" }, masked = "q?X-Amz-Credential=***&X-Amz-Signature=***" },
  { name = "token=, access_token=, api_key=, password= in the path",
    dir = "r?token=TokLocal3&access_token=AccTokLocal3&api_key=ApiKeyLocal3&password=PwLocal3",
    secrets = { "TokLocal3", "AccTokLocal3", "ApiKeyLocal3", "PwLocal3" },
    masked = "r?token=***&access_token=***&api_key=***&password=***" },
  { name = "key=, client_secret=, refresh_token= in the query",
    dir = "s?key=GKeyLocal4&client_secret=CliSecLocal4&refresh_token=RefTokLocal4",
    secrets = { "GKeyLocal4", "CliSecLocal4", "RefTokLocal4" },
    masked = "s?key=***&client_secret=***&refresh_token=***" },
  { name = "ODBC PWD= and a braced Password={…}", dir = "t;UID=u;PWD=OdbcPwLocal5;Password={BracedLocal5;x}",
    secrets = { "OdbcPwLocal5", "BracedLocal5" }, masked = "t;UID=u;PWD=***;Password={***}" },
  { name = "a URL password", dir = "w/postgresql://u:UrlPwLocal6@h/db",
    secrets = { "UrlPwLocal6" }, masked = "w/postgresql://u:***@h/db" },
  { name = "a Databricks dapi token", dir = "u " .. DAPI, secrets = { DAPI:sub(5) }, masked = "u dapi***" },
  { name = "an AWS secret key registered from the environment", dir = "k_" .. AWS_SECRET,
    env = { AWS_SECRET_ACCESS_KEY = AWS_SECRET, AWS_ACCESS_KEY_ID = "AKIAEXAMPLEID" },
    secrets = { AWS_SECRET }, masked = "k_***" },
  { name = "a SAS sig= in a file name", dir = "plain", file = "f?sig=FileSigLocal9.csv",
    secrets = { "FileSigLocal9" }, masked = "plain" },
}

local remote_cases = {
  { name = "an Azure Blob SAS URL (connection refused)", path = "http://127.0.0.1:9/devacct/c/p?sv=2021-08-06&sig=AzSasSigR1",
    source_type = "azure_blob", secrets = { "AzSasSigR1" } },
  { name = "an abfss:// URL with a SAS (host not resolved)",
    path = "abfss://c@acct.dfs.core.windows.net/p?sv=2021-08-06&sig=AbfssSigR2", secrets = { "AbfssSigR2" } },
  { name = "a wasbs:// URL with a SAS (host not resolved)",
    path = "wasbs://c@acct.blob.core.windows.net/p?sv=2021-08-06&ss=b&sig=WasbsSigR3", secrets = { "WasbsSigR3" } },
  { name = "an S3 presigned https URL (unsupported scheme)",
    path = "https://bkt.s3.amazonaws.com/d.csv?X-Amz-Credential=AKIAPRESIGNR4/20240101/us-east-1/s3/aws4_request"
      .. "&X-Amz-Security-Token=SessTokR4&X-Amz-Signature=PreSigR4",
    secrets = { "AKIAPRESIGNR4", "SessTokR4", "PreSigR4" } },
  { name = "an s3:// URL with query credentials (endpoint refused)",
    path = "s3://bkt/data?X-Amz-Credential=AKIAQUERYR5/2024/us-east-1/s3/aws4_request&X-Amz-Signature=S3SigR5",
    env = { AWS_ENDPOINT_URL = "http://127.0.0.1:9", AWS_ACCESS_KEY_ID = "AKIAEXAMPLEID",
            AWS_SECRET_ACCESS_KEY = AWS_SECRET, AWS_REGION = "us-east-1" },
    secrets = { "AKIAQUERYR5", "S3SigR5", AWS_SECRET } },
  { name = "a PostgreSQL URL with a password", path = "postgresql://nvu:PgSecretR6@127.0.0.1:9/db",
    secrets = { "PgSecretR6" } },
  { name = "a MySQL URL with a password", path = "mysql://nvu:MySecretR7@127.0.0.1:9/db", secrets = { "MySecretR7" } },
  { name = "an ODBC connection string with PWD= and a braced PWD={…}",
    path = "odbc:Driver={NoSuchDriver};Server=127.0.0.1;UID=u;PWD={OdbcSecret;R8};", secrets = { "OdbcSecret", "R8}" } },
  { name = "an ODBC connection string with a plain PWD=",
    path = "odbc:Driver={NoSuchDriver};Server=127.0.0.1;UID=u;PWD=OdbcPlainR9;", secrets = { "OdbcPlainR9" } },
  { name = "Unity Catalog with a Databricks token (host refused)", path = "uc://main",
    env = { DATABRICKS_HOST = "http://127.0.0.1:9", DATABRICKS_TOKEN = DAPI }, secrets = { DAPI, DAPI:sub(5) } },
}

local function files_under(dir)
  local p = assert(io.popen("find " .. H.q(dir) .. " -type f 2>/dev/null"))
  local out = {}
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  return out
end

-- every place one secret value shows up: {"where", …}
local function find_leaks(secrets, outputs, rundir, requests)
  local found = {}
  local function check(where, text)
    for _, s in ipairs(secrets) do
      if text and text:find(s, 1, true) then found[#found + 1] = string.format("%s in %s", s, where) end
    end
  end
  for where, text in pairs(outputs) do check(where, text) end
  for _, f in ipairs(files_under(rundir)) do
    check("the name of " .. f, f:sub(#rundir + 1))
    check(f, H.read(f))
  end
  for i, r in ipairs(requests) do
    assert(r.body, "request " .. i .. " has a text body")
    check(string.format("request %d body (%s)", i, r.path), r.body)
  end
  table.sort(found)
  return found
end

describe("nv.redact.model", function()
  it("masks every string, keys included, in place, keeping arrays, numbers and shared tables", function()
    local redact = require "nv.redact"
    local shared = json.array({ "x?sig=S1g4" })
    local m = { source_path = "/d/p?sv=2021-08-06&sig=AbCd1234", n = 3, ok = true, none = json.null,
                tables = json.array({ { files = shared, again = shared, ["c?token=T0k3n"] = 1 } }),
                errors = json.array() }
    m.self = m
    assert.equal(m, redact.model(m))
    assert.equal("/d/p?sv=2021-08-06&sig=***", m.source_path)
    assert.equal(3, m.n)
    assert.is_true(m.ok)
    assert.equal(json.null, m.none)
    assert.equal(m, m.self)
    assert.is_true(json.is_array(m.errors) and getmetatable(m.errors) == getmetatable(m.tables))
    assert.equal("[]", json.encode(m.errors))
    local t = m.tables[1]
    assert.equal(t.files, t.again)
    assert.same({ "x?sig=***" }, t.files)
    assert.is_nil(t["c?token=T0k3n"])
    assert.equal(1, t["c?token=***"])
    assert.equal("plain", redact.text("plain"))
    assert.is_nil(redact.text(nil))
  end)
end)

describe("nv.config.register_secrets on connection strings", function()
  it("registers PWD= whatever its case, and a braced PWD={a;b} whole", function()
    local got = {}
    require("nv.config").register_secrets({
      data_source_path = "odbc:Driver={X};UID=u;PWD=Plain1Pw;Server=h",
      other = "Server=h;Password={Br;aced}}x};Database=d", third = "x;pwd={Lower;Case};y" }, function(s)
      got[#got + 1] = s
    end)
    table.sort(got)
    assert.same({ "Br;aced}x", "Br;aced}}x", "Lower;Case", "Lower;Case", "Plain1Pw" }, got)
    -- and the masked text keeps nothing of the braced value
    local log = require "nv.log"
    log.add_secret("Br;aced}}x")
    assert.equal("Server=h;Password={***};Database=d", log.mask("Server=h;Password={Br;aced}}x};Database=d"))
  end)
end)

describe("secrets in paths, URLs and connection strings", function()
  local D, srv, dead_cfg

  setup(function()
    D = H.tmpdir()
    os.execute("mkdir -p " .. H.q(D .. "/src") .. " " .. H.q(D .. "/srv"))
    srv = H.platform_server(D .. "/srv")
    dead_cfg = D .. "/dead.json" -- no retries against the dead endpoint
    H.write(dead_cfg, json.encode({ api_retries = 0, api_retry_base = 0.01, api_endpoint = "http://127.0.0.1:9" }))
  end)

  teardown(function()
    if srv then srv.stop() end
    H.rmdir(D)
  end)

  -- Runs every job over path in a fresh run directory; returns the leaks
  -- and the run directory. Each step is searched right after it ran (the
  -- outbox empties once a later step sends).
  local function run_all(tag, path, source_type, env_extra, secrets)
    local rundir = D .. "/run-" .. tag
    os.execute("mkdir -p " .. H.q(rundir))
    srv.reset()
    local env = { NUVYN_API_ENDPOINT = srv.url, NUVYN_API_KEY = API_KEY }
    for k, v in pairs(env_extra or {}) do env[k] = v end
    local noapi = {}
    for k, v in pairs(env) do if k ~= "NUVYN_API_ENDPOINT" then noapi[k] = v end end
    local steps = {
      { "metadata_extraction", { "run", "metadata_extraction", path, source_type or "auto", "t1", "--write-to-db" }, noapi },
      { "full_pipeline", { "run", "full_pipeline", path, source_type or "auto", "t1", "--write-to-db" }, env },
      { "full_pipeline (dead platform)", { "run", "full_pipeline", path, source_type or "auto", "t1", "--write-to-db",
                                           "--config", dead_cfg }, noapi },
      { "data_reading", { "run", "data_reading", path, source_type or "auto", "t1" }, noapi },
      { "quality_assessment", { "run", "quality_assessment", path, source_type or "auto", "t1" }, noapi },
      { "api_transmission", { "run", "api_transmission", "--fail-on", "never" }, env },
    }
    local leaks, outs = {}, {}
    for _, st in ipairs(steps) do
      local code, out, err = H.run(st[2], { cwd = rundir, env = st[3] })
      assert(code == 0 or code == 1, st[1] .. " exited " .. tostring(code) .. ": " .. tostring(err))
      outs[st[1]] = out
      for _, l in ipairs(find_leaks(secrets, { [st[1] .. " stdout"] = out, [st[1] .. " stderr"] = err }, rundir,
        srv.requests())) do
        leaks[#leaks + 1] = l
      end
    end
    return leaks, rundir, outs
  end

  for i, c in ipairs(local_cases) do
    it("masks " .. c.name .. " everywhere, keeping the path's structure", function()
      local dir = D .. "/src/" .. c.dir
      assert(os.execute("mkdir -p " .. H.q(dir)))
      H.write(dir .. "/" .. (c.file or "f.csv"), "id,name\n1,a\n2,b\n3,c\n")
      local leaks, rundir, outs = run_all("l" .. i, dir, "auto", c.env, c.secrets)
      assert.same({}, leaks)
      local want = D .. "/src/" .. c.masked
      -- the store row, the payload and stdout show the masked path
      local st = H.open_store(rundir)
      local rows = assert(st:query("SELECT source_path, status FROM " .. st:qualified("sources")))
      st:close()
      assert.is_true(#rows >= 1)
      for _, r in ipairs(rows) do
        assert.equal(want, r.source_path)
        assert.equal("success", r.status)
      end
      local sent = 0
      for _, r in ipairs(srv.requests()) do
        for _, s in ipairs(r.json.metadata.sources) do
          assert.equal(want, s.source_path)
          sent = sent + 1
        end
        assert.equal(1, #r.json.metadata.tables)
        assert.equal(2, #r.json.metadata.columns)
      end
      assert.is_true(sent >= 1)
      assert.equal(want, json.decode(outs.metadata_extraction).source_path)
      local reading = json.decode(outs.data_reading)
      assert.equal(1, reading.files_read) -- the previews were taken from the real path
    end)
  end

  for i, c in ipairs(remote_cases) do
    it("masks " .. c.name .. " in every output and failure message", function()
      local leaks = run_all("r" .. i, c.path, c.source_type, c.env, c.secrets)
      assert.same({}, leaks)
      assert.is_true(#srv.requests() >= 1) -- the failed source was still reported to the platform
    end)
  end

  -- with the object-store emulators (tests/servers/objectstores.sh): a
  -- prefix segment named token=… is read for real and masked everywhere
  local stores = H.object_stores("secrets")
  if #stores == 0 then
    pending("object stores: NVLUA_TEST_S3_ENDPOINT / NVLUA_TEST_AZURE_BLOB not set")
  end
  for i, os_ in ipairs(stores) do
    it("masks a token= prefix segment of a " .. os_.name .. " source that is read", function()
      assert(os_.put("token=EmuTokS" .. i .. "x/f.csv", "id,name\n1,a\n2,b\n"))
      local path = os_.path .. "/token=EmuTokS" .. i .. "x"
      local key = os_.config.aws and os_.config.aws.secret_access_key or os_.config.azure.account_key
      local leaks, rundir = run_all("o" .. i, path, os_.source_type, os_.env, { "EmuTokS" .. i .. "x", key })
      assert.same({}, leaks)
      local st = H.open_store(rundir)
      local rows = assert(st:query("SELECT source_path, status, tables_found FROM " .. st:qualified("sources")))
      st:close()
      assert.is_true(#rows >= 1)
      for _, r in ipairs(rows) do
        assert.equal(os_.path .. "/token=***", r.source_path)
        assert.equal("success", r.status)
        assert.equal(1, r.tables_found)
      end
    end)
  end

  it("masks every source of a parallel multi-source run (the workers' models too)", function()
    local a, b = D .. "/src/m?sig=MultiSigA1", D .. "/src/n?token=MultiTokB2"
    for _, d in ipairs({ a, b }) do
      assert(os.execute("mkdir -p " .. H.q(d)))
      H.write(d .. "/f.csv", "id\n1\n2\n")
    end
    local cfg = D .. "/multi.json"
    H.write(cfg, json.encode({ workflow_id = "wf1", workers = 2, sources = json.array({
      { source_id = "a", data_source_path = a }, { source_id = "b", data_source_path = b },
      { source_id = "c", data_source_path = "postgresql://nvu:MultiPgC3@127.0.0.1:9/db" } }) }))
    local rundir = D .. "/run-multi"
    os.execute("mkdir -p " .. H.q(rundir))
    srv.reset()
    local code, out, err = H.run({ "run", "full_pipeline", "--config", cfg, "--write-to-db", "--fail-on", "never" },
      { cwd = rundir, env = { NUVYN_API_ENDPOINT = srv.url, NUVYN_API_KEY = API_KEY } })
    assert(code == 0 or code == 1, err)
    assert.same({}, find_leaks({ "MultiSigA1", "MultiTokB2", "MultiPgC3" }, { stdout = out, stderr = err }, rundir,
      srv.requests()))
    local paths = {}
    for _, r in ipairs(srv.requests()) do
      for _, s in ipairs(r.json.metadata.sources) do paths[s.source_id] = s.source_path end
    end
    assert.same({ a = D .. "/src/m?sig=***", b = D .. "/src/n?token=***", c = "postgresql://nvu:***@127.0.0.1:9/db" },
      paths)
  end)
end)
