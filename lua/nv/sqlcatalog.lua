-- nv.sqlcatalog: the catalog half every SQL connector shares: the source
-- options (include/exclude glob lists), the schema/table filters written
-- into the catalog queries (LIKE, parameterised) or applied in Lua, the
-- model's tables built from an engine's catalog, and the per-table status
-- helpers (failed, partial, warning) the driver (nv.dbsource) uses.
--
--   sqlcatalog.options(opts)                      -> opts with the glob lists as arrays
--   sqlcatalog.filter(dialect, opts, sexpr, texpr) -> " AND …" SQL, params
--   sqlcatalog.keep(opts, schema, table?)         -> whether the filters keep it
--   sqlcatalog.tkey(schema, table)                -> a lookup key
--   sqlcatalog.schema_names(db, dialect, sql, sexpr) -> {name…}: test_connection's schemas
--   sqlcatalog.build_tables(model, cat, dialect)  fills model.tables
--   sqlcatalog.fail / table_failed / table_partial / table_warning
--
-- What a dialect's catalog(db, opts, run, call, dialect) returns: {database,
-- version, schemas = {{schema_name, comment}}, tables = {{schema_name,
-- table_name, table_type, comment, estimate, size_bytes, definition,
-- last_modified, engine?, view_error?}}, columns = rows already in the
-- model's column shape {{name, ordinal_position, native_type, base_type,
-- category, element_type?, declared_nullable, default_value, comment}} (in
-- any order), constraints = {{name, type = p|f|u, columns, ref_schema?,
-- ref_table?, ref_columns?}}, indexes = {{name, is_unique, is_primary,
-- columns, definition?, index_type?}}, warnings = {text}? (what could not be
-- read; the source still succeeds)}. Constraints and indexes give their
-- columns by name (columns) or by ordinal position (keys; 0 = an
-- expression, skipped). Each row names its table by table_oid (PostgreSQL)
-- or by schema_name and table_name.
local globs = require "nv.globs"
local json = require "nv.json"
local log = require "nv.log"
local quality = require "nv.quality"

local M = {}

local FILTERS = { "include_schemas", "exclude_schemas", "include_tables", "exclude_tables" }

--- The source options with the four glob lists as arrays and profile
-- defaulting to "pushdown"; everything else is read through.
function M.options(opts)
  local o = setmetatable({}, { __index = opts })
  for _, k in ipairs(FILTERS) do o[k] = globs.list_of(opts[k]) end
  o.profile = opts.profile or "pushdown"
  return o
end

--- "AND …" conditions on a schema and a table expression: the dialect's
-- system schemas (system_schemas, system_like) left out, then the
-- include/exclude globs as LIKE patterns. Returns sql, params (a list to
-- append to the query's own parameters).
function M.filter(dialect, opts, sexpr, texpr)
  local sql, params = {}, {}
  local function add_any(expr, pats, negate)
    if #pats == 0 then return end
    local parts = {}
    for _, p in ipairs(pats) do
      parts[#parts + 1] = expr .. (negate and " NOT LIKE ?" or " LIKE ?")
      params[#params + 1] = globs.like(p)
    end
    sql[#sql + 1] = "(" .. table.concat(parts, negate and " AND " or " OR ") .. ")"
  end
  local marks = {}
  for i, s in ipairs(dialect.system_schemas or {}) do
    marks[i] = "?"
    params[#params + 1] = s
  end
  if #marks > 0 then sql[#sql + 1] = sexpr .. " NOT IN (" .. table.concat(marks, ", ") .. ")" end
  for _, p in ipairs(dialect.system_like or {}) do
    sql[#sql + 1] = sexpr .. " NOT LIKE ?"
    params[#params + 1] = p
  end
  add_any(sexpr, opts.include_schemas, false)
  add_any(sexpr, opts.exclude_schemas, true)
  if texpr then
    add_any(texpr, opts.include_tables, false)
    add_any(texpr, opts.exclude_tables, true)
  end
  if #sql == 0 then return "", params end
  return " AND " .. table.concat(sql, " AND "), params
end

--- The same filters applied in Lua (catalogs read whole, e.g. through
-- SQLTables): whether a schema (and table, when given) is kept.
function M.keep(opts, sname, tname)
  if not globs.keep(sname, opts.include_schemas, opts.exclude_schemas) then return false end
  if tname then return globs.keep(tname, opts.include_tables, opts.exclude_tables) end
  return true
end

--- test_connection's schema list: the names sql (with %s for the filter
-- on sexpr, the dialect's system schemas left out) returns in its
-- schema_name column | nil, msg, kind, native code.
function M.schema_names(db, dialect, sql, sexpr)
  local f, params = M.filter(dialect, M.options({}), sexpr, nil)
  local rows, err, kind, native = db:query(sql:format(f), table.unpack(params))
  if not rows then return nil, err, kind, native end
  local names = {}
  for i, r in ipairs(rows) do names[i] = r.schema_name end
  return names
end

function M.tkey(s, t) return s .. "\0" .. t end
local tkey = M.tkey

local function tref(r) return r.table_oid or tkey(r.schema_name, r.table_name) end

--- Fills model.tables from an engine's catalog (see above): one table per
-- catalog table, its columns (normalized by dialect.normalize), keys and
-- indexes.
function M.build_tables(model, cat, eng)
  local by = {}
  local hash = require("nv.filesource").hash
  local array = json.array
  local id_prefix = (model.source_id or "") .. "\0"
  for _, r in ipairs(cat.tables or {}) do
    local sname, tname = r.schema_name, r.table_name
    local t = {
      table_id = "t_" .. hash(id_prefix .. sname .. "." .. tname),
      name = tname, key = (sname ~= "" and (sname .. ".") or "") .. tname,
      schema_name = sname,
      catalog_name = cat.database, table_type = r.table_type, engine = r.engine,
      comment = (r.comment ~= "" and r.comment) or nil, definition = r.definition,
      row_count_estimate = r.estimate, rows = r.estimate or 0, size_bytes = r.size_bytes,
      last_modified = r.last_modified, status = "success",
      files = array(), errors = array(), warnings = {}, partition_columns = array(),
      ragged_rows = 0, bad_records = 0, columns = array(), foreign_keys = array(),
      unique_constraints = array(), indexes = array(), view_error = r.view_error,
    }
    by[tref(r)] = t
    model.tables[#model.tables + 1] = t
  end
  -- The column rows become the model's columns: a copy would double the
  -- tables (and the memory) of a wide catalog.
  local normalize = eng.normalize
  local last_ref, t
  local unordered = {} -- tables whose rows came out of ordinal order
  for _, c in ipairs(cat.columns or {}) do
    local ref = tref(c) -- rows mostly come grouped by table
    if ref ~= last_ref then last_ref, t = ref, by[ref] end
    if t then
      c.table_oid, c.schema_name, c.table_name = nil, nil, nil
      if c.comment == "" then c.comment = nil end
      c.is_primary_key = false
      local norm = normalize(c)
      c.normalized, c.inferred_type = norm, norm
      local cols = t.columns
      local n = #cols
      if n > 0 and (tonumber(cols[n].ordinal_position) or 0) > (tonumber(c.ordinal_position) or 0) then
        unordered[t] = true
      end
      cols[n + 1], c.position = c, n
    end
  end
  for tb in pairs(unordered) do
    local cols = tb.columns
    table.sort(cols, function(a, b) return (tonumber(a.ordinal_position) or 0) < (tonumber(b.ordinal_position) or 0) end)
    for i = 1, #cols do cols[i].position = i - 1 end
  end
  -- a key's columns: names (an array) and the model's columns (false where
  -- unknown), from names or from ordinal positions; nil when a position
  -- names no column (the table changed between the catalog queries)
  local named = {} -- table -> {column name -> column}, built on first use
  local function members(tb, k)
    local cols, names, list = tb.columns, array(), {}
    if k.keys then
      for _, n in ipairs(k.keys) do
        if n ~= 0 then
          local c = cols[n]
          if not (c and tonumber(c.ordinal_position) == n) then
            c = nil
            for _, x in ipairs(cols) do
              if tonumber(x.ordinal_position) == n then c = x break end
            end
          end
          if not c then return nil end
          names[#names + 1], list[#list + 1] = c.name, c
        end
      end
      return names, list
    end
    local m = named[tb]
    if not m then
      m = {}
      for _, c in ipairs(cols) do m[c.name] = c end
      named[tb] = m
    end
    for i, n in ipairs(k.columns or {}) do names[i], list[i] = n, m[n] or false end
    return names, list
  end
  for _, k in ipairs(cat.constraints or {}) do
    local tb = by[tref(k)]
    local cols, list
    if tb then cols, list = members(tb, k) end
    if cols then
      if k.type == "p" then
        tb.primary_key = cols
        for _, c in ipairs(list) do
          if c then c.is_primary_key = true end
        end
      elseif k.type == "f" then
        local refs = array()
        for i, n in ipairs(k.ref_columns or {}) do refs[i] = n end
        tb.foreign_keys[#tb.foreign_keys + 1] = { name = k.name, columns = cols, ref_schema = k.ref_schema,
                                                  ref_table = k.ref_table, ref_columns = refs }
        for i, c in ipairs(list) do
          if c then
            local rs = k.ref_schema == "" and "" or ((k.ref_schema or "?") .. ".") -- a DBMS without schemas
            c.foreign_key = string.format("%s%s(%s)", rs, k.ref_table or "?", refs[i] or "?")
          end
        end
      elseif k.type == "u" then
        tb.unique_constraints[#tb.unique_constraints + 1] = { name = k.name, columns = cols }
      end
    end
  end
  for _, x in ipairs(cat.indexes or {}) do
    local tb = by[tref(x)]
    local cols = tb and members(tb, x)
    if cols then
      tb.indexes[#tb.indexes + 1] = { name = x.name, unique = x.is_unique, primary = x.is_primary,
                                      columns = cols, definition = x.definition, index_type = x.index_type }
    end
  end
end
--- Fails the whole source: status "failed", the message in errors.
function M.fail(ctx, model, msg)
  model.status = "failed"
  model.errors[#model.errors + 1] = msg
  model.quality = quality.summarize(model.tables)
  ctx.log:error("%s", msg)
  return model
end

--- A table that could not be profiled: status "failed" and its error.
function M.table_failed(ctx, model, label, t, msg)
  t.status = "failed"
  local e = string.format("source %s: table %s: %s", label, t.key, log.mask(tostring(msg)))
  t.errors[#t.errors + 1] = e
  model.errors[#model.errors + 1] = e
  ctx.log:error("%s", e)
end

-- A table of a degrading engine whose rows could not be read: its catalog
-- metadata stays, with an error naming it and the driver's message.
function M.table_partial(ctx, model, label, t, msg)
  t.status = "partial"
  local e = string.format("source %s: table %s: not profiled, catalog metadata only: %s", label, t.key,
    log.mask(tostring(msg)))
  t.errors[#t.errors + 1] = e
  model.errors[#model.errors + 1] = e
  ctx.log:error("%s", e)
end

function M.table_warning(ctx, model, label, t, msg)
  local w = string.format("source %s: table %s: %s", label, t.key, log.mask(msg))
  t.warnings[#t.warnings + 1] = w
  model.warnings[#model.warnings + 1] = w
  ctx.log:warning("%s", w)
end

return M
