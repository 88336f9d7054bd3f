-- nv.transmit: metadata payloads for the platform API, and their delivery
-- through the outbox (nv.outbox) with nv.http.
--
--   transmit.collect(ctx)             -> recs, scope | nil, message
--   transmit.unqueued(ctx, recs)      -> recs not delivered before, n_skipped
--   transmit.from_models(ctx, models) -> recs
--   transmit.build(ctx, recs [, limits]) -> payloads (array, maybe empty)
--   transmit.send(ctx [, payloads])   -> result
--   transmit.run(ctx, models)         -> result
--   transmit.settings(cfg)            -> settings
--
-- A rec is one source in nv.store's write_source shape:
--   {source = <sources row>, tables = {<tables row + columns = {<columns row>…}>…}}
--
-- What api_transmission sends (collect): rows of `_executor_metadata`.
-- With config.workflow_id given: every source of that workflow, each at its
-- latest run (the newest extraction_timestamp per source_id). Without it:
-- every source of the latest run that wrote metadata (the newest
-- extraction_timestamp overall). Rows exist when an extraction ran with
-- --write-to-db.
--
-- Payload (one JSON object per POST, one source each, at most
-- limits.max_tables tables, limits.max_columns columns and ~limits.max_bytes
-- bytes each; chunk numbers a source's payloads; payload_id is the
-- Idempotency-Key, derived from the content identity, see build):
--   {schema_version = 1, payload_id = <Idempotency-Key>, job_id, run_id,
--    workflow_id, tenant_id, executor_version, generated_at,
--    chunk = {batch_id, index, count},
--    metadata = {sources = {…}, tables = {…, quality = {dimension scores}},
--                columns = {…, sample_values = {…}}},
--    quality_metrics = {tables = {{source_id, table_id, table_name,
--                                  overall_score, dimensions}…}}}
-- Column profiles (profile_json) stay in the client's store: their value
-- histograms are data, not metadata.
local json = require "nv.json"
local outbox = require "nv.outbox"
local host = require "nv.host"
local log = require "nv.log"

local M = {}

M.PATH = "/api/metadata"

M.defaults = {
  timeout = 60, connect_timeout = 10, retries = 3, retry_base = 0.5, retry_max = 30,
  gzip = true, verify = true,
  max_tables = 500, max_columns = 10000, max_bytes = 4 * 1024 * 1024,
}

local function num(v, default)
  local n = tonumber(v)
  if n == nil then return default end
  return n
end

local function bool(v, default)
  if v == nil then return default end
  if type(v) == "boolean" then return v end
  v = tostring(v):lower()
  return not (v == "false" or v == "0" or v == "no" or v == "off")
end

--- Delivery settings from a job configuration: api_endpoint, api_key,
-- outbox_dir, outbox_lock_timeout, api_timeout, api_connect_timeout, api_retries,
-- api_retry_base, api_retry_max, api_gzip, api_ca_bundle, api_verify,
-- api_max_tables, api_max_columns, api_max_bytes.
function M.settings(cfg)
  cfg = cfg or {}
  local d = M.defaults
  local s = {
    endpoint = cfg.api_endpoint ~= "" and cfg.api_endpoint or nil,
    api_key = cfg.api_key ~= "" and cfg.api_key or nil,
    outbox_dir = outbox.default_dir(cfg),
    lock_timeout = num(cfg.outbox_lock_timeout, outbox.LOCK_TIMEOUT),
    timeout = num(cfg.api_timeout, d.timeout),
    connect_timeout = num(cfg.api_connect_timeout, d.connect_timeout),
    retries = math.floor(num(cfg.api_retries, d.retries)),
    retry_base = num(cfg.api_retry_base, d.retry_base),
    retry_max = num(cfg.api_retry_max, d.retry_max),
    gzip = bool(cfg.api_gzip, d.gzip),
    verify = bool(cfg.api_verify, d.verify),
    ca_bundle = cfg.api_ca_bundle,
    limits = {
      max_tables = math.floor(num(cfg.api_max_tables, d.max_tables)),
      max_columns = math.floor(num(cfg.api_max_columns, d.max_columns)),
      max_bytes = math.floor(num(cfg.api_max_bytes, d.max_bytes)),
    },
  }
  if s.endpoint then
    local base = tostring(s.endpoint):gsub("/+$", "")
    s.url = base:sub(-#M.PATH) == M.PATH and base or base .. M.PATH
  end
  return s
end

-- ---- collecting ----------------------------------------------------------

local function query(store, sql, ...)
  local rows, err = store:query(sql, ...)
  if not rows then return nil, err end
  return rows
end

local function source_rec(store, src)
  local T, C = store:qualified("tables"), store:qualified("columns")
  local tables, err = query(store, "SELECT * FROM " .. T .. " WHERE run_id = ? AND source_id = ? ORDER BY table_name, table_id",
    src.run_id, src.source_id)
  if not tables then return nil, err end
  local cols, cerr = query(store, "SELECT * FROM " .. C .. " WHERE run_id = ? AND source_id = ? ORDER BY table_id, position, column_name",
    src.run_id, src.source_id)
  if not cols then return nil, cerr end
  local by_table = {}
  for _, t in ipairs(tables) do
    t.columns = {}
    by_table[t.table_id] = t
  end
  for _, c in ipairs(cols) do
    local t = by_table[c.table_id]
    if t then t.columns[#t.columns + 1] = c end
  end
  return { source = src, tables = tables }
end

--- Reads the metadata to send from ctx.store (see the header for which
-- rows). Returns recs, scope ({workflow_id=} or {run_id=}) or nil, message.
function M.collect(ctx)
  local store = ctx.store
  if not store then return nil, "the metadata store is not available" end
  local S = store:qualified("sources")
  local sources, scope = {}, {}
  local wf = ctx.config and ctx.config.workflow_id
  if wf then
    scope.workflow_id = wf
    local rows, err = query(store, "SELECT * FROM " .. S
      .. " WHERE workflow_id = ? ORDER BY extraction_timestamp DESC, run_id DESC", wf)
    if not rows then return nil, "cannot read sources: " .. tostring(err) end
    local seen = {}
    for _, r in ipairs(rows) do
      if not seen[r.source_id] then
        seen[r.source_id] = true
        sources[#sources + 1] = r
      end
    end
  else
    local last, err = query(store, "SELECT run_id FROM " .. S
      .. " ORDER BY extraction_timestamp DESC, run_id DESC LIMIT 1")
    if not last then return nil, "cannot read sources: " .. tostring(err) end
    if last[1] then
      scope.run_id = last[1].run_id
      sources, err = query(store, "SELECT * FROM " .. S .. " WHERE run_id = ? ORDER BY source_id", scope.run_id)
      if not sources then return nil, "cannot read sources: " .. tostring(err) end
    end
  end
  table.sort(sources, function(a, b) return tostring(a.source_id) < tostring(b.source_id) end)
  local recs = {}
  for _, src in ipairs(sources) do
    local rec, err = source_rec(store, src)
    if not rec then return nil, "cannot read metadata of source " .. tostring(src.source_id) .. ": " .. tostring(err) end
    recs[#recs + 1] = rec
  end
  return recs, scope
end

--- recs the platform has not answered yet for every chunk, by the ledger of
-- the outbox of ctx's configuration (a source pending there is built again
-- and then not queued twice: send() skips keys already in the outbox); all
-- of them when config.api_resend is true.
function M.unqueued(ctx, recs)
  local cfg = ctx.config or {}
  if bool(cfg.api_resend, false) then return recs end
  local ledger, out = outbox.answered_sources(M.settings(cfg).outbox_dir), {}
  for _, r in ipairs(recs) do
    if not ledger[outbox.ledger_id(r.source.run_id, r.source.source_id)] then out[#out + 1] = r end
  end
  return out, #recs - #out
end

--- Source models from nv.extract.run (see nv.extract.source) as recs.
function M.from_models(ctx, models)
  local shape = require "nv.model"
  local recs = {}
  for _, m in ipairs(models or {}) do recs[#recs + 1] = shape.store_record(ctx, m) end
  return recs
end

-- ---- shaping ---------------------------------------------------------------

-- JSON text columns come back from the store as text, from models as tables
local function decoded(v)
  if type(v) == "string" and v:match("^%s*[%[{]") then
    local d = json.decode(v)
    if d ~= nil then return d end
  end
  return v
end

local function flag(v)
  if v == nil or type(v) == "boolean" then return v end
  return v ~= 0 and v ~= "0" and v ~= "false"
end

local function copy_row(row, skip)
  local out = {}
  for k, v in pairs(row) do
    if not skip[k] and v ~= json.null then out[k] = v end
  end
  return out
end

local SKIP_SOURCE = {}
local SKIP_TABLE = { columns = true, quality_json = true }
local SKIP_COLUMN = { profile_json = true }

local function shape_source(row)
  local s = copy_row(row, SKIP_SOURCE)
  s.connection_info = decoded(s.connection_info)
  return s
end

local function shape_table(row)
  local t = copy_row(row, SKIP_TABLE)
  for _, k in ipairs({ "partition_columns", "primary_key", "foreign_keys" }) do t[k] = decoded(t[k]) end
  t.quality = decoded(row.quality_json)
  return t
end

local function shape_column(row)
  local c = copy_row(row, SKIP_COLUMN)
  c.sample_values = decoded(c.sample_values)
  c.is_nullable, c.is_primary_key = flag(c.is_nullable), flag(c.is_primary_key)
  return c
end

local function new_chunk()
  return { sources = {}, source_set = {}, tables = {}, columns = {}, quality = {}, bytes = 0 }
end

local function add_source(chunk, src)
  if not chunk.source_set[src.source_id] then
    chunk.source_set[src.source_id] = true
    chunk.sources[#chunk.sources + 1] = src
  end
end

-- the chunks of one source's tables
local function source_chunks(rec, src, max_t, max_c, max_b)
  local chunks = { new_chunk() }
  add_source(chunks[1], src)
  for _, trow in ipairs(rec.tables or {}) do
    local t = shape_table(trow)
    local cols = {}
    for i, crow in ipairs(trow.columns or {}) do cols[i] = shape_column(crow) end
    local q = { source_id = t.source_id, table_id = t.table_id, table_name = t.table_name,
                overall_score = t.quality_score, dimensions = t.quality }
    local size = #json.encode({ t, cols, q })
    local cur = chunks[#chunks]
    if #cur.tables > 0 and (#cur.tables + 1 > max_t or #cur.columns + #cols > max_c or cur.bytes + size > max_b) then
      cur = new_chunk()
      add_source(cur, src)
      chunks[#chunks + 1] = cur
    end
    cur.tables[#cur.tables + 1] = t
    for _, c in ipairs(cols) do cur.columns[#cur.columns + 1] = c end
    cur.quality[#cur.quality + 1] = q
    cur.bytes = cur.bytes + size
  end
  return chunks
end

--- Splits recs into payloads of bounded size, each holding one source.
-- limits: max_tables, max_columns, max_bytes (defaults in M.defaults). A
-- table with its columns is never split; one bigger than the limits
-- travels alone. Each payload's Idempotency-Key (payload_id) comes from its
-- content identity: workflow, source, the run that extracted it, chunk
-- index and count, and its tables' ids; so building the same stored
-- metadata again gives the same keys, and a new extraction run new ones.
-- With config.api_resend the job's run id joins the identity (a deliberate
-- resend is new data). chunk.batch_id is the same for a source's chunks.
function M.build(ctx, recs, limits)
  limits = limits or M.settings(ctx.config).limits
  local max_t = math.max(1, limits.max_tables or M.defaults.max_tables)
  local max_c = math.max(1, limits.max_columns or M.defaults.max_columns)
  local max_b = math.max(1024, limits.max_bytes or M.defaults.max_bytes)
  local cfg = ctx.config or {}
  local salt = bool(cfg.api_resend, false) and tostring(ctx.run_id) or ""
  local payloads = {}
  for _, rec in ipairs(recs) do
    local src = shape_source(rec.source)
    src.schema_drift = rec.schema_drift -- changes since the source's previous run, when known
    local workflow_id = cfg.workflow_id or src.workflow_id or ctx.workflow_id
    local chunks = source_chunks(rec, src, max_t, max_c, max_b)
    local ident = { tostring(workflow_id), tostring(src.source_id), tostring(src.run_id), salt }
    local batch = outbox.key(ident):sub(1, 16)
    for i, c in ipairs(chunks) do
      local ids = {}
      for j, t in ipairs(c.tables) do ids[j] = tostring(t.table_id) end
      local key = outbox.key({ ident[1], ident[2], ident[3], ident[4], i, #chunks, table.concat(ids, "\n") })
      payloads[#payloads + 1] = {
        schema_version = 1, payload_id = key,
        job_id = ctx.job_id or ctx.run_id, run_id = ctx.run_id,
        workflow_id = workflow_id,
        tenant_id = ctx.tenant_id, executor_version = host.version,
        generated_at = os.date("!%Y-%m-%dT%H:%M:%SZ"),
        chunk = { batch_id = batch, index = i, count = #chunks },
        metadata = { sources = json.array(c.sources), tables = json.array(c.tables),
                     columns = json.array(c.columns) },
        quality_metrics = { tables = json.array(c.quality) },
      }
    end
  end
  return payloads
end

-- ---- delivery ----------------------------------------------------------------

local MAX_RESPONSE_TEXT = 4096

-- cjson decodes every number as a float: give integral ones back as integers
local function integers(v)
  if type(v) == "table" then
    for k, x in pairs(v) do v[k] = integers(x) end
  elseif math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2 ^ 53 then
    return math.tointeger(v)
  end
  return v
end

local function response_value(body)
  local v = json.decode(body or "")
  if v ~= nil then return integers(v) end
  body = body or ""
  if #body > MAX_RESPONSE_TEXT then body = body:sub(1, MAX_RESPONSE_TEXT) .. "…" end
  return body
end

-- The response body for an error message: one line, bounded, with double
-- quotes made single (once JSON-encoded, an escaped quote after a masked
-- "Bearer <token>" would lose its backslash to the masking filter).
local function brief(body)
  body = (body or ""):gsub("%s+", " ")
  if #body > 200 then body = body:sub(1, 200) .. "…" end
  return (body:gsub('"', "'"))
end

local function is_permanent(status)
  return status >= 400 and status < 500 and status ~= 408 and status ~= 429
end

--- Sends every pending payload of box, oldest first. Stops at the first
-- one the platform cannot take now (transport error, 5xx, 408, 429 after
-- the retries) so that order is kept; a permanent refusal (other 4xx) is
-- marked rejected and the next one is tried.
-- Returns {sent, rejected, status_code, api_response, error}.
function M.flush(ctx, box, s)
  local http = require "nv.http"
  local out = { sent = 0, rejected = 0 }
  local pending, perr = box:pending()
  if not pending then
    out.error = "cannot list the outbox: " .. tostring(perr)
    return out
  end
  for _, e in ipairs(pending) do
    if box:was_delivered(e.key) then
      -- the ledger says the platform took it: a run was killed before removing it
      local ok, derr = box:remove(e)
      if not ok then ctx.log:warning("payload %s delivered but not removed from the outbox: %s", e.name, derr) end
      ctx.log:info("Payload %s was delivered before: removed from the outbox", e.name)
      goto continue
    end
    local body, rerr = box:read(e)
    if not body then
      out.error = "cannot read " .. e.path .. ": " .. tostring(rerr)
      break
    end
    local resp, err = http.request({
      method = "POST", url = s.url, body = body, gzip = s.gzip, bearer = s.api_key,
      headers = { ["Content-Type"] = "application/json", Accept = "application/json",
                  ["Idempotency-Key"] = e.key },
      timeout = s.timeout, connect_timeout = s.connect_timeout, retries = s.retries,
      retry_base = s.retry_base, retry_max = s.retry_max, ca_bundle = s.ca_bundle, verify = s.verify,
    })
    if not resp then
      out.error = err
      ctx.log:error("payload %s not sent: %s", e.name, err)
      break
    end
    out.status_code, out.api_response = resp.status, response_value(resp.body)
    if resp.status >= 200 and resp.status < 300 then
      local ok, derr = box:delivered(e, body)
      if not ok then ctx.log:warning("payload %s sent but not recorded and removed: %s", e.name, derr) end
      out.sent = out.sent + 1
      ctx.log:info("Sent payload %s (%d bytes) to %s: HTTP %d after %d attempt(s)",
        e.name, #body, resp.url, resp.status, resp.attempts)
    elseif is_permanent(resp.status) then
      local ok, jerr = box:reject(e, { status_code = resp.status, response = out.api_response, url = resp.url },
        function(v) return log.mask(json.encode(v)) end, body)
      if not ok then ctx.log:error("cannot mark payload %s rejected: %s", e.name, jerr) end
      out.rejected = out.rejected + 1
      out.error = string.format("POST %s: payload %s rejected with HTTP %d: %s", resp.url, e.name, resp.status,
        brief(resp.body))
      ctx.log:error("%s", out.error)
    else
      out.error = string.format("POST %s: HTTP %d (after %d attempt%s): %s", resp.url, resp.status, resp.attempts,
        resp.attempts == 1 and "" or "s", brief(resp.body))
      ctx.log:error("payload %s not sent: %s", e.name, out.error)
      break
    end
    ::continue::
  end
  return out
end

--- Queues payloads (may be nil or empty) in the outbox, then sends the
-- whole outbox. Returns the api_transmission result:
-- {transmission_status = success | partial | failed | nothing_to_send,
--  api_response, status_code, sent, pending, rejected, rejected_total,
--  payloads, outbox, success, error?}.
function M.send(ctx, payloads)
  local s = M.settings(ctx.config)
  payloads = payloads or {}
  local result = { payloads = #payloads, sent = 0, pending = 0, rejected = 0, outbox = s.outbox_dir,
                   api_response = json.null, status_code = json.null }
  local function finish(status, err)
    result.transmission_status = status
    result.success = status == "success" or status == "nothing_to_send"
    result.error = (not result.success) and err or nil
    return result
  end

  local box <close>, oerr = outbox.open(s.outbox_dir, { lock_timeout = s.lock_timeout })
  if not box then return finish("failed", oerr) end
  for _, w in ipairs(box.warnings) do ctx.log:warning("%s", w) end
  for _, n in ipairs(box.recovered) do ctx.log:warning("outbox: completed %s, queued by a process that died", n) end
  for _, n in ipairs(box.cleaned) do ctx.log:warning("outbox: removed %s, a partial write of a process that died", n) end
  local queued = 0
  for i, p in ipairs(payloads) do
    p.payload_id = p.payload_id or outbox.new_key()
    local text = json.encode(p)
    local e, perr = box:put(text, p.payload_id)
    if not e then return finish("failed", perr) end
    if e.existing then
      ctx.log:info("Payload %d/%d (%s) is %s already: not queued again", i, #payloads, p.payload_id, e.existing)
    else
      queued = queued + 1
      ctx.log:info("Queued payload %d/%d (%d bytes) as %s", i, #payloads, #text, e.name)
    end
  end
  result.payloads = queued
  local function count(list) return list and #list or 0 end
  local missing = (not s.url and "no API endpoint configured (set NUVYN_API_ENDPOINT or api_endpoint)")
      or (not s.api_key and "no API key configured (set NUVYN_API_KEY or api_key)")
  if missing then
    result.pending = count(box:pending())
    ctx.log:error("%s", missing)
    return finish("failed", string.format("%s; %d payload(s) kept in the outbox %s", missing, result.pending,
      s.outbox_dir))
  end

  local f = M.flush(ctx, box, s)
  result.sent, result.rejected = f.sent, f.rejected
  if f.status_code then result.status_code = f.status_code end
  if f.api_response ~= nil then result.api_response = f.api_response end
  result.pending = count(box:pending())
  result.rejected_total = count(box:rejected())
  if result.rejected_total > result.rejected then
    ctx.log:warning("%d rejected payload(s) kept in %s (*.rejected, with *.response)", result.rejected_total,
      s.outbox_dir)
  end
  local status
  if result.sent == 0 and result.pending == 0 and result.rejected == 0 then
    status = f.error and "failed" or "nothing_to_send"
  elseif result.pending == 0 and result.rejected == 0 then
    status = "success"
  elseif result.sent > 0 then
    status = "partial"
  else
    status = "failed"
  end
  ctx.log:info("Transmission %s: %d sent, %d pending, %d rejected", status, result.sent, result.pending,
    result.rejected)
  return finish(status, f.error)
end

--- For jobs that already hold extracted source models (full_pipeline):
-- models is the list nv.extract.run(ctx, opts) returned (each model as
-- documented in nv.extract.source); ctx is the job's ctx (config supplies
-- api_endpoint, api_key, outbox_dir and the api_* settings). Builds the
-- payloads from the models (not from the store), queues them and flushes
-- the outbox. Returns the same result as send().
function M.run(ctx, models)
  return M.send(ctx, M.build(ctx, M.from_models(ctx, models)))
end

return M
