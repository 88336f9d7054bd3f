-- metadata_extraction (spec 001): list the source's files, group them into
-- tables, profile every column, score quality; with --write-to-db (or
-- EXECUTOR_WRITE_TO_DB=true) also write the sources/tables/columns rows.
local extract = require "nv.extract"
local report = require "nv.report"

return {
  name = "metadata_extraction",
  params = { data_source_path = { required = true, unless = "sources",
                                  hint = "give it as the first argument after the job type" } },
  run = function(ctx)
    local models = extract.run(ctx, ctx.config)
    return report.aggregate(ctx, models, report.metadata)
  end,
}
