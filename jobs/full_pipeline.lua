-- full_pipeline (spec 001): schema validation, metadata extraction, data
-- reading, quality assessment, API transmission, in sequence — one
-- extraction pass feeds the three middle steps and the transmission. Without
-- NUVYN_API_ENDPOINT the transmission is listed under `skipped` with the
-- reason, never faked; a platform failure fails the job, and the payload
-- stays in the outbox for the next run.
local store = require "nv.store"
local extract = require "nv.extract"
local report = require "nv.report"
local json = require "nv.json"
local transmit = require "nv.transmit"

return {
  name = "full_pipeline",
  description = "schema validation, metadata extraction, data reading, quality assessment and API transmission in one pass",
  params = {
    data_source_path = { required = true, unless = "sources",
                         hint = "give it as the first argument after the job type",
                         help = "what to read: a file or directory (also /dbfs/..., /Volumes/...), s3://bucket/prefix, abfss://..., a database URL (postgresql://, mysql://, odbc:...) or uc://catalog" },
    source_type = { help = "auto (default: detect each file from its content) or a forced format / connector: csv, json, ndjson, parquet, delta, xlsx, aws_s3, azure_blob, postgresql, mysql, odbc, ..." },
    tenant_id = { help = "tenant recorded on every row and result (default: default)" },
    sources = { help = "array of sources ({source_id, data_source_path, source_type, ...}); needs workflow_id" },
    include = { help = "glob list: only matching files" },
    exclude = { help = "glob list: files to skip" },
    max_rows = { help = "profile only the first N rows of each file" },
    max_bytes = { help = "profile only the first N bytes of each file" },
    preview_rows = { help = "sample rows per file (default 10)" },
    preview_bytes = { help = "raw preview bytes per file (default 1024)" },
    write_to_db = { help = "write the sources/tables/columns rows to the store (--write-to-db)" },
    api_endpoint = { help = "platform base URL (NUVYN_API_ENDPOINT); the payload goes to <endpoint>/api/metadata" },
    api_key = { help = "bearer token (NUVYN_API_KEY); masked everywhere" },
  },
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
