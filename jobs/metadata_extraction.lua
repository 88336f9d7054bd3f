-- metadata_extraction (spec 001): list the source's files, group them into
-- tables, profile every column, score quality; with --write-to-db (or
-- EXECUTOR_WRITE_TO_DB=true) also write the sources/tables/columns rows.
local extract = require "nv.extract"
local report = require "nv.report"

return {
  name = "metadata_extraction",
  description = "list the source's files, group them into tables, profile every column and score quality",
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
    write_to_db = { help = "write the sources/tables/columns rows to the store (--write-to-db)" },
  },
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
