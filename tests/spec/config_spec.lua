local config = require "nv.config"

local function env(t)
  return function(k) return t[k] end
end

local function tmpfile(text)
  local p = os.tmpname()
  local f = assert(io.open(p, "w"))
  f:write(text)
  f:close()
  return p
end

describe("nv.config", function()
  it("applies defaults", function()
    local cfg = assert(config.load({ args = {}, getenv = env({}) }))
    assert.equal("auto", cfg.source_type)
    assert.equal("default", cfg.tenant_id)
    assert.is_false(cfg.write_to_db)
  end)

  it("reads the seed executor's positional arguments and flags", function()
    local cfg = assert(config.load({ args = { "/dbfs/mnt/data/", "csv", "client-123", "--write-to-db" },
                                     getenv = env({}) }))
    assert.equal("/dbfs/mnt/data/", cfg.data_source_path)
    assert.equal("csv", cfg.source_type)
    assert.equal("client-123", cfg.tenant_id)
    assert.is_true(cfg.write_to_db)
  end)

  it("ranks command line > NUVYN_JOB_PAYLOAD > --config > environment", function()
    local file = tmpfile('{"tenant_id":"from-file","source_type":"parquet","store":"file.db","log_dir":"fdir"}')
    local e = env({
      NUVYN_JOB_PAYLOAD = '{"tenant_id":"from-payload","data_source_type":"json"}',
      EXECUTOR_LOG_DIR = "envdir", NVLUA_STORE = "env.db", EXECUTOR_WRITE_TO_DB = "true",
    })
    local cfg = assert(config.load({ args = { "", "", "from-cli", "--config", file }, getenv = e }))
    os.remove(file)
    assert.equal("from-cli", cfg.tenant_id)        -- cli beats payload
    assert.equal("json", cfg.source_type)          -- payload beats file (spec 003 name)
    assert.equal("file.db", cfg.store)             -- file beats env
    assert.equal("fdir", cfg.log_dir)
    assert.is_true(cfg.write_to_db)                -- env beats default
  end)

  it("maps the documented environment variables", function()
    local cfg = assert(config.load({ args = {}, getenv = env({
      NUVYN_API_ENDPOINT = "https://p", NUVYN_API_KEY = "k",
      DATABRICKS_SERVER_HOSTNAME = "h", DATABRICKS_HTTP_PATH = "/sql/1.0/warehouses/w",
      DATABRICKS_ACCESS_TOKEN = "t", AWS_REGION = "eu-west-1",
      AZURE_STORAGE_CONNECTION_STRING = "cs", EXECUTOR_LOG_LEVEL = "DEBUG",
    }) }))
    assert.equal("https://p", cfg.api_endpoint)
    assert.equal("k", cfg.api_key)
    assert.same({ server_hostname = "h", http_path = "/sql/1.0/warehouses/w", access_token = "t" }, cfg.databricks)
    assert.equal("eu-west-1", cfg.aws.region)
    assert.equal("cs", cfg.azure.connection_string)
    assert.equal("DEBUG", cfg.log_level)
  end)

  -- usage errors: exact text, naming the field or the source
  local cases = {
    { "invalid payload JSON", {}, { NUVYN_JOB_PAYLOAD = "{nope" },
      "^invalid JSON in NUVYN_JOB_PAYLOAD: " },
    { "payload not an object", {}, { NUVYN_JOB_PAYLOAD = "[1]" },
      "^invalid JSON in NUVYN_JOB_PAYLOAD: expected an object$" },
    { "bad boolean env", {}, { EXECUTOR_WRITE_TO_DB = "maybe" },
      "^EXECUTOR_WRITE_TO_DB must be true or false, got 'maybe'$" },
    { "unknown option", { "--frob" }, {}, "^unknown option '%-%-frob'$" },
    { "misspelt option", { "--wrte-to-db" }, {}, "^unknown option '%-%-wrte%-to%-db' %(did you mean %-%-write%-to%-db%?%)$" },
    { "misspelt option with a value", { "--stor=sqlite:x.db" }, {},
      "^unknown option '%-%-stor=sqlite:x%.db' %(did you mean %-%-store%?%)$" },
    { "option without value", { "--store" }, {}, "^option '%-%-store' needs a value$" },
    { "too many positionals", { "a", "b", "c", "d" }, {},
      "^unexpected argument 'd' %(at most: data_source_path source_type tenant_id%)$" },
    { "missing config file", { "--config", "/nonexistent.json" }, {},
      "^cannot read %-%-config file: /nonexistent.json: No such file or directory$" },
    { "sources without workflow_id", {}, { NUVYN_JOB_PAYLOAD = '{"sources":[{"source_id":"a"}]}' },
      "^missing required field 'workflow_id' %(required with 'sources'%)$" },
    { "source without source_id", {},
      { NUVYN_JOB_PAYLOAD = '{"workflow_id":"w","sources":[{"source_id":"a"},{"data_source_path":"/x"}]}' },
      "^missing required field 'sources%[2%]%.source_id'$" },
    { "tenant of the wrong type", {}, { NUVYN_JOB_PAYLOAD = '{"tenant_id":{"x":1}}' },
      "^field 'tenant_id' must be a string$" },
  }
  for _, c in ipairs(cases) do
    it("rejects " .. c[1], function()
      local cfg, err = config.load({ args = c[2], getenv = env(c[3]) })
      assert.is_nil(cfg)
      assert.matches(c[4], err)
    end)
  end

  it("reports invalid JSON in --config naming the file", function()
    local file = tmpfile("{ broken")
    local cfg, err = config.load({ args = { "--config=" .. file }, getenv = env({}) })
    os.remove(file)
    assert.is_nil(cfg)
    assert.matches("^invalid JSON in %-%-config " .. file:gsub("%p", "%%%0") .. ": ", err)
  end)

  it("accepts spec 003's multi-source payload", function()
    local cfg = assert(config.load({ args = {}, getenv = env({ NUVYN_JOB_PAYLOAD = [[
      {"job_type":"metadata_extraction","workflow_id":"workflow_123","sources":[
        {"source_id":"source_1","data_source_path":"https://s1/c1","data_source_type":"azure_blob"},
        {"source_id":"source_2","data_source_path":"https://s2/c2","data_source_type":"azure_blob"}]}]] }) }))
    assert.equal("workflow_123", cfg.workflow_id)
    assert.equal(2, #cfg.sources)
    assert.equal("azure_blob", cfg.sources[2].source_type)
  end)

  it("finds every secret in the configuration", function()
    local found = {}
    config.register_secrets({
      api_key = "k1", databricks = { access_token = "dapi-x" }, aws = { secret_access_key = "aws-s" },
      azure = { connection_string = "AccountName=a;AccountKey=KEY==;" },
      data_source_path = "https://a.blob.core.windows.net/c?sp=r&sig=SIG%2F&se=1",
      sources = { { source_id = "s", password = "pw1" } },
      store = "postgresql://u:dbpass@h/db", tenant_id = "not-a-secret",
    }, function(s) found[s] = true end)
    for _, s in ipairs({ "k1", "dapi-x", "aws-s", "KEY==", "SIG%2F", "pw1", "dbpass" }) do
      assert.is_true(found[s], s)
    end
    assert.is_nil(found["not-a-secret"])
  end)
  -- issue 11: an unknown source_type is a usage error before the job runs
  it("refuses an unknown source_type, naming the known ones and the nearest", function()
    local cases = {
      { { "/d", "parquett" }, {}, "^unknown source_type 'parquett' %(did you mean parquet%?%); known types: .*auto, .*csv" },
      { { "/d", "zzzz" }, {}, "^unknown source_type 'zzzz'; known types: adls, " },
      { {}, { NUVYN_JOB_PAYLOAD = '{"data_source_type":"azureblob"}' }, "did you mean azure_blob%?" },
      { {}, { NUVYN_JOB_PAYLOAD = [[{"workflow_id":"w","sources":[{"source_id":"a","data_source_path":"/x",
          "data_source_type":"postgress"}]}]] }, "^unknown sources%[1%]%.source_type 'postgress' %(did you mean postgres%?%)" },
    }
    for _, c in ipairs(cases) do
      local cfg, err = config.load({ args = c[1], getenv = env(c[2]) })
      assert.is_nil(cfg)
      assert.matches(c[3], err)
    end
  end)

  it("keeps every source type that works today, normalized to lower case", function()
    for _, t in ipairs({ "auto", "csv", "tsv", "json", "ndjson", "jsonl", "parquet", "delta", "xlsx", "excel",
                         "aws_s3", "s3", "azure_blob", "azure", "adls", "adls_gen2", "azure_datalake", "postgresql",
                         "postgres", "mysql", "mariadb", "odbc", "snowflake", "sqlserver", "databricks_sql",
                         "unity_catalog", "databricks", "uc" }) do
      local cfg = assert(config.load({ args = { "/d", t:upper() }, getenv = env({}) }))
      assert.equal(t, cfg.source_type)
    end
    assert.equal("auto", assert(config.load({ args = {}, getenv = env({}) })).source_type)
  end)

  it("takes --fail-on and success_threshold, refusing invalid values", function()
    assert.equal("partial", assert(config.load({ args = {}, getenv = env({}) })).fail_on)
    assert.equal("never", assert(config.load({ args = { "--fail-on", "never" }, getenv = env({}) })).fail_on)
    assert.equal("warnings", assert(config.load({ args = {}, getenv = env({
      NUVYN_JOB_PAYLOAD = '{"fail_on":"warnings","success_threshold":"90"}' }) })).fail_on)
    assert.equal(90, assert(config.load({ args = {}, getenv = env({
      NUVYN_JOB_PAYLOAD = '{"success_threshold":"90"}' }) })).success_threshold)
    local cfg, err = config.load({ args = { "--fail-on=sometimes" }, getenv = env({}) })
    assert.is_nil(cfg)
    assert.equal("invalid fail_on 'sometimes' (partial, warnings, never)", err)
    for _, v in ipairs({ "101", "-1", "x" }) do
      cfg, err = config.load({ args = {}, getenv = env({ NUVYN_JOB_PAYLOAD = '{"success_threshold":"' .. v .. '"}' }) })
      assert.is_nil(cfg)
      assert.equal("invalid success_threshold '" .. v .. "' (a percentage from 0 to 100)", err)
    end
  end)
  it("takes every module's source types from the one registry (nv.connectors)", function()
    local reg = require "nv.connectors"
    -- the readers' names and aliases (host/readers/readers.c), and delta
    assert.same({ csv = "csv", tsv = "csv", json = "json", ndjson = "json", jsonl = "json", geojson = "json",
                  parquet = "parquet", pq = "parquet", delta = "parquet", xlsx = "xlsx", excel = "xlsx",
                  xlsm = "xlsx" }, require("nv.filesource").explicit_formats)
    -- the database kinds: every alias of the catalog connectors nv.dbsource serves
    local db = {}
    for _, c in ipairs(reg.list()) do
      if c.engine then for _, a in ipairs(c.source_types) do db[a] = true end end
    end
    assert.same({ postgresql = true, postgres = true, mysql = true, mariadb = true, odbc = true, snowflake = true,
                  sqlserver = true, databricks_sql = true, sqlite = true }, db)
    assert.same({ postgresql = "postgresql", postgres = "postgresql", mysql = "mysql", mariadb = "mysql",
                  odbc = "odbc", snowflake = "odbc", sqlserver = "odbc", databricks_sql = "odbc", sqlite = "sqlite" },
                require("nv.dbsource").kinds())
    assert.same({ unity_catalog = true, databricks = true, uc = true }, require("nv.unitycatalog").source_types)
    for _, a in ipairs(reg.get("unity_catalog").source_types) do
      assert.is_true(require("nv.unitycatalog").source_types[a], a)
    end
    local remote = require "nv.remote"
    for _, name in ipairs(reg.type_names()) do
      local c = reg.for_type(name)
      local want = c and (c.name == "s3" or c.name == "azure") and c.name or nil
      assert.equal(want, remote.is_remote("/local/path", name), name)
    end
    -- a source type that needs a connection string says so instead of guessing
    local kind, err = require("nv.dbsource").resolve({ source_type = "snowflake", data_source_path = "acct" })
    assert.is_nil(kind)
    assert.equal("a snowflake source needs an ODBC connection string (odbc:Driver=…;… or odbc:DSN=…)", err)
    local sug = require "nv.suggest"
    assert.equal("parquet", sug.nearest("parquett", reg.type_names()))
    assert.equal("azure_blob", sug.nearest("azureblob", reg.type_names()))
    assert.is_nil(sug.nearest("zzzz", reg.type_names()))
    assert.is_nil(sug.nearest("c", reg.type_names())) -- too short to guess
    local _, msg = reg.check("parquett")
    assert.matches("unknown source_type 'parquett' (did you mean parquet?); known types: ", msg, 1, true)
  end)
end)
