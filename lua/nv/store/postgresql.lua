-- nv.store.postgresql: the PostgreSQL dialect of the `_executor_metadata`
-- store (see find_dialect in nv.store). The tables live in the schema
-- "_executor_metadata", created on open when missing; the driver is nv.pg.
-- NVLUA_STORE_CONNECT_TIMEOUT (seconds, default 10) bounds the connect.
local schema = require "nv.schema"

local function quote(id)
  return '"' .. tostring(id):gsub('"', '""') .. '"'
end

local function timeout()
  return tonumber(os.getenv("NVLUA_STORE_CONNECT_TIMEOUT") or "") or 10
end

local function name_set(db, sql, ...)
  local rows, err = db:query(sql, ...)
  if not rows then return nil, err end
  local set = {}
  for _, r in ipairs(rows) do set[r.name] = true end
  return set
end

return {
  name = "postgresql",
  quote = quote,
  open = function(target)
    local db, err = require("nv.pg").open(target, { connect_timeout = timeout(),
                                                    application_name = "nvlua store" })
    if not db then return nil, err end
    -- look before creating: CREATE SCHEMA IF NOT EXISTS needs the CREATE
    -- privilege even when the schema is already there
    local have, qerr = db:query("SELECT 1 AS x FROM pg_namespace WHERE nspname = ?", schema.name)
    if have and #have == 0 then
      local ok, cerr = db:exec("CREATE SCHEMA IF NOT EXISTS " .. quote(schema.name))
      if not ok then have, qerr = nil, cerr end
    end
    if not have then
      db:close()
      return nil, "cannot prepare schema " .. schema.name .. ": " .. tostring(qerr)
    end
    return db
  end,
  list_tables = function(db)
    return name_set(db, "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ?",
      schema.name)
  end,
  list_columns = function(db, tname)
    return name_set(db, "SELECT column_name AS name FROM information_schema.columns"
      .. " WHERE table_schema = ? AND table_name = ?", schema.name, tname)
  end,
  begin = "BEGIN",
}
