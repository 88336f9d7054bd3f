-- Azure Blob sources: URL forms (blob, dfs, abfss, wasbs, path-style, SAS),
-- connection strings, the List Blobs parser, and — against azurite from
-- tests/servers/objectstores.sh — Shared Key auth (azurite checks it), a
-- service SAS signed here, pagination, ranged GETs, materialize, and
-- masked messages. Without NVLUA_TEST_AZURE_BLOB the emulator tests are
-- reported pending:  eval "$(tests/servers/objectstores.sh start /tmp/nvlua-npm)"
local H = require "helper"
local azure = require "nv.azure"
local remote = require "nv.remote"
local objstore = require "nv.objstore"
local log = require "nv.log"

local BLOB = os.getenv("NVLUA_TEST_AZURE_BLOB")

describe("nv.azure URLs", function()
  local cases = {
    { "https://acct.blob.core.windows.net/cont/dir/file.csv",
      { account = "acct", container = "cont", prefix = "dir/file.csv", base = "https://acct.blob.core.windows.net" } },
    { "https://acct.dfs.core.windows.net/cont/",
      { account = "acct", container = "cont", prefix = "", base = "https://acct.blob.core.windows.net" } },
    { "abfss://cont@acct.dfs.core.windows.net/raw/sales",
      { account = "acct", container = "cont", prefix = "raw/sales", base = "https://acct.blob.core.windows.net" } },
    { "abfss://cont@acct.dfs.core.chinacloudapi.cn/p",
      { account = "acct", container = "cont", prefix = "p", base = "https://acct.blob.core.chinacloudapi.cn" } },
    { "wasbs://cont@acct.blob.core.windows.net/a%20b",
      { account = "acct", container = "cont", prefix = "a b", base = "https://acct.blob.core.windows.net" } },
    { "http://127.0.0.1:10000/devstoreaccount1/cont/p/",
      { account = "devstoreaccount1", container = "cont", prefix = "p/", base = "http://127.0.0.1:10000/devstoreaccount1",
        path_style = true } },
  }
  for _, c in ipairs(cases) do
    it("parses " .. c[1], function() assert.same(c[2], assert(azure.parse_url(c[1]))) end)
  end
  it("keeps a SAS query, registers its sig and masks it in display URLs", function()
    local loc = assert(azure.parse_url("https://acct.blob.core.windows.net/c/f.csv?sp=r&st=2025-01-01&sig=AbC%2Bsecret%3D&sv=2022-11-02"))
    assert.equal("sp=r&st=2025-01-01&sig=AbC%2Bsecret%3D&sv=2022-11-02", loc.sas)
    assert.equal("x *** y ***", log.mask("x AbC%2Bsecret%3D y AbC+secret="))
    local c = assert(azure.client(loc, {}))
    assert.equal("https://acct.blob.core.windows.net/c/f.csv?sp=r&st=2025-01-01&sig=***&sv=2022-11-02", c:display("f.csv"))
  end)
  it("names a URL it cannot use", function()
    local loc, err = azure.parse_url("http://127.0.0.1:10000/devstoreaccount1")
    assert.is_nil(loc)
    assert.equal("http://127.0.0.1:10000/devstoreaccount1: expected /ACCOUNT/CONTAINER/PREFIX in a path-style URL", err)
    loc, err = azure.parse_url("ftp://x/y")
    assert.is_nil(loc)
    assert.equal("ftp://x/y: not an Azure Blob URL", err)
  end)
end)

describe("connection strings", function()
  it("reads account, key, suffix and protocol, and registers the key", function()
    local cs = assert(azure.parse_connection_string(
      "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=S2V5LWZvci1jb25uLXN0cmluZw==;EndpointSuffix=core.windows.net"))
    assert.same({ account_name = "acct", account_key = "S2V5LWZvci1jb25uLXN0cmluZw==", protocol = "https",
                  endpoint_suffix = "core.windows.net", blob_endpoint = "https://acct.blob.core.windows.net" }, cs)
    assert.equal("k=***", log.mask("k=S2V5LWZvci1jb25uLXN0cmluZw=="))
  end)
  it("accepts BlobEndpoint, SharedAccessSignature and UseDevelopmentStorage", function()
    local cs = assert(azure.parse_connection_string("BlobEndpoint=http://127.0.0.1:1/devstoreaccount1/;SharedAccessSignature=?sv=1&sig=Zm9vYmFy"))
    assert.equal("http://127.0.0.1:1/devstoreaccount1", cs.blob_endpoint)
    assert.equal("sv=1&sig=Zm9vYmFy", cs.sas)
    cs = assert(azure.parse_connection_string("UseDevelopmentStorage=true"))
    assert.equal("devstoreaccount1", cs.account_name)
    assert.equal(azure.dev_key, cs.account_key)
  end)
  local bad = {
    { "", "empty connection string" },
    { "AccountName", "malformed connection string (expected Key=Value;…)" },
    { "AccountKey=abcd", "connection string has neither AccountName nor BlobEndpoint" },
  }
  for _, c in ipairs(bad) do
    it("refuses '" .. c[1] .. "'", function()
      local cs, err = azure.parse_connection_string(c[1])
      assert.is_nil(cs)
      assert.equal(c[2], err)
    end)
  end
end)

describe("Shared Key and SAS strings to sign", function()
  it("canonicalizes x-ms headers and query parameters", function()
    local sts = azure.string_to_sign("GET", "/devstoreaccount1/c", { restype = "container", comp = "list", prefix = "p/" },
      { ["x-ms-version"] = "2021-12-02", ["x-ms-date"] = "Mon, 27 Jan 2014 22:18:24 GMT", ["content-length"] = "0",
        ["if-match"] = '"0x1"', ["x-ms-range"] = "bytes=0-9" }, "devstoreaccount1")
    assert.equal("GET\n\n\n\n\n\n\n\n\"0x1\"\n\n\n\n"
      .. "x-ms-date:Mon, 27 Jan 2014 22:18:24 GMT\nx-ms-range:bytes=0-9\nx-ms-version:2021-12-02\n"
      .. "/devstoreaccount1/devstoreaccount1/c\ncomp:list\nprefix:p/\nrestype:container", sts)
  end)
  it("signs with HMAC-SHA256 (RFC 4231 test case 2)", function()
    assert.equal("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      objstore.hex(objstore.hmac_sha256("Jefe", "what do ya want for nothing?")))
    assert.equal("aGVsbG8=", objstore.base64("hello"))
    assert.equal("hello", objstore.unbase64("aGVsbG8="))
    assert.is_nil(objstore.unbase64("a*b"))
  end)
end)

describe("List Blobs parsing", function()
  it("returns blobs, sizes, RFC 1123 times, etags and NextMarker", function()
    local doc = assert(objstore.parse_list([[<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="https://a.blob.core.windows.net/" ContainerName="c"><Prefix>p/</Prefix>
<Blobs><Blob><Name>p/a.csv</Name><Properties><Last-Modified>Mon, 27 Jan 2014 22:18:24 GMT</Last-Modified>
<Etag>0x8D0</Etag><Content-Length>42</Content-Length></Properties><Metadata><Name>ignored</Name></Metadata></Blob>
<BlobPrefix><Name>p/sub/</Name></BlobPrefix></Blobs><NextMarker>2!80!MDAw</NextMarker></EnumerationResults>]]))
    assert.equal("azure", doc.kind)
    assert.same({ { key = "p/a.csv", size = 42, last_modified = 1390861104, etag = "0x8D0" } }, doc.entries)
    assert.equal("2!80!MDAw", doc.next)
    assert.is_true(doc.truncated)
    doc = assert(objstore.parse_list("<EnumerationResults><Blobs/><NextMarker/></EnumerationResults>"))
    assert.is_false(doc.truncated)
  end)
end)

if not BLOB or BLOB == "" then
  describe("Azure Blob against azurite", function()
    pending("SKIPPED: NVLUA_TEST_AZURE_BLOB is not set; run eval \"$(tests/servers/objectstores.sh start /tmp/nvlua-npm)\" first")
  end)
  return
end

describe("Azure Blob against azurite", function()
  local container = "spec" .. require("nv.sys").random_hex(4)
  local base = BLOB .. "/" .. container
  local conn = string.format("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=%s;BlobEndpoint=%s;",
    azure.dev_key, BLOB)
  local dir
  local blobs = {}

  local function client(url, az)
    return assert(azure.client(assert(azure.parse_url(url)), az or { account_key = azure.dev_key, retries = 0 }))
  end
  local function sas(perms, blob)
    return azure.service_sas { account = "devstoreaccount1", key = azure.dev_key, container = container, blob = blob,
                               permissions = perms, expiry = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() + 3600) }
  end

  setup(function()
    dir = H.tmpdir()
    local c = client(base .. "/")
    assert(c:create_container())
    for i = 1, 5 do
      local name = string.format("sales/region=%s/part-%d.csv", i % 2 == 0 and "eu" or "us", i)
      blobs[name] = "id,v\n" .. i .. ",x" .. i .. "\n"
      assert(c:put(name, blobs[name]))
    end
    assert(c:put("sales/_delta_log/0.json", "{}"))
    assert(c:put("big.csv", "a,b\n" .. ("1,2\n"):rep(1000)))
  end)
  teardown(function() H.rmdir(dir) end)

  it("lists with Shared Key across pages (maxresults 2)", function()
    local c = client(base .. "/")
    local all = assert(c:list("sales/", { max_results = 2 }))
    assert.equal(6, #all)
    assert.equal("sales/_delta_log/0.json", all[1].key)
    assert.equal("sales/region=us/part-5.csv", all[6].key)
    assert.equal(#blobs["sales/region=us/part-5.csv"], all[6].size)
    assert.is_number(all[6].last_modified)
    local one, err = c:list("sales/", { max_results = 2, max_pages = 1 })
    assert.is_nil(one)
    assert.equal(base .. "/sales/: listing has too many pages", err)
  end)

  it("gets a clear 403 for a wrong account key", function()
    local wrong = azure.dev_key:gsub("^E", "F")
    local c = client(base .. "/", { account_key = wrong, retries = 0 })
    local all, err = c:list("sales/")
    assert.is_nil(all)
    assert.equal(base .. "/sales/: 403 Forbidden (AuthorizationFailure)", err)
  end)

  it("reads byte ranges", function()
    local r = assert(client(base .. "/"):get("big.csv", { range = "bytes=4-7" }))
    assert.equal(206, r.status)
    assert.equal("1,2\n", r.body)
  end)

  it("lists and reads through a service SAS signed with the account key", function()
    local q = sas("rl")
    local c = client(base .. "/sales?" .. q, { retries = 0 })
    local all = assert(c:list("sales/", { max_results = 4 }))
    assert.equal(6, #all)
    local r = assert(c:get("sales/region=eu/part-2.csv"))
    assert.equal(blobs["sales/region=eu/part-2.csv"], r.body)
    -- a read-only SAS cannot list; a tampered signature is refused
    local ro = client(base .. "/sales?" .. sas("r"), { retries = 0 })
    local none, err = ro:list("sales/")
    assert.is_nil(none)
    assert.truthy(err:match("^" .. base:gsub("%p", "%%%0") .. "/sales/%?.*sig=%*%*%*.*: 403 Forbidden %(%a+%)$"), err)
    local bad = client(base .. "/sales?" .. q:gsub("sig=[^&]+", "sig=AAAA" .. ("A"):rep(40)), { retries = 0 })
    none, err = bad:list("sales/")
    assert.is_nil(none)
    assert.truthy(err:find(": 403 Forbidden (AuthorizationFailure)", 1, true), err)
  end)

  it("materializes a prefix through the connection string", function()
    local ctx = { config = { azure = { connection_string = conn } } }
    local files, errors, cleanup = remote.materialize(ctx,
      { source_id = "a1", data_source_path = base .. "/sales", source_type = "azure_blob" }, { tmpdir = dir, page_size = 2 })
    assert.is_table(files, errors)
    assert.same({}, errors)
    assert.equal(5, #files) -- _delta_log skipped
    for _, f in ipairs(files) do
      assert.equal(blobs["sales/" .. f.rel], H.read(f.path))
      assert.equal(base .. "/sales/" .. f.rel, f.url)
    end
    local groups = require("nv.filesource").group(files, "sales")
    assert.equal(1, #groups)
    assert.same({ "region" }, groups[1].partition_columns)
    cleanup()
    assert.is_nil(H.read(files[1].path))
  end)

  it("materializes the sample budget of an object through a SAS URL", function()
    local files, errors, cleanup = remote.materialize({ config = {} },
      { data_source_path = base .. "/big.csv?" .. sas("rl"), source_type = "azure_blob" }, { tmpdir = dir, max_bytes = 10 })
    assert.same({}, errors)
    assert.equal(1, #files)
    assert.is_true(files[1].partial)
    assert.equal(4004, files[1].size)
    assert.equal("a,b\n1,2\n", H.read(files[1].path))
    assert.truthy(files[1].url:find("sig=***", 1, true))
    cleanup()
  end)

  it("reports a missing container and a refused connection", function()
    local files, err = remote.materialize({ config = { azure = { connection_string = conn } } },
      { data_source_path = BLOB .. "/nosuch" .. container .. "/x", source_type = "azure_blob" }, { tmpdir = dir })
    assert.is_nil(files)
    assert.equal(BLOB .. "/nosuch" .. container .. "/x: 404 Not Found (ContainerNotFound)", err)
    local p = io.popen([[python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])']])
    local free = p:read("l")
    p:close()
    files, err = remote.materialize({ config = {} },
      { data_source_path = "http://127.0.0.1:" .. free .. "/devstoreaccount1/c?sv=2020-12-06&sig=S1gSecretValue%3D",
        source_type = "azure_blob" }, { tmpdir = dir, retries = 0 })
    assert.is_nil(files)
    assert.equal("http://127.0.0.1:" .. free .. "/devstoreaccount1/c/?sv=2020-12-06&sig=***: connection refused", err)
  end)

  it("never shows the account key or a SAS sig in output or logs", function()
    local q = sas("rl")
    local sig = q:match("sig=([^&]+)")
    local script = dir .. "/leak.lua"
    H.write(script, string.format([[
local remote = require "nv.remote"
local log = require "nv.log"
assert(log.open_file(%q))
local conn = %q
local files, errs, cleanup = remote.materialize({ config = { azure = { connection_string = conn } } },
  { data_source_path = %q, source_type = "azure_blob" }, {})
print(#files, #errs)
cleanup()
local _, err = remote.materialize({ config = { azure = { connection_string = conn:gsub("AccountKey=E", "AccountKey=F") } } },
  { data_source_path = %q, source_type = "azure_blob" }, { retries = 0 })
print(err)
log.write("ERROR", "remote", err)
local f2, e2, c2 = remote.materialize({ config = {} }, { data_source_path = %q, source_type = "azure_blob" }, {})
for _, f in ipairs(f2) do print(f.url) end
c2()
log.write("ERROR", "spec", "raw " .. conn .. " " .. %q)
]], dir .. "/leak.log", conn, base .. "/sales", base .. "/sales", base .. "/sales?" .. q, sig))
    local code, out, err = H.run({ script })
    assert.equal(0, code, err)
    assert.truthy(out:find("5\t0", 1, true), out)
    assert.truthy(out:find("403 Forbidden (AuthorizationFailure)", 1, true), out)
    assert.truthy(out:find("sig=***", 1, true), out)
    local logs = assert(H.read(dir .. "/leak.log"))
    local decoded = sig:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    for _, text in ipairs({ out, err, logs }) do
      assert.is_nil(text:find(azure.dev_key, 1, true))
      assert.is_nil(text:find(sig, 1, true))
      assert.is_nil(text:find(decoded, 1, true))
    end
  end)
end)
