/* cli.h - command-line parsing for the nvlua host (pure: no Lua, no I/O).
 *
 * nvlua [options] [script [args...]]      as the `lua` binary
 * nvlua run <job_type> [job args...]      run jobs/<job_type>.lua
 * nvlua serve [--port N] [--bind ADDR]    the job server (nv.server)
 * nvlua connectors [--json]               the connector registry (nv.connectorlist)
 * nuvyn-executor <job_type> [args...]     same as `nvlua run`
 */
#ifndef NV_CLI_H
#define NV_CLI_H

#include <stddef.h>

#define NV_CLI_MAX_CHUNKS 16

enum nv_cli_action {
  NV_CLI_DEFAULT, /* no script: REPL on a terminal, else run stdin */
  NV_CLI_SCRIPT,  /* run argv[script] with the following args */
  NV_CLI_STDIN,   /* "-" given: run stdin as a script */
  NV_CLI_RUN,     /* run a job: argv[script] is the first job arg (may be argc) */
  NV_CLI_SERVE,   /* the job server: argv[script] is its first arg (may be argc) */
  NV_CLI_CONNECTORS, /* list the connectors: argv[script] is its first arg (may be argc) */
  NV_CLI_HELP,
  NV_CLI_VERSION,
  NV_CLI_ERROR    /* usage error, see message */
};

enum nv_cli_chunk_kind { NV_CHUNK_EXEC, NV_CHUNK_LIB };

struct nv_cli_chunk {
  enum nv_cli_chunk_kind kind;
  const char *text; /* points into argv */
};

struct nv_cli {
  enum nv_cli_action action;
  int script;       /* argv index of the script / first job arg */
  int interactive;  /* -i: REPL after script and -e chunks */
  int show_version; /* -v together with other work */
  int no_env;       /* -E: ignore LUA_INIT and NVLUA_PATH */
  int sandbox;      /* --sandbox: run the script / job with restricted globals and limits */
  size_t nchunks;
  struct nv_cli_chunk chunks[NV_CLI_MAX_CHUNKS];
  char message[160]; /* for NV_CLI_ERROR */
};

/* Parses argv. Never fails for lack of memory; usage errors give
 * NV_CLI_ERROR with a message naming the offending argument. */
void nv_cli_parse(struct nv_cli *cli, int argc, char *const argv[]);

/* Basename of a path (no allocation; points into path). */
const char *nv_cli_basename(const char *path);

#endif
