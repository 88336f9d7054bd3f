-- bench/profile_csv.lua FILE: profiles one CSV file with every statistic
-- (nv.csv -> nv.profile) and prints throughput and peak RSS.
local csv = require "nv.csv"
local profile = require "nv.profile"
local sys = require "nv.sys"

local path = assert(arg[1], "usage: nvlua bench/profile_csv.lua FILE.csv")
local size = assert(sys.stat(path)).size
local t0 = sys.monotonic()
local r = assert(csv.open(path))
local p = profile.new()
local stats = assert(r:profile_into(p))
local res = p:result()
local dt = sys.monotonic() - t0
r:close()
local hwm
for line in io.lines("/proc/self/status") do
  hwm = hwm or line:match("^VmHWM:%s+(%d+) kB")
end
io.write(string.format("nvlua: %d rows, %d columns, %.1f MB in %.2f s = %.1f MB/s, peak RSS %.1f MiB\n",
  stats.rows, #res.columns, size / 1e6, dt, size / 1e6 / dt, tonumber(hwm) / 1024))
