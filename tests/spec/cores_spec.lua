-- nv.workers.ncpu(): the processors a pool may use - online processors
-- narrowed by the affinity mask (checked against taskset and coreutils'
-- nproc, which read the kernel independently) and by a cgroup CPU quota
-- (cgroup_cpu_limit over cgroup v1 and v2 trees laid out as the kernel
-- lays them out; a real quota cannot be set in this sandbox).
local H = require "helper"
local workers = require "nv.workers"

local function sh(cmd)
  local f = assert(io.popen(cmd))
  local out = f:read("a")
  local ok = f:close()
  return ok, out
end

describe("nv.workers.ncpu", function()
  it("agrees with nproc and reports its parts", function()
    local n, d = workers.ncpu()
    -- nproc (OMP_* cleared) counts the affinity mask; newer coreutils also
    -- apply a cgroup quota, so ours (rounded up) is compared with both
    local _, nproc = sh("env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc")
    local _, online = sh("getconf _NPROCESSORS_ONLN")
    assert.equal(tonumber(online), d.online)
    local want = math.min(d.online, d.affinity)
    if d.quota > 0 and d.quota < want then want = d.quota end
    assert.equal(want, n)
    if d.quota == 0 then assert.equal(tonumber(nproc), n) end
    assert.is_true(d.affinity >= 1 and d.affinity <= d.online)
    assert.is_true(n >= 1 and n <= d.online)
  end)

  it("honours the affinity mask (taskset to one allowed CPU)", function()
    local first
    for line in io.lines("/proc/self/status") do
      first = first or line:match("^Cpus_allowed_list:%s*(%d+)")
    end
    assert.is_truthy(first, "Cpus_allowed_list in /proc/self/status")
    assert.is_true(os.execute("command -v taskset >/dev/null"), "taskset (util-linux) is needed")
    local ok, out = sh("taskset -c " .. first .. " " .. H.q(os.getenv("NVLUA_BIN")) ..
      " -e 'local n, d = require(\"nv.workers\").ncpu(); io.write(n, \" \", d.affinity)' 2>&1")
    assert.is_true(ok, out)
    assert.equal("1 1", out)
  end)

  describe("cgroup_cpu_limit", function()
    local dir
    before_each(function() dir = H.tmpdir() end)
    after_each(function() H.rmdir(dir) end)
    local function mk(rel, files)
      os.execute("mkdir -p " .. H.q(dir .. "/" .. rel))
      for name, text in pairs(files) do H.write(dir .. "/" .. rel .. "/" .. name, text .. "\n") end
    end

    it("reads cgroup v2 cpu.max, rounded up, the tightest on the path", function()
      H.write(dir .. "/self", "0::/kubepods/pod1/c1\n")
      mk("kubepods", { ["cpu.max"] = "400000 100000" })
      mk("kubepods/pod1", { ["cpu.max"] = "150000 100000" })
      mk("kubepods/pod1/c1", { ["cpu.max"] = "max 100000" })
      assert.equal(2, workers.cgroup_cpu_limit(dir, dir .. "/self"))
    end)

    it("reads v2 under the hybrid layout's unified mount", function()
      H.write(dir .. "/self", "1:cpu:/\n0::/job\n")
      mk("unified/job", { ["cpu.max"] = "50000 100000" })
      assert.equal(1, workers.cgroup_cpu_limit(dir, dir .. "/self"))
    end)

    it("reads cgroup v1 cfs quota and period; -1 is no limit", function()
      H.write(dir .. "/self", "4:memory:/x\n3:cpu,cpuacct:/docker/abc\n")
      mk("cpu,cpuacct/docker/abc", { ["cpu.cfs_quota_us"] = "300000", ["cpu.cfs_period_us"] = "100000" })
      assert.equal(3, workers.cgroup_cpu_limit(dir, dir .. "/self"))
      H.write(dir .. "/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n")
      assert.equal(0, workers.cgroup_cpu_limit(dir, dir .. "/self"))
    end)

    it("is 0 with no limit, no cpu controller or unreadable files", function()
      H.write(dir .. "/self", "0::/\n")
      mk("", { ["cpu.max"] = "max 100000" })
      assert.equal(0, workers.cgroup_cpu_limit(dir, dir .. "/self"))
      H.write(dir .. "/self2", "4:memory:/x\n")
      assert.equal(0, workers.cgroup_cpu_limit(dir, dir .. "/self2"))
      assert.equal(0, workers.cgroup_cpu_limit(dir, dir .. "/missing"))
      H.write(dir .. "/self3", "garbage without colons\n0::/q\n")
      mk("q", { ["cpu.max"] = "nonsense" })
      assert.equal(0, workers.cgroup_cpu_limit(dir, dir .. "/self3"))
    end)
  end)
end)
