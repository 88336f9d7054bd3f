-- quality_assessment (spec 001): profile the source and score the six
-- quality dimensions per column, table and source, with recommendations
-- derived from what was found (definitions in nv.quality and the README).
local extract = require "nv.extract"
local report = require "nv.report"

return {
  name = "quality_assessment",
  params = { data_source_path = { required = true, unless = "sources",
                                  hint = "give it as the first argument after the job type" } },
  run = function(ctx)
    local models = extract.run(ctx, ctx.config)
    return report.aggregate(ctx, models, report.quality)
  end,
}
