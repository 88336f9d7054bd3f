-- nv.xlsx: sheets, header detection, trimming, typed values, dates in both
-- systems, merged cells, previews and exact errors, on workbooks written
-- by tests/fixtures/make_xlsx_fixtures.sh into a temp directory.
local H = require "helper"
local xl = require("nv.xlsx")
local profile = require("nv.profile")

local dir

local function fx(name) return dir .. "/" .. name end

local function columns_by_name(p)
  local out = {}
  for _, c in ipairs(p:result().columns) do out[c.name] = c end
  return out
end

local function profile_sheet(file, sheet, opts)
  local wb <close> = assert(xl.open(fx(file)))
  local p = profile.new()
  local st, err, st2 = wb:profile_sheet_into(sheet, p, opts)
  return st, err, st2, p
end

local function collect(wb, sheet, max)
  local rows = {}
  for row in wb:rows(sheet, max) do rows[#rows + 1] = row end
  return rows
end

setup(function()
  dir = H.tmpdir()
  local ok = os.execute("sh " .. H.q(H.root .. "/tests/fixtures/make_xlsx_fixtures.sh") .. " " .. H.q(dir))
  assert(ok, "fixture generator failed")
end)

teardown(function() H.rmdir(dir) end)

describe("xlsx.open and wb:sheets", function()
  it("lists the sheets in workbook order with state and dimension", function()
    local wb <close> = assert(xl.open(fx("basic.xlsx")))
    assert.are.same({
      { name = "Data", index = 1, state = "visible", dimension = "B2:G7" },
      { name = "Secret", index = 2, state = "hidden" },
    }, wb:sheets())
    assert.is_false(wb:date1904())
  end)

  it("reads the 1904 date system flag", function()
    local wb <close> = assert(xl.open(fx("d1904.xlsx")))
    assert.is_true(wb:date1904())
    assert.are.equal("A1:B4", wb:sheets()[1].dimension)
  end)

  local failures = {
    { "legacy.xls", ": legacy .xls workbooks are not supported; save as .xlsx or CSV", "unsupported" },
    { "legacy_named.xlsx", ": legacy .xls workbooks are not supported; save as .xlsx or CSV", "unsupported" },
    { "corrupt.xlsx", ": not an .xlsx workbook (not a zip archive)", "format" },
    { "text.xlsx", ": not an .xlsx workbook (not a zip archive)", "format" },
    { "noworkbook.xlsx", ": not an .xlsx workbook (no xl/workbook.xml)", "format" },
  }
  for _, c in ipairs(failures) do
    it("returns nil, msg, code for " .. c[1], function()
      local wb, err, code = xl.open(fx(c[1]))
      assert.is_nil(wb)
      assert.are.equal(fx(c[1]) .. c[2], err)
      assert.are.equal(c[3], code)
    end)
  end

  it("names a missing file", function()
    local wb, err, code = xl.open(fx("none.xlsx"))
    assert.is_nil(wb)
    assert.are.equal("cannot open " .. fx("none.xlsx") .. ": No such file or directory", err)
    assert.are.equal("open", code)
  end)

  it("closes idempotently and refuses use after close", function()
    local wb = assert(xl.open(fx("basic.xlsx")))
    assert.is_true(wb:close())
    assert.is_true(wb:close())
    assert.are.equal("nv.XlsxWorkbook (closed)", tostring(wb))
    assert.has_error(function() wb:sheets() end, "attempt to use a closed workbook")
  end)
end)

describe("wb:profile_sheet_into", function()
  it("detects the header, trims empty rows and columns, types every cell", function()
    local st, err, _, p = profile_sheet("basic.xlsx", "Data")
    assert.is_nil(err)
    assert.are.same({
      rows = 4, columns = 6, has_header = true,
      header = { "id", "name", "amount", "when", "active", "note" },
      merged_cells = 1, merged_ranges = { "H3:H4" }, errors = 1,
      trimmed_empty_rows = 2, truncated = false,
    }, st)
    assert.are.equal(4, p:result().rows)
    local c = columns_by_name(p)
    assert.are.equal("integer", c.id.inferred_type)
    assert.are.equal(1, c.id.min)
    assert.are.equal(4, c.id.max)
    assert.are.equal(0, c.id.null_count)
    -- a shared string, rich text runs (phonetic run dropped), _x000D_ decoded
    assert.are.equal("string", c.name.inferred_type)
    assert.are.equal(1, c.name.null_count)
    assert.are.same({ "Alice", "Bob", "line\rbreak" }, (function()
      local v = {}
      for _, t in ipairs(c.name.top_values) do v[#v + 1] = t.value end
      table.sort(v)
      return v
    end)())
    -- numbers, a formula's cached value, and the #N/A error as text: a
    -- null marker, so the column is decimal over 10.5, 20 and 2.25
    assert.are.equal(0, c.amount.null_count)
    assert.are.equal("decimal", c.amount.inferred_type)
    assert.are.equal(1, c.amount.type_counts.null)
    assert.are.equal(2.25, c.amount.min)
    assert.are.equal(20, c.amount.max)
    -- m/d/yyyy (14) and a custom "[Red]yyyy\-mm\-dd" are dates
    assert.are.equal("date", c.when.inferred_type)
    assert.are.equal("2024-01-01", c.when.min)
    assert.are.equal("2024-01-04", c.when.max)
    assert.are.equal("boolean", c.active.inferred_type)
    assert.are.equal(0, c.active.null_count)
    -- an inline string and a string formula; two blanks are nulls
    assert.are.equal("string", c.note.inferred_type)
    assert.are.equal(2, c.note.null_count)
  end)

  it("turns date-time and time formats into timestamps and times (hidden sheet, by index)", function()
    local st, err, _, p = profile_sheet("basic.xlsx", 2)
    assert.is_nil(err)
    assert.are.same({ "ts", "t" }, st.header)
    assert.are.equal(2, st.rows)
    local c = columns_by_name(p)
    assert.are.equal("timestamp", c.ts.inferred_type)
    assert.are.equal("1900-01-01T00:00:00", c.ts.min)
    assert.are.equal("2024-01-01T12:00:00", c.ts.max)
    assert.are.equal("time", c.t.inferred_type)
    assert.are.equal("12:00:00", c.t.min)
    assert.are.equal("18:00:00", c.t.max)
  end)

  it("converts serials in the 1904 system", function()
    local st, err, _, p = profile_sheet("d1904.xlsx", "S")
    assert.is_nil(err)
    assert.are.equal(3, st.rows)
    local c = columns_by_name(p)
    assert.are.equal("date", c.d.inferred_type)
    assert.are.equal("1904-01-01", c.d.min)
    assert.are.equal("2024-01-01", c.d.max)
    assert.are.equal("decimal", c.n.inferred_type)
  end)

  it("names columns column_N when no header row is detected", function()
    local st, err, _, p = profile_sheet("strings.xlsx", "T")
    assert.is_nil(err)
    assert.is_false(st.has_header)
    assert.are.same({ "column_1", "column_2" }, st.header)
    assert.are.equal(3, st.rows)
    assert.are.equal(6, st.trimmed_empty_rows)
    local c = columns_by_name(p)
    assert.are.equal(1, c.column_1.null_count)
    assert.are.equal(0, c.column_2.null_count)
  end)

  it("stops at max_rows and says so", function()
    local st, err, _, p = profile_sheet("basic.xlsx", "Data", { max_rows = 2 })
    assert.is_nil(err)
    assert.are.equal(2, st.rows)
    assert.is_true(st.truncated)
    assert.are.equal(2, p:result().rows)
    st = profile_sheet("basic.xlsx", "Data", { max_rows = 4 })
    assert.is_false(st.truncated)
  end)

  local hostile = {
    { "dtd", "xl/worksheets/sheet1.xml: DTDs are not allowed" },
    { "deep", "xl/worksheets/sheet2.xml: XML nested deeper than 128 elements" },
    { "badref", "xl/worksheets/sheet3.xml: invalid cell reference 'XFE2'" },
  }
  for _, c in ipairs(hostile) do
    it("returns nil, msg, stats for the hostile sheet " .. c[1], function()
      local st, err, st2 = profile_sheet("hostile.xlsx", c[1])
      assert.is_nil(st)
      assert.are.equal(fx("hostile.xlsx") .. ": sheet '" .. c[1] .. "': " .. c[2], err)
      assert.are.equal(0, st2.rows)
    end)
  end

  it("raises on misuse", function()
    local wb <close> = assert(xl.open(fx("basic.xlsx")))
    local p = profile.new()
    assert.has_error(function() wb:profile_sheet_into("Nope", p) end,
      "bad argument #1 to 'profile_sheet_into' (no sheet named 'Nope')")
    assert.has_error(function() wb:profile_sheet_into(3, p) end,
      "bad argument #1 to 'profile_sheet_into' (sheet index 3 out of range (1..2))")
    assert.has_error(function() wb:profile_sheet_into(1, p, { bogus = 1 }) end, "unknown option 'bogus'")
    assert.has_error(function() wb:profile_sheet_into(1, p, { max_rows = 0 }) end,
      "option 'max_rows' must be a positive integer")
  end)
end)

describe("wb:rows", function()
  it("previews the trimmed rows, header row first, with typed values", function()
    local wb <close> = assert(xl.open(fx("basic.xlsx")))
    assert.are.same({
      { "id", "name", "amount", "when", "active", "note" },
      { 1, "Alice", 10.5, "2024-01-01", true, "first" },
      { 2, "Bob", 20, "2024-01-02", false, "calc" },
      { 3, "", "#N/A", "2024-01-03", true, "" },
      { 4, "line\rbreak", 2.25, "2024-01-04", false, "" },
    }, collect(wb, "Data"))
    assert.is_true(math.type(collect(wb, 1, 2)[2][1]) == "integer")
  end)

  it("stops at max and trims to the columns used in the rows read", function()
    local wb <close> = assert(xl.open(fx("strings.xlsx")))
    assert.are.same({ { "a", "b" } }, collect(wb, "T", 1))
    assert.are.same({}, collect(wb, "T", 0))
    assert.are.same({ { "a", "b" }, { "x", "a" }, { "", "b" } }, collect(wb, "T", 10))
  end)

  it("raises with the sheet named for a hostile sheet", function()
    local wb <close> = assert(xl.open(fx("hostile.xlsx")))
    assert.has_error(function() collect(wb, "dtd") end,
      fx("hostile.xlsx") .. ": sheet 'dtd': xl/worksheets/sheet1.xml: DTDs are not allowed")
  end)
end)

describe("progress within a sheet", function()
  -- big.xlsx (written here by Python's zipfile): one sheet of 40,000 rows,
  -- about 2.4 MB of XML, read by the engine in 64 KiB chunks per pass
  local big, inflated, compressed, nrows = nil, nil, nil, 40000
  setup(function()
    big = fx("big.xlsx")
    local py = fx("big.py")
    H.write(py, ([[
import sys, zipfile
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
rows = ['<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c><c r="B1" t="inlineStr"><is><t>amount</t></is></c><c r="C1" t="inlineStr"><is><t>label</t></is></c></row>']
for i in range(2, %d + 2):
    rows.append('<row r="%%d"><c r="A%%d"><v>%%d</v></c><c r="B%%d"><v>%%d.25</v></c><c r="C%%d" t="inlineStr"><is><t>item %%d</t></is></c></row>' %% (i, i, i - 1, i, (i * 7) %% 1000, i, i %% 97))
sheet = '<?xml version="1.0" encoding="UTF-8"?><worksheet ' + NS + '><sheetData>' + ''.join(rows) + '</sheetData></worksheet>'
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('[Content_Types].xml', '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
    z.writestr('_rels/.rels', '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    z.writestr('xl/workbook.xml', '<?xml version="1.0" encoding="UTF-8"?><workbook ' + NS + '><sheets><sheet name="Big" sheetId="1" r:id="rId1"/></sheets></workbook>')
    z.writestr('xl/_rels/workbook.xml.rels', '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
    z.writestr('xl/worksheets/sheet1.xml', sheet)
    info = z.getinfo('xl/worksheets/sheet1.xml')
print(info.file_size, info.compress_size)
]]):format(nrows))
    local f = assert(io.popen("python3 " .. H.q(py) .. " " .. H.q(big)))
    local out = f:read("a")
    assert(f:close(), "python3 failed to write big.xlsx")
    inflated, compressed = out:match("(%d+) (%d+)")
    inflated, compressed = tonumber(inflated), tonumber(compressed)
  end)

  local function prof(opts)
    local wb <close> = assert(xl.open(big))
    local p = profile.new()
    local st, err = wb:profile_sheet_into(1, p, opts)
    return st, err, p
  end

  it("reports growing bytes through both passes up to the sheet's compressed size; the profile is unchanged", function()
    local calls = {}
    local st, err, p = prof({ progress_bytes = 64 * 1024, progress = function(b) calls[#calls + 1] = b end })
    assert.is_nil(err)
    assert.equal(nrows, st.rows)
    local st0, _, p0 = prof()
    assert.equal(nrows, st0.rows)
    assert.same(p0:result(), p:result())
    -- a call per 64 KiB chunk in each of the two passes, then one after the sheet
    local chunks = 2 * math.floor(inflated / 65536)
    assert.is_true(#calls >= chunks, ("%d calls, %d chunks"):format(#calls, chunks))
    for i = 2, #calls - 1 do assert.is_true(calls[i] > calls[i - 1], "grows") end
    assert.is_true(calls[#calls] >= calls[#calls - 1], "the call after the sheet reports the same quantity")
    assert.is_true(calls[1] < compressed / 4, "the first call comes early")
    assert.is_true(calls[#calls] <= compressed and calls[#calls] >= compressed * 0.95)
    assert.is_true(calls[#calls // 2] > compressed * 0.3 and calls[#calls // 2] < compressed * 0.7, "halfway")
  end)

  it("false from it stops the sheet mid-read: <path>: cancelled", function()
    local n = 0
    local ok, err = pcall(prof, { progress_bytes = 64 * 1024,
      progress = function() n = n + 1; if n == 5 then return false end end })
    assert.is_false(ok)
    assert.matches("big%.xlsx: cancelled", err)
    assert.equal(5, n)
  end)

  it("refuses the workbook's methods inside the callback; an error in it stops the calls, not the profile", function()
    local wb <close> = assert(xl.open(big))
    local p = profile.new()
    local refused, n = nil, 0
    local st = assert(wb:profile_sheet_into(1, p, { progress_bytes = 64 * 1024, progress = function()
      n = n + 1
      local ok, e = pcall(wb.close, wb)
      refused = refused or (not ok and e)
      error("stop calling me")
    end }))
    assert.matches("the reader is busy", refused)
    assert.equal(1, n)
    assert.equal(nrows, st.rows)
    -- a to-be-closed variable in the callback cannot free it either; after a
    -- cancel the workbook reads again from the start
    local n2, refused2 = 0, nil
    local ok, err = pcall(wb.profile_sheet_into, wb, 1, profile.new(), { progress_bytes = 64 * 1024, progress = function()
      n2 = n2 + 1
      local ok2, e = pcall(function() local w <close> = wb end)
      refused2 = refused2 or (not ok2 and e)
      return n2 < 3
    end })
    assert.is_false(ok)
    assert.matches("big%.xlsx: cancelled", err)
    assert.matches("the reader is busy", refused2)
    st = assert(wb:profile_sheet_into(1, profile.new()))
    assert.equal(nrows, st.rows)
    assert.equal(1, #wb:sheets())
  end)
end)
