-- A full disk (ENOSPC) under the SQLite store and the file outputs (log
-- file, outbox, stdout, job-server records): the run fails honestly - exit
-- 1, written_to_db false, the reason naming the store or file and "database
-- or disk is full" / "No space left on device" - the run row is final where
-- it can be written, nothing crashes and nothing already written is lost.
-- Two disks: tests/diskfull/enospc.c, an LD_PRELOAD injector that makes
-- writes under a prefix fail after N bytes (runs anywhere), and a real
-- 256 KiB tmpfs where mount is allowed (root). Stores are read back with
-- Python's sqlite3.
local H = require "helper"
local json = require "nv.json"
local proc = require "nv.proc"

local DATA = H.root .. "/examples/data"
local INJECTOR = H.build .. "/enospc.so"

-- the environment of a process whose writes under prefix fail after n bytes
local function full_env(prefix, n, extra)
  local env = { LD_PRELOAD = INJECTOR, NVLUA_ENOSPC_PREFIX = prefix, NVLUA_ENOSPC_AFTER = tostring(n),
                -- a sanitized nvlua accepts a preloaded library ahead of its runtime
                ASAN_OPTIONS = (os.getenv("ASAN_OPTIONS") or "") .. ":verify_asan_link_order=0" }
  for k, v in pairs(extra or {}) do env[k] = v end
  return env
end

local function extraction(store, extra)
  local args = { "run", "metadata_extraction", DATA, "auto", "t1", "--write-to-db", "--store", store }
  for _, a in ipairs(extra or {}) do args[#args + 1] = a end
  return args
end

local function decode(out, err)
  local r = json.decode(out or "")
  assert(type(r) == "table", "no JSON result; stderr: " .. tostring(err))
  return r
end

local function integrity(path)
  return H.sqlite_rows(path, "PRAGMA integrity_check")[1].integrity_check
end

local function run_status(path, run_id)
  local rows = H.sqlite_rows(path, "SELECT status, error_message FROM executor_runs WHERE run_id = '" .. run_id .. "'")
  return rows[1] and rows[1].status, rows[1] and rows[1].error_message
end

describe("the injector (tests/diskfull/enospc.c)", function()
  it("fails writes under its prefix past the budget, and only there", function()
    local dir = H.tmpdir()
    os.execute("mkdir -p " .. H.q(dir .. "/full"))
    local code, out, err = H.run({ "-e", "dir = '" .. dir .. "'", "-e", [[
      local f = assert(io.open(dir .. "/full/a", "w"))
      f:setvbuf("no")
      local ok1 = f:write(("x"):rep(100))
      local ok2, e2 = f:write(("y"):rep(100))
      f:close()
      local g = assert(io.open(dir .. "/b", "w"))
      local ok3 = g:write(("z"):rep(1000))
      assert(g:close())
      -- overwriting takes no space
      local h = assert(io.open(dir .. "/full/a", "r+"))
      local ok4 = h:write(("w"):rep(150)) and h:close()
      -- growing it does (the error comes at the flush)
      local k = assert(io.open(dir .. "/full/a", "a"))
      local ok5 = k:write("!!") and k:close()
      io.write(tostring(ok1 ~= nil), " ", tostring(ok2 ~= nil), " ", tostring(e2), " ", tostring(ok3 ~= nil),
        " ", tostring(ok4), " ", tostring(ok5))
    ]] }, { env = full_env(dir .. "/full", 150) })
    assert.equal(0, code, err)
    assert.equal("true false No space left on device true true nil", out)
    assert.equal(("w"):rep(150), H.read(dir .. "/full/a")) -- 100 + a short write of 50, as on a disk
    assert.equal(1000, #H.read(dir .. "/b"))
    H.rmdir(dir)
  end)
end)

describe("a full disk", function()
  local dir
  before_each(function()
    dir = H.tmpdir()
    os.execute("mkdir -p " .. H.q(dir .. "/full"))
  end)
  after_each(function() H.rmdir(dir) end)

  -- a complete store from a first run on a disk with room
  local function seeded(path)
    local code, out, err = H.run(extraction("sqlite:" .. path), { cwd = dir })
    assert.equal(0, code, err)
    return decode(out, err).run_id
  end

  it("under the SQLite store fails a --write-to-db run at any point, keeping what was stored", function()
    local store = dir .. "/full/store.db"
    local first = seeded(store)
    local before = H.sqlite_rows(store, "SELECT source_name FROM sources ORDER BY 1")
    -- budgets from none to enough for part of the metadata
    local failed = {}
    for _, n in ipairs({ 0, 512, 4096, 20000, 60000 }) do
      local code, out, err = H.run(extraction("sqlite:" .. store), { cwd = dir, env = full_env(dir .. "/full", n) })
      local r = decode(out, err)
      if code == 0 then -- the budget held the whole write
        assert.is_true(r.success)
        assert.is_true(r.written_to_db)
        assert.equal("Success", run_status(store, r.run_id))
      else
        assert.equal(1, code, err)
        assert.is_false(r.success, "budget " .. n)
        assert.is_false(r.written_to_db, "budget " .. n)
        assert.truthy(r.error:find("sqlite:" .. store, 1, true), r.error)
        assert.truthy(r.error:find("database or disk is full", 1, true), r.error)
        local status = run_status(store, r.run_id)
        -- final where it could be written, else the result says it was not
        assert.truthy(status == "Failed" or (r.run_record or ""):match("^not written: "),
          tostring(status) .. " / " .. tostring(r.run_record))
        assert.not_equal("Success", status)
      end
      failed[#failed + 1] = code == 1 and n or nil
      assert.not_equal(139, code) -- no crash
      assert.equal("ok", integrity(store))
      assert.equal("Success", run_status(store, first))
      local now = H.sqlite_rows(store, "SELECT source_name FROM sources ORDER BY 1")
      assert.same(before, now)
    end
    assert.same({ 0, 512, 4096 }, { table.unpack(failed, 1, 3) }) -- (the small budgets fail for sure)
  end)

  it("under a new store: the store is unavailable and the run says so", function()
    local store = dir .. "/full/new.db"
    local code, out, err = H.run(extraction("sqlite:" .. store), { cwd = dir, env = full_env(dir .. "/full", 0) })
    local r = decode(out, err)
    assert.equal(1, code, err)
    assert.is_false(r.success)
    assert.is_false(r.written_to_db)
    assert.truthy(r.error:find("sqlite:" .. store, 1, true), r.error)
    assert.matches("^not written: ", r.run_record)
  end)

  it("under the log file fails the run, naming the file, and keeps the lines written before", function()
    local store = dir .. "/store.db" -- on a disk with room: the run row is final
    local code, out, err = H.run({ "run", "metadata_extraction", DATA, "--store", "sqlite:" .. store,
                                   "--log-dir", dir .. "/full/logs" },
      { cwd = dir, env = full_env(dir .. "/full", 200) })
    local r = decode(out, err)
    assert.equal(1, code, err)
    assert.is_false(r.success)
    assert.matches("^log file " .. (dir .. "/full/logs/"):gsub("%p", "%%%0") .. ".-%.log: No space left on device",
      r.error)
    assert.matches("^incomplete: ", r.log_file)
    local status, msg = run_status(store, r.run_id)
    assert.equal("Failed", status)
    assert.equal(r.error, msg)
    local logs = H.ls(dir .. "/full/logs/" .. os.date("!%Y-%m-%d"), "%.log$")
    assert.equal(1, #logs)
    local text = H.read(dir .. "/full/logs/" .. os.date("!%Y-%m-%d") .. "/" .. logs[1])
    assert.equal(200, #text)
    assert.truthy(text:find("Starting job execution", 1, true))
  end)

  it("under the outbox fails the transmission, naming the file, and leaves no partial payload", function()
    local store = dir .. "/store.db"
    seeded(store)
    H.write(dir .. "/cfg.json", json.encode({ outbox_dir = dir .. "/full/outbox", api_retries = 0 }))
    for _, n in ipairs({ 0, 100, 4000 }) do
      os.execute("rm -rf " .. H.q(dir .. "/full/outbox"))
      local code, out, err = H.run({ "run", "api_transmission", "--store", "sqlite:" .. store, "--config", dir .. "/cfg.json" },
        { cwd = dir, env = full_env(dir .. "/full", n, { NUVYN_API_ENDPOINT = "http://127.0.0.1:9", NUVYN_API_KEY = "k" }) })
      local r = decode(out, err)
      assert.equal(1, code, err)
      assert.is_false(r.success)
      assert.equal(0, r.sent)
      assert.truthy(r.error:find(dir .. "/full/outbox/", 1, true), r.error)
      assert.truthy(r.error:find("No space left on device", 1, true), r.error)
      assert.equal("Failed", (run_status(store, r.run_id)))
      for _, name in ipairs(H.ls(dir .. "/full/outbox", ".")) do -- what is there is whole
        assert.falsy(name:match("%.tmp$"), name)
        if name:match("%.json$") then assert(json.decode(H.read(dir .. "/full/outbox/" .. name)), name) end
      end
    end
  end)

  it("under stdout (the result document) fails the run and its row", function()
    local store = dir .. "/store.db"
    local line = string.format("cd %s && env -i PATH=%s LD_PRELOAD=%s NVLUA_ENOSPC_PREFIX=%s NVLUA_ENOSPC_AFTER=100 "
      .. "ASAN_OPTIONS=%s %s run metadata_extraction %s --store %s >%s 2>%s",
      H.q(dir), H.q(os.getenv("PATH")), H.q(INJECTOR), H.q(dir .. "/full"),
      H.q((os.getenv("ASAN_OPTIONS") or "") .. ":verify_asan_link_order=0"), H.q(H.bin), H.q(DATA),
      H.q("sqlite:" .. store), H.q(dir .. "/full/out.json"), H.q(dir .. "/err"))
    local _, _, code = os.execute(line)
    local err = H.read(dir .. "/err")
    assert.equal(1, code, err)
    assert.truthy(err:find("cannot write the result to stdout: No space left on device", 1, true), err)
    assert.equal(100, #H.read(dir .. "/full/out.json"))
    local rows = H.sqlite_rows(store, "SELECT status, error_message FROM executor_runs")
    assert.same({ { status = "Failed", error_message = "cannot write the result to stdout: No space left on device" } },
      rows)
  end)

  it("under the job server's records refuses the job (507) and keeps answering", function()
    local sdir = dir .. "/srv"
    H.write(dir .. "/d.csv", "a,b\n1,2\n")
    os.execute("mkdir -p " .. H.q(sdir .. "/jobs"))
    local pid = assert(proc.spawn({
      argv = { H.bin, "serve", "--port", "0", "--port-file", sdir .. "/port", "--dir", dir .. "/full/jobs",
               "--roots", dir },
      env = full_env(dir .. "/full", 0), cwd = sdir, stdout = sdir .. "/out", stderr = sdir .. "/err" }))
    local port
    for _ = 1, 200 do
      port = (H.read(sdir .. "/port") or ""):match("%d+")
      if port then break end
      os.execute("sleep 0.05")
    end
    assert(port, H.read(sdir .. "/err"))
    local http = require "nv.http"
    local url = "http://127.0.0.1:" .. port
    local r = assert(http.request({ method = "POST", url = url .. "/jobs/create", retries = 0, timeout = 30,
      body = json.encode({ job_type = "metadata_extraction", data_source_path = dir .. "/d.csv" }) }))
    assert.equal(507, r.status, r.body)
    assert.equal("cannot create the job directory: No space left on device", json.decode(r.body).error)
    local h = assert(http.request({ url = url .. "/health", retries = 0, timeout = 30 }))
    assert.equal(200, h.status)
    local l = assert(http.request({ url = url .. "/jobs", retries = 0, timeout = 30 }))
    assert.equal(0, json.decode(l.body).count) -- no half-recorded job
    assert.same({}, H.ls(dir .. "/full/jobs", "^job_"))
    proc.kill(pid, "TERM")
    assert.same({ "exited", 0 }, { proc.wait(pid) })
  end)
end)

describe("a full tmpfs (a real disk)", function()
  local dir, mnt, mounted
  setup(function()
    dir = H.tmpdir()
    mnt = dir .. "/mnt"
    os.execute("mkdir -p " .. H.q(mnt))
    mounted = os.execute("mount -t tmpfs -o size=256k tmpfs " .. H.q(mnt) .. " 2>/dev/null") == true
  end)
  teardown(function()
    if mounted then os.execute("umount " .. H.q(mnt)) end
    H.rmdir(dir)
  end)

  local function fill()
    os.execute("dd if=/dev/zero of=" .. H.q(mnt .. "/filler") .. " bs=4k 2>/dev/null")
  end

  it("fails a --write-to-db run into a store whose disk fills up, keeping what was stored", function()
    if not mounted then
      pending("mount -t tmpfs is not allowed here (the injector's cases cover ENOSPC)")
      return
    end
    local store = mnt .. "/store.db"
    local code, out, err = H.run(extraction("sqlite:" .. store), { cwd = dir })
    assert.equal(0, code, err)
    local first = decode(out, err).run_id
    fill()
    code, out, err = H.run(extraction("sqlite:" .. store, { "--log-dir", dir .. "/logs" }), { cwd = dir })
    local r = decode(out, err)
    assert.equal(1, code, err)
    assert.is_false(r.success)
    assert.is_false(r.written_to_db)
    assert.truthy(r.error:find("database or disk is full", 1, true), r.error)
    assert.equal("ok", integrity(store))
    assert.equal("Success", run_status(store, first))
    os.remove(mnt .. "/filler")
  end)

  it("fails a run whose log file's disk is full", function()
    if not mounted then
      pending("mount -t tmpfs is not allowed here (the injector's cases cover ENOSPC)")
      return
    end
    fill()
    local code, out, err = H.run({ "run", "metadata_extraction", DATA, "--store", "sqlite:" .. dir .. "/s.db",
                                   "--log-dir", mnt .. "/logs" }, { cwd = dir })
    local r = decode(out, err)
    assert.equal(1, code, err)
    assert.is_false(r.success)
    -- a full tmpfs may refuse even the directory: then the log file is disabled (a warning)
    assert.truthy(r.error:find("No space left on device", 1, true) or (r.log_file or ""):find("No space", 1, true),
      json.encode(r))
    os.remove(mnt .. "/filler")
  end)
end)
