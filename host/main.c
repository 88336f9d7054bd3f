/* main.c - nvlua's command line: parse (cli.c), build the state
 * (runtime.c), then run a script, -e chunks, a job (`run`), or the REPL.
 * Everything that can fail runs inside lua_pcall with a traceback. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "cli.h"
#include "nvlua.h"
#include "supervisor.h"

enum { EXIT_JOB_FAILED = 1, EXIT_USAGE = 2 };

/* The interpreter's part; `--help` appends the jobs and the job options,
 * printed by nv.usage from the tables they come from (jobs/, nv.config). */
static const char usage_text[] =
    "usage: nvlua [options] [script [args...]]\n"
    "       nvlua run <job_type> [data_source_path] [source_type] [tenant_id] [job options]\n"
    "       nvlua run <job_type> --help     that job's parameters, outputs and an example\n"
    "       nvlua run --list                the job types, one per line, with a description\n"
    "       nvlua serve [--port 8080] [--bind 127.0.0.1]   the job server (spec 003)\n"
    "       nvlua connectors [--json]       the source kinds (connectors), their aliases and schemes\n"
    "       nuvyn-executor <job_type> ...   same as `nvlua run`\n"
    "Interpreter options:\n"
    "  -e CODE      run the Lua chunk CODE (repeatable)\n"
    "  -l NAME      require library NAME into global NAME\n"
    "  -i           enter the REPL after running script / -e chunks\n"
    "  -E           ignore NVLUA_PATH\n"
    "  --sandbox    run the script or job with restricted globals, file access\n"
    "               under allowed roots only, and CPU, wall-clock and memory limits,\n"
    "               watched by a supervisor process\n"
    "  -v, --version  print the version\n"
    "  -h, --help   print this help\n"
    "  --           stop handling options\n"
    "  -            run stdin as a script\n"
    "With no script on a terminal, nvlua opens a REPL (history in ~/.nvlua_history;\n"
    "help() there lists the nv.* modules).\n";

static void print_version(void) {
  printf("nvlua %s (%s)\n", NVLUA_VERSION, LUA_RELEASE);
  fflush(stdout);
}

/* arg table as lua.c builds it: arg[0] = script, negatives before it. */
static void create_arg_table(lua_State *L, int argc, char **argv, int script) {
  int narg = argc - (script + 1);
  lua_createtable(L, narg > 0 ? narg : 0, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "nvlua: %s\n", msg ? msg : "(error object is not a string)");
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

static int run_chunks(lua_State *L, const struct nv_cli *cli) {
  for (size_t i = 0; i < cli->nchunks; i++) {
    const struct nv_cli_chunk *c = &cli->chunks[i];
    int status;
    if (c->kind == NV_CHUNK_EXEC) {
      status = luaL_loadbuffer(L, c->text, strlen(c->text), "=(command line)");
      if (status == LUA_OK) status = nv_pcall(L, 0, 0);
    } else {
      lua_getglobal(L, "require");
      lua_pushstring(L, c->text);
      status = nv_pcall(L, 1, 1);
      if (status == LUA_OK) {
        const char *dot = strrchr(c->text, '.');
        lua_setglobal(L, dot ? dot + 1 : c->text);
      }
    }
    if (report(L, status) != LUA_OK) return 0;
  }
  return 1;
}

/* Calls require(module).<fn>(...) with the values on top; returns the
 * exit code it returns. */
static int call_module(lua_State *L, const char *module, const char *fn, int nargs) {
  lua_getglobal(L, "require");
  lua_pushstring(L, module);
  if (report(L, nv_pcall(L, 1, 1)) != LUA_OK) {
    lua_pop(L, nargs);
    return EXIT_JOB_FAILED;
  }
  lua_getfield(L, -1, fn);
  lua_remove(L, -2);
  lua_insert(L, -(nargs + 1));
  if (report(L, nv_pcall(L, nargs, 1)) != LUA_OK) return EXIT_JOB_FAILED;
  int code = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : EXIT_JOB_FAILED;
  lua_pop(L, 1);
  return code;
}

/* Calls nv.job.<fn>(...) with the values on top; returns the exit code. */
static int call_job(lua_State *L, const char *fn, int nargs) {
  return call_module(L, "nv.job", fn, nargs);
}

/* Pushes argv[first..argc) as a sequence. */
static void push_args(lua_State *L, int argc, char **argv, int first) {
  lua_createtable(L, argc > first ? argc - first : 0, 0);
  for (int i = first; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - first + 1);
  }
}

static int run_script(lua_State *L, const struct nv_cli *cli, int argc, char **argv) {
  const char *fname = cli->action == NV_CLI_STDIN ? NULL : argv[cli->script];
  if (report(L, luaL_loadfile(L, fname)) != LUA_OK) return EXIT_JOB_FAILED;
  int nargs = argc - cli->script - 1;
  if (nargs < 0) nargs = 0;
  luaL_checkstack(L, nargs + 3, "too many arguments to script");
  for (int i = cli->script + 1; i < argc; i++) lua_pushstring(L, argv[i]);
  if (report(L, nv_pcall(L, nargs, 1)) != LUA_OK) return EXIT_JOB_FAILED;
  /* A job script returns its job table: run it as `nvlua run` would. */
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "run");
    int is_job = lua_isfunction(L, -1);
    lua_pop(L, 1);
    if (is_job) {
      push_args(L, argc, argv, cli->script + 1);
      lua_pushstring(L, fname ? fname : "stdin");
      return call_job(L, "run_job", 3);
    }
  }
  lua_pop(L, 1);
  return 0;
}

struct pmain_args {
  int argc;
  char **argv;
  const struct nv_cli *cli;
  int code;
};

static int pmain(lua_State *L) {
  struct pmain_args *a = lua_touserdata(L, 1);
  const struct nv_cli *cli = a->cli;
  lua_settop(L, 0);
  create_arg_table(L, a->argc, a->argv,
                   cli->action == NV_CLI_SCRIPT || cli->action == NV_CLI_STDIN ? cli->script : 0);
  if (cli->action == NV_CLI_HELP) {
    fputs(usage_text, stdout);
    a->code = call_module(L, "nv.usage", "print_main", 0);
    return 0;
  }
  if (cli->show_version) print_version();
  if (cli->action == NV_CLI_RUN) {
    push_args(L, a->argc, a->argv, cli->script);
    lua_pushboolean(L, cli->sandbox);
    a->code = call_job(L, "main", 2);
    return 0;
  }
  if (cli->action == NV_CLI_SERVE) {
    push_args(L, a->argc, a->argv, cli->script);
    a->code = call_module(L, "nv.server", "main", 1);
    return 0;
  }
  if (cli->action == NV_CLI_CONNECTORS) {
    push_args(L, a->argc, a->argv, cli->script);
    a->code = call_module(L, "nv.connectorlist", "main", 1);
    return 0;
  }
  if (cli->sandbox) { /* a script: only through the sandbox */
    lua_pushstring(L, a->argv[cli->script]);
    push_args(L, a->argc, a->argv, cli->script + 1);
    a->code = call_job(L, "run_sandboxed", 2);
    return 0;
  }
  if (!run_chunks(L, cli)) {
    a->code = EXIT_JOB_FAILED;
    return 0;
  }
  if (cli->action == NV_CLI_SCRIPT || cli->action == NV_CLI_STDIN) {
    a->code = run_script(L, cli, a->argc, a->argv);
    if (a->code != 0 || !cli->interactive) return 0;
  }
  if (cli->interactive || (cli->action == NV_CLI_DEFAULT && cli->nchunks == 0 && !cli->show_version)) {
    if (cli->interactive || isatty(STDIN_FILENO)) {
      nv_repl(L);
    } else {
      struct nv_cli stdin_cli = *cli;
      stdin_cli.action = NV_CLI_STDIN;
      stdin_cli.script = a->argc;
      a->code = run_script(L, &stdin_cli, a->argc, a->argv);
    }
  }
  return 0;
}

/* The supervisor's part once the sandboxed child has ended: when it left
 * no result, says why on stderr and, for a job whose run was known, prints
 * the failure result and finishes the run row (nv.job.finish_lost). */
static int finish_supervised(const char *argv0, const struct nv_cli *cli, struct nv_supervised *sup) {
  if (!sup->lost) {
    free(sup->run_info);
    return sup->code;
  }
  fprintf(stderr, "nvlua: %s\n", sup->reason);
  fflush(stderr);
  if (sup->run_info == NULL) return EXIT_JOB_FAILED;
  char err[512];
  struct nv_limits limits = {0};
  limits.report_fd = -1;
  lua_State *L = nv_runtime_new(argv0, cli->no_env, &limits, err, sizeof err);
  int code = EXIT_JOB_FAILED;
  if (L == NULL) {
    fprintf(stderr, "nvlua: %s\n", err);
  } else {
    lua_pushstring(L, sup->run_info);
    lua_pushstring(L, sup->reason);
    code = call_module(L, "nv.job", "finish_lost", 2);
    lua_close(L);
  }
  free(sup->run_info);
  if (fflush(stdout) != 0) return EXIT_JOB_FAILED;
  return code == 0 ? EXIT_JOB_FAILED : code; /* a run without its result never succeeds */
}

int main(int argc, char **argv) {
  struct nv_cli cli;
  nv_cli_parse(&cli, argc, argv);
  switch (cli.action) {
    case NV_CLI_VERSION:
      print_version();
      return 0;
    case NV_CLI_ERROR:
      fprintf(stderr, "nvlua: %s\n%s(nvlua --help also lists the jobs and the job options)\n",
              cli.message, usage_text);
      return EXIT_USAGE;
    default:
      break;
  }
  /* A file-size limit (ulimit -f) must fail the write that crosses it
   * (EFBIG: SQLite reports "database or disk is full", a log line is
   * dropped) instead of killing the process before it can say what failed
   * and record the run. Children get the default back (nv.proc). */
  if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR) perror("nvlua: cannot ignore SIGXFSZ");
  char err[512];
  struct nv_limits limits = {0};
  limits.report_fd = -1;
  /* A sandboxed run has a supervisor: the parent waits, and prints the
   * failure result and finishes the run row when the run ends without its
   * result (a limit's signal, the wall-clock limit's SIGKILL). */
  if (cli.sandbox && (cli.action == NV_CLI_RUN || cli.action == NV_CLI_SCRIPT || cli.action == NV_CLI_STDIN)) {
    struct nv_supervised sup;
    int who = nv_supervise(&limits.report_fd, &sup, err, sizeof err);
    if (who < 0) {
      fprintf(stderr, "nvlua: %s\n", err);
      return EXIT_JOB_FAILED;
    }
    if (who > 0) return finish_supervised(argc > 0 ? argv[0] : "nvlua", &cli, &sup);
  }
  lua_State *L = nv_runtime_new(argc > 0 ? argv[0] : "nvlua", cli.no_env, &limits, err, sizeof err);
  if (L == NULL) {
    fprintf(stderr, "nvlua: %s\n", err);
    return EXIT_JOB_FAILED;
  }
  struct pmain_args a = {argc, argv, &cli, 0};
  lua_pushcfunction(L, pmain);
  lua_pushlightuserdata(L, &a);
  int status = report(L, nv_pcall(L, 1, 0));
  lua_close(L);
  if (fflush(stdout) != 0) return EXIT_JOB_FAILED;
  return status == LUA_OK ? a.code : EXIT_JOB_FAILED;
}
