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

describe("nv.sys.remove_tree", function()
  it("removes a tree, removing symbolic links without following them", function()
    local base = os.tmpname()
    os.remove(base)
    assert.truthy(sys.mkdirs(base .. "/t/a/b"))
    assert.truthy(sys.mkdirs(base .. "/outside"))
    local f = assert(io.open(base .. "/outside/keep.txt", "w"))
    f:write("keep")
    f:close()
    f = assert(io.open(base .. "/t/a/b/x.txt", "w"))
    f:write("x")
    f:close()
    assert.is_true(os.execute("ln -s '" .. base .. "/outside' '" .. base .. "/t/a/link'"))
    assert.is_true(sys.remove_tree(base .. "/t"))
    assert.is_nil(sys.stat(base .. "/t"))
    assert.truthy(sys.stat(base .. "/outside/keep.txt"))
    assert.is_true(sys.remove_tree(base .. "/t")) -- already gone: fine
    assert.is_true(sys.remove_tree(base .. "/outside/keep.txt")) -- a file
    assert.is_nil(sys.stat(base .. "/outside/keep.txt"))
    os.execute("rm -rf '" .. base .. "'")
  end)
end)

describe("nv.sys durable private files", function()
  local base
  before_each(function()
    base = os.tmpname()
    os.remove(base)
    assert.truthy(sys.mkdirs(base))
  end)
  after_each(function() os.execute("rm -rf '" .. base .. "'") end)

  local function mode(path)
    local p = assert(io.popen("stat -c %a '" .. path .. "'"))
    local m = p:read("l")
    p:close()
    return m
  end
  local function read(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("a")
    f:close()
    return s
  end

  it("write_new creates a 0600 file (or the mode asked), never over an existing file or a symlink", function()
    assert.is_true(sys.write_new(base .. "/a", "hello"))
    assert.equal("hello", read(base .. "/a"))
    assert.equal("600", mode(base .. "/a"))
    assert.is_true(sys.write_new(base .. "/b", "", 416)) -- 0640
    assert.equal("640", mode(base .. "/b"))
    local ok, err, kind, errno = sys.write_new(base .. "/a", "again")
    assert.is_nil(ok)
    assert.equal("cannot create " .. base .. "/a: File exists", err)
    assert.equal("exists", kind)
    assert.equal(17, errno) -- EEXIST
    assert.equal("hello", read(base .. "/a"))
    assert.is_true(os.execute("ln -s '" .. base .. "/target' '" .. base .. "/link'"))
    assert.is_nil(sys.write_new(base .. "/link", "x"))
    assert.is_nil(io.open(base .. "/target", "rb"))
    assert.has_error(function() sys.write_new(base .. "/c", "x", 8 ^ 5) end)
  end)

  it("append_sync appends and sets the mode; chmod and fsync_dir report failures", function()
    assert.is_true(sys.append_sync(base .. "/l", "1\n"))
    assert.is_true(sys.append_sync(base .. "/l", "2\n"))
    assert.equal("1\n2\n", read(base .. "/l"))
    assert.equal("600", mode(base .. "/l"))
    assert.is_true(sys.chmod(base, 448))
    assert.equal("700", mode(base))
    assert.is_true(sys.fsync_dir(base))
    local ok, err, kind, errno = sys.fsync_dir(base .. "/missing")
    assert.is_nil(ok)
    assert.equal("cannot open " .. base .. "/missing: No such file or directory", err)
    assert.same({ "notfound", 2 }, { kind, errno }) -- ENOENT
    ok, err, kind, errno = sys.chmod(base .. "/missing", 384)
    assert.is_nil(ok)
    assert.equal("cannot chmod " .. base .. "/missing: No such file or directory", err)
    assert.same({ "notfound", 2 }, { kind, errno })
  end)

  it("lock is exclusive until closed, names its holder, and reports a busy lock", function()
    local path = base .. "/.lock"
    local a = assert(sys.lock(path))
    assert.equal("600", mode(path))
    assert.equal(sys.getpid(), sys.lock_holder(path))
    local t0 = sys.monotonic()
    local ok, err, kind, errno = sys.lock(path, 0.2) -- another open file description: refused
    assert.is_true(sys.monotonic() - t0 >= 0.2)
    assert.is_nil(ok)
    assert.equal("cannot lock " .. path .. ": Resource temporarily unavailable", err)
    assert.equal("busy", kind)
    assert.equal(11, errno) -- EWOULDBLOCK
    assert.is_true(a:close())
    assert.is_true(a:close()) -- idempotent
    do
      local b <close> = assert(sys.lock(path))
    end
    assert.truthy(sys.lock(path)):close()
    assert.is_nil(sys.lock_holder(base .. "/missing"))
  end)
end)
