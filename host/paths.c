/* paths.c - root directory resolution (see paths.h). */
#include "paths.h"

#include <stdio.h>
#include <string.h>

int nv_paths_join(char *out, size_t outsz, const char *a, const char *b) {
  size_t an = strlen(a);
  while (an > 1 && a[an - 1] == '/') an--;
  int w = snprintf(out, outsz, "%.*s/%s", (int)an, a, b);
  return w >= 0 && (size_t)w < outsz;
}

void nv_paths_dirname(char *path) {
  size_t n = strlen(path);
  while (n > 1 && path[n - 1] == '/') n--;
  while (n > 0 && path[n - 1] != '/') n--;
  while (n > 1 && path[n - 1] == '/') n--;
  if (n == 0) {
    path[0] = '.';
    path[1] = '\0';
  } else {
    path[n] = '\0';
  }
}

static int has_library(const char *root, nv_exists_fn exists, void *ud) {
  char probe[4096];
  return nv_paths_join(probe, sizeof probe, root, "lua/nv/job.lua") &&
         exists(probe, ud);
}

int nv_paths_find_root(const char *exe_path, const char *datadir_rel,
                       const char *source_root, nv_exists_fn exists, void *ud,
                       char *out, size_t outsz) {
  char prefix[4096];
  if (exe_path && exe_path[0] && strlen(exe_path) < sizeof prefix) {
    memcpy(prefix, exe_path, strlen(exe_path) + 1);
    nv_paths_dirname(prefix); /* bin/ */
    nv_paths_dirname(prefix); /* prefix */
    if (nv_paths_join(out, outsz, prefix, datadir_rel) &&
        has_library(out, exists, ud))
      return 1;
  }
  if (source_root && source_root[0] && has_library(source_root, exists, ud)) {
    size_t n = strlen(source_root);
    if (n >= outsz) return 0;
    memcpy(out, source_root, n + 1);
    return 1;
  }
  return 0;
}

int nv_paths_has_suffix(const char *path, const char *suffix) {
  size_t n = strlen(path), m = strlen(suffix);
  if (m > n) return 0;
  for (size_t i = 0; i < m; i++) {
    char c = path[n - m + i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != suffix[i]) return 0;
  }
  return 1;
}
