-- nv.store: the `_executor_metadata` store. DDL comes from nv.schema through
-- a dialect; this module validates/creates/migrates the schema and writes
-- rows with bound parameters only. Backends: SQLite (C driver
-- nv.store.sqlite, the default, a file attached as `_executor_metadata`);
-- PostgreSQL, MySQL/MariaDB, ODBC and Databricks SQL are the dialect
-- modules nv.store.<kind> over their drivers.
local schema = require "nv.schema"
local json = require "nv.json"

local M = {}
M.schema_name = schema.name

local function quote(id)
  return '"' .. tostring(id):gsub('"', '""') .. '"'
end

local dialects = {}

dialects.sqlite = {
  name = "sqlite",
  quote = quote,
  open = function(target)
    local sqlite = require "nv.store.sqlite"
    return sqlite.open(target, { schema = schema.name })
  end,
  list_tables = function(db)
    local rows, err = db:query(
      "SELECT name FROM " .. quote(schema.name) .. ".sqlite_master WHERE type = 'table'")
    if not rows then return nil, err end
    local set = {}
    for _, r in ipairs(rows) do set[r.name] = true end
    return set
  end,
  list_columns = function(db, tname)
    local rows, err = db:query("SELECT name FROM pragma_table_info(?, ?)", tname, schema.name)
    if not rows then return nil, err end
    local set = {}
    for _, r in ipairs(rows) do set[r.name] = true end
    return set
  end,
  begin = "BEGIN IMMEDIATE",
}

local unavailable = {} -- every kind has a backend; kept for kinds a build leaves out

-- Other backends are Lua modules nv.store.<kind> returning a dialect:
-- { name = <key of nv.schema.types>, quote = fn(id), open = fn(target) ->
--   db | nil, msg (db has exec(sql, ...) / query(sql, ...) -> rows / close(),
--   parameters written as "?"), list_tables = fn(db) -> set | nil, msg,
--   list_columns = fn(db, table) -> set | nil, msg, begin = "BEGIN …",
--   qualified = optional fn(schema, table) -> text }.
local function find_dialect(kind)
  if dialects[kind] then return dialects[kind] end
  local ok, d = pcall(require, "nv.store." .. kind)
  if ok and type(d) == "table" then
    dialects[kind] = d
    return d
  end
  if ok or tostring(d):match("module 'nv%.store%." .. kind .. "' not found") then return nil end
  error(d, 0)
end

--- Splits a store URL into (kind, target) or nil, message.
-- sqlite:PATH | sqlite://PATH | PATH.db|.sqlite|.sqlite3 | postgresql://… |
-- mysql://… | mariadb://… | odbc:… | databricks
function M.parse_url(url)
  if type(url) ~= "string" or url == "" then return nil, "store URL is empty" end
  local path = url:match("^sqlite://(.+)$") or url:match("^sqlite:(.+)$")
  if path then return "sqlite", path end
  if url:match("^postgres") then return "postgresql", url end
  if url:match("^mysql://") or url:match("^mariadb://") then return "mysql", url end
  if url:match("^odbc:") then return "odbc", url end
  if url:match("^databricks") then return "databricks", url end
  if url:match("%.db$") or url:match("%.sqlite3?$") then return "sqlite", url end
  return nil, "unrecognised store '" .. url .. "' (use sqlite:PATH, postgresql://…, mysql://…, odbc:…)"
end

--- The store's name for messages: its URL without secrets (the password
-- of a URL's user:password@, an ODBC PWD=/Password= value) and nothing
-- else changed, so an operator recognizes which store failed.
function M.describe(url)
  local text = tostring(url or "sqlite:_executor_metadata.db")
  text = text:gsub("^(%a[%w+.-]*://)([^/@%s]-):[^/@%s]*@", "%1%2@")
  text = text:gsub("([Pp][Ww][Dd]=)[^;]*", "%1***"):gsub("([Pp]assword=)[^;&]*", "%1***")
  return text
end

--- UTC timestamp text for a store ("2026-11-25 19:09:13.123").
function M.timestamp(epoch)
  epoch = epoch or os.time()
  local secs = math.floor(epoch)
  local ms = math.floor((epoch - secs) * 1000 + 0.5)
  if ms >= 1000 then secs, ms = secs + 1, ms - 1000 end
  return os.date("!%Y-%m-%d %H:%M:%S", secs) .. string.format(".%03d", ms)
end

-- A driver's failure in the error convention: nil, message, the string
-- kind the driver gives ("sql", "io", "connect", "busy", …) and its native
-- code (SQLite's extended result code, MySQL's error number, a SQLSTATE).
-- A dialect that gives only a native code in the third slot gets "sql".
local function failure(err, kind, native)
  if type(kind) == "string" and kind:match("^%l[%l_]*$") then return nil, err, kind, native end
  return nil, err, "sql", kind
end

local Store = {}
Store.__index = Store

--- Opens a store. opts.url (default sqlite:_executor_metadata.db).
-- Returns store or nil, message.
-- cfg (optional): the job configuration, for dialects that read settings
-- from it (dialect.configure(cfg), e.g. cfg.databricks).
function M.open(url, cfg)
  local kind, target = M.parse_url(url or "sqlite:_executor_metadata.db")
  if not kind then return nil, target end
  local dialect = find_dialect(kind)
  if dialect and dialect.configure and cfg then dialect.configure(cfg.databricks or {}) end
  if not dialect then
    return nil, string.format("store '%s' is not available in this build: %s", kind, unavailable[kind] or "no driver")
  end
  local db, err = dialect.open(target)
  if not db then return nil, err end
  return setmetatable({ db = db, dialect = dialect, kind = kind, target = target, url = url,
                        name = M.describe(url or "sqlite:_executor_metadata.db") }, Store)
end

function Store:qualified(tname)
  if self.dialect.qualified then return self.dialect.qualified(schema.name, tname) end
  return self.dialect.quote(schema.name) .. "." .. self.dialect.quote(tname)
end

-- raises a driver's failure inside a transaction without a source position
-- (the message is the driver's own: "postgresql: …", "sqlite: …")
local function must(ok, err)
  if not ok then error(tostring(err), 0) end
  return ok
end

local function create_sql(self, tbl)
  local q, types = self.dialect.quote, schema.types[self.dialect.name]
  local parts = {}
  for _, c in ipairs(tbl.columns) do
    parts[#parts + 1] = q(c[1]) .. " " .. types[c[2]] .. (c.not_null and " NOT NULL" or "")
  end
  local key = {}
  for i, k in ipairs(tbl.key) do key[i] = q(k) end
  parts[#parts + 1] = "PRIMARY KEY (" .. table.concat(key, ", ") .. ")"
  return "CREATE TABLE IF NOT EXISTS " .. self:qualified(tbl.name) .. " (\n  "
      .. table.concat(parts, ",\n  ") .. "\n)"
end

--- Compares the store with nv.schema. Returns
-- {found = {...}, missing = {...}, missing_columns = {table = {...}}}.
function Store:validate()
  local present, err = self.dialect.list_tables(self.db)
  if not present then return nil, err end
  local report = { found = json.array(), missing = json.array(), missing_columns = {} }
  for _, tbl in ipairs(schema.tables) do
    if present[tbl.name] then
      report.found[#report.found + 1] = tbl.name
      local cols, cerr = self.dialect.list_columns(self.db, tbl.name)
      if not cols then return nil, cerr end
      for _, c in ipairs(tbl.columns) do
        if not cols[c[1]] then
          report.missing_columns[tbl.name] = report.missing_columns[tbl.name] or json.array()
          table.insert(report.missing_columns[tbl.name], c[1])
        end
      end
    else
      report.missing[#report.missing + 1] = tbl.name
    end
  end
  return report
end

--- Creates missing tables and adds missing columns (existing rows kept).
-- Returns {created = {...}, columns_added = {"table.column", ...}} or nil, msg.
function Store:ensure()
  local report, err = self:validate()
  if not report then return nil, err end
  local done = { created = json.array(), columns_added = json.array() }
  -- nothing to change: no transaction, so a read-only store opens for reading
  if #report.missing == 0 and next(report.missing_columns) == nil then return done, report end
  local ok, terr = self:transaction(function()
    for _, name in ipairs(report.missing) do
      must(self.db:exec(create_sql(self, schema.by_name[name])))
      done.created[#done.created + 1] = name
    end
    local types = schema.types[self.dialect.name]
    for _, tbl in ipairs(schema.tables) do
      for _, col in ipairs(report.missing_columns[tbl.name] or {}) do
        local c = tbl.column_set[col]
        must(self.db:exec("ALTER TABLE " .. self:qualified(tbl.name) .. " ADD COLUMN "
          .. self.dialect.quote(col) .. " " .. types[c[2]]))
        done.columns_added[#done.columns_added + 1] = tbl.name .. "." .. col
      end
    end
  end)
  if not ok then return nil, terr end
  return done, report
end

-- ROLLBACK after a failure; the failure's message, plus the ROLLBACK's own
-- error when that failed too (a dead connection: the server discards the
-- transaction; SQLite after SQLITE_FULL may have rolled back already)
local function rollback(self, msg)
  local ok, err = self.db:exec("ROLLBACK")
  if not ok and not tostring(err):find("no transaction is active", 1, true) then
    return msg .. " (ROLLBACK failed too: " .. tostring(err) .. ")"
  end
  return msg
end

--- Runs fn inside one transaction; rolls back if it raises.
-- Returns true or nil, message. Nothing counts as written before COMMIT
-- succeeds: a failed COMMIT returns nil, "COMMIT failed: …" (on a
-- connection lost during COMMIT the server may still have committed; the
-- caller reports the write as not done, and a re-run replaces it).
function Store:transaction(fn)
  if self.in_tx then
    local ok, err = pcall(fn)
    if not ok then error(err, 0) end
    return true
  end
  local ok, err = self.db:exec(self.dialect.begin)
  if not ok then return nil, tostring(err) end
  self.in_tx = true
  local fok, ferr = pcall(fn)
  self.in_tx = false
  if not fok then return nil, rollback(self, tostring(ferr)) end
  local cok, cerr = self.db:exec("COMMIT")
  if not cok then return nil, rollback(self, "COMMIT failed: " .. tostring(cerr)) end
  return true
end

-- Every text written is valid UTF-8 (file names, log lines and error
-- excerpts can hold any bytes): invalid sequences become U+FFFD.
local function bind_value(v)
  if type(v) == "table" then return json.encode(v) end
  if v == json.null then return nil end
  if type(v) == "string" then return (json.valid_utf8(v)) end
  return v
end

--- Inserts one row (a table keyed by column name). Raises on unknown
-- columns (a programming error); returns true or nil, message.
function Store:insert(tname, row)
  local tbl = assert(schema.by_name[tname], "unknown table " .. tostring(tname))
  local cols, marks, vals = {}, {}, {}
  for _, c in ipairs(tbl.columns) do
    local v = row[c[1]]
    if v ~= nil then
      cols[#cols + 1] = self.dialect.quote(c[1])
      marks[#cols] = "?"
      vals[#cols] = bind_value(v) -- may be nil (json.null): index explicitly
    end
  end
  for k in pairs(row) do
    if not tbl.column_set[k] then error("table " .. tname .. " has no column '" .. tostring(k) .. "'", 2) end
  end
  local sql = "INSERT INTO " .. self:qualified(tname) .. " (" .. table.concat(cols, ", ")
      .. ") VALUES (" .. table.concat(marks, ", ") .. ")"
  local n, err = self.db:exec(sql, table.unpack(vals, 1, #cols))
  if not n then return nil, err end
  return true
end

--- Deletes rows matching every column = value in where: the count | nil, msg, kind, native code.
function Store:delete(tname, where)
  local tbl = assert(schema.by_name[tname], "unknown table " .. tostring(tname))
  local conds, vals = {}, {}
  local keys = {}
  for k in pairs(where) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    assert(tbl.column_set[k], "table " .. tname .. " has no column " .. k)
    conds[#conds + 1] = self.dialect.quote(k) .. " = ?"
    vals[#vals + 1] = where[k]
  end
  assert(#conds > 0, "delete needs a condition")
  local n, err, kind, native = self.db:exec("DELETE FROM " .. self:qualified(tname) .. " WHERE "
    .. table.concat(conds, " AND "), table.unpack(vals, 1, #conds))
  if n == nil then return failure(err, kind, native) end
  return n
end

--- Inserts or replaces one row by the table's primary key.
function Store:upsert(tname, row)
  local tbl = schema.by_name[tname]
  return self:transaction(function()
    local where = {}
    for _, k in ipairs(tbl.key) do
      where[k] = assert(row[k], tname .. " row needs key column " .. k)
    end
    must(self:delete(tname, where))
    must(self:insert(tname, row))
  end)
end

--- Writes one source's metadata in one transaction, replacing whatever the
-- same (run_id, source_id) wrote before.
-- rec = {source = row, tables = {row + columns = {row, ...}, ...}}
function Store:write_source(rec)
  local src = rec.source
  local run_id, source_id = assert(src.run_id, "source.run_id"), assert(src.source_id, "source.source_id")
  return self:transaction(function()
    for _, tname in ipairs({ "columns", "tables", "sources" }) do
      must(self:delete(tname, { run_id = run_id, source_id = source_id }))
    end
    must(self:insert("sources", src))
    for _, t in ipairs(rec.tables or {}) do
      local columns = t.columns
      local row = {}
      for k, v in pairs(t) do if k ~= "columns" then row[k] = v end end
      row.run_id, row.source_id, row.workflow_id = run_id, source_id, src.workflow_id
      must(self:insert("tables", row))
      for _, c in ipairs(columns or {}) do
        local crow = {}
        for k, v in pairs(c) do crow[k] = v end
        crow.run_id, crow.source_id, crow.workflow_id = run_id, source_id, src.workflow_id
        crow.table_id, crow.table_name = row.table_id, crow.table_name or row.table_name
        must(self:insert("columns", crow))
      end
    end
  end)
end

--- Appends log records ({time, level, module, message}) for a run.
function Store:write_logs(ids, records, first_seq)
  local seq = first_seq or 0
  local ok, err = self:transaction(function()
    for _, r in ipairs(records) do
      seq = seq + 1
      must(self:insert("logs", {
        run_id = ids.run_id, workflow_id = ids.workflow_id, source_id = ids.source_id,
        seq = seq, log_timestamp = M.timestamp(r.time), log_level = r.level,
        module = r.module, log_message = r.message,
      }))
    end
  end)
  if not ok then return nil, err end
  return seq
end

--- Runs a read query; returns rows (array of column->value tables) | nil,
-- message, kind ("sql", "io", "connect", …), the driver's native code.
function Store:query(sql, ...)
  local rows, err, kind, native = self.db:query(sql, ...)
  if rows == nil then return failure(err, kind, native) end
  return rows, err
end

function Store:close()
  if self.db then
    local db = self.db
    self.db = nil
    return db:close()
  end
  return true
end
Store.__close = Store.close
Store.__gc = Store.close

--- The schema_validation result (spec 001) for a store the runner opened:
-- before = what validate() found, changes = what ensure() did. The tables
-- are the state after the job (tables_found, tables_missing: what is still
-- missing), tables_created / columns_added what it changed, and
-- validation_status: invalid (something is still missing), created (it
-- created tables), migrated (it only added columns), valid (nothing to do).
function M.validation_report(store, before, changes)
  local after, err = store:validate()
  if not after then return nil, err end
  local valid = #after.missing == 0 and next(after.missing_columns) == nil
  local status = (not valid and "invalid") or (#changes.created > 0 and "created")
      or (#changes.columns_added > 0 and "migrated") or "valid"
  local recs = json.array()
  if #changes.created > 0 then
    recs[#recs + 1] = "Created missing tables: " .. table.concat(changes.created, ", ")
  end
  if #changes.columns_added > 0 then
    recs[#recs + 1] = "Added missing columns (existing rows kept): " .. table.concat(changes.columns_added, ", ")
  end
  if not valid then recs[#recs + 1] = "Schema is still incomplete; check the store's permissions" end
  return {
    schema_name = schema.name,
    schema_version = schema.version,
    store = store.kind,
    validation_status = status,
    tables_found = after.found,
    tables_missing = after.missing,
    columns_missing = next(after.missing_columns) and after.missing_columns or nil,
    tables_found_before = before and before.found or nil,
    tables_created = changes.created,
    columns_added = changes.columns_added,
    recommendations = recs,
  }
end

M.Store = Store
return M
