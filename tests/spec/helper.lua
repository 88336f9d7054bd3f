-- Shared by the busted specs: run nvlua as a subprocess with a controlled
-- environment, temp directories, file reading. Specs run inside nvlua
-- itself (`nvlua $(command -v busted)`), so nv.* modules are requireable.
local H = {}

H.root = os.getenv("NVLUA_ROOT") or "."
H.bin = os.getenv("NVLUA_BIN") or (H.root .. "/build/nvlua")
H.build = os.getenv("NVLUA_BUILD_DIR") or (H.root .. "/build")

function H.q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

function H.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

function H.write(path, text)
  local f = assert(io.open(path, "wb"))
  assert(f:write(text))
  assert(f:close())
end

function H.tmpdir()
  local p = assert(io.popen("mktemp -d /tmp/nvlua-spec.XXXXXX"))
  local d = p:read("l")
  p:close()
  return d
end

function H.rmdir(d)
  if d and d:match("^/tmp/nvlua%-spec%.") then os.execute("rm -rf " .. H.q(d)) end
end

-- variables passed through to children (sanitizer settings, PATH, HOME)
local passthrough = { "PATH", "HOME", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TERM" }

--- Runs nvlua (or opts.exe) with args. opts: env (table), cwd, stdin.
-- Returns exit code, stdout, stderr.
function H.run(args, opts)
  opts = opts or {}
  local out, err, inp = os.tmpname(), os.tmpname(), os.tmpname()
  H.write(inp, opts.stdin or "")
  local parts = {}
  if opts.cwd then parts[#parts + 1] = "cd " .. H.q(opts.cwd) .. " &&" end
  parts[#parts + 1] = "env -i"
  for _, k in ipairs(passthrough) do
    local v = os.getenv(k)
    if v then parts[#parts + 1] = k .. "=" .. H.q(v) end
  end
  for k, v in pairs(opts.env or {}) do parts[#parts + 1] = k .. "=" .. H.q(v) end
  parts[#parts + 1] = H.q(opts.exe or H.bin)
  for _, a in ipairs(args) do parts[#parts + 1] = H.q(a) end
  parts[#parts + 1] = "<" .. H.q(inp) .. " >" .. H.q(out) .. " 2>" .. H.q(err)
  local _, _, code = os.execute(table.concat(parts, " "))
  local so, se = H.read(out), H.read(err)
  os.remove(out)
  os.remove(err)
  os.remove(inp)
  return code, so, se
end

--- Opens a store file the way nvlua does, for assertions.
function H.open_store(dir)
  return assert(require("nv.store").open("sqlite:" .. dir .. "/_executor_metadata.db"))
end

--- Starts tests/servers/platform_api.py (the platform API stand-in) on a
-- free loopback port; returns {url, requests(), reset(), set_plan(), stop()}.
function H.platform_server(dir)
  local json = require "nv.json"
  local function sleep(s) os.execute("sleep " .. s) end
  local port_file, reqlog, plan, pidf = dir .. "/port", dir .. "/requests.jsonl", dir .. "/plan.json", dir .. "/server.pid"
  H.write(plan, "[]")
  H.write(reqlog, "")
  assert(os.execute(string.format("python3 %s --port-file %s --log %s --plan %s >%s 2>&1 & echo $! >%s",
    H.q(H.root .. "/tests/servers/platform_api.py"), H.q(port_file), H.q(reqlog), H.q(plan),
    H.q(dir .. "/server.out"), H.q(pidf))))
  local port
  for _ = 1, 100 do
    port = tonumber(H.read(port_file) or "")
    if port then break end
    sleep(0.05)
  end
  local pid = assert(tonumber(H.read(pidf)), "server pid")
  assert(port, "server did not start: " .. tostring(H.read(dir .. "/server.out")))
  local s = { port = port, url = "http://127.0.0.1:" .. port }
  function s.requests()
    local out = {}
    for line in (H.read(reqlog) or ""):gmatch("[^\n]+") do out[#out + 1] = assert(json.decode(line)) end
    return out
  end
  function s.reset() H.write(reqlog, "") H.write(plan, "[]") end
  function s.set_plan(t) H.write(plan, json.encode(json.array(t))) end
  function s.stop() os.execute("kill " .. pid .. " 2>/dev/null") end
  return s
end

--- The object-store emulators the suite started (s3rver, azurite), each as
-- {name, config (the job config's aws/azure keys), path (a fresh prefix
-- named after tag), source_type, put(rel, body), env (for a subprocess)};
-- empty when neither NVLUA_TEST_S3_ENDPOINT nor NVLUA_TEST_AZURE_BLOB is set.
function H.object_stores(tag)
  local sys = require "nv.sys"
  local s3, bucket = os.getenv("NVLUA_TEST_S3_ENDPOINT"), os.getenv("NVLUA_TEST_S3_BUCKET") or "nvlua-test"
  local blob = os.getenv("NVLUA_TEST_AZURE_BLOB")
  local list = {}
  if s3 and s3 ~= "" then
    local aws = { access_key_id = "S3RVER", secret_access_key = "S3RVER", endpoint_url = s3, retries = 0 }
    local client = require("nv.s3").client(aws)
    local run = tag .. "-" .. sys.random_hex(4)
    list[#list + 1] = { name = "S3 (s3rver)", config = { aws = aws }, path = "s3://" .. bucket .. "/" .. run,
                        source_type = "aws_s3", put = function(k, b) return client:put(bucket, run .. "/" .. k, b) end,
                        env = { AWS_ACCESS_KEY_ID = "S3RVER", AWS_SECRET_ACCESS_KEY = "S3RVER",
                                AWS_ENDPOINT_URL = s3, AWS_REGION = "us-east-1" } }
  end
  if blob and blob ~= "" then
    local azure = require "nv.azure"
    local container = tag:gsub("[^%l%d]", "") .. sys.random_hex(4)
    local c
    list[#list + 1] = { name = "Azure Blob (azurite)", config = { azure = { account_key = azure.dev_key } },
                        path = blob .. "/" .. container .. "/data", source_type = "azure_blob",
                        put = function(k, b)
                          if not c then
                            c = assert(azure.client(assert(azure.parse_url(blob .. "/" .. container .. "/")),
                              { account_key = azure.dev_key, retries = 0 }))
                            assert(c:create_container())
                          end
                          return c:put("data/" .. k, b)
                        end,
                        env = { AZURE_STORAGE_CONNECTION_STRING = string.format(
                          "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=%s;BlobEndpoint=%s;",
                          azure.dev_key, blob) } }
  end
  return list
end

--- Records nv.http requests made in this process (the emulators keep no
-- count): returns seen = {{method, url, range}, ...} and restore().
function H.count_requests()
  local http = require "nv.http"
  local real = http.request
  local seen = {}
  http.request = function(o)
    seen[#seen + 1] = { method = o.method or "GET", url = o.url, range = o.range or (o.headers or {})["x-ms-range"] }
    return real(o)
  end
  return seen, function() http.request = real end
end


--- The directory holding @duckdb/node-api (NVLUA_DUCKDB_DIR, default
-- ~/.cache/nvlua-duckdb), npm-installed there when NVLUA_TEST_DUCKDB=1;
-- or nil, why.
--- Writes path as a 20,000-row Parquet file of 2,000-row row groups with
-- DuckDB (ddir from H.duckdb_dir) and returns DuckDB's own account of it:
-- {n = rows, g = row groups, first = rows of row group 0}.
function H.duckdb_rowgroups(ddir, path)
  local dir = H.tmpdir()
  local script = dir .. "/w.mjs"
  H.write(script, [[
import { createRequire } from "node:module";
const { DuckDBInstance } = createRequire(process.env.NVLUA_DUCKDB_DIR + "/x.js")("@duckdb/node-api");
const db = await DuckDBInstance.create(":memory:");
const con = await db.connect();
const out = process.argv[2];
await con.run(`COPY (SELECT i AS id, 'item ' || i AS label FROM range(20000) t(i))
  TO '${out}' (FORMAT parquet, ROW_GROUP_SIZE 2000, COMPRESSION uncompressed)`);
const r = await con.runAndReadAll(`SELECT count(*)::INTEGER AS n,
  (SELECT count(DISTINCT row_group_id)::INTEGER FROM parquet_metadata('${out}')) AS g,
  (SELECT max(row_group_num_rows)::INTEGER FROM parquet_metadata('${out}') WHERE row_group_id = 0) AS first
  FROM '${out}'`);
console.log(JSON.stringify(r.getRowObjects()[0]));
]])
  local p = assert(io.popen("NVLUA_DUCKDB_DIR=" .. H.q(ddir) .. " node " .. H.q(script) .. " " .. H.q(path)))
  local out = p:read("a")
  p:close()
  H.rmdir(dir)
  return assert(require("nv.json").decode(out), out)
end

function H.duckdb_dir()
  local d = os.getenv("NVLUA_DUCKDB_DIR") or ((os.getenv("HOME") or "/tmp") .. "/.cache/nvlua-duckdb")
  local function present()
    local f = io.open(d .. "/node_modules/@duckdb/node-api/package.json", "rb")
    if f then f:close() end
    return f ~= nil
  end
  if not os.execute("command -v node >/dev/null 2>&1") then return nil, "node is not installed" end
  if present() then return d end
  if os.getenv("NVLUA_TEST_DUCKDB") ~= "1" then
    return nil, "@duckdb/node-api not found in " .. d .. " (set NVLUA_TEST_DUCKDB=1 to npm-install it)"
  end
  os.execute("mkdir -p " .. H.q(d))
  local ok = os.execute("cd " .. H.q(d) .. " && npm install --no-audit --no-fund --silent @duckdb/node-api >/dev/null 2>&1")
  if not ok or not present() then return nil, "npm install @duckdb/node-api failed in " .. d end
  return d
end

--- A job's stdout: exactly one JSON document on one line, decoded.
function H.one_json(out)
  local luassert = require "luassert" -- busted's assert (a module's own global is plain assert)
  luassert.matches("^[^\n]*\n$", out)
  return luassert(require("nv.json").decode(out))
end

--- A job context whose log keeps its lines ("LEVEL text") in ctx.lines
-- instead of printing them (the database source specs).
function H.quiet_ctx()
  local lines = {}
  local function rec(level)
    return function(_, fmt, ...) lines[#lines + 1] = level .. " " .. string.format(fmt, ...) end
  end
  return { log = { info = rec("INFO"), warning = rec("WARNING"), error = rec("ERROR") }, lines = lines }
end

--- The names in directory d matching pattern, sorted.
function H.ls(d, pattern)
  local out = {}
  for _, n in ipairs(require("nv.sys").listdir(d) or {}) do
    if n:match(pattern) then out[#out + 1] = n end
  end
  table.sort(out)
  return out
end

--- Rows of sql in the SQLite database at path, read by Python's sqlite3
-- (read-only; an independent reader): a list of {column = value}.
function H.sqlite_rows(path, sql)
  local script = "import json,sqlite3,sys\n"
    .. "c=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro',uri=True)\n"
    .. "c.row_factory=sqlite3.Row\n"
    .. "print(json.dumps([dict(r) for r in c.execute(sys.argv[2])]))\n"
  local p = assert(io.popen("python3 -c " .. H.q(script) .. " " .. H.q(path) .. " " .. H.q(sql) .. " 2>&1"))
  local out = p:read("a")
  p:close()
  return assert(require("nv.json").decode(out), out)
end

return H
