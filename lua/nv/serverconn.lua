-- nv.serverconn: the job server's POST /connections/test (nv.server).
--
-- The body is a spec-003 payload for the test_connection job
-- (data_source_path + data_source_type, or workflow_id + sources; job_type
-- absent or "test_connection"), validated like POST /jobs/create —
-- data_source_type through nv.connectors.check, paths against the server's
-- roots. The check runs as a job of its own (`nvlua --sandbox run
-- test_connection`, listed by GET /jobs), started at once rather than
-- queued behind long extractions, and the request waits for it:
--   200 the job's JSON result, as `nvlua run test_connection` prints it
--       (success true or false: a refused connection is an answer), plus
--       server_job_id (also the Location header: /jobs/<id>)
--   504 the check did not end within server_test_timeout seconds; the job
--       is cancelled (SIGTERM, SIGKILL 5 s later)
--   500 the job ended without a result (its error says why)
--
-- Why a child and not the server's own process: the connector code — a
-- driver stuck in DNS or an ODBC driver that ignores its timeout — cannot
-- be interrupted inside a C call, and could crash; in a child it runs with
-- the jobs' sandbox, roots and rlimits, secrets reach it only through its
-- environment, and it is killed at the deadline. The price: nv.httpd's
-- handlers answer synchronously, so the server's loop waits for the check
-- (at most server_test_timeout; running jobs go on in their own processes).
local proc = require "nv.proc"
local sys = require "nv.sys"

local M = {}

M.JOB_TYPE = "test_connection"

--- Handles POST /connections/test on server (an nv.server state): status, headers, body.
function M.test(server, req)
  local nvserver = require "nv.server"
  local j, status, headers, body = server:admit(req, M.JOB_TYPE, function(cfg)
    if (cfg.data_source_path == nil or cfg.data_source_path == "") and not cfg.sources then
      return nil, "missing required field 'data_source_path'"
    end
    return true
  end)
  if not j then return status, headers, body end
  server:start(j) -- not queued: a check is short and bounded by the deadline below
  local timeout = server.settings.test_timeout or 20
  local deadline = sys.monotonic() + timeout
  while j.status == "running" and j.pid do
    local how, code = proc.poll(j.pid)
    if how ~= "running" then
      server:finish(j, how or "lost", code)
    elseif sys.monotonic() >= deadline then
      server:cancel(j, string.format("cancelled: no answer within %d s (server_test_timeout)", timeout))
      break
    else
      sys.sleep(0.02)
    end
  end
  local loc = { Location = "/jobs/" .. j.id }
  if j.status == "running" then -- cancelled: tick() reaps it (and SIGKILLs it if need be)
    return nvserver.err(504, string.format("test_connection did not finish within %d s (job %s cancelled)",
      timeout, j.id), loc)
  end
  -- the job's own JSON document, byte for byte (masked by the job), with
  -- the server's job id first
  local f = io.open(server:job_dir(j.id) .. "/stdout.json", "rb")
  local text = f and f:read("a")
  if f then f:close() end
  if type(j.result) ~= "table" or not text or not text:match("^%s*{") then
    return nvserver.err(500, "test_connection ended without a result: " .. tostring(j.error), loc)
  end
  text = text:gsub("^%s*{%s*", '{"server_job_id":"' .. j.id .. '"' .. (text:match("^%s*{%s*}") and "" or ","), 1)
  return 200, { ["Content-Type"] = "application/json", Location = loc.Location }, text
end

return M
