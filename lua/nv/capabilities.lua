-- nv.capabilities: what a sandboxed script (`nvlua --sandbox`) may reach of
-- each nv.* module. One declaration per exported name; nv.sandbox builds the
-- script's module tables from it and exposes nothing that is not declared
-- (tests/spec/sandbox_escape_spec.lua checks that every exported name of
-- every module is declared, so a new function cannot become reachable by
-- accident).
--
-- Kinds:
--   "safe"        exposed as is (pure functions; data values as read-only views)
--   "never"       refused: "sandbox: <module>.<name> is not allowed"
--   {path = {k…}} argument k is a local path: allowed only under the roots,
--                 after symlinks are resolved (a path that does not exist yet
--                 is resolved through its nearest existing ancestor); the
--                 function receives the resolved path
--   {store_url = k} a store URL: sqlite only under the roots; any other kind
--                 only the run's configured store
--   {http_url = k}  an http(s) URL (or a table whose .url is one): only the
--                 configured platform endpoint, the sources' own hosts, or
--                 the allow-list (config sandbox_http_allow,
--                 NVLUA_SANDBOX_HTTP_ALLOW); {http_opts = k}: in the options
--                 table, output and ca_bundle are paths, connect_to and follow
--                 are refused
--   {ctx = 1, opts = k} argument 1 must be the run's ctx (the view the job
--                 was given); the trusted function gets the real one. In
--                 opts (argument k) only M.free_keys may differ from the run's
--                 configuration; M.path_keys must pass the path check
--   issues_models = true  (nv.extract.run) the returned source models are
--                 recorded with the files they name; model = k: argument k
--                 must be such a model, its tables and files unchanged (report.
--                 reading previews the files a model names)
--   refuse = {[k] = {key…}}  option keys of argument k that are refused
--   returns = "Class"  a returned object is handed out as a handle exposing
--                 only M.classes[Class]'s methods
-- A whole module may be "never".
local M = {}

local P1 = { path = { 1 } }
-- a listing that would follow symlinks out of the roots
local LIST = { path = { 1 }, refuse = { [2] = { "follow_links" } } }

M.modules = {
  cjson = {
    encode = "safe", decode = "safe", new = "safe", null = "safe", _NAME = "safe", _VERSION = "safe",
    -- process-wide encoder settings the trusted code relies on
    encode_number_precision = "never", decode_max_depth = "never", encode_sparse_array = "never",
    encode_max_depth = "never", decode_invalid_numbers = "never", encode_invalid_numbers = "never",
    encode_keep_buffer = "never",
  },
  ["nv.azure"] = {
    client = "never", dev_account = "safe", dev_key = "safe", parse_connection_string = "safe",
    parse_url = "safe", service_sas = "safe", string_to_sign = "safe", version = "safe",
  },
  ["nv.config"] = {
    defaults = "safe", env_map = "safe", flags = "safe", positional = "safe", nearest = "safe",
    parse_bool = "safe", flag_names = "safe", fail_on_values = "safe", check_outcome_rules = "safe",
    load = "never", parse_args = "never", -- read files and the environment
    register_secrets = "never",
  },
  ["nv.connectors"] = {
    -- the names and checks are data; the connector modules themselves (their
    -- test_connection / tables / extract) reach sources: never handed out
    check = "safe", type_names = "safe", scheme_names = "safe", formats = "safe", auto = "safe",
    validate = "safe",
    list = "never", get = "never", for_type = "never", resolve = "never", load_errors = "never", reload = "never",
    refuse_tenants = "never", refusing = "safe",
  },
  -- test_connection: the job's entry takes the run's ctx; one source's test reaches it
  ["nv.conntest"] = { run = { ctx = 1 }, source = "never" },
  ["nv.connectorlist"] = "never", -- `nvlua connectors`: loads every connector module
  ["nv.csv"] = { open = P1, sniff = P1 },
  ["nv.databricks"] = {
    Client = "never", connect = "never", sleep = "never", settings = "never",
    base_url = "safe", bind = "safe", named_markers = "safe", warehouse_id = "safe",
  },
  ["nv.dbsource"] = {
    engine_for = "never", engines = "never", kinds = "safe", now = "safe", odbc_engine = "safe",
    resolve = "safe", supported_asset_types = "safe", -- engines: the dialects open connections and files
    source = "never", test_connection = "never",
  },
  -- dbconn: the SQL connectors' shared modules (sqlprofile queries connections)
  ["nv.globs"] = "safe",
  ["nv.sqlcatalog"] = { options = "safe", filter = "safe", keep = "safe", tkey = "safe", build_tables = "safe",
                        schema_names = "never", fail = "never", table_failed = "never", table_partial = "never", table_warning = "never" },
  ["nv.sqlprofile"] = "never",
  ["nv.delta"] = {
    LOG = "safe", claim = "safe", group = "never", is_log = "safe", load_local = P1, local_roots = "never",
    log_local = P1, log_remote = "never", max_checkpoint_actions = "safe", max_checkpoint_bytes = "safe",
    max_commit_bytes = "safe", roots_of = "safe", snapshot = "safe", unescape = "safe",
  },
  ["nv.docs"] = "safe", -- the help texts: data only
  ["nv.docs.runtime"] = "safe", -- data
  ["nv.docs.sources"] = "safe", -- data
  ["nv.drift"] = { compare = "safe", default_row_change = "safe", detect = "never", load = "never",
                   previous_run = "never" },
  ["nv.extract"] = {
    run = { ctx = 1, opts = 2, issues_models = true },
    process = "never", source = "never", sources = "never", with_threads = "never",
  },
  -- the pipeline's stages: they read files or run sources, never from a sandbox
  ["nv.extractworker"] = { run_parallel = "never", worker = "never" },
  ["nv.incremental"] = { mode = "never", open = "never" },
  ["nv.filereader"] = { facts = "never", not_in_table = "never", open = "never", ranged = "never",
                        ranged_format = "never", several_tables = "never" },
  ["nv.model"] = { failed = "never", store_record = "never" },
  ["nv.preview"] = { file = "never", rows = "never", sheet = "never", sheet_rows = "never", text = "never" },
  ["nv.progress"] = { new = "never" },
  ["nv.tableprofile"] = { group = "never", profile_table = "never", profile_workbook = "never" },
  ["nv.tabledetail"] = { compact = "never", default_keep = "safe", full = "never", holder = "never", load = "never",
                         ncolumns = "safe", new = "never" },
  ["nv.filesource"] = {
    explicit_formats = "safe", format = "never", group = "safe", hash = "safe", list = LIST, -- format reads file.path
    local_path = "safe", identity = P1, changed = "safe",
  },
  ["nv.fs"] = { detect = P1, head = P1, list = LIST, identity = P1 },
  ["nv.host"] = "safe", -- version, executable and roots: data only
  -- the REPL's help: it requires any module and loads every job script
  -- in the real environment (nv.usage.jobs)
  ["nv.help"] = { complete = "never", matches = "never", text = "never", help = "never" },
  ["nv.http"] = {
    curl_version = "safe", get = { http_url = 1, http_opts = 2 }, post_json = { http_url = 1, http_opts = 3 },
    request = { http_url = 1, http_opts = 1 },
  },
  ["nv.httpd"] = { listen = "never", secure_equal = "safe" },
  ["nv.job"] = "never",
  ["nv.json"] = { array = "safe", decode = "safe", encode = "safe", is_array = "safe", null = "safe",
                  valid_utf8 = "safe" },
  ["nv.jsonfile"] = { open = P1 },
  ["nv.limits"] = "never",
  ["nv.log"] = {
    mask = "safe", write = "safe", enabled = "safe", level = "safe",
    add_secret = "never", close_file = "never", open_file = "never", records = "never",
    set_level = "never", set_stderr = "never",
  },
  ["nv.mysql"] = { client_version = "safe", describe = "safe", open = "never" },
  ["nv.objstore"] = {
    base64 = "safe", glob = "safe", hex = "safe", hmac_sha256 = "safe", parse_list = "safe",
    parse_time = "safe", sha256 = "safe", trim_partial_line = "safe", unbase64 = "safe",
  },
  ["nv.odbc"] = { describe = "safe", open = "never" },
  ["nv.outbox"] = { default_dir = "never", ledger_id = "safe", new_key = "safe", open = "never",
                    key = "safe", STEPS = "safe", DIR_MODE = "safe", FILE_MODE = "safe", LOCK_TIMEOUT = "safe",
                    answered_sources = "never" }, -- reads an outbox directory
  ["nv.parquet"] = { open = P1 },
  ["nv.pg"] = { describe = "safe", libpq_version = "safe", open = "never" },
  ["nv.pqfooter"] = { add = "safe", fetch = "never", guess = "safe", max_footer = "safe", merge = "safe" },
  ["nv.pretty"] = { format = "safe", print = "never" },
  ["nv.proc"] = "never",
  ["nv.profile"] = { new = "safe", load = "safe" },
  ["nv.quality"] = {
    column = "safe", default_freshness_days = "safe", dimensions = "safe", level = "safe",
    summarize = "safe", table = "safe", overall = "safe",
  },
  ["nv.remote"] = { is_remote = "safe", materialize = "never", tables = "never", test_connection = "never",
                    sample_bytes = "safe" },
  ["nv.readers"] = { list = "safe", sniff = "safe", open = P1 },
  ["nv.report"] = {
    aggregate = { ctx = 1 }, metadata = "safe", quality = "safe", reading = { ctx = 1, opts = 3, model = 2 },
    -- the outcome rules: pure functions of result tables
    outcome = "safe", transmission_outcome = "safe", add_failed = "safe", merge_outcome = "safe",
  },
  ["nv.s3"] = {
    client = "never", encode = "safe", parse_url = "safe", query = "safe", status_message = "safe",
    transport_cause = "safe",
  },
  ["nv.sandbox"] = "never",
  ["nv.capabilities"] = "never",
  ["nv.schema"] = {
    by_name = "safe", name = "safe", table_names = "safe", tables = "safe", types = "safe", version = "safe",
  },
  ["nv.serial"] = { dump = "safe", load = "safe" },
  ["nv.server"] = "never",
  ["nv.serverconn"] = "never",
  ["nv.serverjobs"] = "never",
  ["nv.serverroots"] = "never",
  ["nv.filetables"] = "never", -- the file-like connectors' listing (reads the listed files' names)
  ["nv.suggest"] = "safe",
  ["nv.params"] = "safe", -- the shared job-parameter docs: data and a pure copy
  ["nv.redact"] = { text = "safe", model = "safe" },
  ["nv.store"] = {
    open = { store_url = 1, returns = "Store" }, parse_url = "safe", schema_name = "safe", timestamp = "safe",
    validation_report = "safe", describe = "safe", Store = "never",
  },
  ["nv.store.databricks"] = "never",
  ["nv.store.mysql"] = "never",
  ["nv.store.odbc"] = "never",
  ["nv.store.postgresql"] = "never",
  ["nv.store.sqlite"] = "never",
  ["nv.sys"] = {
    getpid = "safe", hostname = "safe", isatty = "safe", monotonic = "safe", now = "safe",
    random_hex = "safe", errno_kind = "safe", realpath = P1, stat = P1, listdir = P1,
    mkdirs = "never", remove_tree = "never", sleep = "never",
    -- the outbox's durable-file primitives write anywhere
    write_new = "never", append_sync = "never", fsync_dir = "never", chmod = "never", lock = "never",
    lock_holder = "never",
  },
  ["nv.transmit"] = {
    PATH = "safe", defaults = "safe", settings = "never",
    build = { ctx = 1 }, collect = { ctx = 1 }, from_models = { ctx = 1 }, run = { ctx = 1 },
    send = { ctx = 1 }, unqueued = { ctx = 1 }, flush = "never",
  },
  ["nv.unitycatalog"] = {
    handles = "safe", list_all = "never", parse_path = "safe", source = "never", source_types = "safe",
    test_connection = "never",
  },
  ["nv.usage"] = { -- jobs() loads every job script in the real environment
    common_outputs = "safe", jobs = "never", job_text = "never", list_text = "never", main_text = "never",
    option_lines = "never", summary = "never", print_main = "never",
  },
  ["nv.workers"] = { map = "never", ncpu = "safe", cgroup_cpu_limit = "never" },
  ["nv.xlsx"] = { open = P1 },
}
M.modules["cjson.safe"] = M.modules.cjson

-- methods of the objects handed out as handles
M.classes = {
  Store = {
    validate = "safe", ensure = "safe", qualified = "safe", insert = "safe", delete = "safe",
    upsert = "safe", write_source = "safe", write_logs = "safe", close = "safe",
    query = "never",       -- raw SQL: ATTACH DATABASE would write any file
    transaction = "never", -- hands the raw store to a callback
  },
}

-- opts keys of a {ctx} function a job may set (they narrow or shape what
-- the run reads); every other key must equal the run's configuration (a job
-- may not redirect the source, the store, the endpoint, a warehouse host or
-- credentials), except M.path_keys, checked like {path}
M.free_keys = {}
for _, k in ipairs({
  "max_rows", "max_bytes", "include", "exclude", "include_hidden", "previews", "preview_rows", "preview_bytes",
  "parquet_footer_only", "full_profile", "freshness_days", "cancelled", "check_cancel", "delimiter", "quote",
  "header", "source_type", "footer_guess", "sample_rows", "profile_rows", "exact_counts", "chunk_columns", "lazy",
  "include_schemas", "exclude_schemas", "include_tables", "exclude_tables", "include_system", "schemas", "tables",
  "schema", "catalog", "catalogs", "remote_max_bytes", "timeout", "query_timeout", "connect_timeout",
  "http_timeout", "wait_timeout", "page_size", "poll_base", "poll_max", "retries", "retry_base", "on_catalog",
  "profile", "filtered", "rows", "bytes", "odbc_engine", "rest_only",
}) do M.free_keys[k] = true end
M.path_keys = { remote_tmpdir = true, tmpdir = true, outbox_dir = true, log_dir = true, api_ca_bundle = true }

--- The declaration of module.name: kind (string or table) | nil.
function M.of(module, name)
  local m = M.modules[module]
  if type(m) ~= "table" then return m end
  return m[name]
end

return M
