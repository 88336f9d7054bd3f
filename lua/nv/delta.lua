-- nv.delta: Delta Lake tables in a file source. A directory holding
-- `_delta_log/` is ONE table whose data files are the ones its log says are
-- live: the JSON commits (one action per line: add, remove, metaData,
-- protocol, …) replayed in version order — on top of the newest checkpoint
-- when the commits before it have been cleaned up. Data files the log does
-- not name (removed but not vacuumed, left by failed writes) are ignored.
--
--   delta.log_local(dir)            -> log of a _delta_log directory on disk
--   delta.log_remote(o)             -> log of listed objects (nv.remote)
--     o = {where = display URL of the _delta_log, names = {child names},
--          fetch = function(name, max_bytes) -> local path | nil, msg}
--   delta.is_log(names)             -> whether names hold a commit/checkpoint
--   delta.snapshot(log)             -> snap | nil, message naming the log
--     snap = {version, live = {path -> add}, nlive, removed = {path -> true},
--             metadata = {id, name, description, provider, partition_columns,
--             configuration, fields}, protocol = {min_reader, min_writer,
--             reader_features}, checkpoint = {version, read, parts} | nil,
--             commits_read, warnings = {…}}
--   delta.local_roots(root, files)  -> {prefix, …} ("" = the root itself)
--   delta.load_local(root, files)   -> {[prefix] = snap | {error = msg}}
--   delta.roots_of(rels)            -> {prefix, …} of keys with a _delta_log
--   delta.claim(roots, rel)         -> prefix, rel inside the table | nil
--   delta.group(files, root, deltas, group) -> tables
--     deltas = {[prefix] = snap | {error = msg}}; files under a Delta root
--     become that table (live files only, partition values from the log,
--     column_names = {physical -> logical} under column mapping); the
--     others go through group (nv.filesource.group).
local json = require "nv.json"
local sys = require "nv.sys"

local M = {}

M.LOG = "_delta_log"
M.max_commit_bytes = 256 * 1024 * 1024     -- one commit file
M.max_checkpoint_bytes = 1024 * 1024 * 1024 -- one checkpoint part
M.max_checkpoint_actions = 100000          -- rows read per checkpoint part

-- reader features whose absence of support changes what is live or how
-- columns are named; the others only matter to writers
local handled_features = { columnMapping = true, deletionVectors = true, timestampNtz = true,
                           v2Checkpoint = true, vacuumProtocolCheck = true, appendOnly = true,
                           invariants = true, checkConstraints = true, changeDataFeed = true,
                           generatedColumns = true, identityColumns = true, typeWidening = true,
                           ["typeWidening-preview"] = true, domainMetadata = true, rowTracking = true,
                           inCommitTimestamp = true, icebergCompatV1 = true, icebergCompatV2 = true }

local function basename(path)
  return path:match("([^/]+)/*$") or path
end

--- Percent-decodes a Delta path (add.path is a URI reference).
function M.unescape(p)
  return (p:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- ---- logs ------------------------------------------------------------------

--- A _delta_log directory on disk.
function M.log_local(dir)
  local names, err = sys.listdir(dir)
  if not names then return nil, err end
  table.sort(names)
  return {
    where = dir,
    names = names,
    fetch = function(name, max_bytes)
      local path = dir .. "/" .. name
      local st, serr = sys.stat(path)
      if not st then return nil, serr end
      if st.size > max_bytes then
        return nil, string.format("%s: %d bytes, more than the %d read", path, st.size, max_bytes)
      end
      return path
    end,
  }
end

--- Listed objects of a _delta_log prefix (see the header).
function M.log_remote(o)
  local names = {}
  for i, n in ipairs(o.names) do names[i] = n end
  table.sort(names)
  return { where = o.where, names = names, fetch = o.fetch, remote = true }
end

-- ---- replay ------------------------------------------------------------------

local function parse_schema(text, warnings)
  if type(text) ~= "string" then return nil end
  local s = json.decode(text)
  if type(s) ~= "table" or type(s.fields) ~= "table" then
    warnings[#warnings + 1] = "metaData.schemaString is not a Delta schema"
    return nil
  end
  local fields = {}
  for _, f in ipairs(s.fields) do
    if type(f) == "table" and type(f.name) == "string" then
      local md = type(f.metadata) == "table" and f.metadata or {}
      local phys = md["delta.columnMapping.physicalName"]
      fields[#fields + 1] = { name = f.name, type = type(f.type) == "string" and f.type or "struct",
                              nullable = f.nullable ~= false,
                              physical_name = type(phys) == "string" and phys or nil }
    end
  end
  return fields
end

local function strings(list)
  local out = json.array()
  if type(list) ~= "table" then return out end
  for _, v in ipairs(list) do
    if type(v) == "string" then out[#out + 1] = v end
  end
  return out
end

local function set_metadata(snap, m)
  local fmt = type(m.format) == "table" and m.format or {}
  snap.metadata = {
    id = type(m.id) == "string" and m.id or nil,
    name = type(m.name) == "string" and m.name or nil,
    description = type(m.description) == "string" and m.description or nil,
    provider = type(fmt.provider) == "string" and fmt.provider or "parquet",
    partition_columns = strings(m.partitionColumns),
    configuration = type(m.configuration) == "table" and m.configuration or nil,
    fields = parse_schema(m.schemaString, snap.warnings),
  }
end

local function set_protocol(snap, p)
  snap.protocol = { min_reader = math.tointeger(p.minReaderVersion), min_writer = math.tointeger(p.minWriterVersion),
                    reader_features = strings(p.readerFeatures) }
end

-- add/remove: path -> live entry or tombstone
local function apply_add(snap, a)
  local path = M.unescape(a.path)
  local dv = type(a.deletionVector) == "table" and a.deletionVector or nil
  local pv = {}
  if type(a.partitionValues) == "table" then
    for k, v in pairs(a.partitionValues) do
      if type(k) == "string" and type(v) == "string" then pv[k] = v end
    end
  end
  if not snap.live[path] then snap.nlive = snap.nlive + 1 end
  snap.live[path] = { size = math.tointeger(a.size), modification_time = math.tointeger(a.modificationTime),
                      partition_values = pv, stats = type(a.stats) == "string" and a.stats or nil,
                      deleted_rows = dv and math.tointeger(dv.cardinality) or nil }
  snap.removed[path] = nil
end

local function apply_remove(snap, path)
  path = M.unescape(path)
  if snap.live[path] then
    snap.live[path] = nil
    snap.nlive = snap.nlive - 1
  end
  snap.removed[path] = true
end

-- Applies one decoded action. Returns true | nil, why.
local function apply(snap, action)
  if type(action) ~= "table" or action[1] ~= nil then return nil, "not a JSON object" end
  if action.add ~= nil then
    if type(action.add) ~= "table" or type(action.add.path) ~= "string" then return nil, "add action without a path" end
    apply_add(snap, action.add)
  elseif action.remove ~= nil then
    if type(action.remove) ~= "table" or type(action.remove.path) ~= "string" then
      return nil, "remove action without a path"
    end
    apply_remove(snap, action.remove.path)
  elseif action.metaData ~= nil then
    if type(action.metaData) ~= "table" then return nil, "metaData action is not an object" end
    set_metadata(snap, action.metaData)
  elseif action.protocol ~= nil then
    if type(action.protocol) ~= "table" then return nil, "protocol action is not an object" end
    set_protocol(snap, action.protocol)
  end
  -- commitInfo, txn, cdc, domainMetadata, checkpointMetadata: nothing to replay
  return true
end

local function replay_commit(snap, log, name)
  local path, err = log.fetch(name, M.max_commit_bytes)
  if not path then return nil, err end
  local f, oerr = io.open(path, "rb")
  if not f then return nil, log.where .. "/" .. name .. ": " .. tostring(oerr) end
  local n = 0
  for line in f:lines() do
    n = n + 1
    if line:find("%S") then
      local action, derr = json.decode(line)
      local ok, why = false, derr
      if action ~= nil then ok, why = apply(snap, action) end
      if not ok then
        f:close()
        return nil, string.format("%s/%s: line %d: %s", log.where, name,
          n, action == nil and ("malformed JSON (" .. tostring(why) .. ")") or why)
      end
    end
  end
  f:close()
  snap.commits_read = snap.commits_read + 1
  return true
end

-- A leaf of the checkpoint's schema whose dotted name matches pattern.
local function leaf(columns, pattern)
  for _, c in ipairs(columns) do
    if c.name:match(pattern) then return c.name end
  end
  return nil
end

-- Reads one checkpoint part (Parquet) with nv.parquet: its add, remove,
-- metaData and protocol rows.
local function replay_checkpoint_part(snap, log, name)
  local path, err = log.fetch(name, M.max_checkpoint_bytes)
  if not path then return nil, err end
  local where = log.where .. "/" .. name
  local r, perr = require("nv.parquet").open(path)
  if not r then return nil, where .. ": " .. tostring(perr):gsub("^.-: ", "") end
  local md = r:metadata()
  if md.num_rows > M.max_checkpoint_actions then
    r:close()
    return nil, string.format("%s: %d actions, more than the %d read from one checkpoint part", where, md.num_rows,
      M.max_checkpoint_actions)
  end
  local cols = md.columns
  local c = {
    add = leaf(cols, "^add%.path$"), size = leaf(cols, "^add%.size$"), mtime = leaf(cols, "^add%.modificationTime$"),
    pv_key = leaf(cols, "^add%.partitionValues%.[^.]+%.key$"), pv_value = leaf(cols, "^add%.partitionValues%.[^.]+%.value$"),
    stats = leaf(cols, "^add%.stats$"), dv = leaf(cols, "^add%.deletionVector%.cardinality$"),
    remove = leaf(cols, "^remove%.path$"),
    meta_id = leaf(cols, "^metaData%.id$"), meta_name = leaf(cols, "^metaData%.name$"),
    meta_schema = leaf(cols, "^metaData%.schemaString$"), meta_provider = leaf(cols, "^metaData%.format%.provider$"),
    meta_parts = leaf(cols, "^metaData%.partitionColumns%."),
    min_reader = leaf(cols, "^protocol%.minReaderVersion$"), min_writer = leaf(cols, "^protocol%.minWriterVersion$"),
    features = leaf(cols, "^protocol%.readerFeatures%."),
  }
  if not c.add and not c.remove and not c.meta_schema then
    r:close()
    return nil, where .. ": not a Delta checkpoint (no add, remove or metaData columns)"
  end
  local it, rerr = r:rows(M.max_checkpoint_actions)
  if not it then
    r:close()
    return nil, where .. ": " .. tostring(rerr):gsub("^.-: ", "")
  end
  for row in it do
    if c.add and row[c.add] then
      local pv = {}
      local keys, values = c.pv_key and row[c.pv_key], c.pv_value and row[c.pv_value]
      if type(keys) == "table" and type(values) == "table" then
        for i, k in ipairs(keys) do pv[k] = values[i] end
      end
      apply_add(snap, { path = row[c.add], size = c.size and row[c.size], modificationTime = c.mtime and row[c.mtime],
                        partitionValues = pv, stats = c.stats and row[c.stats],
                        deletionVector = c.dv and row[c.dv] and { cardinality = row[c.dv] } or nil })
    elseif c.remove and row[c.remove] then
      apply_remove(snap, row[c.remove])
    elseif c.meta_schema and row[c.meta_schema] then
      local parts = c.meta_parts and row[c.meta_parts]
      set_metadata(snap, { id = c.meta_id and row[c.meta_id], name = c.meta_name and row[c.meta_name],
                           schemaString = row[c.meta_schema], partitionColumns = type(parts) == "table" and parts or {},
                           format = { provider = c.meta_provider and row[c.meta_provider] } })
    elseif c.min_reader and row[c.min_reader] then
      local feats = c.features and row[c.features]
      set_protocol(snap, { minReaderVersion = row[c.min_reader], minWriterVersion = c.min_writer and row[c.min_writer],
                           readerFeatures = type(feats) == "table" and feats or nil })
    end
  end
  r:close()
  return true
end

-- The log's files by kind: commits[v] = name, checkpoints[v] = {names…}
-- (complete multi-part sets only), v2[v] = name (not read).
-- Versions are 20 digits in every Delta writer's file names.
local V = ("%d"):rep(20)

local function scan(names)
  local commits, checkpoints, parts, v2 = {}, {}, {}, {}
  local last
  for _, name in ipairs(names) do
    local v = name:match("^(" .. V .. ")%.json$")
    if v then commits[tonumber(v)] = name end
    v = name:match("^(" .. V .. ")%.checkpoint%.parquet$")
    if v then checkpoints[tonumber(v)] = { name } end
    local pv, part, total = name:match("^(" .. V .. ")%.checkpoint%.(%d+)%.(%d+)%.parquet$")
    if pv then
      local key = tonumber(pv) .. "/" .. tonumber(total)
      parts[key] = parts[key] or { version = tonumber(pv), total = tonumber(total), names = {} }
      parts[key].names[tonumber(part)] = name
    end
    v = name:match("^(" .. V .. ")%.checkpoint%.[%x%-]+%.%a+$")
    if v then v2[tonumber(v)] = name end
    if name == "_last_checkpoint" then last = name end
  end
  for _, p in pairs(parts) do
    local list = {}
    for i = 1, p.total do list[i] = p.names[i] end
    if #list == p.total and not checkpoints[p.version] then checkpoints[p.version] = list end
  end
  return commits, checkpoints, v2, last
end

--- Whether a _delta_log's file names hold a commit or a checkpoint (a
-- directory of that name without them is not taken for a Delta table).
function M.is_log(names)
  for _, name in ipairs(names) do
    if name:match("^" .. V .. "%.") then return true end
  end
  return false
end

local function versions(t)
  local out = {}
  for v in pairs(t) do out[#out + 1] = v end
  table.sort(out)
  return out
end

local function new_snapshot()
  return { live = {}, nlive = 0, removed = {}, commits_read = 0, warnings = {} }
end

--- Replays a log (see the header). A malformed commit, a gap in the
-- versions that no checkpoint covers or a log without metaData is an error
-- naming the log file and the cause.
function M.snapshot(log)
  local commits, checkpoints, v2 = scan(log.names)
  local cv, kv = versions(commits), versions(checkpoints)
  local latest = cv[#cv]
  if kv[#kv] and (not latest or kv[#kv] > latest) then latest = kv[#kv] end
  if not latest then
    if next(v2) then return nil, log.where .. ": only V2 checkpoints (v2Checkpoint), which are not read" end
    return nil, log.where .. ": no commits (an empty transaction log)"
  end
  -- the commits after version `from` that replay needs must all be there
  local function gap_after(from)
    for v = from + 1, latest do
      if not commits[v] then return v end
    end
    return nil
  end
  local snap = new_snapshot()
  snap.version = latest
  local start = -1
  local first_gap = gap_after(-1)
  if first_gap then
    -- commits were cleaned up: start from the newest checkpoint that the
    -- remaining commits continue
    local base
    for i = #kv, 1, -1 do
      if not gap_after(kv[i]) then base = kv[i] break end
    end
    if not base then
      local why = string.format("%s: commit %d is missing and no checkpoint covers it", log.where, first_gap)
      if next(v2) then why = why .. " (V2 checkpoints are not read)" end
      return nil, why
    end
    snap.checkpoint = { version = base, parts = #checkpoints[base], read = false }
    for _, name in ipairs(checkpoints[base]) do
      local ok, err = replay_checkpoint_part(snap, log, name)
      if not ok then
        return nil, string.format("%s (commits before version %d are gone, so the checkpoint is needed)", err, base)
      end
    end
    snap.checkpoint.read = true
    start = base
  elseif kv[#kv] then
    -- every commit is there: replaying them all is exact; the checkpoint is
    -- not needed
    snap.checkpoint = { version = kv[#kv], parts = #checkpoints[kv[#kv]], read = false }
  end
  for v = start + 1, latest do
    local ok, err = replay_commit(snap, log, commits[v])
    if not ok then return nil, err end
  end
  if not snap.metadata then return nil, log.where .. ": no metaData action in the log" end
  local p = snap.protocol
  if p and p.min_reader and p.min_reader > 3 then
    snap.warnings[#snap.warnings + 1] = string.format("reader protocol version %d is newer than 3", p.min_reader)
  end
  for _, feat in ipairs(p and p.reader_features or {}) do
    if not handled_features[feat] then
      snap.warnings[#snap.warnings + 1] = string.format("reader feature %s is not understood; files may be misread", feat)
    end
  end
  return snap
end

-- ---- where tables are --------------------------------------------------------

local function dirname(rel)
  return rel:match("^(.*)/[^/]*$") or ""
end

local function under(rel, prefix)
  return prefix == "" or rel:sub(1, #prefix + 1) == prefix .. "/"
end

--- Directories of a local listing (and the root) that hold a _delta_log.
function M.local_roots(root, files)
  local dirs, seen = { "" }, { [""] = true }
  for _, f in ipairs(files) do
    local d = dirname(f.rel)
    while d ~= "" and not seen[d] do
      seen[d] = true
      dirs[#dirs + 1] = d
      d = dirname(d)
    end
  end
  table.sort(dirs, function(a, b) return #a < #b or (#a == #b and a < b) end)
  local roots = {}
  for _, d in ipairs(dirs) do
    local inside = false
    for _, r in ipairs(roots) do
      if under(d, r) then inside = true break end
    end
    if not inside then
      local st = sys.stat(root .. (d ~= "" and ("/" .. d) or "") .. "/" .. M.LOG)
      if st and st.type == "directory" then roots[#roots + 1] = d end
    end
  end
  return roots
end

--- The Delta tables of a local listing: {[prefix] = snap | {error = msg}}.
function M.load_local(root, files)
  local out = {}
  for _, p in ipairs(M.local_roots(root, files)) do
    local log, err = M.log_local(root .. (p ~= "" and ("/" .. p) or "") .. "/" .. M.LOG)
    if not log then
      out[p] = { error = err }
    elseif M.is_log(log.names) then
      local snap, serr = M.snapshot(log)
      out[p] = snap or { error = serr }
    end
  end
  return out
end

--- Table prefixes of listed keys (rels) that have a _delta_log child.
function M.roots_of(rels)
  local roots, seen = {}, {}
  for _, rel in ipairs(rels) do
    local p = rel:match("^(.-)/?" .. M.LOG .. "/[^/]+$")
    if p and not seen[p] and not p:find(M.LOG, 1, true) then
      seen[p] = true
      roots[#roots + 1] = p
    end
  end
  table.sort(roots, function(a, b) return #a < #b or (#a == #b and a < b) end)
  -- an outer table wins over one nested in it
  local out = {}
  for _, p in ipairs(roots) do
    local inside = false
    for _, r in ipairs(out) do
      if under(p, r) then inside = true break end
    end
    if not inside then out[#out + 1] = p end
  end
  return out
end

--- The Delta table a listed path belongs to: prefix, path inside | nil.
function M.claim(roots, rel)
  for i = #roots, 1, -1 do
    local p = roots[i]
    if under(rel, p) then return p, p == "" and rel or rel:sub(#p + 2) end
  end
  return nil
end

-- deletion vectors live beside the data files
local function is_aux(rel_in)
  return rel_in:match("^deletion_vector_[^/]*%.bin$") or rel_in:match("/deletion_vector_[^/]*%.bin$")
end

local function summary(snap, t)
  local m = snap.metadata or {}
  return {
    version = snap.version, table_id = m.id, name = m.name, description = m.description,
    provider = m.provider, partition_columns = m.partition_columns,
    min_reader_version = snap.protocol and snap.protocol.min_reader,
    min_writer_version = snap.protocol and snap.protocol.min_writer,
    reader_features = snap.protocol and #snap.protocol.reader_features > 0 and snap.protocol.reader_features or nil,
    checkpoint_version = snap.checkpoint and snap.checkpoint.version,
    checkpoint_read = snap.checkpoint and snap.checkpoint.read,
    commits_read = snap.commits_read,
    live_files = snap.nlive, files_read = #t.files,
    removed_files_ignored = t.removed_ignored, untracked_files_ignored = t.untracked_ignored,
    missing_files = #t.missing, external_files = t.external > 0 and t.external or nil,
    deleted_rows = t.deleted_rows > 0 and t.deleted_rows or nil,
    warnings = #snap.warnings > 0 and snap.warnings or nil,
  }
end

--- Groups a listing into tables, Delta tables first claimed (see header).
-- Listed files carrying delta_stale (remote: never fetched) only count.
function M.group(files, root, deltas, group, opts)
  opts = opts or {}
  local roots = {}
  for p in pairs(deltas) do roots[#roots + 1] = p end
  table.sort(roots, function(a, b) return #a < #b or (#a == #b and a < b) end)
  if #roots == 0 then return group(files, root) end
  local tables, rest, by = {}, {}, {}
  for _, p in ipairs(roots) do
    local snap = deltas[p]
    local t = { key = "dir:" .. p, name = p ~= "" and basename(p) or basename(root), files = {},
                partition_columns = {}, partitions = {}, size_bytes = 0, last_modified = nil,
                missing = {}, removed_ignored = 0, untracked_ignored = 0, external = 0, deleted_rows = 0 }
    if snap.error then
      t.error = snap.error
    else
      for i, k in ipairs(snap.metadata.partition_columns) do t.partition_columns[i] = k end
    end
    by[p] = t
  end
  local seen = {}
  for _, f in ipairs(files) do
    local p, rel_in = M.claim(roots, f.rel)
    if not p then
      rest[#rest + 1] = f
    else
      local t, snap = by[p], deltas[p]
      local add = not snap.error and snap.live[rel_in]
      if add and not f.delta_stale then
        seen[rel_in] = true
        f.partition = next(add.partition_values) and add.partition_values or nil
        t.files[#t.files + 1] = f
        t.size_bytes = t.size_bytes + f.size
        if not t.last_modified or f.mtime > t.last_modified then t.last_modified = f.mtime end
        t.deleted_rows = t.deleted_rows + (add.deleted_rows or 0)
      elseif not snap.error and not is_aux(rel_in) then -- a data file the log does not make live
        if f.delta_stale == "removed" or (not f.delta_stale and snap.removed[rel_in]) then
          t.removed_ignored = t.removed_ignored + 1
        else
          t.untracked_ignored = t.untracked_ignored + 1
        end
      end
    end
  end
  for _, p in ipairs(roots) do
    local t, snap = by[p], deltas[p]
    if not snap.error then
      for path in pairs(snap.live) do
        if not seen[path] then
          if path:match("^%a[%w+.-]*:") or path:sub(1, 1) == "/" then
            t.external = t.external + 1 -- absolute: a shallow clone's files elsewhere
          elseif not opts.filtered then
            t.missing[#t.missing + 1] = path
          end
        end
      end
      table.sort(t.missing)
      t.delta = summary(snap, t)
      for _, f in ipairs(snap.metadata.fields or {}) do -- column mapping: physical -> logical names
        if f.physical_name and f.physical_name ~= f.name then
          t.column_names = t.column_names or {}
          t.column_names[f.physical_name] = f.name
        end
      end
    else
      t.delta = { error = snap.error }
    end
    tables[#tables + 1] = t
  end
  for _, t in ipairs(group(rest, root)) do tables[#tables + 1] = t end
  return tables
end

return M
