-- nv.json: JSON for job results and stored parameters.
-- Decoding is lua-cjson's; encoding is here because results need things
-- cjson 2.1 cannot express: empty arrays (json.array{}), a stable key order
-- (sorted, so output diffs and tests are stable) and null (json.null).
local cjson = require "cjson"
local safe = require "cjson.safe"

local M = {}

M.null = cjson.null
local array_mt = { __name = "nv.json.array" }

--- Marks t as a JSON array (so an empty one encodes as []).
function M.array(t)
  return setmetatable(t or {}, array_mt)
end

function M.is_array(t)
  if getmetatable(t) == array_mt then return true end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

--- Decodes s; returns value or nil, message.
function M.decode(s)
  if type(s) ~= "string" then return nil, "expected a JSON string, got " .. type(s) end
  local v, err = safe.decode(s)
  if v == nil and err then return nil, err end
  return v
end

--- s as valid UTF-8: each byte that starts no well-formed sequence (Lua's
-- strict utf8 rules: no overlong forms, surrogates or code points past
-- U+10FFFF) becomes U+FFFD. Returns the text and whether anything changed.
function M.valid_utf8(s)
  local ok, bad = utf8.len(s)
  if ok then return s, false end
  local out, i = {}, 1
  while bad do
    out[#out + 1] = s:sub(i, bad - 1)
    out[#out + 1] = "\u{FFFD}"
    i = bad + 1
    ok, bad = utf8.len(s, i)
  end
  out[#out + 1] = s:sub(i)
  return table.concat(out), true
end

-- cjson escapes every "/" as "\/"; since each "/" then follows its own
-- escape, dropping those backslashes is exact. cjson copies bytes >= 0x80
-- as they are: invalid UTF-8 is replaced first, so every document this
-- module writes (stdout, the store, the payload) is valid UTF-8.
local function encode_string(s)
  return (cjson.encode((M.valid_utf8(s))):gsub("\\/", "/"))
end

-- The output buffer: pieces out[1..out.n], folded into out.chunks every
-- 4096 pieces, so a large document costs about its own size twice (the
-- chunks and the result) rather than one string per token (a 9.6 MB
-- result of 5,000 tables took 86 MB more). The folded pieces are garbage
-- at once: a GC step per fold keeps them from piling up until the next
-- cycle.
local FOLD = 4096
local function put(out, s)
  local n = out.n + 1
  out[n] = s
  if n < FOLD then
    out.n = n
  else
    out.chunks[#out.chunks + 1] = table.concat(out, "", 1, n)
    collectgarbage("step", 256)
    out.n = 0
  end
end

local function encode(v, out, depth)
  if depth > 100 then error("nv.json: nesting deeper than 100 levels", 0) end
  local t = type(v)
  if v == nil or v == M.null then
    put(out, "null")
  elseif t == "boolean" then
    put(out, v and "true" or "false")
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      put(out, "null")
    elseif math.type(v) == "integer" then
      put(out, string.format("%d", v))
    else
      local s = string.format("%.15g", v)
      if tonumber(s) ~= v then s = string.format("%.17g", v) end
      if not s:find("[.eEn]") then s = s .. ".0" end
      put(out, s)
    end
  elseif t == "string" then
    put(out, encode_string(v))
  elseif t == "table" then
    if M.is_array(v) then
      put(out, "[")
      for i = 1, #v do
        if i > 1 then put(out, ",") end
        encode(v[i], out, depth + 1)
      end
      put(out, "]")
    else
      local keys = {}
      for k in pairs(v) do
        if type(k) ~= "string" and type(k) ~= "number" then
          error("nv.json: cannot encode a " .. type(k) .. " key", 0)
        end
        keys[#keys + 1] = tostring(k)
      end
      table.sort(keys)
      put(out, "{")
      for i, k in ipairs(keys) do
        if i > 1 then put(out, ",") end
        put(out, encode_string(k))
        put(out, ":")
        local val = v[k]
        if val == nil then val = v[tonumber(k)] end
        encode(val, out, depth + 1)
      end
      put(out, "}")
    end
  else
    error("nv.json: cannot encode a " .. t .. " value", 0)
  end
end

--- Encodes v as compact JSON with sorted object keys.
function M.encode(v)
  local out = { n = 0, chunks = {} }
  encode(v, out, 0)
  local chunks = out.chunks
  chunks[#chunks + 1] = table.concat(out, "", 1, out.n)
  return table.concat(chunks)
end

return M
