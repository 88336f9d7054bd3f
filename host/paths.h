/* paths.h - where nvlua finds its Lua library and job scripts (pure C).
 *
 * A "root" is a directory holding lua/nv/job.lua and jobs/. Candidates, in
 * order: <exe_dir>/../<datadir> (after `cmake --install`), then the source
 * tree the binary was built from (build tree). NVLUA_PATH roots are added in
 * front by the runtime. The current directory is never consulted. */
#ifndef NV_PATHS_H
#define NV_PATHS_H

#include <stddef.h>

typedef int (*nv_exists_fn)(const char *path, void *ud);

/* Writes the chosen root into out (NUL-terminated). Returns 1 when found,
 * 0 when no candidate holds lua/nv/job.lua or a path would not fit. */
int nv_paths_find_root(const char *exe_path, const char *datadir_rel,
                       const char *source_root, nv_exists_fn exists, void *ud,
                       char *out, size_t outsz);

/* Joins a and b with one '/' into out; returns 0 if it does not fit. */
int nv_paths_join(char *out, size_t outsz, const char *a, const char *b);

/* Whether path ends with suffix, ASCII letters compared case-insensitively
 * (suffix given in lower case: ".csv" matches "A.CSV"). */
int nv_paths_has_suffix(const char *path, const char *suffix);

/* Strips the last path component in place ("/a/b/c" -> "/a/b", "c" -> "."). */
void nv_paths_dirname(char *path);

#endif
