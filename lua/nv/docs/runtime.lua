-- nv.docs.runtime: nv.docs for the runtime modules: the job framework,
-- configuration, logging, the store, transmission, the sandbox and the server
-- (see nv.docs).
return {
  ["nv.capabilities"] = {
    summary = "what a sandboxed script may reach of each nv.* module: safe, never, path, store_url, http_url, ctx",
    functions = {
      of = "of(module, name) -> the declaration of module.name | nil (not exposed)",
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
  ["nv.docs"] = {
    summary = "this documentation, as data (what help() prints)",
    functions = {},
  },
  ["nv.docs.runtime"] = {
    summary = "nv.docs's entries for the runtime modules (data)",
    functions = {},
  },
  ["nv.docs.sources"] = {
    summary = "nv.docs's entries for the source, reader, pipeline and profiling modules (data)",
    functions = {},
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
  ["nv.params"] = {
    summary = "the documented job parameters the jobs share (what `nvlua run JOB --help` prints)",
    functions = {
      pick = "pick(names [, extra]) -> params: copies of the named shared parameter docs, plus extra",
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
  ["nv.serverconn"] = {
    summary = "the job server's POST /connections/test: a test_connection job run at once, waited for",
    functions = {
      test = "test(server, req) -> status, headers, body (200 the job's result | 400 | 403 | 500 | 504)",
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
      ncpu = "ncpu() -> the processors this process may use (online, narrowed by the affinity mask and the cgroup CPU quota, rounded up), {online =, affinity =, quota =} (0: none or unknown)",
      cgroup_cpu_limit = "cgroup_cpu_limit(root, proc_cgroup) -> whole CPUs (rounded up) of the tightest cgroup v1/v2 CPU quota on the paths the /proc/PID/cgroup file names under root; 0 when none",
    },
  },
}
