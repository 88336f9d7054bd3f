-- Multi-source workflows (spec 003) on a pool of worker threads, one Lua
-- state each: same results as sequential, per-source status, each worker's
-- log lines in `logs`, failures isolated to their source.
local H = require "helper"
local json = require "nv.json"

local function strip(r)
  r.execution_time, r.job_id, r.run_id = nil, nil, nil
  for _, s in ipairs(r.sources) do
    s.metadata.tables = #s.metadata.tables
  end
  return r
end

describe("parallel sources", function()
  local dir
  before_each(function()
    dir = H.tmpdir()
    for i = 1, 4 do
      local rows = { "id,value" }
      for k = 1, 50 * i do rows[#rows + 1] = k .. "," .. (k * i) end
      H.write(dir .. "/s" .. i .. ".csv", table.concat(rows, "\n") .. "\n")
    end
  end)
  after_each(function() H.rmdir(dir) end)

  local function payload(extra)
    local sources = {}
    for i = 1, 4 do sources[i] = { source_id = "s" .. i, data_source_path = dir .. "/s" .. i .. ".csv" } end
    sources[#sources + 1] = extra
    return json.encode({ workflow_id = "wf", sources = sources })
  end

  it("gives the same results on 1 and on 3 workers, in source order", function()
    local env = { NUVYN_JOB_PAYLOAD = payload() }
    local c1, o1 = H.run({ "run", "metadata_extraction", "--workers", "1" }, { cwd = dir, env = env })
    local c3, o3, e3 = H.run({ "run", "metadata_extraction", "--workers", "3" }, { cwd = dir, env = env })
    assert.equal(0, c1)
    assert.equal(0, c3, e3)
    local r1, r3 = json.decode(o1), json.decode(o3)
    assert.equal(4, r3.sources_processed)
    assert.same({ "s1", "s2", "s3", "s4" }, { r3.sources[1].source_id, r3.sources[2].source_id,
                                            r3.sources[3].source_id, r3.sources[4].source_id })
    assert.equal(200, r3.sources[4].metadata.tables[1].row_count)
    r1.workflow_id, r3.workflow_id = nil, nil
    assert.same(strip(r1), strip(r3))
    assert.matches("Extracting 4 sources on 3 workers", e3)
    assert.matches("worker %- INFO %- Source s4 done: success", e3)
  end)

  it("writes each worker's rows and log lines, and isolates a failing source", function()
    local env = { NUVYN_JOB_PAYLOAD = payload({ source_id = "bad", data_source_path = dir .. "/missing" }) }
    local code, out = H.run({ "run", "metadata_extraction", "--workers", "2", "--write-to-db" }, { cwd = dir, env = env })
    assert.equal(1, code) -- issue 11: one source failed: partial, exit 1 (fail_on = partial); the others written
    local r = json.decode(out)
    assert.equal("partial", r.status)
    assert.equal("bad", r.failed_objects[1].source)
    assert.equal(4, r.sources_processed)
    assert.equal(1, r.sources_failed)
    assert.equal("failed", r.sources[5].status)
    local st = H.open_store(dir)
    local srcs = st:query("SELECT source_id, status FROM _executor_metadata.sources ORDER BY source_id")
    assert.equal(5, #srcs)
    local logs = st:query("SELECT log_message FROM _executor_metadata.logs WHERE run_id = ? ORDER BY seq", r.run_id)
    local text = {}
    for _, l in ipairs(logs) do text[#text + 1] = l.log_message end
    text = table.concat(text, "\n")
    assert.matches("Source s3 done: success", text)
    assert.matches("data source " .. dir:gsub("%p", "%%%0") .. "/missing: cannot access", text)
    local seqs = st:query("SELECT COUNT(*) AS n, COUNT(DISTINCT seq) AS d FROM _executor_metadata.logs WHERE run_id = ?", r.run_id)
    assert.equal(seqs[1].n, seqs[1].d)
    st:close()
  end)
end)

-- issue 14: --threads N reads one file on N threads; the job's output is
-- the one a single thread gives, and a bad value is a warning
describe("threads within a file", function()
  local dir
  setup(function()
    dir = H.tmpdir()
    local rows = { "id,name,amount,day" }
    for k = 1, 20000 do
      rows[#rows + 1] = string.format("%d,n%d,%.2f,2024-01-%02d", k, k % 313, k * 1.5, k % 28 + 1)
    end
    H.write(dir .. "/big.csv", table.concat(rows, "\n") .. "\n")
    H.write(dir .. "/small.csv", "a,b\n1,x\n2,y\n")
    local pq = H.root .. "/../shared/parquet-testing/alltypes_plain.parquet"
    if io.open(pq, "rb") then os.execute("cp " .. H.q(pq) .. " " .. H.q(dir .. "/alltypes.parquet")) end
  end)
  teardown(function() H.rmdir(dir) end)

  local function tables_of(out)
    local r = json.decode(out)
    local t = r.tables
    for _, x in ipairs(t) do x.elapsed, x.profiled_at = nil, nil end
    return t
  end

  it("gives the same tables on 1 and 4 threads", function()
    local c1, o1, e1 = H.run({ "run", "metadata_extraction", dir, "--threads", "1" }, { cwd = dir })
    local c4, o4, e4 = H.run({ "run", "metadata_extraction", dir, "--threads", "4" }, { cwd = dir })
    assert.equal(0, c1, e1)
    assert.equal(0, c4, e4)
    assert.same(tables_of(o1), tables_of(o4))
    local big
    for _, t in ipairs(json.decode(o4).tables) do if t.table_name == "big.csv" then big = t end end
    assert.equal(20000, big.row_count)
  end)

  it("warns on a thread count that is not 1..64 and runs with the default", function()
    for _, bad in ipairs({ "0", "abc", "65", "1.5" }) do
      local code, out, err = H.run({ "run", "metadata_extraction", dir, "--threads", bad }, { cwd = dir })
      assert.equal(0, code, err)
      assert.matches("threads = " .. bad:gsub("%p", "%%%0") .. " is not an integer from 1 to 64", err)
      assert.is_truthy(json.decode(out).tables)
    end
  end)
end)
