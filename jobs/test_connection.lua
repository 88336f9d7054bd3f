-- test_connection (spec 004's extractor contract): connect to the source
-- through its connector (nv.connectors) and say what was reached — server
-- version, user, visible schemas, buckets, objects or catalogs — with every
-- secret masked. Exit 0 when every source answered, 1 otherwise (the error
-- names the source and the cause; error_code is its kind). Nothing is
-- extracted and no metadata row is written.
local params = require "nv.params"
local conntest = require "nv.conntest"

return {
  name = "test_connection",
  description = "connect to the source through its connector and report what was reached (nothing is extracted)",
  params = params.pick({ "data_source_path", "source_type", "tenant_id", "sources" }),
  outputs = {
    connection_status = "success or failed (partial for several sources)",
    connector = "the connector that served the source (nvlua connectors lists them)",
    asset_types = "what that connector extracts",
    connection_info = "what was reached: server version, user, database, schemas, buckets/objects, catalogs (masked)",
    error = "on failure: the source and the cause",
    error_code = "on failure: its kind (usage, connect, auth, io, parse, …)",
    connections = "with several sources: one entry per source with the keys above",
    source_id = "the source's id",
    source_path = "the path or URL tested (masked)",
  },
  example = "nvlua run test_connection postgresql://reader@db.example:5432/sales",
  run = conntest.run,
}
