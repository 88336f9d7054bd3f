-- Delta tables (nv.delta): the _delta_log replayed so that only live data
-- files are profiled and counted — removed and never-committed files are
-- ignored, partition columns and the version come from the log, a broken
-- log fails its table only — locally, from a checkpoint when the commits
-- before it are gone, and on S3/Azure (emulators) without downloading the
-- files the log does not name.
--
-- Data files are copied from ../shared/parquet-testing (pending when it is
-- absent); checkpoints are written with DuckDB (pending without it).
local H = require "helper"
local delta = require "nv.delta"
local json = require "nv.json"
local sys = require "nv.sys"

local testing = H.root .. "/../shared/parquet-testing"
local have_testing = io.open(testing .. "/alltypes_plain.parquet", "rb")
if have_testing then have_testing:close() end
local PLAIN, SNAPPY = "alltypes_plain.parquet", "alltypes_plain.snappy.parquet" -- 8 and 2 rows

local function commit_name(v) return string.format("%020d.json", v) end

local function mkdirs(path) assert(sys.mkdirs(path)) end

-- writes one commit: actions is a list of action tables (or raw lines)
local function commit(table_dir, v, actions)
  mkdirs(table_dir .. "/_delta_log")
  local lines = {}
  for i, a in ipairs(actions) do lines[i] = type(a) == "string" and a or json.encode(a) end
  H.write(table_dir .. "/_delta_log/" .. commit_name(v), table.concat(lines, "\n") .. "\n")
end

local function copy(name, to)
  mkdirs(to:match("^(.*)/[^/]+$"))
  H.write(to, assert(H.read(testing .. "/" .. name)))
end

local SCHEMA = json.encode({ type = "struct", fields = { { name = "id", type = "integer", nullable = true, metadata = {} } } })
local function meta(parts, id)
  return { metaData = { id = id or "tbl-1", format = { provider = "parquet", options = {} }, schemaString = SCHEMA,
                        partitionColumns = json.array(parts or {}), configuration = {}, createdTime = 1700000000000 } }
end
local PROTOCOL = { protocol = { minReaderVersion = 1, minWriterVersion = 2 } }
local function add(path, pv, extra)
  local a = { path = path, partitionValues = pv or {}, size = 1, modificationTime = 1700000000000, dataChange = true }
  for k, v in pairs(extra or {}) do a[k] = v end
  return { add = a }
end
local function remove(path) return { remove = { path = path, deletionTimestamp = 1700000001000, dataChange = true } } end

-- a quiet job context that keeps what was logged
local function context(config)
  local logged = { info = {}, warning = {}, error = {} }
  local function logger(level)
    return function(_, fmt, ...) table.insert(logged[level], string.format(fmt, ...)) end
  end
  return { config = config or {}, log = { info = logger("info"), warning = logger("warning"), error = logger("error"),
                                          debug = function() end }, logged = logged }
end

local function by_name(tables)
  local t = {}
  for _, x in ipairs(tables) do t[x.name or x.table_name] = x end
  return t
end

-- ---- replay, on logs alone ---------------------------------------------------

describe("nv.delta log replay", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  local function snapshot()
    return delta.snapshot(assert(delta.log_local(dir .. "/_delta_log")))
  end

  it("replays adds and removes in version order (a file removed, then added again)", function()
    commit(dir, 0, { PROTOCOL, meta({ "year" }), add("year=2023/a.parquet", { year = "2023" }), add("b.parquet") })
    commit(dir, 1, { remove("year=2023/a.parquet"), add("c.parquet") })
    commit(dir, 2, { remove("c.parquet"), add("year=2023/a.parquet", { year = "2023" }) })
    local s = assert(snapshot())
    assert.equal(2, s.version)
    assert.equal(3, s.commits_read)
    assert.equal(2, s.nlive)
    assert.same({ year = "2023" }, s.live["year=2023/a.parquet"].partition_values)
    assert.truthy(s.live["b.parquet"])
    assert.is_nil(s.live["c.parquet"])
    assert.same({ ["c.parquet"] = true }, s.removed)
    assert.same({ "year" }, s.metadata.partition_columns)
    assert.equal("tbl-1", s.metadata.id)
    assert.same({ { name = "id", type = "integer", nullable = true } }, s.metadata.fields)
  end)

  it("takes the newest metaData and decodes percent-encoded paths", function()
    commit(dir, 0, { PROTOCOL, meta({ "year" }, "old"), add("year%3D2024/part%20one.parquet", { year = "2024" }) })
    commit(dir, 1, { meta({ "region" }, "new") })
    local s = assert(snapshot())
    assert.same({ "region" }, s.metadata.partition_columns)
    assert.equal("new", s.metadata.id)
    assert.truthy(s.live["year=2024/part one.parquet"])
  end)

  it("ignores commitInfo, txn and blank lines, and warns about unknown reader features", function()
    commit(dir, 0, { { commitInfo = { operation = "WRITE" } }, "", { txn = { appId = "x", version = 1 } },
                     { protocol = { minReaderVersion = 3, minWriterVersion = 7, readerFeatures = { "deletionVectors", "fancyThing" } } },
                     meta(), add("a.parquet") })
    local s = assert(snapshot())
    assert.equal(1, s.nlive)
    assert.same({ "reader feature fancyThing is not understood; files may be misread" }, s.warnings)
  end)

  local errors = {
    { "a malformed commit line", function()
        commit(dir, 0, { PROTOCOL, meta(), add("a.parquet") })
        commit(dir, 1, { '{"add":{"path":"b.parquet",' })
      end, "/_delta_log/00000000000000000001.json: line 1: malformed JSON (Expected object key string but found T_END at character 28)" },
    { "an add without a path", function()
        commit(dir, 0, { PROTOCOL, meta(), { add = { size = 3 } } })
      end, "/_delta_log/00000000000000000000.json: line 3: add action without a path" },
    { "a line that is not an object", function()
        commit(dir, 0, { PROTOCOL, meta(), "[1, 2]" })
      end, "/_delta_log/00000000000000000000.json: line 3: not a JSON object" },
    { "a missing commit without a checkpoint", function()
        commit(dir, 1, { PROTOCOL, meta(), add("a.parquet") })
        commit(dir, 2, { add("b.parquet") })
      end, "/_delta_log: commit 0 is missing and no checkpoint covers it" },
    { "a log without metaData", function()
        commit(dir, 0, { PROTOCOL, add("a.parquet") })
      end, "/_delta_log: no metaData action in the log" },
    { "an empty log", function()
        mkdirs(dir .. "/_delta_log")
        H.write(dir .. "/_delta_log/00000000000000000000.crc", "{}")
      end, "/_delta_log: no commits (an empty transaction log)" },
  }
  for _, c in ipairs(errors) do
    it("names the log file and the cause for " .. c[1], function()
      c[2]()
      local s, err = snapshot()
      assert.is_nil(s)
      assert.equal(dir .. c[3], err)
    end)
  end
end)

-- ---- local tables ---------------------------------------------------------------

describe("Delta tables in a local source", function()
  if not have_testing then
    pending("../shared/parquet-testing is not present")
    return
  end
  local extract = require "nv.extract"
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  -- sales/: a (8 rows, 2023), b (2 rows, 2024) live; c (8 rows) added then
  -- removed; stale (8 rows) never committed
  local function sales(root)
    local t = root .. "/sales"
    copy(PLAIN, t .. "/year=2023/part-00000-a.snappy.parquet")
    copy(SNAPPY, t .. "/year=2024/part-00001-b.snappy.parquet")
    copy(PLAIN, t .. "/year=2024/part-00002-c.snappy.parquet")
    copy(PLAIN, t .. "/year=2024/part-00003-stale.snappy.parquet")
    commit(t, 0, { { commitInfo = { operation = "WRITE" } }, PROTOCOL, meta({ "year" }),
                   add("year=2023/part-00000-a.snappy.parquet", { year = "2023" }),
                   add("year=2024/part-00002-c.snappy.parquet", { year = "2024" }) })
    commit(t, 1, { remove("year=2024/part-00002-c.snappy.parquet"),
                   add("year%3D2024/part-00001-b.snappy.parquet", { year = "2024" }) })
    return t
  end

  local function extract_dir(path, opts)
    local ctx = context()
    local m = extract.source(ctx, { source_id = "s", data_source_path = path }, opts or {})
    return m, ctx
  end

  it("counts live files only: a removed file and a never-committed one are not in row_count", function()
    sales(dir)
    local m, ctx = extract_dir(dir)
    assert.equal("success", m.status)
    local t = by_name(m.tables).sales
    assert.equal(10, t.rows) -- 8 + 2; not c's 8 nor stale's 8
    assert.equal("delta", t.file_type)
    assert.equal("parquet", t.data_format)
    local names = {}
    for i, f in ipairs(t.files) do names[i] = f.name end
    assert.same({ "part-00000-a.snappy.parquet", "part-00001-b.snappy.parquet" }, names)
    assert.equal(1, t.delta.version)
    assert.equal(2, t.delta.live_files)
    assert.equal(1, t.delta.removed_files_ignored)
    assert.equal(1, t.delta.untracked_files_ignored)
    assert.equal("tbl-1", t.delta.table_id)
    assert.same({ "year" }, t.partition_columns)
    local year = t.columns[#t.columns]
    assert.equal("year", year.name)
    assert.is_true(year.partition)
    local said
    for _, line in ipairs(ctx.logged.info) do
      said = said or line == "Delta table sales: 2 files not in the log at version 1 ignored (1 removed, 1 never added)"
    end
    assert.is_true(said)
  end)

  it("takes partition values from the log, not from directory names", function()
    local t = dir .. "/events"
    copy(PLAIN, t .. "/f1.parquet")
    copy(SNAPPY, t .. "/f2.parquet")
    commit(t, 0, { PROTOCOL, meta({ "region" }), add("f1.parquet", { region = "eu" }), add("f2.parquet", { region = "us" }) })
    local m = extract_dir(t)
    local tbl = m.tables[1]
    assert.equal(1, #m.tables)
    assert.equal("events", tbl.name)
    assert.equal(10, tbl.rows)
    assert.same({ region = "eu" }, tbl.files[1].partition)
    local region = tbl.columns[#tbl.columns]
    assert.equal("region", region.name)
    assert.equal(2, region.distinct_count)
  end)

  it("fails a table with a malformed commit and still extracts the others", function()
    sales(dir)
    local t2 = dir .. "/ok"
    copy(SNAPPY, t2 .. "/part-0.parquet")
    commit(t2, 0, { PROTOCOL, meta(), add("part-0.parquet") })
    H.write(dir .. "/notes.csv", "id,note\n1,a\n2,b\n")
    commit(dir .. "/sales", 2, { '{"add": {"path": "x.parquet", "size": 1', '{"remove": {"path": "y.parquet"}}' })
    local code, out, err = H.run({ "run", "metadata_extraction", dir }, { cwd = dir })
    assert.equal(1, code, err) -- issue 11: partial exits 1 by default (fail_on = partial)
    local r = json.decode(out)
    assert.equal("partial", r.extraction_status)
    local t = by_name(r.tables)
    local msg = dir .. "/sales/_delta_log/00000000000000000002.json: line 1: malformed JSON " ..
      "(Expected comma or object end but found T_END at character 40)"
    assert.same({ { source = r.source_id, table = "sales", reason = msg } }, r.failed_objects)
    assert.equal("failed", t.sales.status)
    assert.same({ msg }, t.sales.errors)
    assert.same({ error = msg }, t.sales.delta)
    assert.equal(0, t.sales.row_count)
    assert.same({ msg }, r.errors)
    assert.equal("success", t.ok.status)
    assert.equal(2, t.ok.row_count)
    assert.equal("delta", t.ok.file_type)
    assert.equal(2, t["notes.csv"].row_count)
    assert.matches(msg:gsub("%p", "%%%0"), err)
  end)

  it("reports a live file that the directory lacks, and keeps the others", function()
    sales(dir)
    os.remove(dir .. "/sales/year=2023/part-00000-a.snappy.parquet")
    local m = extract_dir(dir .. "/sales")
    local t = m.tables[1]
    assert.equal("partial", t.status)
    assert.equal(2, t.rows)
    assert.same({ "year=2023/part-00000-a.snappy.parquet: listed in the Delta log (version 1) but not found" }, t.errors)
    assert.equal(1, t.delta.missing_files)
    assert.equal("partial", m.status)
  end)

  it("subtracts rows deleted by deletion vectors and says the profiles still hold them", function()
    local t = dir .. "/dv"
    copy(PLAIN, t .. "/a.parquet")
    commit(t, 0, { { protocol = { minReaderVersion = 3, minWriterVersion = 7, readerFeatures = { "deletionVectors" } } },
                   meta(), add("a.parquet", nil, { deletionVector = { storageType = "u", pathOrInlineDv = "x",
                                                                      sizeInBytes = 34, cardinality = 3 } }) })
    local m = extract_dir(t)
    local tbl = m.tables[1]
    assert.equal(5, tbl.rows)
    assert.equal(3, tbl.delta.deleted_rows)
    assert.same({ "dv: 3 rows are deleted by deletion vectors; the row count excludes them, the column profiles do not" },
      tbl.warnings)
  end)

  it("profiles from the footers alone with parquet_footer_only", function()
    sales(dir)
    local m = extract_dir(dir .. "/sales", { parquet_footer_only = true })
    local t = m.tables[1]
    assert.equal(10, t.rows)
    assert.is_true(t.files[1].footer_only)
    local by = {}
    for _, c in ipairs(t.columns) do by[c.name] = c end
    assert.equal(10, by.id.rows)
    assert.equal("integer", by.id.inferred_type)
    assert.equal("INT32", by.id.native_type)
    assert.is_true(by.id.from_footer)
    assert.is_true(by.year.partition) -- the partition column still comes from the log
  end)

  it("does not take a _delta_log without commit files for a Delta table", function()
    copy(PLAIN, dir .. "/t/part-00000.parquet")
    mkdirs(dir .. "/t/_delta_log")
    H.write(dir .. "/t/_delta_log/0.json", "{}")
    local m = extract_dir(dir)
    assert.equal("success", m.status)
    assert.equal("parquet", m.tables[1].file_type)
    assert.equal(8, m.tables[1].rows)
  end)

  it("names columns by their logical names under column mapping", function()
    local t = dir .. "/mapped"
    copy(PLAIN, t .. "/a.parquet")
    local schema = json.encode({ type = "struct", fields = {
      { name = "user id", type = "integer", nullable = true, metadata = { ["delta.columnMapping.id"] = 1,
                                                                        ["delta.columnMapping.physicalName"] = "id" } } } })
    local m = meta()
    m.metaData.schemaString = schema
    commit(t, 0, { { protocol = { minReaderVersion = 2, minWriterVersion = 5 } }, m, add("a.parquet") })
    local tbl = extract_dir(t).tables[1]
    assert.equal("user id", tbl.columns[1].name)
    assert.equal("id", tbl.columns[1].physical_name)
    assert.equal("bool_col", tbl.columns[2].name)
    assert.truthy(tbl.quality.columns["user id"])
  end)

  it("is not fooled by a part-file directory without a log", function()
    copy(PLAIN, dir .. "/plain/part-00000.parquet")
    copy(SNAPPY, dir .. "/plain/part-00001.parquet")
    local m = extract_dir(dir)
    assert.equal(1, #m.tables)
    assert.equal("parquet", m.tables[1].file_type)
    assert.equal(10, m.tables[1].rows)
    assert.is_nil(m.tables[1].delta)
  end)
end)

-- ---- checkpoints (DuckDB writes them) ----------------------------------------------

local duckdb_dir = H.duckdb_dir -- @duckdb/node-api, npm-installed when NVLUA_TEST_DUCKDB=1

describe("Delta checkpoints", function()
  local ddir, why = duckdb_dir()
  if not have_testing or not ddir then
    pending(not have_testing and "../shared/parquet-testing is not present" or ("DuckDB: " .. why))
    return
  end
  local extract = require "nv.extract"
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  -- state at version 1 as a checkpoint: a and b live, c removed
  local function table_with_checkpoint(t)
    copy(PLAIN, t .. "/year=2023/a.parquet")
    copy(SNAPPY, t .. "/year=2024/b.parquet")
    copy(PLAIN, t .. "/year=2024/c.parquet")
    copy(SNAPPY, t .. "/year=2024/d.parquet")
    commit(t, 0, { PROTOCOL, meta({ "year" }), add("year=2023/a.parquet", { year = "2023" }),
                   add("year=2024/c.parquet", { year = "2024" }) })
    commit(t, 1, { remove("year=2024/c.parquet"), add("year=2024/b.parquet", { year = "2024" }) })
    commit(t, 2, { add("year=2024/d.parquet", { year = "2024" }) })
    local spec = dir .. "/spec.json"
    H.write(spec, json.encode({ checkpoint = {
      out = t .. "/_delta_log/00000000000000000001.checkpoint.parquet", id = "tbl-1", partitionColumns = { "year" },
      schemaString = SCHEMA,
      adds = { { path = "year=2023/a.parquet", partitionValues = { year = "2023" }, size = 1 },
               { path = "year=2024/b.parquet", partitionValues = { year = "2024" }, size = 1 } },
      removes = { "year=2024/c.parquet" } } }))
    assert(os.execute("NVLUA_DUCKDB_DIR=" .. H.q(ddir) .. " node " ..
      H.q(H.root .. "/tests/fixtures/make_delta_fixtures.mjs") .. " " .. H.q(spec)), "fixture generator failed")
    H.write(t .. "/_delta_log/_last_checkpoint", '{"version":1,"size":4}')
  end

  it("reads the checkpoint when the commits before it are gone", function()
    local t = dir .. "/sales"
    table_with_checkpoint(t)
    os.remove(t .. "/_delta_log/" .. commit_name(0))
    os.remove(t .. "/_delta_log/" .. commit_name(1))
    local m = extract.source(context(), { data_source_path = t }, {})
    local tbl = m.tables[1]
    assert.equal("success", tbl.status, json.encode(tbl.errors))
    assert.equal(12, tbl.rows) -- a 8 + b 2 + d 2
    assert.equal(2, tbl.delta.version)
    assert.equal(1, tbl.delta.checkpoint_version)
    assert.is_true(tbl.delta.checkpoint_read)
    assert.equal(1, tbl.delta.commits_read)
    assert.equal(1, tbl.delta.removed_files_ignored)
    assert.same({ "year" }, tbl.partition_columns)
    assert.same({ year = "2023" }, tbl.files[1].partition)
  end)

  it("replays the JSON commits and leaves the checkpoint unread when they are all there", function()
    local t = dir .. "/sales"
    table_with_checkpoint(t)
    local m = extract.source(context(), { data_source_path = t }, {})
    local tbl = m.tables[1]
    assert.equal(12, tbl.rows)
    assert.equal(1, tbl.delta.checkpoint_version)
    assert.is_false(tbl.delta.checkpoint_read)
    assert.equal(3, tbl.delta.commits_read)
  end)

  it("fails the table, saying why, when the needed checkpoint is unreadable", function()
    local t = dir .. "/sales"
    table_with_checkpoint(t)
    os.remove(t .. "/_delta_log/" .. commit_name(0))
    H.write(t .. "/_delta_log/00000000000000000001.checkpoint.parquet", "PAR1 not really")
    local m = extract.source(context(), { data_source_path = t }, {})
    local tbl = m.tables[1]
    assert.equal("failed", tbl.status)
    assert.same({ t .. "/_delta_log/00000000000000000001.checkpoint.parquet: not a Parquet file (bad magic bytes)" ..
      " (commits before version 1 are gone, so the checkpoint is needed)" }, tbl.errors)
  end)
end)

-- ---- object stores -----------------------------------------------------------------

local S3 = os.getenv("NVLUA_TEST_S3_ENDPOINT")
local BUCKET = os.getenv("NVLUA_TEST_S3_BUCKET") or "nvlua-test"
local BLOB = os.getenv("NVLUA_TEST_AZURE_BLOB")

local counting = H.count_requests -- the emulators keep no count: {method, url, range}

local function upload(put, t)
  -- the sales layout of the local tests, as objects
  local files = {
    ["year=2023/part-00000-a.snappy.parquet"] = PLAIN, ["year=2024/part-00001-b.snappy.parquet"] = SNAPPY,
    ["year=2024/part-00002-c.snappy.parquet"] = PLAIN, ["year=2024/part-00003-stale.snappy.parquet"] = PLAIN,
  }
  for rel, src in pairs(files) do assert(put(t .. "/" .. rel, assert(H.read(testing .. "/" .. src)))) end
  local function log(v, actions)
    local lines = {}
    for i, a in ipairs(actions) do lines[i] = json.encode(a) end
    assert(put(t .. "/_delta_log/" .. commit_name(v), table.concat(lines, "\n") .. "\n"))
  end
  log(0, { PROTOCOL, meta({ "year" }), add("year=2023/part-00000-a.snappy.parquet", { year = "2023" }),
           add("year=2024/part-00002-c.snappy.parquet", { year = "2024" }) })
  log(1, { remove("year=2024/part-00002-c.snappy.parquet"), add("year=2024/part-00001-b.snappy.parquet", { year = "2024" }) })
end

local function check_remote(m, seen, base)
  local t = by_name(m.tables).sales
  assert.equal("success", t.status, json.encode(t.errors))
  assert.equal(10, t.rows)
  assert.equal("delta", t.file_type)
  assert.equal(1, t.delta.version)
  assert.equal(1, t.delta.removed_files_ignored)
  assert.equal(1, t.delta.untracked_files_ignored)
  local got = {}
  for _, r in ipairs(seen) do
    if not r.url:find("?", 1, true) then -- not the listing
      got[#got + 1] = r.url:sub(#base + 2):gsub("%%3D", "=")
    end
  end
  table.sort(got)
  -- the log and the two live files; never the removed or the stale one
  assert.same({ "sales/_delta_log/" .. commit_name(0), "sales/_delta_log/" .. commit_name(1),
                "sales/year=2023/part-00000-a.snappy.parquet", "sales/year=2024/part-00001-b.snappy.parquet" }, got)
end

describe("Delta tables on object stores", function()
  if not have_testing then
    pending("../shared/parquet-testing is not present")
    return
  end
  local extract = require "nv.extract"

  if not S3 or S3 == "" then
    it("S3 (emulator)", function() pending("SKIPPED: NVLUA_TEST_S3_ENDPOINT is not set") end)
  else
    it("reads the log from S3 and downloads live files only (s3rver)", function()
      local aws = { access_key_id = "S3RVER", secret_access_key = "S3RVER", endpoint_url = S3, retries = 0 }
      local client = require("nv.s3").client(aws)
      local run = "delta-" .. sys.random_hex(4)
      upload(function(key, body) return client:put(BUCKET, key, body) end, run .. "/sales")
      local seen, restore = counting()
      local ctx = context({ aws = aws })
      local ok, m = pcall(extract.source, ctx, { data_source_path = "s3://" .. BUCKET .. "/" .. run, source_type = "aws_s3" }, {})
      restore()
      for _, c in ipairs(ctx.cleanups or {}) do c() end
      assert(ok, m)
      check_remote(m, seen, S3 .. "/" .. BUCKET .. "/" .. run)
      assert.matches("^s3://", by_name(m.tables).sales.files[1].path)
    end)
  end

  if not BLOB or BLOB == "" then
    it("Azure Blob (emulator)", function() pending("SKIPPED: NVLUA_TEST_AZURE_BLOB is not set") end)
  else
    it("reads the log from Azure Blob and downloads live files only (azurite)", function()
      local azure = require "nv.azure"
      local container = "delta" .. sys.random_hex(4)
      local c = assert(azure.client(assert(azure.parse_url(BLOB .. "/" .. container .. "/")),
        { account_key = azure.dev_key, retries = 0 }))
      assert(c:create_container())
      upload(function(key, body) return c:put(key, body) end, "data/sales")
      local seen, restore = counting()
      local ctx = context({ azure = { account_key = azure.dev_key } })
      local ok, m = pcall(extract.source, ctx, { data_source_path = BLOB .. "/" .. container .. "/data",
                                                 source_type = "azure_blob" }, {})
      restore()
      for _, cl in ipairs(ctx.cleanups or {}) do cl() end
      assert(ok, m)
      check_remote(m, seen, BLOB .. "/" .. container .. "/data")
    end)
  end
end)
