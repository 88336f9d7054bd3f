-- The native SQLite source kind (connectors/sqlite.lua through nv.dbsource)
-- against real databases, each checked against what Python's sqlite3 module
-- and plain Python compute from the same file (tests/fixtures/real/sqlite_truth.py):
--   * Chinook (lerocha/chinook-database, MIT; tests/fixtures/real/SOURCES.tsv)
--   * a database Python builds from a real CSV of the corpus
--     (538_airline-safety.csv) with views, a view that no longer compiles,
--     unique constraints and indexes, BLOB / BOOLEAN / untyped columns.
-- Needs python3 (its sqlite3 module).
local H = require "helper"
local json = require "nv.json"
local cjson = require "cjson"
local dbsource = require "nv.dbsource"
local connectors = require "nv.connectors"

local REAL = H.root .. "/tests/fixtures/real"
local CHINOOK = REAL .. "/chinook_Chinook_Sqlite.sqlite"
local TRUTH = REAL .. "/sqlite_truth.py"

local function python(args)
  local p = assert(io.popen("python3 " .. H.q(TRUTH) .. " " .. args))
  local out = p:read("a")
  assert(p:close(), "sqlite_truth.py " .. args .. " failed")
  return out
end

local function truth(path) return cjson.decode(python("truth " .. H.q(path))) end

local quiet_ctx = H.quiet_ctx

local function extract(path, opts, source_type)
  local m = { source_id = "src_sqlite", source_type = source_type or "sqlite", tables = json.array(),
              errors = json.array(), files_found = 0, total_size_bytes = 0 }
  return dbsource.source(quiet_ctx(), { source_id = "src_sqlite", data_source_path = path,
                                        source_type = source_type or "sqlite" }, opts or {}, m)
end

local function by_name(list)
  local out = {}
  for _, x in ipairs(list or {}) do out[x.name] = x end
  return out
end

local function close(a, b, what)
  assert(type(a) == "number", what .. ": no value (want " .. tostring(b) .. ")")
  assert(math.abs(a - b) <= 1e-9 * math.max(1, math.abs(b)), string.format("%s: %.17g, want %.17g", what, a, b))
end

-- every table, column, key and figure of the model against the truth
local function check(m, want)
  local tables = by_name(m.tables)
  local names = {}
  for n in pairs(want) do names[#names + 1] = n end
  table.sort(names)
  local got_names = {}
  for _, t in ipairs(m.tables) do got_names[#got_names + 1] = t.name end
  table.sort(got_names)
  assert.same(names, got_names)
  for _, name in ipairs(names) do
    local w, t = want[name], tables[name]
    assert.equal(w.type, t.table_type, name)
    assert.equal("main", t.schema_name)
    if w.error then
      assert.equal("failed", t.status, name)
    else
      assert.equal("success", t.status, name)
      assert.equal(w.rows, t.rows, name .. " rows")
      assert.equal(#w.columns, #t.columns, name .. " columns")
      for i, wc in ipairs(w.columns) do
        local c = t.columns[i]
        local what = name .. "." .. wc.name
        assert.equal(wc.name, c.name, what)
        assert.equal(wc.type ~= "" and wc.type or nil, c.native_type, what)
        assert.equal(not wc.not_null, c.declared_nullable, what)
        local s = w.stats[wc.name]
        assert.equal(s.nulls, c.null_count, what .. " nulls")
        assert.equal(w.rows, c.rows, what .. " rows")
        if s.distinct ~= nil then assert.equal(s.distinct, c.distinct_count, what .. " distinct") end
        if s.min ~= nil and c.inferred_type ~= "boolean" then
          assert.equal(s.min, c.min, what .. " min")
          assert.equal(s.max, c.max, what .. " max")
        end
        local numeric = c.inferred_type == "integer" or c.inferred_type == "decimal"
        if s.mean ~= nil and numeric then close(c.mean, s.mean, what .. " mean") end
        if s.stdev ~= nil and numeric then close(c.stddev, s.stdev, what .. " stddev") end
        if s.empty ~= nil and c.inferred_type == "string" then
          assert.equal(s.empty, c.empty_count, what .. " empty")
          assert.equal(s.min_length, c.min_length, what .. " min_length")
          assert.equal(s.max_length, c.max_length, what .. " max_length")
        end
      end
      if #w.primary_key > 0 then assert.same(w.primary_key, t.primary_key, name .. " primary key") end
      assert.equal(#w.foreign_keys, #t.foreign_keys, name .. " foreign keys")
      for i, f in ipairs(w.foreign_keys) do
        local g = t.foreign_keys[i]
        assert.same({ f.columns, f.ref_table, f.ref_columns, "main" },
          { g.columns, g.ref_table, g.ref_columns, g.ref_schema })
      end
      local idx = by_name(t.indexes)
      for _, u in ipairs(w.unique_indexes) do
        assert.is_table(idx[u.name], name .. " index " .. u.name)
        assert.is_true(idx[u.name].unique)
        assert.same(u.columns, idx[u.name].columns)
      end
    end
  end
end

describe("the sqlite connector", function()
  local dir
  setup(function() dir = H.tmpdir() end)
  teardown(function() H.rmdir(dir) end)

  it("is a registered catalog kind for sqlite: URLs and source_type sqlite", function()
    local c = connectors.get("sqlite")
    assert.equal("sqlite", c.engine)
    assert.is_function(c.extract)
    assert.equal(c, (connectors.resolve({ data_source_path = "sqlite:/d/x.db" })))
    assert.equal(c, (connectors.resolve({ data_source_path = "/d/x.db", source_type = "sqlite" })))
    assert.same({ "sqlite", "/d/x.db" }, { dbsource.resolve({ data_source_path = "sqlite:/d/x.db" }) })
    assert.same({ "sqlite", "/d/x.db" }, { dbsource.resolve({ data_source_path = "sqlite:///d/x.db" }) })
    assert.same({ "sqlite", "x.sqlite3" }, { dbsource.resolve({ data_source_path = "x.sqlite3", source_type = "sqlite" }) })
    assert.is_true(dbsource.engines.sqlite == c.dialect)
  end)

  it("extracts Chinook as Python's sqlite3 reads it, in a constant number of catalog queries", function()
    local path = dir .. "/Chinook.sqlite"
    local bytes = assert(H.read(CHINOOK))
    H.write(path, bytes)
    local want = truth(path)
    local m = extract("sqlite:" .. path)
    assert.same({}, m.errors)
    assert.equal("success", m.status)
    assert.same({ { name = "main" } }, m.schemas)
    assert.equal("Chinook.sqlite", m.database)
    assert.matches("^SQLite %d+%.%d+", m.server_version)
    check(m, want)
    -- 11 tables: the catalog still took one query per kind of object
    assert.equal(11, #m.tables)
    assert.equal(9, m.catalog_queries)
    -- every table: one aggregate query and one sample query
    assert.equal(22, m.profile_queries)
    local track = by_name(m.tables).Track
    local cols = by_name(track.columns)
    assert.equal("main.Album(AlbumId)", cols.AlbumId.foreign_key)
    assert.equal("integer", cols.Milliseconds.inferred_type)
    assert.equal("decimal", cols.UnitPrice.inferred_type)
    assert.equal("string", cols.Name.inferred_type)
    assert.equal(5, #cols.Name.samples)
    assert.equal("timestamp", by_name(by_name(m.tables).Invoice.columns).InvoiceDate.inferred_type)
    assert.is_true(track.size_bytes > 0)
    -- catalog only: the row counts still come (SQLite keeps no estimates), one COUNT(*) per table
    local none = extract("sqlite:" .. path, { profile = "none" })
    assert.same({ "success", 11 }, { none.status, none.profile_queries })
    for _, t in ipairs(none.tables) do assert.equal(want[t.name].rows, t.rows, t.name) end
    assert.is_nil(none.tables[1].columns[1].null_count)
    -- read, never written
    assert.equal(bytes, H.read(path))
  end)

  it("extracts a database built from a real CSV: views, a broken view, unique keys, odd types", function()
    local path = dir .. "/airline.db"
    python("build " .. H.q(REAL .. "/538_airline-safety.csv") .. " " .. H.q(path))
    local want = truth(path)
    local m = extract(path)
    check(m, want)
    assert.equal("partial", m.status)
    local t = by_name(m.tables)
    assert.equal(1, #m.errors)
    assert.matches("^source sqlite:" .. dir:gsub("%p", "%%%0") .. "/airline%.db: table main%.broken: view does not"
      .. " compile: .*no such table: main%.gone", m.errors[1])
    assert.matches("^CREATE VIEW fatal AS SELECT airline", t.fatal.definition)
    local a = t["airline safety"]
    assert.equal("main.airline safety", a.key)
    assert.same({ { name = "sqlite_autoindex_airline safety_1", columns = { "airline" } } }, a.unique_constraints)
    local cols = by_name(a.columns)
    assert.same({ "boolean", "binary", "string", "decimal" },
      { cols.star.inferred_type, cols.logo.inferred_type, cols.note.inferred_type, cols.rate.inferred_type })
    -- booleans: stored 0/1, reported as booleans; the truth's min/max are those numbers
    local s = want["airline safety"].stats.star
    assert.same({ s.min == 1, s.max == 1 }, { cols.star.min, cols.star.max })
    assert.is_nil(cols.logo.min)
    assert.equal(want["airline safety"].stats.logo.nulls, cols.logo.null_count)
    assert.equal("main.airline safety(id)", by_name(t.region.columns).airline_id.foreign_key)
    assert.equal("date", by_name(t.region.columns).since.inferred_type)
    -- include/exclude globs over the table names
    local only = extract(path, { include_tables = "air*, reg?on", exclude_tables = { "region" } })
    assert.same({ "airline safety" }, { only.tables[1].name, only.tables[2] and only.tables[2].name })
  end)

  it("never writes: the connection is read-only", function()
    local path = dir .. "/ro.db"
    python("build " .. H.q(REAL .. "/538_airline-safety.csv") .. " " .. H.q(path))
    local before = H.read(path)
    local attempt
    extract(path, { profile = "none", on_catalog = function(_, conn)
      attempt = { conn:exec('DELETE FROM "airline safety"') }
    end })
    assert.is_nil(attempt[1])
    assert.matches("readonly", attempt[2])
    assert.equal(before, H.read(path))
  end)

  it("test_connection says what it reached; a file that is not SQLite or is missing fails with a code", function()
    local path = dir .. "/tc.db"
    H.write(path, assert(H.read(CHINOOK)))
    local ok, info = dbsource.test_connection({ data_source_path = path, source_type = "sqlite" })
    assert.is_true(ok)
    assert.same({ "sqlite", "sqlite:" .. path, path, 1, { "main" }, 11 },
      { info.kind, info.description, info.database, info.schema_count, info.schemas, info.tables })
    assert.matches("^SQLite %d+%.%d+%.%d+", info.server_version)
    local r = { dbsource.test_connection({ data_source_path = REAL .. "/538_airline-safety.csv", source_type = "sqlite" }) }
    assert.same({ nil, "sqlite: " .. REAL .. "/538_airline-safety.csv is not a SQLite database (no \"SQLite format 3\""
      .. " header)", "parse" }, r)
    r = { connectors.get("sqlite").test_connection({ data_source_path = "sqlite:" .. dir .. "/none.db" }) }
    assert.same({ nil, "sqlite: cannot open " .. dir .. "/none.db: " .. dir .. "/none.db: No such file or directory",
                  "notfound", 2 }, r) -- the kind, then the errno (ENOENT)
    local m = extract(dir .. "/none.db")
    assert.equal("failed", m.status)
    assert.matches("No such file or directory", m.errors[1])
  end)

  it("a tenant adds a database kind with one connector module: its dialect, the shared driver", function()
    local root = dir .. "/tenant"
    os.execute("mkdir -p " .. H.q(root .. "/connectors"))
    -- a kind served by nv.dbsource whose dialect is SQLite's with its own
    -- type names: no core file touched (looked up lazily: the registry is
    -- still scanning while this chunk runs)
    H.write(root .. "/connectors/shopdb.lua", [[
local dbsource = require "nv.dbsource"
local dialect = setmetatable({
  normalize = function(c) return (c.native_type or ""):match("^NVARCHAR") and "text" or "other" end,
}, { __index = function(_, k) return require("nv.connectors").get("sqlite").dialect[k] end })
return { name = "shopdb", description = "the shop's SQLite files", source_types = { "shopdb" },
         engine = "shopdb", dialect = dialect, schemes = {}, asset_types = dbsource.supported_asset_types(),
         test_connection = dbsource.test_connection, extract = dbsource.source }
]])
    local path = dir .. "/shop.sqlite"
    H.write(path, assert(H.read(CHINOOK)))
    local code, out, err = H.run({ "run", "metadata_extraction", path, "shopdb" },
      { cwd = dir, env = { NVLUA_PATH = root } })
    assert.equal(0, code, err)
    local doc = H.one_json(out)
    assert.same({ "success", "shopdb", 11 }, { doc.extraction_status, doc.source_type, #doc.tables })
    local types = {}
    for _, t in ipairs(doc.tables) do
      for _, c in ipairs(t.columns) do types[c.data_type] = true end
    end
    assert.same({ text = true, other = true }, types)
  end)

  it("runs as a metadata_extraction job", function()
    local path = dir .. "/job.sqlite"
    H.write(path, assert(H.read(CHINOOK)))
    local code, out, err = H.run({ "run", "metadata_extraction", "sqlite:" .. path, "sqlite" }, { cwd = dir })
    assert.equal(0, code, err)
    local doc = H.one_json(out)
    assert.same({ "completed", "success", "sqlite" }, { doc.status, doc.extraction_status, doc.source_type })
    assert.equal(11, #doc.tables)
  end)
end)
