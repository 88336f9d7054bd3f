/* pg.c - the `nv.pg` module: a PostgreSQL driver over libpq, the same shape
 * as nv.store.sqlite (store_sqlite.c). Used by the PostgreSQL store dialect
 * (lua/nv/store/postgresql.lua) and by database sources (lua/nv/dbsource.lua).
 *
 *   conn = pg.open(url_or_conninfo [, {connect_timeout = s, read_only = bool,
 *                                      application_name = text}])
 *          -> conn | nil, msg, kind, sqlstate   msg names host:port/database and the
 *          cause, never the password (registered with nv.log.add_secret first)
 *   pg.describe(url_or_conninfo) -> {host, port, database, user} | nil, msg
 *   conn:exec(sql, ...)  -> affected rows | nil, msg, kind, sqlstate
 *   conn:query(sql, ...) -> rows, colnames | nil, msg, kind, sqlstate
 *          kind: "connect", "auth", "permission", "sql", ... (nv_sqlstate_kind); a
 *          failed connection is "connect" with SQLSTATE 08001 (libpq names
 *          no SQLSTATE then: nv.dbsource tells a refused password by its
 *          message)
 *   conn:info()          -> {host, port, database, user, server_version}
 *   conn:close()         idempotent; also __gc and __close
 * Parameters are written `?` (the store's style) and sent as $1.. through
 * PQexecParams (one statement per call; `?` inside quotes, identifiers and
 * comments is left alone). Values: nil, boolean, integer, number, string.
 * Results: int2/4/8 and oid as integers, float4/8 and numeric as numbers,
 * bool as booleans, NULL as nil, everything else as text.
 * Uses libpq and nv.log (for the secret). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <libpq-fe.h>
#include <lua.h>

#include "luax.h"
#include "nvlua.h"

#define CONN_MT "nv.PgConn"
#define RES_MT "nv.PgResult"
#define INFO_MT "nv.PgConninfo"
#define MAX_PARAMS 65535

/* type oids (pg_type.h is server-side only) */
enum { BOOLOID = 16, INT8OID = 20, INT2OID = 21, INT4OID = 23, OIDOID = 26,
       FLOAT4OID = 700, FLOAT8OID = 701, NUMERICOID = 1700 };

struct conn {
  PGconn *pg; /* NULL when closed */
};

/* A PGresult anchored in Lua so a raise while building rows cannot leak it. */
struct res {
  PGresult *r;
};

/* PQconninfoParse's options, anchored the same way. */
struct info_box {
  PQconninfoOption *opts;
};

static void conn_close_impl(struct conn *c) {
  if (c->pg) {
    PQfinish(c->pg);
    c->pg = NULL;
  }
}

static struct conn *check_open(lua_State *L) {
  struct conn *c = luaL_checkudata(L, 1, CONN_MT);
  if (c->pg == NULL) luaL_error(L, "attempt to use a closed connection");
  return c;
}

static int res_gc(lua_State *L) {
  struct res *b = luaL_checkudata(L, 1, RES_MT);
  if (b->r) {
    PQclear(b->r);
    b->r = NULL;
  }
  return 0;
}

static int info_gc(lua_State *L) {
  struct info_box *b = luaL_checkudata(L, 1, INFO_MT);
  if (b->opts) {
    PQconninfoFree(b->opts);
    b->opts = NULL;
  }
  return 0;
}

static struct res *new_res(lua_State *L) {
  struct res *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->r = NULL;
  luaL_setmetatable(L, RES_MT);
  return b;
}

/* Pushes libpq's message on one line: no trailing newline, and each line
 * break (with the indentation after it) turned into one space. */
static void push_trimmed(lua_State *L, const char *s) {
  if (s == NULL) s = "";
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r')) n--;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\n' || s[i] == '\r') {
      while (i + 1 < n && (s[i + 1] == '\n' || s[i + 1] == '\r' || s[i + 1] == '\t' || s[i + 1] == ' ')) i++;
      luaL_addchar(&b, ' ');
    } else {
      luaL_addchar(&b, s[i]);
    }
  }
  luaL_pushresult(&b);
}

static void silent_notice(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

/* Calls require("nv.log").add_secret(s) for the string at idx. */
static void add_secret(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "nv.log");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "add_secret");
  lua_pushvalue(L, idx);
  lua_call(L, 1, 0);
  lua_pop(L, 1);
}

/* Parses the conninfo/URL at idx into a table {host, port, database, user}
 * pushed on the stack; registers the password as a secret. Returns 1, or 0
 * after pushing an error message (which is masked by the caller's logger:
 * libpq's parse errors quote the offending token, never a password here). */
static int describe(lua_State *L, int idx) {
  const char *info = luaL_checkstring(L, idx);
  char *err = NULL;
  struct info_box *box = lua_newuserdatauv(L, sizeof *box, 0);
  box->opts = NULL;
  luaL_setmetatable(L, INFO_MT);
  box->opts = PQconninfoParse(info, &err);
  if (box->opts == NULL) {
    /* libpq's parse errors quote the offending token; callers mask */
    char msg[512];
    snprintf(msg, sizeof msg, "%s", err ? err : "out of memory");
    if (err) PQfreemem(err);
    lua_pop(L, 1);
    lua_pushliteral(L, "postgresql: invalid connection string: ");
    push_trimmed(L, msg);
    lua_concat(L, 2);
    return 0;
  }
  int top = lua_gettop(L);
  const char *keys[] = {"host", "hostaddr", "port", "dbname", "user", "password"};
  enum { NKEYS = 6 };
  const char *vals[NKEYS] = {NULL, NULL, NULL, NULL, NULL, NULL};
  for (PQconninfoOption *o = box->opts; o->keyword; o++)
    for (int k = 0; k < NKEYS; k++)
      if (o->val && o->val[0] && strcmp(o->keyword, keys[k]) == 0) vals[k] = o->val;
  luaL_checkstack(L, NKEYS + 4, "describe");
  for (int k = 0; k < NKEYS; k++) {
    if (vals[k])
      lua_pushstring(L, vals[k]);
    else
      lua_pushnil(L);
  }
  PQconninfoFree(box->opts);
  box->opts = NULL;
  /* stack: host hostaddr port dbname user password */
  int base = top + 1;
  if (!lua_isnil(L, base + 5)) add_secret(L, base + 5);
  lua_createtable(L, 0, 4);
  if (!lua_isnil(L, base))
    lua_pushvalue(L, base);
  else if (!lua_isnil(L, base + 1))
    lua_pushvalue(L, base + 1);
  else
    lua_pushliteral(L, "localhost");
  lua_setfield(L, -2, "host");
  if (!lua_isnil(L, base + 2))
    lua_pushvalue(L, base + 2);
  else
    lua_pushliteral(L, "5432");
  lua_setfield(L, -2, "port");
  if (!lua_isnil(L, base + 3))
    lua_pushvalue(L, base + 3);
  else
    lua_pushvalue(L, base + 4);
  lua_setfield(L, -2, "database");
  lua_pushvalue(L, base + 4);
  lua_setfield(L, -2, "user");
  lua_replace(L, top); /* over the (now empty) box */
  lua_settop(L, top);
  return 1;
}

static int l_describe(lua_State *L) {
  if (!describe(L, 1)) {
    luaL_pushfail(L);
    lua_insert(L, -2);
    return 2;
  }
  return 1;
}

/* nil, message (on the stack top), kind, SQLSTATE; returns 4 */
static int fail_msg(lua_State *L, const char *code) {
  return nv_fail_top_state(L, nv_sqlstate_kind(code, lua_tostring(L, -1)), code);
}

/* open(url_or_conninfo [, opts]) */
static int l_open(lua_State *L) {
  const char *info = luaL_checkstring(L, 1);
  lua_Integer timeout = 5;
  int read_only = 0;
  const char *appname = "nvlua";
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    if (lua_getfield(L, 2, "connect_timeout") != LUA_TNIL) {
      luaL_argcheck(L, lua_isnumber(L, -1), 2, "connect_timeout must be a number");
      timeout = (lua_Integer)lua_tonumber(L, -1);
      luaL_argcheck(L, timeout >= 1 && timeout <= 3600, 2, "connect_timeout must be 1..3600 s");
    }
    lua_getfield(L, 2, "read_only");
    read_only = lua_toboolean(L, -1);
    if (lua_getfield(L, 2, "application_name") == LUA_TSTRING) appname = lua_tostring(L, -1);
    lua_pop(L, 3); /* appname stays referenced by the options table */
  }
  if (!describe(L, 1)) return nv_fail_top_state(L, "usage", "08001"); /* a malformed URL */
  int desc = lua_gettop(L);
  lua_getfield(L, desc, "host");
  lua_getfield(L, desc, "port");
  lua_getfield(L, desc, "database");
  lua_pushfstring(L, "%s:%s/%s", lua_tostring(L, -3), lua_tostring(L, -2),
                  lua_isstring(L, -1) ? lua_tostring(L, -1) : "(default)");
  lua_replace(L, -4);
  lua_pop(L, 2);
  int where = lua_gettop(L);

  char tbuf[32];
  snprintf(tbuf, sizeof tbuf, "%lld", (long long)timeout);
  const char *const keys[] = {"dbname", "connect_timeout", "application_name",
                              "client_encoding", NULL};
  const char *const vals[] = {info, tbuf, appname, "UTF8", NULL};

  struct conn *c = lua_newuserdatauv(L, sizeof *c, 0);
  c->pg = NULL;
  luaL_setmetatable(L, CONN_MT);
  c->pg = PQconnectdbParams(keys, vals, 1);
  if (c->pg == NULL) return luaL_error(L, "postgresql: out of memory");
  if (PQstatus(c->pg) != CONNECTION_OK) {
    lua_pushfstring(L, "postgresql: cannot connect to %s: ", lua_tostring(L, where));
    push_trimmed(L, PQerrorMessage(c->pg));
    lua_concat(L, 2);
    conn_close_impl(c);
    return fail_msg(L, "08001");
  }
  PQsetNoticeProcessor(c->pg, silent_notice, NULL);
  if (read_only) {
    PGresult *r = PQexec(c->pg, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
    int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) {
      lua_pushfstring(L, "postgresql: %s: cannot make the session read-only: ",
                      lua_tostring(L, where));
      push_trimmed(L, r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg));
      lua_concat(L, 2);
      PQclear(r);
      conn_close_impl(c);
      return fail_msg(L, "25006");
    }
    PQclear(r);
  }
  return 1;
}

/* Rewrites `?` placeholders as $1.. into a string pushed on the stack;
 * returns the number of placeholders. Quoted text ('…', E'…', "…") and
 * comments are copied as they are. */
static int translate(lua_State *L, const char *s, size_t n) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  int count = 0;
  size_t i = 0;
  while (i < n) {
    char ch = s[i];
    if (ch == '\'' || ch == '"') {
      int backslash = ch == '\'' && i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e');
      size_t j = i + 1;
      while (j < n) {
        if (backslash && s[j] == '\\' && j + 1 < n) {
          j += 2;
          continue;
        }
        if (s[j] == ch) {
          if (j + 1 < n && s[j + 1] == ch) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      if (j < n) j++;
      luaL_addlstring(&b, s + i, j - i);
      i = j;
    } else if (ch == '-' && i + 1 < n && s[i + 1] == '-') {
      size_t j = i;
      while (j < n && s[j] != '\n') j++;
      luaL_addlstring(&b, s + i, j - i);
      i = j;
    } else if (ch == '/' && i + 1 < n && s[i + 1] == '*') {
      size_t j = i + 2;
      while (j + 1 < n && !(s[j] == '*' && s[j + 1] == '/')) j++;
      j = j + 2 <= n ? j + 2 : n;
      luaL_addlstring(&b, s + i, j - i);
      i = j;
    } else if (ch == '?') {
      if (count >= MAX_PARAMS) luaL_error(L, "too many parameters (at most %d)", MAX_PARAMS);
      char num[16];
      int k = snprintf(num, sizeof num, "$%d", ++count);
      luaL_addlstring(&b, num, (size_t)k);
      i++;
    } else {
      luaL_addchar(&b, ch);
      i++;
    }
  }
  luaL_pushresult(&b);
  return count;
}

/* Runs sql with the arguments at [3, top] as parameters. Leaves the result
 * box on the stack and returns it, or returns NULL after pushing
 * nil, msg, kind, sqlstate. Raises on misuse. */
static struct res *run(lua_State *L, struct conn *c) {
  size_t n;
  const char *sql = luaL_checklstring(L, 2, &n);
  int top = lua_gettop(L);
  int have = top - 2;
  int want = translate(L, sql, n);
  if (have != want) luaL_error(L, "statement has %d parameter(s), %d given", want, have);
  int sqlidx = lua_gettop(L);
  const char **vals = NULL;
  if (have > 0) {
    vals = lua_newuserdatauv(L, sizeof *vals * (size_t)have, 0);
    luaL_checkstack(L, have + 4, "too many parameters");
  }
  for (int i = 0; i < have; i++) {
    int idx = 3 + i;
    switch (lua_type(L, idx)) {
      case LUA_TNIL: vals[i] = NULL; break;
      case LUA_TBOOLEAN: vals[i] = lua_toboolean(L, idx) ? "true" : "false"; break;
      case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
          vals[i] = lua_pushfstring(L, "%I", (LUAI_UACINT)lua_tointeger(L, idx));
        } else {
          char num[64];
          snprintf(num, sizeof num, "%.17g", (double)lua_tonumber(L, idx));
          vals[i] = lua_pushstring(L, num);
        }
        break;
      case LUA_TSTRING: {
        size_t len;
        vals[i] = lua_tolstring(L, idx, &len);
        if (strlen(vals[i]) != len) luaL_error(L, "parameter %d: text contains a NUL byte", i + 1);
        break;
      }
      default:
        luaL_error(L, "parameter %d: cannot bind a %s", i + 1, luaL_typename(L, idx));
    }
  }
  struct res *b = new_res(L);
  b->r = PQexecParams(c->pg, lua_tostring(L, sqlidx), have, NULL, vals, NULL, NULL, 0);
  ExecStatusType st = b->r ? PQresultStatus(b->r) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) return b;
  const char *state = b->r ? PQresultErrorField(b->r, PG_DIAG_SQLSTATE) : NULL;
  const char *primary = b->r ? PQresultErrorField(b->r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  lua_pushliteral(L, "postgresql: ");
  if (primary)
    lua_pushstring(L, primary);
  else if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH)
    lua_pushliteral(L, "COPY is not supported");
  else
    push_trimmed(L, PQerrorMessage(c->pg));
  lua_concat(L, 2);
  fail_msg(L, state ? state : (PQstatus(c->pg) == CONNECTION_OK ? "XX000" : "08006"));
  if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
    /* leave the connection usable: drain the copy state by resetting */
    PQreset(c->pg);
  }
  return NULL;
}

static lua_Integer affected(PGresult *r) {
  if (PQresultStatus(r) == PGRES_TUPLES_OK) return PQntuples(r);
  const char *t = PQcmdTuples(r);
  return (t && *t) ? (lua_Integer)strtoll(t, NULL, 10) : 0;
}

static int l_exec(lua_State *L) {
  struct conn *c = check_open(L);
  struct res *b = run(L, c);
  if (b == NULL) return 4;
  lua_Integer k = affected(b->r);
  PQclear(b->r);
  b->r = NULL;
  lua_pushinteger(L, k);
  return 1;
}

static void push_value(lua_State *L, PGresult *r, int row, int col) {
  const char *v = PQgetvalue(r, row, col);
  int len = PQgetlength(r, row, col);
  switch (PQftype(r, col)) {
    case BOOLOID: lua_pushboolean(L, v[0] == 't'); return;
    case INT2OID:
    case INT4OID:
    case INT8OID:
    case OIDOID:
      if (lua_stringtonumber(L, v) != 0) return;
      break;
    case FLOAT4OID:
    case FLOAT8OID:
    case NUMERICOID: {
      char *end = NULL;
      double d = strtod(v, &end);
      if (end && end != v && *end == '\0') {
        lua_pushnumber(L, (lua_Number)d);
        return;
      }
      break;
    }
    default: break;
  }
  lua_pushlstring(L, v, (size_t)(len > 0 ? len : 0));
}

static int l_query(lua_State *L) {
  struct conn *c = check_open(L);
  struct res *b = run(L, c);
  if (b == NULL) return 4;
  PGresult *r = b->r;
  int ncol = PQnfields(r), nrow = PQntuples(r);
  lua_createtable(L, ncol, 0);
  for (int i = 0; i < ncol; i++) {
    lua_pushstring(L, PQfname(r, i));
    lua_rawseti(L, -2, i + 1);
  }
  int names = lua_gettop(L);
  lua_createtable(L, nrow, 0);
  for (int row = 0; row < nrow; row++) {
    lua_createtable(L, 0, ncol);
    for (int col = 0; col < ncol; col++) {
      if (PQgetisnull(r, row, col)) continue;
      lua_rawgeti(L, names, col + 1);
      push_value(L, r, row, col);
      lua_rawset(L, -3);
    }
    lua_rawseti(L, -2, row + 1);
  }
  PQclear(b->r);
  b->r = NULL;
  lua_pushvalue(L, names);
  return 2;
}

static int l_info(lua_State *L) {
  struct conn *c = check_open(L);
  lua_createtable(L, 0, 5);
  lua_pushstring(L, PQhost(c->pg));
  lua_setfield(L, -2, "host");
  lua_pushstring(L, PQport(c->pg));
  lua_setfield(L, -2, "port");
  lua_pushstring(L, PQdb(c->pg));
  lua_setfield(L, -2, "database");
  lua_pushstring(L, PQuser(c->pg));
  lua_setfield(L, -2, "user");
  lua_pushinteger(L, PQserverVersion(c->pg));
  lua_setfield(L, -2, "server_version");
  return 1;
}

/* close, __close and __gc (whose results are dropped) */
static int l_close(lua_State *L) {
  conn_close_impl(luaL_checkudata(L, 1, CONN_MT));
  lua_pushboolean(L, 1);
  return 1;
}

static int l_tostring(lua_State *L) {
  struct conn *c = luaL_checkudata(L, 1, CONN_MT);
  lua_pushfstring(L, c->pg ? "nv.pg (%p)" : "nv.pg (closed)", (void *)c);
  return 1;
}

static const luaL_Reg methods[] = {{"exec", l_exec}, {"query", l_query}, {"info", l_info},
                                   {"close", l_close}, {NULL, NULL}};
static const luaL_Reg metamethods[] = {{"__gc", l_close}, {"__close", l_close},
                                       {"__tostring", l_tostring}, {"__index", NULL},
                                       {NULL, NULL}};
static const luaL_Reg funcs[] = {{"open", l_open}, {"describe", l_describe}, {NULL, NULL}};

static const luaL_Reg res_gc_meta[] = {{"__gc", res_gc}, {NULL, NULL}};
static const luaL_Reg info_gc_meta[] = {{"__gc", info_gc}, {NULL, NULL}};

int luaopen_nv_pg(lua_State *L) {
  nv_createmeta(L, CONN_MT, metamethods, methods);
  nv_createmeta(L, RES_MT, res_gc_meta, NULL);
  nv_createmeta(L, INFO_MT, info_gc_meta, NULL);
  luaL_newlib(L, funcs);
  lua_pushinteger(L, PQlibVersion());
  lua_setfield(L, -2, "libpq_version");
  return 1;
}
