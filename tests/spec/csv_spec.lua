-- nv.csv: sniffing, reading, profiling and error reporting on fixtures
-- written by tests/fixtures/make_csv_fixtures.sh into a temp directory.
local H = require "helper"
local csv = require("nv.csv")
local profile = require("nv.profile")

local dir

local function fx(name) return dir .. "/" .. name end

local function profile_file(name, opts, popts)
  local r = assert(csv.open(fx(name), opts))
  local p = profile.new()
  local st, err, st2 = r:profile_into(p, popts)
  r:close()
  return st, err, st2, p
end

setup(function()
  dir = H.tmpdir()
  local ok = os.execute("sh " .. H.q(H.root .. "/tests/fixtures/make_csv_fixtures.sh") .. " " .. H.q(dir))
  assert(ok, "fixture generator failed")
end)

teardown(function() H.rmdir(dir) end)

describe("csv.sniff", function()
  local cases = {
    { "mixed.csv", { delimiter = ",", quote = '"', escape = '"', has_header = true, encoding = "utf-8",
      bom = false, line_ending = "\n", compression = "none" } },
    { "mixed.csv.gz", { delimiter = ",", has_header = true, compression = "gzip" } },
    { "mixed.csv.zst", { delimiter = ",", has_header = true, compression = "zstd" } },
    { "semicolon_crlf.csv", { delimiter = ";", quote = '"', has_header = true, line_ending = "\r\n" } },
    { "tabs.tsv", { delimiter = "\t", has_header = true, line_ending = "\n" } },
    { "pipes_cr.csv", { delimiter = "|", has_header = true, line_ending = "\r" } },
    { "bom.csv", { delimiter = ",", bom = true, has_header = true } },
    { "latin1.csv", { encoding = "latin-1", has_header = true } },
    { "no_header.csv", { delimiter = ",", has_header = false } },
    { "header_only.csv", { delimiter = ",", has_header = true } },
    { "empty.csv", { delimiter = ",", has_header = false, encoding = "utf-8" } },
  }
  for _, c in ipairs(cases) do
    it("detects the dialect of " .. c[1], function()
      local d = assert(csv.sniff(fx(c[1])))
      for k, v in pairs(c[2]) do
        assert.are.equal(v, d[k], k)
      end
    end)
  end

  it("rejects a binary file named .csv", function()
    local d, err, code = csv.sniff(fx("binary.csv"))
    assert.is_nil(d)
    assert.are.equal(fx("binary.csv") .. ": binary data, not CSV", err)
    assert.are.equal("binary", code)
  end)

  it("names the path of a missing file", function()
    local d, err, code = csv.sniff(fx("none.csv"))
    assert.is_nil(d)
    assert.are.equal("cannot open " .. fx("none.csv") .. ": No such file or directory", err)
    assert.are.equal("open", code)
  end)
end)

describe("csv.open", function()
  it("reads the header and the dialect", function()
    local r <close> = assert(csv.open(fx("mixed.csv")))
    assert.are.same({ "id", "name", "amount", "when", "note" }, r:header())
    assert.are.equal(",", r:dialect().delimiter)
    assert.is_true(r:dialect().has_header)
  end)

  it("makes empty and duplicate names unique", function()
    local r <close> = assert(csv.open(fx("dup_names.csv")))
    assert.are.same({ "id", "column_2", "id_2", "name" }, r:header())
  end)

  it("names the columns of a headerless file column_N", function()
    local r <close> = assert(csv.open(fx("no_header.csv")))
    assert.are.same({ "column_1", "column_2" }, r:header())
    local st = assert(r:profile_into(profile.new()))
    assert.are.equal(2, st.rows)
  end)

  it("honours header = false and a forced delimiter", function()
    local r <close> = assert(csv.open(fx("semicolon_crlf.csv"), { header = false }))
    assert.are.same({ "column_1", "column_2", "column_3" }, r:header())
    assert.is_false(r:dialect().has_header)
    local c <close> = assert(csv.open(fx("semicolon_crlf.csv"), { delimiter = "," }))
    assert.are.same({ "id;name;price" }, c:header())
    assert.are.equal(",", c:dialect().delimiter)
  end)

  it("returns nil, msg, code for a missing file and a binary file", function()
    local r, err, code = csv.open(fx("none.csv"))
    assert.is_nil(r)
    assert.are.equal("cannot open " .. fx("none.csv") .. ": No such file or directory", err)
    assert.are.equal("open", code)
    r, err, code = csv.open(fx("binary.csv"))
    assert.is_nil(r)
    assert.are.equal(fx("binary.csv") .. ": binary data, not CSV", err)
    assert.are.equal("binary", code)
  end)

  it("raises on misuse", function()
    assert.has_error(function() csv.open(fx("mixed.csv"), { bogus = 1 }) end, "unknown option 'bogus'")
    assert.has_error(function() csv.open(fx("mixed.csv"), { delimiter = ",," }) end,
      "option 'delimiter' must be a single character")
    assert.has_error(function() csv.open(fx("mixed.csv"), { compression = "lz4" }) end)
    assert.has_error(function() csv.open(fx("mixed.csv"), { max_record_bytes = 0 }) end,
      "option 'max_record_bytes' must be an integer in [1, 1073741824]")
  end)

  it("handles an empty file and a header-only file", function()
    local r <close> = assert(csv.open(fx("empty.csv")))
    assert.are.same({}, r:header())
    local st = assert(r:profile_into(profile.new()))
    assert.are.equal(0, st.rows)
    local h <close> = assert(csv.open(fx("header_only.csv")))
    assert.are.same({ "a", "b", "c" }, h:header())
    st = assert(h:profile_into(profile.new()))
    assert.are.equal(0, st.rows)
    assert.is_false(st.truncated)
  end)

  it("close is idempotent and use after close raises", function()
    local r = assert(csv.open(fx("mixed.csv")))
    assert.is_true(r:close())
    assert.is_true(r:close())
    assert.has_error(function() r:header() end, "attempt to use a closed reader")
    assert.has_error(function() r:rows() end, "attempt to use a closed reader")
    assert.has_error(function() r:profile_into(profile.new()) end, "attempt to use a closed reader")
  end)
end)

describe("reader:profile_into", function()
  local expect = { rows = 20000, ragged_rows = 2, extra_fields = 2, invalid_utf8 = 0,
    encoding = "utf-8", truncated = false, lines = 20002, bytes = 964022 }

  for _, name in ipairs({ "mixed.csv", "mixed.csv.gz", "mixed.csv.zst" }) do
    it("profiles " .. name .. " with exact stats", function()
      local st = assert(profile_file(name))
      for k, v in pairs(expect) do assert.are.equal(v, st[k], k) end
      assert.are.same({ 102, 2002 }, st.ragged_lines)
      assert.are.same({}, st.errors)
      if name == "mixed.csv" then
        assert.are.equal(964022, st.raw_bytes)
      else
        assert.is_true(st.raw_bytes < 300000)
      end
    end)
  end

  it("counts lengths in characters, in ASCII stretches and around non-ASCII ones alike", function()
    -- ~1.5 MB: ASCII rows, non-ASCII values near the start and past the
    -- first 1 MB read, so batches of both kinds (and one spanning) occur
    local rows = { "id,name" }
    for i = 1, 60000 do
      local name = "name" .. i
      if i == 5 then name = "héllo" end                -- 5 characters, 6 bytes
      if i == 45000 then name = ("日本"):rep(4) end      -- 8 characters, 24 bytes
      rows[#rows + 1] = i .. "," .. name
    end
    local path = dir .. "/lengths.csv"
    H.write(path, table.concat(rows, "\n") .. "\n")
    local r = assert(csv.open(path))
    local p = profile.new()
    assert(r:profile_into(p))
    r:close()
    local name = p:result().columns[2]
    assert.equal(5, name.min_length) -- "name1".."name9" and "héllo"
    assert.equal(9, name.max_length) -- "name10000".."name60000"; "日本日本日本日本" is 8
    local bytes, chars = 0, 0
    for i = 2, #rows do
      local v = rows[i]:match(",(.*)$")
      bytes, chars = bytes + #v, chars + utf8.len(v)
    end
    assert.is_true(chars < bytes)
    assert.near(chars / 60000, name.avg_length, 1e-9)
  end)

  it("fills the profile: rows, columns by header name, empty and missing counts", function()
    local _, _, _, p = profile_file("mixed.csv")
    local res = p:result()
    assert.are.equal(20000, res.rows)
    local names, by = {}, {}
    for i, c in ipairs(res.columns) do names[i] = c.name; by[c.name] = c end
    assert.are.same({ "id", "name", "amount", "when", "note" }, names)
    assert.are.equal(1999, by.amount.empty_count) -- every 10th, minus the short row 100
    assert.are.equal(1, by.amount.missing_count) -- row 100 has no amount
    assert.are.equal(0, by.id.missing_count)
    assert.are.equal("integer", by.id.inferred_type)
  end)

  it("keeps the rows before a mid-file error in the profile", function()
    local st, _, stats, p = profile_file("truncated.csv.gz")
    assert.is_nil(st)
    assert.are.equal(stats.rows, p:result().rows)
  end)

  it("adds into a profile that already has other columns", function()
    local p = profile.new()
    p:column("other")
    local r <close> = assert(csv.open(fx("no_header.csv")))
    assert(r:profile_into(p))
    local res = p:result()
    assert.are.equal(2, res.rows)
    assert.are.equal("column_1", res.columns[2].name)
    assert.are.equal(2, res.columns[1].missing_count)
    assert.are.equal(0, res.columns[2].missing_count)
  end)

  it("stops at max_rows and max_bytes and says so", function()
    local st = assert(profile_file("mixed.csv", nil, { max_rows = 10 }))
    assert.are.equal(10, st.rows)
    assert.is_true(st.truncated)
    st = assert(profile_file("mixed.csv", nil, { max_bytes = 1000 }))
    assert.is_true(st.truncated)
    assert.are.equal(26, st.rows) -- complete records within the first 1000 bytes
    st = assert(profile_file("no_header.csv", nil, { max_rows = 2 }))
    assert.are.equal(2, st.rows)
    assert.is_false(st.truncated)
  end)

  it("profiles again from the first row on a second call", function()
    local r <close> = assert(csv.open(fx("mixed.csv")))
    local a = assert(r:profile_into(profile.new(), { max_rows = 5 }))
    local b = assert(r:profile_into(profile.new()))
    assert.are.equal(5, a.rows)
    assert.are.equal(20000, b.rows)
  end)

  it("reads a 10 MB line with the default limit", function()
    local st = assert(profile_file("big_line.csv"))
    assert.are.equal(2, st.rows)
  end)

  it("reports a record over the limit with its line", function()
    local st, err, stats = profile_file("huge_line.csv")
    assert.is_nil(st)
    assert.are.equal(fx("huge_line.csv") .. ": line 2: record exceeds the maximum record size (16777216 bytes)", err)
    assert.are.equal(0, stats.rows)
    assert.are.same({ err }, stats.errors)
    st, err, stats = profile_file("mixed.csv", { max_record_bytes = 40 })
    assert.is_nil(st)
    assert.are.equal(fx("mixed.csv") .. ": line 103: record exceeds the maximum record size (40 bytes)", err)
    assert.are.equal(100, stats.rows) -- rows 1-100 are profiled and stay in the profile
  end)

  it("reports an unterminated quote with the line it opened on (backslash escapes: no fallback)", function()
    local st, err, stats = profile_file("unterminated.csv", { quote = "\"", escape = "\\" })
    assert.is_nil(st)
    assert.are.equal(fx("unterminated.csv") .. ": line 3: unterminated quoted field (still open at end of input)", err)
    assert.are.equal(1, stats.rows)
  end)

  it("reports a truncated gzip file with the line reached", function()
    local st, err, stats = profile_file("truncated.csv.gz")
    assert.is_nil(st)
    assert.matches("^" .. fx("truncated.csv.gz"):gsub("%p", "%%%0")
      .. ": truncated gzip data %(unexpected end of file%) %(after line %d+%)$", err)
    assert.is_true(stats.rows > 1000 and stats.rows < 20000)
  end)

  it("reads Latin-1 as UTF-8 and counts the invalid sequences", function()
    local st = assert(profile_file("latin1.csv"))
    assert.are.equal("latin-1", st.encoding)
    assert.are.equal(2, st.invalid_utf8)
    assert.are.equal(1, st.rows)
  end)

  it("requires an nv.Profile", function()
    local r <close> = assert(csv.open(fx("mixed.csv")))
    assert.has_error(function() r:profile_into({}) end)
    assert.has_error(function() r:profile_into(profile.new(), { max_rows = 0 }) end)
  end)
end)

describe("reader:rows", function()
  it("previews the first rows as arrays of strings", function()
    local r <close> = assert(csv.open(fx("mixed.csv")))
    local got = {}
    for row in r:rows(3) do got[#got + 1] = row end
    assert.are.same({
      { "1", "name_1", "1.50", "2024-02-02", "note, 1" },
      { "2", "name_2", "3.00", "2024-03-03", "note, 2" },
      { "3", "name_3", "4.50", "2024-04-04", "note, 3" },
    }, got)
  end)

  it("defaults to 20 rows, keeps short rows short and embedded newlines", function()
    local r <close> = assert(csv.open(fx("mixed.csv")))
    local n = 0
    for _ in r:rows() do n = n + 1 end
    assert.are.equal(20, n)
    local rows = {}
    for row in r:rows(100) do rows[#rows + 1] = row end
    assert.are.equal("two\nlines", rows[50][5])
    assert.are.same({ "100", "name_100" }, rows[100])
  end)

  it("converts Latin-1 values to UTF-8", function()
    local r <close> = assert(csv.open(fx("latin1.csv")))
    for row in r:rows() do
      assert.are.same({ "Jos\u{e9}", "M\u{e1}laga" }, row)
    end
  end)

  it("keeps a quoted delimiter inside its field", function()
    local r <close> = assert(csv.open(fx("semicolon_crlf.csv")))
    local rows = {}
    for row in r:rows(10) do rows[#rows + 1] = row end
    assert.are.same({ { "1", "Smith; J", "3,50" }, { "2", "Doe", "4,25" } }, rows)
  end)

  it("raises on a parse error inside the loop", function()
    local r <close> = assert(csv.open(fx("unterminated.csv"), { quote = "\"", escape = "\\" }))
    assert.has_error(function()
      for _ in r:rows() do end
    end, fx("unterminated.csv") .. ": line 3: unterminated quoted field (still open at end of input)")
  end)

  it("raises when the reader was closed meanwhile", function()
    local r = assert(csv.open(fx("mixed.csv")))
    local it, _, _, cur = r:rows(5)
    assert.is_table(it())
    r:close()
    assert.has_error(function() it() end, "attempt to use a closed reader")
    assert.is_not_nil(cur)
  end)
end)

describe("reader:profile_into progress", function()
  local H2 = require "helper"
  local dir2, path
  setup(function()
    dir2 = H2.tmpdir()
    path = dir2 .. "/big.csv"
    local rows = { "id,name" }
    for i = 1, 50000 do rows[#rows + 1] = i .. ",name" .. i end
    H2.write(path, table.concat(rows, "\n") .. "\n")
  end)
  teardown(function() H2.rmdir(dir2) end)

  it("reports the bytes read every progress_bytes, and the profile is unchanged", function()
    local r = assert(csv.open(path))
    local p = profile.new()
    local seen = {}
    local st = assert(r:profile_into(p, { progress = function(n) seen[#seen + 1] = n end, progress_bytes = 100000 }))
    r:close()
    local size = #H2.read(path)
    assert.is_true(#seen >= math.floor(size / 100000) - 1, #seen .. " reports for " .. size .. " bytes")
    for i = 2, #seen do assert.is_true(seen[i] >= seen[i - 1]) end
    assert.is_true(seen[#seen] <= size)
    assert.equal(50000, st.rows)
    local q = profile.new()
    local r2 = assert(csv.open(path))
    assert(r2:profile_into(q))
    r2:close()
    assert.same(q:result(), p:result())
  end)

  it("survives a failing callback and refuses to close the reader or the profile under itself", function()
    local r = assert(csv.open(path))
    local p = profile.new()
    local calls = 0
    local st = assert(r:profile_into(p, { progress_bytes = 50000, progress = function()
      calls = calls + 1
      error("boom")
    end }))
    assert.equal(1, calls) -- a failing callback is not called again
    assert.equal(50000, st.rows)
    local closed_err
    assert(r:profile_into(profile.new(), { progress_bytes = 50000, progress = function()
      local ok, e = pcall(r.close, r)
      closed_err = closed_err or (not ok and e)
    end }))
    assert.matches("busy", closed_err)
    -- nor through __close from a to-be-closed variable
    local tbc_err
    assert(r:profile_into(profile.new(), { progress_bytes = 50000, progress = function()
      local ok, e = pcall(function() local _ <close> = r end)
      tbc_err = tbc_err or (not ok and e)
    end }))
    assert.matches("busy", tbc_err)
    -- a callback returning false cancels the profile
    assert.has_error(function()
      r:profile_into(profile.new(), { progress_bytes = 50000, progress = function() return false end })
    end, path .. ": cancelled")
    local p2 = profile.new()
    assert.has_error(function()
      r:profile_into(p2, { progress_bytes = 50000, progress = function() p2:close() end })
    end, path .. ": the profile was closed during profile_into")
    assert.has_error(function() r:profile_into(profile.new(), { progress = 1 }) end,
      "option 'progress' must be a function")
    assert.is_true(r:close())
  end)
end)

-- issue 11: what the real-file corpus found (tests/fixtures/real)
describe("real-file cases", function()
  local function write(name, text)
    H.write(fx(name), text)
    return name
  end

  it("profiles a file whose only data line has no line end", function()
    for _, c in ipairs({ { "1,2", 1, 2 }, { "1,2\n", 1, 2 }, { "a,b\n1,2", 1, 2 }, { "7", 1, 1 } }) do
      local st, err, _, p = profile_file(write("nonl.csv", c[1]))
      assert(st, err)
      assert.are.equal(c[2], st.rows)
      assert.are.equal(c[3], #p:result().columns)
    end
  end)

  it("skips comment lines and preamble rows before the header and says how many", function()
    local cases = {
      { "# A few comments\n# I'm a csv file\na;b\n# also a comment\n1;3\n6;7\n", ";", "#", 0, { "a", "b" }, 2, 3 },
      { "some notes...\nmore notes,...\nnumber,text,date\n345.0,TEST4,2000-12-13\n1,x,2001-01-01\n", ",", "", 2,
        { "number", "text", "date" }, 2, 2 },
      { "# clean this data!\nid,neighbor_id,name,population\n1,Ireland,Britain,67\n3,22,Germany,83\n", ",", "#", 0,
        { "id", "neighbor_id", "name", "population" }, 2, 1 },
    }
    for _, c in ipairs(cases) do
      local name = write("preamble.csv", c[1])
      local d = assert(csv.sniff(fx(name)))
      assert.are.same({ c[2], c[3], c[4], true }, { d.delimiter, d.comment, d.skip_records, d.has_header })
      local r = assert(csv.open(fx(name)))
      assert.are.same(c[5], r:header())
      local st = assert(r:profile_into(profile.new()))
      r:close()
      assert.are.equal(c[6], st.rows)
      assert.are.equal(c[7], st.skipped_lines)
      assert.are.equal(0, st.ragged_rows)
    end
  end)

  it("finds a header over all-text or boolean data", function()
    local cases = {
      { "name,,flag\nann,x,yes\nbob,y,no\ncid,z,yes\n", true },
      { "question,,share\n,very,37%\n,some,46%\n,little,37%\n,none,46%\n", true },
      { "T,x\nF,y\nT,z\n", false },
      { "red,big\nblue,small\nred,small\n", false },
    }
    for _, c in ipairs(cases) do
      local d = assert(csv.sniff(fx(write("hdr.csv", c[1]))))
      assert.are.equal(c[2], d.has_header, c[1])
    end
  end)

  it("reads a stray quote that never closes as a literal byte instead of losing the file", function()
    -- issue 11: one such field lost a whole 9,580-row file ("unterminated quoted field")
    assert.are.equal("", assert(csv.sniff(fx("unterminated.csv"))).quote) -- sniffed: no quoting
    local st, err, _, p = profile_file("unterminated.csv", { quote = '"' }) -- as if past the sample
    assert(st, err)
    assert.are.equal(3, st.rows)
    assert.are.equal(1, st.quote_fallbacks)
    assert.are.same({}, st.errors)
    local r <close> = assert(csv.open(fx("unterminated.csv"), { quote = '"' }))
    local rows = {}
    for row in r:rows() do rows[#rows + 1] = row end
    assert.are.same({ { "1", "2" }, { "3", '"never closed' }, { "4", "5" } }, rows)
    assert.are.equal(3, p:result().rows)
    assert.are.equal(4, st.lines)
    -- the same past the record limit, before the end of the file
    local lines = { "id,name", '1,"stray' }
    for i = 2, 200 do lines[#lines + 1] = i .. ",name" .. i end
    local name = write("stray_long.csv", table.concat(lines, "\n") .. "\n")
    st, err = profile_file(name, { quote = '"', max_record_bytes = 64 })
    assert(st, err)
    assert.are.same({ 200, 1, 201 }, { st.rows, st.quote_fallbacks, st.lines })
    -- past the sniffed sample: the dialect says '"', the file still reads whole
    lines = { "id,name" }
    for i = 1, 9000 do lines[#lines + 1] = i == 8000 and '8000,"12 inch' or (i .. ",name" .. i) end
    name = write("stray_late.csv", table.concat(lines, "\n") .. "\n")
    assert.are.equal('"', assert(csv.sniff(fx(name))).quote)
    st, err = profile_file(name)
    assert(st, err)
    assert.are.same({ 9000, 1 }, { st.rows, st.quote_fallbacks })
  end)

  it("does not merge the rows between two stray quotes past the sniffed sample", function()
    -- issue 11: a file silently lost 27 rows into one quoted field
    local lines = { "id,item,size" }
    for i = 1, 9000 do
      lines[#lines + 1] = (i == 8000 or i == 8028) and (i .. ',",5') or (i .. ",box" .. i .. ",5")
    end
    local name = write("ditto_late.csv", table.concat(lines, "\n") .. "\n")
    local st, err = profile_file(name)
    assert(st, err)
    assert.are.same({ 9000, 1, 0 }, { st.rows, st.quote_fallbacks, st.ragged_rows })
  end)

  it("sniffs no quoting when a stray quote would merge rows", function()
    -- a ditto mark (") opening a field: read as a quote it swallows the rows up to the next one
    local lines = { "id,item,size" }
    for i = 1, 40 do lines[#lines + 1] = string.format("%d,%s,%s", i, i % 10 == 3 and '"' or "box", i % 7 == 0 and 'x"y' or "5") end
    local name = write("ditto.csv", table.concat(lines, "\n") .. "\n")
    local d = assert(csv.sniff(fx(name)))
    assert.are.equal("", d.quote)
    local st = assert(profile_file(name))
    assert.are.equal(40, st.rows)
    assert.are.equal(0, st.ragged_rows)
  end)
end)

-- issue 14: threads feed the columns of each batch; the profile is the one
-- a single thread gives, on generated fixtures and on the real-file corpus
describe("reader:profile_into on threads", function()
  local readers = require "nv.readers"
  local function result_of(path, popts)
    local r, oerr = readers.open(path, "csv")
    if not r then return nil, oerr end -- binary.csv: refused alike
    local p = profile.new()
    local st, err, st2 = r:profile_into(p, nil, popts)
    r:close()
    return st, err, st2, p:result()
  end
  local function same_on_threads(path, popts)
    local one = { result_of(path, popts) }
    for _, t in ipairs({ 2, 3, 16 }) do
      local o = { threads = t }
      for k, v in pairs(popts or {}) do o[k] = v end
      local many = { result_of(path, o) }
      assert.are.same(one[1], many[1], path .. " threads " .. t)
      assert.are.same(one[2], many[2], path .. " threads " .. t)
      assert.are.same(one[4], many[4], path .. " threads " .. t)
    end
  end

  it("gives the one-thread profile on every generated fixture", function()
    local n = 0
    for name in io.popen("ls " .. H.q(dir)):lines() do
      if name:match("%.csv$") or name:match("%.tsv$") then
        same_on_threads(fx(name))
        n = n + 1
      end
    end
    assert.is_true(n >= 10)
  end)

  it("gives the one-thread profile on the real-file corpus, also under max_rows", function()
    local n = 0
    for name in io.popen("ls " .. H.q(H.root .. "/tests/fixtures/real")):lines() do
      if name:match("%.csv$") or name:match("%.tsv$") then
        local path = H.root .. "/tests/fixtures/real/" .. name
        same_on_threads(path)
        same_on_threads(path, { max_rows = 7 })
        n = n + 1
      end
    end
    assert.is_true(n >= 30)
  end)

  it("profiles a long, wide file with many batches alike (ragged rows, nulls, types)", function()
    local path = dir .. "/threads_long.csv"
    local f = assert(io.open(path, "w"))
    f:write("id,name,amount,day,flag,email,note\n")
    for i = 1, 30000 do
      local row = { i, "n" .. (i % 977), string.format("%.2f", i * 0.37), string.format("2024-%02d-%02d", i % 12 + 1, i % 28 + 1),
        i % 3 == 0 and "true" or "false", "u" .. i .. "@example.org", i % 11 == 0 and "" or ("x" .. i * 7919 % 100003) }
      if i % 1000 == 0 then row[#row] = nil end -- a short row
      if i % 1500 == 0 then row[#row + 1] = "extra" end -- a long one
      f:write(table.concat(row, ","), "\n")
    end
    f:close()
    same_on_threads(path)
    local st, err, _, res = result_of(path, { threads = 4 })
    assert.is_nil(err, err)
    assert.are.equal(30000, res.rows)
    local by = {}
    for _, c in ipairs(res.columns) do by[c.name] = c end
    assert.are.equal(30000, by.id.distinct_count)
    assert.are.equal(977, by.name.distinct_count)
    assert.are.equal(1, by.id.min)
    assert.are.equal(30000, by.id.max)
    assert.is_truthy(st)
  end)

  it("stays the one-thread profile when the exact-table budget runs out (columns would race for it)", function()
    local path = dir .. "/threads_budget.csv"
    local f = assert(io.open(path, "w"))
    f:write("a,b,c,d,e,f\n")
    for i = 1, 20000 do f:write(string.format("a%d,b%d,c%d,d%d,e%d,f%d\n", i, i * 3, i * 7, i * 11, i * 13, i * 17)) end
    f:close()
    local function res(t)
      local r = assert(csv.open(path))
      local p = profile.new({ exact_budget = 3000000 })
      assert(r:profile_into(p, { threads = t }))
      r:close()
      return p:result()
    end
    local one = res(1)
    local exact = 0
    for _, c in ipairs(one.columns) do if c.distinct_exact then exact = exact + 1 end end
    assert.is_true(exact > 0 and exact < 6, "the budget decides which columns stay exact")
    for _ = 1, 3 do assert.are.same(one, res(4)) end
  end)

  it("rejects a thread count outside 1..64", function()
    local r <close> = assert(csv.open(fx("mixed.csv")))
    assert.has_error(function() r:profile_into(profile.new(), { threads = 0 }) end)
    assert.has_error(function() r:profile_into(profile.new(), { threads = 65 }) end)
  end)
end)
