-- nv.http against a real local server (tests/servers/platform_api.py):
-- statuses, headers, gzip both ways, retries and Retry-After, timeouts,
-- refused connections, body limits, masked messages, misuse errors.
local H = require "helper"
local json = require "nv.json"
local http = require "nv.http"
local log = require "nv.log"

local function sleep(s) os.execute("sleep " .. s) end

-- Starts the test server in dir; returns {url, port, requests(), set_plan(t), stop()}.
local function start_server(dir)
  local port_file, reqlog, plan, pidf = dir .. "/port", dir .. "/requests.jsonl", dir .. "/plan.json", dir .. "/server.pid"
  H.write(plan, "[]")
  H.write(reqlog, "")
  assert(os.execute(string.format("python3 %s --port-file %s --log %s --plan %s >%s 2>&1 & echo $! >%s",
    H.q(H.root .. "/tests/servers/platform_api.py"), H.q(port_file), H.q(reqlog), H.q(plan),
    H.q(dir .. "/server.out"), H.q(pidf))))
  local port
  for _ = 1, 100 do
    port = tonumber(H.read(port_file) or "")
    if port then break end
    sleep(0.05)
  end
  local pid = assert(tonumber(H.read(pidf)), "server pid")
  assert(port, "server did not start: " .. tostring(H.read(dir .. "/server.out")))
  local s = { port = port, url = "http://127.0.0.1:" .. port }
  function s.requests()
    local out = {}
    for line in (H.read(reqlog) or ""):gmatch("[^\n]+") do out[#out + 1] = assert(json.decode(line)) end
    return out
  end
  function s.reset() H.write(reqlog, "") H.write(plan, "[]") end
  function s.set_plan(t) H.write(plan, json.encode(json.array(t))) end
  function s.stop() os.execute("kill " .. pid .. " 2>/dev/null") end
  return s
end

describe("nv.http", function()
  local dir, srv
  setup(function()
    dir = H.tmpdir()
    srv = start_server(dir)
  end)
  teardown(function()
    if srv then srv.stop() end
    H.rmdir(dir)
  end)
  before_each(function() srv.reset() end)

  it("returns status, lowercased headers, body, attempts and elapsed", function()
    local r = assert(http.request { url = srv.url .. "/echo", headers = { ["X-Custom"] = "v1" } })
    assert.equal(200, r.status)
    assert.equal("application/json", r.headers["content-type"])
    assert.is_nil(r.headers["Content-Type"])
    assert.equal(1, r.attempts)
    assert.is_number(r.elapsed)
    local echo = assert(json.decode(r.body))
    assert.equal("GET", echo.method)
    assert.equal("v1", echo.headers["x-custom"])
    assert.matches("^nvlua/", echo.headers["user-agent"])
  end)

  it("gzips a request body and says so", function()
    local body = string.rep('{"k":"value"}', 100)
    local r = assert(http.request { method = "POST", url = srv.url .. "/echo", body = body, gzip = true,
                                    headers = { ["Content-Type"] = "application/json" } })
    assert.equal(200, r.status)
    local reqs = srv.requests()
    assert.equal(1, #reqs)
    assert.is_true(reqs[1].raw_is_gzip)
    assert.equal("gzip", reqs[1].headers["content-encoding"])
    assert.equal("application/json", reqs[1].headers["content-type"])
    assert.equal(body, reqs[1].body)
    assert.is_true(tonumber(reqs[1].headers["content-length"]) < #body)
  end)

  it("sends a plain body unchanged without gzip", function()
    assert(http.request { method = "PUT", url = srv.url .. "/echo", body = "plain" })
    local req = srv.requests()[1]
    assert.equal("PUT", req.method)
    assert.is_false(req.raw_is_gzip)
    assert.equal("plain", req.body)
  end)

  it("decodes a gzip response", function()
    local r = assert(http.get(srv.url .. "/gzip", { gzip = true }))
    assert.equal(200, r.status)
    assert.equal("gzip", r.headers["content-encoding"])
    assert.same({ compressed = true }, json.decode(r.body))
  end)

  it("retries 5xx up to `retries` times and returns the last response", function()
    local r = assert(http.request { url = srv.url .. "/status/503", retries = 2, retry_base = 0.01 })
    assert.equal(503, r.status)
    assert.equal(3, r.attempts)
    assert.equal(3, #srv.requests())
  end)

  it("does not retry other 4xx", function()
    local r = assert(http.request { url = srv.url .. "/status/404", retries = 3, retry_base = 0.01 })
    assert.equal(404, r.status)
    assert.equal(1, r.attempts)
    assert.equal("status 404", r.body)
    assert.equal(1, #srv.requests())
  end)

  it("honours Retry-After on 429", function()
    local r = assert(http.request { url = srv.url .. "/retry-after?n=1&after=1", retry_base = 0.01,
                                    headers = { ["X-Test-Id"] = "ra-" .. require("nv.sys").random_hex(4) } })
    assert.equal(200, r.status)
    assert.equal(2, r.attempts)
    assert.is_true(r.elapsed >= 0.9, "waited " .. r.elapsed)
  end)

  it("caps Retry-After at retry_max", function()
    local r = assert(http.request { url = srv.url .. "/retry-after?n=1&after=100", retry_base = 0.01, retry_max = 0.2,
                                    headers = { ["X-Test-Id"] = "cap-" .. require("nv.sys").random_hex(4) } })
    assert.equal(200, r.status)
    assert.is_true(r.elapsed < 5, "waited " .. r.elapsed)
  end)

  it("reports a timeout with the URL, the limit and the attempts", function()
    local r, msg, code = http.request { url = srv.url .. "/slow?s=3", timeout = 0.2, retries = 1, retry_base = 0.01 }
    assert.is_nil(r)
    assert.equal("GET " .. srv.url .. "/slow?s=***: timed out after 0.2 s (after 2 attempts)", msg)
    assert.equal("timeout", code)
  end)

  it("reports a refused connection naming the URL", function()
    local r, msg, code = http.request { method = "POST", url = "http://127.0.0.1:9/api/metadata", body = "{}",
                                        retries = 3, retry_base = 0.01 }
    assert.is_nil(r)
    assert.equal("POST http://127.0.0.1:9/api/metadata: Couldn't connect to server (after 4 attempts)", msg)
    assert.equal("connect", code)
  end)

  it("retries a dropped connection, then reports it", function()
    local r, msg, code = http.request { url = srv.url .. "/drop", retries = 1, retry_base = 0.01 }
    assert.is_nil(r)
    assert.equal("GET " .. srv.url .. "/drop: Server returned nothing (no headers, no data) (after 2 attempts)", msg)
    assert.equal("network", code)
    assert.equal(2, #srv.requests())
  end)

  it("refuses a response body over max_body", function()
    local r, msg, code = http.get(srv.url .. "/big?n=5000", { max_body = 1000 })
    assert.is_nil(r)
    assert.equal("GET " .. srv.url .. "/big?n=***: response body larger than 1000 bytes (after 1 attempt)", msg)
    assert.equal("too_large", code)
    assert.equal(5000, #assert(http.get(srv.url .. "/big?n=5000")).body)
  end)

  it("masks URL passwords, query values and registered secrets in messages", function()
    log.add_secret("hostsecret42")
    local _, msg = http.request { url = "http://bob:pa55@127.0.0.1:9/x/hostsecret42?sig=abc&n=1#frag", retries = 0 }
    assert.equal("GET http://bob:***@127.0.0.1:9/x/***?sig=***&n=***: Couldn't connect to server (after 1 attempt)", msg)
  end)

  it("sends the bearer token and registers it as a secret", function()
    local token = "tok-" .. require("nv.sys").random_hex(8)
    local r = assert(http.request { url = srv.url .. "/echo", bearer = token })
    assert.equal("Bearer " .. token, json.decode(r.body).headers.authorization)
    assert.equal("a *** b", log.mask("a " .. token .. " b"))
  end)

  it("post_json encodes tables, sets JSON headers and decodes the answer", function()
    local r = assert(http.post_json(srv.url .. "/echo", { a = { 1, 2 } }, { retries = 0 }))
    assert.equal(200, r.status)
    assert.equal("POST", r.json.method)
    assert.equal("application/json", r.json.headers["content-type"])
    assert.equal('{"a":[1,2]}', r.json.body)
    r = assert(http.post_json(srv.url .. "/echo", '{"raw":true}', { headers = { ["Content-Type"] = "application/x-ndjson" } }))
    assert.equal("application/x-ndjson", r.json.headers["content-type"])
    assert.equal('{"raw":true}', r.json.body)
  end)

  it("HEAD returns headers and an empty body", function()
    local r = assert(http.request { method = "HEAD", url = srv.url .. "/echo" })
    assert.equal(200, r.status)
    assert.equal("", r.body)
  end)

  -- misuse raises, with exact messages
  local misuse = {
    { { url = "http://x", bogus = 1 }, "nv.http.request: unknown option 'bogus'" },
    { { method = "GET" }, "nv.http.request: option 'url' is required" },
    { { url = "http://x", method = "FETCH" }, "nv.http.request: unknown method 'FETCH' (GET, POST, PUT, PATCH, DELETE, HEAD)" },
    { { url = "http://x", timeout = "5" }, "nv.http.request: option 'timeout' must be a number, got string" },
    { { url = "http://x", headers = { A = "b\r\nX: y" } }, "nv.http.request: header 'A' contains a line break" },
    { { url = "http://x", headers = { ["A B"] = "c" } }, "nv.http.request: invalid header name 'A B'" },
    { { url = "http://x", method = "HEAD", body = "x" }, "nv.http.request: a HEAD request has no body" },
    { { url = "http://x", bearer = "" }, "nv.http.request: option 'bearer' must be a non-empty single-line token" },
  }
  for _, case in ipairs(misuse) do
    it("raises: " .. case[2], function()
      local ok, err = pcall(http.request, case[1])
      assert.is_false(ok)
      assert.equal(case[2], err)
    end)
  end
end)
