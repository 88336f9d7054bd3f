-- api_transmission (spec 001): send the stored metadata to the platform,
-- POST ${NUVYN_API_ENDPOINT}/api/metadata with Authorization: Bearer
-- ${NUVYN_API_KEY}. Every payload goes through the outbox first, so what
-- cannot be sent now (no endpoint, platform down) is sent by a later run;
-- each run also resends whatever earlier runs left pending.
-- Which rows: those of config.workflow_id when given (each source at its
-- latest run), else those of the latest run that wrote metadata; sources
-- queued by an earlier run are not queued twice (api_resend = true does).
local transmit = require "nv.transmit"

return {
  name = "api_transmission",
  description = "send the stored metadata to the platform (POST <endpoint>/api/metadata) through the outbox",
  params = {
    tenant_id = { help = "tenant recorded on every row and result (default: default)" },
    api_endpoint = { help = "platform base URL (NUVYN_API_ENDPOINT); the payload goes to <endpoint>/api/metadata" },
    api_key = { help = "bearer token (NUVYN_API_KEY); masked everywhere" },
    api_resend = { help = "queue sources again even if an earlier run queued them" },
    workflow_id = { help = "send this workflow's sources (each at its latest run); default: the latest run that wrote metadata" },
  },
  outputs = {
    transmission_status = "success, partial, failed or nothing_to_send",
    payloads = "payloads this run queued (one already queued or delivered is not queued again)",
    sent = "payloads the platform accepted",
    pending = "payloads left in the outbox for a later run",
    rejected = "payloads the platform refused",
    status_code = "the last HTTP status (null if nothing was sent)",
    api_response = "the platform's last answer",
    outbox = "the outbox directory",
  },
  example = "NUVYN_API_ENDPOINT=https://platform.example NUVYN_API_KEY=... nvlua run api_transmission --workflow-id wf1",
  run = function(ctx)
    local payloads = {}
    if ctx.store then
      local recs, scope_or_err = transmit.collect(ctx)
      if not recs then return nil, scope_or_err end
      local scope = scope_or_err
      local fresh, skipped = transmit.unqueued(ctx, recs)
      payloads = transmit.build(ctx, fresh)
      ctx.log:info("Metadata of %s: %d source(s) (%d queued before) in %d new payload(s)",
        scope.workflow_id and ("workflow " .. scope.workflow_id) or scope.run_id and ("run " .. scope.run_id)
        or "no run", #recs, skipped or 0, #payloads)
    else
      ctx.log:warning("metadata store unavailable: only the outbox is sent")
    end
    return require("nv.report").transmission_outcome(transmit.send(ctx, payloads))
  end,
}
