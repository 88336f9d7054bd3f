-- nv.sys: clocks, sleep, randomness, directories
local sys = require "nv.sys"

describe("nv.sys", function()
  it("sleeps for the asked time on the monotonic clock", function()
    local t0 = sys.monotonic()
    sys.sleep(0.12)
    local dt = sys.monotonic() - t0
    assert.is_true(dt >= 0.12, "slept " .. dt)
    assert.is_true(dt < 5, "slept " .. dt)
  end)

  it("refuses a negative or absurd sleep", function()
    assert.has_error(function() sys.sleep(-1) end)
    assert.has_error(function() sys.sleep(1e9) end)
    assert.has_error(function() sys.sleep("soon") end)
  end)

  it("gives random hex of the asked size, different each time", function()
    local a, b = sys.random_hex(16), sys.random_hex(16)
    assert.matches("^%x+$", a)
    assert.equal(32, #a)
    assert.not_equal(a, b)
  end)

  it("creates nested directories and stats them", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert.truthy(sys.mkdirs(dir .. "/a/b"))
    local st = assert(sys.stat(dir .. "/a/b"))
    assert.equal("directory", st.type)
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)
