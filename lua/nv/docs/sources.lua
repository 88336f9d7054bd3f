-- nv.docs.sources: nv.docs for the modules that read sources: connectors,
-- readers, the extraction pipeline, profiling and quality (see nv.docs).
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
  ["nv.connectorlist"] = {
    summary = "`nvlua connectors [--json]`: every connector with its aliases, schemes, asset types and origin",
    functions = {
      rows = "rows() -> {{name, description, source_types, schemes, asset_types, kind, origin, path}…}, load errors",
      text = "text() -> the table `nvlua connectors` prints",
      main = "main(args) -> exit code: prints text(), or JSON with --json",
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
      refusing = "refusing() -> whether this Lua state refuses tenant connector modules (sandbox, job server)",
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
  ["nv.csv"] = {
    summary = "streaming CSV reader (host/readers/csv.c): dialect sniffing, profiling into nv.profile, previews",
    functions = {
      open = "open(path [, {delimiter=, quote=, escape=, header=, encoding=, compression=, max_record_bytes=}]) "
        .. "-> reader | nil, msg, code: what is not given is sniffed from the first 64 KiB",
      sniff = "sniff(path [, {compression=}]) -> dialect | nil, msg, code: delimiter, quote, header, encoding",
    },
    methods = {
      "r:header() -> {name, ...};  r:dialect() -> the dialect used",
      "r:profile_into(p [, table] [, {max_rows=, max_bytes=, progress=fn, threads=n}]) -> stats | nil, msg, stats: feeds profile p; threads profile a batch's columns (same profile as one thread)",
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
      with_threads = "with_threads(ctx, opts, concurrent, ncpu, warnings) -> opts + threads (config threads, else ncpu // concurrent)",
    },
  },
  ["nv.extractworker"] = {
    summary = "the job's sources extracted in parallel, one worker thread and lua_State each",
    functions = {
      run_parallel = "run_parallel(ctx, list, opts, nworkers) -> models, on nworkers threads",
      worker = "worker(text) -> text: one source in a worker thread (nv.workers.map)",
    },
  },
  ["nv.incremental"] = {
    summary = "cost proportional to change: each file's whole read kept in the store's file_profiles, reused while its size, mtime, ETag and the read's options are unchanged",
    functions = {
      mode = "mode(cfg) -> on, 'reuse' | 'full' | 'off': on by default with write_to_db; config incremental, --full",
      open = "open(ctx, src, opts) -> handle | nil: lookup(f), reused(f), keep(f, outcome, bytes), read_only(), flush(), finish(listing_complete) -> summary",
    },
  },
  ["nv.filereader"] = { summary = "the reader of a file of a known format, opened through nv.readers; the Lua side's per-format facts, declared once",
    functions = { facts = "facts(r) -> the facts of an open reader's info() a file entry keeps (CSV dialect, Parquet footer facts)",
                  not_in_table = "not_in_table(file, format) -> why a file of format cannot be one file of a multi-file table | nil",
                  open = "open(file, format, opts) -> reader | nil, msg",
                  ranged = "ranged(rel, source_type) -> {fetch, guess, format} when the object's reader reads byte ranges (Parquet) | nil",
                  ranged_format = "ranged_format(file, source_type) -> the format of a file held as byte ranges of an object",
                  several_tables = "several_tables(format) -> true when a file of format holds several tables (a workbook)" } },
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
  ["nv.filetables"] = {
    summary = "what the file-like connectors share: a listing of files grouped into tables (connectors/README.md)",
    functions = {
      listing = "listing(src, opts, files, root, deltas, errors) -> {groups, files_found, total_size_bytes, errors, warnings}",
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
  ["nv.model"] = {
    summary = "source model shaping: a failed source's model, the store record of a model",
    functions = {
      failed = "failed(src, err) -> the (masked) model of a source that failed before any table",
      store_record = "store_record(ctx, model) -> the nv.store write_source record of a model",
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
  ["nv.parquet"] = {
    summary = "Parquet: metadata from the footer alone, profiles from data pages, row previews",
    functions = {
      open = "open(path [, {size=, ranges=}]) -> reader | nil, msg, code: reads only the footer",
    },
    methods = {
      "r:metadata() -> {num_rows, created_by, version, row_groups, key_value, columns}",
      "r:profile_into(p [, table] [, {row_groups=, max_rows=, max_bytes=, progress=fn, threads=n}]) -> stats | nil, msg, stats: threads read a row group's column chunks (same profile as one thread)",
      "r:tables() -> {{name}} (one table);  r:info() -> {format, path, rows, row_groups, columns, created_by}",
      "r:rows([max = 20]) -> iterator over row tables;  r:row_group_ranges();  r:close()",
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
  ["nv.profile"] = {
    summary = "the column profiler engine (counts, types, distinct, top values, quantiles) as a userdata",
    functions = {
      new = "new([{max_columns = 10000, exact_budget = bytes}]) -> p, an empty profile (columns past max_columns are counted, not profiled)",
      load = "load(bytes) -> p | nil, msg, 'parse' | 'memory': a profile p:dump() wrote (checksummed, bounds-checked); same result and merges",
    },
    methods = {
      "p:column(name) -> 0-based index | nil, 'max_columns reached';  p:set_native_type(col, type)",
      "p:add(col, value);  p:add_row({v1, v2, ...});  p:add_rows(n);  p:merge(other)",
      "p:result() -> {rows=, columns={...}};  p:dump() -> bytes (the whole profile, mergeable);  p:close()",
    },
  },
  ["nv.progress"] = { summary = "the extraction's progress line on stderr (only on a terminal)",
    functions = { new = "new(total_files, total_bytes) -> progress with :step(bytes) and :within(bytes)" } },
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
  ["nv.redact"] = {
    summary = "the masking boundary of the source model: what leaves nv.extract has every secret masked",
    functions = {
      model = "model(m) -> m with every string in it (values and keys) passed through nv.log.mask, in place",
      text = "text(s) -> s masked (non-strings unchanged)",
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
  ["nv.tabledetail"] = {
    summary = "bounded memory for many tables: past detail_tables a table's full model waits in a file, a compact entry stays",
    functions = {
      compact = "compact(t, offset, length) -> the compact entry of a spilled table",
      full = "full(m, t) -> the full model of table t of source model m (t itself when its detail was lost)",
      holder = "holder(ctx, m, opts) -> holder: holder:add(t) -> t or its compact entry past opts.detail_tables; holder:finish()",
      load = "load(path, offset, length) -> a spilled table model | nil, msg (a file a failed write left short)",
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
