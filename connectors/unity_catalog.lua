-- connectors/unity_catalog.lua: Databricks Unity Catalog (uc://catalog.schema,
-- databricks://host/catalog.schema, or a bare catalog[.schema] with
-- source_type unity_catalog) through the REST API.
local uc = require "nv.unitycatalog"

return {
  name = "unity_catalog",
  description = "Databricks Unity Catalog (catalogs, schemas, tables, columns, lineage-ready names)",
  source_types = { "unity_catalog", "databricks", "uc" },
  schemes = { "uc", "databricks" },
  match = uc.handles,
  asset_types = { "catalog", "schema", "table", "view", "column" },
  test_connection = uc.test_connection, -- lists the catalogs (and the path's catalog's schemas)
  extract = uc.source,
}
