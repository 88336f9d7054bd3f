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

/* The long interpreter options, for "did you mean" on a misspelt one. */
static const char *const long_options[] = {"--help", "--version", "--sandbox", NULL};

#define NV_CLI_MAX_SUGGEST 32 /* longer arguments get no suggestion */

/* Levenshtein distance of two strings of at most NV_CLI_MAX_SUGGEST bytes. */
static size_t edit_distance(const char *a, size_t na, const char *b, size_t nb) {
  size_t row[NV_CLI_MAX_SUGGEST + 1];
  for (size_t j = 0; j <= nb; j++) row[j] = j;
  for (size_t i = 1; i <= na; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= nb; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      diag = up;
      row[j] = best;
    }
  }
  return row[nb];
}

/* The long option within typo distance of arg (at most a third of its
 * length, at least 2 edits), or NULL. Same rule as nv.config.nearest. */
static const char *nearest_option(const char *arg) {
  size_t na = strlen(arg);
  if (na > NV_CLI_MAX_SUGGEST || strncmp(arg, "--", 2) != 0) return NULL;
  size_t limit = na / 3 > 2 ? na / 3 : 2;
  const char *best = NULL;
  size_t best_d = limit + 1;
  for (const char *const *o = long_options; *o; o++) {
    size_t d = edit_distance(arg, na, *o, strlen(*o));
    if (d < best_d) {
      best = *o;
      best_d = d;
    }
  }
  return best;
}

static void unknown_option(struct nv_cli *cli, const char *arg) {
  const char *near = nearest_option(arg);
  cli->action = NV_CLI_ERROR;
  if (near)
    snprintf(cli->message, sizeof cli->message, "unrecognized option '%s' (did you mean %s?)", arg, near);
  else
    snprintf(cli->message, sizeof cli->message, "unrecognized option '%s'", arg);
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
      unknown_option(cli, a);
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
    } else if (strcmp(argv[i], "connectors") == 0) {
      cli->action = NV_CLI_CONNECTORS;
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
