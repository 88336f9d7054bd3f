-- Bounded memory on hostile shapes: a JSON object with 100,000 keys and a
-- CSV with 60,000 columns are profiled up to max_columns (the rest counted
-- and named in a warning), in memory bounded by that cap; peak RSS is read
-- by Python's resource module from the finished child.
local H = require "helper"
local json = require "nv.json"

-- Runs nvlua with args; returns code, stdout, stderr, the child's peak RSS in MiB.
local function run_measured(args, cwd)
  local out, err = os.tmpname(), os.tmpname()
  local argv = { H.bin }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local py = "import json,resource,subprocess,sys\n" ..
    "a = json.loads(sys.argv[1])\n" ..
    "with open(sys.argv[2], 'wb') as o, open(sys.argv[3], 'wb') as e:\n" ..
    "    rc = subprocess.run(a, stdout=o, stderr=e, cwd=sys.argv[4]).returncode\n" ..
    "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)\n"
  local p = assert(io.popen("python3 -c " .. H.q(py) .. " " .. H.q(json.encode(argv)) .. " " .. H.q(out) .. " " ..
    H.q(err) .. " " .. H.q(cwd)))
  local line = p:read("l")
  p:close()
  local rc, mib = line:match("^(%-?%d+) (%d+)$")
  local so, se = H.read(out), H.read(err)
  os.remove(out)
  os.remove(err)
  return tonumber(rc), so, se, tonumber(mib)
end

local sanitized = os.getenv("ASAN_OPTIONS") ~= nil

describe("bounded memory", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("nv.profile counts columns past max_columns instead of profiling them", function()
    local p = require("nv.profile").new({ max_columns = 3 })
    for i = 1, 5 do p:add("c" .. i, tostring(i)) end
    assert.same({ nil, "max_columns reached" }, { p:column("c9") })
    assert.equal(2, p:column("c3"))
    p:add_rows(1)
    local res = p:result()
    assert.equal(3, #res.columns)
    assert.equal(3, res.columns_dropped) -- c4, c5 and c9, each once
    assert.equal("c4", res.first_dropped)
    local q = require("nv.profile").new({ max_columns = 4 })
    q:add("c5", "x")
    q:merge(p) -- p's dropped names and columns: c1..c3 fit, the rest count once
    local qr = q:result()
    assert.equal(4, #qr.columns)
    assert.equal(3, qr.columns_dropped)
    assert.has_error(function() require("nv.profile").new({ max_columns = 0 }) end)
  end)

  it("a JSON object with 100,000 keys: 10,000 columns profiled, the rest reported, memory bounded", function()
    local parts = {}
    for i = 1, 100000 do parts[i] = string.format('"k%d": %d', i, i) end
    H.write(dir .. "/wide.json", "{" .. table.concat(parts, ", ") .. "}\n")
    local code, out, err, mib = run_measured({ "run", "metadata_extraction", dir .. "/wide.json" }, dir)
    assert.equal(0, code, err)
    local t = json.decode(out).tables[1]
    assert.equal(10000, t.column_count)
    assert.equal(90000, t.columns_dropped)
    assert.equal(1, t.row_count)
    assert.matches("90000 columns past the first 10000 were not profiled %(max_columns; the first of them: k10001%)",
      t.warnings[1])
    if not sanitized then assert.is_true(mib < 400, "peak RSS " .. mib .. " MiB") end
  end)

  it("a CSV with 60,000 columns under max_columns = 2000 from a config file", function()
    local hdr, row = {}, {}
    for i = 1, 60000 do hdr[i], row[i] = "c" .. i, tostring(i) end
    H.write(dir .. "/wide.csv", table.concat(hdr, ",") .. "\n" .. table.concat(row, ",") .. "\n" ..
      table.concat(row, ",") .. "\n")
    H.write(dir .. "/cfg.json", '{"max_columns": 2000}')
    local code, out, err, mib = run_measured({ "run", "metadata_extraction", dir .. "/wide.csv", "--config",
      dir .. "/cfg.json" }, dir)
    assert.equal(0, code, err)
    local t = json.decode(out).tables[1]
    assert.equal(2000, t.column_count)
    assert.equal(58000, t.columns_dropped)
    assert.equal(2, t.row_count)
    if not sanitized then assert.is_true(mib < 200, "peak RSS " .. mib .. " MiB") end
  end)
end)
