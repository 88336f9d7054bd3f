-- connectors/s3.lua: Amazon S3 and S3-compatible stores (s3://, s3a://,
-- s3n://; credentials from the config's aws section or the environment).
-- A file-like kind: objects are listed, fetched lazily (a bounded prefix
-- unless full_profile) and grouped into tables by nv.remote.
local remote = require "nv.remote"

return {
  name = "s3",
  description = "Amazon S3 and S3-compatible object stores",
  source_types = { "aws_s3", "s3" },
  schemes = { "s3", "s3a", "s3n" },
  asset_types = { "bucket", "object", "table", "delta_table", "column" },
  test_connection = remote.test_connection,
  tables = remote.tables,
}
