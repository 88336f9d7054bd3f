#define _DEFAULT_SOURCE /* realpath */
/* sys.c - the `nv.sys` module: the few OS facts Lua's standard library
 * lacks (clocks, sleep, randomness, directories and removing a tree of
 * them, terminal detection, host name) and durable private files:
 *
 * Failures are nil, msg, kind, errno (README "Errors"): the kind is a
 * string ("notfound", "permission", "exists", "busy", "io", ...; see
 * nv_errno_kind in luax.h), the errno the fourth value.
 *
 *   write_new(path, data [, mode = 0600]) -> true | nil, msg, kind, errno
 *     creates path (never an existing file or a symlink), writes data,
 *     fsyncs and closes it; the mode is set with fchmod, so the umask can
 *     neither widen nor narrow it. On failure the file is removed.
 *   append_sync(path, data [, mode = 0600]) -> true | nil, msg, kind, errno
 *     appends data in one write, fsyncs; the file gets the mode.
 *   fsync_dir(path) -> true | nil, msg, kind, errno: makes renames and removals
 *     in the directory durable.
 *   chmod(path, mode) -> true | nil, msg, kind, errno
 *   lock(path [, timeout = 0]) -> lock | nil, msg, kind, errno ("busy":
 *     EWOULDBLOCK, another process holds it)
 *     an exclusive flock on path (created 0600), waiting up to timeout
 *     seconds; the holder's pid is written into the file. The kernel drops
 *     it when the process dies. lock:close() (also __close/__gc) unlocks.
 *     lock_holder(path) -> the pid written in path, or nil
 *   errno_kind(errno) -> the kind nv_errno_kind gives it */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "luax.h"
#include "nvlua.h"

/* nil, "what path: strerror", kind (nv_errno_kind), errno */
static int fail_errno(lua_State *L, const char *what, const char *path) {
  int e = errno;
  lua_pushfstring(L, "%s %s: %s", what, path, strerror(e));
  return nv_push_fail_errno(L, lua_tostring(L, -1), e);
}

/* now() -> seconds since the epoch, with sub-second precision */
static int l_now(lua_State *L) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return luaL_error(L, "clock_gettime failed");
  lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
  return 1;
}

/* monotonic() -> seconds on a clock that never goes back (for durations) */
static int l_monotonic(lua_State *L) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return luaL_error(L, "clock_gettime failed");
  lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
  return 1;
}

/* sleep(seconds): waits that long (0 <= seconds <= 1 day), resuming the
 * wait when a signal interrupts it */
static int l_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  luaL_argcheck(L, s >= 0 && s <= 86400, 1, "between 0 and 86400 seconds");
  struct timespec req = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (lua_Number)(time_t)s) * 1e9)};
  if (req.tv_nsec >= 1000000000L) req.tv_nsec = 999999999L;
  struct timespec rem;
  while (nanosleep(&req, &rem) != 0) {
    if (errno != EINTR) return luaL_error(L, "nanosleep: %s", strerror(errno));
    req = rem;
  }
  return 0;
}

/* Removes every entry of the open directory dfd (depth levels left),
 * never following symbolic links; returns 0 or an errno. */
static int rm_entries(int dfd, int depth) {
  if (depth <= 0) return ELOOP;
  int dup_fd = dup(dfd);
  if (dup_fd < 0) return errno;
  DIR *d = fdopendir(dup_fd);
  if (d == NULL) {
    int e = errno;
    (void)close(dup_fd);
    return e;
  }
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    struct stat st;
    if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      rc = errno;
      break;
    }
    if (S_ISDIR(st.st_mode)) {
      int sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) {
        rc = errno;
        break;
      }
      rc = rm_entries(sub, depth - 1);
      (void)close(sub); /* read-only: nothing to lose */
      if (rc == 0 && unlinkat(dfd, e->d_name, AT_REMOVEDIR) != 0) rc = errno;
    } else if (unlinkat(dfd, e->d_name, 0) != 0) {
      rc = errno;
    }
  }
  if (rc == 0 && errno != 0 && e == NULL) rc = errno;
  (void)closedir(d);
  return rc;
}

/* remove_tree(path) -> true | nil, msg, kind, errno: path and everything below
 * it (symbolic links are removed, never followed); a missing path is fine */
static int l_remove_tree(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  if (lstat(path, &st) != 0) {
    if (errno == ENOENT) {
      lua_pushboolean(L, 1);
      return 1;
    }
    return fail_errno(L, "cannot remove", path);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (unlink(path) != 0) return fail_errno(L, "cannot remove", path);
    lua_pushboolean(L, 1);
    return 1;
  }
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return fail_errno(L, "cannot remove", path);
  int rc = rm_entries(fd, 64);
  (void)close(fd);
  if (rc == 0 && rmdir(path) != 0) rc = errno;
  if (rc != 0) {
    errno = rc;
    return fail_errno(L, "cannot remove", path);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* random_hex(nbytes) -> 2*nbytes hex characters from the kernel CSPRNG */
static int l_random_hex(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n > 0 && n <= 64, 1, "between 1 and 64 bytes");
  unsigned char raw[64];
  size_t got = 0;
  while (got < (size_t)n) {
    ssize_t r = getrandom(raw + got, (size_t)n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return luaL_error(L, "getrandom failed: %s", strerror(errno));
    }
    got += (size_t)r;
  }
  static const char hex[] = "0123456789abcdef";
  char out[128];
  for (lua_Integer i = 0; i < n; i++) {
    out[2 * i] = hex[raw[i] >> 4];
    out[2 * i + 1] = hex[raw[i] & 15];
  }
  lua_pushlstring(L, out, (size_t)n * 2);
  return 1;
}

/* isatty(fd) -> boolean */
static int l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

/* mkdirs(path) -> true | nil, msg, kind, errno : mkdir -p */
static int l_mkdirs(lua_State *L) {
  size_t n;
  const char *path = luaL_checklstring(L, 1, &n);
  char buf[4096];
  luaL_argcheck(L, n > 0 && n < sizeof buf, 1, "path empty or too long");
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char saved = buf[i];
    buf[i] = '\0';
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return fail_errno(L, "cannot create directory", buf);
    buf[i] = saved;
  }
  struct stat st;
  if (stat(path, &st) != 0) return fail_errno(L, "cannot create directory", path);
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return fail_errno(L, "cannot create directory", path);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* stat(path) -> {type=, size=, mtime=} | nil, msg, kind, errno */
static int l_stat(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  if (stat(path, &st) != 0) return fail_errno(L, "cannot stat", path);
  lua_createtable(L, 0, 3);
  lua_pushstring(L, S_ISDIR(st.st_mode) ? "directory" : S_ISREG(st.st_mode) ? "file" : "other");
  lua_setfield(L, -2, "type");
  lua_pushinteger(L, (lua_Integer)st.st_size);
  lua_setfield(L, -2, "size");
  lua_pushnumber(L, (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9);
  lua_setfield(L, -2, "mtime");
  return 1;
}

/* listdir(path) -> {names...} (sorted by the caller) | nil, msg, kind, errno;
 * "." and ".." are left out */
static int l_listdir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_newtable(L); /* created first: a raise below leaks nothing but the DIR */
  DIR *d = opendir(path);
  if (d == NULL) return fail_errno(L, "cannot list", path);
  lua_Integer n = 0;
  struct dirent *e;
  errno = 0;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (!lua_checkstack(L, 2)) break;
    lua_pushstring(L, e->d_name);
    lua_rawseti(L, -2, ++n);
  }
  int e_read = errno;
  closedir(d);
  if (e_read != 0) {
    errno = e_read;
    return fail_errno(L, "cannot list", path);
  }
  return 1;
}

/* realpath(path) -> absolute path without symlinks | nil, msg, kind, errno */
static int l_realpath(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char buf[PATH_MAX];
  if (realpath(path, buf) == NULL) return fail_errno(L, "cannot resolve", path);
  lua_pushstring(L, buf);
  return 1;
}

static int l_hostname(lua_State *L) {
  char name[256];
  if (gethostname(name, sizeof name) != 0) return fail_errno(L, "cannot read", "host name");
  name[sizeof name - 1] = '\0';
  lua_pushstring(L, name);
  return 1;
}

/* errno_kind(errno) -> the error convention's kind for it (nv_errno_kind):
 * for the errno Lua's io library returns third */
static int l_errno_kind(lua_State *L) {
  lua_Integer e = luaL_checkinteger(L, 1);
  luaL_argcheck(L, e >= 0 && e <= 4095, 1, "an errno");
  lua_pushstring(L, nv_errno_kind((int)e));
  return 1;
}

static int l_getpid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}

static mode_t check_mode(lua_State *L, int idx) {
  lua_Integer m = luaL_optinteger(L, idx, 0600);
  luaL_argcheck(L, m >= 0 && m <= 07777, idx, "a file mode (0 to 07777)");
  return (mode_t)m;
}

/* writes all of data to fd, resuming short writes; 0 or an errno */
static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* fchmod, write, fsync and close fd; 0 or the first errno (fd is closed) */
static int finish_file(int fd, mode_t mode, const char *data, size_t n) {
  int rc = fchmod(fd, mode) != 0 ? errno : 0;
  if (rc == 0) rc = write_all(fd, data, n);
  if (rc == 0 && fsync(fd) != 0) rc = errno;
  if (close(fd) != 0 && rc == 0) rc = errno;
  return rc;
}

static int l_write_new(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t n;
  const char *data = luaL_checklstring(L, 2, &n);
  mode_t mode = check_mode(L, 3);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0700);
  if (fd < 0) return fail_errno(L, "cannot create", path);
  int rc = finish_file(fd, mode, data, n);
  if (rc != 0) {
    (void)unlink(path); /* a partial file must not look complete */
    errno = rc;
    return fail_errno(L, "cannot write", path);
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_append_sync(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t n;
  const char *data = luaL_checklstring(L, 2, &n);
  mode_t mode = check_mode(L, 3);
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode & 0700);
  if (fd < 0) return fail_errno(L, "cannot open", path);
  int rc = finish_file(fd, mode, data, n);
  if (rc != 0) {
    errno = rc;
    return fail_errno(L, "cannot append to", path);
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_fsync_dir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail_errno(L, "cannot open", path);
  int rc = fsync(fd) != 0 ? errno : 0;
  if (close(fd) != 0 && rc == 0) rc = errno;
  if (rc != 0) {
    errno = rc;
    return fail_errno(L, "cannot sync", path);
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_chmod(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checkinteger(L, 2);
  if (chmod(path, check_mode(L, 2)) != 0) return fail_errno(L, "cannot chmod", path);
  lua_pushboolean(L, 1);
  return 1;
}

#define LOCK_MT "nv.Lock"

struct lock {
  int fd; /* -1 once closed */
};

/* closes the half-made lock k, then reports errno's failure */
static int lock_fail(lua_State *L, struct lock *k, const char *what, const char *path) {
  int e = errno;
  (void)close(k->fd);
  k->fd = -1;
  errno = e;
  return fail_errno(L, what, path);
}

static int l_lock(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Number timeout = luaL_optnumber(L, 2, 0);
  luaL_argcheck(L, timeout >= 0 && timeout <= 86400, 2, "between 0 and 86400 seconds");
  struct lock *k = lua_newuserdatauv(L, sizeof *k, 0);
  k->fd = -1;
  luaL_setmetatable(L, LOCK_MT);
  int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return fail_errno(L, "cannot open", path);
  k->fd = fd; /* owned by the userdata from here: __gc closes it */
  if (fchmod(fd, 0600) != 0) return lock_fail(L, k, "cannot chmod", path);
  struct timespec step = {.tv_sec = 0, .tv_nsec = 50000000L};
  long tries = (long)(timeout * 20);
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK || tries-- <= 0) return lock_fail(L, k, "cannot lock", path);
    (void)nanosleep(&step, NULL); /* an interrupted wait only polls sooner */
  }
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) != 0 || write_all(fd, pid, (size_t)n) != 0) return lock_fail(L, k, "cannot write", path);
  return 1;
}

static int l_lock_holder(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return fail_errno(L, "cannot open", path);
  char buf[32];
  ssize_t r = read(fd, buf, sizeof buf - 1);
  (void)close(fd); /* read-only */
  if (r <= 0) {
    lua_pushnil(L);
    return 1;
  }
  buf[r] = '\0';
  char *end;
  long pid = strtol(buf, &end, 10);
  if (end == buf || pid <= 0) lua_pushnil(L);
  else lua_pushinteger(L, (lua_Integer)pid);
  return 1;
}

static int l_lock_close(lua_State *L) {
  struct lock *k = luaL_checkudata(L, 1, LOCK_MT);
  if (k->fd >= 0) {
    (void)close(k->fd); /* closing the descriptor releases the flock */
    k->fd = -1;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg lock_methods[] = {{"close", l_lock_close}, {NULL, NULL}};

static const luaL_Reg funcs[] = {
    {"now", l_now},         {"monotonic", l_monotonic}, {"random_hex", l_random_hex},
    {"isatty", l_isatty},   {"mkdirs", l_mkdirs},       {"stat", l_stat},
    {"hostname", l_hostname}, {"getpid", l_getpid}, {"listdir", l_listdir}, {"realpath", l_realpath},
    {"sleep", l_sleep},     {"remove_tree", l_remove_tree},
    {"write_new", l_write_new}, {"append_sync", l_append_sync}, {"fsync_dir", l_fsync_dir}, {"chmod", l_chmod},
    {"lock", l_lock}, {"lock_holder", l_lock_holder}, {"errno_kind", l_errno_kind},
    {NULL, NULL}};

static const luaL_Reg lock_meta[] = {{"__gc", l_lock_close}, {"__close", l_lock_close}, {NULL, NULL}};

int luaopen_nv_sys(lua_State *L) {
  nv_createmeta(L, LOCK_MT, lock_meta, lock_methods);
  luaL_newlib(L, funcs);
  return 1;
}
