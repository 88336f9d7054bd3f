-- The pipeline's one reader budget ({max_rows, max_bytes, progress}) in
-- formats that are not read in byte chunks: within a Parquet file of
-- several row groups the progress callback fires after each row group
-- (the progress line moves, and a SIGTERM — opts.cancelled — stops the read
-- between row groups); a workbook reports once per sheet and a SIGTERM
-- stops it between sheets. Truth: DuckDB writes the Parquet file and says
-- how many row groups it holds; the workbook's sheets are the ones
-- tests/fixtures/make_xlsx_fixtures.sh writes (basic.xlsx: Data, Secret).
local H = require "helper"
local extract = require "nv.extract"
local filesource = require "nv.filesource"
local tableprofile = require "nv.tableprofile"

-- a context whose cancelled() (what the readers' progress callback asks)
-- counts its calls and says true from call `from` on, as after a SIGTERM;
-- check_cancel (between files and sheets) raises from then on, uncounted
local function counting_ctx(from)
  local ctx = H.quiet_ctx()
  ctx.calls, ctx.stopped = 0, false
  ctx.cancelled = function()
    ctx.calls = ctx.calls + 1
    if from and ctx.calls >= from then ctx.stopped = true end
    return ctx.stopped
  end
  ctx.check_cancel = function()
    if ctx.stopped then error("cancelled: received SIGTERM", 0) end
  end
  return ctx
end

describe("progress and cancellation within a Parquet file", function()
  local ddir, why = H.duckdb_dir()
  if not ddir then
    pending("DuckDB: " .. why)
    return
  end
  local dir, truth
  setup(function()
    dir = H.tmpdir()
    assert(os.execute("mkdir -p " .. H.q(dir .. "/data")))
    truth = H.duckdb_rowgroups(ddir, dir .. "/data/rg.parquet")
    assert.is_true(truth.g > 2, "the fixture needs several row groups")
  end)
  teardown(function() H.rmdir(dir) end)

  it("calls progress after each row group, through the pipeline", function()
    local ctx = counting_ctx(nil)
    local m = extract.source(ctx, { source_id = "s", data_source_path = dir .. "/data" }, {})
    assert.equal("success", m.status)
    assert.equal(truth.n, m.tables[1].rows)
    assert.equal(truth.g, ctx.calls) -- once per row group: the callback reached the reader
  end)

  it("moves the progress line within the file, bytes growing row group by row group", function()
    local files = assert(filesource.list(dir .. "/data"))
    local g = filesource.group(files, dir .. "/data")[1]
    local seen, steps = {}, 0
    local progress = { on = true, within = function(_, b) seen[#seen + 1] = b end,
                       step = function() steps = steps + 1 end }
    local t = tableprofile.group(H.quiet_ctx(), g, {}, progress)[1]
    assert.equal("success", t.status)
    assert.equal(truth.g, #seen)
    for i = 2, #seen do assert.is_true(seen[i] > seen[i - 1], "bytes grow: " .. table.concat(seen, ",")) end
    assert.equal(1, steps) -- the file's step, once it is read
  end)

  it("stops between row groups when the job is cancelled (SIGTERM), as a cancel between files does", function()
    local ctx = counting_ctx(2) -- cancelled once the second row group is read
    local ok, err = pcall(extract.source, ctx, { source_id = "s", data_source_path = dir .. "/data" }, {})
    assert.is_false(ok)
    assert.equal("cancelled: received SIGTERM", err)
    -- the progress line saw two row groups, then nothing: the read stopped
    local files = assert(filesource.list(dir .. "/data"))
    local g = filesource.group(files, dir .. "/data")[1]
    local seen = {}
    local progress = { on = true, within = function(_, b) seen[#seen + 1] = b end, step = function() end }
    ctx = counting_ctx(2)
    ok, err = pcall(tableprofile.group, ctx, g, { cancelled = ctx.cancelled, check_cancel = ctx.check_cancel },
      progress)
    assert.is_false(ok)
    assert.equal("cancelled: received SIGTERM", err)
    assert.equal(2, #seen)
    assert.is_true(#seen < truth.g)
  end)

  it("keeps max_rows and max_bytes in the same budget (the first row group only)", function()
    local ctx = counting_ctx(nil)
    local m = extract.source(ctx, { source_id = "s", data_source_path = dir .. "/data" }, { max_bytes = 1 })
    local f = m.tables[1].files[1]
    assert.equal(truth.first, f.rows)
    assert.is_true(f.truncated)
    assert.equal(1, ctx.calls)
  end)
end)

describe("progress and cancellation within a workbook", function()
  local dir
  setup(function()
    dir = H.tmpdir()
    assert(os.execute("sh " .. H.q(H.root .. "/tests/fixtures/make_xlsx_fixtures.sh") .. " " .. H.q(dir .. "/all")
      .. " >/dev/null"))
    assert(os.execute("mkdir -p " .. H.q(dir .. "/data") .. " && cp " .. H.q(dir .. "/all/basic.xlsx") .. " "
      .. H.q(dir .. "/data/")))
  end)
  teardown(function() H.rmdir(dir) end)

  it("reports once per sheet and stops between sheets on a SIGTERM", function()
    local ctx = counting_ctx(nil)
    local m = extract.source(ctx, { source_id = "s", data_source_path = dir .. "/data" }, {})
    local names = {}
    for _, t in ipairs(m.tables) do names[#names + 1] = t.name end
    assert.same({ "basic.xlsx#Data", "basic.xlsx#Secret" }, names)
    assert.equal(2, ctx.calls) -- once per sheet, after it
    ctx = counting_ctx(1) -- cancelled while the first sheet is read: the second never starts
    local ok, err = pcall(extract.source, ctx, { source_id = "s", data_source_path = dir .. "/data" }, {})
    assert.is_false(ok)
    assert.equal("cancelled: received SIGTERM", err)
    assert.equal(1, ctx.calls)
  end)
end)
