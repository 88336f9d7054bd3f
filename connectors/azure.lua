-- connectors/azure.lua: Azure Blob Storage and ADLS Gen2 (abfs[s]://,
-- wasb[s]://, https://ACCOUNT.blob|dfs.core.…; account key or SAS from the
-- config's azure section or the URL). A file-like kind like s3.
local remote = require "nv.remote"

return {
  name = "azure",
  description = "Azure Blob Storage and ADLS Gen2",
  source_types = { "azure_blob", "azure", "adls", "adls_gen2", "azure_datalake" },
  schemes = { "abfs", "abfss", "wasb", "wasbs" },
  -- https://ACCOUNT.blob.core.… / .dfs.core.… URLs
  match = function(src)
    local p = type(src.data_source_path) == "string" and src.data_source_path or ""
    return p:match("^https?://[%w]+%.blob%.core%.[^/]+") ~= nil or p:match("^https?://[%w]+%.dfs%.core%.[^/]+") ~= nil
  end,
  asset_types = { "container", "blob", "table", "delta_table", "column" },
  test_connection = remote.test_connection,
  tables = remote.tables,
}
