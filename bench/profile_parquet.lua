-- bench/profile_parquet.lua FILE: profiles one Parquet file with every
-- statistic (nv.parquet -> nv.profile) and prints throughput (of the file's
-- bytes on disk), rows per second and peak RSS.
local pq = require "nv.parquet"
local profile = require "nv.profile"
local sys = require "nv.sys"

local path = assert(arg[1], "usage: nvlua bench/profile_parquet.lua FILE.parquet")
local size = assert(sys.stat(path)).size
local t0 = sys.monotonic()
local r = assert(pq.open(path))
local p = profile.new()
local stats = assert(r:profile_into(p))
local res = p:result()
local dt = sys.monotonic() - t0
r:close()
local hwm
for line in io.lines("/proc/self/status") do
  hwm = hwm or line:match("^VmHWM:%s+(%d+) kB")
end
io.write(string.format("nvlua: %d rows, %d columns, %.1f MB in %.2f s = %.1f MB/s, %.2f M rows/s, peak RSS %.1f MiB\n",
  stats.rows, #res.columns, size / 1e6, dt, size / 1e6 / dt, stats.rows / 1e6 / dt, tonumber(hwm) / 1024))
