-- nv.progress: the extraction's progress line on stderr (files, MB, MB/s),
-- shown only when stderr is a terminal.
local sys = require "nv.sys"

local M = {}

local Progress = {}
Progress.__index = Progress

--- A progress line over total_files files of total_bytes bytes.
function M.new(total_files, total_bytes)
  return setmetatable({ on = sys.isatty(2), files = 0, total = total_files, bytes = 0,
                        total_bytes = total_bytes, t0 = sys.monotonic() }, Progress)
end

function Progress:show(bytes)
  local dt = math.max(sys.monotonic() - self.t0, 1e-6)
  io.stderr:write(string.format("\r%d/%d files, %.1f/%.1f MB, %.1f MB/s ", self.files, self.total,
    bytes / 1e6, self.total_bytes / 1e6, bytes / 1e6 / dt))
end

function Progress:step(bytes)
  self.files, self.bytes = self.files + 1, self.bytes + (bytes or 0)
  if not self.on then return end
  self:show(self.bytes)
  if self.files == self.total then io.stderr:write("\n") end
end

-- within a large file: `within` bytes of it read so far
function Progress:within(within)
  if self.on then self:show(self.bytes + within) end
end

return M
