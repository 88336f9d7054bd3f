-- schema_validation (spec 001): check the `_executor_metadata` schema and
-- its five tables, create what is missing, add missing columns to older
-- tables, and report. The runner opened the store and ran ensure(); this
-- job turns what it found and did into the spec's result.
local store = require "nv.store"

return {
  name = "schema_validation",
  description = "check the _executor_metadata store's five tables, create what is missing, add missing columns",
  params = {
    tenant_id = { help = "tenant recorded on every row and result (default: default)" },
  },
  outputs = {
    schema_name = "_executor_metadata",
    schema_version = "the schema version the store now has",
    store = "the store kind (sqlite, postgresql, mysql, odbc, databricks)",
    validation_status = "valid, or what this run had to do (created tables, migrated columns)",
    tables_found = "tables present",
    tables_created = "tables this run created",
    tables_missing = "tables still missing",
    columns_added = "columns this run added to older tables",
    recommendations = "what was done or should be done",
  },
  example = "nvlua run schema_validation --store sqlite:/tmp/meta.db",
  store = true,
  run = function(ctx)
    local report, err = store.validation_report(ctx.store, ctx.schema_before, ctx.schema_changes)
    if not report then return nil, "schema validation failed: " .. err end
    ctx.log:info("Schema %s: %s (%d found, %d created)", report.schema_name,
      report.validation_status, #report.tables_found, #report.tables_created)
    if report.validation_status == "invalid" then
      report.status, report.success = "failed", false
      report.error = "schema still incomplete: missing " .. table.concat(report.tables_missing, ", ")
    end
    return report
  end,
}
