-- nv.s3: Amazon S3 and S3-compatible stores over nv.http — SigV4 signing
-- by libcurl, ListObjectsV2 with pagination, ranged and streamed GETs.
--
--   s3.parse_url("s3://bucket/prefix")   -> {bucket=, prefix=} | nil, msg
--   s3.client(aws)                       -> client
--     aws = cfg.aws: access_key_id, secret_access_key, session_token,
--     region (default us-east-1), endpoint_url (path-style custom endpoint),
--     retries, timeout. Without keys requests go unsigned (public buckets).
--   client:list(bucket, prefix, {max_keys=}) -> entries | nil, msg
--     entries = {{key, size, last_modified = epoch, etag}, …} in key order
--   client:get(bucket, key, {range=, output=, max_body=, truncate=, etag=})
--     -> nv.http response (2xx) | nil, msg
--   client:put(bucket, key, body) -> true | nil, msg
--   client:url(bucket, key) -> request URL
-- Messages start with the s3:// URL of what failed, e.g.
-- "s3://bucket/prefix: 403 Forbidden (AccessDenied)"; secrets are
-- registered with nv.log and never appear.
local http = require "nv.http"
local objstore = require "nv.objstore"
local log = require "nv.log"

local M = {}

local reasons = {
  [301] = "Moved Permanently", [307] = "Temporary Redirect", [400] = "Bad Request",
  [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found", [405] = "Method Not Allowed",
  [409] = "Conflict", [412] = "Precondition Failed", [416] = "Range Not Satisfiable",
  [429] = "Too Many Requests", [500] = "Internal Server Error", [501] = "Not Implemented",
  [502] = "Bad Gateway", [503] = "Service Unavailable", [504] = "Gateway Timeout",
}

--- "403 Forbidden (AccessDenied)" for an error response of S3 or Azure.
function M.status_message(resp)
  local s = tostring(resp.status)
  if reasons[resp.status] then s = s .. " " .. reasons[resp.status] end
  local code = resp.headers and resp.headers["x-ms-error-code"]
  if not code and resp.body and resp.body:find("<Error", 1, true) then
    local doc = objstore.parse_list(resp.body)
    code = doc and doc.code
  end
  if code and code ~= "" then s = s .. " (" .. code .. ")" end
  return s
end

local causes = { connect = "connection refused", resolve = "cannot resolve host", timeout = "timed out" }

--- The cause of a failed nv.http call without its "METHOD url: " prefix.
function M.transport_cause(msg, code)
  if causes[code] then return causes[code] end
  return (tostring(msg):gsub("^%u+ %S+: ", ""))
end

--- RFC 3986 percent-encoding; '/' kept when keep_slash.
function M.encode(s, keep_slash)
  return (s:gsub("[^%w%-%._~/]", function(c) return string.format("%%%02X", c:byte()) end)
           :gsub("/", keep_slash and "/" or "%%2F"))
end

--- A query string with keys sorted (the SigV4 canonical order).
function M.query(params)
  local keys = {}
  for k in pairs(params) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = M.encode(k) .. "=" .. M.encode(tostring(params[k])) end
  return table.concat(parts, "&")
end

function M.parse_url(url)
  local bucket, rest = tostring(url):match("^s3[an]?://([^/?#]+)/*([^?#]*)$")
  if not bucket then return nil, string.format("%s: not an s3://bucket/prefix URL", log.mask(tostring(url))) end
  if not bucket:match("^[%w][%w.%-_]*[%w]$") then
    return nil, string.format("%s: invalid bucket name '%s'", url, bucket)
  end
  return { bucket = bucket, prefix = rest }
end

local Client = {}
Client.__index = Client

function M.client(aws)
  aws = aws or {}
  local c = setmetatable({ region = aws.region or "us-east-1", retries = aws.retries, timeout = aws.timeout }, Client)
  if aws.access_key_id and aws.secret_access_key then
    c.userpwd = aws.access_key_id .. ":" .. aws.secret_access_key
    log.add_secret(aws.secret_access_key)
  end
  if aws.session_token and aws.session_token ~= "" then
    c.token = aws.session_token
    log.add_secret(aws.session_token)
  end
  if aws.endpoint_url and aws.endpoint_url ~= "" then c.endpoint = aws.endpoint_url:gsub("/+$", "") end
  return c
end

function Client:url(bucket, key, query)
  local path = key and key ~= "" and ("/" .. M.encode(key, true)) or ""
  local base
  if self.endpoint then -- path-style: /bucket for the bucket itself
    base = self.endpoint .. "/" .. bucket .. path
  elseif bucket:find(".", 1, true) then -- dotted names break virtual-host TLS
    base = string.format("https://s3.%s.amazonaws.com/%s%s", self.region, bucket, path)
  else
    base = string.format("https://%s.s3.%s.amazonaws.com%s", bucket, self.region, path ~= "" and path or "/")
  end
  return query and (base .. "?" .. query) or base
end

function Client:request(opts)
  opts.retries = opts.retries or self.retries
  opts.timeout = opts.timeout or self.timeout
  if self.userpwd then
    opts.aws_sigv4 = "aws:amz:" .. self.region .. ":s3"
    opts.userpwd = self.userpwd
    opts.aws_session_token = self.token
  end
  return http.request(opts)
end

local function where(bucket, key)
  return "s3://" .. bucket .. "/" .. (key or "")
end

local function failure(bucket, key, resp, msg, code)
  if resp then return nil, where(bucket, key) .. ": " .. M.status_message(resp) end
  return nil, where(bucket, key) .. ": " .. M.transport_cause(msg, code), code
end

local function unquote(etag)
  return etag and (etag:gsub('^"(.*)"$', "%1"))
end

function Client:list(bucket, prefix, opts)
  opts = opts or {}
  local entries, token = {}, nil
  for _ = 1, opts.max_pages or 100000 do
    local q = { ["list-type"] = 2, prefix = prefix or "" }
    if opts.max_keys then q["max-keys"] = opts.max_keys end
    if token then q["continuation-token"] = token end
    local resp, msg, code = self:request { url = self:url(bucket, nil, M.query(q)) }
    if not resp then return failure(bucket, prefix, nil, msg, code) end
    if resp.status ~= 200 then return failure(bucket, prefix, resp) end
    local doc, perr = objstore.parse_list(resp.body)
    if not doc or doc.kind ~= "s3" then
      return nil, where(bucket, prefix) .. ": unreadable listing: " .. (perr or ("a " .. doc.kind .. " document"))
    end
    for _, e in ipairs(doc.entries) do
      e.etag = unquote(e.etag)
      entries[#entries + 1] = e
    end
    if not doc.truncated then return entries end
    if not doc.next or doc.next == token then
      return nil, where(bucket, prefix) .. ": listing truncated without a continuation token"
    end
    token = doc.next
  end
  return nil, where(bucket, prefix) .. ": listing has too many pages"
end

function Client:get(bucket, key, opts)
  opts = opts or {}
  local headers = {}
  if opts.etag then headers["If-Match"] = '"' .. opts.etag .. '"' end
  local resp, msg, code = self:request { url = self:url(bucket, key), range = opts.range, output = opts.output,
                                         max_body = opts.max_body, truncate = opts.truncate, headers = headers }
  if not resp then return failure(bucket, key, nil, msg, code) end
  if resp.status < 200 or resp.status > 299 then return failure(bucket, key, resp) end
  return resp
end

function Client:put(bucket, key, body)
  local resp, msg, code = self:request { method = "PUT", url = self:url(bucket, key), body = body }
  if not resp then return failure(bucket, key, nil, msg, code) end
  if resp.status < 200 or resp.status > 299 then return failure(bucket, key, resp) end
  return true
end

return M
