-- nv.azure: Azure Blob Storage over nv.http — Shared Key signing
-- (HMAC-SHA256 from nv.objstore), SAS URLs, List Blobs with pagination,
-- ranged and streamed GETs.
--
--   azure.parse_url(url) -> loc | nil, msg     loc = {account, container, prefix,
--       base (scheme://host[/account] for path-style), sas (query text or nil)}
--     https://ACCT.blob.core.windows.net/CONTAINER/PREFIX[?SAS]
--     https://ACCT.dfs.core.windows.net/CONTAINER/PREFIX      (read via the blob endpoint)
--     abfs[s]://CONTAINER@ACCT.dfs.core.windows.net/PATH, wasb[s]://CONTAINER@ACCT.blob…/PATH
--     http://127.0.0.1:10000/devstoreaccount1/CONTAINER/PREFIX (path-style, emulators)
--   azure.parse_connection_string(s) -> {account_name, account_key, blob_endpoint,
--       protocol, endpoint_suffix, sas} | nil, msg
--   azure.client(loc, azcfg) -> client | nil, msg
--     azcfg = cfg.azure: connection_string, account_key, sas_token, retries, timeout.
--     Auth: the URL's SAS, else the connection string's (or account_key's)
--     Shared Key, else its SharedAccessSignature, else anonymous.
--   client:list(prefix, {max_results=}) -> entries | nil, msg
--   client:get(blob, {range=, output=, max_body=, truncate=, etag=}) -> response | nil, msg
--   client:put(blob, body), client:create_container() -> true | nil, msg
--   client:display(blob) -> the masked URL (sig=***)
--   azure.service_sas{account, key, container, blob?, permissions, expiry, start?,
--       version?} -> SAS query text (a service SAS signed with the account key)
--   azure.string_to_sign(method, url_path, query, headers, account) -> text
-- Secrets (account key, SAS sig) are registered with nv.log.
local http = require "nv.http"
local objstore = require "nv.objstore"
local log = require "nv.log"
local s3 = require "nv.s3"

local M = {}

M.version = "2021-12-02"

-- the published development-storage account (azurite, the old emulator)
M.dev_account = "devstoreaccount1"
M.dev_key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

local function decode(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function mask_sas(q)
  return (q:gsub("([Ss][Ii][Gg]=)[^&]*", "%1***"))
end

local function register_sas(q)
  for k, v in q:gmatch("([^&=]+)=([^&]*)") do
    if k:lower() == "sig" and v ~= "" then
      log.add_secret(v)
      log.add_secret(decode(v))
    end
  end
end

local function split_path(path)
  local container, prefix = path:match("^/*([^/]+)/*(.*)$")
  return container, prefix
end

function M.parse_url(url)
  url = tostring(url)
  local shown = log.mask(url)
  local loc
  local scheme, cont, acct, host_rest = url:match("^(%a+)://([^@/]+)@([^./]+)(%.[^/?#]*)([^?#]*)")
  local path
  if scheme and (scheme == "abfss" or scheme == "abfs" or scheme == "wasbs" or scheme == "wasb") then
    path = url:match("^%a+://[^/]+(/[^?#]*)") or ""
    local proto = (scheme == "abfs" or scheme == "wasb") and "http" or "https"
    local suffix = host_rest:match("^%.[^.]+%.(core%..+)$") or "core.windows.net"
    loc = { account = acct, container = cont, prefix = path:gsub("^/+", ""),
            base = string.format("%s://%s.blob.%s", proto, acct, suffix) }
  else
    local proto, host, p, query = url:match("^(https?)://([^/?#]+)([^?#]*)%??([^#]*)")
    if not proto then return nil, shown .. ": not an Azure Blob URL" end
    local a, kind, suffix = host:match("^([%w]+)%.(%a+)%.(core%..+)$")
    if a and (kind == "blob" or kind == "dfs") then
      local c, prefix = split_path(p)
      if not c then return nil, shown .. ": no container in the URL" end
      loc = { account = a, container = c, prefix = prefix, base = string.format("%s://%s.blob.%s", proto, a, suffix) }
    else -- path-style: /ACCOUNT/CONTAINER/PREFIX (emulators, custom endpoints)
      local a2, rest = p:match("^/([^/]+)(/.*)$")
      local c, prefix = split_path(rest or "")
      if not (a2 and c) then return nil, shown .. ": expected /ACCOUNT/CONTAINER/PREFIX in a path-style URL" end
      loc = { account = a2, container = c, prefix = prefix, base = proto .. "://" .. host .. "/" .. a2, path_style = true }
    end
    if query ~= "" then
      loc.sas = query
      register_sas(query)
    end
  end
  loc.prefix = decode(loc.prefix)
  return loc
end

function M.parse_connection_string(s)
  if type(s) ~= "string" or s == "" then return nil, "empty connection string" end
  local kv = {}
  for part in s:gmatch("[^;]+") do
    local k, v = part:match("^%s*([^=]+)=(.*)$")
    if not k then return nil, "malformed connection string (expected Key=Value;…)" end
    kv[k:lower()] = v
  end
  local cs = { account_name = kv.accountname, account_key = kv.accountkey, blob_endpoint = kv.blobendpoint,
               protocol = kv.defaultendpointsprotocol or "https", endpoint_suffix = kv.endpointsuffix or "core.windows.net",
               sas = kv.sharedaccesssignature }
  if (kv.usedevelopmentstorage or ""):lower() == "true" then
    cs.account_name, cs.account_key = M.dev_account, M.dev_key
    cs.blob_endpoint = "http://127.0.0.1:10000/" .. M.dev_account
    cs.protocol = "http"
  end
  if cs.account_key then log.add_secret(cs.account_key) end
  if cs.sas then
    cs.sas = cs.sas:gsub("^%?", "")
    register_sas(cs.sas)
  end
  if not cs.account_name and not cs.blob_endpoint then
    return nil, "connection string has neither AccountName nor BlobEndpoint"
  end
  if cs.account_key and not cs.account_name then return nil, "connection string has AccountKey but no AccountName" end
  if not cs.blob_endpoint then
    cs.blob_endpoint = string.format("%s://%s.blob.%s", cs.protocol, cs.account_name, cs.endpoint_suffix)
  end
  cs.blob_endpoint = cs.blob_endpoint:gsub("/+$", "")
  return cs
end

--- The Shared Key string to sign (Blob service, version 2015-02-21 and later).
-- headers: lowercased names -> values; query: decoded name -> value.
function M.string_to_sign(method, url_path, query, headers, account)
  local h = function(k) return headers[k] or "" end
  local length = h("content-length")
  if length == "0" then length = "" end
  local lines = { method, h("content-encoding"), h("content-language"), length, h("content-md5"),
                  h("content-type"), h("date"), h("if-modified-since"), h("if-match"), h("if-none-match"),
                  h("if-unmodified-since"), h("range") }
  local ms = {}
  for k in pairs(headers) do if k:match("^x%-ms%-") then ms[#ms + 1] = k end end
  table.sort(ms)
  for _, k in ipairs(ms) do lines[#lines + 1] = k .. ":" .. (headers[k]:gsub("^%s+", ""):gsub("%s+$", "")) end
  local res = "/" .. account .. url_path
  local qk = {}
  for k in pairs(query) do qk[#qk + 1] = k end
  table.sort(qk, function(a, b) return a:lower() < b:lower() end)
  for _, k in ipairs(qk) do res = res .. "\n" .. k:lower() .. ":" .. query[k] end
  lines[#lines + 1] = res
  return table.concat(lines, "\n")
end

function M.service_sas(o)
  local version = o.version or "2020-12-06"
  local resource = o.blob and "b" or "c"
  local canon = "/blob/" .. o.account .. "/" .. o.container .. (o.blob and ("/" .. o.blob) or "")
  local fields = { o.permissions, o.start or "", o.expiry, canon, o.identifier or "", o.ip or "", o.protocol or "",
                   version, resource, "", "", "", "", "", "", "" }
  local sts = table.concat(fields, "\n")
  local key = assert(objstore.unbase64(o.key))
  local sig = objstore.base64(objstore.hmac_sha256(key, sts))
  log.add_secret(sig)
  local q = { sv = version, sr = resource, sp = o.permissions, se = o.expiry, st = o.start, sig = sig,
              spr = o.protocol }
  local out = s3.query(q)
  log.add_secret(s3.encode(sig))
  return out
end

local Client = {}
Client.__index = Client

function M.client(loc, az)
  az = az or {}
  local c = setmetatable({ account = loc.account, container = loc.container, base = loc.base,
                           retries = az.retries, timeout = az.timeout }, Client)
  if loc.sas then
    c.sas = loc.sas
  else
    local cs
    if az.connection_string and az.connection_string ~= "" then
      local err
      cs, err = M.parse_connection_string(az.connection_string)
      if not cs then return nil, "azure.connection_string: " .. err end
    end
    local key = az.account_key or (cs and (cs.account_name == nil or cs.account_name == loc.account) and cs.account_key)
    if key and key ~= "" then
      log.add_secret(key)
      local raw = objstore.unbase64(key)
      if not raw then return nil, "the Azure account key is not base64" end
      c.key = raw
    elseif az.sas_token and az.sas_token ~= "" then
      c.sas = az.sas_token:gsub("^%?", "")
      register_sas(c.sas)
    elseif cs and cs.sas then
      c.sas = cs.sas
    end
  end
  return c
end

--- The request URL for a blob (or the container when blob is nil) with the
-- given query parameters (and the SAS, when that is the auth).
function Client:url(blob, params)
  local path = "/" .. self.container .. (blob and ("/" .. s3.encode(blob, true)) or "")
  local q = params and s3.query(params) or ""
  if self.sas then q = q ~= "" and (q .. "&" .. self.sas) or self.sas end
  return self.base .. path .. (q ~= "" and ("?" .. q) or ""), path
end

function Client:display(blob)
  local u = self.base .. "/" .. self.container .. "/" .. (blob or "")
  if self.sas then u = u .. "?" .. mask_sas(self.sas) end
  return u
end

-- signs and sends: method, blob, params (query), headers, extra http opts
function Client:send(method, blob, params, headers, extra)
  local url, path = self:url(blob, params)
  headers = headers or {}
  headers["x-ms-version"] = M.version
  headers["x-ms-date"] = os.date("!%a, %d %b %Y %H:%M:%S GMT")
  local opts = { method = method, url = url, headers = headers, retries = self.retries, timeout = self.timeout }
  for k, v in pairs(extra or {}) do opts[k] = v end
  if self.key then
    local lower = {}
    for k, v in pairs(headers) do lower[k:lower()] = v end
    if opts.body then
      lower["content-length"] = tostring(#opts.body)
      lower["content-type"] = lower["content-type"] or "application/octet-stream"
      headers["Content-Type"] = lower["content-type"]
    end
    local query = {}
    for k, v in pairs(params or {}) do query[k] = tostring(v) end
    local urlpath = self.base:match("^%a+://[^/]+(.*)$") .. path
    local sts = M.string_to_sign(method, urlpath, query, lower, self.account)
    headers.Authorization = "SharedKey " .. self.account .. ":" .. objstore.base64(objstore.hmac_sha256(self.key, sts))
  end
  return http.request(opts)
end

local function failure(self, blob, resp, msg, code)
  if resp then return nil, self:display(blob) .. ": " .. s3.status_message(resp) end
  return nil, self:display(blob) .. ": " .. s3.transport_cause(msg, code), code
end

function Client:list(prefix, opts)
  opts = opts or {}
  local entries, marker = {}, nil
  for _ = 1, opts.max_pages or 100000 do
    local params = { restype = "container", comp = "list", prefix = prefix or "" }
    if opts.max_results then params.maxresults = opts.max_results end
    if marker then params.marker = marker end
    local resp, msg, code = self:send("GET", nil, params)
    if not resp then return failure(self, prefix, nil, msg, code) end
    if resp.status ~= 200 then return failure(self, prefix, resp) end
    local doc, perr = objstore.parse_list(resp.body)
    if not doc or doc.kind ~= "azure" then
      return nil, self:display(prefix) .. ": unreadable listing: " .. (perr or ("a " .. doc.kind .. " document"))
    end
    for _, e in ipairs(doc.entries) do
      e.etag = e.etag and e.etag:gsub('^"(.*)"$', "%1")
      entries[#entries + 1] = e
    end
    if not doc.truncated then return entries end
    if not doc.next or doc.next == marker then
      return nil, self:display(prefix) .. ": listing truncated without a NextMarker"
    end
    marker = doc.next
  end
  return nil, self:display(prefix) .. ": listing has too many pages"
end

function Client:get(blob, opts)
  opts = opts or {}
  local headers = {}
  if opts.range then headers["x-ms-range"] = opts.range end
  if opts.etag then headers["If-Match"] = '"' .. opts.etag .. '"' end
  local resp, msg, code = self:send("GET", blob, nil, headers,
    { output = opts.output, max_body = opts.max_body, truncate = opts.truncate })
  if not resp then return failure(self, blob, nil, msg, code) end
  if resp.status < 200 or resp.status > 299 then return failure(self, blob, resp) end
  return resp
end

function Client:put(blob, body)
  local resp, msg, code = self:send("PUT", blob, nil, { ["x-ms-blob-type"] = "BlockBlob" }, { body = body })
  if not resp then return failure(self, blob, nil, msg, code) end
  if resp.status ~= 201 then return failure(self, blob, resp) end
  return true
end

function Client:create_container()
  local resp, msg, code = self:send("PUT", nil, { restype = "container" }, {}, {})
  if not resp then return failure(self, nil, nil, msg, code) end
  if resp.status ~= 201 and resp.status ~= 409 then return failure(self, nil, resp) end
  return true
end

return M
