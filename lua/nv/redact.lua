-- nv.redact: the masking boundary of the metadata model. Connectors and
-- readers work with the real path, URL or connection string (they need it
-- to fetch data); the source model nv.extract hands on — to the report on
-- stdout, the store, the platform payload — has every string passed through
-- nv.log.mask (mask.c: registered secrets, SAS sig=, X-Amz-Signature=,
-- token=/password=/api_key= values, URL passwords, ODBC PWD=, Bearer and
-- dapi tokens). The structure stays: "…?sv=2021-08-06&sig=***".
--
--   redact.text(s)   -> s masked (nil and non-strings pass unchanged)
--   redact.model(m)  -> m, every string in it (values and keys) masked in
--                       place; metatables (nv.json arrays) and non-string
--                       values are kept
local log = require "nv.log"

local M = {}

function M.text(s)
  if type(s) ~= "string" then return s end
  return log.mask(s)
end

local function walk(t, seen, mask)
  if seen[t] then return end
  seen[t] = true
  local moved -- string keys that mask to another string
  for k, v in pairs(t) do
    if type(v) == "string" then
      local mv = mask(v)
      if mv ~= v then t[k] = mv end
    elseif type(v) == "table" then
      walk(v, seen, mask)
    end
    if type(k) == "string" then
      local mk = mask(k)
      if mk ~= k then
        moved = moved or {}
        moved[#moved + 1] = { k, mk }
      end
    end
  end
  for _, km in ipairs(moved or {}) do
    local v = t[km[1]]
    t[km[1]] = nil
    t[km[2]] = v
  end
end

function M.model(m)
  if type(m) ~= "table" then return m end
  local memo = {} -- the field names every column repeats pass the C filter once
  walk(m, {}, function(s)
    local r = memo[s]
    if not r then
      r = log.mask(s)
      memo[s] = r
    end
    return r
  end)
  return m
end

return M
