-- quality_assessment (spec 001): profile the source and score the six
-- quality dimensions per column, table and source, with recommendations
-- derived from what was found (definitions in nv.quality and the README).
local extract = require "nv.extract"
local report = require "nv.report"

return {
  name = "quality_assessment",
  description = "profile the source and score six quality dimensions per column, table and source, with recommendations",
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
    freshness_days = { help = "age in days after which timeliness drops (see the README)" },
  },
  outputs = {
    overall_score = "0-100, from the measured dimensions",
    quality_level = "Excellent, Good, Fair or Poor",
    quality_metrics = "per dimension: completeness, validity, uniqueness, consistency, timeliness, accuracy",
    tables = "per table and column: the dimension scores",
    recommendations = "what to fix, derived from what was found",
    errors = "each failed file or table with the reason",
    source_id = "the source's id",
    source_path = "the path read",
  },
  example = "nvlua run quality_assessment examples/data",
  run = function(ctx)
    local models = extract.run(ctx, ctx.config)
    return report.aggregate(ctx, models, report.quality)
  end,
}
