-- issue 14: incremental runs. A run that writes to the store keeps each
-- file's whole read (file_profiles); the next run of the source reuses the
-- unchanged files instead of reading them, reads new and changed ones,
-- drops removed ones, and reports the tables a full read reports: exact
-- statistics equal, means within floating-point rounding.
local H = require "helper"
local json = require "nv.json"

local function write_rows(path, first, n, bump)
  local rows = { "id,amount,name,day" }
  for i = first, first + n - 1 do
    rows[#rows + 1] = string.format("%d,%.2f,n%d,2024-%02d-%02d", i, i * (bump or 1.25), i % 17, i % 12 + 1, i % 28 + 1)
  end
  H.write(path, table.concat(rows, "\n") .. "\n")
end

local function build(dir)
  os.execute("mkdir -p " .. H.q(dir .. "/src/orders") .. " " .. H.q(dir .. "/src/sales/region=eu") .. " "
    .. H.q(dir .. "/src/sales/region=us"))
  os.execute("cp " .. H.q(H.root .. "/examples/data/customers.csv") .. " " .. H.q(H.root .. "/examples/data/events.ndjson")
    .. " " .. H.q(dir .. "/src/"))
  local pq = H.root .. "/../shared/parquet-testing/alltypes_plain.parquet"
  local f = io.open(pq, "rb")
  if f then
    f:close()
    os.execute("cp " .. H.q(pq) .. " " .. H.q(dir .. "/src/alltypes.parquet"))
  end
  for k = 0, 2 do write_rows(dir .. "/src/orders/part-" .. k .. ".csv", k * 1000 + 1, 700 + k * 50) end
  write_rows(dir .. "/src/sales/region=eu/a.csv", 1, 300)
  write_rows(dir .. "/src/sales/region=us/b.csv", 301, 200)
end

local function run(dir, extra)
  local args = { "run", "metadata_extraction", "src", "--write-to-db" }
  for _, a in ipairs(extra or {}) do args[#args + 1] = a end
  local code, out, err = H.run(args, { cwd = dir })
  assert.equal(0, code, err)
  return json.decode(out), err
end

-- the tables' statistics, without what says how they were obtained
local function stats_of(r)
  local by = {}
  for _, t in ipairs(r.tables) do
    local cols = {}
    for _, c in ipairs(t.columns) do
      local cc = {}
      for k, v in pairs(c) do cc[k] = v end
      cols[c.name or c.column_name] = cc
    end
    by[t.table_name] = { row_count = t.row_count, status = t.status, columns = cols }
  end
  return by
end

local function assert_same_stats(want, got, what)
  for name, t in pairs(want) do
    local g = assert(got[name], what .. ": no table " .. name)
    assert.equal(t.row_count, g.row_count, what .. " " .. name)
    assert.equal(t.status, g.status, what .. " " .. name)
    for cname, c in pairs(t.columns) do
      local gc = assert(g.columns[cname], what .. ": no column " .. name .. "." .. cname)
      for k, v in pairs(c) do
        if (k == "p25" or k == "p50" or k == "p75") and c.quantiles_exact == false then
          -- merged per-file sketches: within the stated rank bound, here in value terms
          local span = (c.max or 0) - (c.min or 0)
          assert.is_true(math.abs(v - gc[k]) <= 0.02 * span + 1e-9, string.format("%s %s.%s %s", what, name, cname, k))
        elseif k == "mean" or k == "stddev" then
          assert.is_true(math.abs(v - gc[k]) <= 1e-9 * math.max(1, math.abs(v)), string.format("%s %s.%s %s", what, name, cname, k))
        else
          assert.are.same(v, gc[k], string.format("%s %s.%s %s", what, name, cname, k))
        end
      end
    end
  end
  for name in pairs(got) do assert.is_truthy(want[name], what .. ": extra table " .. name) end
end

local function reused_files(r)
  local n = 0
  for _, t in ipairs(r.tables) do
    for _, f in ipairs(t.files or {}) do if f.reused_from_run then n = n + 1 end end
  end
  return n
end

describe("incremental runs", function()
  local dir
  before_each(function()
    dir = H.tmpdir()
    build(dir)
  end)
  after_each(function() H.rmdir(dir) end)

  local function nfiles()
    local n = 0
    for _ in io.popen("find " .. H.q(dir .. "/src") .. " -type f"):lines() do n = n + 1 end
    return n
  end

  it("reuses every unchanged file and reports the tables a full read does", function()
    local first = run(dir)
    assert.same({ mode = "reuse", files_reused = 0, files_read = nfiles(), files_removed = 0, bytes_reused = 0 },
      first.incremental)
    local second, err = run(dir)
    assert.equal(0, second.incremental.files_read)
    assert.equal(nfiles(), second.incremental.files_reused)
    assert.is_true(second.incremental.bytes_reused > 0)
    assert.matches("files reused unchanged", err)
    assert_same_stats(stats_of(first), stats_of(second), "second run")
    -- the independent check: a run that keeps and reuses nothing
    local code, out = H.run({ "run", "metadata_extraction", "src" }, { cwd = dir })
    assert.equal(0, code)
    local plain = json.decode(out)
    assert.is_nil(plain.incremental)
    assert_same_stats(stats_of(plain), stats_of(second), "against a plain run")
    local orders = stats_of(second).orders
    assert.equal(700 + 750 + 800, orders.row_count)
  end)

  it("reads what changed or is new, drops what is gone, and equals a full read", function()
    run(dir)
    write_rows(dir .. "/src/orders/part-1.csv", 5001, 900, 3.5) -- changed: other rows and size
    write_rows(dir .. "/src/orders/part-3.csv", 9001, 40)         -- new
    os.remove(dir .. "/src/sales/region=us/b.csv")                  -- gone
    local third = run(dir)
    assert.equal(2, third.incremental.files_read)
    assert.equal(nfiles() - 2, third.incremental.files_reused)
    assert.equal(1, third.incremental.files_removed)
    local full = run(dir, { "--full" })
    assert.equal("full", full.incremental.mode)
    assert.equal(0, full.incremental.files_reused)
    assert.equal(0, reused_files(full))
    assert_same_stats(stats_of(full), stats_of(third), "after changes")
    local orders = stats_of(third).orders
    assert.equal(700 + 900 + 800 + 40, orders.row_count)
    assert.equal(9040, orders.columns.id.max)
    local st = H.open_store(dir)
    local rows = assert(st:query("SELECT COUNT(*) AS n FROM _executor_metadata.file_profiles"))
    st:close()
    assert.equal(nfiles(), rows[1].n) -- one kept read per listed file, the removed one dropped
  end)

  it("does not reuse a read made with other options", function()
    run(dir)
    local other = run(dir, { "--config", "opts.json" }, H.write(dir .. "/opts.json", '{"max_rows": 50}'))
    assert.equal(0, other.incremental.files_reused)
    assert.equal(nfiles(), other.incremental.files_read)
    assert.equal(150, stats_of(other).orders.row_count) -- the cap applied to each file, not a kept full read
  end)

  it("reads a file again when its kept profile is damaged, and warns", function()
    local first = run(dir)
    local st = H.open_store(dir)
    assert(st.db:exec("UPDATE _executor_metadata.file_profiles SET profile = ? WHERE file_path LIKE ?",
      "Tk9QRQ==", "%part-0.csv"))
    st:close()
    local again, err = run(dir)
    assert.equal(1, again.incremental.files_read)
    assert.matches("part%-0%.csv: not a serialised profile; read again", err)
    assert_same_stats(stats_of(first), stats_of(again), "after a damaged profile")
  end)

  it("keeps and reuses nothing when turned off, or without --write-to-db", function()
    H.write(dir .. "/off.json", '{"incremental": false}')
    local a = run(dir, { "--config", "off.json" })
    assert.is_nil(a.incremental)
    local code, out = H.run({ "run", "metadata_extraction", "src" }, { cwd = dir })
    assert.equal(0, code)
    assert.is_nil(json.decode(out).incremental)
    local st = H.open_store(dir)
    local rows = assert(st:query("SELECT COUNT(*) AS n FROM _executor_metadata.file_profiles"))
    st:close()
    assert.equal(0, rows[1].n)
    H.write(dir .. "/bad.json", '{"incremental": "perhaps"}')
    code, out = H.run({ "run", "metadata_extraction", "src", "--config", "bad.json" }, { cwd = dir })
    assert.equal(2, code)
  end)

  it("reuses across parallel sources", function()
    local payload = json.encode({ workflow_id = "wf", sources = {
      { source_id = "a", data_source_path = dir .. "/src/orders" },
      { source_id = "b", data_source_path = dir .. "/src/sales" } } })
    local env = { NUVYN_JOB_PAYLOAD = payload }
    local c1, o1, e1 = H.run({ "run", "metadata_extraction", "--write-to-db", "--workers", "2" }, { cwd = dir, env = env })
    assert.equal(0, c1, e1)
    local c2, o2, e2 = H.run({ "run", "metadata_extraction", "--write-to-db", "--workers", "2" }, { cwd = dir, env = env })
    assert.equal(0, c2, e2)
    local r1, r2 = json.decode(o1), json.decode(o2)
    for i = 1, 2 do
      assert.equal(0, r2.sources[i].metadata.incremental.files_read)
      assert.is_true(r2.sources[i].metadata.incremental.files_reused > 0)
      assert_same_stats(stats_of(r1.sources[i].metadata), stats_of(r2.sources[i].metadata), "source " .. i)
    end
  end)
end)
