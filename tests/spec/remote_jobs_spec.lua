-- The extraction jobs on object stores, end to end against the emulators
-- (s3rver, azurite): one partitioned table per prefix, object URLs (not temp
-- paths) in results and rows, secrets nowhere in the output.
local H = require "helper"
local json = require "nv.json"
local sys = require "nv.sys"

local S3 = os.getenv("NVLUA_TEST_S3_ENDPOINT")
local BUCKET = os.getenv("NVLUA_TEST_S3_BUCKET") or "nvlua-test"
local BLOB = os.getenv("NVLUA_TEST_AZURE_BLOB")

local function by_name(list)
  local t = {}
  for _, x in ipairs(list) do t[x.table_name] = x end
  return t
end

local function check_no_secret(secret, ...)
  for _, text in ipairs({ ... }) do assert.is_nil(text:find(secret, 1, true)) end
end

describe("extraction from object stores", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  if not S3 or S3 == "" then
    it("S3 (emulator)", function() pending("SKIPPED: NVLUA_TEST_S3_ENDPOINT is not set") end)
  else
    it("profiles a partitioned S3 prefix as one table (s3rver emulator)", function()
      local s3 = require "nv.s3"
      local run = "jobs-" .. sys.random_hex(4)
      local client = s3.client({ access_key_id = "S3RVER", secret_access_key = "S3RVER", endpoint_url = S3, retries = 0 })
      for i = 1, 3 do
        assert(client:put(BUCKET, string.format("%s/sales/year=202%d/part-0.csv", run, i), "id,amount\n" .. i .. ",1.5\n" .. (i + 10) .. ",2.5\n"))
      end
      assert(client:put(BUCKET, run .. "/sales/_SUCCESS", ""))
      local env = { AWS_ACCESS_KEY_ID = "S3RVER", AWS_SECRET_ACCESS_KEY = "S3RVER", AWS_ENDPOINT_URL = S3,
                    AWS_REGION = "us-east-1" }
      local code, out, err = H.run({ "run", "metadata_extraction", "s3://" .. BUCKET .. "/" .. run, "aws_s3", "t",
                                     "--write-to-db" }, { cwd = dir, env = env })
      assert.equal(0, code, err)
      local r = json.decode(out)
      assert.equal("success", r.extraction_status)
      assert.equal(3, r.files_found)
      local t = by_name(r.tables).sales
      assert.equal(6, t.row_count)
      assert.same({ "year" }, t.partition_columns)
      assert.matches("^s3://" .. BUCKET:gsub("%p", "%%%0") .. "/", t.files[1].path)
      local st = H.open_store(dir)
      local rows = st:query("SELECT file_path FROM _executor_metadata.tables")
      st:close()
      assert.matches("^s3://", rows[1].file_path)
    end)
  end

  if not BLOB or BLOB == "" then
    it("Azure Blob (emulator)", function() pending("SKIPPED: NVLUA_TEST_AZURE_BLOB is not set") end)
  else
    it("profiles an Azure container prefix with a connection string (azurite emulator)", function()
      local azure = require "nv.azure"
      local container = "jobs" .. sys.random_hex(4)
      local conn = string.format("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=%s;BlobEndpoint=%s;",
        azure.dev_key, BLOB)
      local c = assert(azure.client(assert(azure.parse_url(BLOB .. "/" .. container .. "/")),
        { account_key = azure.dev_key, retries = 0 }))
      assert(c:create_container())
      assert(c:put("data/customers.csv", "id,email\n1,a@example.com\n2,b@example.com\n"))
      assert(c:put("data/events.ndjson", '{"id":1,"k":"x"}\n{"id":2}\n'))
      local code, out, err = H.run({ "run", "metadata_extraction", BLOB .. "/" .. container .. "/data", "azure_blob" },
        { cwd = dir, env = { AZURE_STORAGE_CONNECTION_STRING = conn } })
      assert.equal(0, code, err)
      local r = json.decode(out)
      local t = by_name(r.tables)
      assert.equal(2, t["customers.csv"].row_count)
      assert.equal(2, t["events.ndjson"].row_count)
      check_no_secret(azure.dev_key, out, err)
      -- a wrong key: the source fails with a clear error, the key masked
      local bad = conn:gsub("AccountKey=[^;]+", "AccountKey=" .. ("QUJD"):rep(22))
      code, out = H.run({ "run", "metadata_extraction", BLOB .. "/" .. container .. "/data", "azure_blob" },
        { cwd = dir, env = { AZURE_STORAGE_CONNECTION_STRING = bad } })
      assert.equal(1, code)
      r = json.decode(out)
      assert.matches("403", r.error)
      check_no_secret(("QUJD"):rep(22), out)
    end)
  end
end)
