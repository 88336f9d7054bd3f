-- Exactly-once delivery through the outbox (issue 12): api_transmission is
-- SIGKILLed at every step of the outbox protocol (the NVLUA_TEST_KILL_AT
-- hook) and after random delays, then re-run until delivered, against a real
-- local platform server (tests/servers/platform_api.py) that records every
-- request. The platform must see one Idempotency-Key per (source, chunk),
-- one body per key, every chunk, and nothing may stay queued. Also the
-- outbox's file modes (0600 files, 0700 directory) under any umask.
local H = require "helper"
local json = require "nv.json"
local sys = require "nv.sys"
local outbox = require "nv.outbox"

local KEY = "nvk-" .. sys.random_hex(12)

local ls = H.ls

local function mode(path)
  local p = assert(io.popen("stat -c %a " .. H.q(path)))
  local m = p:read("l")
  p:close()
  return m
end

-- the command H.run builds, as a shell string (for a background child)
local passthrough = { "PATH", "HOME", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TERM" }
local function command(args, env)
  local parts = { "env -i" }
  for _, k in ipairs(passthrough) do
    local v = os.getenv(k)
    if v then parts[#parts + 1] = k .. "=" .. H.q(v) end
  end
  for k, v in pairs(env or {}) do parts[#parts + 1] = k .. "=" .. H.q(v) end
  parts[#parts + 1] = H.q(H.bin)
  for _, a in ipairs(args) do parts[#parts + 1] = H.q(a) end
  return table.concat(parts, " ")
end

-- Checks what the platform received: for each (source, chunk index) one
-- key, for each key one body; returns the set "source\tindex" -> count.
local function check_requests(reqs)
  local keys_of, bodies_of, chunks = {}, {}, {}
  for _, q in ipairs(reqs) do
    local p = assert(q.json, "a request without a JSON body")
    assert.equal(1, #p.metadata.sources, "one source per payload")
    local id = p.metadata.sources[1].source_id .. "\t" .. math.tointeger(p.chunk.index)
    assert.equal(q.idempotency_key, p.payload_id)
    keys_of[id] = keys_of[id] or {}
    keys_of[id][q.idempotency_key] = true
    bodies_of[q.idempotency_key] = bodies_of[q.idempotency_key] or {}
    bodies_of[q.idempotency_key][q.body] = true
    chunks[id] = math.tointeger(p.chunk.count)
  end
  for id, ks in pairs(keys_of) do
    local n = 0
    for _ in pairs(ks) do n = n + 1 end
    assert.equal(1, n, "distinct Idempotency-Keys for source/chunk " .. id:gsub("\t", " #"))
  end
  for k, bs in pairs(bodies_of) do
    local n = 0
    for _ in pairs(bs) do n = n + 1 end
    assert.equal(1, n, "distinct bodies under Idempotency-Key " .. k)
  end
  return chunks
end

describe("outbox exactly once", function()
  local srv, sdir, base, dir
  -- the workflow: sources s01..s05, source i with i tables (CSV files)
  local NSRC, MAX_TABLES = 5, 2
  local expected = {} -- "source\tindex" -> chunk count, computed from the layout
  for i = 1, NSRC do
    local count = math.ceil(i / MAX_TABLES)
    for k = 1, count do expected[string.format("s%02d\t%d", i, k)] = count end
  end

  setup(function()
    sdir = H.tmpdir()
    srv = H.platform_server(sdir)
    base = H.tmpdir()
    local sources = {}
    for i = 1, NSRC do
      local d = string.format("%s/data/s%02d", base, i)
      os.execute("mkdir -p " .. H.q(d))
      for t = 1, i do H.write(string.format("%s/t%d.csv", d, t), "id,name\n1,a\n2,b\n") end
      sources[i] = { source_id = string.format("s%02d", i), data_source_path = d, source_type = "csv" }
    end
    H.write(base .. "/extract.json", json.encode({ workflow_id = "wf-kill", sources = sources }))
    local code, _, err = H.run({ "run", "metadata_extraction", "--config", base .. "/extract.json", "--write-to-db" },
      { cwd = base })
    assert.equal(0, code, err)
    H.write(base .. "/config.json", json.encode({ workflow_id = "wf-kill", api_max_tables = MAX_TABLES,
      api_retry_base = 0.01, api_retries = 2, api_timeout = 5 }))
  end)
  teardown(function()
    if srv then srv.stop() end
    H.rmdir(sdir)
    H.rmdir(base)
  end)
  before_each(function()
    srv.reset()
    dir = H.tmpdir()
    assert(os.execute("cp " .. H.q(base .. "/_executor_metadata.db") .. " " .. H.q(dir .. "/")))
  end)
  after_each(function() H.rmdir(dir) end)

  local ENV = function(extra)
    local e = { NUVYN_API_ENDPOINT = srv.url, NUVYN_API_KEY = KEY }
    for k, v in pairs(extra or {}) do e[k] = v end
    return e
  end
  local ARGS = { "run", "api_transmission", "--config", nil }

  local function transmit(env)
    ARGS[4] = base .. "/config.json"
    return H.run(ARGS, { cwd = dir, env = env or ENV() })
  end

  -- re-runs api_transmission until it succeeds (at most n times)
  local function until_delivered(n)
    local code, out, err
    for _ = 1, n or 5 do
      code, out, err = transmit()
      if code == 0 then return json.decode(out) end
    end
    error("not delivered after " .. (n or 5) .. " runs: " .. tostring(out) .. tostring(err))
  end

  local function assert_all_delivered()
    local chunks = check_requests(srv.requests())
    assert.same(expected, chunks)
    assert.same({}, ls(dir .. "/outbox", "%.json$"))
    assert.same({}, ls(dir .. "/outbox", "%.tmp$"))
    -- and nothing is sent again
    srv.reset()
    local code, out = transmit()
    assert.equal(0, code)
    assert.equal("nothing_to_send", json.decode(out).transmission_status)
    assert.equal(0, #srv.requests())
  end

  for _, step in ipairs({ "queue.tmp_written", "queue.renamed", "queue.synced", "deliver.acknowledged",
                          "deliver.recorded", "deliver.removed" }) do
    for _, nth in ipairs({ 1, 3 }) do
      it("survives SIGKILL at " .. step .. " (occurrence " .. nth .. ")", function()
        local code, _, err = transmit(ENV({ NVLUA_TEST_KILL_AT = step .. ":" .. nth }))
        assert.equal(128 + 9, code, err)
        assert.matches("NVLUA_TEST_KILL_AT: SIGKILL at " .. step:gsub("%.", "%%."), err)
        if step:match("^queue") then assert.equal(0, #srv.requests()) end
        local r = until_delivered(2)
        assert.equal("success", r.transmission_status)
        -- sent again only when killed between the 2xx and the ledger (same key, same body)
        local per_key, twice = {}, 0
        for _, q in ipairs(srv.requests()) do per_key[q.idempotency_key] = (per_key[q.idempotency_key] or 0) + 1 end
        for k, n in pairs(per_key) do
          assert.is_true(n <= 2, k)
          if n == 2 then twice = twice + 1 end
        end
        assert.equal(step == "deliver.acknowledged" and 1 or 0, twice)
        assert_all_delivered()
      end)
    end
  end

  for _, step in ipairs({ "reject.response_written", "reject.renamed", "reject.recorded" }) do
    it("survives SIGKILL at " .. step .. " without sending the payload under another key", function()
      srv.set_plan({ { status = 400, body = { error = "bad schema" } } })
      local code, _, err = transmit(ENV({ NVLUA_TEST_KILL_AT = step }))
      assert.equal(128 + 9, code, err)
      local first = srv.requests()[1]
      transmit()
      transmit()
      local chunks = check_requests(srv.requests())
      assert.same(expected, chunks)
      assert.same({}, ls(dir .. "/outbox", "%.tmp$"))
      local rejected = ls(dir .. "/outbox", "%.rejected$")
      if step == "reject.response_written" then
        -- killed before the rename: resent (same key, same body) and taken; its .response removed
        assert.same({}, rejected)
        assert.same({}, ls(dir .. "/outbox", "%.response$"))
      else
        assert.same({ first.idempotency_key }, { rejected[1]:match("%-(%x+)%.rejected$") })
        assert.equal(first.body, H.read(dir .. "/outbox/" .. rejected[1]))
      end
      assert.same({}, ls(dir .. "/outbox", "%.json$"))
    end)
  end

  it("survives SIGKILLs after random delays (30 histories, two kills each), then delivers each chunk once", function()
    ARGS[4] = base .. "/config.json"
    local cmd = command(ARGS, ENV())
    local function fresh()
      H.rmdir(dir)
      dir = H.tmpdir()
      assert(os.execute("cp " .. H.q(base .. "/_executor_metadata.db") .. " " .. H.q(dir .. "/")))
      srv.reset()
    end
    -- how long an undisturbed run takes here and now (the machine's load varies)
    local t0 = sys.monotonic()
    until_delivered(1)
    local T = math.max(0.05, sys.monotonic() - t0)
    local killed = 0
    local seed = tonumber(os.getenv("NVLUA_TEST_SEED") or "") or os.time()
    math.randomseed(seed)
    for _ = 1, 30 do
      fresh()
      -- a slow platform now and then widens the window of a kill mid-request
      local plan = {}
      for i = 1, 40 do plan[i] = (i % 3 == 0) and { sleep = 0.02 } or {} end
      srv.set_plan(plan)
      for _ = 1, 2 do
        local delay = string.format("%.3f", math.random() * T * 1.2)
        local sh = string.format("cd %s && { %s >/dev/null 2>&1 & p=$!; sleep %s; kill -9 $p && echo killed; wait $p; } 2>/dev/null",
          H.q(dir), cmd, delay)
        local p = assert(io.popen(sh))
        if (p:read("a") or ""):match("killed") then killed = killed + 1 end
        p:close()
      end
      srv.set_plan({})
      until_delivered(3)
      assert_all_delivered()
    end
    assert.is_true(killed >= 20, string.format("only %d of 60 runs were killed (seed %d, T %.3f s)", killed, seed, T))
  end)

  it("serializes runs that share the outbox: 4 at once send each chunk once", function()
    ARGS[4] = base .. "/config.json"
    local cmd = command(ARGS, ENV())
    local sh = { "cd " .. H.q(dir) }
    for i = 1, 4 do sh[#sh + 1] = string.format("%s >run%d.out 2>&1 &", cmd, i) end
    sh[#sh + 1] = "wait"
    assert(os.execute(table.concat(sh, "\n")))
    local per_key = {}
    for _, q in ipairs(srv.requests()) do per_key[q.idempotency_key] = (per_key[q.idempotency_key] or 0) + 1 end
    for k, n in pairs(per_key) do assert.equal(1, n, k) end
    assert_all_delivered()
  end)

  it("fails clearly when another run holds the outbox past outbox_lock_timeout", function()
    assert(sys.mkdirs(dir .. "/outbox"))
    local lock = assert(sys.lock(dir .. "/outbox/.lock"))
    H.write(dir .. "/busy.json", json.encode({ workflow_id = "wf-kill", outbox_lock_timeout = 0.3 }))
    local code, out = H.run({ "run", "api_transmission", "--config", dir .. "/busy.json" }, { cwd = dir, env = ENV() })
    assert.equal(1, code)
    local r = json.decode(out)
    assert.equal("failed", r.transmission_status)
    assert.equal(string.format("the outbox outbox is in use by another run (pid %d); try again when it ends", sys.getpid()),
      r.error)
    assert.equal(0, #srv.requests())
    lock:close()
    code = H.run({ "run", "api_transmission", "--config", dir .. "/busy.json" }, { cwd = dir, env = ENV() })
    assert.equal(0, code)
  end)

  it("full_pipeline killed after queueing: api_transmission sends its payloads under the keys it queued", function()
    H.write(dir .. "/fp.json", json.encode({ workflow_id = "wf-fp", source_id = "s05", api_max_tables = MAX_TABLES,
      api_retry_base = 0.01, api_retries = 2 }))
    local code, _, err = H.run({ "run", "full_pipeline", base .. "/data/s05", "csv", "--config", dir .. "/fp.json",
      "--write-to-db" }, { cwd = dir, env = ENV({ NVLUA_TEST_KILL_AT = "deliver.acknowledged:2" }) })
    assert.equal(128 + 9, code, err)
    local queued = ls(dir .. "/outbox", "%.json$")
    assert.equal(2, #queued) -- chunk 1 delivered, chunk 2 acknowledged but not recorded, chunk 3 queued
    code, _, err = H.run({ "run", "api_transmission", "--config", dir .. "/fp.json" }, { cwd = dir, env = ENV() })
    assert.equal(0, code, err)
    local reqs = srv.requests()
    local chunks = check_requests(reqs) -- the store-built payloads have the keys of the model-built ones
    assert.same({ ["s05\t1"] = 3, ["s05\t2"] = 3, ["s05\t3"] = 3 }, chunks)
    assert.equal(4, #reqs) -- chunk 2 twice (same key, same body), chunks 1 and 3 once
    assert.same({}, ls(dir .. "/outbox", "%.json$"))
  end)

  it("gives the same key to the same stored data built again (a run killed before its ledger)", function()
    srv.set_plan({ { status = 500 }, { status = 500 }, { status = 500 } })
    local code = transmit()
    assert.equal(1, code)
    local first = srv.requests()[1].idempotency_key
    os.remove(dir .. "/outbox/ledger.tsv") -- as if killed before the ledger was written
    srv.reset()
    until_delivered(2)
    local reqs = srv.requests()
    local seen = false
    for _, q in ipairs(reqs) do seen = seen or q.idempotency_key == first end
    assert.is_true(seen, "the first key was not sent again")
    assert_all_delivered()
  end)

  it("sends a new extraction run, and an api_resend, under new keys", function()
    until_delivered(1)
    local before = {}
    for _, q in ipairs(srv.requests()) do before[q.idempotency_key] = true end
    srv.reset()
    H.write(dir .. "/resend.json", json.encode({ workflow_id = "wf-kill", api_max_tables = MAX_TABLES, api_resend = true }))
    local code, out, err = H.run({ "run", "api_transmission", "--config", dir .. "/resend.json" }, { cwd = dir, env = ENV() })
    assert.equal(0, code, err)
    assert.equal("success", json.decode(out).transmission_status)
    local reqs = srv.requests()
    assert.same(expected, check_requests(reqs))
    for _, q in ipairs(reqs) do assert.is_nil(before[q.idempotency_key]) end
    -- a new extraction of s01 (a new run): its key is new, the others are not sent
    srv.reset()
    local code2, _, err2 = H.run({ "run", "metadata_extraction", base .. "/data/s01", "csv", "--workflow-id", "wf-kill",
      "--source-id", "s01", "--write-to-db" }, { cwd = dir })
    assert.equal(0, code2, err2)
    code = transmit()
    assert.equal(0, code)
    reqs = srv.requests()
    assert.equal(1, #reqs)
    assert.equal("s01", reqs[1].json.metadata.sources[1].source_id)
    assert.is_nil(before[reqs[1].idempotency_key])
  end)

  it("completes a whole .tmp left by a dead process and removes a partial one", function()
    local box = assert(outbox.open(dir .. "/outbox"))
    box:close()
    local p = assert(io.popen("sh -c 'echo $$'"))
    local dead = assert(tonumber(p:read("l")))
    p:close()
    local key_whole, key_part = string.rep("a", 32), string.rep("b", 32)
    local whole = "20240101T000000.000Z-000001-" .. key_whole .. ".json"
    local part = "20240101T000000.000Z-000002-" .. key_part .. ".json"
    local body = json.encode({ payload_id = key_whole, metadata = { sources = {} } })
    H.write(string.format("%s/outbox/.%s.%d.tmp", dir, whole, dead), body)
    H.write(string.format("%s/outbox/.%s.%d.tmp", dir, part, dead), '{"payload_id":"' .. key_part .. '","meta')
    box = assert(outbox.open(dir .. "/outbox"))
    assert.same({ whole }, box.recovered)
    assert.equal(1, #box.cleaned)
    assert.same({ whole }, ls(dir .. "/outbox", "^[^.]"))
    assert.equal(body, H.read(dir .. "/outbox/" .. whole))
    assert.equal("pending", box:status(key_whole))
    box:close()
  end)

  it("keeps outbox files 0600 in a 0700 directory whatever the umask", function()
    os.execute("mkdir -m 0755 " .. H.q(dir .. "/outbox")) -- an existing, wider directory is narrowed
    srv.set_plan({ { status = 400, body = { error = "bad schema" } } })
    local sh = "umask 000; exec \"$0\" \"$@\""
    local function run(env)
      ARGS[4] = base .. "/config.json"
      local args = { "-c", sh, H.bin }
      for _, a in ipairs(ARGS) do args[#args + 1] = a end
      return H.run(args, { cwd = dir, env = env, exe = "/bin/sh" })
    end
    run(ENV({ NVLUA_TEST_KILL_AT = "deliver.recorded" })) -- a pending file left, a rejected one, the ledger
    assert.equal("700", mode(dir .. "/outbox"))
    local names = ls(dir .. "/outbox", ".")
    local kinds = {}
    for _, n in ipairs(names) do
      kinds[n:match("%.(%a+)$")] = true
      assert.equal("600", mode(dir .. "/outbox/" .. n), n)
    end
    assert.same({ json = true, lock = true, rejected = true, response = true, tsv = true }, kinds)
  end)
end)
