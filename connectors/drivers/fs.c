/* fs.c - the local file source (`nv.fs`): recursive listing with include /
 * exclude globs, hidden and `_`-prefixed entries skipped by default,
 * symlink loops detected by (device, inode), per-file size and mtime; and
 * content-based format detection: the readers' sniffers (readers.c) score
 * the first decompressed block; what none claims is named here (zip, xls,
 * binary, empty). Plain paths only: /dbfs/… and /Volumes/… are plain
 * paths on a Databricks cluster. Uses instream.c for decompression. */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lua.h>

#include "luax.h"
#include "readers/instream.h"
#include "readers/reader.h"
#include "nvlua.h"
#include "paths.h"

#define MAX_DEPTH 64
#define MAX_VISITED 4096
#define SNIFF_BYTES NV_SNIFF_BYTES

struct visit {
  dev_t dev;
  ino_t ino;
};

struct walk {
  lua_State *L;
  int out;    /* index of the result array */
  int errors; /* index of the errors array */
  lua_Integer n, nerr;
  int include_hidden;
  int follow_links;
  int includes, excludes; /* indexes of pattern arrays (or 0) */
  size_t root_len;
  struct visit visited[MAX_VISITED];
  size_t nvisited;
  lua_Integer max_files;
};

static void add_error(struct walk *w, const char *path, const char *what) {
  lua_State *L = w->L;
  lua_pushfstring(L, "%s: %s", path, what);
  lua_rawseti(L, w->errors, ++w->nerr);
}

static int matches_any(struct walk *w, int idx, const char *rel, const char *base) {
  lua_State *L = w->L;
  lua_Integer len = (lua_Integer)lua_rawlen(L, idx);
  for (lua_Integer i = 1; i <= len; i++) {
    lua_rawgeti(L, idx, i);
    const char *pat = lua_tostring(L, -1);
    int hit = pat && (fnmatch(pat, rel, FNM_PATHNAME) == 0 || fnmatch(pat, base, 0) == 0 ||
                      fnmatch(pat, rel, 0) == 0);
    lua_pop(L, 1);
    if (hit) return 1;
  }
  return 0;
}

static int seen_dir(struct walk *w, const struct stat *st) {
  for (size_t i = 0; i < w->nvisited; i++)
    if (w->visited[i].dev == st->st_dev && w->visited[i].ino == st->st_ino) return 1;
  if (w->nvisited < MAX_VISITED) {
    w->visited[w->nvisited].dev = st->st_dev;
    w->visited[w->nvisited].ino = st->st_ino;
    w->nvisited++;
  }
  return 0;
}

static void add_file(struct walk *w, const char *path, const struct stat *st, int is_link) {
  lua_State *L = w->L;
  const char *rel = path + w->root_len;
  while (*rel == '/') rel++;
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  if (w->includes && !matches_any(w, w->includes, rel, base)) return;
  if (w->excludes && matches_any(w, w->excludes, rel, base)) return;
  if (w->max_files > 0 && w->n >= w->max_files) return;
  lua_createtable(L, 0, 6);
  lua_pushstring(L, path);
  lua_setfield(L, -2, "path");
  lua_pushstring(L, *rel ? rel : base);
  lua_setfield(L, -2, "rel");
  lua_pushstring(L, base);
  lua_setfield(L, -2, "name");
  lua_pushinteger(L, (lua_Integer)st->st_size);
  lua_setfield(L, -2, "size");
  lua_pushnumber(L, (double)st->st_mtim.tv_sec + (double)st->st_mtim.tv_nsec / 1e9);
  lua_setfield(L, -2, "mtime");
  if (is_link) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "symlink");
  }
  lua_rawseti(L, w->out, ++w->n);
}

static void walk_dir(struct walk *w, const char *dir, int depth) {
  if (depth > MAX_DEPTH) {
    add_error(w, dir, "directory nesting deeper than 64 levels, not descended");
    return;
  }
  DIR *d = opendir(dir);
  if (d == NULL) {
    add_error(w, dir, strerror(errno));
    return;
  }
  /* collect names first so the DIR is closed before recursing */
  size_t cap = 64, n = 0;
  char **names = malloc(cap * sizeof *names);
  struct dirent *e;
  int oom = names == NULL;
  errno = 0;
  while (!oom && (e = readdir(d)) != NULL) {
    const char *nm = e->d_name;
    if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0) continue;
    if (!w->include_hidden && (nm[0] == '.' || nm[0] == '_')) continue;
    if (n == cap) {
      char **nn = realloc(names, cap * 2 * sizeof *names);
      if (nn == NULL) {
        oom = 1;
        break;
      }
      names = nn;
      cap *= 2;
    }
    names[n] = strdup(nm);
    if (names[n] == NULL) {
      oom = 1;
      break;
    }
    n++;
  }
  int read_err = errno;
  closedir(d);
  if (oom) add_error(w, dir, "out of memory while listing");
  else if (read_err) add_error(w, dir, strerror(read_err));
  /* sorted: stable results, partitions in order */
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
      char *t = names[j];
      names[j] = names[j - 1];
      names[j - 1] = t;
    }
  for (size_t i = 0; i < n; i++) {
    char path[4096];
    int len = snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    if (len < 0 || (size_t)len >= sizeof path) {
      add_error(w, names[i], "path too long, skipped");
      continue;
    }
    struct stat lst, st;
    if (lstat(path, &lst) != 0) {
      add_error(w, path, strerror(errno));
      continue;
    }
    int is_link = S_ISLNK(lst.st_mode);
    if (is_link) {
      if (!w->follow_links) continue;
      if (stat(path, &st) != 0) {
        add_error(w, path, "broken symbolic link");
        continue;
      }
    } else {
      st = lst;
    }
    if (S_ISDIR(st.st_mode)) {
      if (seen_dir(w, &st)) {
        add_error(w, path, "symbolic link loop, not descended");
        continue;
      }
      walk_dir(w, path, depth + 1);
    } else if (S_ISREG(st.st_mode)) {
      add_file(w, path, &st, is_link);
    }
  }
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
}

static int opt_table(lua_State *L, int opts, const char *field) {
  if (opts == 0) return 0;
  if (lua_getfield(L, opts, field) == LUA_TTABLE) return lua_gettop(L);
  if (!lua_isnil(L, -1)) luaL_error(L, "option '%s' must be a list of glob patterns", field);
  lua_pop(L, 1);
  return 0;
}

static int opt_bool(lua_State *L, int opts, const char *field, int dflt) {
  if (opts == 0) return dflt;
  int t = lua_getfield(L, opts, field);
  int v = t == LUA_TNIL ? dflt : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* list(path [, {include=, exclude=, include_hidden=, follow_links=, max_files=}])
 *   -> files, errors | nil, msg, kind, errno (kind "notfound", "permission",
 *   ... for the errno; "unsupported" for a path that is neither a file nor
 *   a directory, errno EINVAL)
 * files: { {path=, rel=, name=, size=, mtime=, symlink=}, ... } sorted */
static int l_list(lua_State *L) {
  size_t plen;
  const char *path = luaL_checklstring(L, 1, &plen);
  int opts = lua_istable(L, 2) ? 2 : 0;
  luaL_argcheck(L, plen > 0 && plen < 4000, 1, "path empty or too long");
  struct walk *w = lua_newuserdatauv(L, sizeof *w, 0); /* big: keep off the C stack */
  memset(w, 0, sizeof *w);
  w->L = L;
  w->include_hidden = opt_bool(L, opts, "include_hidden", 0);
  w->follow_links = opt_bool(L, opts, "follow_links", 1);
  w->includes = opt_table(L, opts, "include");
  w->excludes = opt_table(L, opts, "exclude");
  if (opts && lua_getfield(L, opts, "max_files") == LUA_TNUMBER) w->max_files = lua_tointeger(L, -1);
  if (opts) lua_pop(L, 1);
  struct stat st;
  if (stat(path, &st) != 0) {
    int e = errno;
    lua_pushfstring(L, "cannot access %s: %s", path, strerror(e));
    return nv_push_fail_errno(L, lua_tostring(L, -1), e);
  }
  if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
    /* never opened: a FIFO would block the reader (and SIGTERM) for good */
    lua_pushfstring(L, "%s is %s, not a regular file", path, nv_file_kind((unsigned)st.st_mode));
    return nv_push_fail_code(L, lua_tostring(L, -1), "unsupported", EINVAL);
  }
  lua_newtable(L);
  w->out = lua_gettop(L);
  lua_newtable(L);
  w->errors = lua_gettop(L);
  char root[4096];
  memcpy(root, path, plen + 1);
  while (plen > 1 && root[plen - 1] == '/') root[--plen] = '\0';
  if (S_ISDIR(st.st_mode)) {
    w->root_len = plen;
    seen_dir(w, &st);
    walk_dir(w, root, 0);
  } else {
    const char *slash = strrchr(root, '/');
    w->root_len = slash ? (size_t)(slash - root) : 0;
    add_file(w, root, &st, 0);
  }
  lua_pushvalue(L, w->out);
  lua_pushvalue(L, w->errors);
  return 2;
}

static int has_nul(const unsigned char *p, size_t n) { return memchr(p, 0, n) != NULL; }

/* detect(path) -> format, compression | nil, msg, kind, errno
 * format: parquet | xlsx | xls | zip | json | csv | binary | empty */
static int l_detect(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char err[320];
  errno = 0;
  struct nv_instream *s = nv_instream_open(path, NV_COMP_AUTO, err, sizeof err);
  if (s == NULL) return nv_push_fail_errno(L, err, errno ? errno : EIO);
  luaL_Buffer b;
  unsigned char *buf = (unsigned char *)luaL_buffinitsize(L, &b, SNIFF_BYTES);
  size_t n = 0;
  while (n < SNIFF_BYTES) {
    long r = nv_instream_read(s, (char *)buf + n, SNIFF_BYTES - n);
    if (r < 0) break; /* partial data still classifies; the reader reports the error */
    if (r == 0) break;
    n += (size_t)r;
  }
  enum nv_compression comp = nv_instream_compression(s);
  nv_instream_close(s);
  /* a reader's claim first; what no reader claims is named here */
  int score = 0;
  const struct nv_reader *r = nv_readers_sniff(buf, n, n < SNIFF_BYTES, path, &score);
  size_t i = 0;
  if (n >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF) i = 3;
  while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n')) i++;
  const char *fmt;
  if (n == 0) fmt = "empty";
  else if (r && score >= 50) fmt = r->name;
  else if (n >= 4 && memcmp(buf, "PK\x03\x04", 4) == 0) fmt = "zip";
  else if (n >= 8 && memcmp(buf, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) == 0) fmt = "xls";
  else if (has_nul(buf, n)) fmt = "binary";
  else if (i == n) fmt = "empty";
  else fmt = r ? r->name : "binary";
  lua_pushstring(L, fmt);
  lua_pushstring(L, comp == NV_COMP_GZIP ? "gzip" : comp == NV_COMP_ZSTD ? "zstd" : "none");
  return 2;
}

/* head(path, nbytes) -> the first nbytes of the (decompressed) content
 * | nil, msg, kind, errno : a bounded raw preview */
static int l_head(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer want = luaL_optinteger(L, 2, 1024);
  luaL_argcheck(L, want >= 0 && want <= 16 * 1024 * 1024, 2, "between 0 and 16 MiB");
  char err[320];
  luaL_Buffer b;
  char *buf = luaL_buffinitsize(L, &b, (size_t)want + 1);
  errno = 0;
  struct nv_instream *s = nv_instream_open(path, NV_COMP_AUTO, err, sizeof err);
  if (s == NULL) return nv_push_fail_errno(L, err, errno ? errno : EIO);
  size_t n = 0;
  while (n < (size_t)want) {
    long r = nv_instream_read(s, buf + n, (size_t)want - n);
    if (r <= 0) break;
    n += (size_t)r;
  }
  nv_instream_close(s);
  luaL_pushresultsize(&b, n);
  return 1;
}

/* identity(path) -> {size=, mtime=, ino=, dev=} | nil, msg, kind, errno: what
 * says whether a file changed while it was read (stat follows links) */
static int l_identity(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  if (stat(path, &st) != 0) {
    int e = errno;
    lua_pushfstring(L, "cannot stat %s: %s", path, strerror(e));
    return nv_push_fail_errno(L, lua_tostring(L, -1), e);
  }
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, (lua_Integer)st.st_size);
  lua_setfield(L, -2, "size");
  lua_pushnumber(L, (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9);
  lua_setfield(L, -2, "mtime");
  lua_pushinteger(L, (lua_Integer)st.st_ino);
  lua_setfield(L, -2, "ino");
  lua_pushinteger(L, (lua_Integer)st.st_dev);
  lua_setfield(L, -2, "dev");
  return 1;
}

static const luaL_Reg funcs[] = {
    {"list", l_list}, {"detect", l_detect}, {"head", l_head}, {"identity", l_identity}, {NULL, NULL}};

int luaopen_nv_fs(lua_State *L) {
  luaL_newlib(L, funcs);
  return 1;
}
