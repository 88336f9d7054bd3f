/* test_cli.c - nvlua's argument parsing: options, scripts, `run`, errors. */
#include "../../host/cli.h"
#include "check.h"

#define PARSE(cli, ...)                                     \
  do {                                                      \
    char *argv_[] = {__VA_ARGS__, NULL};                    \
    nv_cli_parse(&(cli), (int)(sizeof argv_ / sizeof argv_[0]) - 1, argv_); \
  } while (0)

int main(void) {
  struct nv_cli c;

  PARSE(c, "nvlua");
  CHECK(c.action == NV_CLI_DEFAULT && c.nchunks == 0);

  PARSE(c, "nvlua", "script.lua", "a", "-e");
  CHECK(c.action == NV_CLI_SCRIPT && c.script == 1);

  PARSE(c, "nvlua", "-e", "x=1", "-ey=2", "s.lua");
  CHECK(c.action == NV_CLI_SCRIPT && c.script == 4 && c.nchunks == 2);
  CHECK_STR(c.chunks[0].text, "x=1");
  CHECK_STR(c.chunks[1].text, "y=2");

  PARSE(c, "nvlua", "-e");
  CHECK(c.action == NV_CLI_ERROR);
  CHECK_STR(c.message, "option '-e' needs an argument");

  PARSE(c, "nvlua", "--frobnicate");
  CHECK(c.action == NV_CLI_ERROR);
  CHECK_STR(c.message, "unrecognized option '--frobnicate'");

  /* a misspelt long option names the nearest one */
  PARSE(c, "nvlua", "--verison");
  CHECK(c.action == NV_CLI_ERROR);
  CHECK_STR(c.message, "unrecognized option '--verison' (did you mean --version?)");
  PARSE(c, "nvlua", "--sandbx", "s.lua");
  CHECK_STR(c.message, "unrecognized option '--sandbx' (did you mean --sandbox?)");
  PARSE(c, "nvlua", "--hlep");
  CHECK_STR(c.message, "unrecognized option '--hlep' (did you mean --help?)");
  PARSE(c, "nvlua", "--nope");
  CHECK_STR(c.message, "unrecognized option '--nope'");
  PARSE(c, "nvlua", "--an-option-far-longer-than-anything-we-know-of");
  CHECK_STR(c.message, "unrecognized option '--an-option-far-longer-than-anything-we-know-of'");

  PARSE(c, "nvlua", "-v");
  CHECK(c.action == NV_CLI_VERSION);
  PARSE(c, "nvlua", "--version");
  CHECK(c.action == NV_CLI_VERSION);
  PARSE(c, "nvlua", "-v", "s.lua");
  CHECK(c.action == NV_CLI_SCRIPT && c.show_version);
  PARSE(c, "nvlua", "-h", "s.lua");
  CHECK(c.action == NV_CLI_HELP);

  PARSE(c, "nvlua", "run", "schema_validation", "--write-to-db");
  CHECK(c.action == NV_CLI_RUN && c.script == 2);

  PARSE(c, "nvlua", "serve", "--port", "0");
  CHECK(c.action == NV_CLI_SERVE && c.script == 2);
  PARSE(c, "nvlua", "serve");
  CHECK(c.action == NV_CLI_SERVE && c.script == 2);
  PARSE(c, "nvlua", "--sandbox", "serve");
  CHECK(c.action == NV_CLI_ERROR);
  PARSE(c, "nvlua", "./serve");
  CHECK(c.action == NV_CLI_SCRIPT && c.script == 1);

  PARSE(c, "nvlua", "connectors", "--json");
  CHECK(c.action == NV_CLI_CONNECTORS && c.script == 2);
  PARSE(c, "nvlua", "--sandbox", "connectors");
  CHECK(c.action == NV_CLI_ERROR);
  PARSE(c, "nvlua", "./connectors");
  CHECK(c.action == NV_CLI_SCRIPT && c.script == 1);

  PARSE(c, "/opt/nv/bin/nuvyn-executor", "metadata_extraction", "/data");
  CHECK(c.action == NV_CLI_RUN && c.script == 1);

  PARSE(c, "nvlua", "--", "-weird.lua");
  CHECK(c.action == NV_CLI_SCRIPT && c.script == 2);

  PARSE(c, "nvlua", "-", "x");
  CHECK(c.action == NV_CLI_STDIN && c.script == 1);

  PARSE(c, "nvlua", "-i", "-e", "x=1");
  CHECK(c.action == NV_CLI_DEFAULT && c.interactive && c.nchunks == 1);

  PARSE(c, "nvlua", "-l", "nv.log");
  CHECK(c.nchunks == 1 && c.chunks[0].kind == NV_CHUNK_LIB);

  /* 17 chunks overflow the fixed table with a clear error */
  PARSE(c, "nvlua", "-e1", "-e2", "-e3", "-e4", "-e5", "-e6", "-e7", "-e8", "-e9",
        "-e10", "-e11", "-e12", "-e13", "-e14", "-e15", "-e16", "-e17");
  CHECK(c.action == NV_CLI_ERROR);
  CHECK_STR(c.message, "too many -e/-l options (at most 16), at '17'");

  PARSE(c, "nvlua", "--sandbox", "job.lua", "x");
  CHECK(c.action == NV_CLI_SCRIPT && c.sandbox && c.script == 2);
  PARSE(c, "nvlua", "--sandbox", "run", "full_pipeline");
  CHECK(c.action == NV_CLI_RUN && c.sandbox && c.script == 3);
  PARSE(c, "nvlua", "--sandbox", "-e", "x=1");
  CHECK(c.action == NV_CLI_ERROR);
  PARSE(c, "nvlua", "--sandbox");
  CHECK(c.action == NV_CLI_ERROR);

  CHECK_STR(nv_cli_basename("/a/b/nvlua"), "nvlua");
  CHECK_STR(nv_cli_basename("nvlua"), "nvlua");
  return CHECK_DONE();
}
