-- nv.sourcetypes: the one list of `source_type` values a job accepts
-- (positional, config, payload `data_source_type`, `sources[i]`), and what
-- each means. Every module that branches on a source type derives its
-- table from this list (nv.filesource formats, nv.remote object stores,
-- nv.extract / nv.dbsource engines, nv.unitycatalog), and nv.config
-- refuses any other value as a usage error before the job runs.
--   kind    auto | file | s3 | azure | database | unity_catalog
--   format  (file kinds) the reader forced for every file
--   engine  (database kinds) nv.dbsource's engine when the path alone
--           does not tell (postgresql | mysql | odbc)
local M = {}

M.types = {
  auto = { kind = "auto" }, file = { kind = "auto" }, ["local"] = { kind = "auto" },
  csv = { kind = "file", format = "csv" }, tsv = { kind = "file", format = "csv" },
  json = { kind = "file", format = "json" }, ndjson = { kind = "file", format = "json" },
  jsonl = { kind = "file", format = "json" },
  parquet = { kind = "file", format = "parquet" }, delta = { kind = "file", format = "parquet" },
  xlsx = { kind = "file", format = "xlsx" }, excel = { kind = "file", format = "xlsx" },
  aws_s3 = { kind = "s3" }, s3 = { kind = "s3" },
  azure_blob = { kind = "azure" }, azure = { kind = "azure" }, adls = { kind = "azure" },
  adls_gen2 = { kind = "azure" }, azure_datalake = { kind = "azure" },
  postgresql = { kind = "database", engine = "postgresql" }, postgres = { kind = "database", engine = "postgresql" },
  mysql = { kind = "database", engine = "mysql" }, mariadb = { kind = "database", engine = "mysql" },
  odbc = { kind = "database", engine = "odbc" },
  -- through ODBC: the path is an odbc:… connection string
  snowflake = { kind = "database" }, sqlserver = { kind = "database" }, databricks_sql = { kind = "database" },
  unity_catalog = { kind = "unity_catalog" }, databricks = { kind = "unity_catalog" }, uc = { kind = "unity_catalog" },
}

--- The known names, sorted.
function M.names()
  local names = {}
  for k in pairs(M.types) do names[#names + 1] = k end
  table.sort(names)
  return names
end

--- {name -> value of field} for every type that has the field
-- (e.g. where("format") = {csv = "csv", …}); with kind, {name -> true}
-- for the types of that kind.
function M.where(field, kind)
  local out = {}
  for name, t in pairs(M.types) do
    if kind then
      if t.kind == kind then out[name] = true end
    elseif t[field] ~= nil then
      out[name] = t[field]
    end
  end
  return out
end

--- The known name nearest to s, when near enough to be a typo, else nil.
function M.nearest(s)
  return require("nv.suggest").nearest(s, M.names())
end

--- Checks a source_type value: the normalized name (lower case) |
-- nil, message naming the known types and the nearest one.
function M.check(value, what)
  what = what or "source_type"
  if type(value) ~= "string" then return nil, string.format("%s must be a string", what) end
  local name = value:lower()
  if M.types[name] then return name end
  local near = M.nearest(name)
  return nil, string.format("unknown %s '%s'%s; known types: %s", what, value,
    near and (" (did you mean " .. near .. "?)") or "", table.concat(M.names(), ", "))
end

return M
