/* test_paths.c - root resolution: installed layout first, then the build's
 * source tree; never the current directory. */
#include "../../host/paths.h"
#include "check.h"

static int fake_exists(const char *path, void *ud) {
  const char *const *present = ud;
  for (; *present; present++)
    if (strcmp(*present, path) == 0) return 1;
  return 0;
}

int main(void) {
  char out[256], buf[64];

  strcpy(buf, "/usr/local/bin/nvlua");
  nv_paths_dirname(buf);
  CHECK_STR(buf, "/usr/local/bin");
  strcpy(buf, "nvlua");
  nv_paths_dirname(buf);
  CHECK_STR(buf, ".");
  strcpy(buf, "/nvlua");
  nv_paths_dirname(buf);
  CHECK_STR(buf, "/");

  CHECK(nv_paths_join(out, sizeof out, "/a/", "b"));
  CHECK_STR(out, "/a/b");
  CHECK(!nv_paths_join(out, 4, "/abc", "def"));

  CHECK(nv_paths_has_suffix("/d/Orders.CSV", ".csv"));
  CHECK(nv_paths_has_suffix("a.ndjson.gz", ".ndjson.gz"));
  CHECK(!nv_paths_has_suffix("a.csv.bak", ".csv"));
  CHECK(!nv_paths_has_suffix("sv", ".csv"));

  const char *installed[] = {"/opt/nv/share/nvlua/lua/nv/job.lua", "/src/lua/nv/job.lua", NULL};
  CHECK(nv_paths_find_root("/opt/nv/bin/nvlua", "share/nvlua", "/src", fake_exists,
                           (void *)installed, out, sizeof out));
  CHECK_STR(out, "/opt/nv/share/nvlua");

  const char *build_only[] = {"/src/lua/nv/job.lua", NULL};
  CHECK(nv_paths_find_root("/tmp/build/nvlua", "share/nvlua", "/src", fake_exists,
                           (void *)build_only, out, sizeof out));
  CHECK_STR(out, "/src");

  const char *nothing[] = {"./lua/nv/job.lua", NULL};
  CHECK(!nv_paths_find_root("/tmp/build/nvlua", "share/nvlua", "/gone", fake_exists,
                            (void *)nothing, out, sizeof out));
  return CHECK_DONE();
}
