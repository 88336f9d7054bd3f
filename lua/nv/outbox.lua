-- nv.outbox: the exactly-once queue in front of the platform API. A payload
-- is written to a file before any attempt to send it, under an
-- Idempotency-Key derived from what it holds (M.key), and removed only after
-- the platform answered 2xx and the ledger says so; what a run could not
-- send, a later run sends with the same key and the same bytes.
--
-- Layout of the outbox directory (0700; every file 0600, whatever the umask):
--   <stamp>-<seq>-<key>.json      pending: exactly the request body (JSON,
--                                 its payload_id is <key>)
--   <stamp>-<seq>-<key>.rejected  refused by the platform (4xx other than
--                                 408/429): the same bytes, kept for audit
--   <stamp>-<seq>-<key>.response  beside a .rejected: JSON {status_code,
--                                 response, rejected_at, url}
--   .<file>.<pid>.tmp             a write in progress by process <pid>; one
--                                 left by a dead process is completed on
--                                 open if it is a whole payload, else removed
--   .lock                         flock held by the run using the outbox
--                                 (its pid inside); others wait for it
--   ledger.tsv                    what the platform answered, one line per
--                                 source of each answered payload:
--                                 "delivered|rejected\t<key>\t<run_id>\t
--                                 <source_id>\t<index>\t<count>" (older
--                                 two-field lines "<run_id>\t<source_id>":
--                                 a source queued by an earlier version)
-- <stamp> is UTC `YYYYMMDDTHHMMSS.mmmZ`, <seq> a 6-digit counter within the
-- process, so names sort oldest first.
--
-- Protocol, each step durable before the next (file fsync, rename, directory
-- fsync): queue = write .tmp, rename to .json; deliver = POST, on 2xx append
-- to the ledger, then remove the .json. A key already pending, rejected or
-- delivered is never queued again, so the platform sees one body per key.
--
-- Test hook: NVLUA_TEST_KILL_AT=<step>[:<n>] makes the process SIGKILL
-- itself right after the n-th (default first) time it reaches <step> (see
-- M.STEPS). Inert unless that variable is set.
local sys = require "nv.sys"
local json = require "nv.json"

local M = {}

M.FILE_MODE, M.DIR_MODE = 384, 448 -- 0600, 0700

M.STEPS = {
  "queue.tmp_written", "queue.renamed", "queue.synced",
  "deliver.acknowledged", "deliver.recorded", "deliver.removed",
  "reject.response_written", "reject.renamed", "reject.recorded",
}

local PENDING = "^(%d%d%d%d%d%d%d%dT%d%d%d%d%d%d%.%d%d%dZ%-%d+%-(%x+))%.json$"
local REJECTED = "^(%d%d%d%d%d%d%d%dT%d%d%d%d%d%d%.%d%d%dZ%-%d+%-(%x+))%.rejected$"
local TMP = "^%.(.+)%.(%d+)%.tmp$"

--- The outbox directory for a configuration: cfg.outbox_dir, else
-- /dbfs/executor/outbox on Databricks, else ./outbox.
function M.default_dir(cfg)
  if cfg and cfg.outbox_dir and cfg.outbox_dir ~= "" then return cfg.outbox_dir end
  if os.getenv("DATABRICKS_RUNTIME_VERSION") then return "/dbfs/executor/outbox" end
  return "outbox"
end

--- A random Idempotency-Key (32 hex digits from the kernel CSPRNG).
function M.new_key()
  return sys.random_hex(16)
end

--- The Idempotency-Key of a payload: 32 hex digits of the SHA-256 of its
-- identity, a list of strings (workflow, source, run, chunk ...). The same
-- identity always gives the same key.
function M.key(identity)
  local objstore = require "nv.objstore"
  local parts = { "nvlua-payload-1" }
  for i, v in ipairs(identity) do parts[i + 1] = tostring(v) end
  return objstore.hex(objstore.sha256(table.concat(parts, "\0"))):sub(1, 32)
end

local function test_kill(self, step)
  local spec = os.getenv("NVLUA_TEST_KILL_AT")
  if not spec or spec == "" then return end
  local name, nth = spec:match("^([^:]+):?(%d*)$")
  if name ~= step then return end
  self.reached[step] = (self.reached[step] or 0) + 1
  if self.reached[step] ~= (tonumber(nth) or 1) then return end
  io.stderr:write("nvlua test hook NVLUA_TEST_KILL_AT: SIGKILL at " .. step .. "\n")
  io.stderr:flush()
  require("nv.proc").kill(sys.getpid(), "KILL")
  sys.sleep(60)
end

-- a directory fsync some file systems refuse (EINVAL, EOPNOTSUPP: the
-- errno is nv.sys's fourth value): the rename stands
local function sync_dir(dir)
  local ok, err, _, errno = sys.fsync_dir(dir)
  if ok or errno == 22 or errno == 95 then return true end
  return nil, err
end

local function field(v)
  return (tostring(v):gsub("[\t\r\n]", " "))
end

local Outbox = {}
Outbox.__index = Outbox

local function load_ledger(self)
  self.answered, self.sources = {}, {}
  local f = io.open(self.dir .. "/ledger.tsv", "rb")
  if not f then
    self.ledger_ends_line = true
    return
  end
  local text = f:read("a") or ""
  f:close()
  self.ledger_ends_line = text == "" or text:sub(-1) == "\n"
  local chunks = {}
  for line in text:gmatch("[^\n]+") do
    local state, key, run, src, index, count = line:match("^(%a+)\t(%x+)\t([^\t]*)\t([^\t]*)\t(%d+)\t(%d+)$")
    if state then
      self.answered[key] = state
      local id = M.ledger_id(run, src)
      local c = chunks[id] or { count = tonumber(count), seen = {}, n = 0 }
      chunks[id] = c
      if c.count == tonumber(count) and not c.seen[index] then c.seen[index], c.n = true, c.n + 1 end
      if c.n >= c.count then self.sources[id] = true end
    elseif line:match("^[^\t]+\t[^\t]+$") then
      self.sources[line] = true
    end
  end
end

-- a .tmp of a dead writer (or of an earlier process with our pid): completed
-- when it holds a whole payload whose key is not queued yet, else removed
local function recover(self, name, final, pid)
  if tonumber(pid) ~= sys.getpid() then
    local alive, _, kind = require("nv.proc").kill(tonumber(pid), 0)
    if alive or kind == "permission" then return end -- EPERM: alive, someone else's
  end
  local path = self.dir .. "/" .. name
  local base, key = final:match(PENDING)
  if base and not self.keys[key] and not self.answered[key] then
    local f = io.open(path, "rb")
    local body = f and f:read("a")
    if f then f:close() end
    local p = body and json.decode(body)
    if type(p) == "table" and p.payload_id == key then
      local ok = os.rename(path, self.dir .. "/" .. final)
      if ok then
        self.keys[key] = "pending"
        self.recovered[#self.recovered + 1] = final
        return
      end
    end
  end
  os.remove(path)
  self.cleaned[#self.cleaned + 1] = name
end

M.LOCK_TIMEOUT = 120

-- errnos of a file system without flock: the outbox works unlocked
local NO_FLOCK = { [22] = true, [37] = true, [38] = true, [95] = true }

--- Opens (creating, mode 0700) the outbox at dir for this process alone:
-- waits up to opts.lock_timeout seconds (default M.LOCK_TIMEOUT) for
-- another run to release it, then loads its ledger and recovers writes a
-- killed process left half done. Returns outbox (with .recovered and
-- .cleaned: the names completed or removed, .warnings; close() it, or let
-- <close> do it) or nil, message.
function M.open(dir, opts)
  assert(type(dir) == "string" and dir ~= "", "nv.outbox.open: directory expected")
  opts = opts or {}
  local ok, err = sys.mkdirs(dir)
  if not ok then return nil, "cannot create the outbox: " .. tostring(err) end
  local self = setmetatable({ dir = dir, seq = 0, reached = {}, keys = {}, recovered = {}, cleaned = {},
                              warnings = {} }, Outbox)
  local cok, cerr = sys.chmod(dir, M.DIR_MODE)
  if not cok then self.warnings[#self.warnings + 1] = "cannot make the outbox private: " .. tostring(cerr) end
  local lock, lerr0, kind, errno = sys.lock(dir .. "/.lock", tonumber(opts.lock_timeout) or M.LOCK_TIMEOUT)
  if lock then
    self.lock = lock
  elseif kind == "busy" then
    return nil, string.format("the outbox %s is in use by another run (pid %s); try again when it ends", dir,
      tostring(sys.lock_holder(dir .. "/.lock") or "unknown"))
  elseif NO_FLOCK[errno] then
    self.warnings[#self.warnings + 1] = "the outbox cannot be locked, runs sharing it must not overlap: " .. tostring(lerr0)
  else
    return nil, "cannot lock the outbox: " .. tostring(lerr0)
  end
  load_ledger(self)
  local names, lerr = sys.listdir(dir)
  if not names then return nil, "cannot list the outbox: " .. tostring(lerr) end
  table.sort(names)
  local tmps, responses = {}, {}
  for _, n in ipairs(names) do
    local rkey = n:match("^%d%d%d%d%d%d%d%dT%d%d%d%d%d%d%.%d%d%dZ%-%d+%-(%x+)%.response$")
    if rkey then responses[#responses + 1] = { n, rkey } end
    local _, key = n:match(PENDING)
    if key then self.keys[key] = "pending" end
    _, key = n:match(REJECTED)
    if key then self.keys[key] = "rejected" end
    local final, pid = n:match(TMP)
    if final then tmps[#tmps + 1] = { n, final, pid } end
  end
  for _, t in ipairs(tmps) do recover(self, t[1], t[2], t[3]) end
  for _, r in ipairs(responses) do
    if self.keys[r[2]] ~= "rejected" then -- its rename to .rejected never happened
      os.remove(dir .. "/" .. r[1])
      self.cleaned[#self.cleaned + 1] = r[1]
    end
  end
  if #self.recovered + #self.cleaned > 0 then
    local sok, serr = sync_dir(dir)
    if not sok then return nil, serr end
  end
  return self
end

--- Releases the outbox (its lock); idempotent.
function Outbox:close()
  if self.lock then
    self.lock:close()
    self.lock = nil
  end
end
Outbox.__close = Outbox.close

--- The set of ledger ids ("<run_id>\t<source_id>") whose every chunk the
-- platform answered, read from the outbox at dir without opening it (empty
-- when there is none).
function M.answered_sources(dir)
  local peek = { dir = dir }
  load_ledger(peek)
  return peek.sources
end

--- Where a key stands: "pending", "rejected", "delivered" or nil (unknown).
function Outbox:status(key)
  return self.keys[key] or self.answered[key]
end

--- True when the ledger records key as delivered.
function Outbox:was_delivered(key)
  return self.answered[key] == "delivered"
end

-- write .tmp (fsynced), rename into place, fsync the directory; step: the
-- test hook's prefix (nil: none)
local function write_file(self, name, text, step)
  local tmp = string.format("%s/.%s.%d.tmp", self.dir, name, sys.getpid())
  local ok, err = sys.write_new(tmp, text, M.FILE_MODE)
  if not ok then return nil, err end
  if step then test_kill(self, step .. ".tmp_written") end
  local rok, rerr = os.rename(tmp, self.dir .. "/" .. name)
  if not rok then
    os.remove(tmp)
    return nil, rerr
  end
  if step then test_kill(self, step .. ".renamed") end
  return sync_dir(self.dir)
end

local function stamp()
  local now = sys.now()
  local secs = math.floor(now)
  local ms = math.min(999, math.floor((now - secs) * 1000))
  return os.date("!%Y%m%dT%H%M%S", secs) .. string.format(".%03dZ", ms)
end

--- Queues a request body under key (default: a new random one) unless that
-- key is pending, rejected or delivered already. Returns entry {name, key,
-- path, existing = nil | "pending" | "rejected" | "delivered"} or nil, message.
function Outbox:put(body, key)
  assert(type(body) == "string", "nv.outbox: body must be a string")
  key = key or M.new_key()
  assert(key:match("^%x+$"), "nv.outbox: key must be hex digits")
  local existing = self:status(key)
  if existing then return { key = key, existing = existing } end
  self.seq = self.seq + 1
  local base = string.format("%s-%06d-%s", stamp(), self.seq, key)
  local ok, err = write_file(self, base .. ".json", body, "queue")
  if not ok then return nil, "cannot queue payload in " .. self.dir .. ": " .. tostring(err) end
  self.keys[key] = "pending"
  test_kill(self, "queue.synced")
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

-- removes a file (gone already counts as removed) and syncs the directory
local function remove(self, path)
  local ok, err = os.remove(path)
  if not ok and io.open(path, "rb") then return nil, err end
  return sync_dir(self.dir)
end

-- appends the ledger lines of an answered entry (its body names the sources)
local function record(self, state, entry, body)
  local p = json.decode(body or "")
  local chunk = type(p) == "table" and p.chunk or {}
  local lines = {}
  local sources = type(p) == "table" and p.metadata and p.metadata.sources or {}
  for _, src in ipairs(type(sources) == "table" and sources or {}) do
    lines[#lines + 1] = table.concat({ state, entry.key, field(src.run_id), field(src.source_id),
      math.tointeger(chunk.index) or 1, math.tointeger(chunk.count) or 1 }, "\t")
  end
  if #lines == 0 then lines[1] = table.concat({ state, entry.key, "", "", 1, 1 }, "\t") end
  local text = table.concat(lines, "\n") .. "\n"
  if not self.ledger_ends_line then text = "\n" .. text end -- after a torn line
  local ok, err = sys.append_sync(self.dir .. "/ledger.tsv", text, M.FILE_MODE)
  if not ok then return nil, "cannot update the outbox ledger: " .. tostring(err) end
  self.ledger_ends_line, self.answered[entry.key] = true, state
  return true
end

--- After the platform acknowledged entry (2xx): records it delivered in the
-- ledger, then removes it. body: the bytes sent (for the ledger's source
-- ids). Returns true or nil, message (the entry then stays pending and is
-- sent again, under the same key, by a later run).
function Outbox:delivered(entry, body)
  test_kill(self, "deliver.acknowledged")
  local ok, err = record(self, "delivered", entry, body)
  if not ok then return nil, err end
  test_kill(self, "deliver.recorded")
  self.keys[entry.key] = nil
  ok, err = remove(self, entry.path)
  if not ok then return nil, err end
  test_kill(self, "deliver.removed")
  return true
end

--- Removes a pending entry the ledger already records as delivered (a run
-- was killed between the two). Returns true or nil, message.
function Outbox:remove(entry)
  self.keys[entry.key] = nil
  return remove(self, entry.path)
end

--- Marks an entry rejected: saves the platform's answer beside it, renames
-- it to .rejected and records it in the ledger. info = {status_code,
-- response, url}; encode(value) -> JSON text.
function Outbox:reject(entry, info, encode, body)
  local meta = encode({ status_code = info.status_code, response = info.response, url = info.url,
                        rejected_at = os.date("!%Y-%m-%dT%H:%M:%SZ") })
  local ok, err = write_file(self, entry.name .. ".response", meta)
  if not ok then return nil, err end
  test_kill(self, "reject.response_written")
  local rok, rerr = os.rename(entry.path, self.dir .. "/" .. entry.name .. ".rejected")
  if not rok then return nil, rerr end
  self.keys[entry.key] = "rejected"
  ok, err = sync_dir(self.dir)
  if not ok then return nil, err end
  test_kill(self, "reject.renamed")
  ok, err = record(self, "rejected", entry, body)
  if not ok then return nil, err end
  test_kill(self, "reject.recorded")
  return true
end

--- The set of ledger ids ("<run_id>\t<source_id>") whose every chunk the
-- platform answered (or that an earlier version queued).
function Outbox:ledger()
  return self.sources
end

function M.ledger_id(run_id, source_id)
  return field(run_id) .. "\t" .. field(source_id)
end

return M
