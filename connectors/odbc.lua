-- connectors/odbc.lua: any ODBC driver (odbc:DSN=…; or odbc:Driver=…;…).
-- Snowflake, SQL Server and Databricks SQL are engine profiles of it: the
-- same catalog queries through INFORMATION_SCHEMA and portable profiling.
local dbsource = require "nv.dbsource"

return {
  name = "odbc",
  description = "generic ODBC (Snowflake, SQL Server, Databricks SQL, … through their ODBC drivers)",
  source_types = { "odbc", "snowflake", "sqlserver", "databricks_sql" },
  engine = "odbc", -- nv.dbsource's engine
  schemes = { "odbc" },
  asset_types = dbsource.supported_asset_types(),
  test_connection = dbsource.test_connection,
  extract = dbsource.source,
}
