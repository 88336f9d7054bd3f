/* cli.c - parses nvlua's command line into a struct nv_cli.
 * Follows lua.c's option rules (-e, -l, -i, -v, -E, --, -) and adds
 * -h/--help, --version and the `run` and `serve` subcommands. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

const char *nv_cli_basename(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

static void set_error(struct nv_cli *cli, const char *fmt, const char *arg) {
  cli->action = NV_CLI_ERROR;
  snprintf(cli->message, sizeof cli->message, fmt, arg);
}

static int add_chunk(struct nv_cli *cli, enum nv_cli_chunk_kind kind,
                     const char *text) {
  if (cli->nchunks >= NV_CLI_MAX_CHUNKS) {
    set_error(cli, "too many -e/-l options (at most 16), at '%s'", text);
    return 0;
  }
  cli->chunks[cli->nchunks].kind = kind;
  cli->chunks[cli->nchunks].text = text;
  cli->nchunks++;
  return 1;
}

void nv_cli_parse(struct nv_cli *cli, int argc, char *const argv[]) {
  memset(cli, 0, sizeof *cli);
  cli->action = NV_CLI_DEFAULT;
  cli->script = argc;
  if (argc > 0 && strcmp(nv_cli_basename(argv[0]), "nuvyn-executor") == 0) {
    cli->action = NV_CLI_RUN;
    cli->script = 1;
    return;
  }
  int i;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-') break; /* script name or subcommand */
    if (strcmp(a, "-") == 0) {
      cli->action = NV_CLI_STDIN;
      cli->script = i;
      return;
    }
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      cli->action = NV_CLI_HELP;
      return;
    }
    if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
      cli->show_version = 1;
    } else if (strcmp(a, "-i") == 0) {
      cli->interactive = 1;
    } else if (strcmp(a, "-E") == 0) {
      cli->no_env = 1;
    } else if (strcmp(a, "--sandbox") == 0) {
      cli->sandbox = 1;
    } else if (a[1] == 'e' || a[1] == 'l') {
      enum nv_cli_chunk_kind kind = a[1] == 'e' ? NV_CHUNK_EXEC : NV_CHUNK_LIB;
      const char *text = a + 2;
      if (*text == '\0') {
        if (i + 1 >= argc || argv[i + 1] == NULL) {
          set_error(cli, "option '%s' needs an argument", a);
          return;
        }
        text = argv[++i];
      }
      if (!add_chunk(cli, kind, text)) return;
    } else {
      set_error(cli, "unrecognized option '%s'", a);
      return;
    }
  }
  if (i < argc) {
    if (strcmp(argv[i], "run") == 0) {
      cli->action = NV_CLI_RUN;
      cli->script = i + 1;
    } else if (strcmp(argv[i], "serve") == 0) {
      cli->action = NV_CLI_SERVE;
      cli->script = i + 1;
    } else {
      cli->action = NV_CLI_SCRIPT;
      cli->script = i;
    }
  } else if (cli->show_version && cli->nchunks == 0 && !cli->interactive) {
    cli->action = NV_CLI_VERSION;
  }
  if (cli->sandbox && ((cli->action != NV_CLI_SCRIPT && cli->action != NV_CLI_RUN) ||
                       cli->nchunks > 0 || cli->interactive))
    set_error(cli, "%s needs a script or `run <job_type>`, and no -e, -l or -i", "--sandbox");
}
