-- quality_assessment (spec 001): profile the source and score the six
-- quality dimensions per column, table and source, with recommendations
-- derived from what was found (definitions in nv.quality and the README).
local params = require "nv.params"
local extract = require "nv.extract"
local report = require "nv.report"

return {
  name = "quality_assessment",
  description = "profile the source and score six quality dimensions per column, table and source, with recommendations",
  params = params.pick({ "data_source_path", "source_type", "tenant_id", "sources", "include", "exclude",
                         "max_rows", "max_bytes", "max_columns", "threads", "incremental", "full", "freshness_days" }),
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
