-- nv.parquet: footer metadata, page decoding and profiling on the Apache
-- parquet-testing files (../shared/parquet-testing), on hostile files built
-- here byte by byte (a small Thrift compact writer), and on fixtures
-- written by DuckDB (tests/fixtures/make_parquet_fixtures.mjs), compared
-- with DuckDB's own parquet_metadata / parquet_schema / SUMMARIZE.
--
-- DuckDB comes from @duckdb/node-api in NVLUA_DUCKDB_DIR (default
-- $HOME/.cache/nvlua-duckdb; a directory holding node_modules/). When it is
-- not there it is installed with npm only if NVLUA_TEST_DUCKDB=1; otherwise
-- the DuckDB tests are pending, saying why.
local H = require "helper"
local pq = require "nv.parquet"
local profile = require "nv.profile"

local testing = H.root .. "/../shared/parquet-testing"
local have_testing = io.open(testing .. "/alltypes_plain.parquet", "rb")
if have_testing then have_testing:close() end

local function open(path) return assert(pq.open(path)) end

local function meta_of(path)
  local r <close> = open(path)
  return r:metadata()
end

local function col(m, name)
  for _, c in ipairs(m.columns) do if c.name == name then return c end end
  error("no column " .. name)
end

local function profile_of(path, opts)
  local r <close> = open(path)
  local p = profile.new()
  local st, err, st2 = r:profile_into(p, opts)
  local res = p:result()
  local by = {}
  for _, c in ipairs(res.columns) do by[c.name] = c end
  return st, err, st2, res, by
end

-- ---- the Apache parquet-testing files -------------------------------------

describe("parquet-testing files", function()
  if not have_testing then
    pending("../shared/parquet-testing is not present")
    return
  end
  local function f(name) return testing .. "/" .. name end

  it("reads alltypes_plain.parquet's footer: rows, schema, types", function()
    local m = meta_of(f("alltypes_plain.parquet"))
    assert.are.equal(8, m.num_rows)
    assert.are.equal(1, m.row_groups)
    assert.matches("^impala version 1.3.0", m.created_by)
    local names, phys = {}, {}
    for _, c in ipairs(m.columns) do
      names[#names + 1] = c.name
      phys[#phys + 1] = c.physical_type
    end
    assert.are.same({ "id", "bool_col", "tinyint_col", "smallint_col", "int_col", "bigint_col",
      "float_col", "double_col", "date_string_col", "string_col", "timestamp_col" }, names)
    assert.are.same({ "INT32", "BOOLEAN", "INT32", "INT32", "INT32", "INT64", "FLOAT", "DOUBLE",
      "BYTE_ARRAY", "BYTE_ARRAY", "INT96" }, phys)
    local ts = col(m, "timestamp_col")
    assert.are.equal("timestamp", ts.data_type)
    assert.are.equal(10, ts.position)
    assert.are.equal(1, ts.max_definition_level)
    assert.is_true(ts.nullable)
    assert.are.same({ "UNCOMPRESSED" }, col(m, "id").compression)
    assert.are.same({ "PLAIN", "PLAIN_DICTIONARY", "RLE" }, col(m, "id").encodings)
  end)

  it("profiles alltypes_plain.parquet from its pages", function()
    local st, err, _, res, by = profile_of(f("alltypes_plain.parquet"))
    assert.is_nil(err)
    assert.are.equal(8, st.rows)
    assert.are.equal(1, st.row_groups_read)
    assert.are.equal(8, res.rows)
    assert.are.equal(0, by.id.min)
    assert.are.equal(7, by.id.max)
    assert.are.equal(8, by.id.distinct_count)
    assert.are.equal("boolean", by.bool_col.inferred_type)
    assert.are.equal("timestamp", by.timestamp_col.inferred_type)
    assert.are.equal("INT96", by.timestamp_col.native_type)
    assert.are.equal(1.1, by.float_col.max)
    assert.is_true(st.pages > 0 and st.bytes_read > 0)
  end)

  it("previews rows with typed values", function()
    local r <close> = open(f("alltypes_plain.parquet"))
    local rows = {}
    for row in assert(r:rows(3)) do rows[#rows + 1] = row end
    assert.are.equal(3, #rows)
    assert.are.equal(4, rows[1].id)
    assert.are.equal(true, rows[1].bool_col)
    assert.are.equal("2009-03-01T00:00:00Z", rows[1].timestamp_col)
    assert.are.equal("03/01/09", rows[1].date_string_col)
  end)

  it("reads SNAPPY pages (alltypes_plain.snappy.parquet)", function()
    local m = meta_of(f("alltypes_plain.snappy.parquet"))
    assert.are.same({ "SNAPPY" }, col(m, "id").compression)
    local st, err, _, _, by = profile_of(f("alltypes_plain.snappy.parquet"))
    assert.is_nil(err)
    assert.are.equal(2, st.rows)
    assert.are.equal(6, by.id.min)
    assert.are.equal(7, by.id.max)
  end)

  it("counts nulls in a nested struct leaf (nulls.snappy.parquet)", function()
    local m = meta_of(f("nulls.snappy.parquet"))
    local c = col(m, "b_struct.b_c_int")
    assert.are.equal(8, m.num_rows)
    assert.are.equal(8, c.null_count)
    assert.are.equal(2, c.max_definition_level)
    local st, err, _, _, by = profile_of(f("nulls.snappy.parquet"))
    assert.is_nil(err)
    assert.are.equal(8, st.rows)
    assert.are.equal(8, by["b_struct.b_c_int"].null_count)
  end)

  it("decodes data page v2 with RLE booleans and DELTA_BINARY_PACKED (datapage_v2.snappy.parquet)", function()
    local m = meta_of(f("datapage_v2.snappy.parquet"))
    assert.are.equal(5, m.num_rows)
    assert.are.equal(1, col(m, "b").min)
    assert.are.equal(5, col(m, "b").max)
    assert.are.same({ "DELTA_BINARY_PACKED" }, col(m, "b").encodings)
    assert.are.equal("array<integer>", col(m, "e.list.element").data_type)
    local st, err, _, _, by = profile_of(f("datapage_v2.snappy.parquet"))
    assert.is_nil(err)
    assert.are.equal(5, st.rows)
    assert.are.equal(1, by.b.min)
    assert.are.equal(5, by.b.max)
    assert.are.equal("boolean", by.d.inferred_type)
    assert.are.equal("json", by["e.list.element"].inferred_type)
  end)

  it("agrees with the footer's statistics after DELTA_BINARY_PACKED decoding", function()
    local m = meta_of(f("delta_binary_packed.parquet"))
    assert.are.equal(200, m.num_rows)
    local st, err, _, _, by = profile_of(f("delta_binary_packed.parquet"))
    assert.is_nil(err)
    assert.are.equal(200, st.rows)
    local checked = 0
    for _, c in ipairs(m.columns) do
      if c.min ~= nil and c.physical_type:match("^INT") then
        assert.are.equal(c.min, by[c.name].min, c.name)
        assert.are.equal(c.max, by[c.name].max, c.name)
        checked = checked + 1
      end
    end
    assert.is_true(checked > 10)
  end)

  it("decodes DELTA_BYTE_ARRAY strings (delta_byte_array.parquet)", function()
    local st, err, _, res = profile_of(f("delta_byte_array.parquet"))
    assert.is_nil(err)
    assert.are.equal(1000, st.rows)
    local m = meta_of(f("delta_byte_array.parquet"))
    assert.are_not.equal(0, #res.columns)
    for _, c in ipairs(m.columns) do assert.truthy(c.encodings[1]) end
  end)

  it("reads decimals stored as FIXED_LEN_BYTE_ARRAY and BYTE_ARRAY", function()
    for name, lt in pairs({ ["fixed_length_decimal.parquet"] = "decimal(25,2)",
                            ["byte_array_decimal.parquet"] = "decimal(4,2)" }) do
      local m = meta_of(f(name))
      assert.are.equal(24, m.num_rows)
      assert.are.equal(lt, col(m, "value").logical_type)
      assert.are.equal("decimal", col(m, "value").data_type)
      local st, err, _, _, by = profile_of(f(name))
      assert.is_nil(err)
      assert.are.equal(24, st.rows)
      assert.are.equal("decimal", by.value.inferred_type)
      assert.are.equal(1, by.value.min)
      assert.are.equal(24, by.value.max)
    end
  end)

  it("reads INT96 timestamps and their nulls (int96_from_spark.parquet)", function()
    local st, err, _, _, by = profile_of(f("int96_from_spark.parquet"))
    assert.is_nil(err)
    assert.are.equal(6, st.rows)
    assert.are.equal(1, by.a.null_count)
    local r <close> = open(f("int96_from_spark.parquet"))
    local first = assert(r:rows(1))()
    assert.are.equal("2024-01-01T20:34:56.123456000Z", first.a)
  end)

  it("profiles list leaves as one JSON array per row (list_columns.parquet)", function()
    local m = meta_of(f("list_columns.parquet"))
    assert.are.equal("array<integer>", col(m, "int64_list.list.item").data_type)
    assert.are.equal("array<string>", col(m, "utf8_list.list.item").data_type)
    local st, err, _, _, by = profile_of(f("list_columns.parquet"))
    assert.is_nil(err)
    assert.are.equal(3, st.rows)
    assert.are.equal(0, by["int64_list.list.item"].null_count)
    assert.are.equal(1, by["utf8_list.list.item"].null_count)
    local r <close> = open(f("list_columns.parquet"))
    local rows = {}
    for row in assert(r:rows()) do rows[#rows + 1] = row end
    assert.are.same({ 1, 2, 3 }, rows[1]["int64_list.list.item"])
    assert.are.equal(2, #rows[2]["int64_list.list.item"])
    assert.are.equal(1, rows[2]["int64_list.list.item"][2])
    assert.is_nil(rows[2]["utf8_list.list.item"])
  end)

  it("names nested list types (nested_lists.snappy.parquet)", function()
    local m = meta_of(f("nested_lists.snappy.parquet"))
    local c = m.columns[1]
    assert.are.equal("a.list.element.list.element.list.element", c.name)
    assert.are.equal("array<array<array<string>>>", c.data_type)
    assert.are.equal(3, c.max_repetition_level)
    local st, err = profile_of(f("nested_lists.snappy.parquet"))
    assert.is_nil(err)
    assert.are.equal(3, st.rows)
  end)

  it("reads LZ4_RAW pages (lz4_raw_compressed.parquet)", function()
    local m = meta_of(f("lz4_raw_compressed.parquet"))
    assert.are.same({ "LZ4_RAW" }, m.columns[1].compression)
    local st, err, st2 = profile_of(f("lz4_raw_compressed.parquet"))
    assert.is_nil(err, err and st2 and next(st2.unsupported))
    assert.are.equal(4, st.rows)
    assert.are.same({}, st.unsupported)
  end)

  it("counts rows from repetition levels when the footer says 0 (repeated_no_annotation.parquet)", function()
    local m = meta_of(f("repeated_no_annotation.parquet"))
    assert.are.equal(0, m.num_rows)
    local st, err = profile_of(f("repeated_no_annotation.parquet"))
    assert.is_nil(err)
    assert.are.equal(6, st.rows)
  end)

  it("gives a clear error for nation.dict-malformed.parquet", function()
    local path = f("nation.dict-malformed.parquet")
    local m = meta_of(path)
    assert.are.equal(25, m.num_rows)
    local st, err, st2 = profile_of(path)
    assert.is_nil(st)
    assert.are.equal(path .. ": column 'name', row group 0: page runs past the end of the column chunk", err)
    assert.are.equal(1, st2.row_groups_read)
    local r <close> = open(path)
    local it, msg, code = r:rows()
    assert.is_nil(it)
    assert.are.equal(err, msg)
    assert.are.equal("corrupt", code)
  end)

  it("profiles every file on threads exactly as on one (or fails alike)", function()
    local p = io.popen("ls " .. H.q(testing) .. "/*.parquet")
    local n = 0
    for path in p:lines() do
      local one = { profile_of(path, { threads = 1 }) }
      for _, threads in ipairs({ 2, 5 }) do
        local many = { profile_of(path, { threads = threads }) }
        assert.are.same(one[1], many[1], path)
        assert.are.same(one[2], many[2], path)
        assert.are.same(one[4], many[4], path)
        n = n + 1
      end
    end
    p:close()
    assert.is_true(n >= 36)
  end)

  it("reads every file or fails with a message naming it", function()
    local p = io.popen("ls " .. H.q(testing) .. "/*.parquet")
    local n = 0
    for path in p:lines() do
      n = n + 1
      local r = assert(pq.open(path))
      assert.is_table(r:metadata().columns)
      local st, err = r:profile_into(profile.new())
      if not st then assert.are.equal(path, err:sub(1, #path)) end
      r:close()
    end
    p:close()
    assert.is_true(n >= 18)
  end)
end)

-- ---- hostile files built byte by byte --------------------------------------

local function varint(n)
  local t = {}
  repeat
    local b = n & 0x7f
    n = n >> 7
    if n ~= 0 then b = b | 0x80 end
    t[#t + 1] = string.char(b)
  until n == 0
  return table.concat(t)
end
local function zz(n) return varint((n << 1) ~ (n >> 63)) end
local codes = { bool_true = 1, i32 = 5, i64 = 6, bin = 8, list = 9, struct = 12 }
-- fields: {id, kind, value}; struct values are encoded structs; list
-- values are {element type code, {encoded elements}}
local function struct(fields)
  local out, last = {}, 0
  for _, f in ipairs(fields) do
    local id, kind, v = f[1], f[2], f[3]
    out[#out + 1] = string.char(((id - last) << 4) | codes[kind])
    last = id
    if kind == "i32" or kind == "i64" then out[#out + 1] = zz(v)
    elseif kind == "bin" then out[#out + 1] = varint(#v) .. v
    elseif kind == "struct" then out[#out + 1] = v
    elseif kind == "list" then
      local n = v.n or #v[2]
      out[#out + 1] = (n < 15 and string.char((n << 4) | v[1]) or string.char(0xf0 | v[1]) .. varint(n))
        .. table.concat(v[2])
    end
  end
  out[#out + 1] = "\0"
  return table.concat(out)
end
local function le32(n) return string.pack("<I4", n) end
local function file_of(data, footer) return "PAR1" .. data .. footer .. le32(#footer) .. "PAR1" end

-- one optional INT32 column "x" whose chunk starts at offset 4
local function one_column_footer(chunk_len, nvalues, offset)
  local schema = {
    struct({ { 4, "bin", "schema" }, { 5, "i32", 1 } }),
    struct({ { 1, "i32", 1 }, { 3, "i32", 1 }, { 4, "bin", "x" } }),
  }
  local cmeta = struct({ { 1, "i32", 1 }, { 2, "list", { 5, { zz(0), zz(3) } } },
    { 3, "list", { 8, { varint(1) .. "x" } } }, { 4, "i32", 0 }, { 5, "i64", nvalues },
    { 6, "i64", chunk_len }, { 7, "i64", chunk_len }, { 9, "i64", offset or 4 } })
  local chunk = struct({ { 2, "i64", offset or 4 }, { 3, "struct", cmeta } })
  local rg = struct({ { 1, "list", { 12, { chunk } } }, { 2, "i64", chunk_len }, { 3, "i64", nvalues } })
  return struct({ { 1, "i32", 1 }, { 2, "list", { 12, schema } }, { 3, "i64", nvalues },
    { 4, "list", { 12, { rg } } } })
end

-- a v1 data page: PLAIN INT32 values, RLE definition levels (all defined)
local function int_page(values, claim)
  local body = {}
  for _, v in ipairs(values) do body[#body + 1] = string.pack("<i4", v) end
  local levels = varint(#values << 1) .. "\1" -- one RLE run of 1s, bit width 1
  local data = le32(#levels) .. levels .. table.concat(body)
  local dph = struct({ { 1, "i32", #values }, { 2, "i32", 0 }, { 3, "i32", 3 }, { 4, "i32", 3 } })
  local header = struct({ { 1, "i32", 0 }, { 2, "i32", #data }, { 3, "i32", claim or #data },
    { 5, "struct", dph } })
  return header .. data
end

describe("hostile Parquet files", function()
  local dir
  setup(function() dir = H.tmpdir() end)
  teardown(function() H.rmdir(dir) end)

  local function put(name, bytes)
    local path = dir .. "/" .. name
    H.write(path, bytes)
    return path
  end

  it("reads a well-formed hand-built file (the builder itself is right)", function()
    local page = int_page({ 5, 7, 9 })
    local path = put("good.parquet", file_of(page, one_column_footer(#page, 3)))
    local m = meta_of(path)
    assert.are.equal(3, m.num_rows)
    assert.are.equal("x", m.columns[1].name)
    local st, err, _, _, by = profile_of(path)
    assert.is_nil(err)
    assert.are.equal(3, st.rows)
    assert.are.equal(5, by.x.min)
    assert.are.equal(9, by.x.max)
  end)

  local cases = {
    { "bad magic", function() return "PAR1" .. string.rep("\0", 8) .. "NOPE" end,
      "not a Parquet file (bad magic bytes)", "format" },
    { "a tiny file", function() return "PAR1" end, "not a Parquet file (only 4 bytes)", "format" },
    { "an encrypted footer", function() return "PAR1" .. le32(0) .. "PARE" end,
      "encrypted Parquet footer (PARE) is not supported", "unsupported" },
    { "a corrupt footer length", function() return "PAR1" .. "abcd" .. le32(0x7fffffff) .. "PAR1" end,
      "corrupt footer length 2147483647 (file has 16 bytes)", "corrupt" },
    { "an absurd list size", function()
        return file_of("", struct({ { 1, "i32", 1 }, { 2, "list", { 12, {}, n = 1 << 31 } } }))
      end, "corrupt footer: Thrift list size exceeds the data", "corrupt" },
    { "deep schema nesting", function()
        local schema = { struct({ { 4, "bin", "root" }, { 5, "i32", 1 } }) }
        for i = 1, 100 do schema[#schema + 1] = struct({ { 3, "i32", 1 }, { 4, "bin", "g" .. i }, { 5, "i32", 1 } }) end
        schema[#schema + 1] = struct({ { 1, "i32", 1 }, { 3, "i32", 1 }, { 4, "bin", "leaf" } })
        return file_of("", struct({ { 1, "i32", 1 }, { 2, "list", { 12, schema } }, { 3, "i64", 0 } }))
      end, "schema nesting deeper than 64", "corrupt" },
    { "deep Thrift nesting", function()
        local s = "\0"
        for _ = 1, 100 do s = string.char(0x1c) .. s .. "\0" end -- field 1: struct { ... }
        return file_of("", string.char(0xfc) .. varint(7) .. s .. "\0")
      end, "corrupt footer: Thrift nesting too deep", "corrupt" },
    { "a child count beyond the schema", function()
        local schema = { struct({ { 4, "bin", "root" }, { 5, "i32", 5 } }),
                         struct({ { 1, "i32", 1 }, { 4, "bin", "x" } }) }
        return file_of("", struct({ { 1, "i32", 1 }, { 2, "list", { 12, schema } }, { 3, "i64", 0 } }))
      end, "schema element 'root' claims 5 children, more than remain", "corrupt" },
    { "a column chunk outside the file", function()
        return file_of("", one_column_footer(100, 3, 1000000))
      end, "column chunk 'x' in row group 0 points outside the file (offset 1000000, 100 bytes)", "corrupt" },
    { "a truncated footer", function()
        local footer = one_column_footer(10, 3)
        return file_of("", footer:sub(1, #footer - 9))
      end, "corrupt footer: truncated Thrift data", "corrupt" },
  }
  for _, c in ipairs(cases) do
    it("rejects " .. c[1] .. " with a message naming the file", function()
      local path = put("bad.parquet", c[2]())
      local r, msg, code = pq.open(path)
      assert.is_nil(r)
      assert.are.equal(path .. ": " .. c[3], msg)
      assert.are.equal(c[4], code)
    end)
  end

  it("reports a missing file and a directory with code 'open'", function()
    local r, msg, code = pq.open(dir .. "/nope.parquet")
    assert.is_nil(r)
    assert.are.equal(dir .. "/nope.parquet: No such file or directory", msg)
    assert.are.equal("open", code)
    r, msg, code = pq.open(dir)
    assert.is_nil(r)
    assert.are.equal(dir .. ": is a directory", msg)
    assert.are.equal("open", code)
  end)

  local page_cases = {
    { "a page running past its chunk", function()
        local page = int_page({ 1, 2, 3 }, 500)
        return page, #page
      end, "page runs past the end of the column chunk" },
    { "a truncated page header", function()
        local page = int_page({ 1, 2, 3 })
        return page:sub(1, 6), 6
      end, "truncated page header at the end of the column chunk" },
    { "values missing from a page", function()
        local page = int_page({ 1, 2, 3 })
        return page, #page, 4
      end, "data pages hold more values than the column chunk says" },
    { "a chunk that ends early", function()
        local page = int_page({ 1, 2, 3 })
        return page, #page, 3, 6
      end, "column chunk ends after 3 of its 6 values" },
  }
  for _, c in ipairs(page_cases) do
    it("fails profiling on " .. c[1] .. ", naming file, column and cause", function()
      local data, len, claim_rows, claim_values = c[2]()
      local footer = one_column_footer(len, claim_values or 3)
      if claim_rows == 4 then footer = one_column_footer(len, 2) end
      local path = put("page.parquet", file_of(data, footer))
      local st, err, st2 = profile_of(path)
      assert.is_nil(st)
      assert.are.equal(path .. ": column 'x', row group 0: " .. c[3], err)
      assert.is_table(st2.unsupported)
    end)
  end

  it("raises on a closed reader and closes idempotently", function()
    local page = int_page({ 1 })
    local r = open(put("c.parquet", file_of(page, one_column_footer(#page, 1))))
    assert.is_true(r:close())
    assert.is_true(r:close())
    assert.has_error(function() r:metadata() end, "attempt to use a closed reader")
    assert.matches("closed", tostring(r))
  end)

  it("rejects unknown profile_into options", function()
    local page = int_page({ 1 })
    local r <close> = open(put("o.parquet", file_of(page, one_column_footer(#page, 1))))
    assert.has_error(function() r:profile_into(profile.new(), { bogus = 1 }) end, "unknown option 'bogus'")
  end)
end)

-- ---- DuckDB fixtures --------------------------------------------------------

local duckdb_dir = H.duckdb_dir -- @duckdb/node-api, npm-installed when NVLUA_TEST_DUCKDB=1

describe("DuckDB fixtures", function()
  local ddir, why = duckdb_dir()
  if not ddir then
    pending("DuckDB fixtures: " .. why)
    return
  end
  local dir, answers
  setup(function()
    dir = H.tmpdir()
    local ok = os.execute("NVLUA_DUCKDB_DIR=" .. H.q(ddir) .. " node " ..
      H.q(H.root .. "/tests/fixtures/make_parquet_fixtures.mjs") .. " " .. H.q(dir))
    assert(ok, "fixture generator failed")
    answers = require("cjson").decode(H.read(dir .. "/duckdb.json"))
  end)
  teardown(function() H.rmdir(dir) end)

  local function num(s) return s ~= nil and s ~= require("cjson").null and tonumber(s) or nil end

  local readable = { "typed_uncompressed.parquet", "typed_snappy.parquet", "typed_gzip.parquet",
    "typed_zstd.parquet", "typed_lz4_raw.parquet", "typed_v2.parquet", "typed_v2_snappy.parquet",
    "row_groups.parquet", "nested.parquet", "nested_v2.parquet", "all_null.parquet", "empty.parquet" }

  for _, name in ipairs(readable) do
    it("matches DuckDB's footer view of " .. name, function()
      local a = answers[name]
      local m = meta_of(dir .. "/" .. name)
      assert.are.equal(num(a.count), m.num_rows)
      local groups, per = {}, {}
      for _, row in ipairs(a.metadata) do
        groups[row.row_group_id] = true
        local key = row.path_in_schema:gsub(", ", ".")
        local e = per[key] or { nulls = 0, csize = 0, enc = {}, codec = {} }
        per[key] = e
        e.type = row.type
        e.nulls = e.nulls + (num(row.stats_null_count) or 0)
        e.csize = e.csize + num(row.total_compressed_size)
        for x in row.encodings:gmatch("[^, ]+") do e.enc[x] = true end
        e.codec[row.compression] = true
        if row.row_group_id == "0" then e.min, e.max = row.stats_min_value, row.stats_max_value end
      end
      local ngroups = 0
      for _ in pairs(groups) do ngroups = ngroups + 1 end
      assert.are.equal(ngroups, m.row_groups)
      local leaves = 0
      for _ in pairs(per) do leaves = leaves + 1 end
      if ngroups > 0 then assert.are.equal(leaves, #m.columns) end
      for _, c in ipairs(ngroups > 0 and m.columns or {}) do
        local e = assert(per[c.name], "DuckDB has no column " .. c.name)
        assert.are.equal(e.type, c.physical_type, c.name)
        assert.are.equal(e.csize, c.total_compressed_size, c.name)
        assert.are.equal(e.nulls, c.null_count, c.name)
        local enc = {}
        for _, x in ipairs(c.encodings) do enc[x] = true end
        assert.are.same(e.enc, enc, c.name)
        local codec = {}
        for _, x in ipairs(c.compression) do codec[x] = true end
        assert.are.same(e.codec, codec, c.name)
        if m.row_groups == 1 and math.type(c.min) == "integer" and c.logical_type ~= "date" then
          assert.are.equal(e.min, tostring(c.min), c.name)
          assert.are.equal(e.max, tostring(c.max), c.name)
        end
        if m.row_groups == 1 and (c.data_type == "string" or c.data_type == "date") then
          assert.are.equal(e.min, c.min, c.name)
          assert.are.equal(e.max, c.max, c.name)
        end
      end
    end)

    it("matches DuckDB's SUMMARIZE for the flat columns of " .. name, function()
      local a = answers[name]
      local st, err, st2, res, by = profile_of(dir .. "/" .. name)
      assert.is_nil(err, err)
      assert.are.same({}, st.unsupported)
      assert.are.equal(num(a.count), st.rows)
      assert.are.equal(num(a.count), res.rows)
      for _, s in ipairs(a.summarize) do
        local c = by[s.column_name]
        if c then -- flat columns (nested ones have dotted leaf names)
          assert.are.equal(num(s.count), c.rows, s.column_name)
          local pct = c.rows > 0 and c.null_count * 100 / c.rows or 0
          assert.is_true(math.abs(pct - (num(s.null_percentage) or 0)) < 0.01, s.column_name)
          local t = s.column_type
          if c.non_null > 0 and (t == "INTEGER" or t == "BIGINT" or t == "TINYINT") then
            assert.are.equal(s.min, tostring(c.min), s.column_name)
            assert.are.equal(s.max, tostring(c.max), s.column_name)
          elseif c.non_null > 0 and (t == "VARCHAR" or t == "DATE") then
            assert.are.equal(s.min, c.min, s.column_name)
            assert.are.equal(s.max, c.max, s.column_name)
          elseif c.non_null > 0 and t:match("^DECIMAL") then
            assert.are.equal(tonumber(s.min), c.min, s.column_name)
            assert.are.equal(tonumber(s.max), c.max, s.column_name)
          elseif c.non_null > 0 and t == "TIMESTAMP" then
            assert.are.equal(s.min, (c.min:gsub("T", " ")), s.column_name)
          end
              local exact = num(a.distinct[s.column_name])
          if c.distinct_exact then
            assert.are.equal(exact, c.distinct_count, s.column_name .. " distinct")
          else -- the profiler's sketch
            assert.is_true(math.abs(exact - c.distinct_count) <= 0.05 * exact, s.column_name .. " distinct")
          end
        end
      end
      assert.is_nil(st2)
    end)
  end

  it("types DuckDB's logical types", function()
    local m = meta_of(dir .. "/typed_zstd.parquet")
    local want = { id = { "integer", "int32" }, dec_small = { "decimal", "decimal(8,2)" },
      dec_mid = { "decimal", "decimal(18,3)" }, dec_big = { "decimal", "decimal(38,4)" },
      day = { "date", "date" }, ts = { "timestamp", "timestamp[us]" },
      tstz = { "timestamp", "timestamp[us, UTC]" }, tod = { "time", "time[us]" },
      uid = { "uuid", "uuid" }, name = { "string", "string" }, raw = { "binary", nil },
      flag = { "boolean", nil }, dbl = { "decimal", nil } }
    for n, w in pairs(want) do
      assert.are.equal(w[1], col(m, n).data_type, n)
      assert.are.equal(w[2], col(m, n).logical_type, n)
    end
    assert.are.equal("2467901212356789.9433", col(m, "dec_big").max)
    assert.are.equal("00000000-0000-4000-8000-000000001999", col(m, "uid").max)
  end)

  it("names nested leaves and counts their rows (lists, structs, maps)", function()
    for _, name in ipairs({ "nested.parquet", "nested_v2.parquet" }) do
      local m = meta_of(dir .. "/" .. name)
      assert.are.equal("array<integer>", col(m, "ints.list.element").data_type)
      assert.are.equal("integer", col(m, "st.a").data_type)
      assert.are.equal("array<string>", col(m, "mp.key_value.key").data_type)
      assert.are.equal("array<array<string>>", col(m, "nested_list.list.element.list.element").data_type)
      local st, err, _, _, by = profile_of(dir .. "/" .. name)
      assert.is_nil(err)
      assert.are.equal(300, st.rows)
      assert.are.equal(50, by["ints.list.element"].null_count) -- i % 6 == 0
      assert.are.equal(60, by["mp.key_value.key"].null_count)  -- i % 5 == 0
      assert.are.equal(150, by["st.b"].null_count)
      local r <close> = open(dir .. "/" .. name)
      local rows = {}
      for row in assert(r:rows(3)) do rows[#rows + 1] = row end
      assert.is_nil(rows[1]["ints.list.element"])
      assert.are.same({}, rows[2]["ints.list.element"])
      local l3 = rows[3]["ints.list.element"] -- [2, NULL, 3]: a null element is json.null
      assert.are.equal(3, #l3)
      assert.are.same({ 2, require("cjson").null, 3 }, { l3[1], l3[2], l3[3] })
    end
  end)

  it("profiles on threads exactly as on one thread", function()
    for _, name in ipairs({ "many_groups.parquet", "row_groups.parquet", "nested.parquet", "typed_v2.parquet" }) do
      local path = dir .. "/" .. name
      for _, opts in ipairs({ {}, { max_rows = 40000 }, { row_groups = 3 }, { max_bytes = 1 } }) do
        local st1, e1, _, res1 = profile_of(path, opts)
        for _, threads in ipairs({ 2, 3, 8 }) do
          local o = { threads = threads }
          for k, v in pairs(opts) do o[k] = v end
          local st, e, _, res = profile_of(path, o)
          assert.is_nil(e, e)
          assert.is_nil(e1, e1)
          assert.are.same(st1, st, name .. " threads " .. threads)
          assert.are.same(res1, res, name .. " threads " .. threads)
        end
      end
    end
  end)

  it("profiles dictionary-encoded chunks as their plain values (each entry prepared once)", function()
    local st1, e1, _, plain = profile_of(dir .. "/typed_plain.parquet")
    local st2, e2, _, dict = profile_of(dir .. "/typed_dict.parquet")
    assert.is_nil(e1, e1)
    assert.is_nil(e2, e2)
    assert.are.equal(st1.rows, st2.rows)
    local mp, md = meta_of(dir .. "/typed_plain.parquet"), meta_of(dir .. "/typed_dict.parquet")
    local dict_cols = 0
    for i, c in ipairs(md.columns) do
      local enc = table.concat(c.encodings, ",")
      if enc:match("DICTIONARY") then
        dict_cols = dict_cols + 1
        assert.is_nil(table.concat(mp.columns[i].encodings, ","):match("DICTIONARY"), c.name)
      end
    end
    assert.is_true(dict_cols >= 5, "the fixture has dictionary-encoded columns")
    assert.are.same(plain, dict)
  end)

  it("counts a threaded scan of many row groups as DuckDB does", function()
    local a = answers["many_groups.parquet"]
    local st, err, _, res, by = profile_of(dir .. "/many_groups.parquet", { threads = 4 })
    assert.is_nil(err, err)
    assert.are.equal(8, st.row_groups_read)
    assert.are.equal(num(a.count), res.rows)
    for _, s in ipairs(a.summarize) do
      local c = assert(by[s.column_name], s.column_name)
      local pct = c.rows > 0 and c.null_count * 100 / c.rows or 0
      assert.is_true(math.abs(pct - (num(s.null_percentage) or 0)) < 0.01, s.column_name)
      local exact = num(a.distinct[s.column_name])
      if c.distinct_exact then
        assert.are.equal(exact, c.distinct_count, s.column_name .. " distinct")
      else
        assert.is_true(math.abs(exact - c.distinct_count) <= 0.05 * exact, s.column_name .. " distinct")
      end
      if c.non_null > 0 and (s.column_type == "BIGINT" or s.column_type == "INTEGER" or s.column_type == "VARCHAR") then
        assert.are.equal(s.min, tostring(c.min), s.column_name)
        assert.are.equal(s.max, tostring(c.max), s.column_name)
      end
    end
  end)

  it("rejects a thread count outside 1..64", function()
    local r <close> = open(dir .. "/row_groups.parquet")
    assert.has_error(function() r:profile_into(profile.new(), { threads = 0 }) end)
    assert.has_error(function() r:profile_into(profile.new(), { threads = 65 }) end)
  end)

  it("samples row groups and caps rows", function()
    local path = dir .. "/row_groups.parquet"
    local m = meta_of(path)
    assert.is_true(m.row_groups >= 3)
    local st = assert(profile_of(path, { row_groups = 2 }))
    assert.are.equal(2, st.row_groups_read)
    local st2, _, _, res = profile_of(path, { max_rows = 3000 })
    assert.are.equal(3000, st2.rows)
    assert.are.equal(3000, res.rows)
  end)

  it("reports BROTLI as unsupported per column and still reads the footer", function()
    local path = dir .. "/typed_brotli.parquet"
    local m = meta_of(path)
    assert.are.same({ "BROTLI" }, col(m, "id").compression)
    local st, err = profile_of(path)
    assert.is_nil(err)
    assert.are.equal("compression codec BROTLI is not supported", st.unsupported.id)
    assert.are.equal("compression codec BROTLI is not supported", st.unsupported.s)
    assert.are.equal(50, st.rows)
  end)
end)
