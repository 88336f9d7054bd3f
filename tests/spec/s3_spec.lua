-- Amazon S3 sources: URL parsing, the ListObjectsV2 parser, libcurl's SigV4
-- checked against AWS's published example, and — against s3rver from
-- tests/servers/objectstores.sh — pagination, ranged GETs, the download
-- cap, nv.remote.materialize of a partitioned prefix, and error messages.
-- Without NVLUA_TEST_S3_ENDPOINT the emulator tests are reported pending:
--   eval "$(tests/servers/objectstores.sh start /tmp/nvlua-npm)"
local H = require "helper"
local s3 = require "nv.s3"
local remote = require "nv.remote"
local objstore = require "nv.objstore"
local http = require "nv.http"
local log = require "nv.log"

local ENDPOINT = os.getenv("NVLUA_TEST_S3_ENDPOINT")
local BUCKET = os.getenv("NVLUA_TEST_S3_BUCKET") or "nvlua-test"

describe("nv.s3 URLs", function()
  local cases = {
    { "s3://bucket/some/prefix", { bucket = "bucket", prefix = "some/prefix" } },
    { "s3://bucket", { bucket = "bucket", prefix = "" } },
    { "s3a://my.bucket-1//data/", { bucket = "my.bucket-1", prefix = "data/" } },
  }
  for _, c in ipairs(cases) do
    it("parses " .. c[1], function() assert.same(c[2], assert(s3.parse_url(c[1]))) end)
  end
  it("rejects what is not an s3 URL, naming it", function()
    local ok, err = s3.parse_url("https://bucket/x")
    assert.is_nil(ok)
    assert.equal("https://bucket/x: not an s3://bucket/prefix URL", err)
    ok, err = s3.parse_url("s3://-bad/x")
    assert.is_nil(ok)
    assert.equal("s3://-bad/x: invalid bucket name '-bad'", err)
  end)
  it("builds virtual-hosted, dotted-bucket and custom-endpoint URLs", function()
    assert.equal("https://b.s3.eu-west-1.amazonaws.com/k%3D1/a%20b.csv",
      s3.client({ region = "eu-west-1" }):url("b", "k=1/a b.csv"))
    assert.equal("https://s3.us-east-1.amazonaws.com/a.b/x", s3.client({}):url("a.b", "x"))
    assert.equal("http://127.0.0.1:9/b/x?list-type=2&prefix=p%2F",
      s3.client({ endpoint_url = "http://127.0.0.1:9/" }):url("b", "x", s3.query { prefix = "p/", ["list-type"] = 2 }))
  end)
  it("tells S3 and Azure sources from local paths", function()
    assert.equal("s3", remote.is_remote("s3://b/p"))
    assert.equal("s3", remote.is_remote("bucket/p", "aws_s3"))
    assert.equal("azure", remote.is_remote("abfss://c@a.dfs.core.windows.net/p"))
    assert.equal("azure", remote.is_remote("https://a.blob.core.windows.net/c/p?sig=x"))
    assert.equal("azure", remote.is_remote("http://127.0.0.1:10000/devstoreaccount1/c", "azure_blob"))
    assert.is_nil(remote.is_remote("/dbfs/data", "csv"))
    assert.is_nil(remote.is_remote("https://example.com/x.csv"))
  end)
end)

describe("ListObjectsV2 parsing", function()
  local page = [[<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><IsTruncated>true</IsTruncated>
<Contents><Key>a/x&amp;y.csv</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified><ETag>&quot;fba9&quot;</ETag><Size>434234</Size></Contents>
<Contents><Key>a/empty</Key><Size>0</Size></Contents>
<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken></ListBucketResult>]]
  it("returns entries, the continuation token and IsTruncated", function()
    local doc = assert(objstore.parse_list(page))
    assert.equal("s3", doc.kind)
    assert.is_true(doc.truncated)
    assert.equal("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=", doc.next)
    assert.same({ key = "a/x&y.csv", size = 434234, last_modified = 1255369830, etag = '"fba9"' }, doc.entries[1])
    assert.same({ key = "a/empty", size = 0 }, doc.entries[2])
  end)
  it("reads <Error> documents", function()
    local doc = assert(objstore.parse_list("<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"))
    assert.same({ kind = "error", entries = {}, truncated = false, code = "AccessDenied", message = "Access Denied" }, doc)
  end)
  local bad = {
    { "<html></html>", "not an object-store listing (unknown root element)" },
    { "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>", "listing entry without a key" },
    { '<!DOCTYPE x [<!ENTITY a "aaaa">]><ListBucketResult/>', "DOCTYPE declarations are not accepted in a listing" },
    { "<ListBucketResult><Contents><Key>x", "malformed XML at line 1: no element found" },
    { "", "malformed XML at line 1: no element found" },
    { "<ListBucketResult><Contents><Key>" .. ("k"):rep(9000) .. "</Key></Contents></ListBucketResult>",
      "listing field longer than 8192 bytes" },
  }
  for _, c in ipairs(bad) do
    it("refuses " .. c[1]:sub(1, 40), function()
      local doc, err = objstore.parse_list(c[1])
      assert.is_nil(doc)
      assert.equal(c[2], err)
    end)
  end
  it("parses both timestamp forms and rejects others", function()
    assert.equal(1255369830, objstore.parse_time("2009-10-12T17:50:30Z"))
    assert.equal(1390861104, objstore.parse_time("Mon, 27 Jan 2014 22:18:24 GMT"))
    assert.is_nil(objstore.parse_time("2009-13-12T17:50:30Z"))
    assert.is_nil(objstore.parse_time("yesterday"))
  end)
end)

-- AWS's published SigV4 example (S3 API reference, "Signature Calculations
-- for the Authorization Header", GET Object): the request goes through
-- nv.http's aws_sigv4 path to a local echo server that returns the headers
-- libcurl sent; connect_to keeps the example's host in the URL and Host.
describe("SigV4 signing (libcurl via nv.http)", function()
  local dir, pid, port
  setup(function()
    dir = H.tmpdir()
    H.write(dir .. "/echo.py", [[
import http.server, sys
LIST = ('<ListBucketResult><IsTruncated>false</IsTruncated>'
        '<Contents><Key>p/a.csv</Key><Size>4</Size><LastModified>2024-01-02T03:04:05Z</LastModified></Contents>'
        '<Contents><Key>p/b.csv</Key><Size>4</Size></Contents></ListBucketResult>')
class H(http.server.BaseHTTPRequestHandler):
    def reply(self, code, body):
        body = body.encode()
        self.send_response(code); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        # a fake bucket "fake": a listing of two objects, one of them forbidden
        if self.path.startswith("/fake?"): return self.reply(200, LIST)
        if self.path == "/fake/p/a.csv": return self.reply(200, "x\n1\n")
        if self.path == "/fake/p/b.csv": return self.reply(403, "<Error><Code>AccessDenied</Code></Error>")
        self.reply(200, "".join(f"{k.lower()}: {v}\n" for k, v in self.headers.items()))
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
]])
    os.execute(string.format("python3 %s %s >/dev/null 2>&1 & echo $! >%s", H.q(dir .. "/echo.py"),
      H.q(dir .. "/port"), H.q(dir .. "/pid")))
    for _ = 1, 100 do
      port = tonumber(H.read(dir .. "/port") or "")
      if port then break end
      os.execute("sleep 0.05")
    end
    pid = tonumber(H.read(dir .. "/pid"))
    assert(port, "echo server did not start")
  end)
  teardown(function()
    if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
    H.rmdir(dir)
  end)

  local function echo(extra)
    local opts = {
      url = "http://examplebucket.s3.amazonaws.com/test.txt", retries = 0,
      connect_to = "examplebucket.s3.amazonaws.com:80:127.0.0.1:" .. port,
      aws_sigv4 = "aws:amz:us-east-1:s3",
      userpwd = "AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      range = "bytes=0-9",
      headers = { ["x-amz-date"] = "20130524T000000Z" },
    }
    for k, v in pairs(extra or {}) do opts[k] = v end
    local r = assert(http.request(opts))
    assert.equal(200, r.status)
    local h = {}
    for k, v in r.body:gmatch("([^:\n]+): ([^\n]*)") do h[k] = v end
    return h
  end

  it("produces the signature of AWS's GET Object example", function()
    local h = echo()
    assert.equal("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
      .. "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
      .. "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", h.authorization)
    assert.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", h["x-amz-content-sha256"])
    assert.equal("bytes=0-9", h.range)
  end)
  it("signs the session token header and registers the secrets", function()
    local h = echo { aws_session_token = "FQoGZXIvYXdzEXAMPLETOKEN" }
    assert.equal("FQoGZXIvYXdzEXAMPLETOKEN", h["x-amz-security-token"])
    assert.truthy(h.authorization:find("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date;x-amz-security-token,", 1, true))
    assert.equal("t=*** k=***", log.mask("t=FQoGZXIvYXdzEXAMPLETOKEN k=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))
  end)
  it("keeps going when one object fails, naming it and the cause", function()
    local tmp = H.tmpdir()
    local files, errors, cleanup = remote.materialize(
      { config = { aws = { access_key_id = "k", secret_access_key = "s3cr3t-fake", endpoint_url = "http://127.0.0.1:" .. port } } },
      { data_source_path = "s3://fake/p" }, { tmpdir = tmp, retries = 0 })
    assert.same({ "s3://fake/p/b.csv: 403 Forbidden (AccessDenied)" }, errors)
    assert.equal(1, #files)
    assert.equal("a.csv", files[1].rel)
    assert.equal(1704164645, files[1].mtime)
    assert.equal("x\n1\n", H.read(files[1].path))
    cleanup()
    H.rmdir(tmp)
  end)
  it("refuses aws_sigv4 without credentials", function()
    assert.has_error(function() http.request { url = "http://127.0.0.1:1/", aws_sigv4 = "aws:amz:us-east-1:s3" } end,
      "nv.http.request: option 'aws_sigv4' needs 'userpwd' (KEY:SECRET)")
  end)
end)

if not ENDPOINT or ENDPOINT == "" then
  describe("S3 against s3rver", function()
    pending("SKIPPED: NVLUA_TEST_S3_ENDPOINT is not set; run eval \"$(tests/servers/objectstores.sh start /tmp/nvlua-npm)\" first")
  end)
  return
end

describe("S3 against s3rver", function()
  local SECRET = "S3cr3t-Key-For-Spec-9d1f"
  local aws = { access_key_id = "S3RVER", secret_access_key = SECRET, endpoint_url = ENDPOINT, retries = 0 }
  local client = s3.client(aws)
  local run = "spec-" .. require("nv.sys").random_hex(4)
  local dir
  local sales = {}

  setup(function()
    dir = H.tmpdir()
    for i = 1, 5 do
      local key = string.format("%s/sales/year=%d/part-%05d.csv", run, 2020 + i % 2, i)
      local body = "id,amount\n" .. i .. "," .. (i * 10) .. "\n"
      sales[key] = body
      assert(client:put(BUCKET, key, body))
    end
    assert(client:put(BUCKET, run .. "/sales/_SUCCESS", ""))
    assert(client:put(BUCKET, run .. "/sales/.hidden/x.csv", "a\n1\n"))
    assert(client:put(BUCKET, run .. "/big.csv", "x,y\n" .. ("12345,abcdef\n"):rep(2000)))
  end)
  teardown(function() H.rmdir(dir) end)

  it("lists every object across pages (more objects than max_keys)", function()
    local all = assert(client:list(BUCKET, run .. "/sales/", { max_keys = 2 }))
    local keys = {}
    for i, e in ipairs(all) do keys[i] = e.key end
    assert.equal(7, #keys)
    assert.equal(run .. "/sales/.hidden/x.csv", keys[1])
    assert.equal(run .. "/sales/year=2021/part-00005.csv", keys[7])
    assert.equal(#sales[keys[7]], all[7].size)
    assert.is_number(all[7].last_modified)
    assert.truthy(all[7].etag:match("^%x+$"))
    -- one page of two is not all of them: the listing really paginated
    local one, err = client:list(BUCKET, run .. "/sales/", { max_keys = 2, max_pages = 1 })
    assert.is_nil(one)
    assert.equal("s3://" .. BUCKET .. "/" .. run .. "/sales/: listing has too many pages", err)
  end)

  it("reads a byte range", function()
    local r = assert(client:get(BUCKET, run .. "/big.csv", { range = "bytes=4-9" }))
    assert.equal(206, r.status)
    assert.equal("12345,", r.body)
  end)

  it("streams to a file under a byte cap", function()
    local out = dir .. "/capped"
    local r = assert(client:get(BUCKET, run .. "/big.csv", { output = out, max_body = 100, truncate = true }))
    assert.equal(200, r.status)
    assert.equal(100, r.bytes)
    assert.is_true(r.truncated)
    assert.equal(100, #H.read(out))
    local none, err = client:get(BUCKET, run .. "/big.csv", { output = dir .. "/over", max_body = 100 })
    assert.is_nil(none)
    assert.equal("s3://" .. BUCKET .. "/" .. run .. "/big.csv: response body larger than 100 bytes (after 1 attempt)", err)
    assert.is_nil(H.read(dir .. "/over"))
  end)

  it("materializes a partitioned prefix as local files like nv.filesource's", function()
    local ctx = { config = { aws = aws } }
    local files, errors, cleanup = remote.materialize(ctx,
      { source_id = "s1", data_source_path = "s3://" .. BUCKET .. "/" .. run .. "/sales", source_type = "aws_s3" },
      { tmpdir = dir, page_size = 2 })
    assert.is_table(files, errors)
    assert.same({}, errors)
    assert.equal(5, #files)
    for _, f in ipairs(files) do
      local key = run .. "/sales/" .. f.rel
      assert.equal(sales[key], H.read(f.path))
      assert.equal(#sales[key], f.size)
      assert.equal(f.rel:match("[^/]+$"), f.name)
      assert.equal("s3://" .. BUCKET .. "/" .. key, f.url)
      assert.is_false(f.partial)
      assert.is_number(f.mtime)
    end
    assert.equal("year=2020/part-00002.csv", files[1].rel)
    local groups = require("nv.filesource").group(files, "sales")
    assert.equal(1, #groups)
    assert.same({ "year" }, groups[1].partition_columns)
    cleanup()
    cleanup() -- idempotent
    assert.is_nil(H.read(files[1].path))
  end)

  it("fetches only the sample budget of each object, cut at a line end", function()
    local files, errors, cleanup = remote.materialize({ config = { aws = aws } },
      { data_source_path = "s3://" .. BUCKET .. "/" .. run .. "/big.csv" }, { tmpdir = dir, max_bytes = 100 })
    assert.same({}, errors)
    assert.equal(1, #files)
    local f = files[1]
    assert.equal("big.csv", f.rel)
    assert.is_true(f.partial)
    assert.equal(4 + 13 * 2000, f.size)
    assert.equal("x,y\n" .. ("12345,abcdef\n"):rep(7), H.read(f.path)) -- 95 of the 100 bytes
    cleanup()
  end)

  it("applies include/exclude globs to keys", function()
    local files, _, cleanup = remote.materialize({ config = { aws = aws } },
      { data_source_path = "s3://" .. BUCKET .. "/" .. run .. "/sales/" },
      { tmpdir = dir, include = { "year=2021/*" }, exclude = { "*00005.csv" } })
    local rels = {}
    for i, f in ipairs(files) do rels[i] = f.rel end
    assert.same({ "year=2021/part-00001.csv", "year=2021/part-00003.csv" }, rels)
    cleanup()
  end)

  it("names a missing bucket", function()
    local files, err = remote.materialize({ config = { aws = aws } },
      { data_source_path = "s3://no-such-bucket-" .. run .. "/x" }, { tmpdir = dir })
    assert.is_nil(files)
    assert.equal("s3://no-such-bucket-" .. run .. "/x: 404 Not Found (NoSuchBucket)", err)
  end)

  it("reports a refused connection on a wrong endpoint", function()
    local p = io.popen([[python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])']])
    local free = p:read("l")
    p:close()
    local files, err = remote.materialize(
      { config = { aws = { access_key_id = "k", secret_access_key = SECRET, endpoint_url = "http://127.0.0.1:" .. free } } },
      { data_source_path = "s3://" .. BUCKET .. "/" .. run }, { tmpdir = dir, retries = 0 })
    assert.is_nil(files)
    assert.equal("s3://" .. BUCKET .. "/" .. run .. ": connection refused", err)
  end)

  it("never shows the secret key or session token in output or logs", function()
    local script = dir .. "/leak.lua"
    H.write(script, string.format([[
local remote = require "nv.remote"
local log = require "nv.log"
assert(log.open_file(%q))
local aws = { access_key_id = "S3RVER", secret_access_key = %q, session_token = %q, endpoint_url = %q }
local files, errs, cleanup = remote.materialize({ config = { aws = aws } }, { data_source_path = %q }, { tmpdir = %q })
print(#files, #errs)
cleanup()
aws.endpoint_url = "http://127.0.0.1:1"
local _, err = remote.materialize({ config = { aws = aws } }, { data_source_path = %q }, { retries = 0 })
print(err)
log.write("ERROR", "remote", err)
log.write("ERROR", "spec", "failure with " .. aws.secret_access_key .. " and " .. aws.session_token)
io.stderr:write(log.mask("stderr " .. aws.secret_access_key .. "\n"))
]], dir .. "/leak.log", SECRET, "Sess10nT0ken-Spec-77", ENDPOINT, "s3://" .. BUCKET .. "/" .. run .. "/sales", dir,
      "s3://" .. BUCKET .. "/" .. run))
    local code, out, err = H.run({ script })
    assert.equal(0, code, err)
    assert.truthy(out:find("5\t0", 1, true), out)
    assert.truthy(out:find(": connection refused", 1, true), out)
    local logs = assert(H.read(dir .. "/leak.log"))
    assert.truthy(logs:find("failure with *** and ***", 1, true), logs)
    for _, text in ipairs({ out, err, logs }) do
      assert.is_nil(text:find(SECRET, 1, true))
      assert.is_nil(text:find("Sess10nT0ken-Spec-77", 1, true))
    end
  end)
end)
