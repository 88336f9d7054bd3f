-- full_pipeline (spec 001): schema validation, metadata extraction, data
-- reading, quality assessment, API transmission, in sequence. Steps this
-- build cannot perform yet are listed under `skipped` with the reason,
-- never faked.
local store = require "nv.store"
local source = require "nv.source"
local json = require "nv.json"

local not_yet = {
  { "metadata_extraction", "file sources, readers and the profiler arrive with issue #3" },
  { "data_reading", "file readers arrive with issue #3" },
  { "quality_assessment", "the profiler and quality scoring arrive with issue #3" },
  { "api_transmission", "the HTTP client and outbox arrive with issue #5" },
}

return {
  name = "full_pipeline",
  store = true,
  params = { data_source_path = { required = true, unless = "sources",
                                  hint = "give it as the first argument after the job type" } },
  run = function(ctx)
    local ok, err = source.check_path(ctx.config.data_source_path)
    if not ok then return nil, err end
    local validation, verr = store.validation_report(ctx.store, ctx.schema_before, ctx.schema_changes)
    if not validation then return nil, "schema validation failed: " .. verr end
    validation.status = validation.validation_status
    local skipped = json.array()
    for _, s in ipairs(not_yet) do
      skipped[#skipped + 1] = { step = s[1], reason = "not implemented yet: " .. s[2] }
      ctx.log:warning("Skipping %s: %s", s[1], s[2])
    end
    return {
      source_path = ctx.config.data_source_path,
      source_type = ctx.config.source_type,
      schema_validation = validation,
      steps_completed = json.array({ "schema_validation" }),
      skipped = skipped,
    }
  end,
}
