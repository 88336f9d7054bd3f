-- Object-store sources hold one object on local disk at a time: each object
-- is fetched just before it is read and its copy removed right after, with
-- data_reading's previews taken meanwhile; a failing download fails that
-- object alone; worker threads remove their temp files. Real s3rver and
-- azurite; requests observed by wrapping nv.http.request in this process.
local H = require "helper"
local json = require "nv.json"

local function quiet()
  local nop = function() end
  return { info = nop, warning = nop, error = nop, debug = nop }
end

-- regular files anywhere below dir
local function count_files(dir)
  local p = io.popen("find " .. H.q(dir) .. " -type f 2>/dev/null | wc -l")
  local n = tonumber(p:read("a"))
  p:close()
  return n
end

describe("remote objects on local disk", function()
  local list = H.object_stores("disk")
  if #list == 0 then
    pending("SKIPPED: neither NVLUA_TEST_S3_ENDPOINT nor NVLUA_TEST_AZURE_BLOB is set")
    return
  end
  local extract = require "nv.extract"
  local report = require "nv.report"
  local http = require "nv.http"

  for _, st in ipairs(list) do
    it("fetches each object just before reading it and removes the copy after (" .. st.name .. ")", function()
      local names = {}
      for i = 1, 4 do
        local name = string.format("t%d.csv", i)
        names[#names + 1] = name
        local rows = { "id,name" }
        for r = 1, 50 * i do rows[#rows + 1] = r .. ",n" .. r end
        assert(st.put(name, table.concat(rows, "\n") .. "\n"))
      end
      assert(st.put("broken.csv", "id\n1\n"))
      local tmp = H.tmpdir()
      local real = http.request
      local on_disk, gets = {}, 0
      http.request = function(o)
        local name = o.url:match("([^/?]+)$")
        if not o.url:find("?", 1, true) and name and name:match("%.csv$") then
          gets = gets + 1
          on_disk[#on_disk + 1] = count_files(tmp) -- copies left by earlier objects
          if name == "broken.csv" then return nil, o.url .. ": connection reset by peer (test)" end
        end
        return real(o)
      end
      local ctx = { config = st.config, log = quiet() }
      local ok, m = pcall(extract.source, ctx, { data_source_path = st.path, source_type = st.source_type },
        { remote_tmpdir = tmp, previews = { rows = 3, bytes = 64 } })
      http.request = real
      assert(ok, m)
      assert.equal(5, gets)
      for i, n in ipairs(on_disk) do assert.equal(0, n, "files on disk before GET " .. i) end
      assert.equal(0, count_files(tmp))
      -- the broken object failed alone, named by its URL
      assert.equal("partial", m.status)
      local by = {}
      for _, t in ipairs(m.tables) do by[t.name] = t end
      assert.equal("failed", by["broken.csv"].status)
      assert.matches("broken%.csv: connection reset by peer %(test%)", by["broken.csv"].errors[1])
      for i, n in ipairs(names) do assert.equal(50 * i, by[n].rows, n) end
      -- data_reading's previews were taken while the copies existed
      local rd = report.reading(ctx, m, { preview_rows = 3, preview_bytes = 64 })
      assert.equal(4, rd.files_read)
      assert.same({ "1", "n1" }, rd.sample_data["t2.csv"].rows[1])
      assert.equal(3, #rd.sample_data["t2.csv"].rows)
      assert.same({ "id", "name" }, rd.sample_data["t2.csv"].columns)
      assert.matches("^id,name\n1,n1", rd.sample_data["t3.csv"].preview)
      assert.equal("failed", rd.sample_data["broken.csv"].status)
      for _, c in ipairs(ctx.cleanups or {}) do c() end
      local p = io.popen("ls -A " .. H.q(tmp))
      assert.equal("", p:read("a"))
      p:close()
      H.rmdir(tmp)
    end)
  end

  it("leaves no temp files behind when sources run on worker threads", function()
    local st = list[1]
    assert(st.put("w/a.csv", "id\n1\n2\n"))
    assert(st.put("w/b.csv", "id\n3\n"))
    local dir, tmp = H.tmpdir(), H.tmpdir()
    local env = { TMPDIR = tmp, NUVYN_JOB_PAYLOAD = json.encode({ workflow_id = "wf_disk", sources = {
      { source_id = "a", data_source_path = st.path .. "/w", data_source_type = st.source_type },
      { source_id = "b", data_source_path = st.path .. "/w", data_source_type = st.source_type } } }) }
    for k, v in pairs(st.env) do env[k] = v end
    local code, out, err = H.run({ "run", "data_reading", "--workers", "2" }, { cwd = dir, env = env })
    assert.equal(0, code, err)
    local r = json.decode(out)
    assert.equal(2, #r.sources)
    for _, res in ipairs(r.sources) do
      assert.equal(2, res.metadata.files_read, json.encode(res))
      assert.same({ "1" }, res.metadata.sample_data["a.csv"].rows[1])
    end
    local p = io.popen("ls -A " .. H.q(tmp))
    assert.equal("", p:read("a"))
    p:close()
    H.rmdir(tmp)
    H.rmdir(dir)
  end)
end)
