-- nv.schema: the `_executor_metadata` tables, written once as data.
-- Every store backend builds its DDL from this through a dialect (nv.store);
-- columns use logical types mapped per dialect in `types`.
-- Columns named in specs 000-003 are all here; every metadata row carries
-- workflow_id and source_id.
local M = {}

M.name = "_executor_metadata"
M.version = 1

local function t(name, key, columns)
  return { name = name, key = key, columns = columns }
end

M.tables = {
  t("sources", { "run_id", "source_id" }, {
    { "workflow_id", "string" },
    { "source_id", "string", not_null = true },
    { "run_id", "string", not_null = true },
    { "tenant_id", "string" },
    { "source_name", "string" },
    { "source_path", "text" },
    { "source_type", "string" },
    { "connection_info", "text" },      -- masked description, never a password
    { "extraction_timestamp", "timestamp" },
    { "files_found", "int" },
    { "tables_found", "int" },
    { "total_size_bytes", "bigint" },
    { "status", "string" },
    { "error_message", "text" },
  }),
  t("tables", { "run_id", "source_id", "table_id" }, {
    { "workflow_id", "string" },
    { "source_id", "string", not_null = true },
    { "run_id", "string", not_null = true },
    { "table_id", "string", not_null = true },
    { "catalog_name", "string" },
    { "schema_name", "string" },
    { "table_name", "string", not_null = true },
    { "table_type", "string" },
    { "file_path", "text" },
    { "file_type", "string" },
    { "row_count", "bigint" },
    { "column_count", "int" },
    { "size_bytes", "bigint" },
    { "last_modified", "timestamp" },
    { "partition_columns", "text" },
    { "primary_key", "text" },
    { "foreign_keys", "text" },
    { "comment", "text" },
    { "quality_score", "double" },
    { "quality_json", "text" },
    { "extracted_at", "timestamp" },
  }),
  t("columns", { "run_id", "source_id", "table_id", "column_name" }, {
    { "workflow_id", "string" },
    { "source_id", "string", not_null = true },
    { "run_id", "string", not_null = true },
    { "table_id", "string", not_null = true },
    { "table_name", "string" },
    { "column_name", "string", not_null = true },
    { "position", "int" },
    { "data_type", "string" },
    { "native_type", "string" },
    { "is_nullable", "boolean" },
    { "is_primary_key", "boolean" },
    { "foreign_key", "text" },
    { "default_value", "text" },
    { "comment", "text" },
    { "sample_values", "text" },
    { "null_count", "bigint" },
    { "empty_count", "bigint" },
    { "distinct_count", "bigint" },
    { "min_value", "text" },
    { "max_value", "text" },
    { "mean_value", "double" },
    { "stddev_value", "double" },
    { "min_length", "int" },
    { "max_length", "int" },
    { "quality_score", "double" },
    { "profile_json", "text" },
  }),
  t("executor_runs", { "run_id" }, {
    { "run_id", "string", not_null = true },
    { "workflow_id", "string" },
    { "source_id", "string" },
    { "tenant_id", "string" },
    { "job_id", "string" },
    { "run_mode", "string" },           -- the job type
    { "executor_version", "string" },
    { "status", "string" },             -- Running | Success | Failed
    { "started_at", "timestamp" },
    { "finished_at", "timestamp" },
    { "duration_ms", "bigint" },
    { "parameters", "text" },           -- masked JSON
    { "error_message", "text" },
    { "host_name", "string" },
    { "result_summary", "text" },
    { "schema_drift", "text" },         -- JSON: source_id -> drift since its previous run
  }),
  t("logs", { "run_id", "seq" }, {
    { "workflow_id", "string" },
    { "source_id", "string" },
    { "run_id", "string", not_null = true },
    { "seq", "int", not_null = true },
    { "log_timestamp", "timestamp" },
    { "log_level", "string" },
    { "module", "string" },
    { "log_message", "text" },
  }),
  -- nv.incremental: each file's last whole read, reused while unchanged
  t("file_profiles", { "source_key", "file_key" }, {
    { "source_key", "string", not_null = true }, -- sha256 of tenant, source id, path and type
    { "file_key", "string", not_null = true },   -- sha256 of the file's path or URL
    { "file_path", "text" },
    { "workflow_id", "string" },
    { "source_id", "string" },
    { "run_id", "string" },                      -- the run that read it
    { "fingerprint", "string" },                 -- the options and nvlua version it was read with
    { "size_bytes", "bigint" },
    { "mtime", "string" },
    { "etag", "string" },
    { "format", "string" },
    { "row_count", "bigint" },
    { "outcome", "text" },                       -- base64 of nv.serial text: the reader's statistics and facts
    { "profile", "text" },                       -- base64 of nv.profile's p:dump()
    { "profiled_at", "timestamp" },
  }),
}

M.by_name = {}
for _, tbl in ipairs(M.tables) do
  M.by_name[tbl.name] = tbl
  tbl.column_set = {}
  for _, c in ipairs(tbl.columns) do tbl.column_set[c[1]] = c end
end

-- logical type -> SQL type, per dialect
M.types = {
  sqlite = { string = "TEXT", text = "TEXT", int = "INTEGER", bigint = "INTEGER",
             double = "REAL", boolean = "INTEGER", timestamp = "TEXT" },
  postgresql = { string = "TEXT", text = "TEXT", int = "INTEGER", bigint = "BIGINT",
                 double = "DOUBLE PRECISION", boolean = "BOOLEAN", timestamp = "TIMESTAMPTZ" },
  mysql = { string = "VARCHAR(255)", text = "LONGTEXT", int = "INT", bigint = "BIGINT",
            double = "DOUBLE", boolean = "BOOLEAN", timestamp = "DATETIME(3)" },
  databricks = { string = "STRING", text = "STRING", int = "INT", bigint = "BIGINT",
                 double = "DOUBLE", boolean = "BOOLEAN", timestamp = "TIMESTAMP" },
}

M.table_names = {}
for i, tbl in ipairs(M.tables) do M.table_names[i] = tbl.name end

return M
