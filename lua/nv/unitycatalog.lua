-- nv.unitycatalog: a Databricks Unity Catalog metastore as a metadata
-- source (spec 004): catalogs, schemas, tables and their columns through
-- the Unity Catalog REST API (2.1), every listing followed through
-- next_page_token. Catalog only: no warehouse is needed and no data is read
-- (row counts come from table statistics when the metastore has them).
--
--   unitycatalog.source(ctx, src, opts, model) -> model
--   unitycatalog.handles(src)                  -> true when src is ours
--   unitycatalog.parse_path(path)              -> {host?, catalog?, schema?} | nil, msg
--   unitycatalog.test_connection(src, opts)    -> true, info | nil, msg, code
--
-- src.data_source_path: "uc://", "uc://<catalog>", "uc://<catalog>.<schema>"
-- (host from the configuration), or "databricks://<host>[/<catalog>[.<schema>]]";
-- source_type "unity_catalog" or "databricks". The token is
-- cfg.databricks.access_token / DATABRICKS_ACCESS_TOKEN (or
-- DATABRICKS_TOKEN); the host cfg.databricks.server_hostname /
-- workspace_url or the DATABRICKS_* variables (nv.databricks.settings).
-- opts (all optional): catalogs / schemas / tables (glob lists or
-- comma-separated strings, matched on the bare name), include_system
-- (false: the `system` catalog and every information_schema are skipped),
-- page_size (max_results sent; 0 = the server's page size, the default),
-- databricks (connect options overriding the configuration, for tests).
-- Fills the source model documented above nv.extract.source.
local json = require "nv.json"
local log = require "nv.log"
local quality = require "nv.quality"
local databricks = require "nv.databricks"

local M = {}

-- the source_type values of the unity_catalog connector (connectors/unity_catalog.lua)
M.source_types = { unity_catalog = true, databricks = true, uc = true }

--- Whether a source is a Unity Catalog source.
function M.handles(src)
  local path = src.data_source_path or ""
  if path:match("^uc://") then return true end
  if path:match("^databricks://") then return true end
  -- with source_type unity_catalog/databricks, a bare "catalog[.schema]"
  -- (never a file path such as /dbfs/…)
  return (M.source_types[src.source_type or ""] and path:match("^[%w_-]+%.?[%w_-]*$")) and true or false
end

--- Splits a source path: {host?, catalog?, schema?} | nil, msg.
function M.parse_path(path)
  local host, rest = path:match("^databricks://([^/]+)/?(.*)$")
  if not host then
    rest = path:match("^uc://(.*)$")
    if not rest then
      if path:match("^%a[%w+.-]*://") then return nil, "not a Unity Catalog path: " .. path end
      rest = path -- a bare "catalog[.schema]" with source_type unity_catalog
    end
  end
  rest = rest:gsub("/+$", "")
  if rest:match("^sql/") then rest = "" end -- a warehouse HTTP path names no catalog
  local out = { host = host }
  if rest ~= "" then
    local cat, sch = rest:match("^([^./]+)[./]([^./]+)$")
    if cat then
      out.catalog, out.schema = cat, sch
    elseif rest:match("^[^./]+$") then
      out.catalog = rest
    else
      return nil, "Unity Catalog path '" .. path .. "' must be uc://<catalog>[.<schema>]"
    end
  end
  return out
end

local list_of = require("nv.globs").list_of

local function glob_match(name, pats)
  return #pats == 0 or require("nv.globs").matches(pats, name)
end

--- Every item of a paginated Unity Catalog listing: items, pages | nil, msg.
-- A page may be empty while a next_page_token is present; the listing
-- ends only when the token is absent.
function M.list_all(client, path, key, query, page_size)
  local items, token, pages = json.array(), nil, 0
  repeat
    local q = {}
    for k, v in pairs(query or {}) do q[k] = v end
    q.max_results = tostring(page_size or 0)
    q.page_token = token
    local body, err = client:get(path, q)
    if not body then return nil, err end
    for _, it in ipairs(body[key] or {}) do items[#items + 1] = it end
    token = body.next_page_token
    if token == json.null or token == "" then token = nil end
    pages = pages + 1
    if pages > 100000 then return nil, path .. ": too many pages" end
  until not token
  return items, pages
end

local NORMAL = {
  STRING = "string", CHAR = "string", VARCHAR = "string", BYTE = "integer", SHORT = "integer", INT = "integer",
  LONG = "integer", FLOAT = "decimal", DOUBLE = "decimal", DECIMAL = "decimal", BOOLEAN = "boolean",
  DATE = "date", TIMESTAMP = "timestamp", TIMESTAMP_NTZ = "timestamp", BINARY = "binary",
  ARRAY = "array", MAP = "map", STRUCT = "struct", INTERVAL = "interval", NULL = "null",
}

local function normalize(c)
  local tn = type(c.type_name) == "string" and c.type_name:upper() or nil
  if tn == "ARRAY" and type(c.type_text) == "string" then
    local el = c.type_text:match("^[Aa][Rr][Rr][Aa][Yy]<(%a+)")
    if el then return "array<" .. (NORMAL[el:upper()] or el:lower()) .. ">" end
  end
  return NORMAL[tn or ""] or (type(c.type_text) == "string" and c.type_text:lower()) or "string"
end

local function str(v)
  if v == nil or v == json.null or v == "" then return nil end
  return v
end

local function fail(ctx, model, msg)
  model.status = "failed"
  model.errors[#model.errors + 1] = msg
  ctx.log:error("%s", msg)
  return model
end

local function build_table(model, r)
  local hash = require("nv.filesource").hash
  local key = r.catalog_name .. "." .. r.schema_name .. "." .. r.name
  local props = type(r.properties) == "table" and r.properties or {}
  local rows = math.tointeger(tonumber(props["spark.sql.statistics.numRows"] or ""))
  local size = math.tointeger(tonumber(props["spark.sql.statistics.totalSize"] or ""))
  local updated = tonumber(r.updated_at ~= json.null and r.updated_at or nil)
  local t = {
    table_id = "t_" .. hash((model.source_id or "") .. "\0" .. key),
    name = r.name, key = key, catalog_name = r.catalog_name, schema_name = r.schema_name,
    table_type = str(r.table_type), comment = str(r.comment), definition = str(r.view_definition),
    file_type = str(r.data_source_format) and r.data_source_format:lower() or nil,
    storage_location = str(r.storage_location), owner = str(r.owner),
    rows = rows or 0, row_count_estimate = rows, size_bytes = size,
    last_modified = updated and math.floor(updated / 1000) or nil, status = "success",
    files = json.array(), errors = json.array(), warnings = {}, partition_columns = json.array(),
    ragged_rows = 0, bad_records = 0, columns = json.array(), foreign_keys = json.array(),
  }
  local cols = {}
  for _, c in ipairs(r.columns ~= json.null and r.columns or {}) do cols[#cols + 1] = c end
  table.sort(cols, function(a, b) return (tonumber(a.position) or 0) < (tonumber(b.position) or 0) end)
  local parts = {}
  for i, c in ipairs(cols) do
    local col = {
      name = c.name, position = i - 1, ordinal_position = math.tointeger(tonumber(c.position)),
      native_type = str(c.type_text) or str(c.type_name), declared_nullable = c.nullable ~= false,
      comment = str(c.comment), is_primary_key = false, samples = json.array(),
    }
    col.normalized = normalize(c)
    col.inferred_type = col.normalized
    local pidx = tonumber(c.partition_index ~= json.null and c.partition_index or nil)
    if pidx then
      col.partition = true
      parts[#parts + 1] = { pidx, c.name }
    end
    t.columns[#t.columns + 1] = col
  end
  table.sort(parts, function(a, b) return a[1] < b[1] end)
  for i, p in ipairs(parts) do t.partition_columns[i] = p[2] end
  return t
end

-- the client for a source: client, where | nil, msg, code
local function client_for(src, opts, cfg)
  local raw = src.data_source_path or ""
  local where, perr = M.parse_path(raw)
  if not where then return nil, "source " .. log.mask(raw) .. ": " .. perr, "usage" end
  local settings = databricks.settings(cfg and cfg.databricks)
  if where.host then settings.host = where.host end
  for k, v in pairs(opts.databricks or {}) do settings[k] = v end
  settings.rest_only = true -- no warehouse needed
  local client, cerr, code = databricks.connect(settings)
  if not client then return nil, "source " .. log.mask(raw) .. ": " .. cerr, code end
  return client, where
end

--- Checks that the metastore answers with the configured token: lists the
-- catalogs (one page), and the schemas of the catalog the path names.
-- opts: the run's configuration (its databricks section) or {databricks =
-- connect options}. true, {kind, host, catalogs = {name…}, catalog_count,
-- catalog?, schemas?, schema?} | nil, message, code ("usage", "auth",
-- "connect", "parse", or nv.http's transfer code).
function M.test_connection(src, opts)
  opts = opts or {}
  local client, where, code = client_for(src, opts, opts)
  if not client then return nil, where, code end
  local label = client.base .. (where.catalog and ("/" .. where.catalog) or "")
  local function failed(what, err, c, native)
    return nil, string.format("Unity Catalog %s: cannot list %s: %s", label, what, err), c or "connect", native
  end
  local body, err, c, cnative = client:get("/api/2.1/unity-catalog/catalogs", { max_results = "50" })
  if not body then return failed("catalogs", err, c, cnative) end
  local info = { kind = "unity_catalog", host = client.base, catalogs = json.array() }
  for _, cat in ipairs(type(body.catalogs) == "table" and body.catalogs or {}) do
    info.catalogs[#info.catalogs + 1] = cat.name
  end
  info.catalog_count = #info.catalogs
  if body.next_page_token and body.next_page_token ~= json.null and body.next_page_token ~= "" then
    info.more_catalogs = true
  end
  if where.catalog then
    info.catalog = where.catalog
    local sb, serr, sc, snative = client:get("/api/2.1/unity-catalog/schemas", { catalog_name = where.catalog,
                                                                                  max_results = "50" })
    if not sb then return failed("the schemas of catalog " .. where.catalog, serr, sc, snative) end
    info.schemas = json.array()
    for _, s in ipairs(type(sb.schemas) == "table" and sb.schemas or {}) do info.schemas[#info.schemas + 1] = s.name end
    if where.schema then
      info.schema = where.schema
      local found = false
      for _, s in ipairs(info.schemas) do found = found or s == where.schema end
      if not found and not (sb.next_page_token and sb.next_page_token ~= json.null and sb.next_page_token ~= "") then
        return nil, string.format("Unity Catalog %s: schema %s.%s does not exist (or is not visible)", client.base,
          where.catalog, where.schema), "usage"
      end
    end
  end
  return true, info
end

--- Extracts one Unity Catalog source into model (see nv.extract.source).
function M.source(ctx, src, opts, model)
  opts = opts or {}
  local raw = src.data_source_path or ""
  model.source_path = log.mask(raw)
  if model.source_type == nil or model.source_type == "auto" then model.source_type = "unity_catalog" end
  local client, where = client_for(src, opts, ctx.config)
  if not client then return fail(ctx, model, where) end
  model.connection_info = json.encode({ kind = "unity_catalog", host = client.base,
                                        catalog = where.catalog, schema = where.schema })
  local label = client.base .. (where.catalog and ("/" .. where.catalog) or "")
      .. (where.schema and ("." .. where.schema) or "")
  local page = tonumber(opts.page_size) or 0
  local pcats, pschemas, ptables = list_of(opts.catalogs), list_of(opts.schemas), list_of(opts.tables)
  local requests = 0

  local catalogs
  if where.catalog then
    catalogs = { { name = where.catalog } }
  else
    local all, n = M.list_all(client, "/api/2.1/unity-catalog/catalogs", "catalogs", nil, page)
    if not all then return fail(ctx, model, "source " .. label .. ": cannot list catalogs: " .. n) end
    requests = requests + n
    catalogs = {}
    for _, c in ipairs(all) do
      if glob_match(c.name, pcats) and (opts.include_system or c.name ~= "system") then catalogs[#catalogs + 1] = c end
    end
  end
  model.catalogs, model.schemas = json.array(), json.array()
  local failed = 0
  for _, cat in ipairs(catalogs) do
    model.catalogs[#model.catalogs + 1] = { name = cat.name, comment = str(cat.comment),
                                            catalog_type = str(cat.catalog_type) }
    local schemas
    if where.schema then
      schemas = { { name = where.schema, catalog_name = cat.name } }
    else
      local all, n = M.list_all(client, "/api/2.1/unity-catalog/schemas", "schemas",
        { catalog_name = cat.name }, page)
      if not all then
        model.errors[#model.errors + 1] = string.format("source %s: catalog %s: cannot list schemas: %s", label,
          cat.name, n)
        ctx.log:error("%s", model.errors[#model.errors])
        failed = failed + 1
        all = {}
      else
        requests = requests + n
      end
      schemas = {}
      for _, s in ipairs(all) do
        if glob_match(s.name, pschemas) and (opts.include_system or s.name ~= "information_schema") then
          schemas[#schemas + 1] = s
        end
      end
    end
    for _, s in ipairs(schemas) do
      model.schemas[#model.schemas + 1] = { name = s.name, catalog_name = cat.name, comment = str(s.comment) }
      local tables, n = M.list_all(client, "/api/2.1/unity-catalog/tables", "tables",
        { catalog_name = cat.name, schema_name = s.name }, page)
      if not tables then
        model.errors[#model.errors + 1] = string.format("source %s: schema %s.%s: cannot list tables: %s", label,
          cat.name, s.name, n)
        ctx.log:error("%s", model.errors[#model.errors])
        failed = failed + 1
      else
        requests = requests + n
        for _, r in ipairs(tables) do
          if glob_match(r.name, ptables) then
            r.catalog_name = str(r.catalog_name) or cat.name
            r.schema_name = str(r.schema_name) or s.name
            local t = build_table(model, r)
            t.quality = quality.table(t, { freshness_days = opts.freshness_days })
            model.tables[#model.tables + 1] = t
            model.total_size_bytes = model.total_size_bytes + (t.size_bytes or 0)
          end
        end
      end
    end
  end
  model.catalog_requests = requests
  if failed > 0 and #model.tables == 0 then
    model.status = "failed"
  elseif failed > 0 then
    model.status = "partial"
  else
    model.status = "success"
  end
  model.quality = quality.summarize(model.tables)
  ctx.log:info("Source %s: %d catalogs, %d schemas, %d tables (%d Unity Catalog requests), %s", label,
    #model.catalogs, #model.schemas, #model.tables, requests, model.status)
  return model
end

return M
