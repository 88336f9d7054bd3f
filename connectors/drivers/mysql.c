/* mysql.c - the `nv.mysql` module: a MySQL/MariaDB driver over
 * mariadb-connector-c, the same shape as nv.store.sqlite (store_sqlite.c)
 * and nv.pg (pg.c). Used by the MySQL store dialect
 * (lua/nv/store/mysql.lua) and by database sources (lua/nv/dbsource.lua).
 *
 *   conn = mysql.open(url [, {connect_timeout = s, read_only = bool}])
 *          url = mysql://user:password@host:port/database (or mariadb://);
 *          -> conn | nil, msg, kind, errno    msg names host:port/database and the
 *          cause, never the password (registered with nv.log.add_secret first)
 *   mysql.describe(url) -> {host, port, database, user} | nil, msg
 *   conn:exec(sql, ...)  -> affected rows | nil, msg, kind, errno
 *   conn:query(sql, ...) -> rows, colnames | nil, msg, kind, errno
 *          kind: "connect", "auth", "permission", "sql", "timeout",
 *          "cancelled", "busy", "limit" (mysql_kind); errno: the MySQL
 *          error number (1045, 2003, ...)
 *   conn:info()          -> {host, port, database, user, server_version}
 *   conn:close()         idempotent; also __gc and __close
 * Statements run through mysql_stmt_* with `?` parameters bound (one
 * statement per call). Values: nil, boolean, integer, number, string.
 * Results: integer types as integers (TINYINT(1) and BIT(1) as booleans),
 * FLOAT/DOUBLE/DECIMAL as numbers, NULL as nil, everything else as text.
 * Uses libmariadb and nv.log (for the secret). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <mysql.h>

#include "luax.h"
#include "nvlua.h"

#define CONN_MT "nv.MysqlConn"
#define STMT_MT "nv.MysqlStmt"
#define ER_UNSUPPORTED_PS_CODE 1295
#define FIRST_BUFFER 4096

struct conn {
  MYSQL *my; /* NULL when closed */
};

/* A statement and its result metadata, anchored in Lua so a raise while
 * building rows cannot leak them. */
struct stmt {
  MYSQL_STMT *st;
  MYSQL_RES *meta;
  MYSQL_RES *text; /* text-protocol result (statements that cannot be prepared) */
};

static void conn_close_impl(struct conn *c) {
  if (c->my) {
    mysql_close(c->my);
    c->my = NULL;
  }
}

static struct conn *check_open(lua_State *L) {
  struct conn *c = luaL_checkudata(L, 1, CONN_MT);
  if (c->my == NULL) luaL_error(L, "attempt to use a closed connection");
  return c;
}

static void stmt_free(struct stmt *s) {
  if (s->meta) {
    mysql_free_result(s->meta);
    s->meta = NULL;
  }
  if (s->text) {
    mysql_free_result(s->text);
    s->text = NULL;
  }
  if (s->st) {
    mysql_stmt_close(s->st); /* its result only repeats earlier errors */
    s->st = NULL;
  }
}

static int stmt_gc(lua_State *L) {
  stmt_free(luaL_checkudata(L, 1, STMT_MT));
  return 0;
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

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Pushes the percent-decoded s[0..n). */
static void push_decoded(lua_State *L, const char *s, size_t n) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (size_t i = 0; i < n; i++) {
    int hi, lo;
    if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
      luaL_addchar(&b, (char)(hi * 16 + lo));
      i += 2;
    } else {
      luaL_addchar(&b, s[i]);
    }
  }
  luaL_pushresult(&b);
}

/* Parses mysql://user:pw@host:port/db?params into a table
 * {host, port, database, user, password} pushed on the stack. Returns 1, or
 * 0 after pushing an error message (which never quotes the URL). */
static int parse_url(lua_State *L, int idx) {
  size_t n;
  const char *url = luaL_checklstring(L, idx, &n);
  const char *p = url, *end = url + n;
  if (n >= 8 && memcmp(url, "mysql://", 8) == 0)
    p += 8;
  else if (n >= 10 && memcmp(url, "mariadb://", 10) == 0)
    p += 10;
  else {
    lua_pushliteral(L, "mysql: expected a mysql://user:password@host:port/database URL");
    return 0;
  }
  const char *auth_end = p;
  const char *slash = memchr(p, '/', (size_t)(end - p));
  const char *qmark = memchr(p, '?', (size_t)(end - p));
  const char *hostpart_end = slash ? slash : (qmark ? qmark : end);
  const char *at = NULL;
  for (const char *q = p; q < hostpart_end; q++)
    if (*q == '@') at = q; /* the last '@': passwords may hold one */
  lua_createtable(L, 0, 5);
  if (at) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    push_decoded(L, p, (size_t)((colon ? colon : at) - p));
    lua_setfield(L, -2, "user");
    if (colon) {
      push_decoded(L, colon + 1, (size_t)(at - colon - 1));
      lua_setfield(L, -2, "password");
    }
    auth_end = at + 1;
  }
  const char *h = auth_end, *hend = hostpart_end, *port = NULL;
  if (h < hend && *h == '[') { /* [ipv6]:port */
    const char *rb = memchr(h, ']', (size_t)(hend - h));
    if (rb == NULL) {
      lua_pop(L, 1);
      lua_pushliteral(L, "mysql: bad host in URL (unclosed '[')");
      return 0;
    }
    push_decoded(L, h + 1, (size_t)(rb - h - 1));
    if (rb + 1 < hend && rb[1] == ':') port = rb + 2;
  } else {
    const char *colon = memchr(h, ':', (size_t)(hend - h));
    push_decoded(L, h, (size_t)((colon ? colon : hend) - h));
    if (colon) port = colon + 1;
  }
  if (lua_rawlen(L, -1) == 0) {
    lua_pop(L, 1);
    lua_pushliteral(L, "localhost");
  }
  lua_setfield(L, -2, "host");
  if (port) {
    lua_Integer v = 0;
    const char *q = port;
    for (; q < hend && *q >= '0' && *q <= '9' && v <= 65535; q++) v = v * 10 + (*q - '0');
    if (q != hend || q == port || v < 1 || v > 65535) {
      lua_pop(L, 1);
      lua_pushliteral(L, "mysql: bad port in URL");
      return 0;
    }
    lua_pushinteger(L, v);
  } else {
    lua_pushinteger(L, 3306);
  }
  lua_setfield(L, -2, "port");
  if (slash) {
    const char *dend = qmark && qmark > slash ? qmark : end;
    if (dend > slash + 1) {
      push_decoded(L, slash + 1, (size_t)(dend - slash - 1));
      lua_setfield(L, -2, "database");
    }
  }
  return 1;
}

static int l_describe(lua_State *L) {
  if (!parse_url(L, 1)) {
    luaL_pushfail(L);
    lua_insert(L, -2);
    return 2;
  }
  if (lua_getfield(L, -1, "password") == LUA_TSTRING) add_secret(L, -1);
  lua_pop(L, 1);
  lua_pushnil(L);
  lua_setfield(L, -2, "password");
  return 1;
}

/* The error convention's kind for a MySQL/MariaDB error number (README
 * "Errors"): client errors (2000-2999: cannot connect, lost the server)
 * "connect"; access denied "auth"; a table or column privilege refused
 * "permission"; a statement timeout "timeout", a killed query "cancelled";
 * lock waits "busy"; anything else the server rejects "sql". */
static const char *mysql_kind(lua_Integer code) {
  switch (code) {
    case 1044: case 1045: case 1698: case 1862: case 1820: /* access denied, password expired */
    case 2049: case 2059: return "auth"; /* CR_SECURE_AUTH, CR_AUTH_PLUGIN_CANNOT_LOAD */
    case 1142: case 1143: case 1227: case 1370: return "permission"; /* ER_TABLEACCESS_DENIED, ..., ER_SPECIFIC_ACCESS_DENIED */
    case 1040: case 1203: return "limit";                 /* too many connections */
    case 1205: case 1213: return "busy";                  /* lock wait timeout, deadlock */
    case 1317: return "cancelled";                        /* ER_QUERY_INTERRUPTED */
    case 1969: case 3024: return "timeout";               /* MariaDB / MySQL max statement time */
    case 1792: return "permission";                       /* write in a READ ONLY transaction */
    case 2008: return "memory";                           /* CR_OUT_OF_MEMORY */
    default: break;
  }
  if (code >= 2000 && code < 3000) return "connect";
  return "sql";
}

/* nil, message (on the stack top), kind, the error number; returns 4 */
static int fail_msg(lua_State *L, lua_Integer code) {
  luaL_pushfail(L);
  lua_insert(L, -2);
  lua_pushstring(L, mysql_kind(code));
  lua_pushinteger(L, code);
  return 4;
}

static const char *opt_str(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  const char *s = lua_tostring(L, -1);
  lua_pop(L, 1); /* still referenced by the table */
  return s;
}

/* open(url [, opts]) */
static int l_open(lua_State *L) {
  luaL_checkstring(L, 1);
  unsigned int timeout = 5;
  int read_only = 0;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    if (lua_getfield(L, 2, "connect_timeout") != LUA_TNIL) {
      luaL_argcheck(L, lua_isnumber(L, -1), 2, "connect_timeout must be a number");
      lua_Number t = lua_tonumber(L, -1);
      luaL_argcheck(L, t >= 1 && t <= 3600, 2, "connect_timeout must be 1..3600 s");
      timeout = (unsigned int)t;
    }
    lua_getfield(L, 2, "read_only");
    read_only = lua_toboolean(L, -1);
    lua_pop(L, 2);
  }
  lua_settop(L, 1);
  if (!parse_url(L, 1)) { /* a malformed URL: usage, CR_UNKNOWN_HOST */
    fail_msg(L, 2005);
    lua_pushliteral(L, "usage");
    lua_replace(L, -3);
    return 4;
  }
  int u = lua_gettop(L);
  if (lua_getfield(L, u, "password") == LUA_TSTRING) add_secret(L, -1);
  lua_pop(L, 1);
  const char *host = opt_str(L, u, "host");
  const char *user = opt_str(L, u, "user");
  const char *pw = opt_str(L, u, "password");
  const char *db = opt_str(L, u, "database");
  lua_getfield(L, u, "port");
  unsigned int port = (unsigned int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  lua_pushfstring(L, "%s:%d/%s", host, (int)port, db ? db : "");
  int where = lua_gettop(L);

  struct conn *c = lua_newuserdatauv(L, sizeof *c, 0);
  c->my = NULL;
  luaL_setmetatable(L, CONN_MT);
  c->my = mysql_init(NULL);
  if (c->my == NULL) return luaL_error(L, "mysql: out of memory");
  unsigned int no_infile = 0;
  if (mysql_optionsv(c->my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout) != 0 ||
      mysql_optionsv(c->my, MYSQL_SET_CHARSET_NAME, "utf8mb4") != 0 ||
      mysql_optionsv(c->my, MYSQL_OPT_LOCAL_INFILE, &no_infile) != 0) {
    conn_close_impl(c);
    lua_pushfstring(L, "mysql: %s: cannot set connection options", lua_tostring(L, where));
    return fail_msg(L, 2000);
  }
  if (mysql_real_connect(c->my, host, user, pw, db, port, NULL, 0) == NULL) {
    lua_pushfstring(L, "mysql: cannot connect to %s: %s", lua_tostring(L, where), mysql_error(c->my));
    lua_Integer code = (lua_Integer)mysql_errno(c->my);
    conn_close_impl(c);
    return fail_msg(L, code);
  }
  if (read_only && mysql_query(c->my, "SET SESSION TRANSACTION READ ONLY") != 0) {
    lua_pushfstring(L, "mysql: %s: cannot make the session read-only: %s", lua_tostring(L, where),
                    mysql_error(c->my));
    lua_Integer code = (lua_Integer)mysql_errno(c->my);
    conn_close_impl(c);
    return fail_msg(L, code);
  }
  return 1;
}

static int stmt_fail(lua_State *L, struct stmt *s, struct conn *c) {
  lua_Integer code;
  if (s->st) {
    lua_pushfstring(L, "mysql: %s", mysql_stmt_error(s->st));
    code = (lua_Integer)mysql_stmt_errno(s->st);
  } else {
    lua_pushfstring(L, "mysql: %s", mysql_error(c->my));
    code = (lua_Integer)mysql_errno(c->my);
  }
  stmt_free(s);
  return fail_msg(L, code);
}

/* Binds the Lua values at [3, 3 + n) as the statement's parameters; the
 * MYSQL_BIND array and value storage live in a userdata left on the stack. */
static void bind_params(lua_State *L, struct stmt *s, int n) {
  int want = (int)mysql_stmt_param_count(s->st);
  if (want != n) {
    stmt_free(s);
    luaL_error(L, "statement has %d parameter(s), %d given", want, n);
  }
  if (n == 0) return;
  struct slot {
    long long i;
    double d;
    signed char b;
  };
  size_t sz = (sizeof(MYSQL_BIND) + sizeof(struct slot)) * (size_t)n;
  MYSQL_BIND *binds = lua_newuserdatauv(L, sz, 0);
  memset(binds, 0, sz);
  struct slot *slots = (struct slot *)(void *)(binds + n);
  for (int i = 0; i < n; i++) {
    int idx = 3 + i;
    MYSQL_BIND *b = &binds[i];
    switch (lua_type(L, idx)) {
      case LUA_TNIL: b->buffer_type = MYSQL_TYPE_NULL; break;
      case LUA_TBOOLEAN:
        slots[i].b = (signed char)lua_toboolean(L, idx);
        b->buffer_type = MYSQL_TYPE_TINY;
        b->buffer = &slots[i].b;
        break;
      case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
          slots[i].i = (long long)lua_tointeger(L, idx);
          b->buffer_type = MYSQL_TYPE_LONGLONG;
          b->buffer = &slots[i].i;
        } else {
          slots[i].d = (double)lua_tonumber(L, idx);
          b->buffer_type = MYSQL_TYPE_DOUBLE;
          b->buffer = &slots[i].d;
        }
        break;
      case LUA_TSTRING: {
        size_t len;
        const char *p = lua_tolstring(L, idx, &len);
        b->buffer_type = MYSQL_TYPE_STRING;
        b->buffer = (void *)(uintptr_t)p; /* only read by the library */
        b->buffer_length = (unsigned long)len;
        break;
      }
      default:
        stmt_free(s);
        luaL_error(L, "parameter %d: cannot bind a %s", i + 1, luaL_typename(L, idx));
    }
  }
  if (mysql_stmt_bind_param(s->st, binds) != 0) {
    lua_pushfstring(L, "mysql: bind: %s", mysql_stmt_error(s->st));
    stmt_free(s);
    lua_error(L);
  }
}

enum kind { K_INT, K_UINT, K_BOOL, K_DOUBLE, K_DECIMAL, K_BIT, K_TEXT };

static enum kind kind_of(const MYSQL_FIELD *f) {
  switch (f->type) {
    case MYSQL_TYPE_TINY:
      if (f->length == 1) return K_BOOL;
      /* fall through */
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR: return (f->flags & UNSIGNED_FLAG) ? K_UINT : K_INT;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE: return K_DOUBLE;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL: return K_DECIMAL;
    case MYSQL_TYPE_BIT: return K_BIT;
    default: return K_TEXT;
  }
}

/* Pushes a value given as text (text protocol, or bound as a string). */
static void push_text_value(lua_State *L, enum kind k, const char *v, size_t n, int binary_bits) {
  switch (k) {
    case K_INT:
    case K_UINT:
    case K_BOOL: {
      char buf[64];
      if (n < sizeof buf) {
        memcpy(buf, v, n);
        buf[n] = '\0';
        if (lua_stringtonumber(L, buf) != 0) {
          if (k == K_BOOL) {
            int t = lua_tointeger(L, -1) != 0;
            lua_pop(L, 1);
            lua_pushboolean(L, t);
          }
          return;
        }
      }
      break;
    }
    case K_DOUBLE:
    case K_DECIMAL: {
      char buf[128];
      if (n < sizeof buf) {
        memcpy(buf, v, n);
        buf[n] = '\0';
        char *end = NULL;
        double d = strtod(buf, &end);
        if (end != buf && *end == '\0') {
          lua_pushnumber(L, (lua_Number)d);
          return;
        }
      }
      break;
    }
    case K_BIT:
      if (binary_bits && n <= 8) {
        unsigned long long u = 0;
        for (size_t i = 0; i < n; i++) u = (u << 8) | (unsigned char)v[i];
        if (n == 1 && u <= 1)
          lua_pushboolean(L, (int)u);
        else
          lua_pushinteger(L, (lua_Integer)u);
        return;
      }
      break;
    default: break;
  }
  lua_pushlstring(L, v, n);
}

/* Column storage for binary-protocol fetches. */
struct col {
  enum kind kind;
  unsigned long length;
  my_bool is_null;
  my_bool error;
  long long i;
  double d;
};

/* Fetches every row of the prepared statement into a rows table pushed on
 * the stack (names table at `names`). Returns 0 or the failing rc. */
static int fetch_rows(lua_State *L, struct stmt *s, int ncol, int names) {
  MYSQL_FIELD *fields = mysql_fetch_fields(s->meta);
  size_t sz = (sizeof(MYSQL_BIND) + sizeof(struct col)) * (size_t)ncol;
  MYSQL_BIND *binds = lua_newuserdatauv(L, sz, 1);
  memset(binds, 0, sz);
  int bindsidx = lua_gettop(L);
  struct col *cols = (struct col *)(void *)(binds + ncol);
  /* one scratch buffer for the text-bound columns' first read; longer
   * values are read again with mysql_stmt_fetch_column */
  char *scratch = lua_newuserdatauv(L, FIRST_BUFFER * (size_t)ncol, 0);
  lua_setiuservalue(L, bindsidx, 1);
  for (int i = 0; i < ncol; i++) {
    MYSQL_BIND *b = &binds[i];
    cols[i].kind = kind_of(&fields[i]);
    b->length = &cols[i].length;
    b->is_null = &cols[i].is_null;
    b->error = &cols[i].error;
    if (cols[i].kind == K_INT || cols[i].kind == K_UINT || cols[i].kind == K_BOOL) {
      b->buffer_type = MYSQL_TYPE_LONGLONG;
      b->buffer = &cols[i].i;
      b->is_unsigned = cols[i].kind == K_UINT;
    } else if (cols[i].kind == K_DOUBLE) {
      b->buffer_type = MYSQL_TYPE_DOUBLE;
      b->buffer = &cols[i].d;
    } else {
      b->buffer_type = MYSQL_TYPE_STRING;
      b->buffer = scratch + (size_t)i * FIRST_BUFFER;
      b->buffer_length = FIRST_BUFFER;
    }
  }
  if (mysql_stmt_bind_result(s->st, binds) != 0) return 1;
  lua_newtable(L);
  lua_Integer row = 0;
  int rc;
  while ((rc = mysql_stmt_fetch(s->st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
    lua_createtable(L, 0, ncol);
    for (int i = 0; i < ncol; i++) {
      struct col *c = &cols[i];
      if (c->is_null) continue;
      lua_rawgeti(L, names, i + 1);
      switch (c->kind) {
        case K_INT: lua_pushinteger(L, (lua_Integer)c->i); break;
        case K_UINT:
          if ((unsigned long long)c->i > (unsigned long long)LUA_MAXINTEGER)
            lua_pushnumber(L, (lua_Number)(unsigned long long)c->i);
          else
            lua_pushinteger(L, (lua_Integer)c->i);
          break;
        case K_BOOL: lua_pushboolean(L, c->i != 0); break;
        case K_DOUBLE: lua_pushnumber(L, (lua_Number)c->d); break;
        default: {
          const char *v = binds[i].buffer;
          if (c->length > FIRST_BUFFER) {
            char *big = lua_newuserdatauv(L, c->length, 0);
            MYSQL_BIND one;
            unsigned long got = 0;
            my_bool isnull = 0, err = 0;
            memset(&one, 0, sizeof one);
            one.buffer_type = MYSQL_TYPE_STRING;
            one.buffer = big;
            one.buffer_length = c->length;
            one.length = &got;
            one.is_null = &isnull;
            one.error = &err;
            if (mysql_stmt_fetch_column(s->st, &one, (unsigned int)i, 0) != 0) return 1;
            push_text_value(L, c->kind, big, got < c->length ? got : c->length, 1);
            lua_remove(L, -2);
          } else {
            push_text_value(L, c->kind, v, c->length, 1);
          }
        }
      }
      lua_rawset(L, -3);
    }
    lua_rawseti(L, -2, ++row);
  }
  if (rc != MYSQL_NO_DATA) return rc;
  lua_remove(L, bindsidx);
  return 0;
}

/* Text-protocol result into rows (statements the server cannot prepare). */
static void text_rows(lua_State *L, struct stmt *s, int names) {
  unsigned int ncol = mysql_num_fields(s->text);
  MYSQL_FIELD *fields = mysql_fetch_fields(s->text);
  lua_newtable(L);
  lua_Integer row = 0;
  MYSQL_ROW r;
  while ((r = mysql_fetch_row(s->text)) != NULL) {
    unsigned long *lens = mysql_fetch_lengths(s->text);
    lua_createtable(L, 0, (int)ncol);
    for (unsigned int i = 0; i < ncol; i++) {
      if (r[i] == NULL) continue;
      lua_rawgeti(L, names, (lua_Integer)i + 1);
      push_text_value(L, kind_of(&fields[i]), r[i], lens[i], 0);
      lua_rawset(L, -3);
    }
    lua_rawseti(L, -2, ++row);
  }
}

static void push_names(lua_State *L, MYSQL_FIELD *fields, int ncol) {
  lua_createtable(L, ncol, 0);
  for (int i = 0; i < ncol; i++) {
    lua_pushlstring(L, fields[i].name, fields[i].name_length);
    lua_rawseti(L, -2, i + 1);
  }
}

/* Runs sql; want_rows: push rows, names (2) or the affected count (1).
 * Returns the number of results, or 4 after pushing nil, msg, kind, errno. */
static int run(lua_State *L, int want_rows) {
  struct conn *c = check_open(L);
  size_t n;
  const char *sql = luaL_checklstring(L, 2, &n);
  int nparams = lua_gettop(L) - 2;
  struct stmt *s = lua_newuserdatauv(L, sizeof *s, 0);
  s->st = NULL;
  s->meta = NULL;
  s->text = NULL;
  luaL_setmetatable(L, STMT_MT);
  s->st = mysql_stmt_init(c->my);
  if (s->st == NULL) return stmt_fail(L, s, c);
  if (mysql_stmt_prepare(s->st, sql, (unsigned long)n) != 0) {
    if (mysql_stmt_errno(s->st) != ER_UNSUPPORTED_PS_CODE || nparams != 0) return stmt_fail(L, s, c);
    mysql_stmt_close(s->st);
    s->st = NULL;
    if (mysql_real_query(c->my, sql, (unsigned long)n) != 0) return stmt_fail(L, s, c);
    s->text = mysql_store_result(c->my);
    if (s->text == NULL && mysql_field_count(c->my) != 0) return stmt_fail(L, s, c);
    if (!want_rows) {
      lua_Integer k = s->text ? (lua_Integer)mysql_num_rows(s->text) : (lua_Integer)mysql_affected_rows(c->my);
      stmt_free(s);
      lua_pushinteger(L, k);
      return 1;
    }
    if (s->text == NULL) {
      lua_newtable(L);
      lua_newtable(L);
      return 2;
    }
    push_names(L, mysql_fetch_fields(s->text), (int)mysql_num_fields(s->text));
    int names = lua_gettop(L);
    text_rows(L, s, names);
    lua_pushvalue(L, names);
    stmt_free(s);
    return 2;
  }
  bind_params(L, s, nparams);
  my_bool update_max = 0;
  if (mysql_stmt_attr_set(s->st, STMT_ATTR_UPDATE_MAX_LENGTH, &update_max) != 0) return stmt_fail(L, s, c);
  if (mysql_stmt_execute(s->st) != 0) return stmt_fail(L, s, c);
  s->meta = mysql_stmt_result_metadata(s->st);
  if (s->meta == NULL) {
    if (mysql_stmt_errno(s->st) != 0) return stmt_fail(L, s, c);
    lua_Integer k = (lua_Integer)mysql_stmt_affected_rows(s->st);
    stmt_free(s);
    if (want_rows) {
      lua_newtable(L);
      lua_newtable(L);
      return 2;
    }
    lua_pushinteger(L, k);
    return 1;
  }
  if (mysql_stmt_store_result(s->st) != 0) return stmt_fail(L, s, c);
  int ncol = (int)mysql_num_fields(s->meta);
  if (!want_rows) {
    lua_Integer k = (lua_Integer)mysql_stmt_num_rows(s->st);
    stmt_free(s);
    lua_pushinteger(L, k);
    return 1;
  }
  push_names(L, mysql_fetch_fields(s->meta), ncol);
  int names = lua_gettop(L);
  if (fetch_rows(L, s, ncol, names) != 0) return stmt_fail(L, s, c);
  lua_pushvalue(L, names);
  stmt_free(s);
  return 2;
}

static int l_exec(lua_State *L) {
  return run(L, 0);
}

static int l_query(lua_State *L) {
  return run(L, 1);
}

static int l_info(lua_State *L) {
  struct conn *c = check_open(L);
  const char *host = NULL, *user = NULL, *db = NULL;
  unsigned int port = 0;
  mariadb_get_infov(c->my, MARIADB_CONNECTION_HOST, &host);
  mariadb_get_infov(c->my, MARIADB_CONNECTION_PORT, &port);
  mariadb_get_infov(c->my, MARIADB_CONNECTION_USER, &user);
  mariadb_get_infov(c->my, MARIADB_CONNECTION_SCHEMA, &db);
  lua_createtable(L, 0, 5);
  lua_pushstring(L, host);
  lua_setfield(L, -2, "host");
  lua_pushinteger(L, (lua_Integer)port);
  lua_setfield(L, -2, "port");
  lua_pushstring(L, db);
  lua_setfield(L, -2, "database");
  lua_pushstring(L, user);
  lua_setfield(L, -2, "user");
  lua_pushstring(L, mysql_get_server_info(c->my));
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
  lua_pushfstring(L, c->my ? "nv.mysql (%p)" : "nv.mysql (closed)", (void *)c);
  return 1;
}

static const luaL_Reg methods[] = {{"exec", l_exec}, {"query", l_query}, {"info", l_info},
                                   {"close", l_close}, {NULL, NULL}};
static const luaL_Reg metamethods[] = {{"__gc", l_close}, {"__close", l_close},
                                       {"__tostring", l_tostring}, {"__index", NULL},
                                       {NULL, NULL}};
static const luaL_Reg funcs[] = {{"open", l_open}, {"describe", l_describe}, {NULL, NULL}};

static const luaL_Reg stmt_gc_meta[] = {{"__gc", stmt_gc}, {NULL, NULL}};

int luaopen_nv_mysql(lua_State *L) {
  nv_createmeta(L, CONN_MT, metamethods, methods);
  nv_createmeta(L, STMT_MT, stmt_gc_meta, NULL);
  luaL_newlib(L, funcs);
  lua_pushstring(L, mysql_get_client_info());
  lua_setfield(L, -2, "client_version");
  return 1;
}
