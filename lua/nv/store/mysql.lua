-- nv.store.mysql: the MySQL/MariaDB dialect of the `_executor_metadata`
-- store (see find_dialect in nv.store). The tables live in the database
-- `_executor_metadata` (utf8mb4, binary collation so keys compare exactly
-- as on SQLite/PostgreSQL), created on open when missing; the driver is
-- nv.mysql. Sessions run in strict mode and UTC.
--
-- Type map: nv.schema.types.mysql with one override, registered as
-- nv.schema.types["mysql_utf8mb4"]: "string" is VARCHAR(191), because the
-- columns table's four-column primary key of VARCHAR(255) in utf8mb4 is
-- 4080 bytes, over InnoDB's 3072-byte key limit (4 x 191 x 4 = 3056 fits).
-- LONGTEXT ("text") is never part of a key, so it needs no change.
local schema = require "nv.schema"

local TYPES_NAME = "mysql_utf8mb4"
if not schema.types[TYPES_NAME] then
  local t = {}
  for k, v in pairs(schema.types.mysql) do t[k] = v end
  t.string = "VARCHAR(191)"
  schema.types[TYPES_NAME] = t
end

local function quote(id)
  return "`" .. tostring(id):gsub("`", "``") .. "`"
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
  name = TYPES_NAME,
  engine = "mysql",
  types = schema.types[TYPES_NAME],
  quote = quote,
  open = function(target)
    local db, err = require("nv.mysql").open(target, { connect_timeout = timeout() })
    if not db then return nil, err end
    local steps = {
      "SET SESSION sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
      "SET SESSION time_zone = '+00:00'",
    }
    for _, sql in ipairs(steps) do
      local ok, serr = db:exec(sql)
      if not ok then
        db:close()
        return nil, "cannot prepare the session: " .. tostring(serr)
      end
    end
    local have, qerr = db:query("SELECT 1 AS x FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", schema.name)
    if have and #have == 0 then
      local ok, cerr = db:exec("CREATE DATABASE IF NOT EXISTS " .. quote(schema.name)
        .. " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
      if not ok then have, qerr = nil, cerr end
    end
    if not have then
      db:close()
      return nil, "cannot prepare database " .. schema.name .. ": " .. tostring(qerr)
    end
    return db
  end,
  list_tables = function(db)
    return name_set(db, "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
      schema.name)
  end,
  list_columns = function(db, tname)
    return name_set(db, "SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS"
      .. " WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", schema.name, tname)
  end,
  begin = "START TRANSACTION",
}
