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
  test_connection = function(src, opts)
    if uc.test_connection then return uc.test_connection(src, opts) end
    return nil, "unity_catalog: test_connection is not implemented", "unsupported"
  end,
  extract = uc.source,
}
