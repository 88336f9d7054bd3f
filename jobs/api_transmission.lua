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
