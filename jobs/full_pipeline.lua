-- full_pipeline (spec 001): schema validation, metadata extraction, data
-- reading, quality assessment, API transmission, in sequence — one
-- extraction pass feeds the three middle steps and the transmission. Without
-- NUVYN_API_ENDPOINT the transmission is listed under `skipped` with the
-- reason, never faked; a platform failure fails the job, and the payload
-- stays in the outbox for the next run.
local params = require "nv.params"
local store = require "nv.store"
local extract = require "nv.extract"
local report = require "nv.report"
local json = require "nv.json"
local transmit = require "nv.transmit"

return {
  name = "full_pipeline",
  description = "schema validation, metadata extraction, data reading, quality assessment and API transmission in one pass",
  params = params.pick({ "data_source_path", "source_type", "tenant_id", "sources", "include", "exclude",
                         "max_rows", "max_bytes", "max_columns", "threads", "incremental", "full", "preview_rows", "preview_bytes",
                         "write_to_db", "api_endpoint", "api_key" }),
  outputs = {
    schema_validation = "the schema_validation job's result",
    metadata_extraction = "the metadata_extraction job's result",
    data_reading = "the data_reading job's result",
    quality_assessment = "the quality_assessment job's result",
    api_transmission = "the api_transmission result (only when api_endpoint is set)",
    steps_completed = "the steps that ran, in order",
    skipped = "steps not run, each with the reason (api_transmission without an endpoint)",
  },
  example = "nvlua run full_pipeline examples/data auto my_tenant --write-to-db",
  store = true,
  run = function(ctx)
    local validation, verr = store.validation_report(ctx.store, ctx.schema_before, ctx.schema_changes)
    if not validation then return nil, "schema validation failed: " .. verr end
    validation.status = validation.validation_status
    local opts = {}
    for k, v in pairs(ctx.config) do opts[k] = v end
    -- data_reading's previews are taken while each file is at hand
    opts.previews = { rows = ctx.config.preview_rows or 10, bytes = ctx.config.preview_bytes or 1024 }
    local models = extract.run(ctx, opts)
    local result = {
      schema_validation = validation,
      metadata_extraction = report.aggregate(ctx, models, report.metadata),
      data_reading = report.aggregate(ctx, models, function(m) return report.reading(ctx, m, ctx.config) end),
      quality_assessment = report.aggregate(ctx, models, report.quality),
      steps_completed = json.array({ "schema_validation", "metadata_extraction", "data_reading",
                                     "quality_assessment" }),
      skipped = json.array(),
    }
    if ctx.config.api_endpoint then
      result.api_transmission = transmit.run(ctx, models)
      result.steps_completed[#result.steps_completed + 1] = "api_transmission"
    else
      local reason = "NUVYN_API_ENDPOINT is not set: nothing sent to the platform"
      result.skipped[1] = { step = "api_transmission", reason = reason }
      ctx.log:warning("Skipping api_transmission: %s", reason)
    end
    report.merge_outcome(result, result.metadata_extraction)
    local tx = result.api_transmission
    if tx and not tx.success then -- a step that failed is one more failed object
      local why = "api_transmission: " .. tostring(tx.error or ("status " .. tostring(tx.status_code)))
      report.add_failed(result, { step = "api_transmission", reason = why })
      result.error = result.error or why
    end
    return result
  end,
}
