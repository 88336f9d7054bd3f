-- nv.readers: one contract for every file reader (host/readers/reader.h).
-- Every reader answers tables(), profile_into(p, table, budget), rows(table,
-- n), info() and close() with the same budget keys, and sniff names the
-- right format for each file. Truth comes from outside the readers: the
-- format from the upstream path in tests/fixtures/real/SOURCES.tsv (and the
-- Parquet corpus's and the xlsx generator's own names), row counts from
-- expected.json (decided by hand), from files this spec writes itself, or
-- from DuckDB when it is installed.
local H = require "helper"
local cjson = require "cjson"
local readers = require "nv.readers"
local profile = require "nv.profile"
local fs = require "nv.fs"

local REAL = H.root .. "/tests/fixtures/real"
local PQ = H.root .. "/tests/fuzz/corpus/parquet"
local expected = cjson.decode(H.read(REAL .. "/expected.json"))

-- the format an upstream file name says
local by_ext = { csv = "csv", tsv = "csv", json = "json", geojson = "json", ndjson = "json", jsonl = "json",
                 parquet = "parquet", xlsx = "xlsx" }

local function truth_of(upstream_path)
  return by_ext[upstream_path:match("%.(%w+)$"):lower()]
end

-- {file = local name, format = from the upstream path}
local function real_files()
  local out, first = {}, true
  for line in H.read(REAL .. "/SOURCES.tsv"):gmatch("[^\n]+") do
    if not first then
      local file, _, upstream = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)")
      -- a SQLite database (the sqlite connector's fixture) is no reader's file
      if not upstream:lower():match("%.sqlite%d?$") and not upstream:lower():match("%.db$") then
        out[#out + 1] = { file = file, format = truth_of(upstream) }
      end
    end
    first = false
  end
  return out
end

local function head(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read(65536) or ""
  f:close()
  return s
end

local function count(iter, state, init, closing)
  local n = 0
  for _ in iter, state, init, closing do n = n + 1 end
  return n
end

local METHODS = { "tables", "profile_into", "rows", "info", "close" }

-- a workbook written here (the zip CLI): sheet "Big" with `rows` data
-- rows under a header of three columns, and sheet "Small" with two
local function write_xlsx(dir, name, rows)
  local t = dir .. "/" .. name .. ".d"
  os.execute("mkdir -p " .. H.q(t .. "/_rels") .. " " .. H.q(t .. "/xl/_rels") .. " " .. H.q(t .. "/xl/worksheets"))
  local NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    .. 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
  local REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
  H.write(t .. "/[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
    .. 'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
    .. 'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>')
  H.write(t .. "/_rels/.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    .. 'relationships"><Relationship Id="rId1" Type="' .. REL .. '/officeDocument" Target="xl/workbook.xml"/>'
    .. '</Relationships>')
  H.write(t .. "/xl/workbook.xml", "<workbook " .. NS .. '><sheets><sheet name="Big" sheetId="1" r:id="rId1"/>'
    .. '<sheet name="Small" sheetId="2" r:id="rId2"/></sheets></workbook>')
  H.write(t .. "/xl/_rels/workbook.xml.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/'
    .. '2006/relationships"><Relationship Id="rId1" Type="' .. REL .. '/worksheet" Target="worksheets/sheet1.xml"/>'
    .. '<Relationship Id="rId2" Type="' .. REL .. '/worksheet" Target="worksheets/sheet2.xml"/></Relationships>')
  local function sheet(n)
    local parts = { "<worksheet " .. NS .. '><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c>'
      .. '<c r="B1" t="inlineStr"><is><t>label</t></is></c><c r="C1" t="inlineStr"><is><t>amount</t></is></c></row>' }
    for i = 1, n do
      local r = i + 1
      parts[#parts + 1] = string.format('<row r="%d"><c r="A%d"><v>%d</v></c><c r="B%d" t="inlineStr"><is><t>'
        .. 'item %d</t></is></c><c r="C%d"><v>%d.5</v></c></row>', r, r, i, r, i, r, i)
    end
    parts[#parts + 1] = "</sheetData></worksheet>"
    return table.concat(parts)
  end
  H.write(t .. "/xl/worksheets/sheet1.xml", sheet(rows))
  H.write(t .. "/xl/worksheets/sheet2.xml", sheet(2))
  local out = dir .. "/" .. name .. ".xlsx"
  assert(os.execute("cd " .. H.q(t) .. " && zip -X -q -r ../" .. name .. ".xlsx '[Content_Types].xml' _rels xl"))
  H.rmdir(t)
  return out
end

describe("nv.readers.list", function()
  it("names every reader once, with its aliases and extensions, in sniff order", function()
    local names, seen = {}, {}
    for _, r in ipairs(readers.list()) do
      names[#names + 1] = r.name
      for _, a in ipairs(r.aliases) do
        assert.is_nil(seen[a], a)
        seen[a] = true
      end
      assert.is_true(#r.extensions > 0, r.name)
      for _, e in ipairs(r.extensions) do assert.matches("^%.[a-z]+$", e) end
    end
    assert.are.same({ "parquet", "xlsx", "json", "csv" }, names)
  end)
end)

describe("nv.readers.sniff and nv.fs.detect", function()
  for _, f in ipairs(real_files()) do
    it("call " .. f.file .. " " .. f.format, function()
      local path = REAL .. "/" .. f.file
      local fmt, score = readers.sniff(head(path), path)
      assert.are.equal(f.format, fmt)
      assert.is_true(score > 0 and score <= 100)
      assert.are.equal(f.format, (fs.detect(path)))
      assert.are.equal(f.format, (readers.sniff(head(path)))) -- the content alone says it
    end)
  end

  for _, name in ipairs(H.ls(PQ, "%.parquet$")) do
    it("call " .. name .. " parquet, with proof", function()
      local fmt, score = readers.sniff(head(PQ .. "/" .. name))
      assert.are.equal("parquet", fmt)
      assert.are.equal(100, score)
      assert.are.equal("parquet", (fs.detect(PQ .. "/" .. name)))
    end)
  end

  it("claims no SQLite database (a catalog source, not a reader's file)", function()
    local path = REAL .. "/chinook_Chinook_Sqlite.sqlite"
    assert.is_nil((readers.sniff(head(path), path)))
    assert.are.equal("binary", (fs.detect(path)))
  end)

  it("tells an xlsx workbook from another zip, and leaves .xls, binary and empty to nv.fs", function()
    local dir = H.tmpdir()
    local wb = write_xlsx(dir, "book", 3)
    assert.are.equal("xlsx", (readers.sniff(head(wb))))
    assert.are.equal("xlsx", (fs.detect(wb)))
    H.write(dir .. "/a.txt", "hello\n")
    assert(os.execute("cd " .. H.q(dir) .. " && zip -X -q plain.zip a.txt"))
    local fmt, msg, code = readers.sniff(head(dir .. "/plain.zip"))
    assert.are.same({ nil, "no reader recognises these bytes", "parse" }, { fmt, msg, code })
    assert.are.equal("zip", (fs.detect(dir .. "/plain.zip")))
    local ole = "\208\207\17\224\161\177\26\225" .. string.rep("\0", 8)
    H.write(dir .. "/legacy.xls", ole)
    assert.is_nil((readers.sniff(ole)))
    assert.are.equal("xls", (fs.detect(dir .. "/legacy.xls")))
    H.write(dir .. "/blank.csv", " \n\t\n")
    assert.is_nil((readers.sniff(" \n\t\n")))
    assert.are.equal("empty", (fs.detect(dir .. "/blank.csv")))
    H.rmdir(dir)
  end)

  it("takes a JSON-looking name as a hint, and a CSV name as a demand for proof", function()
    local broken = '{"a": 1, "b": \n'
    assert.are.equal("json", (readers.sniff(broken, "x.json")))
    assert.are.equal("csv", (readers.sniff(broken, "x.csv")))
    local ok = '{"a": 1}\n{"a": 2}\n'
    assert.are.equal("json", (readers.sniff(ok, "x.csv")))
    assert.are.equal("json", (readers.sniff(ok)))
  end)
end)

-- every reader, the same calls
describe("every reader", function()
  local dir, files
  setup(function()
    dir = H.tmpdir()
    -- files written here: their row counts are what was written
    local lines = { "id,label,amount" }
    for i = 1, 50000 do lines[#lines + 1] = string.format("%d,item %d,%d.5", i, i, i) end
    H.write(dir .. "/big.csv", table.concat(lines, "\n") .. "\n")
    local recs = {}
    for i = 1, 30000 do recs[#recs + 1] = string.format('{"id": %d, "label": "item %d"}', i, i) end
    H.write(dir .. "/big.ndjson", table.concat(recs, "\n") .. "\n")
    files = {
      { path = write_xlsx(dir, "big", 4000), format = "xlsx", rows = 4000, tables = { "Big", "Small" } },
      { path = dir .. "/big.csv", format = "csv", rows = 50000, tables = { "big" } },
      { path = dir .. "/big.ndjson", format = "json", rows = 30000, tables = { "big" } },
    }
    for _, f in ipairs(real_files()) do
      files[#files + 1] = { path = REAL .. "/" .. f.file, format = f.format, rows = expected[f.file].rows,
                            tables = { (f.file:gsub("%.[%w]+$", "")) } }
    end
  end)
  teardown(function() H.rmdir(dir) end)

  it("offers the same methods, and profiles the rows the truth counts", function()
    for _, f in ipairs(files) do
      local r = assert(readers.open(f.path)) -- the format sniffed
      for _, m in ipairs(METHODS) do assert.is_function(r[m], f.path .. ": " .. m) end
      local names = {}
      for i, t in ipairs(r:tables()) do names[i] = t.name end
      assert.are.same(f.tables, names, f.path)
      local info = r:info()
      assert.are.equal(f.format, info.format, f.path)
      assert.are.equal(f.path, info.path)
      local p = profile.new()
      local st, err = r:profile_into(p, names[1], { max_rows = f.rows + 10, max_bytes = 1 << 40 })
      assert.is_nil(err, f.path)
      assert.are.equal(f.rows, st.rows, f.path)
      assert.are.equal(f.rows, p:result().rows, f.path)
      assert.is_false(st.truncated, f.path)
      assert.is_true(r:close() ~= false)
    end
  end)

  it("stops at max_rows in every format, and says it stopped", function()
    for _, f in ipairs(files) do
      if f.rows > 3 then
        local r = assert(readers.open(f.path, f.format))
        local p = profile.new()
        local st = assert(r:profile_into(p, nil, { max_rows = 3 }))
        assert.are.equal(3, st.rows, f.path)
        assert.are.equal(3, p:result().rows, f.path)
        assert.is_true(st.truncated, f.path)
        r:close()
      end
    end
  end)

  it("stops within max_bytes and reports progress in bytes", function()
    for _, f in ipairs(files) do
      if f.rows >= 4000 then
        local r = assert(readers.open(f.path))
        local seen = {}
        local st = assert(r:profile_into(profile.new(), { max_bytes = 100000, progress_bytes = 16384,
          progress = function(b) seen[#seen + 1] = b end }))
        assert.is_true(st.rows > 0 and st.rows < f.rows, f.path .. ": " .. st.rows)
        assert.is_true(st.truncated, f.path)
        assert.is_true(#seen >= 1, f.path)
        for i = 2, #seen do assert.is_true(seen[i] >= seen[i - 1], f.path) end
        r:close()
      end
    end
  end)

  it("previews n rows of a table", function()
    for _, f in ipairs(files) do
      if f.rows >= 5 then
        local r = assert(readers.open(f.path))
        assert.are.equal(4, count(r:rows(f.tables[1], 4)), f.path)
        assert.are.equal(2, count(r:rows(nil, 2)), f.path)
        r:close()
      end
    end
  end)

  it("refuses an unknown budget key and an unknown table alike", function()
    for _, i in ipairs({ 1, 2, 3 }) do
      local f = files[i]
      local r <close> = assert(readers.open(f.path))
      assert.has_error(function() r:profile_into(profile.new(), nil, { bogus = 1 }) end, "unknown option 'bogus'")
      assert.has_error(function() r:profile_into(profile.new(), "no such table") end)
    end
  end)

  it("reads each sheet of a workbook as its own table", function()
    local r <close> = assert(readers.open(files[1].path, "xlsx"))
    local st = assert(r:profile_into(profile.new(), "Small"))
    assert.are.equal(2, st.rows)
    assert.are.equal(2, count(r:rows("Small", 10)) - 1) -- the header row, then the data
  end)

  it("keeps JSON's max_records as another name for max_rows", function()
    local r <close> = assert(readers.open(files[3].path, "ndjson"))
    local st = assert(r:profile_into(profile.new(), { max_records = 7 }))
    assert.are.equal(7, st.rows)
  end)
end)

describe("nv.readers.open", function()
  it("raises on an unknown format and fails softly on content no reader reads", function()
    for _, fmt in ipairs({ "csv", "json", "parquet", "xlsx" }) do
      local r, msg, code = readers.open("/nonexistent/x." .. fmt, fmt)
      assert.is_nil(r)
      assert.matches("/nonexistent/x%." .. fmt .. ": No such file or directory$", msg)
      assert.are.equal("open", code, fmt)
    end
    assert.has_error(function() readers.open(REAL .. "/fl_table.csv", "docx") end)
    local dir = H.tmpdir()
    H.write(dir .. "/z.bin", "\0\1\2\3")
    local r, msg, code = readers.open(dir .. "/z.bin")
    assert.is_nil(r)
    assert.are.equal(dir .. "/z.bin: no reader recognises the content", msg)
    assert.are.equal("parse", code)
    local r2, msg2, code2 = readers.open(dir .. "/missing.csv")
    assert.is_nil(r2)
    assert.matches("missing%.csv", msg2)
    assert.are.equal("open", code2) -- as every reader's open says it
    H.rmdir(dir)
  end)

  it("passes the format's own open options through", function()
    local r <close> = assert(readers.open(REAL .. "/fl_delimiter.csv", "csv", { delimiter = ";" }))
    assert.are.equal(";", r:info().dialect.delimiter)
  end)
end)

describe("Parquet row groups", function()
  local ddir, why = H.duckdb_dir()
  if not ddir then
    pending("DuckDB: " .. why)
    return
  end
  it("stop at max_bytes between row groups, with DuckDB's row count as the truth", function()
    local dir = H.tmpdir()
    local path = dir .. "/rg.parquet"
    local truth = H.duckdb_rowgroups(ddir, path)
    local r <close> = assert(readers.open(path))
    local full = assert(r:profile_into(profile.new()))
    assert.are.equal(truth.n, full.rows)
    assert.are.equal(truth.g, full.row_groups_read)
    local seen = {}
    local part = assert(r:profile_into(profile.new(), "rg", { max_bytes = 1,
      progress = function(b) seen[#seen + 1] = b end }))
    assert.are.equal(1, part.row_groups_read)
    assert.is_true(truth.g > 1)
    assert.are.equal(truth.first, part.rows)
    assert.is_true(part.truncated)
    assert.are.equal(1, #seen)
    H.rmdir(dir)
  end)
end)
