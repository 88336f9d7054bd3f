-- nv.outbox: the no-loss queue in front of the platform API. A payload is
-- written to a file before any attempt to send it and removed only after
-- the platform answered 2xx; what a run could not send, a later run sends.
--
-- Layout of the outbox directory (one file per payload):
--   <stamp>-<seq>-<key>.json      pending: exactly the request body (JSON)
--   <stamp>-<seq>-<key>.rejected  refused by the platform (4xx other than
--                                 408/429): the same bytes, kept for audit
--   <stamp>-<seq>-<key>.response  beside a .rejected: JSON {status_code,
--                                 response, rejected_at, url}
--   .<name>.tmp                   a write in progress (ignored; renamed
--                                 into place when complete)
--   ledger.tsv                    one line "<run_id>\t<source_id>" per
--                                 source ever queued here, so stored
--                                 metadata is queued once, not per run
-- <stamp> is UTC `YYYYMMDDTHHMMSS.mmmZ`, <seq> a 6-digit counter within the
-- process, <key> the payload's Idempotency-Key (32 hex digits), so names
-- sort oldest first and a resend carries the same key.
local sys = require "nv.sys"

local M = {}

local PENDING = "^(%d%d%d%d%d%d%d%dT%d%d%d%d%d%d%.%d%d%dZ%-%d+%-(%x+))%.json$"
local REJECTED = "^(%d%d%d%d%d%d%d%dT%d%d%d%d%d%d%.%d%d%dZ%-%d+%-(%x+))%.rejected$"

--- The outbox directory for a configuration: cfg.outbox_dir, else
-- /dbfs/executor/outbox on Databricks, else ./outbox.
function M.default_dir(cfg)
  if cfg and cfg.outbox_dir and cfg.outbox_dir ~= "" then return cfg.outbox_dir end
  if os.getenv("DATABRICKS_RUNTIME_VERSION") then return "/dbfs/executor/outbox" end
  return "outbox"
end

--- A new Idempotency-Key: 32 hex digits from the kernel CSPRNG.
function M.new_key()
  return sys.random_hex(16)
end

local Outbox = {}
Outbox.__index = Outbox

--- Opens (creating) the outbox at dir. Returns outbox or nil, message.
function M.open(dir)
  assert(type(dir) == "string" and dir ~= "", "nv.outbox.open: directory expected")
  local ok, err = sys.mkdirs(dir)
  if not ok then return nil, "cannot create the outbox: " .. tostring(err) end
  return setmetatable({ dir = dir, seq = 0 }, Outbox)
end

local function write_atomic(dir, name, text)
  local tmp = dir .. "/." .. name .. ".tmp"
  local f, err = io.open(tmp, "wb")
  if not f then return nil, err end
  local ok, werr = f:write(text)
  local cok, cerr = f:close()
  if not ok or not cok then
    os.remove(tmp)
    return nil, "cannot write " .. tmp .. ": " .. tostring(werr or cerr)
  end
  local rok, rerr = os.rename(tmp, dir .. "/" .. name)
  if not rok then
    os.remove(tmp)
    return nil, rerr
  end
  return true
end

local function stamp()
  local now = sys.now()
  local secs = math.floor(now)
  local ms = math.min(999, math.floor((now - secs) * 1000))
  return os.date("!%Y%m%dT%H%M%S", secs) .. string.format(".%03dZ", ms)
end

--- Queues a request body under key (default: a new one).
-- Returns entry {name, key, path} or nil, message.
function Outbox:put(body, key)
  assert(type(body) == "string", "nv.outbox: body must be a string")
  key = key or M.new_key()
  assert(key:match("^%x+$"), "nv.outbox: key must be hex digits")
  self.seq = self.seq + 1
  local base = string.format("%s-%06d-%s", stamp(), self.seq, key)
  local ok, err = write_atomic(self.dir, base .. ".json", body)
  if not ok then return nil, "cannot queue payload in " .. self.dir .. ": " .. tostring(err) end
  return { name = base, key = key, path = self.dir .. "/" .. base .. ".json" }
end

local function list(self, pattern, suffix)
  local names, err = sys.listdir(self.dir)
  if not names then return nil, err end
  table.sort(names)
  local out = {}
  for _, n in ipairs(names) do
    local base, key = n:match(pattern)
    if base then out[#out + 1] = { name = base, key = key, path = self.dir .. "/" .. base .. suffix } end
  end
  return out
end

--- Pending entries, oldest first. Returns list or nil, message.
function Outbox:pending()
  return list(self, PENDING, ".json")
end

--- Rejected entries, oldest first.
function Outbox:rejected()
  return list(self, REJECTED, ".rejected")
end

--- The request body of an entry, or nil, message.
function Outbox:read(entry)
  local f, err = io.open(entry.path, "rb")
  if not f then return nil, err end
  local s = f:read("a")
  f:close()
  return s
end

--- Removes a sent entry (gone already counts as removed).
function Outbox:remove(entry)
  local ok, err = os.remove(entry.path)
  if not ok and io.open(entry.path, "rb") then return nil, err end
  return true
end

--- Marks an entry rejected: renames it to .rejected and saves the
-- platform's answer beside it. info = {status_code, response, url}.
function Outbox:reject(entry, info, encode)
  local meta = encode({ status_code = info.status_code, response = info.response, url = info.url,
                        rejected_at = os.date("!%Y-%m-%dT%H:%M:%SZ") })
  local ok, err = write_atomic(self.dir, entry.name .. ".response", meta)
  if not ok then return nil, err end
  local rok, rerr = os.rename(entry.path, self.dir .. "/" .. entry.name .. ".rejected")
  if not rok then return nil, rerr end
  return true
end

--- The set of ledger ids ("<run_id>\t<source_id>") queued so far.
function Outbox:ledger()
  local set = {}
  local f = io.open(self.dir .. "/ledger.tsv", "rb")
  if not f then return set end
  for line in f:lines() do
    if line ~= "" then set[line] = true end
  end
  f:close()
  return set
end

--- Appends ids to the ledger. Returns true or nil, message.
function Outbox:record(ids)
  if #ids == 0 then return true end
  local path = self.dir .. "/ledger.tsv"
  local f, err = io.open(path, "ab")
  if not f then return nil, err end
  local ok, werr = f:write(table.concat(ids, "\n"), "\n")
  local cok, cerr = f:close()
  if not ok or not cok then return nil, "cannot write " .. path .. ": " .. tostring(werr or cerr) end
  return true
end

function M.ledger_id(run_id, source_id)
  return tostring(run_id) .. "\t" .. tostring(source_id)
end

return M
