-- metadata_extraction (spec 001): list the source's files, group them into
-- tables, profile every column, score quality; with --write-to-db (or
-- EXECUTOR_WRITE_TO_DB=true) also write the sources/tables/columns rows.
local params = require "nv.params"
local extract = require "nv.extract"
local report = require "nv.report"

return {
  name = "metadata_extraction",
  description = "list the source's files, group them into tables, profile every column and score quality",
  params = params.pick({ "data_source_path", "source_type", "tenant_id", "sources", "include", "exclude",
                         "max_rows", "max_bytes", "max_columns", "threads", "incremental", "full", "write_to_db" }),
  outputs = {
    extraction_status = "success, partial (some files or tables failed) or failed",
    files_found = "files listed in the source",
    schema_info = "{tables, columns}: how many were extracted",
    tables = "one entry per table: table_name, file_type, row_count, status, errors, quality, columns (data_type, null_count, distinct_count, top_values, min/max, quantiles, ...)",
    quality_metrics = "the source's dimension scores and overall_score",
    errors = "each failed file or table with the reason",
    source_id = "the source's id",
    source_path = "the path read",
    source_type = "the type used",
    total_size_bytes = "bytes of all files",
  },
  example = "nvlua run metadata_extraction examples/data auto my_tenant --write-to-db",
  run = function(ctx)
    local models = extract.run(ctx, ctx.config)
    return report.aggregate(ctx, models, report.metadata)
  end,
}
