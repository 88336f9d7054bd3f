-- bench/parquet_meta.lua FILE...: footer-only metadata (nv.parquet open +
-- metadata(), no page read) of each file, best of 50 in this process.
local pq = require "nv.parquet"
local sys = require "nv.sys"

for _, path in ipairs(arg) do
  local best, md = math.huge, nil
  for _ = 1, 50 do
    local t0 = sys.monotonic()
    local r = assert(pq.open(path))
    md = r:metadata()
    r:close()
    best = math.min(best, sys.monotonic() - t0)
  end
  io.write(string.format("footer in-process: %s: %.1f MB, %d rows, %d row groups, footer %d bytes: %.3f ms\n",
    path:match("[^/]+$"), md.file_size / 1e6, md.num_rows, md.row_groups, md.footer_length, best * 1000))
end
