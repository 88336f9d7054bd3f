-- bench/pg_catalog.lua: the catalog-extraction benchmark for PostgreSQL
-- sources (issue 4), driven by bench/pg_catalog.sh.
--
--   nvlua bench/pg_catalog.lua setup URL [TABLES]
--       creates database nvbench_catalog next to URL's (or, when the role
--       may not create databases, uses URL's own) and prints on stdout
--       "URL<TAB>SCHEMA" for run: the bench database URL, and "nvbench"
--       when extraction must be limited to that schema (else nothing);
--       in it, schema "nvbench" holds TABLES (10000) empty tables of 10
--       columns each (bigint PK, every 4th table an FK to the previous one,
--       every 10th a UNIQUE column, every 5th a table and a column comment);
--       skipped when the schema already holds them. The tables are never
--       analyzed unless NVLUA_BENCH_ANALYZE=1 (then the database is
--       nvbench_catalog_analyzed).
--   nvlua bench/pg_catalog.lua run URL [SCHEMA]
--       extracts the source with nv.dbsource, catalog only (profile =
--       "none"; SCHEMA limits it to one schema) and prints one line: tables,
--       columns, wall seconds, statements sent, peak RSS
-- Statements are counted by wrapping nv.pg before nv.dbsource loads it:
-- every conn:query and conn:exec, whoever sends it. Not counted: the one
-- SET SESSION … READ ONLY that nv.pg.open sends while connecting.
local sys = require "nv.sys"
local json = require "nv.json"

local mode, url = arg[1], arg[2]
if not (mode == "setup" or mode == "run") or not url then
  io.stderr:write("usage: nvlua bench/pg_catalog.lua setup URL [TABLES] | run URL [SCHEMA]\n")
  os.exit(2)
end

local ANALYZE = os.getenv("NVLUA_BENCH_ANALYZE") == "1"
local BENCH_DB = ANALYZE and "nvbench_catalog_analyzed" or "nvbench_catalog"

-- URL with its database replaced by name (URLs only, not "host=… dbname=…")
local function with_database(u, name)
  local head, tail = u:match("^(%a[%w+.-]*://[^/?]*)/?[^?]*(.*)$")
  if not head then return nil end
  return head .. "/" .. name .. tail
end

-- The bench database: URL, schema filter ("" for the whole database).
local function bench_database(pg)
  local target = with_database(url, BENCH_DB)
  if not target then return url, "nvbench" end
  local db <close> = assert(pg.open(url))
  local have = assert(db:query("SELECT 1 AS x FROM pg_database WHERE datname = ?", BENCH_DB))
  if #have == 0 then
    local ok, err = db:exec('CREATE DATABASE "' .. BENCH_DB .. '"')
    if not ok then
      io.stderr:write("setup: cannot create database ", BENCH_DB, " (", err, "); using schema nvbench of ", url, "\n")
      return url, "nvbench"
    end
  end
  return target, ""
end

-- Creating thousands of tables sets autovacuum on the system catalogs; the
-- timings wait until no autovacuum worker is busy in the database (60 s at
-- most), as on a live database.
local function settle(db)
  local t0 = sys.monotonic()
  for _ = 1, 120 do
    local busy = assert(db:query("SELECT count(*) AS n FROM pg_stat_activity"
      .. " WHERE backend_type = 'autovacuum worker' AND datname = current_database()"))
    if busy[1].n == 0 then break end
    assert(db:query("SELECT pg_sleep(0.5)"))
  end
  local waited = sys.monotonic() - t0
  if waited > 0.1 then io.stderr:write(string.format("setup: waited %.1f s for autovacuum\n", waited)) end
end

local function setup(n)
  local pg = require "nv.pg"
  local target, schema = bench_database(pg)
  local db <close> = assert(pg.open(target))
  local marker = string.format("nvlua pg_catalog bench: %d tables x 10 columns, %s", n,
    ANALYZE and "analyzed" or "never analyzed")
  local have = assert(db:query("SELECT obj_description(oid, 'pg_namespace') AS c FROM pg_namespace"
    .. " WHERE nspname = 'nvbench'"))
  if have[1] and have[1].c == marker then
    io.stderr:write("setup: schema nvbench already holds ", n, " tables\n")
    settle(db)
    io.write(target, "\t", schema, "\n")
    return
  end
  local t0 = sys.monotonic()
  -- dropped in batches too: one DROP SCHEMA … CASCADE would lock every table
  repeat
    local rows = assert(db:query("SELECT format('nvbench.%I', c.relname) AS t FROM pg_class c"
      .. " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'nvbench' AND c.relkind = 'r' LIMIT 250"))
    local names = {}
    for i, r in ipairs(rows) do names[i] = r.t end
    if #names > 0 then assert(db:exec("DROP TABLE " .. table.concat(names, ", ") .. " CASCADE")) end
  until #names == 0
  assert(db:exec("DROP SCHEMA IF EXISTS nvbench CASCADE"))
  assert(db:exec("CREATE SCHEMA nvbench"))
  -- Batches keep each transaction's lock count (table, toast table, indexes)
  -- well under max_locks_per_transaction * max_connections.
  local batch = 250
  for lo = 1, n, batch do
    local hi = math.min(n, lo + batch - 1)
    assert(db:exec(string.format([[
DO $bench$
DECLARE
  name text;
BEGIN
  FOR i IN %d..%d LOOP
    name := 't' || lpad(i::text, 5, '0');
    EXECUTE format('CREATE TABLE nvbench.%%I (
        id bigint PRIMARY KEY,
        parent_id bigint%%s,
        name text NOT NULL DEFAULT %%L,
        code varchar(24)%%s,
        amount numeric(12, 2),
        external_id uuid,
        is_active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        tags text[],
        payload jsonb)', name,
      CASE WHEN i %% 4 = 0 THEN format(' REFERENCES nvbench.%%I (id)', 't' || lpad((i - 1)::text, 5, '0'))
           ELSE '' END,
      'unnamed',
      CASE WHEN i %% 10 = 0 THEN ' UNIQUE' ELSE '' END);
    IF i %% 5 = 0 THEN
      EXECUTE format('COMMENT ON TABLE nvbench.%%I IS %%L', name, 'bench table ' || i);
      EXECUTE format('COMMENT ON COLUMN nvbench.%%I.amount IS %%L', name, 'amount in EUR');
    END IF;
  END LOOP;
END
$bench$]], lo, hi)))
  end
  if ANALYZE then assert(db:exec("ANALYZE")) end
  assert(db:exec("COMMENT ON SCHEMA nvbench IS " .. "'" .. marker:gsub("'", "''") .. "'"))
  io.stderr:write(string.format("setup: created %d tables in %.1f s\n", n, sys.monotonic() - t0))
  settle(db)
  io.write(target, "\t", schema, "\n")
end

local function peak_rss_mib()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmHWM:%s+(%d+) kB")
    if kb then return tonumber(kb) / 1024 end
  end
end

-- NVLUA_BENCH_VERBOSE=1: each statement's time, rows and head on stderr
local function run(schema)
  local verbose = (os.getenv("NVLUA_BENCH_VERBOSE") or "") ~= ""
  local real = require "nv.pg"
  local sent = { query = 0, exec = 0, seconds = 0 }
  local counting = setmetatable({}, { __index = real })
  function counting.open(...)
    local conn, err, code = real.open(...)
    if not conn then return conn, err, code end
    local proxy = {}
    for _, verb in ipairs({ "query", "exec" }) do
      proxy[verb] = function(_, ...)
        sent[verb] = sent[verb] + 1
        local t = sys.monotonic()
        local a, b, c = conn[verb](conn, ...)
        t = sys.monotonic() - t
        sent.seconds = sent.seconds + t
        if verbose then
          local sql = select(1, ...)
          io.stderr:write(string.format("  %.3f s  %6s rows  %s\n", t, verb == "query" and a and #a or "-",
            sql:gsub("%s+", " "):sub(1, 90)))
        end
        return a, b, c
      end
    end
    function proxy.info() return conn:info() end
    function proxy.close() return conn:close() end
    return proxy
  end
  package.loaded["nv.pg"] = counting
  local dbsource = require "nv.dbsource"
  local quiet = function() end
  local ctx = { log = { info = quiet, warning = quiet, error = function(_, fmt, ...)
    io.stderr:write(string.format(fmt, ...), "\n")
  end } }
  local model = { source_id = "bench_pg_catalog", source_type = "postgresql", tables = json.array(),
                  errors = json.array(), files_found = 0, total_size_bytes = 0 }
  local src = { source_id = "bench_pg_catalog", data_source_path = url, source_type = "postgresql" }
  local t0 = sys.monotonic()
  dbsource.source(ctx, src, { profile = "none", include_schemas = schema }, model)
  local dt = sys.monotonic() - t0
  if model.status ~= "success" then
    io.stderr:write("extraction ", tostring(model.status), ": ", tostring(model.errors[1]), "\n")
    os.exit(1)
  end
  local columns, fks, pks = 0, 0, 0
  for _, t in ipairs(model.tables) do
    columns = columns + #t.columns
    fks = fks + #t.foreign_keys
    if t.primary_key then pks = pks + 1 end
  end
  io.write(string.format("pg_catalog: %d tables, %d columns (%d PKs, %d FKs) in %.3f s"
    .. " (%.3f s waiting on the server), %d statements (%d query + %d exec; dbsource counted %d catalog"
    .. " + %d profile), peak RSS %.1f MiB\n",
    #model.tables, columns, pks, fks, dt, sent.seconds, sent.query + sent.exec,
    sent.query, sent.exec, model.catalog_queries or -1, model.profile_queries or -1, peak_rss_mib()))
end

if mode == "setup" then
  setup(math.tointeger(tonumber(arg[3] or "10000")) or error("TABLES must be an integer"))
else
  run(arg[3] ~= nil and arg[3] ~= "" and arg[3] or nil)
end
