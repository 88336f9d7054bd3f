/* log.c - the `nv.log` module: levelled log lines in the spec's format
 * (`HH:MM:SS - module - LEVEL - message`) on stderr and in a per-run file,
 * every line masked (mask.c), and the run's records kept for the `logs`
 * table. State lives in one userdata in the registry, shared by all
 * functions as an upvalue; no C globals. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>

#include "luax.h"
#include "mask.h"
#include "nvlua.h"

#define LOGGER_KEY "nv.log.state" /* registry slot of the instance */
#define LOGGER_MT "nv.Logger"
#define BOX_MT "nv.log.Box"
#define MAX_RECORDS 50000

struct record {
  double when;
  int level;
  char *module;
  char *message;
};

struct logger {
  int level;
  int to_stderr;
  FILE *file;
  int file_errno;       /* the first failed write to file (ENOSPC, EFBIG), or 0 */
  size_t file_lost;     /* lines not written to file since then */
  char file_path[512];  /* for close_file's message */
  struct nv_mask mask;
  struct record *recs;
  size_t nrecs, caprecs, dropped;
};

static const struct {
  const char *name;
  int level;
} levels[] = {{"DEBUG", NV_DEBUG},
              {"INFO", NV_INFO},
              {"WARNING", NV_WARNING},
              {"WARN", NV_WARNING},
              {"ERROR", NV_ERROR},
              {"CRITICAL", NV_ERROR}};

static int level_from_name(const char *s) {
  for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
    if (strcasecmp(s, levels[i].name) == 0) return levels[i].level;
  return -1;
}

static const char *level_name(int level) {
  if (level >= NV_ERROR) return "ERROR";
  if (level >= NV_WARNING) return "WARNING";
  if (level >= NV_INFO) return "INFO";
  return "DEBUG";
}

static void clear_records(struct logger *lg) {
  for (size_t i = 0; i < lg->nrecs; i++) {
    free(lg->recs[i].module);
    free(lg->recs[i].message);
  }
  lg->nrecs = 0;
  lg->dropped = 0;
}

static int logger_gc(lua_State *L) {
  struct logger *lg = luaL_checkudata(L, 1, LOGGER_MT);
  clear_records(lg);
  free(lg->recs);
  lg->recs = NULL;
  lg->caprecs = 0;
  if (lg->file) {
    fclose(lg->file); /* nothing to report to at collection time */
    lg->file = NULL;
  }
  nv_mask_free(&lg->mask);
  return 0;
}

static struct logger *get_logger(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, LOGGER_KEY) != LUA_TUSERDATA) {
    lua_pop(L, 1);
    return NULL;
  }
  struct logger *lg = lua_touserdata(L, -1);
  lua_pop(L, 1); /* anchored by the registry */
  return lg;
}

static struct logger *up_logger(lua_State *L) {
  return lua_touserdata(L, lua_upvalueindex(1));
}

static char *dup_n(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

static void keep_record(struct logger *lg, double when, int level,
                        const char *module, const char *msg, size_t msglen) {
  if (lg->nrecs >= MAX_RECORDS) {
    lg->dropped++;
    return;
  }
  if (lg->nrecs == lg->caprecs) {
    size_t cap = lg->caprecs ? lg->caprecs * 2 : 64;
    struct record *nr = realloc(lg->recs, cap * sizeof *nr);
    if (nr == NULL) {
      lg->dropped++;
      return;
    }
    lg->recs = nr;
    lg->caprecs = cap;
  }
  struct record *r = &lg->recs[lg->nrecs];
  r->when = when;
  r->level = level;
  r->module = dup_n(module, strlen(module));
  r->message = dup_n(msg, msglen);
  if (r->module == NULL || r->message == NULL) {
    free(r->module);
    free(r->message);
    lg->dropped++;
    return;
  }
  lg->nrecs++;
}

static void emit(struct logger *lg, int level, const char *module,
                 const char *msg, size_t msglen) {
  if (level < lg->level) return;
  struct timeval tv;
  gettimeofday(&tv, NULL);
  double when = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
  struct tm tm;
  time_t secs = tv.tv_sec;
  char clock[16] = "00:00:00";
  if (localtime_r(&secs, &tm) != NULL) strftime(clock, sizeof clock, "%H:%M:%S", &tm);
  size_t mlen = 0;
  char *masked = nv_mask_apply(&lg->mask, msg, msglen, &mlen);
  const char *text = masked ? masked : "(log line withheld: out of memory while masking)";
  if (masked == NULL) mlen = strlen(text);
  size_t modlen = 0;
  char *mmod = nv_mask_apply(&lg->mask, module, strlen(module), &modlen);
  const char *mod = mmod ? mmod : "nvlua";
  if (lg->to_stderr)
    fprintf(stderr, "%s - %s - %s - %.*s\n", clock, mod, level_name(level),
            (int)mlen, text);
  if (lg->file && fprintf(lg->file, "%s - %s - %s - %.*s\n", clock, mod, level_name(level),
                          (int)mlen, text) < 0) {
    if (lg->file_errno == 0) lg->file_errno = errno ? errno : EIO;
    lg->file_lost++;
    clearerr(lg->file);
  }
  keep_record(lg, when, level, mod, text, mlen);
  free(mmod);
  free(masked);
}

void nv_log_emit(lua_State *L, int level, const char *module, const char *msg) {
  struct logger *lg = get_logger(L);
  if (lg) emit(lg, level, module, msg, strlen(msg));
}

static int check_level(lua_State *L, int idx) {
  const char *name = luaL_checkstring(L, idx);
  int level = level_from_name(name);
  if (level < 0)
    return luaL_argerror(L, idx,
                         lua_pushfstring(L, "unknown log level '%s' (DEBUG, INFO, WARNING, ERROR)", name));
  return level;
}

/* write(level, module, message) */
static int l_write(lua_State *L) {
  struct logger *lg = up_logger(L);
  int level = check_level(L, 1);
  const char *module = luaL_checkstring(L, 2);
  size_t n;
  const char *msg = luaL_tolstring(L, 3, &n);
  emit(lg, level, module, msg, n);
  return 0;
}

static int l_set_level(lua_State *L) {
  up_logger(L)->level = check_level(L, 1);
  return 0;
}

static int l_level(lua_State *L) {
  lua_pushstring(L, level_name(up_logger(L)->level));
  return 1;
}

static int l_enabled(lua_State *L) {
  lua_pushboolean(L, check_level(L, 1) >= up_logger(L)->level);
  return 1;
}

/* open_file(path) -> true | nil, msg, kind, errno : appends log lines to
 * path (kind "notfound", "permission", "io", ... for the errno) */
static int l_open_file(lua_State *L) {
  struct logger *lg = up_logger(L);
  const char *path = luaL_checkstring(L, 1);
  FILE *f = fopen(path, "a");
  if (f == NULL) {
    int e = errno;
    lua_pushfstring(L, "cannot open log file %s: %s", path, strerror(e));
    return nv_push_fail_errno(L, lua_tostring(L, -1), e);
  }
  if (setvbuf(f, NULL, _IOLBF, 0) != 0) { /* line-buffered: survive crashes */
    int e = errno ? errno : EIO;
    fclose(f);
    lua_pushfstring(L, "cannot set buffering on log file %s", path);
    return nv_push_fail_errno(L, lua_tostring(L, -1), e);
  }
  if (lg->file && fclose(lg->file) != 0) {
    int e = errno ? errno : EIO;
    lg->file = f;
    lua_pushfstring(L, "error closing the previous log file: %s", strerror(e));
    return nv_push_fail_errno(L, lua_tostring(L, -1), e);
  }
  lg->file = f;
  lg->file_errno = 0;
  lg->file_lost = 0;
  snprintf(lg->file_path, sizeof lg->file_path, "%s", path);
  lua_pushboolean(L, 1);
  return 1;
}

/* close_file() -> true | nil, message naming the file and the first write
 * error (a full disk, a file-size limit) when lines were lost */
static int l_close_file(lua_State *L) {
  struct logger *lg = up_logger(L);
  if (lg->file) {
    int rc = fclose(lg->file);
    int e = rc != 0 ? errno : 0;
    lg->file = NULL;
    if (lg->file_errno != 0) {
      lua_pushfstring(L, "log file %s: %s (%d line(s) not written)", lg->file_path, strerror(lg->file_errno),
                      (int)lg->file_lost);
      int n = nv_push_fail_errno(L, lua_tostring(L, -1), lg->file_errno);
      lua_remove(L, -n - 1);
      return n;
    }
    if (rc != 0) {
      lua_pushfstring(L, "log file %s: %s", lg->file_path, strerror(e));
      int n = nv_push_fail_errno(L, lua_tostring(L, -1), e);
      lua_remove(L, -n - 1);
      return n;
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_set_stderr(lua_State *L) {
  up_logger(L)->to_stderr = lua_toboolean(L, 1);
  return 0;
}

static int l_add_secret(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  if (!nv_mask_add(&up_logger(L)->mask, s, n))
    return luaL_error(L, "cannot register secret: table full or out of memory");
  return 0;
}

/* A malloc'd buffer anchored in Lua, so a raise cannot leak it. */
static int box_gc(lua_State *L) {
  char **box = luaL_checkudata(L, 1, BOX_MT);
  free(*box);
  *box = NULL;
  return 0;
}

static const luaL_Reg box_meta[] = {{"__gc", box_gc}, {NULL, NULL}};

static char **new_box(lua_State *L) {
  char **box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = NULL;
  nv_createmeta(L, BOX_MT, box_meta, NULL);
  luaL_setmetatable(L, BOX_MT);
  return box;
}

static int l_mask(lua_State *L) {
  size_t n, outn;
  const char *s = luaL_checklstring(L, 1, &n);
  char **box = new_box(L);
  *box = nv_mask_apply(&up_logger(L)->mask, s, n, &outn);
  if (*box == NULL) return luaL_error(L, "not enough memory");
  lua_pushlstring(L, *box, outn);
  free(*box);
  *box = NULL;
  return 1;
}

/* records() -> { {timestamp=, level=, module=, message=}, ... }, dropped
 * Returns the records kept since the last call and forgets them. */
static int l_records(lua_State *L) {
  struct logger *lg = up_logger(L);
  lua_createtable(L, (int)(lg->nrecs < 1000000 ? lg->nrecs : 0), 0);
  for (size_t i = 0; i < lg->nrecs; i++) {
    struct record *r = &lg->recs[i];
    lua_createtable(L, 0, 4);
    lua_pushnumber(L, r->when);
    lua_setfield(L, -2, "time");
    lua_pushstring(L, level_name(r->level));
    lua_setfield(L, -2, "level");
    lua_pushstring(L, r->module);
    lua_setfield(L, -2, "module");
    lua_pushstring(L, r->message);
    lua_setfield(L, -2, "message");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_pushinteger(L, (lua_Integer)lg->dropped);
  clear_records(lg);
  return 2;
}

static const luaL_Reg funcs[] = {
    {"write", l_write},         {"set_level", l_set_level},
    {"level", l_level},         {"enabled", l_enabled},
    {"open_file", l_open_file}, {"close_file", l_close_file},
    {"set_stderr", l_set_stderr}, {"add_secret", l_add_secret},
    {"mask", l_mask},           {"records", l_records},
    {NULL, NULL}};

static const luaL_Reg logger_meta[] = {{"__gc", logger_gc}, {NULL, NULL}};

int luaopen_nv_log(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, LOGGER_KEY) != LUA_TUSERDATA) {
    lua_pop(L, 1);
    struct logger *lg = lua_newuserdatauv(L, sizeof *lg, 0);
    memset(lg, 0, sizeof *lg);
    lg->level = NV_INFO;
    lg->to_stderr = 1;
    nv_mask_init(&lg->mask);
    nv_createmeta(L, LOGGER_MT, logger_meta, NULL);
    luaL_setmetatable(L, LOGGER_MT);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, LOGGER_KEY);
  }
  luaL_newlibtable(L, funcs);
  lua_insert(L, -2);
  luaL_setfuncs(L, funcs, 1);
  return 1;
}
