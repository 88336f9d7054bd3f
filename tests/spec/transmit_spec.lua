-- api_transmission end to end against a real local server
-- (tests/servers/platform_api.py): what is sent, the outbox's no-loss
-- behaviour across runs and failures, chunking, and that the API key never
-- leaks. Plus nv.transmit.build in-process.
local H = require "helper"
local json = require "nv.json"
local sys = require "nv.sys"

local KEY = "nvk-" .. sys.random_hex(12)

local function sleep(s) os.execute("sleep " .. s) end

local start_server = H.platform_server

local one_json = H.one_json

local ls = H.ls

describe("api_transmission", function()
  local srv, sdir, dir
  setup(function()
    sdir = H.tmpdir()
    srv = start_server(sdir)
  end)
  teardown(function()
    if srv then srv.stop() end
    H.rmdir(sdir)
  end)
  before_each(function()
    srv.reset()
    dir = H.tmpdir()
  end)
  after_each(function() H.rmdir(dir) end)

  local function config(extra)
    local c = { api_retry_base = 0.01, api_retries = 2, api_timeout = 5 }
    for k, v in pairs(extra or {}) do c[k] = v end
    H.write(dir .. "/config.json", json.encode(c))
    return dir .. "/config.json"
  end

  local function extract(path)
    local code, out, err = H.run({ "run", "metadata_extraction", path or (H.root .. "/examples/data"), "--write-to-db" },
      { cwd = dir })
    assert.equal(0, code, err)
    return one_json(out)
  end

  local function transmit(cfg, env)
    env = env or { NUVYN_API_ENDPOINT = srv.url, NUVYN_API_KEY = KEY }
    local code, out, err = H.run({ "run", "api_transmission", "--config", cfg or config() }, { cwd = dir, env = env })
    return code, one_json(out), err
  end

  it("sends the stored metadata gzipped with the key and an Idempotency-Key, then empties the outbox", function()
    local ex = extract()
    local code, r, err = transmit()
    assert.equal(0, code, err)
    assert.equal("success", r.transmission_status)
    assert.equal(200, r.status_code)
    assert.equal("received", r.api_response.status)
    assert.same({ sent = 1, pending = 0, rejected = 0, payloads = 1 },
      { sent = r.sent, pending = r.pending, rejected = r.rejected, payloads = r.payloads })
    local reqs = srv.requests()
    assert.equal(1, #reqs)
    local q = reqs[1]
    assert.equal("POST", q.method)
    assert.equal("/api/metadata", q.path)
    assert.equal("Bearer " .. KEY, q.headers.authorization)
    assert.equal("gzip", q.headers["content-encoding"])
    assert.is_true(q.raw_is_gzip)
    assert.matches("^%x+$", q.idempotency_key)
    assert.equal(32, #q.idempotency_key)
    local p = q.json
    assert.equal(q.idempotency_key, p.payload_id)
    assert.equal(r.run_id, p.run_id)
    assert.equal(r.run_id, p.job_id)
    assert.equal("default", p.tenant_id)
    assert.equal(ex.run_id, p.workflow_id) -- the extraction's workflow (its run id by default)
    assert.same({ index = 1, count = 1 }, { index = p.chunk.index, count = p.chunk.count })
    assert.equal(1, #p.metadata.sources)
    assert.equal(H.root .. "/examples/data", p.metadata.sources[1].source_path)
    assert.equal(ex.run_id, p.metadata.sources[1].run_id)
    local names = {}
    local ncols = 0
    for _, t in ipairs(p.metadata.tables) do
      names[#names + 1] = t.table_name
      ncols = ncols + t.column_count
      assert.is_table(t.quality)
      assert.is_number(t.quality.completeness)
    end
    assert.same({ "customers.csv", "events.ndjson", "orders.csv" }, names)
    assert.equal(ncols, #p.metadata.columns)
    local c = p.metadata.columns[1]
    assert.is_boolean(c.is_nullable)
    assert.is_table(c.sample_values)
    assert.is_number(c.quality_score)
    assert.is_nil(c.profile_json)
    assert.equal(3, #p.quality_metrics.tables)
    assert.same({}, ls(dir .. "/outbox", "%.json$"))
    -- queued once: a second run has nothing new to send
    srv.reset()
    code, r = transmit()
    assert.equal(0, code)
    assert.equal("nothing_to_send", r.transmission_status)
    assert.equal(0, #srv.requests())
  end)

  it("keeps the same Idempotency-Key across retries within a run", function()
    extract()
    srv.set_plan({ { status = 503 }, { drop = true } })
    local code, r = transmit()
    assert.equal(0, code)
    assert.equal("success", r.transmission_status)
    local reqs = srv.requests()
    assert.equal(3, #reqs)
    assert.equal(reqs[1].idempotency_key, reqs[2].idempotency_key)
    assert.equal(reqs[1].idempotency_key, reqs[3].idempotency_key)
    assert.is_true(reqs[3].duplicate)
  end)

  it("keeps a payload the platform failed with 500 and sends it on a later run", function()
    extract()
    srv.set_plan({ { status = 500 }, { status = 500 }, { status = 500 } })
    local code, r = transmit()
    assert.equal(1, code)
    assert.equal("failed", r.transmission_status)
    assert.equal(500, r.status_code)
    assert.equal("status 500", r.api_response.error)
    assert.equal("POST " .. srv.url .. "/api/metadata: HTTP 500 (after 3 attempts): {'error': 'status 500'}", r.error)
    assert.same({ sent = 0, pending = 1, payloads = 1 }, { sent = r.sent, pending = r.pending, payloads = r.payloads })
    local pending = ls(dir .. "/outbox", "%.json$")
    assert.equal(1, #pending)
    local first_key = srv.requests()[1].idempotency_key
    assert.matches(first_key .. "%.json$", pending[1])

    srv.reset()
    code, r = transmit()
    assert.equal(0, code)
    assert.equal("success", r.transmission_status)
    assert.same({ sent = 1, pending = 0, payloads = 0 }, { sent = r.sent, pending = r.pending, payloads = r.payloads })
    local reqs = srv.requests()
    assert.equal(1, #reqs)
    assert.equal(first_key, reqs[1].idempotency_key)
    assert.same({}, ls(dir .. "/outbox", "%.json$"))
  end)

  it("waits as Retry-After says on 429, then succeeds in the same run", function()
    extract()
    srv.set_plan({ { status = 429, retry_after = 1 } })
    local code, r = transmit()
    assert.equal(0, code)
    assert.equal("success", r.transmission_status)
    local reqs = srv.requests()
    assert.equal(2, #reqs)
    assert.is_true(reqs[2].time - reqs[1].time >= 0.9, "gap " .. (reqs[2].time - reqs[1].time))
  end)

  it("marks a payload refused with 400 as rejected, keeps it, and does not retry it", function()
    extract()
    srv.set_plan({ { status = 400, body = { error = "bad schema" } } })
    local code, r = transmit()
    assert.equal(1, code)
    assert.equal("failed", r.transmission_status)
    assert.equal(400, r.status_code)
    assert.same({ sent = 0, pending = 0, rejected = 1 }, { sent = r.sent, pending = r.pending, rejected = r.rejected })
    assert.matches("rejected with HTTP 400", r.error)
    assert.equal(1, #srv.requests())
    local rejected = ls(dir .. "/outbox", "%.rejected$")
    assert.equal(1, #rejected)
    local base = rejected[1]:gsub("%.rejected$", "")
    local meta = assert(json.decode(H.read(dir .. "/outbox/" .. base .. ".response")))
    assert.equal(400, meta.status_code)
    assert.equal("bad schema", meta.response.error)
    assert.equal(srv.requests()[1].body, H.read(dir .. "/outbox/" .. rejected[1]))

    srv.reset()
    code, r = transmit()
    assert.equal(0, code)
    assert.equal("nothing_to_send", r.transmission_status)
    assert.equal(1, r.rejected_total)
    assert.equal(0, #srv.requests())
  end)

  it("fails clearly when the platform is unreachable, keeping the payload", function()
    extract()
    local code, r = transmit(config({ api_retries = 1 }), { NUVYN_API_ENDPOINT = "http://127.0.0.1:9", NUVYN_API_KEY = KEY })
    assert.equal(1, code)
    assert.equal("failed", r.transmission_status)
    assert.equal("POST http://127.0.0.1:9/api/metadata: Couldn't connect to server (after 2 attempts)", r.error)
    assert.equal(1, r.pending)
    assert.equal(1, #ls(dir .. "/outbox", "%.json$"))
  end)

  it("fails without NUVYN_API_ENDPOINT but queues the payload for later", function()
    extract()
    local code, r, err = transmit(nil, { NUVYN_API_KEY = KEY })
    assert.equal(1, code)
    assert.equal("failed", r.transmission_status)
    assert.equal("no API endpoint configured (set NUVYN_API_ENDPOINT or api_endpoint); 1 payload(s) kept in the outbox outbox",
      r.error)
    assert.matches("ERROR %- no API endpoint configured", err)
    assert.equal(1, #ls(dir .. "/outbox", "%.json$"))
    code, r = transmit()
    assert.equal(0, code)
    assert.equal(1, r.sent)
    assert.equal(1, #srv.requests())
  end)

  it("splits many tables into several bounded payloads", function()
    local data = dir .. "/many"
    os.execute("mkdir -p " .. H.q(data))
    for i = 1, 12 do
      H.write(string.format("%s/t%02d.csv", data, i), "id,name\n1,a\n2,b\n")
    end
    extract(data)
    local code, r = transmit(config({ api_max_tables = 5 }))
    assert.equal(0, code)
    assert.equal("success", r.transmission_status)
    assert.equal(3, r.payloads)
    assert.equal(3, r.sent)
    local reqs = srv.requests()
    assert.equal(3, #reqs)
    local seen, batch = {}, reqs[1].json.chunk.batch_id
    for i, q in ipairs(reqs) do
      local p = q.json
      assert.equal(i, p.chunk.index)
      assert.equal(3, p.chunk.count)
      assert.equal(batch, p.chunk.batch_id)
      assert.is_true(#p.metadata.tables <= 5)
      assert.equal(1, #p.metadata.sources)
      assert.equal(2 * #p.metadata.tables, #p.metadata.columns)
      for _, t in ipairs(p.metadata.tables) do seen[#seen + 1] = t.table_name end
    end
    assert.equal(12, #seen)
    assert.equal("t01.csv", seen[1])
    assert.equal("t12.csv", seen[12])
  end)

  it("never shows the API key: stdout, stderr, log files, outbox, _executor_metadata", function()
    extract()
    srv.set_plan({ { status = 400, echo_auth = true } })
    local code, r, err = transmit()
    assert.equal(1, code)
    local out = json.encode(r)
    assert.equal(KEY, srv.requests()[1].headers.authorization:match("Bearer (.*)"))
    local code2, _, err2 = H.run({ "run", "api_transmission", "--config", config({ api_key = KEY }) },
      { cwd = dir, env = { NUVYN_API_ENDPOINT = "http://127.0.0.1:9" } })
    assert.equal(0, code2) -- nothing new to send
    local texts = { out, err, err2 }
    local p = io.popen("cat " .. H.q(dir) .. "/logs/*/*.log " .. H.q(dir) .. "/outbox/* 2>/dev/null")
    texts[#texts + 1] = p:read("a")
    p:close()
    local st = H.open_store(dir)
    for _, t in ipairs({ "sources", "tables", "columns", "executor_runs", "logs", "file_profiles" }) do
      texts[#texts + 1] = json.encode(assert(st:query("SELECT * FROM _executor_metadata." .. t)))
    end
    st:close()
    local all = table.concat(texts, "\n")
    assert.matches("authorization", all) -- the echoed field is there, its value masked
    assert.is_nil(all:find(KEY, 1, true))
  end)
end)

describe("nv.transmit.build", function()
  local transmit = require "nv.transmit"
  local ctx = { run_id = "job_x", job_id = "job_x", tenant_id = "t1", workflow_id = "wf", config = {} }
  local function rec(src_id, ntables, ncols)
    local r = { source = { source_id = src_id, run_id = "r1", workflow_id = "wf", connection_info = '{"kind":"files"}' },
                tables = {} }
    for i = 1, ntables do
      local t = { table_id = src_id .. i, table_name = "t" .. i, quality_json = '{"overall":90.0}',
                  primary_key = '["id"]', quality_score = 90.0, columns = {} }
      for j = 1, ncols do
        t.columns[j] = { column_name = "c" .. j, is_nullable = 1, is_primary_key = 0, sample_values = '["a"]',
                         profile_json = '{"top_values":[]}' }
      end
      r.tables[i] = t
    end
    return r
  end

  it("decodes the store's JSON text columns and drops profiles", function()
    local p = transmit.build(ctx, { rec("s", 1, 1) })
    assert.equal(1, #p)
    local t, c = p[1].metadata.tables[1], p[1].metadata.columns[1]
    assert.same({ overall = 90.0 }, t.quality)
    assert.same({ "id" }, t.primary_key)
    assert.is_nil(t.columns)
    assert.is_nil(t.quality_json)
    assert.same({ "a" }, c.sample_values)
    assert.is_true(c.is_nullable)
    assert.is_false(c.is_primary_key)
    assert.is_nil(c.profile_json)
    assert.same({ kind = "files" }, p[1].metadata.sources[1].connection_info)
  end)

  it("bounds payloads by columns and bytes, never splitting a table", function()
    local p = transmit.build(ctx, { rec("a", 4, 10), rec("b", 2, 10) }, { max_tables = 100, max_columns = 25, max_bytes = 1e9 })
    assert.equal(3, #p)
    for _, x in ipairs(p) do assert.is_true(#x.metadata.columns <= 25) end
    assert.same({ "a" }, { p[1].metadata.sources[1].source_id })
    assert.equal("b", p[3].metadata.sources[1].source_id)
    p = transmit.build(ctx, { rec("a", 3, 50) }, { max_tables = 100, max_columns = 1e6, max_bytes = 2048 })
    assert.equal(3, #p) -- each table alone exceeds half the budget
  end)

  it("keeps sources without tables and returns nothing for no sources", function()
    local p = transmit.build(ctx, { rec("empty", 0, 0) })
    assert.equal(1, #p)
    assert.equal(0, #p[1].metadata.tables)
    assert.same({}, transmit.build(ctx, {}))
  end)
end)
