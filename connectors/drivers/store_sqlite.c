/* store_sqlite.c - the `nv.store.sqlite` module: the SQLite driver behind the
 * default `_executor_metadata` store (lua/nv/store.lua holds the DDL and the
 * dialect; this file only moves bound parameters and rows).
 *
 *   db = sqlite.open(path [, {schema = "_executor_metadata"}])
 *        the file is ATTACHed under `schema`, so queries written against
 *        `_executor_metadata.<table>` run unchanged
 *   db:exec(sql, ...)   -> changes | nil, msg, kind, code      one statement
 *   db:query(sql, ...)  -> rows, colnames | nil, msg, kind, code
 *   db:script(sql)      -> true | nil, msg, kind, code         several statements
 *   db:close()          idempotent; also __gc and __close
 *   db:read_only()      -> nil | why the store is read-only ("… has mode 0444")
 * Failures (also open's) are nil, msg, kind, SQLite's extended result
 * code: kind "sql" (SQLITE_ERROR, a constraint, ...), "busy", "permission"
 * (read-only), "io", "parse" (not a database, corrupt), "memory", "limit",
 * "usage", "cancelled", or open's errno kind ("notfound", ...).
 * Parameters: nil, boolean (0/1), integer, number, string.
 *
 * Read-only stores: a file (or its directory) without any write permission
 * bit is opened with PRAGMA query_only, so a write fails with "attempt to
 * write a readonly database (… has mode 0444)" for root as well, who would
 * otherwise write through the mode. Failures that come from the operating
 * system (SQLITE_IOERR, _FULL, _CANTOPEN, _READONLY) name its errno text,
 * e.g. "disk I/O error (File too large)" under ulimit -f. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lua.h>
#include <sqlite3.h>

#include "luax.h"
#include "nvlua.h"

#define DB_MT "nv.SqliteDb"
#define STMT_MT "nv.SqliteStmt"

struct db {
  sqlite3 *handle;       /* NULL when closed */
  char read_only[160];   /* why writes are refused; "" when writable */
};

struct stmt {
  sqlite3_stmt *handle;
};

static int db_close_impl(struct db *d) {
  int rc = SQLITE_OK;
  if (d->handle) {
    rc = sqlite3_close_v2(d->handle);
    d->handle = NULL;
  }
  return rc;
}

static struct db *check_open(lua_State *L) {
  struct db *d = luaL_checkudata(L, 1, DB_MT);
  if (d->handle == NULL) luaL_error(L, "attempt to use a closed database");
  return d;
}

/* The error convention's kind for a SQLite result code (README "Errors");
 * sys: the OS errno behind it, or 0. */
static const char *sqlite_kind(int code, int sys) {
  switch (code & 0xff) {
    case SQLITE_PERM: case SQLITE_READONLY: return "permission";
    case SQLITE_BUSY: case SQLITE_LOCKED: return "busy";
    case SQLITE_NOMEM: return "memory";
    case SQLITE_INTERRUPT: return "cancelled";
    case SQLITE_IOERR: case SQLITE_FULL: case SQLITE_PROTOCOL: return "io";
    case SQLITE_CANTOPEN: return sys ? nv_errno_kind(sys) : "io";
    case SQLITE_CORRUPT: case SQLITE_NOTADB: return "parse";
    case SQLITE_TOOBIG: return "limit";
    case SQLITE_MISUSE: case SQLITE_RANGE: return "usage";
    case SQLITE_NOLFS: return "unsupported";
    case SQLITE_AUTH: return "auth";
    default: return "sql"; /* SQLITE_ERROR, _SCHEMA, _CONSTRAINT, _MISMATCH, ... */
  }
}

/* nil, msg (on the stack top, replaced), kind, the extended result code */
static int fail_top(lua_State *L, int code, int sys) {
  luaL_pushfail(L);
  lua_insert(L, -2);
  lua_pushstring(L, sqlite_kind(code, sys));
  lua_pushinteger(L, code);
  return 4;
}

/* pushes nil, "sqlite: WHAT: message[ (errno text)][ (read-only reason)]",
 * kind, the extended result code */
static int fail_db(lua_State *L, struct db *d, const char *what) {
  sqlite3 *h = d->handle;
  const char *ro = d->read_only;
  int code = sqlite3_extended_errcode(h);
  int primary = code & 0xff;
  int sys = sqlite3_system_errno(h);
  int from_os = primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN ||
                primary == SQLITE_READONLY;
  lua_pushfstring(L, "sqlite: %s: %s", what, sqlite3_errmsg(h));
  if (from_os && sys != 0) {
    lua_pushfstring(L, " (%s)", strerror(sys));
    lua_concat(L, 2);
  }
  if (*ro && (primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN)) {
    lua_pushfstring(L, " (%s)", ro);
    lua_concat(L, 2);
  }
  return fail_top(L, code, from_os ? sys : 0);
}

static int stmt_gc(lua_State *L) {
  struct stmt *s = luaL_checkudata(L, 1, STMT_MT);
  if (s->handle) {
    sqlite3_finalize(s->handle); /* its error repeats the step's error */
    s->handle = NULL;
  }
  return 0;
}

/* Prepares sql into a statement userdata pushed on the stack (so a raise
 * cannot leak it). Returns NULL after pushing nil, msg, code. */
static struct stmt *prepare(lua_State *L, struct db *d, const char *sql, size_t n) {
  struct stmt *s = lua_newuserdatauv(L, sizeof *s, 0);
  s->handle = NULL;
  luaL_setmetatable(L, STMT_MT);
  const char *tail = NULL;
  if (sqlite3_prepare_v2(d->handle, sql, (int)n, &s->handle, &tail) != SQLITE_OK) {
    lua_pop(L, 1);
    fail_db(L, d, "prepare");
    return NULL;
  }
  if (s->handle == NULL) {
    lua_pop(L, 1);
    lua_pushliteral(L, "sqlite: empty statement");
    fail_top(L, SQLITE_MISUSE, 0);
    return NULL;
  }
  while (tail && *tail && strchr(" \t\r\n;", *tail)) tail++;
  if (tail && *tail) {
    lua_pop(L, 1);
    return (luaL_error(L, "exec/query take one statement; use db:script for several"), NULL);
  }
  return s;
}

/* Binds Lua values at [first, top] to the statement. Raises on misuse. */
static void bind_all(lua_State *L, struct db *d, struct stmt *s, int first, int top) {
  int want = sqlite3_bind_parameter_count(s->handle);
  int have = top - first + 1;
  if (have != want)
    luaL_error(L, "statement has %d parameter(s), %d given", want, have);
  for (int i = 0; i < have; i++) {
    int idx = first + i, rc;
    switch (lua_type(L, idx)) {
      case LUA_TNIL: rc = sqlite3_bind_null(s->handle, i + 1); break;
      case LUA_TBOOLEAN: rc = sqlite3_bind_int(s->handle, i + 1, lua_toboolean(L, idx)); break;
      case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
          rc = sqlite3_bind_int64(s->handle, i + 1, (sqlite3_int64)lua_tointeger(L, idx));
        else
          rc = sqlite3_bind_double(s->handle, i + 1, lua_tonumber(L, idx));
        break;
      case LUA_TSTRING: {
        size_t n;
        const char *p = lua_tolstring(L, idx, &n);
        rc = sqlite3_bind_text64(s->handle, i + 1, p, n, SQLITE_TRANSIENT, SQLITE_UTF8);
        break;
      }
      default:
        luaL_error(L, "parameter %d: cannot bind a %s", i + 1, luaL_typename(L, idx));
        return;
    }
    if (rc != SQLITE_OK) luaL_error(L, "parameter %d: %s", i + 1, sqlite3_errmsg(d->handle));
  }
}

static void push_column(lua_State *L, sqlite3_stmt *h, int c) {
  switch (sqlite3_column_type(h, c)) {
    case SQLITE_INTEGER: lua_pushinteger(L, (lua_Integer)sqlite3_column_int64(h, c)); break;
    case SQLITE_FLOAT: lua_pushnumber(L, sqlite3_column_double(h, c)); break;
    case SQLITE_NULL: lua_pushnil(L); break;
    default: {
      const void *p = sqlite3_column_blob(h, c);
      int n = sqlite3_column_bytes(h, c);
      lua_pushlstring(L, p ? p : "", (size_t)(n > 0 ? n : 0));
    }
  }
}

/* Finalizes now rather than at collection, so no statement outlives its
 * call holding locks; passes nret through. */
static int finish(lua_State *L, struct db *d, struct stmt *s, int nret) {
  (void)L;
  (void)d;
  sqlite3_finalize(s->handle); /* any error was already reported by step */
  s->handle = NULL;
  return nret;
}

static int l_exec(lua_State *L) {
  struct db *d = check_open(L);
  size_t n;
  const char *sql = luaL_checklstring(L, 2, &n);
  int top = lua_gettop(L);
  struct stmt *s = prepare(L, d, sql, n);
  if (s == NULL) return 4;
  bind_all(L, d, s, 3, top);
  int rc;
  while ((rc = sqlite3_step(s->handle)) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE) return finish(L, d, s, fail_db(L, d, "exec"));
  lua_pushinteger(L, sqlite3_changes(d->handle));
  return finish(L, d, s, 1);
}

static int l_query(lua_State *L) {
  struct db *d = check_open(L);
  size_t n;
  const char *sql = luaL_checklstring(L, 2, &n);
  int top = lua_gettop(L);
  struct stmt *s = prepare(L, d, sql, n);
  if (s == NULL) return 4;
  int sidx = lua_gettop(L);
  bind_all(L, d, s, 3, top);
  int ncol = sqlite3_column_count(s->handle);
  lua_createtable(L, ncol, 0); /* column names */
  for (int c = 0; c < ncol; c++) {
    lua_pushstring(L, sqlite3_column_name(s->handle, c));
    lua_rawseti(L, -2, c + 1);
  }
  int names = lua_gettop(L);
  lua_newtable(L);
  lua_Integer row = 0;
  int rc;
  while ((rc = sqlite3_step(s->handle)) == SQLITE_ROW) {
    lua_createtable(L, 0, ncol);
    for (int c = 0; c < ncol; c++) {
      push_column(L, s->handle, c);
      lua_rawgeti(L, names, c + 1);
      lua_insert(L, -2);
      lua_rawset(L, -3);
    }
    lua_rawseti(L, -2, ++row);
  }
  if (rc != SQLITE_DONE) return finish(L, d, s, fail_db(L, d, "query"));
  lua_pushvalue(L, names);
  (void)sidx;
  return finish(L, d, s, 2);
}

static int l_script(lua_State *L) {
  struct db *d = check_open(L);
  const char *sql = luaL_checkstring(L, 2);
  char *err = NULL;
  if (sqlite3_exec(d->handle, sql, NULL, NULL, &err) != SQLITE_OK) {
    lua_pushfstring(L, "sqlite: script: %s", err ? err : sqlite3_errmsg(d->handle));
    sqlite3_free(err);
    return fail_top(L, sqlite3_extended_errcode(d->handle), sqlite3_system_errno(d->handle));
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_read_only(lua_State *L) {
  struct db *d = check_open(L);
  if (d->read_only[0])
    lua_pushstring(L, d->read_only);
  else
    lua_pushnil(L);
  return 1;
}

/* Fills d->read_only when path (an existing file) or the directory that
 * holds it has no write permission bit at all. Names that are not plain
 * paths (":memory:", "file:" URIs, "") are left to SQLite. */
static void note_read_only(lua_State *L, struct db *d, const char *path) {
  struct stat st;
  d->read_only[0] = '\0';
  if (path[0] == '\0' || strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0) return;
  if (stat(path, &st) == 0) {
    if (S_ISREG(st.st_mode) && (st.st_mode & 0222) == 0) {
      snprintf(d->read_only, sizeof d->read_only, "the store file has mode %04o",
               (unsigned)(st.st_mode & 07777));
      return;
    }
  } else if (errno != ENOENT) {
    return; /* SQLite reports what is wrong with it */
  }
  const char *slash = strrchr(path, '/');
  if (slash == NULL)
    lua_pushliteral(L, ".");
  else
    lua_pushlstring(L, path, slash == path ? 1 : (size_t)(slash - path));
  if (stat(lua_tostring(L, -1), &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0222) == 0)
    snprintf(d->read_only, sizeof d->read_only, "its directory has mode %04o",
             (unsigned)(st.st_mode & 07777));
  lua_pop(L, 1);
}

static int l_close(lua_State *L) {
  struct db *d = luaL_checkudata(L, 1, DB_MT);
  int rc = db_close_impl(d);
  if (rc != SQLITE_OK) {
    lua_pushfstring(L, "sqlite: close: %s", sqlite3_errstr(rc));
    return fail_top(L, rc, 0);
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_gc(lua_State *L) {
  db_close_impl(luaL_checkudata(L, 1, DB_MT));
  return 0;
}

static int l_tostring(lua_State *L) {
  struct db *d = luaL_checkudata(L, 1, DB_MT);
  lua_pushfstring(L, d->handle ? "nv.sqlite (%p)" : "nv.sqlite (closed)", (void *)d);
  return 1;
}

static int valid_ident(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9') || *s == '_'))
      return 0;
  return 1;
}

/* open(path [, {schema=name, busy_timeout_ms=n}]) */
static int l_open(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  const char *schema = NULL;
  lua_Integer busy = 10000;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    if (lua_getfield(L, 2, "schema") == LUA_TSTRING) schema = lua_tostring(L, -1);
    if (lua_getfield(L, 2, "busy_timeout_ms") == LUA_TNUMBER) busy = lua_tointeger(L, -1);
    lua_pop(L, 2); /* schema string stays referenced by the options table */
  }
  luaL_argcheck(L, schema == NULL || valid_ident(schema), 2, "schema must be an identifier");
  struct db *d = lua_newuserdatauv(L, sizeof *d, 0);
  d->handle = NULL;
  d->read_only[0] = '\0';
  luaL_setmetatable(L, DB_MT);
  note_read_only(L, d, path);
  const char *main_file = schema ? ":memory:" : path;
  int rc = sqlite3_open_v2(main_file, &d->handle,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, NULL);
  if (rc != SQLITE_OK) {
    int sys = d->handle ? sqlite3_system_errno(d->handle) : 0;
    lua_pushfstring(L, "sqlite: cannot open %s: %s", path,
                    d->handle ? sqlite3_errmsg(d->handle) : sqlite3_errstr(rc));
    db_close_impl(d);
    return fail_top(L, rc, sys);
  }
  sqlite3_busy_timeout(d->handle, (int)(busy > 0 && busy < 3600000 ? busy : 10000));
  if (schema) {
    char sql[128];
    snprintf(sql, sizeof sql, "ATTACH DATABASE ?1 AS \"%s\"", schema);
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(d->handle, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
    if (rc == SQLITE_OK) rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    if (rc != SQLITE_OK) {
      int code = sqlite3_extended_errcode(d->handle), sys = sqlite3_system_errno(d->handle);
      lua_pushfstring(L, "sqlite: cannot open %s: %s", path, sqlite3_errmsg(d->handle));
      sqlite3_finalize(st);
      db_close_impl(d);
      return fail_top(L, code, sys);
    }
    sqlite3_finalize(st);
  }
  if (d->read_only[0]) {
    char *err = NULL;
    if (sqlite3_exec(d->handle, "PRAGMA query_only = 1", NULL, NULL, &err) != SQLITE_OK) {
      int code = sqlite3_extended_errcode(d->handle);
      lua_pushfstring(L, "sqlite: cannot open %s read-only: %s", path, err ? err : sqlite3_errmsg(d->handle));
      sqlite3_free(err);
      db_close_impl(d);
      return fail_top(L, code, 0);
    }
  }
  return 1;
}

static const luaL_Reg methods[] = {{"exec", l_exec},   {"query", l_query},
                                   {"script", l_script}, {"close", l_close},
                                   {"read_only", l_read_only},
                                   {NULL, NULL}};
static const luaL_Reg metamethods[] = {{"__gc", l_gc}, {"__close", l_gc},
                                       {"__tostring", l_tostring}, {"__index", NULL},
                                       {NULL, NULL}};
static const luaL_Reg funcs[] = {{"open", l_open}, {NULL, NULL}};

static const luaL_Reg stmt_gc_meta[] = {{"__gc", stmt_gc}, {NULL, NULL}};

int luaopen_nv_store_sqlite(lua_State *L) {
  nv_createmeta(L, DB_MT, metamethods, methods);
  nv_createmeta(L, STMT_MT, stmt_gc_meta, NULL);
  luaL_newlib(L, funcs);
  lua_pushstring(L, sqlite3_libversion());
  lua_setfield(L, -2, "sqlite_version");
  return 1;
}
