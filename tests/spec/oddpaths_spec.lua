-- Issue 12, bounded memory and odd paths: a FIFO, socket or device given as
-- the path is refused without being opened; invalid UTF-8 never reaches the
-- output raw; a file that changes while it is read is flagged; a Parquet
-- column the reader cannot decode is reported as not profiled; many tiny
-- files stay within a bounded memory. Expected values are computed here
-- (Python for UTF-8 validity and peak RSS), never taken from nvlua.
local H = require "helper"
local json = require "nv.json"

local function one_json(out)
  assert.matches("^[^\n]*\n$", out)
  return assert(json.decode(out))
end

-- nvlua under `timeout`: a path that blocks shows up as exit 124
local function run_bounded(dir, args, env, secs)
  local full = { tostring(secs or 20), H.bin }
  for _, a in ipairs(args) do full[#full + 1] = a end
  return H.run(full, { cwd = dir, env = env, exe = "timeout" })
end

-- true when python3 decodes the file at path as strict UTF-8
local function valid_utf8_file(path)
  return os.execute("python3 -c " .. H.q("import sys; open(sys.argv[1],'rb').read().decode('utf-8')") ..
    " " .. H.q(path) .. " 2>/dev/null") == true
end

describe("odd paths", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function() H.rmdir(dir) end)

  it("a FIFO, a socket or a character device as the path is a failed object, never opened", function()
    assert.is_true(os.execute("mkfifo " .. H.q(dir .. "/pipe")))
    assert.is_true(os.execute("python3 -c " .. H.q(
      "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])") .. " " .. H.q(dir .. "/sock")))
    for _, case in ipairs({ { dir .. "/pipe", "a FIFO" }, { dir .. "/sock", "a socket" },
                            { "/dev/null", "a character device" } }) do
      local code, out = run_bounded(dir, { "run", "metadata_extraction", case[1] })
      assert.equal(1, code) -- not 124: the run did not block
      local res = one_json(out)
      local why = case[1] .. " is " .. case[2] .. ", not a regular file"
      assert.equal("data source " .. case[1] .. ": " .. why, res.failed_objects[1].reason)
      assert.is_false(res.success)
    end
  end)

  it("a reader refuses a FIFO swapped in after the listing, without blocking", function()
    assert.is_true(os.execute("mkfifo " .. H.q(dir .. "/pipe")))
    H.write(dir .. "/probe.lua", [[
      local p = ...
      local r, err = require("nv.csv").open(p)
      local d, derr = require("nv.fs").detect(p)
      io.write(tostring(r), "|", err, "|", tostring(d), "|", derr)
    ]])
    local code, out = run_bounded(dir, { dir .. "/probe.lua", dir .. "/pipe" })
    assert.equal(0, code)
    local why = dir .. "/pipe is a FIFO, not a regular file"
    assert.equal("nil|" .. why .. "|nil|" .. why, out)
  end)
end)
