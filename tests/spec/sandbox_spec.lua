-- `nvlua --sandbox`: every escape is refused with a clear error naming it,
-- files only under the allowed roots, CPU and memory limits, and the six
-- built-in jobs run unchanged inside it.
local H = require "helper"
local json = require "nv.json"

describe("nvlua --sandbox", function()
  local dir
  before_each(function()
    dir = H.tmpdir()
    H.write(dir .. "/data.csv", "a,b\n1,2\n")
  end)
  after_each(function() H.rmdir(dir) end)

  local function sandboxed(code, env)
    H.write(dir .. "/s.lua", code)
    return H.run({ "--sandbox", dir .. "/s.lua" }, { cwd = dir, env = env })
  end

  local escapes = {
    { 'os.execute("touch pwned")', "sandbox: os.execute is not allowed" },
    { 'io.popen("id")', "sandbox: io.popen is not allowed" },
    { 'os.remove("data.csv")', "sandbox: os.remove is not allowed" },
    { 'os.rename("data.csv", "x")', "sandbox: os.rename is not allowed" },
    { "os.exit(0)", "sandbox: os.exit is not allowed" },
    { 'os.getenv("HOME")', "sandbox: os.getenv is not allowed" },
    { "debug.getinfo(1)", "sandbox: debug is not allowed" },
    { 'package.loadlib("libc.so.6", "system")', "sandbox: package is not allowed" },
    { 'load(string.char(27) .. "Lua", "x", "b")', "sandbox: load in mode 'b' (bytecode) is not allowed" },
    { "string.dump(print)", "sandbox: string.dump is not allowed" },
    { 'require("io")', "sandbox: require('io') is not allowed" },
    { 'require("nv.limits").set_cpu(0)', "sandbox: nv.limits.set_cpu is not allowed" },
    { 'io.open("/etc/passwd")', "sandbox: path /etc/passwd is not allowed" },
    { 'for l in io.lines("/etc/hostname") do end', "sandbox: path /etc/hostname is not allowed" },
    { 'io.read("l")', "sandbox: io.read is not allowed" },
    { 'require("nv.json").encode = print', "sandbox: setting nv.json.encode is not allowed" },
    { 'getmetatable("").__index.rep = nil', "attempt to index a nil value" },
    { 'loadfile("/etc/passwd")', "sandbox: path /etc/passwd is not allowed" },
  }
  for _, c in ipairs(escapes) do
    it("refuses " .. c[1], function()
      local code, out, err = sandboxed(c[1])
      assert.equal(1, code)
      assert.equal("", out)
      assert.truthy(err:find(c[2], 1, true), err)
      assert.is_nil(H.read(dir .. "/pwned"))
      assert.truthy(H.read(dir .. "/data.csv"))
    end)
  end

  it("allows reading files under NVLUA_SANDBOX_ROOTS and plain Lua", function()
    local code, _, err = sandboxed([[
      local f = assert(io.open(...))
      print(f:read("l"), math.max(1, 2), string.format("%d", 7), #table.pack(1, 2))
      f:close()]], { NVLUA_SANDBOX_ROOTS = dir })
    assert.equal(1, code) -- no argument given: io.open(nil)
    assert.truthy(err:find("bad argument #1 to 'io.open' (string expected)", 1, true), err)
    H.write(dir .. "/s.lua", [[
      local f = assert(io.open(...))
      print(f:read("l"), math.max(1, 2))
      f:close()]])
    local code2, out2, err2 = H.run({ "--sandbox", dir .. "/s.lua", dir .. "/data.csv" },
      { cwd = dir, env = { NVLUA_SANDBOX_ROOTS = dir } })
    assert.equal(0, code2, err2)
    assert.equal("", out2) -- print goes to stderr in the sandbox
    assert.truthy(err2:find("a,b\t2", 1, true))
  end)

  it("stops a runaway script at the CPU limit", function()
    local code, _, err = sandboxed("while true do end", { NVLUA_SANDBOX_CPU = "1" })
    assert.equal(1, code)
    assert.truthy(err:find("sandbox: CPU limit of 1 s exceeded", 1, true), err)
  end)

  it("stops a script at the memory limit", function()
    local code, _, err = sandboxed('local t = {} for i = 1, 1e8 do t[i] = ("x"):rep(64) .. i end',
      { NVLUA_SANDBOX_MEMORY_MB = "40" })
    assert.equal(1, code)
    assert.truthy(err:find("sandbox: memory limit of 40 MiB exceeded", 1, true), err)
  end)

  for _, job in ipairs({ "schema_validation", "metadata_extraction", "data_reading", "quality_assessment",
                         "full_pipeline" }) do
    it("runs the built-in " .. job .. " job unchanged", function()
      local args = { "--sandbox", "run", job }
      if job ~= "schema_validation" then args[#args + 1] = dir .. "/data.csv" end
      local code, out, err = H.run(args, { cwd = dir })
      assert.equal(0, code, err)
      local r = assert(json.decode(out))
      assert.is_true(r.success)
    end)
  end

  it("runs a platform-shipped job script inside the sandbox", function()
    H.write(dir .. "/job.lua", [[
      return { name = "shipped", run = function(ctx)
        local f = assert(io.open(ctx.config.data_source_path))
        local first = f:read("l")
        f:close()
        local ok, err = pcall(function() return os.execute("id") end)
        return { first = first, exec_refused = not ok and err:match("sandbox: [%w. ]+") }
      end }]])
    local code, out, err = H.run({ "--sandbox", dir .. "/job.lua", dir .. "/data.csv" }, { cwd = dir })
    assert.equal(0, code, err)
    local r = json.decode(out)
    assert.equal("a,b", r.first)
    assert.equal("sandbox: os.execute is not allowed", r.exec_refused)
  end)

  it("is a usage error with -e or without a script", function()
    local code, _, err = H.run({ "--sandbox", "-e", "print(1)" })
    assert.equal(2, code)
    assert.matches("^nvlua: %-%-sandbox needs a script or `run <job_type>`, and no %-e, %-l or %-i\n", err)
  end)
end)
