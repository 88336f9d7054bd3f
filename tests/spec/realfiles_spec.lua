-- The real-file corpus (tests/fixtures/real, see its README.md): nvlua's
-- metadata_extraction on each public CSV/TSV/JSON file, checked against
-- expected.json — the truth decided by comparing DuckDB's sniffer, Python's
-- csv module and the file itself (compare.py). One test per file and field
-- (rows x columns, delimiter, header, types), so a failure names exactly
-- what is wrong; every file must also finish (no crash, no hang) and never
-- succeed with 0 rows when it is not empty. The agreement figures are
-- printed at the end. Needs no network and no DuckDB.
local H = require "helper"
local cjson = require "cjson"

local DIR = H.root .. "/tests/fixtures/real"
local TIMEOUT = "60"

local function sources()
  local names = {}
  local first = true
  for line in (H.read(DIR .. "/SOURCES.tsv") or ""):gmatch("[^\n]+") do
    local name = line:match("^([^\t]+)")
    -- the SQLite databases are sqlite_spec.lua's (a catalog source, not a file)
    if not first and not name:match("%.sqlite$") then names[#names + 1] = name end
    first = false
  end
  return names
end

local expected = cjson.decode(H.read(DIR .. "/expected.json"))
local null = cjson.null

-- nvlua's type names as the classes expected.json uses
local function class(t)
  if t == nil or t == null then return nil end
  if t:match("^array") or t:match("^object") then return "json" end
  if t == "uuid" or t == "email" or t == "url" or t == "ip" then return "string" end
  return t
end

local results, workdir = {}, nil

-- Runs nvlua once per file (memoized): {code, doc, table, dialect, types}
local function result(name)
  if results[name] then return results[name] end
  workdir = workdir or H.tmpdir()
  local code, out, err = H.run({ TIMEOUT, H.bin, "run", "metadata_extraction", DIR .. "/" .. name, "auto" },
    { exe = "timeout", cwd = workdir })
  local r = { code = code, stderr = err }
  local ok, doc = pcall(cjson.decode, out or "")
  if ok and type(doc) == "table" then
    r.doc = doc
    local t = (doc.tables or {})[1] or {}
    r.table = t
    r.dialect = ((t.files or {})[1] or {}).dialect or {}
    local cols = {}
    for _, c in ipairs(t.columns or {}) do cols[#cols + 1] = c end
    table.sort(cols, function(a, b) return (a.position or 0) < (b.position or 0) end)
    r.types = {}
    for i, c in ipairs(cols) do r.types[i] = class(c.data_type) end
  end
  results[name] = r
  return r
end

-- agreement counters: [kind][field] = {agree, total}, kind "all", "csv" or "json"
local function counters() return { rowscols = { 0, 0 }, delimiter = { 0, 0 }, header = { 0, 0 }, types = { 0, 0 } } end
local tally = { all = counters(), csv = counters(), json = counters() }
local function kind(name) return name:match("%.[gn]?d?json[l]?$") and "json" or (name:match("json$") and "json" or "csv") end
local function count(name, field, agree, n)
  for _, k in ipairs({ "all", kind(name) }) do
    tally[k][field][1] = tally[k][field][1] + (agree or 0)
    tally[k][field][2] = tally[k][field][2] + (n or 1)
  end
end

local function n(v) return math.tointeger(v) or v end

local function shown(v)
  if v == nil or v == null then return "nil" end
  return string.format("%q", tostring(v))
end

describe("real files", function()
  teardown(function() H.rmdir(workdir) end)

  for _, name in ipairs(sources()) do
    local e = expected[name]
    local size = #(H.read(DIR .. "/" .. name) or "")

    it(name .. ": finishes (no crash, no hang) with one JSON document", function()
      local r = result(name)
      assert.is_not.equal(124, r.code, name .. ": timed out after " .. TIMEOUT .. " s")
      assert(r.code == 0 or r.code == 1, name .. ": exit " .. tostring(r.code) .. " " .. tostring(r.stderr))
      assert.is_table(r.doc, name .. ": stdout is not a JSON document")
    end)

    it(name .. ": no silent 0-row success", function()
      local r = result(name)
      if size == 0 or not r.table then return end
      local st = r.table.status
      assert(not (st == "success" and (r.table.row_count or 0) == 0),
        name .. ": status success with 0 rows from a " .. size .. "-byte file")
    end)

    if e and e.rows ~= nil and e.rows ~= null then
      it(name .. ": rows x columns", function()
        local r = result(name)
        local t = r.table or {}
        local cols_ok = e.columns == nil or e.columns == null or t.column_count == e.columns
        local agree = t.row_count == e.rows and cols_ok
        count(name, "rowscols", agree and 1 or 0)
        assert(agree, string.format("%s: %s rows x %s columns, expected %s x %s (%s)", name,
          tostring(n(t.row_count)), tostring(n(t.column_count)), tostring(n(e.rows)), tostring(n(e.columns)),
          e.why or "DuckDB, Python csv and nvlua compared"))
      end)
    end

    if e and e.delimiter ~= nil and e.delimiter ~= null then
      it(name .. ": delimiter", function()
        local d = (result(name).dialect or {}).delimiter
        count(name, "delimiter", d == e.delimiter and 1 or 0)
        assert(d == e.delimiter, name .. ": delimiter " .. shown(d) .. ", expected " .. shown(e.delimiter))
      end)
    end

    if e and e.header ~= nil and e.header ~= null then
      it(name .. ": header", function()
        local h = (result(name).dialect or {}).has_header
        count(name, "header", h == e.header and 1 or 0)
        assert(h == e.header, name .. ": has_header " .. shown(h) .. ", expected " .. shown(e.header) ..
          (e.why and (" (" .. e.why .. ")") or ""))
      end)
    end

    if e and type(e.types) == "table" then
      it(name .. ": types", function()
        local got = result(name).types or {}
        local wrong = {}
        for i, want in ipairs(e.types) do
          if got[i] ~= want then wrong[#wrong + 1] = string.format("#%d %s (expected %s)", i, tostring(got[i]), want) end
        end
        count(name, "types", #e.types - #wrong, #e.types)
        assert(#wrong == 0, name .. ": column types " .. table.concat(wrong, ", "))
      end)
    end
  end

  it("prints the agreement figures", function()
    local function pct(t) return t[2] > 0 and string.format("%d/%d (%.1f%%)", t[1], t[2], 100 * t[1] / t[2]) or "-" end
    for _, k in ipairs({ "all", "csv", "json" }) do
      local t = tally[k]
      io.stderr:write(string.format("\nreal files (%s): rows x columns %s, delimiter %s, header %s, column types %s",
        k, pct(t.rowscols), pct(t.delimiter), pct(t.header), pct(t.types)))
    end
    io.stderr:write("\n")
  end)
end)
