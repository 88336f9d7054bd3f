-- schema_validation (spec 001): check the `_executor_metadata` schema and
-- its five tables, create what is missing, add missing columns to older
-- tables, and report. The runner opened the store and ran ensure(); this
-- job turns what it found and did into the spec's result.
local store = require "nv.store"

return {
  name = "schema_validation",
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
