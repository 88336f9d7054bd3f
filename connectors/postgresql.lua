-- connectors/postgresql.lua: PostgreSQL (postgresql://user@host:port/db,
-- or a libpq conninfo with source_type postgresql). A catalog kind: one
-- set-based catalog query, then per-table profiling pushed down as SQL.
local dbsource = require "nv.dbsource"

return {
  name = "postgresql",
  description = "PostgreSQL 10+ (catalog, keys, comments, views; profiling pushed down as SQL)",
  source_types = { "postgresql", "postgres" },
  engine = "postgresql", -- nv.dbsource's engine
  schemes = { "postgresql", "postgres" },
  asset_types = dbsource.supported_asset_types(),
  test_connection = dbsource.test_connection,
  extract = dbsource.source,
}
