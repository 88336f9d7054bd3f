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
