-- connectors/mysql.lua: MySQL and MariaDB (mysql://user@host:port/db).
-- A catalog kind: INFORMATION_SCHEMA catalog, profiling pushed down as SQL.
local dbsource = require "nv.dbsource"

return {
  name = "mysql",
  description = "MySQL 5.7+/8 and MariaDB 10+ (catalog, keys, comments, views; profiling pushed down as SQL)",
  source_types = { "mysql", "mariadb" },
  engine = "mysql", -- nv.dbsource's engine
  schemes = { "mysql", "mariadb" },
  asset_types = dbsource.supported_asset_types(),
  test_connection = dbsource.test_connection,
  extract = dbsource.source,
}
