-- nv.conntest: spec 004's test_connection for the sources of a run — the
-- test_connection job (jobs/test_connection.lua) and, through that job, the
-- job server's POST /connections/test. Each source's connector is resolved
-- by the registry (nv.connectors) and asked test_connection(src, opts) with
-- the run's configuration; what it reached (server version, user, visible
-- schemas, buckets, objects, catalogs) is reported masked (nv.redact).
--
--   conntest.source(src, opts) -> entry (never raises for an expected failure)
--   conntest.run(ctx)          -> the job's result
--
-- entry = {source_id, source_path, source_type, connector?, asset_types?,
--          connection_status = "success" | "failed", connection_info? (what
--          was reached), error? ("source <path>: <cause>"), error_code? (a
--          string kind: "usage", "connect", "auth", "io", "parse", …),
--          native_code? (the errno, SQLSTATE or driver error number)}
local json = require "nv.json"
local log = require "nv.log"
local redact = require "nv.redact"

local M = {}

-- a connector's third value as the error convention's string kind, its
-- fourth (errno, SQLSTATE, a driver's error number) as native_code; a
-- connector that still gives a native number third gets "connect"
local function kind_of(code, native)
  if type(code) == "string" and code ~= "" then return code, native end
  return "connect", (type(code) == "number" and code or native)
end

--- Tests one source {source_id, data_source_path, source_type}; opts: the
-- run's configuration (merged with the source's own options).
function M.source(src, opts)
  local path = src.data_source_path
  local shown = log.mask(tostring(path or ""))
  local entry = { source_id = src.source_id, source_path = shown, source_type = src.source_type or "auto" }
  local function failed(msg, code, native_code)
    entry.connection_status = "failed"
    local kind, native = kind_of(code, native_code)
    msg = tostring(msg or "test_connection failed")
    if msg:sub(1, 7) ~= "source " and msg:sub(1, #shown) ~= shown then msg = "source " .. shown .. ": " .. msg end
    entry.error, entry.error_code, entry.native_code = log.mask(msg), kind, native
    return entry
  end
  if type(path) ~= "string" or path == "" then return failed("no data_source_path", "usage") end
  local conn, cerr, ccode = require("nv.connectors").resolve(src)
  if not conn then return failed(cerr, ccode) end
  entry.connector = conn.name
  entry.asset_types = json.array(conn.asset_types or {})
  local ok, r1, r2, r3, r4 = pcall(conn.test_connection, src, opts or {})
  if not ok then return failed(string.format("connector %s raised: %s", conn.name, tostring(r1)), "connect") end
  if not r1 then return failed(r2, r3, r4) end
  entry.connection_status = "success"
  entry.connection_info = redact.model(type(r2) == "table" and r2 or { detail = tostring(r2) })
  return entry
end

--- The test_connection job: every source of the run (a single
-- data_source_path, or the payload's sources). Result: the entry's fields
-- for one source, or `connections = {entry…}` for several; status
-- completed | partial | failed and failed_objects (nv.job turns a failure
-- into exit 1 and `error`).
function M.run(ctx)
  local cfg = ctx.config
  local list, warnings = require("nv.extract").sources(ctx)
  for _, w in ipairs(warnings) do ctx.log:warning("%s", w) end
  local report = require "nv.report"
  local result = { failed_objects = json.array(), objects_total = 0, objects_succeeded = 0, objects_failed = 0 }
  local entries = json.array()
  for _, src in ipairs(list) do
    local e = M.source(src, cfg)
    entries[#entries + 1] = e
    if e.connection_status == "success" then
      result.objects_total, result.objects_succeeded = result.objects_total + 1, result.objects_succeeded + 1
      ctx.log:info("Source %s (%s): connection ok", e.source_path, e.connector)
    else
      report.add_failed(result, { source = e.source_id, path = e.source_path, step = "test_connection",
                                  reason = e.error })
      ctx.log:error("%s", e.error)
    end
  end
  if #entries == 1 then
    for k, v in pairs(entries[1]) do result[k] = v end
  else
    result.connections = entries
    result.connection_status = result.objects_failed == 0 and "success"
        or (result.objects_succeeded > 0 and "partial" or "failed")
  end
  result.status = result.objects_failed == 0 and "completed" or (result.objects_succeeded > 0 and "partial" or "failed")
  if result.objects_failed > 0 then result.error = result.failed_objects[1].reason end
  return result
end

return M
