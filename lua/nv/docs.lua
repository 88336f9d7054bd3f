-- nv.docs: one line per function of every nv.* module, as data — what the
-- REPL's help() prints (nv.help). Written from each module's source; the
-- specs check that every function a module exports is listed here and that
-- nothing listed is missing from it, so a new function cannot go
-- undocumented. Per module: summary, functions = {name = "signature: meaning"},
-- methods (optional) = {"obj:method(...) -> ...: meaning", ...}.
return {
  ["nv.azure"] = {
    summary = "Azure Blob Storage over nv.http: Shared Key and SAS signing, List Blobs, ranged GETs",
    functions = {
      client = "client(loc, azcfg) -> client | nil, msg: a client for a parsed location and cfg.azure",
      parse_connection_string = "parse_connection_string(s) -> {account_name, account_key, blob_endpoint, sas, ...} | nil, msg",
      parse_url = "parse_url(url) -> {account, container, prefix, base, sas} | nil, msg: https://, abfss://, wasbs://, emulator URLs",
      service_sas = "service_sas(o) -> SAS query text for a container or blob (tests and emulators)",
      string_to_sign = "string_to_sign(method, url_path, query, headers, account) -> the Shared Key string to sign",
    },
    methods = {
      "client:list(prefix [, opts]) -> entries | nil, msg: every blob under prefix, paginated",
      "client:get(blob [, opts]) -> nv.http response | nil, msg (range=, output=, max_body=)",
      "client:put(blob, body) -> true | nil, msg;  client:create_container() -> true | nil, msg",
      "client:url(blob [, params]) -> request URL;  client:display(blob) -> URL without secrets",
    },
  },
  ["nv.config"] = {
    summary = "a job's configuration: command line > NUVYN_JOB_PAYLOAD > --config file > environment > defaults",
    functions = {
      check_outcome_rules = "check_outcome_rules(cfg) -> true | nil, msg: validates and normalizes fail_on and success_threshold",
      flag_names = "flag_names() -> the job options (keys of config.flags), sorted",
      load = "load{args=, getenv=, job_type=} -> cfg | nil, msg (a usage error)",
      nearest = "nearest(word, candidates) -> the candidate within typo distance of word | nil",
      parse_args = "parse_args(args) -> {values, config_file, payload_file} | nil, msg: the job arguments",
      parse_bool = "parse_bool(v, what) -> boolean | nil, msg: true/false/1/0/yes/no/on/off",
      register_secrets = "register_secrets(t, add): calls add(secret) for every secret value in t (recursively)",
    },
  },
  ["nv.connectors"] = {
    summary = "the one registry of source kinds: connectors/<name>.lua under every root (NVLUA_PATH first), "
      .. "and the one list of source_type values (connectors/README.md has the contract)",
    functions = {
      list = "list() -> every connector module, sorted by name",
      get = "get(name) -> the connector of that name | nil",
      for_type = "for_type(source_type) -> the connector owning that alias | nil",
      resolve = "resolve(src) -> connector, forced format? | nil, msg, 'usage' (alias, match(src), URL scheme, else files)",
      check = "check(value [, what]) -> normalized source_type | nil, msg naming the known types and the nearest one, 'usage'",
      type_names = "type_names() -> every accepted source_type, sorted (kinds, aliases, formats, auto)",
      scheme_names = "scheme_names() -> every URL scheme a connector claims, sorted",
      validate = "validate(module, where) -> true | nil, msg: whether a module meets the connector contract",
      load_errors = "load_errors() -> messages for modules under connectors/ that failed to load or break the contract",
      reload = "reload(): forgets the scan (after a connector was added to a root)",
      refuse_tenants = "refuse_tenants(): this process loads no tenant connector from now on (the job server)",
    },
    fields = {
      formats = "{source_type -> reader}: the format names a source_type may force (csv, tsv, json, …, delta, xlsx)",
      auto = "{source_type -> true}: the names that mean 'tell from the path' (auto, file, local)",
    },
  },
  ["nv.conntest"] = {
    summary = "spec 004's test_connection for a run's sources (the test_connection job, POST /connections/test)",
    functions = {
      source = "source(src, opts) -> {source_id, source_path, source_type, connector, asset_types, "
        .. "connection_status, connection_info | error, error_code}",
      run = "run(ctx) -> the test_connection job's result (one source's entry, or connections = {entry…})",
    },
  },
  ["nv.connectorlist"] = {
    summary = "`nvlua connectors [--json]`: every connector with its aliases, schemes, asset types and origin",
    functions = {
      rows = "rows() -> {{name, description, source_types, schemes, asset_types, kind, origin, path}…}, load errors",
      text = "text() -> the table `nvlua connectors` prints",
      main = "main(args) -> exit code: prints text(), or JSON with --json",
    },
  },
  ["nv.csv"] = {
    summary = "streaming CSV reader (host/readers/csv.c): dialect sniffing, profiling into nv.profile, previews",
    functions = {
      open = "open(path [, {delimiter=, quote=, escape=, header=, encoding=, compression=, max_record_bytes=}]) "
        .. "-> reader | nil, msg, code: what is not given is sniffed from the first 64 KiB",
      sniff = "sniff(path [, {compression=}]) -> dialect | nil, msg, code: delimiter, quote, header, encoding",
    },
    methods = {
      "r:header() -> {name, ...};  r:dialect() -> the dialect used",
      "r:profile_into(p [, table] [, {max_rows=, max_bytes=, progress=fn}]) -> stats | nil, msg, stats: feeds profile p",
      "r:rows([table,] [max = 20]) -> iterator over arrays of strings (a preview)",
      "r:tables() -> {{name}} (one table);  r:info() -> {format, path, compression, dialect, columns}",
      "r:close(): idempotent; also __gc and __close (local r <close> = nv.csv.open(path))",
    },
  },
  ["nv.databricks"] = {
    summary = "Databricks SQL Statement Execution API client over nv.http",
    functions = {
      base_url = "base_url(host [, insecure_http]) -> workspace URL | nil, msg",
      bind = "bind(sql, params, n) -> statement text and parameter list for `?` markers",
      connect = "connect(opts) -> client | nil, msg, code",
      named_markers = "named_markers(sql, nulls) -> sql with :p1, :p2, ..., number of markers",
      settings = "settings(cfg, env) -> connect options from cfg.databricks and DATABRICKS_*",
      sleep = "sleep(seconds): the pause between polls (replaceable by tests)",
      warehouse_id = "warehouse_id(http_path) -> id | nil, msg: from /sql/1.0/warehouses/<id>",
    },
    methods = {
      "client:execute(sql, params) -> {statement_id, columns, rows, row_count} | nil, msg, code",
      "client:query(sql, ...) -> rows | nil, msg, code;  client:exec(sql, ...) -> true | nil, msg, code",
      "client:get(path, query) -> decoded JSON | nil, msg, code: any REST GET (Unity Catalog)",
    },
  },
  ["nv.dbsource"] = {
    summary = "the driver of every SQL connector: connect -> catalog -> profile -> model, test_connection",
    functions = {
      engine_for = "engine_for(kind, db, choice) -> the connector's dialect for an open connection",
      kinds = "kinds() -> {source_type or URL scheme -> engine} of the connectors that declare an engine",
      now = "now() -> seconds since the epoch (nv.sys.now; replaceable by tests)",
      odbc_engine = "odbc_engine(opts) -> auto | generic | postgresql | mysql | sqlite | nil, msg",
      resolve = "resolve(src) -> engine name, target | nil, msg",
      source = "source(ctx, src, opts, model) -> model: schemas, tables, columns, keys, profiles",
      supported_asset_types = "supported_asset_types() -> {\"database\", \"schema\", ...}",
      test_connection = "test_connection(src, opts) -> true, {kind, server_version, user, database, schema_count, schemas}"
        .. " | nil, msg, code (connect/auth/usage/io/parse), native code",
    },
  },
  -- dbconn: the SQL connectors' shared modules
  ["nv.globs"] = {
    summary = "include/exclude glob lists (* and ?) shared by the source kinds",
    functions = {
      list_of = "list_of(v) -> {glob...} from \"a, b\" or an array",
      pattern = "pattern(glob) -> an anchored Lua pattern", like = "like(glob) -> a LIKE pattern (ESCAPE '\\')",
      matches = "matches(list, name) -> whether any glob matches the whole name",
      keep = "keep(name, include, exclude) -> included (or include empty) and not excluded",
      path_matches = "path_matches(list, rel) -> object-store paths: fnmatch on the path, then its base name",
      hidden = "hidden(rel) -> whether a path segment starts with . or _",
    },
  },
  ["nv.sqlcatalog"] = {
    summary = "SQL connectors' catalog helpers: options, schema/table filters, the model's tables, table status",
    functions = {
      options = "options(opts) -> opts with the include/exclude glob lists as arrays",
      filter = "filter(dialect, opts, schema_expr, table_expr) -> \" AND ...\" SQL, params",
      keep = "keep(opts, schema, table) -> whether the filters keep it", tkey = "tkey(schema, table) -> a key",
      schema_names = "schema_names(db, dialect, sql, schema_expr) -> {name...} | nil, msg, code",
      build_tables = "build_tables(model, catalog, dialect): model.tables from a dialect's catalog",
      fail = "fail(ctx, model, msg) -> model, failed",
      table_failed = "table_failed(ctx, model, label, t, msg)", table_partial = "table_partial(ctx, model, label, t, msg)",
      table_warning = "table_warning(ctx, model, label, t, msg)",
    },
  },
  ["nv.sqlprofile"] = {
    summary = "SQL connectors' profiling: pushed-down aggregates, sample profiling, minimal -> sample -> partial",
    functions = {
      profile_table = "profile_table(db, dialect, t, opts, counter, warn) -> true | nil, msg",
      pushdown = "pushdown(db, dialect, t, ref, opts, counter, aggregates) -> true | nil, msg",
      sample = "sample(db, dialect, t, ref, opts, counter) -> true | nil, msg: rows through nv.profile",
      samples = "samples(db, dialect, t, ref, opts, counter) -> true | nil, msg: sample values",
      row_option = "row_option(v, default) -> an integer in [1, 2^31 - 1]",
    },
  },
  ["nv.delta"] = {
    summary = "Delta Lake tables: the live data files from replaying _delta_log (and checkpoints)",
    functions = {
      claim = "claim(roots, rel) -> the Delta table prefix a listed path belongs to, path inside | nil",
      group = "group(files, root, deltas, group, opts) -> tables: Delta tables first, then the rest",
      is_log = "is_log(names) -> whether names hold a commit or checkpoint",
      load_local = "load_local(root, files) -> {[prefix] = snapshot | {error = msg}}",
      local_roots = "local_roots(root, files) -> directories of a listing that hold a _delta_log",
      log_local = "log_local(dir) -> the log of a _delta_log directory on disk",
      log_remote = "log_remote(o) -> the log of listed objects (nv.remote)",
      roots_of = "roots_of(rels) -> table prefixes of listed keys that have a _delta_log child",
      snapshot = "snapshot(log) -> {version, live, nlive, removed, ...} | nil, msg naming the log file",
      unescape = "unescape(p) -> a percent-decoded Delta path",
    },
  },
  ["nv.docs"] = {
    summary = "this documentation, as data (what help() prints)",
    functions = {},
  },
  ["nv.drift"] = {
    summary = "schema drift against the source's previous run: tables/columns added or removed, type and row-count changes",
    functions = {
      compare = "compare(prev, rec, opts) -> drift document, changed",
      detect = "detect(store, rec, opts) -> drift | nil (no previous run)",
      load = "load(store, source_id, run_id) -> name -> {row_count, columns}",
      previous_run = "previous_run(store, source_id, run_id) -> the previous successful run id | nil",
    },
  },
  ["nv.extract"] = {
    summary = "the extraction pipeline: connector -> tables -> readers -> profiles -> quality -> source model",
    functions = {
      process = "process(ctx, src, opts) -> model: extract one source, check drift, write it when write_to_db",
      run = "run(ctx, opts) -> source models: every source of the job (several in parallel)",
      source = "source(ctx, src, opts) -> the source model (status success | partial | failed)",
      sources = "sources(ctx) -> the job's sources, warnings",
    },
  },
  ["nv.extractworker"] = {
    summary = "the job's sources extracted in parallel, one worker thread and lua_State each",
    functions = {
      run_parallel = "run_parallel(ctx, list, opts, nworkers) -> models, on nworkers threads",
      worker = "worker(text) -> text: one source in a worker thread (nv.workers.map)",
    },
  },
  ["nv.filereader"] = { summary = "the reader of a file of a known format, opened through nv.readers; the Lua side's per-format facts, declared once",
    functions = { facts = "facts(r) -> the facts of an open reader's info() a file entry keeps (CSV dialect, Parquet footer facts)",
                  not_in_table = "not_in_table(file, format) -> why a file of format cannot be one file of a multi-file table | nil",
                  open = "open(file, format, opts) -> reader | nil, msg",
                  ranged = "ranged(rel, source_type) -> {fetch, guess, format} when the object's reader reads byte ranges (Parquet) | nil",
                  ranged_format = "ranged_format(file, source_type) -> the format of a file held as byte ranges of an object",
                  several_tables = "several_tables(format) -> true when a file of format holds several tables (a workbook)" } },
  ["nv.model"] = {
    summary = "source model shaping: a failed source's model, the store record of a model",
    functions = {
      failed = "failed(src, err) -> the (masked) model of a source that failed before any table",
      store_record = "store_record(ctx, model) -> the nv.store write_source record of a model",
    },
  },
  ["nv.preview"] = {
    summary = "bounded previews of a file (first bytes and rows) or a worksheet (first rows)",
    functions = {
      file = "file(f, format, popts) -> columns, rows and raw preview of one file",
      rows = "rows(r, table, nrows) -> the first rows of a table of an open reader, error?",
      sheet = "sheet(path, sheet, nrows) -> rows, error?",
      sheet_rows = "sheet_rows(wb, sheet, nrows) -> the first rows of a worksheet of an open workbook, error?",
      text = "text(path, nbytes) -> the first bytes of a file, cut at a line end",
    },
  },
  ["nv.progress"] = { summary = "the extraction's progress line on stderr (only on a terminal)",
    functions = { new = "new(total_files, total_bytes) -> progress with :step(bytes) and :within(bytes)" } },
  ["nv.tabledetail"] = {
    summary = "bounded memory for many tables: past detail_tables a table's full model waits in a file, a compact entry stays",
    functions = {
      compact = "compact(t, offset, length) -> the compact entry of a spilled table",
      full = "full(m, t) -> the full model of table t of source model m",
      holder = "holder(ctx, m, opts) -> holder: holder:add(t) -> t or its compact entry past opts.detail_tables; holder:finish()",
      load = "load(path, offset, length) -> a spilled table model",
      ncolumns = "ncolumns(t) -> the columns of a table model, compact or full",
      new = "new(ctx, keep_file, dir) -> spill with :put(t) -> offset, length and :finish() | nil, msg, code",
    },
  },
  ["nv.tableprofile"] = {
    summary = "one table of a file source (its files, or a workbook's sheets) profiled into the table model",
    functions = {
      group = "group(ctx, g, opts, progress) -> the table models of one listed group",
      profile_table = "profile_table(ctx, t, opts, progress) -> the table model (all its files profiled)",
      profile_workbook = "profile_workbook(ctx, g, opts, progress) -> one table per worksheet",
    },
  },
  ["nv.filesource"] = {
    summary = "local file sources: listing, grouping files into tables (partitions), format detection",
    functions = {
      changed = "changed(before, after) -> nil | 'size A -> B' / 'replaced (inode A -> B)' / 'modified (mtime A -> B)' / 'removed'",
      format = "format(file, source_type) -> format, compression | nil, msg",
      group = "group(files, root) -> {{key, name, files, partition_columns, partitions}, ...}",
      hash = "hash(s) -> 64-bit FNV-1a of s as 16 hex digits",
      identity = "identity(path) -> {size, mtime, ino, dev} | nil, msg (nv.fs.identity)",
      list = "list(path, opts) -> files, errors | nil, msg (include=, exclude=, include_hidden=)",
      local_path = "local_path(path) -> the local path: file:// stripped, dbfs:/x as /dbfs/x",
    },
  },
  ["nv.fs"] = {
    summary = "the local file connector (connectors/drivers/fs.c): listing and content-based format detection",
    functions = {
      detect = "detect(path) -> format, compression | nil, msg, kind, errno: parquet|xlsx|xls|zip|json|csv|binary|empty",
      head = "head(path, nbytes) -> the first nbytes of the (decompressed) content | nil, msg, kind, errno",
      identity = "identity(path) -> {size, mtime, ino, dev} | nil, msg, kind, errno: to tell whether a file changed while read",
      list = "list(path [, {include=, exclude=, include_hidden=, follow_links=, max_files=}]) -> files, errors | nil, msg, kind, errno",
    },
  },
  ["nv.help"] = {
    summary = "help() and Tab completion in the REPL",
    functions = {
      complete = "complete(word) -> the completions of word against the live Lua state, sorted",
      help = "help([x]) -> prints the overview, or the docs of a module / function (a value or a name)",
      matches = "matches(word) -> completions in readline's order (common prefix first)",
      text = "text([x]) -> what help(x) prints",
    },
  },
  ["nv.host"] = {
    summary = "the host's facts: version, root (the install tree), roots (NVLUA_PATH first); no functions",
    functions = {},
  },
  ["nv.http"] = {
    summary = "HTTP(S) through libcurl: retries with backoff, gzip, bounded bodies, masked errors",
    functions = {
      get = "get(url [, opts]) -> response | nil, msg, code",
      post_json = "post_json(url, value [, opts]) -> response (+ .json, the decoded body) | nil, msg, code",
      request = "request{method=, url=, headers=, body=, timeout=, retries=, bearer=, output=, ...} "
        .. "-> {status, headers, body, attempts, elapsed, url} | nil, msg, code",
    },
  },
  ["nv.httpd"] = {
    summary = "a small HTTP/1.1 server (libmicrohttpd) whose handlers run inside srv:poll()",
    functions = {
      listen = "listen{bind=, port=, max_body=, max_connections=, per_ip_connections=, timeout=, "
        .. "header_timeout=, body_timeout=} -> srv | nil, msg, kind, errno",
      secure_equal = "secure_equal(a, b) -> boolean, in constant time",
    },
    methods = {
      "srv:on_request(function(req) return status, headers, body end)",
      "srv:poll(timeout_ms) -> requests answered;  srv:port() -> the bound port;  srv:close()",
      "srv:stats() -> {connections = open now, cut = ended past a header/body deadline}",
    },
  },
  ["nv.job"] = {
    summary = "the job contract and runner: config, logging, store, run record, one JSON result",
    functions = {
      decide = "decide(cfg, result, err) -> status, exit code, error: the outcome rules (fail_on, success_threshold)",
      find = "find(job_type) -> path of jobs/<job_type>.lua in the first root that has it | nil",
      finish_lost = "finish_lost(report_json, reason) -> 1: the supervisor's end of a sandboxed run that ended without its result (prints the failure result, writes the run row Failed)",
      job_dirs = "job_dirs() -> the jobs/ directories, highest priority first",
      known_jobs = "known_jobs() -> job type names, sorted",
      load = "load(path [, env]) -> job table | nil, msg",
      logger = "logger(module) -> lg with lg:debug/info/warning/error(fmt, ...)",
      main = "main(args [, sandboxed]) -> exit code: `nvlua run` (e.g. nv.job.main{\"schema_validation\"})",
      record_run = "record_run(store, cfg, run_row, ctx) -> nil | why not: the final executor_runs row and the log lines (retried once on a new connection); closes store",
      run_job = "run_job(job, args, script_path, job_type, opts) -> exit code: runs a loaded job",
      run_sandboxed = "run_sandboxed(path, args) -> exit code: a script in the sandbox",
    },
  },
  ["nv.json"] = {
    summary = "JSON: decoding by lua-cjson; encoding here, with sorted keys, json.array and json.null",
    functions = {
      array = "array([t]) -> t marked as a JSON array (so an empty one encodes as [])",
      decode = "decode(s) -> value | nil, msg",
      encode = "encode(v) -> compact JSON text with sorted object keys",
      is_array = "is_array(t) -> whether t encodes as a JSON array",
      valid_utf8 = "valid_utf8(s) -> s with invalid UTF-8 replaced by U+FFFD, changed (encode applies it to every string)",
    },
  },
  ["nv.jsonfile"] = {
    summary = "NDJSON / top-level-array JSON files (plain, gzip, zstd) streamed into a profile",
    functions = {
      open = "open(path [, {compression=, max_record_bytes=, format=}]) -> reader | nil, msg, code (\"open\" | \"memory\"), errno",
    },
    methods = {
      "r:format() -> \"ndjson\" | \"array\"",
      "r:profile_into(p [, table] [, {max_rows= (alias max_records=), max_bytes=, progress=fn}]) -> stats | nil, msg, stats",
      "r:records([max = 20]) (also r:rows([table,] max)) -> iterator over records as nested tables;  r:close()",
      "r:tables() -> {{name}} (one table);  r:info() -> {format, path, layout, records_path, compression}",
    },
  },
  ["nv.limits"] = {
    summary = "memory, CPU and wall-clock limits of this Lua state (the sandbox turns them on), and the sandbox supervisor's pipe",
    functions = {
      report = "report(line) -> true | false (no supervisor) | nil, msg, \"io\": one line to the supervisor of a sandboxed run",
      set_cpu = "set_cpu(seconds | 0): CPU time limit of the whole process (count hook; RLIMIT_CPU/SIGXCPU for C calls)",
      set_memory = "set_memory(bytes | 0): memory cap of the Lua allocator and (RLIMIT_DATA) of C allocations",
      set_wall = "set_wall(seconds | 0): wall-clock limit from the first call (count hook; the supervisor's SIGKILL for C calls)",
      usage = "usage() -> {used, peak, max, refused, cpu, cpu_limit, wall, wall_limit, data_base, data_limit, supervised}",
    },
  },
  ["nv.log"] = {
    summary = "levelled, masked log lines (`HH:MM:SS - module - LEVEL - message`) on stderr and the run's file",
    functions = {
      add_secret = "add_secret(s): s is replaced by *** in every line, result and stored parameter",
      close_file = "close_file() -> true | nil, msg, kind, errno: stop writing the log file (msg names it and the first write error when lines were lost)",
      enabled = "enabled(level) -> whether lines at level are written",
      level = "level() -> the current level name",
      mask = "mask(s) -> s with every registered secret, secret-bearing key's value (sig=, X-Amz-Signature=, token=, PWD=, ...), Authorization credentials, dapi token and URL password masked",
      open_file = "open_file(path) -> true | nil, msg, kind, errno: append log lines to path",
      records = "records() -> the records kept since the last call, dropped count",
      set_level = "set_level(level): DEBUG, INFO, WARNING or ERROR (raises on anything else)",
      set_stderr = "set_stderr(on): whether lines also go to stderr",
      write = "write(level, module, message)",
    },
  },
  ["nv.mysql"] = {
    summary = "MySQL/MariaDB driver (mariadb-connector-c), the same shape as nv.store.sqlite",
    functions = {
      describe = "describe(url) -> {host, port, database, user} | nil, msg",
      open = "open(url [, {connect_timeout=, read_only=}]) -> conn | nil, msg, kind, errno",
    },
    methods = {
      "conn:exec(sql, ...) -> affected rows | nil, msg, kind, errno;  conn:query(sql, ...) -> rows, colnames",
      "conn:info() -> {host, port, database, user, server_version};  conn:close()",
    },
  },
  ["nv.objstore"] = {
    summary = "C primitives for object stores: listings, times, hashes, encodings, globs",
    functions = {
      base64 = "base64(s) -> text",
      glob = "glob(pattern, rel) -> boolean: fnmatch on the path, then on its basename",
      hex = "hex(s) -> lowercase hex",
      hmac_sha256 = "hmac_sha256(key, data) -> 32 raw bytes",
      parse_list = "parse_list(xml) -> {kind, entries, next, truncated, code, message} | nil, msg: S3/Azure listings",
      parse_time = "parse_time(s) -> epoch | nil: ISO 8601 Z or RFC 1123",
      sha256 = "sha256(data) -> 32 raw bytes",
      trim_partial_line = "trim_partial_line(path) -> bytes kept | nil, msg, kind, errno: cut a prefix download after its last newline",
      unbase64 = "unbase64(text) -> s | nil, msg",
    },
  },
  ["nv.odbc"] = {
    summary = "any ODBC driver through unixODBC, the same shape as nv.pg, plus catalog functions",
    functions = {
      describe = "describe(connstr) -> {driver, dsn, host, port, database, user}",
      open = "open(connstr [, {connect_timeout=, login_timeout=, read_only=, query_timeout=}]) -> conn | nil, msg, kind, sqlstate",
    },
    methods = {
      "conn:exec(sql, ...) -> affected rows;  conn:query(sql | {sql, max_rows=}, ...) -> rows, colnames",
      "conn:tables/columns/primary_keys/foreign_keys(...) -> rows, colnames (ODBC catalog functions)",
      "conn:begin() / conn:commit() / conn:rollback();  conn:info();  conn:close()",
    },
  },
  ["nv.outbox"] = {
    summary = "the on-disk exactly-once outbox of payloads waiting for the platform (sent by later runs)",
    functions = {
      default_dir = "default_dir(cfg) -> cfg.outbox_dir, /dbfs/executor/outbox on Databricks, else ./outbox",
      answered_sources = "answered_sources(dir) -> set of ledger ids whose every chunk the platform answered",
      key = "key({workflow, source, run, ...}) -> the Idempotency-Key of that content identity (32 hex digits)",
      ledger_id = "ledger_id(run_id, source_id) -> the ledger key of a source",
      new_key = "new_key() -> a random Idempotency-Key (32 hex digits)",
      open = "open(dir [, {lock_timeout=}]) -> outbox | nil, msg: locked for this run, dir 0700, a killed run's .tmp files recovered",
    },
    methods = {
      "box:put(body, key) -> entry (entry.existing when the key is queued or answered already);  box:status(key)",
      "box:pending() / box:rejected() -> entries;  box:read(entry);  box:delivered(entry, body);  box:remove(entry)",
      "box:reject(entry, info, encode, body);  box:was_delivered(key);  box:ledger() -> sources fully answered;  box:close()",
    },
  },
  ["nv.parquet"] = {
    summary = "Parquet: metadata from the footer alone, profiles from data pages, row previews",
    functions = {
      open = "open(path [, {size=, ranges=}]) -> reader | nil, msg, code: reads only the footer",
    },
    methods = {
      "r:metadata() -> {num_rows, created_by, version, row_groups, key_value, columns}",
      "r:profile_into(p [, table] [, {row_groups=, max_rows=, max_bytes=, progress=fn}]) -> stats | nil, msg, stats",
      "r:tables() -> {{name}} (one table);  r:info() -> {format, path, rows, row_groups, columns, created_by}",
      "r:rows([max = 20]) -> iterator over row tables;  r:row_group_ranges();  r:close()",
    },
  },
  ["nv.params"] = {
    summary = "the documented job parameters the jobs share (what `nvlua run JOB --help` prints)",
    functions = {
      pick = "pick(names [, extra]) -> params: copies of the named shared parameter docs, plus extra",
    },
  },
  ["nv.pg"] = {
    summary = "PostgreSQL driver over libpq, `?` parameters, the same shape as nv.store.sqlite",
    functions = {
      describe = "describe(url_or_conninfo) -> {host, port, database, user} | nil, msg",
      open = "open(url_or_conninfo [, {connect_timeout=, read_only=, application_name=}]) -> conn | nil, msg, kind, sqlstate",
    },
    methods = {
      "conn:exec(sql, ...) -> affected rows | nil, msg, kind, sqlstate;  conn:query(sql, ...) -> rows, colnames",
      "conn:info() -> {host, port, database, user, server_version};  conn:close()",
    },
  },
  ["nv.pqfooter"] = {
    summary = "Parquet read footer-first from an object store, and table columns from footers alone",
    functions = {
      add = "add(acc, md): accumulate one file's footer metadata into acc",
      fetch = "fetch(get, size, path, opts) -> {ranges, row_groups, requests, ...} | nil, msg",
      merge = "merge(columns, acc): merge footer-only columns into profiled ones",
    },
  },
  ["nv.pretty"] = {
    summary = "values as readable text (the REPL's result printer)",
    functions = {
      format = "format(v) -> v rendered as text: tables expanded, strings quoted",
      print = "print(...): each argument on its own line",
    },
  },
  ["nv.proc"] = {
    summary = "child processes without a shell, and signals received through a signalfd",
    functions = {
      kill = "kill(pid [, sig]) -> true | nil, msg, kind, errno: sig a number or TERM, KILL, INT, HUP, USR1, USR2",
      poll = "poll(pid) -> \"running\" | \"exited\", code | \"signaled\", signo | nil, msg, kind, errno",
      spawn = "spawn{argv=, env=, replace=, stdout=, stderr=, stdin=, cwd=, rlimits={as=, cpu=}} "
        .. "-> pid | nil, msg, kind, errno (rlimits set between fork and exec: in force from the child's first instruction)",
      trap = "trap{\"TERM\", ...} -> trap | nil, msg, kind, errno: trap:take() -> pending signal name | nil; trap:close()",
      umask = "umask(mask) -> the previous file-creation mask (inherited by children)",
      wait = "wait(pid) -> as poll, blocking until the child ends",
    },
  },
  ["nv.profile"] = {
    summary = "the column profiler engine (counts, types, distinct, top values, quantiles) as a userdata",
    functions = {
      new = "new([{max_columns = 10000, exact_budget = bytes}]) -> p, an empty profile (columns past max_columns are counted, not profiled)",
    },
    methods = {
      "p:column(name) -> 0-based index | nil, 'max_columns reached';  p:set_native_type(col, type)",
      "p:add(col, value);  p:add_row({v1, v2, ...});  p:add_rows(n);  p:merge(other)",
      "p:result() -> {rows=, columns={...}};  p:close()",
    },
  },
  ["nv.quality"] = {
    summary = "the six quality dimensions scored per column, table and source (README: Quality dimensions)",
    functions = {
      column = "column(c, findings) -> scores (0-100 or nil per dimension), findings",
      level = "level(score) -> Excellent, Good, Fair or Poor",
      overall = "overall(s) -> the mean of the measured dimension scores | nil, reason when no content dimension was measured",
      summarize = "summarize(tables) -> {overall_score, quality_level, quality_metrics, recommendations}",
      table = "table(t, opts) -> {scores, columns = {name -> scores}, findings}",
    },
  },
  ["nv.redact"] = {
    summary = "the masking boundary of the source model: what leaves nv.extract has every secret masked",
    functions = {
      model = "model(m) -> m with every string in it (values and keys) passed through nv.log.mask, in place",
      text = "text(s) -> s masked (non-strings unchanged)",
    },
  },
  ["nv.filetables"] = {
    summary = "what the file-like connectors share: a listing of files grouped into tables (connectors/README.md)",
    functions = {
      listing = "listing(src, opts, files, root, deltas, errors) -> {groups, files_found, total_size_bytes, errors, warnings}",
    },
  },
  ["nv.readers"] = {
    summary = "the file readers behind one contract (host/readers/reader.h): csv, json, parquet, xlsx",
    functions = {
      list = "list() -> {{name, aliases, extensions}, ...}: the readers, in sniff order",
      open = "open(path [, format = \"auto\" [, opts]]) -> reader | nil, msg, code: format a name or alias, "
        .. "auto sniffs the content; opts go to the format's open. Every reader: tables(), "
        .. "profile_into(p [, table] [, {max_rows=, max_bytes=, progress=fn}]), rows([table,] n), info(), close()",
      sniff = "sniff(bytes [, name]) -> format, score (0..100) | nil, msg, \"parse\": the best reader for a file's "
        .. "first bytes (shorter than 64 KiB: the whole file); name's extension is a hint",
    },
  },
  ["nv.remote"] = {
    summary = "object-store sources (S3, Azure Blob) turned into local files for the extraction",
    functions = {
      is_remote = "is_remote(path, source_type) -> \"s3\" | \"azure\" | nil",
      materialize = "materialize(ctx, src, opts) -> files, errors, cleanup, deltas | nil, msg",
      tables = "tables(ctx, src, opts) -> listing (connectors/README.md) | nil, msg, code: the s3/azure connectors' tables()",
      test_connection = "test_connection(src, cfg) -> true, {kind, where, objects, total_size_bytes} | nil, msg, code",
    },
  },
  ["nv.report"] = {
    summary = "the JSON result shapes of spec 001 (per job) and spec 003 (several sources)",
    functions = {
      add_failed = "add_failed(result, obj): adds one failed object (a failed step) to a result's outcome",
      aggregate = "aggregate(ctx, models, shape) -> one result, or the multi-source aggregate",
      merge_outcome = "merge_outcome(result, step): copies a step's outcome (status, failed_objects, counts, error) into result",
      outcome = "outcome(m) -> {failed = {{source, table?, path?, reason}}, total, succeeded, warnings}: a source model's objects",
      transmission_outcome = "transmission_outcome(r) -> api_transmission's outcome fields from nv.transmit.send's result",
      metadata = "metadata(m) -> metadata_extraction's result for one source model",
      quality = "quality(m) -> quality_assessment's result for one source model",
      reading = "reading(ctx, m, opts) -> data_reading's result for one source model",
    },
  },
  ["nv.s3"] = {
    summary = "Amazon S3 and S3-compatible stores over nv.http: SigV4, ListObjectsV2, ranged GETs",
    functions = {
      client = "client(aws) -> client: cfg.aws keys, region, endpoint_url (unsigned without keys)",
      encode = "encode(s, keep_slash) -> RFC 3986 percent-encoding",
      parse_url = "parse_url(\"s3://bucket/prefix\") -> {bucket, prefix} | nil, msg",
      query = "query(params) -> a query string with keys sorted",
      status_message = "status_message(resp) -> \"403 Forbidden (AccessDenied)\"",
      transport_cause = "transport_cause(msg, code) -> the cause of a failed nv.http call",
    },
    methods = {
      "client:list(bucket, prefix [, {max_keys=}]) -> entries | nil, msg",
      "client:get(bucket, key [, {range=, output=, max_body=}]) -> response | nil, msg;  client:put(bucket, key, body)",
      "client:url(bucket, key [, query]) -> request URL;  client:request(opts)",
    },
  },
  ["nv.sandbox"] = {
    summary = "restricted globals, nv.* modules through nv.capabilities, files under allowed roots, CPU/memory limits (--sandbox)",
    functions = {
      allowed = "allowed(path, roots) -> whether path (after symlinks) lies under one of roots, resolved path",
      deny = "deny(what): raises \"sandbox: <what> is not allowed\"",
      env = "env(roots) -> a fresh global table for a sandboxed chunk (turns the limits on)",
      explain = "explain(msg) -> msg, or \"sandbox: memory limit of N MiB exceeded\" for a failed allocation",
      limit = "limit(): turns the limits on (NVLUA_SANDBOX_CPU, NVLUA_SANDBOX_WALL, NVLUA_SANDBOX_MEMORY_MB) and reports them to the supervisor",
      limit_values = "limit_values() -> cpu seconds, memory MiB, wall seconds (0: none) from the environment",
      loadfile = "loadfile(path, roots) -> chunk | nil, msg, loaded into a sandbox env",
      origin = "origin(url) -> \"scheme://host:port\" of an http(s) URL | nil",
      active = "active() -> whether a sandbox env exists in this process (tenant connectors are then refused)",
      resolve = "resolve(path) -> path without symlinks (a new path through its nearest existing ancestor) | nil",
      roots = "roots(cfg) -> the allowed roots from the configuration and environment",
      view = "view(ctx, roots) -> the job's read-only view of ctx (the store as a handle)",
    },
  },
  ["nv.capabilities"] = {
    summary = "what a sandboxed script may reach of each nv.* module: safe, never, path, store_url, http_url, ctx",
    functions = {
      of = "of(module, name) -> the declaration of module.name | nil (not exposed)",
    },
  },
  ["nv.schema"] = {
    summary = "the _executor_metadata tables as data (name, version, tables, by_name, types); no functions",
    functions = {},
  },
  ["nv.serial"] = {
    summary = "plain data to Lua literal text and back (how values cross between worker states)",
    functions = {
      dump = "dump(v) -> text (raises on values that are not plain data)",
      load = "load(text) -> v, loaded in an empty environment",
    },
  },
  ["nv.server"] = {
    summary = "`nvlua serve`: the spec-003 job server (POST /jobs/create, GET /jobs/<id>, cancel, health)",
    functions = {
      is_loopback = "is_loopback(addr) -> whether addr is 127.0.0.0/8 or ::1",
      masked_payload = "masked_payload(text) -> the payload JSON with its secrets replaced by ***",
      main = "main(args) -> exit code: `nvlua serve [--port N] [--bind ADDR] ...`",
      new = "new(settings, token) -> a server state (no socket yet)",
      parse_args = "parse_args(args) -> opts | nil, msg",
      reply = "reply(status, value, extra_headers?) -> status, headers, masked JSON body (a route's answer)",
      err = "err(status, msg, extra_headers?) -> reply(status, {error = msg}, …)",
    },
  },
  ["nv.serverjobs"] = {
    summary = "a job's life on the job server: its records, start, reaping, signals, and adoption after a restart",
    functions = {
      identity = "identity(pid) -> \"<start time>@<boot id>\", state | nil once the process is gone",
      write_file = "write_file(path, text) -> true | nil, msg: through a temporary file renamed into place",
      read_file = "read_file(path) -> the whole content | nil",
    },
  },
  ["nv.serverconn"] = {
    summary = "the job server's POST /connections/test: a test_connection job run at once, waited for",
    functions = {
      test = "test(server, req) -> status, headers, body (200 the job's result | 400 | 403 | 500 | 504)",
    },
  },
  ["nv.serverroots"] = {
    summary = "the directories a job server's jobs may use, and the check of a payload's paths",
    functions = {
      check = "check(cfg, roots, job_dir, jobs_dir) -> true | nil, msg (a path outside the roots)",
      resolve = "resolve(spec) -> realpaths of a ':'-list or array (nil: cwd, /dbfs, /Volumes) | nil, msg",
    },
  },
  ["nv.store"] = {
    summary = "the _executor_metadata store: SQLite (default), PostgreSQL, MySQL, ODBC, Databricks",
    functions = {
      describe = "describe(url) -> the store's name for messages: the URL without its password",
      open = "open(url [, cfg]) -> store | nil, msg (default sqlite:_executor_metadata.db); store.name = describe(url)",
      parse_url = "parse_url(url) -> kind, target | nil, msg",
      timestamp = "timestamp(epoch) -> UTC text \"2026-11-25 19:09:13.123\"",
      validation_report = "validation_report(store, before, changes) -> schema_validation's result",
    },
    methods = {
      "st:query(sql, ...) -> rows, colnames | nil, msg, kind ('sql', 'io', 'connect'), native code (tables as _executor_metadata.<table>)",
      "st:validate();  st:ensure() -> changes, before;  st:transaction(fn)",
      "st:insert(t, row);  st:upsert(t, row);  st:delete(t, where);  st:write_source(rec);  st:close()",
    },
  },
  ["nv.store.sqlite"] = {
    summary = "the SQLite driver under the default store",
    functions = {
      open = "open(path [, {schema = \"_executor_metadata\"}]) -> db | nil, msg, kind, SQLite result code",
    },
    methods = {
      "db:exec(sql, ...) -> changes;  db:query(sql, ...) -> rows, colnames;  db:script(sql) -> true",
      "db:close(): idempotent; also __gc and __close",
      "db:read_only() -> nil | why writes are refused (a file or directory without write bits: \"the store file has mode 0444\")",
    },
  },
  ["nv.suggest"] = {
    summary = "\"did you mean ...?\" for options, job types and source types (Levenshtein distance)",
    functions = {
      nearest = "nearest(word, candidates) -> the candidate within typo distance of word (a third of its length, at least 2; under half the candidate's) | nil",
    },
  },
  ["nv.sys"] = {
    summary = "the OS facts Lua's standard library lacks",
    functions = {
      append_sync = "append_sync(path, data [, mode = 0600]) -> true | nil, msg, kind, errno: one write, fsynced",
      chmod = "chmod(path, mode) -> true | nil, msg, kind, errno",
      errno_kind = "errno_kind(errno) -> the error convention's kind for an errno (\"notfound\", \"permission\", \"exists\", \"busy\", \"io\", ...)",
      fsync_dir = "fsync_dir(path) -> true | nil, msg, kind, errno: renames and removals in it made durable",
      getpid = "getpid() -> the process id",
      hostname = "hostname() -> the host name | nil, msg",
      isatty = "isatty(fd) -> boolean",
      lock = "lock(path [, timeout]) -> lock (lock:close()) | nil, msg, kind, errno: an exclusive flock, the holder's pid in the file",
      lock_holder = "lock_holder(path) -> the pid a lock file names | nil",
      listdir = "listdir(path) -> {names...} | nil, msg, kind, errno",
      mkdirs = "mkdirs(path) -> true | nil, msg, kind, errno (mkdir -p)",
      monotonic = "monotonic() -> seconds on a clock that never goes back",
      now = "now() -> seconds since the epoch, sub-second precision",
      random_hex = "random_hex(nbytes) -> 2*nbytes hex characters from the kernel CSPRNG",
      realpath = "realpath(path) -> absolute path without symlinks | nil, msg, kind, errno",
      remove_tree = "remove_tree(path) -> true | nil, msg, kind, errno: path and everything below it",
      sleep = "sleep(seconds): waits that long (at most a day)",
      stat = "stat(path) -> {type, size, mtime} | nil, msg, kind, errno",
      write_new = "write_new(path, data [, mode = 0600]) -> true | nil, msg, kind, errno: a new file, fsynced, that mode whatever the umask",
    },
  },
  ["nv.transmit"] = {
    summary = "metadata payloads for the platform API, delivered through the outbox",
    functions = {
      build = "build(ctx, recs [, limits]) -> payloads (one source each, keyed by content identity)",
      collect = "collect(ctx) -> recs, scope | nil, msg: the stored rows to send",
      flush = "flush(ctx, box, s) -> {sent, rejected, status_code, api_response, error}",
      from_models = "from_models(ctx, models) -> recs",
      run = "run(ctx, models) -> result: build and send the models of this run",
      send = "send(ctx [, payloads]) -> {transmission_status, sent, pending, rejected, ...}",
      settings = "settings(cfg) -> endpoint, key, retries, limits, ...",
      unqueued = "unqueued(ctx, recs) -> recs not delivered before, n_skipped",
    },
  },
  ["nv.unitycatalog"] = {
    summary = "a Databricks Unity Catalog metastore as a metadata source (catalog only, no warehouse)",
    functions = {
      handles = "handles(src) -> true when src is a uc:// or databricks:// source",
      list_all = "list_all(client, path, key, query, page_size) -> items, pages | nil, msg",
      parse_path = "parse_path(path) -> {host?, catalog?, schema?} | nil, msg",
      source = "source(ctx, src, opts, model) -> model",
      test_connection = "test_connection(src, opts) -> true, {kind, host, catalogs, catalog_count, schemas?} "
        .. "| nil, msg, code",
    },
  },
  ["nv.usage"] = {
    summary = "the command line's help texts (nvlua --help, run --list, run JOB --help)",
    functions = {
      job_text = "job_text(name, job) -> `nvlua run JOB --help`",
      jobs = "jobs() -> {{name, job | error}, ...} for every job found",
      list_text = "list_text() -> `nvlua run --list`",
      main_text = "main_text() -> the jobs and job options part of `nvlua --help`",
      option_lines = "option_lines(out [, extra]) -> out with one line per job option",
      print_main = "print_main() -> 0, after writing main_text()",
      summary = "summary(entry) -> a job's one-line description",
    },
  },
  ["nv.workers"] = {
    summary = "a Lua function over many inputs on a pool of OS threads, one lua_State each",
    functions = {
      map = "map(\"module.function\", {input strings}, nthreads) -> {{ok = true, value =} | {ok = false, error =}, ...}",
      ncpu = "ncpu() -> the number of online processors",
    },
  },
  ["nv.xlsx"] = {
    summary = "Excel .xlsx workbooks: sheets, profiles per sheet, row previews",
    functions = {
      open = "open(path) -> workbook | nil, msg, code (legacy .xls: code \"unsupported\")",
    },
    methods = {
      "wb:sheets() -> {{name, index, state, dimension}, ...};  wb:date1904() -> boolean",
      "wb:profile_sheet_into(sheet, p [, {max_rows=, max_bytes=, progress=fn}]) -> stats | nil, msg, stats (sheet: name or 1-based index)",
      "wb:profile_into(p [, sheet] [, opts]): the same, sheet nil = the first (the reader contract, nv.readers)",
      "wb:tables() = wb:sheets();  wb:info() -> {format, path, sheets, date1904}",
      "wb:rows([sheet] [, max = 20]) -> iterator over row arrays;  wb:close()",
    },
  },
}
