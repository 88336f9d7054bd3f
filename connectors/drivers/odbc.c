/* odbc.c - the `nv.odbc` module: any ODBC driver through unixODBC, the same
 * shape as nv.pg (pg.c) and nv.mysql (mysql.c). Used by the ODBC store
 * dialect (lua/nv/store/odbc.lua) and by ODBC database sources
 * (lua/nv/dbsource.lua).
 *
 *   conn = odbc.open(connstr [, {connect_timeout = s, login_timeout = s,
 *                                read_only = bool, query_timeout = s}])
 *          connstr: "odbc:Driver=…;Server=…" | "Driver=…;…" | "DSN=…;…"
 *          -> conn | nil, msg, kind, sqlstate   msg names the driver (or DSN),
 *          server:port and database, never the password (Pwd=/Password=
 *          values are registered with nv.log.add_secret first); kind:
 *          "auth" (SQLSTATE 28xxx), "timeout", else "connect"; other
 *          calls' kinds come from the SQLSTATE (nv_sqlstate_kind, luax.h)
 *   odbc.describe(connstr) -> {driver, dsn, host, port, database, user}
 *   conn:exec(sql, ...)  -> affected rows | nil, msg, kind, sqlstate
 *   conn:query(sql, ...) -> rows, colnames | nil, msg, kind, sqlstate
 *   conn:query({sql, max_rows = n}, ...)   the same, at most n rows: sets
 *                        SQL_ATTR_MAX_ROWS (so the server may stop early)
 *                        and stops fetching after n rows whatever the
 *                        driver did with it (memory stays bounded; a driver
 *                        that does not implement the attribute, HYC00, is
 *                        not an error)
 *   conn:tables([catalog, schema, table, types])        SQLTables
 *   conn:columns([catalog, schema, table, column])      SQLColumns
 *   conn:primary_keys([catalog, schema, table])         SQLPrimaryKeys
 *   conn:foreign_keys([pkcat, pkschema, pktable, fkcat, fkschema, fktable])
 *                        -> rows, colnames | nil, msg, kind, sqlstate; column names
 *                           as the ODBC spec names them, lower-cased
 *                           (table_schem, table_name, column_name, …); nil
 *                           arguments are NULL (match everything)
 *   conn:begin() / conn:commit() / conn:rollback()
 *                        -> true | nil, msg, kind, sqlstate   (autocommit off, then
 *                           SQLEndTran and autocommit back on)
 *   conn:info()          -> {dbms_name, dbms_version, driver_name,
 *                           driver_version, database, user, server_version,
 *                           identifier_quote, string_functions}
 *                        string_functions: the ODBC string scalar functions
 *                        the driver says it translates from {fn …} escapes
 *                        (SQL_STRING_FUNCTIONS), as a set of names
 *                        {CHAR_LENGTH = true, LENGTH = true, …}; nil when
 *                        the driver does not answer
 *   conn:close()         idempotent; also __gc and __close
 *
 * Parameters are `?` (ODBC's own marker; counted outside quotes and
 * comments), bound with SQLBindParameter before SQLExecDirect:
 * nil, boolean (SQL_BIT), integer (SQL_BIGINT), number (SQL_DOUBLE), string
 * (UTF-16 SQL_WVARCHAR; bytes that are not UTF-8 as SQL_VARBINARY). Text
 * crosses the API as UTF-16 (the W functions), so UTF-8 survives every
 * driver whatever the locale. Results are typed from SQLDescribeCol:
 * TINYINT..BIGINT as integers, REAL/FLOAT/DOUBLE as numbers, DECIMAL/NUMERIC
 * as numbers, BIT and columns whose type name is bool/boolean as booleans,
 * binary as raw bytes, NULL as nil, everything else as text; values of any
 * length are read in chunks with SQLGetData.
 * read_only sets SQL_ATTR_ACCESS_MODE to SQL_MODE_READ_ONLY and, because
 * most drivers accept that attribute without enforcing it, also makes the
 * session read-only in SQL for PostgreSQL, MySQL/MariaDB and SQLite.
 * Uses unixODBC and nv.log (for secrets). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <sql.h>
#include <sqlext.h>
#include <sqlucode.h>

#include "luax.h"
#include "nvlua.h"

#define CONN_MT "nv.OdbcConn"
#define STMT_MT "nv.OdbcStmt"
#define CHUNK 8192 /* bytes per SQLGetData call; even, for UTF-16 */
#define MAX_PARAMS 32767
#define NAME_CAP 512 /* UTF-16 units for column names and info strings */

/* A connection. env/dbc are NULL when closed; `connected` tells whether
 * SQLDisconnect is owed. */
struct conn {
  SQLHENV env;
  SQLHDBC dbc;
  int connected;
  int in_tx;
  lua_Integer query_timeout;
};

/* A statement, anchored in Lua (user value 1 = its connection) so a raise
 * while building rows cannot leak it. Trap: SQLDisconnect frees a
 * connection's statements itself, so a statement whose connection is closed
 * must not be freed again. */
struct stmt {
  SQLHSTMT h;
  struct conn *c;
  unsigned char buf[CHUNK];
};

/* One bound parameter's storage (lives in a userdata until SQLExecute). */
struct param {
  SQLLEN ind;
  union {
    SQLBIGINT i;
    SQLDOUBLE d;
    unsigned char bit;
  } v;
};

enum kind { K_INT, K_DOUBLE, K_DECIMAL, K_BIT, K_BOOLTEXT, K_TEXT, K_BINARY };

/* ---------------------------------------------------------------- UTF */

/* Decodes one UTF-8 sequence at s[0..n); returns its length and the code
 * point in *cp, or 0 when malformed. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
  unsigned c = s[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  uint32_t v, min;
  if ((c & 0xE0) == 0xC0) {
    len = 2, v = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, v = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    v = (v << 6) | (s[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

/* Converts UTF-8 s[0..n) into a NUL-terminated UTF-16 string held by a new
 * userdata pushed on the stack. Returns it (and its length in units in
 * *units), or NULL when s is not UTF-8 (the userdata is pushed anyway). */
static SQLWCHAR *push_wide(lua_State *L, const char *s, size_t n, size_t *units) {
  if (n > (SIZE_MAX / sizeof(SQLWCHAR)) - 1) luaL_error(L, "text too long");
  SQLWCHAR *w = lua_newuserdatauv(L, (n + 1) * sizeof(SQLWCHAR), 0);
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0, k = 0;
  while (i < n) {
    uint32_t cp;
    size_t len = utf8_decode(p + i, n - i, &cp);
    if (len == 0) return NULL;
    i += len;
    if (cp >= 0x10000) { /* a 4-byte sequence becomes 2 units: fits */
      cp -= 0x10000;
      w[k++] = (SQLWCHAR)(0xD800 + (cp >> 10));
      w[k++] = (SQLWCHAR)(0xDC00 + (cp & 0x3FF));
    } else {
      w[k++] = (SQLWCHAR)cp;
    }
  }
  w[k] = 0;
  if (units) *units = k;
  return w;
}

static void add_cp(luaL_Buffer *b, uint32_t cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) {
    u[0] = (char)cp, n = 1;
  } else if (cp < 0x800) {
    u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
  } else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
  } else {
    u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
  }
  luaL_addlstring(b, u, n);
}

/* Appends UTF-16 w[0..n) as UTF-8. *hi carries a high surrogate split across
 * calls (0 when none); lone surrogates become U+FFFD. */
static void add_utf16(luaL_Buffer *b, const SQLWCHAR *w, size_t n, uint32_t *hi) {
  for (size_t i = 0; i < n; i++) {
    uint32_t u = w[i];
    if (*hi) {
      if (u >= 0xDC00 && u <= 0xDFFF) {
        add_cp(b, 0x10000 + ((*hi - 0xD800) << 10) + (u - 0xDC00));
        *hi = 0;
        continue;
      }
      add_cp(b, 0xFFFD);
      *hi = 0;
    }
    if (u >= 0xD800 && u <= 0xDBFF)
      *hi = u;
    else if (u >= 0xDC00 && u <= 0xDFFF)
      add_cp(b, 0xFFFD);
    else
      add_cp(b, u);
  }
}

static void push_utf16(lua_State *L, const SQLWCHAR *w, size_t n) {
  luaL_Buffer b;
  uint32_t hi = 0;
  luaL_buffinit(L, &b);
  add_utf16(&b, w, n, &hi);
  if (hi) add_cp(&b, 0xFFFD);
  luaL_pushresult(&b);
}

static size_t wlen(const SQLWCHAR *w, size_t cap) {
  size_t n = 0;
  while (n < cap && w[n]) n++;
  return n;
}

/* ------------------------------------------------------- diagnostics */

/* Pushes "odbc: <first diagnostic message>" (vendor prefixes such as
 * "[unixODBC][Driver Manager]" dropped, line breaks folded) and copies its
 * SQLSTATE into state[6] ("HY000" when the driver gave none). */
static void push_diag(lua_State *L, SQLSMALLINT type, SQLHANDLE h, const char *what, char state[6],
                      const char *prefix) {
  SQLWCHAR wstate[6] = {0}, wmsg[1024];
  SQLINTEGER native = 0;
  SQLSMALLINT len = 0;
  memcpy(state, "HY000", 6);
  SQLRETURN rc = h ? SQLGetDiagRecW(type, h, 1, wstate, &native, wmsg, 1024, &len) : SQL_ERROR;
  if (!SQL_SUCCEEDED(rc)) {
    lua_pushfstring(L, "%s%s failed", prefix, what);
    return;
  }
  for (int i = 0; i < 5; i++) state[i] = (char)(wstate[i] < 128 && wstate[i] ? wstate[i] : '0');
  size_t n = wlen(wmsg, len < 1024 ? (size_t)(len > 0 ? len : 0) : 1023);
  size_t i = 0;
  while (i < n && wmsg[i] == '[') { /* vendor tags */
    size_t j = i;
    while (j < n && wmsg[j] != ']') j++;
    if (j >= n) break;
    i = j + 1;
  }
  while (n > i && (wmsg[n - 1] == '\n' || wmsg[n - 1] == '\r' || wmsg[n - 1] == ' ')) n--;
  luaL_Buffer b;
  uint32_t hi = 0;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, prefix);
  for (; i < n; i++) {
    if (wmsg[i] == '\n' || wmsg[i] == '\r') {
      while (i + 1 < n && (wmsg[i + 1] == '\n' || wmsg[i + 1] == '\r' || wmsg[i + 1] == ' ' || wmsg[i + 1] == '\t'))
        i++;
      luaL_addchar(&b, ' ');
    } else {
      add_utf16(&b, wmsg + i, 1, &hi);
    }
  }
  luaL_pushresult(&b);
}

/* Pushes nil, msg, kind (nv_sqlstate_kind), sqlstate for a failed call on
 * handle h; returns 4. */
static int diag_fail(lua_State *L, SQLSMALLINT type, SQLHANDLE h, const char *what) {
  char state[6];
  push_diag(L, type, h, what, state, "odbc: ");
  return nv_fail_top_state(L, nv_sqlstate_kind(state, lua_tostring(L, -1)), state);
}

/* ----------------------------------------------------------- handles */

static int conn_close_impl(struct conn *c) {
  int ok = 1;
  if (c->dbc) {
    if (c->connected) {
      if (c->in_tx && !SQL_SUCCEEDED(SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_ROLLBACK))) ok = 0;
      if (!SQL_SUCCEEDED(SQLDisconnect(c->dbc))) ok = 0;
      c->connected = 0;
    }
    if (!SQL_SUCCEEDED(SQLFreeHandle(SQL_HANDLE_DBC, c->dbc))) ok = 0;
    c->dbc = NULL;
  }
  if (c->env) {
    if (!SQL_SUCCEEDED(SQLFreeHandle(SQL_HANDLE_ENV, c->env))) ok = 0;
    c->env = NULL;
  }
  c->in_tx = 0;
  return ok;
}

static struct conn *check_open(lua_State *L) {
  struct conn *c = luaL_checkudata(L, 1, CONN_MT);
  if (c->dbc == NULL || !c->connected) luaL_error(L, "attempt to use a closed connection");
  return c;
}

static void stmt_free(struct stmt *s) {
  if (s->h) {
    /* a closed connection already freed it (see struct stmt) */
    if (s->c && s->c->dbc && s->c->connected) (void)SQLFreeHandle(SQL_HANDLE_STMT, s->h);
    s->h = NULL;
  }
}

static int stmt_gc(lua_State *L) {
  stmt_free(luaL_checkudata(L, 1, STMT_MT));
  return 0;
}

/* Pushes a new statement on conn (the value at index 1). Returns it, or
 * NULL after pushing nil, msg, kind, sqlstate. */
static struct stmt *new_stmt(lua_State *L, struct conn *c) {
  struct stmt *s = lua_newuserdatauv(L, sizeof *s, 1);
  s->h = NULL;
  s->c = c;
  luaL_setmetatable(L, STMT_MT);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);
  SQLHSTMT h = NULL;
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &h))) {
    diag_fail(L, SQL_HANDLE_DBC, c->dbc, "SQLAllocHandle");
    return NULL;
  }
  s->h = h;
  if (c->query_timeout > 0 &&
      !SQL_SUCCEEDED(SQLSetStmtAttr(h, SQL_ATTR_QUERY_TIMEOUT, (SQLPOINTER)(uintptr_t)c->query_timeout, 0))) {
    diag_fail(L, SQL_HANDLE_STMT, h, "SQLSetStmtAttr(SQL_ATTR_QUERY_TIMEOUT)");
    stmt_free(s);
    return NULL;
  }
  return s;
}

/* ------------------------------------------------ connection strings */

/* Calls require("nv.log").<fn>(value at idx), leaving `nret` results. */
static void call_log(lua_State *L, const char *fn, int idx, int nret) {
  idx = lua_absindex(L, idx);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "nv.log");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, fn);
  lua_remove(L, -2);
  lua_pushvalue(L, idx);
  lua_call(L, 1, nret);
}

/* The connection string at idx without an "odbc:" prefix. */
static const char *connstr(lua_State *L, int idx, size_t *n) {
  const char *s = luaL_checklstring(L, idx, n);
  if (*n >= 5 && memcmp(s, "odbc:", 5) == 0) {
    s += 5;
    *n -= 5;
  }
  return s;
}

static int ieq(const char *a, size_t n, const char *lit) {
  size_t m = strlen(lit);
  if (n != m) return 0;
  for (size_t i = 0; i < n; i++) {
    char x = a[i];
    if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
    if (x != lit[i]) return 0;
  }
  return 1;
}

/* Parses key=value;key={va;lue} pairs into {driver, dsn, host, port,
 * database, user} pushed on the stack, registering Pwd/Password values as
 * secrets. Keys are matched case-insensitively; unknown keys are skipped. */
static void describe(lua_State *L, int idx) {
  size_t n;
  const char *s = connstr(L, idx, &n);
  const char *end = s + n;
  lua_createtable(L, 0, 6);
  int t = lua_gettop(L);
  while (s < end) {
    while (s < end && (*s == ' ' || *s == ';')) s++;
    const char *k = s;
    while (s < end && *s != '=' && *s != ';') s++;
    size_t kn = (size_t)(s - k);
    while (kn > 0 && k[kn - 1] == ' ') kn--;
    if (s >= end || *s != '=') continue;
    s++;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    if (s < end && *s == '{') { /* braced: `}}` is a literal } */
      s++;
      while (s < end) {
        if (*s == '}') {
          if (s + 1 < end && s[1] == '}') {
            luaL_addchar(&b, '}');
            s += 2;
            continue;
          }
          s++;
          break;
        }
        luaL_addchar(&b, *s++);
      }
      while (s < end && *s != ';') s++;
    } else {
      const char *v = s;
      while (s < end && *s != ';') s++;
      size_t vn = (size_t)(s - v);
      while (vn > 0 && v[vn - 1] == ' ') vn--;
      luaL_addlstring(&b, v, vn);
    }
    luaL_pushresult(&b);
    const char *field = NULL;
    if (ieq(k, kn, "pwd") || ieq(k, kn, "password")) {
      if (lua_rawlen(L, -1) > 0) call_log(L, "add_secret", -1, 0);
    } else if (ieq(k, kn, "driver")) {
      field = "driver";
    } else if (ieq(k, kn, "dsn")) {
      field = "dsn";
    } else if (ieq(k, kn, "server") || ieq(k, kn, "servername") || ieq(k, kn, "host") || ieq(k, kn, "hostname")) {
      field = "host";
    } else if (ieq(k, kn, "port")) {
      field = "port";
    } else if (ieq(k, kn, "database") || ieq(k, kn, "db") || ieq(k, kn, "dbname")) {
      field = "database";
    } else if (ieq(k, kn, "uid") || ieq(k, kn, "user") || ieq(k, kn, "username")) {
      field = "user";
    }
    if (field) {
      lua_setfield(L, t, field);
    } else {
      lua_pop(L, 1);
    }
  }
}

static int l_describe(lua_State *L) {
  describe(L, 1);
  return 1;
}

/* Pushes "[driver] host:port/database" (or "[DSN=x] …") for messages. */
static void push_where(lua_State *L, int desc) {
  luaL_Buffer b;
  int top = lua_gettop(L);
  lua_getfield(L, desc, "driver");
  lua_getfield(L, desc, "dsn");
  lua_getfield(L, desc, "host");
  lua_getfield(L, desc, "port");
  lua_getfield(L, desc, "database");
  luaL_buffinit(L, &b);
  if (lua_isstring(L, top + 1)) {
    luaL_addchar(&b, '[');
    luaL_addstring(&b, lua_tostring(L, top + 1));
    luaL_addchar(&b, ']');
  } else if (lua_isstring(L, top + 2)) {
    luaL_addstring(&b, "[DSN=");
    luaL_addstring(&b, lua_tostring(L, top + 2));
    luaL_addchar(&b, ']');
  } else {
    luaL_addstring(&b, "[no driver]");
  }
  if (lua_isstring(L, top + 3)) {
    luaL_addchar(&b, ' ');
    luaL_addstring(&b, lua_tostring(L, top + 3));
    if (lua_isstring(L, top + 4)) {
      luaL_addchar(&b, ':');
      luaL_addstring(&b, lua_tostring(L, top + 4));
    }
    luaL_addchar(&b, '/');
    if (lua_isstring(L, top + 5)) luaL_addstring(&b, lua_tostring(L, top + 5));
  } else if (lua_isstring(L, top + 5)) {
    luaL_addchar(&b, ' ');
    luaL_addstring(&b, lua_tostring(L, top + 5));
  }
  luaL_pushresult(&b);
  lua_replace(L, top + 1);
  lua_settop(L, top + 1);
}

/* SQLGetInfoW string -> pushed UTF-8 (nil when the driver fails). */
static void push_info(lua_State *L, SQLHDBC dbc, SQLUSMALLINT what) {
  SQLWCHAR w[NAME_CAP];
  SQLSMALLINT len = 0;
  if (!SQL_SUCCEEDED(SQLGetInfoW(dbc, what, w, (SQLSMALLINT)sizeof w, &len))) {
    lua_pushnil(L);
    return;
  }
  size_t units = len > 0 ? (size_t)len / sizeof(SQLWCHAR) : 0;
  if (units >= NAME_CAP) units = NAME_CAP - 1;
  push_utf16(L, w, wlen(w, units));
}

/* Runs one statement directly (no parameters, no rows); returns 1, or 0
 * after pushing nil, msg, kind, sqlstate. Value at index 1 must be the conn. */
static int exec_direct(lua_State *L, struct conn *c, const char *sql) {
  struct stmt *s = new_stmt(L, c);
  if (s == NULL) return 0;
  SQLWCHAR *w = push_wide(L, sql, strlen(sql), NULL);
  SQLRETURN rc = SQLExecDirectW(s->h, w, SQL_NTS);
  lua_pop(L, 1);
  if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA) {
    diag_fail(L, SQL_HANDLE_STMT, s->h, "SQLExecDirect");
    stmt_free(s);
    return 0;
  }
  stmt_free(s);
  lua_pop(L, 1);
  return 1;
}

/* The engine-level read-only statement for a DBMS name, or NULL. */
static const char *read_only_sql(const char *dbms) {
  if (dbms == NULL) return NULL;
  if (strstr(dbms, "PostgreSQL")) return "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY";
  if (strstr(dbms, "MySQL") || strstr(dbms, "MariaDB")) return "SET SESSION TRANSACTION READ ONLY";
  if (strstr(dbms, "SQLite")) return "PRAGMA query_only = 1";
  return NULL;
}

static lua_Integer opt_seconds(lua_State *L, int t, const char *key, lua_Integer dflt) {
  lua_Integer v = dflt;
  if (lua_getfield(L, t, key) != LUA_TNIL) {
    luaL_argcheck(L, lua_isnumber(L, -1), 2, lua_pushfstring(L, "%s must be a number", key));
    v = (lua_Integer)lua_tonumber(L, -1);
    luaL_argcheck(L, v >= 1 && v <= 3600, 2, lua_pushfstring(L, "%s must be 1..3600 s", key));
  }
  lua_pop(L, 1);
  return v;
}

/* open(connstr [, opts]) */
static int l_open(lua_State *L) {
  size_t n;
  const char *cs = connstr(L, 1, &n);
  lua_Integer timeout = 5, login = 0, qtimeout = 0;
  int read_only = 0;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    timeout = opt_seconds(L, 2, "connect_timeout", 5);
    login = opt_seconds(L, 2, "login_timeout", 0);
    qtimeout = opt_seconds(L, 2, "query_timeout", 0);
    lua_getfield(L, 2, "read_only");
    read_only = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  if (login == 0) login = timeout;
  lua_settop(L, 2);
  describe(L, 1); /* registers the password first */
  push_where(L, 3);
  int where = 4;
  SQLWCHAR *wcs = push_wide(L, cs, n, NULL);
  if (wcs == NULL) return luaL_argerror(L, 1, "connection string is not UTF-8");
  int wcs_idx = lua_gettop(L);

  struct conn *c = nv_newudata(L, sizeof *c, CONN_MT);
  lua_replace(L, 1); /* the conn at index 1, as the methods expect */
  c->query_timeout = qtimeout;
  SQLHENV env = NULL;
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env))) {
    lua_pushliteral(L, "odbc: cannot allocate an environment handle");
    return nv_fail_top_state(L, "memory", "HY001");
  }
  c->env = env;
  if (!SQL_SUCCEEDED(SQLSetEnvAttr(env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0))) {
    diag_fail(L, SQL_HANDLE_ENV, env, "SQLSetEnvAttr(SQL_ATTR_ODBC_VERSION)");
    conn_close_impl(c);
    return 4;
  }
  SQLHDBC dbc = NULL;
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, env, &dbc))) {
    diag_fail(L, SQL_HANDLE_ENV, env, "SQLAllocHandle(SQL_HANDLE_DBC)");
    conn_close_impl(c);
    return 4;
  }
  c->dbc = dbc;
  if (!SQL_SUCCEEDED(SQLSetConnectAttr(dbc, SQL_ATTR_LOGIN_TIMEOUT, (SQLPOINTER)(uintptr_t)login, 0))) {
    diag_fail(L, SQL_HANDLE_DBC, dbc, "SQLSetConnectAttr(SQL_ATTR_LOGIN_TIMEOUT)");
    conn_close_impl(c);
    return 4;
  }
  SQLRETURN rc = SQLDriverConnectW(dbc, NULL, wcs, SQL_NTS, NULL, 0, NULL, SQL_DRIVER_NOPROMPT);
  if (!SQL_SUCCEEDED(rc)) {
    char state[6];
    const char *prefix = lua_pushfstring(L, "odbc: cannot connect to %s: ", lua_tostring(L, where));
    push_diag(L, SQL_HANDLE_DBC, dbc, "SQLDriverConnect", state, prefix);
    lua_remove(L, -2);
    call_log(L, "mask", -1, 1);
    lua_remove(L, -2);
    conn_close_impl(c);
    /* a connection that fails for another reason than the user's is a connect failure */
    const char *kind = nv_sqlstate_kind(state, lua_tostring(L, -1));
    if (strcmp(kind, "auth") != 0 && strcmp(kind, "timeout") != 0 && strcmp(kind, "memory") != 0) kind = "connect";
    return nv_fail_top_state(L, kind, state);
  }
  c->connected = 1;
  lua_pushnil(L);
  lua_replace(L, wcs_idx); /* the wide copy may go */
  if (read_only) {
    int attr_ok = SQL_SUCCEEDED(SQLSetConnectAttr(dbc, SQL_ATTR_ACCESS_MODE, (SQLPOINTER)SQL_MODE_READ_ONLY, 0));
    push_info(L, dbc, SQL_DBMS_NAME);
    const char *ro = read_only_sql(lua_tostring(L, -1));
    lua_pop(L, 1);
    if (ro != NULL) {
      if (!exec_direct(L, c, ro)) {
        lua_pushfstring(L, "odbc: %s: cannot make the session read-only: %s", lua_tostring(L, where),
                        lua_tostring(L, -3) + 6);
        lua_replace(L, -4);
        conn_close_impl(c);
        return 4;
      }
    } else if (!attr_ok) {
      diag_fail(L, SQL_HANDLE_DBC, dbc, "SQLSetConnectAttr(SQL_ATTR_ACCESS_MODE)");
      lua_pushfstring(L, "odbc: %s: cannot make the session read-only: %s", lua_tostring(L, where),
                      lua_tostring(L, -3) + 6);
      lua_replace(L, -4);
      conn_close_impl(c);
      return 4;
    }
  }
  lua_settop(L, 1);
  return 1;
}

/* ------------------------------------------------------------ params */

/* Binds the Lua values at [first, first + count) to s. Storage userdatas
 * are left on the stack (they must outlive SQLExecute). Returns 1, or 0
 * after pushing nil, msg, kind, sqlstate. Raises for values that cannot bind. */
static int bind_params(lua_State *L, struct stmt *s, int first, int count) {
  if (count == 0) return 1;
  luaL_checkstack(L, count + 8, "too many parameters");
  struct param *ps = lua_newuserdatauv(L, sizeof *ps * (size_t)count, 0);
  for (int i = 0; i < count; i++) {
    int idx = first + i;
    struct param *p = &ps[i];
    SQLUSMALLINT no = (SQLUSMALLINT)(i + 1);
    SQLRETURN rc;
    p->ind = 0;
    switch (lua_type(L, idx)) {
      case LUA_TNIL:
        p->ind = SQL_NULL_DATA;
        rc = SQLBindParameter(s->h, no, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR, 1, 0, NULL, 0, &p->ind);
        break;
      case LUA_TBOOLEAN:
        p->v.bit = (unsigned char)lua_toboolean(L, idx);
        rc = SQLBindParameter(s->h, no, SQL_PARAM_INPUT, SQL_C_BIT, SQL_BIT, 1, 0, &p->v.bit, 0, &p->ind);
        break;
      case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
          p->v.i = (SQLBIGINT)lua_tointeger(L, idx);
          rc = SQLBindParameter(s->h, no, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 19, 0, &p->v.i, 0, &p->ind);
        } else {
          p->v.d = (SQLDOUBLE)lua_tonumber(L, idx);
          rc = SQLBindParameter(s->h, no, SQL_PARAM_INPUT, SQL_C_DOUBLE, SQL_DOUBLE, 15, 0, &p->v.d, 0, &p->ind);
        }
        break;
      case LUA_TSTRING: {
        size_t len, units = 0;
        const char *str = lua_tolstring(L, idx, &len);
        SQLWCHAR *w = push_wide(L, str, len, &units);
        if (w != NULL) {
          if (units > (size_t)(PTRDIFF_MAX / 4)) luaL_error(L, "parameter %d: text too long", i + 1);
          p->ind = (SQLLEN)(units * sizeof(SQLWCHAR));
          rc = SQLBindParameter(s->h, no, SQL_PARAM_INPUT, SQL_C_WCHAR, SQL_WVARCHAR,
                                units > 0 ? (SQLULEN)units : 1, 0, w, p->ind, &p->ind);
        } else { /* not UTF-8: raw bytes (the string stays at idx) */
          lua_pop(L, 1);
          p->ind = (SQLLEN)len;
          rc = SQLBindParameter(s->h, no, SQL_PARAM_INPUT, SQL_C_BINARY, SQL_VARBINARY,
                                len > 0 ? (SQLULEN)len : 1, 0, (SQLPOINTER)str, p->ind, &p->ind);
        }
        break;
      }
      default:
        return luaL_error(L, "parameter %d: cannot bind a %s", i + 1, luaL_typename(L, idx));
    }
    if (!SQL_SUCCEEDED(rc)) {
      diag_fail(L, SQL_HANDLE_STMT, s->h, "SQLBindParameter");
      return 0;
    }
  }
  return 1;
}

/* Counts the `?` markers in s[0..n) outside quoted text ('…', E'…' with
 * backslash escapes, "…", `…`) and comments (-- to end of line, and C-style
 * block comments). */
static lua_Integer count_markers(const char *s, size_t n) {
  lua_Integer count = 0;
  size_t i = 0;
  while (i < n) {
    char ch = s[i];
    if (ch == '\'' || ch == '"' || ch == '`') {
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
      i = j < n ? j + 1 : n;
    } else if (ch == '-' && i + 1 < n && s[i + 1] == '-') {
      while (i < n && s[i] != '\n') i++;
    } else if (ch == '/' && i + 1 < n && s[i + 1] == '*') {
      size_t j = i + 2;
      while (j + 1 < n && !(s[j] == '*' && s[j + 1] == '/')) j++;
      i = j + 2 <= n ? j + 2 : n;
    } else {
      if (ch == '?') count++;
      i++;
    }
  }
  return count;
}

/* Sets SQL_ATTR_MAX_ROWS on s. A driver without the attribute (HYC00) is
 * fine: fetch_all stops after max_rows rows anyway. Returns 1, or 0 after
 * pushing nil, msg, kind, sqlstate. */
static int set_max_rows(lua_State *L, struct stmt *s, SQLULEN max_rows) {
  SQLRETURN rc = SQLSetStmtAttr(s->h, SQL_ATTR_MAX_ROWS, (SQLPOINTER)(uintptr_t)max_rows, 0);
  if (SQL_SUCCEEDED(rc)) return 1;
  SQLWCHAR wstate[6] = {0}, wmsg[8];
  SQLINTEGER native = 0;
  SQLSMALLINT len = 0;
  if (SQL_SUCCEEDED(SQLGetDiagRecW(SQL_HANDLE_STMT, s->h, 1, wstate, &native, wmsg, 8, &len)) &&
      wstate[0] == 'H' && wstate[1] == 'Y' && wstate[2] == 'C' && wstate[3] == '0' && wstate[4] == '0')
    return 1;
  diag_fail(L, SQL_HANDLE_STMT, s->h, "SQLSetStmtAttr(SQL_ATTR_MAX_ROWS)");
  return 0;
}

/* Binds the parameters at [3, top] and runs the sql at 2 with
 * SQLExecDirect (SQL_ATTR_MAX_ROWS set first when max_rows > 0). Trap: not
 * SQLPrepare + SQLExecute, because psqlodbc leaks
 * a result each time a prepared statement fails; the marker count for the
 * misuse check therefore comes from count_markers, and a statement the
 * lexer miscounts gets the driver's own error instead of the raise (the
 * SQLite driver, for one, also counts `?` inside comments). Leaves
 * the statement at index `top + 1` and returns it, or returns NULL after
 * pushing nil, msg, kind, sqlstate. Raises on misuse. */
static struct stmt *run(lua_State *L, struct conn *c, SQLULEN max_rows) {
  size_t n;
  const char *sql = luaL_checklstring(L, 2, &n);
  int have = lua_gettop(L) - 2;
  if (have > MAX_PARAMS) luaL_error(L, "too many parameters (at most %d)", MAX_PARAMS);
  SQLWCHAR *w = push_wide(L, sql, n, NULL);
  if (w == NULL) luaL_argerror(L, 2, "SQL text is not UTF-8");
  int widx = lua_gettop(L);
  lua_Integer want = count_markers(sql, n);
  if (want != have) luaL_error(L, "statement has %d parameter(s), %d given", (int)want, have);
  struct stmt *s = new_stmt(L, c);
  if (s == NULL) return NULL;
  int sidx = lua_gettop(L);
  if (max_rows > 0 && !set_max_rows(L, s, max_rows)) {
    stmt_free(s);
    return NULL;
  }
  if (!bind_params(L, s, 3, have)) {
    stmt_free(s);
    return NULL;
  }
  SQLRETURN rc = SQLExecDirectW(s->h, w, (SQLINTEGER)SQL_NTS);
  if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA) {
    diag_fail(L, SQL_HANDLE_STMT, s->h, "SQLExecDirect");
    stmt_free(s);
    return NULL;
  }
  lua_settop(L, sidx);
  lua_remove(L, widx);
  return s;
}

static int l_exec(lua_State *L) {
  struct conn *c = check_open(L);
  struct stmt *s = run(L, c, 0);
  if (s == NULL) return 4;
  SQLLEN count = 0;
  if (!SQL_SUCCEEDED(SQLRowCount(s->h, &count))) {
    diag_fail(L, SQL_HANDLE_STMT, s->h, "SQLRowCount");
    stmt_free(s);
    return 4;
  }
  stmt_free(s);
  lua_pushinteger(L, count > 0 ? (lua_Integer)count : 0);
  return 1;
}

/* ------------------------------------------------------------- rows */

/* Reads column col of the current row in chunks of CHUNK bytes as ctype
 * (SQL_C_WCHAR -> UTF-8, SQL_C_BINARY/SQL_C_CHAR -> bytes). Returns 1 with
 * the value pushed, 0 for NULL (nothing pushed), -1 after a failed
 * SQLGetData (nothing pushed; the diagnostic is on the statement). */
static int get_chunked(lua_State *L, struct stmt *s, SQLUSMALLINT col, SQLSMALLINT ctype) {
  size_t term = ctype == SQL_C_WCHAR ? sizeof(SQLWCHAR) : (ctype == SQL_C_CHAR ? 1 : 0);
  size_t avail = CHUNK - term;
  int result = 1;
  uint32_t hi = 0;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int first = 1;; first = 0) {
    SQLLEN ind = 0;
    SQLRETURN rc = SQLGetData(s->h, col, ctype, s->buf, (SQLLEN)CHUNK, &ind);
    if (rc == SQL_NO_DATA) {
      if (first) result = 0;
      break;
    }
    if (!SQL_SUCCEEDED(rc)) {
      result = -1;
      break;
    }
    if (ind == SQL_NULL_DATA) {
      result = 0;
      break;
    }
    int truncated = ind == SQL_NO_TOTAL || ind < 0 || (size_t)ind > avail;
    size_t got = truncated ? avail : (size_t)ind;
    if (ctype == SQL_C_WCHAR)
      add_utf16(&b, (const SQLWCHAR *)(const void *)s->buf, got / sizeof(SQLWCHAR), &hi);
    else
      luaL_addlstring(&b, (const char *)s->buf, got);
    if (!truncated) break;
  }
  if (hi) add_cp(&b, 0xFFFD);
  luaL_pushresult(&b);
  if (result != 1) lua_pop(L, 1);
  return result;
}

static int is_bool_name(const char *t) {
  return t && (strcmp(t, "bool") == 0 || strcmp(t, "boolean") == 0 || strcmp(t, "BOOL") == 0 ||
               strcmp(t, "BOOLEAN") == 0);
}

static enum kind kind_of(SQLSMALLINT type, const char *type_name) {
  switch (type) {
    case SQL_TINYINT:
    case SQL_SMALLINT:
    case SQL_INTEGER:
    case SQL_BIGINT: return K_INT;
    case SQL_REAL:
    case SQL_FLOAT:
    case SQL_DOUBLE: return K_DOUBLE;
    case SQL_DECIMAL:
    case SQL_NUMERIC: return K_DECIMAL;
    case SQL_BIT: return K_BIT;
    case SQL_BINARY:
    case SQL_VARBINARY:
    case SQL_LONGVARBINARY: return K_BINARY;
    default: return is_bool_name(type_name) ? K_BOOLTEXT : K_TEXT;
  }
}

/* Pushes the value of column col (or nothing for NULL). Returns 1 pushed,
 * 0 NULL, -1 failure (diagnostic on the statement). */
static int get_value(lua_State *L, struct stmt *s, SQLUSMALLINT col, enum kind k) {
  SQLLEN ind = 0;
  SQLRETURN rc;
  switch (k) {
    case K_DOUBLE: {
      SQLDOUBLE d = 0;
      rc = SQLGetData(s->h, col, SQL_C_DOUBLE, &d, 0, &ind);
      if (!SQL_SUCCEEDED(rc)) return -1;
      if (ind == SQL_NULL_DATA) return 0;
      lua_pushnumber(L, (lua_Number)d);
      return 1;
    }
    case K_BIT: {
      unsigned char bit = 0;
      rc = SQLGetData(s->h, col, SQL_C_BIT, &bit, 0, &ind);
      if (!SQL_SUCCEEDED(rc)) return -1;
      if (ind == SQL_NULL_DATA) return 0;
      lua_pushboolean(L, bit != 0);
      return 1;
    }
    case K_BINARY: return get_chunked(L, s, col, SQL_C_BINARY);
    case K_INT:
    case K_DECIMAL:
    case K_BOOLTEXT: {
      int r = get_chunked(L, s, col, SQL_C_WCHAR);
      if (r != 1) return r;
      size_t len;
      const char *v = lua_tolstring(L, -1, &len);
      if (k == K_INT) {
        if (lua_stringtonumber(L, v) != 0) lua_remove(L, -2);
      } else if (k == K_DECIMAL) {
        char *end = NULL;
        double d = strtod(v, &end);
        if (len > 0 && end == v + len) {
          lua_pop(L, 1);
          lua_pushnumber(L, (lua_Number)d);
        }
      } else {
        int t = strcmp(v, "1") == 0 || strcmp(v, "t") == 0 || strcmp(v, "true") == 0;
        int f = strcmp(v, "0") == 0 || strcmp(v, "f") == 0 || strcmp(v, "false") == 0;
        if (t || f) {
          lua_pop(L, 1);
          lua_pushboolean(L, t);
        }
      }
      return 1;
    }
    default: return get_chunked(L, s, col, SQL_C_WCHAR);
  }
}

/* Builds rows, colnames from the executed statement s (at index sidx), at
 * most `limit` rows (0: all). lower: lower-case the column names (catalog
 * functions). Returns 2, or 4 after pushing nil, msg, kind, sqlstate. Frees the
 * statement (which closes a cursor left with rows unread). */
static int fetch_all(lua_State *L, struct stmt *s, int lower, lua_Integer limit) {
  SQLSMALLINT ncol = 0;
  if (!SQL_SUCCEEDED(SQLNumResultCols(s->h, &ncol))) {
    diag_fail(L, SQL_HANDLE_STMT, s->h, "SQLNumResultCols");
    stmt_free(s);
    return 4;
  }
  luaL_checkstack(L, 8, "rows");
  lua_createtable(L, ncol, 0);
  int names = lua_gettop(L);
  enum kind *kinds = NULL;
  if (ncol > 0) kinds = lua_newuserdatauv(L, sizeof *kinds * (size_t)ncol, 0);
  for (SQLSMALLINT i = 1; i <= ncol; i++) {
    SQLWCHAR w[NAME_CAP];
    SQLSMALLINT nlen = 0, type = 0, digits = 0, nullable = 0;
    SQLULEN size = 0;
    if (!SQL_SUCCEEDED(SQLDescribeColW(s->h, (SQLUSMALLINT)i, w, NAME_CAP, &nlen, &type, &size, &digits,
                                       &nullable))) {
      diag_fail(L, SQL_HANDLE_STMT, s->h, "SQLDescribeCol");
      stmt_free(s);
      return 4;
    }
    push_utf16(L, w, wlen(w, nlen < NAME_CAP ? (size_t)(nlen > 0 ? nlen : 0) : NAME_CAP - 1));
    if (lower) {
      lua_getglobal(L, "string");
      lua_getfield(L, -1, "lower");
      lua_pushvalue(L, -3);
      lua_call(L, 1, 1);
      lua_replace(L, -3);
      lua_pop(L, 1);
    }
    lua_rawseti(L, names, i);
    SQLWCHAR tn[64];
    SQLSMALLINT tlen = 0;
    const char *type_name = NULL;
    if (type != SQL_BIT && SQL_SUCCEEDED(SQLColAttributeW(s->h, (SQLUSMALLINT)i, SQL_DESC_TYPE_NAME, tn,
                                                          (SQLSMALLINT)sizeof tn, &tlen, NULL))) {
      size_t units = tlen > 0 ? (size_t)tlen / sizeof(SQLWCHAR) : 0;
      push_utf16(L, tn, wlen(tn, units < 64 ? units : 63));
      type_name = lua_tostring(L, -1);
    } else {
      lua_pushnil(L);
    }
    kinds[i - 1] = kind_of(type, type_name);
    lua_pop(L, 1);
  }
  lua_newtable(L);
  int rows = lua_gettop(L);
  lua_Integer nrow = 0;
  SQLRETURN rc = SQL_NO_DATA;
  while ((limit == 0 || nrow < limit) && SQL_SUCCEEDED(rc = SQLFetch(s->h))) {
    lua_createtable(L, 0, ncol);
    for (SQLSMALLINT i = 1; i <= ncol; i++) {
      lua_rawgeti(L, names, i);
      int r = get_value(L, s, (SQLUSMALLINT)i, kinds[i - 1]);
      if (r < 0) {
        diag_fail(L, SQL_HANDLE_STMT, s->h, "SQLGetData");
        stmt_free(s);
        return 4;
      }
      if (r == 0)
        lua_pop(L, 1);
      else
        lua_rawset(L, -3);
    }
    lua_rawseti(L, rows, ++nrow);
  }
  if (rc != SQL_NO_DATA && !SQL_SUCCEEDED(rc)) {
    diag_fail(L, SQL_HANDLE_STMT, s->h, "SQLFetch");
    stmt_free(s);
    return 4;
  }
  stmt_free(s);
  lua_pushvalue(L, names);
  return 2;
}

/* query(sql | {sql, max_rows = n}, ...): a table's keys are checked
 * strictly, then the sql takes its place at index 2. */
static int l_query(lua_State *L) {
  struct conn *c = check_open(L);
  lua_Integer max_rows = 0;
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      lua_pop(L, 1);
      int ok = (lua_isinteger(L, -1) && lua_tointeger(L, -1) == 1) ||
               (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "max_rows") == 0);
      if (!ok) {
        lua_pushvalue(L, -1);
        luaL_argerror(L, 2, lua_pushfstring(L, "unknown query option '%s'", luaL_tolstring(L, -1, NULL)));
      }
    }
    if (lua_getfield(L, 2, "max_rows") != LUA_TNIL) {
      luaL_argcheck(L, lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1, 2,
                    "max_rows must be a positive integer");
      max_rows = lua_tointeger(L, -1);
    }
    lua_pop(L, 1);
    if (lua_geti(L, 2, 1) != LUA_TSTRING) luaL_argerror(L, 2, "the SQL text (string) expected at [1]");
    lua_replace(L, 2);
  }
  SQLULEN attr = (uint64_t)max_rows > (uint64_t)(SQLULEN)-1 ? (SQLULEN)-1 : (SQLULEN)max_rows;
  struct stmt *s = run(L, c, attr);
  if (s == NULL) return 4;
  return fetch_all(L, s, 0, max_rows);
}

/* ----------------------------------------------------------- catalog */

/* The optional string argument at idx as UTF-16 (pushed) or NULL. */
static SQLWCHAR *opt_wide(lua_State *L, int idx, SQLSMALLINT *len) {
  if (lua_isnoneornil(L, idx)) {
    lua_pushnil(L);
    *len = 0;
    return NULL;
  }
  size_t n, units = 0;
  const char *s = luaL_checklstring(L, idx, &n);
  SQLWCHAR *w = push_wide(L, s, n, &units);
  if (w == NULL) luaL_argerror(L, idx, "not UTF-8");
  if (units > 32767) luaL_argerror(L, idx, "too long");
  *len = (SQLSMALLINT)units;
  return w;
}

enum catalog_fn { CAT_TABLES, CAT_COLUMNS, CAT_PKEYS, CAT_FKEYS };

static int catalog_call(lua_State *L, enum catalog_fn fn) {
  struct conn *c = check_open(L);
  int nargs = fn == CAT_FKEYS ? 6 : (fn == CAT_PKEYS ? 3 : 4);
  lua_settop(L, 1 + nargs);
  SQLWCHAR *a[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
  SQLSMALLINT n[6] = {0, 0, 0, 0, 0, 0};
  for (int i = 0; i < nargs; i++) a[i] = opt_wide(L, 2 + i, &n[i]);
  struct stmt *s = new_stmt(L, c);
  if (s == NULL) return 4;
  SQLRETURN rc;
  const char *what;
  switch (fn) {
    case CAT_TABLES:
      what = "SQLTables";
      rc = SQLTablesW(s->h, a[0], n[0], a[1], n[1], a[2], n[2], a[3], n[3]);
      break;
    case CAT_COLUMNS:
      what = "SQLColumns";
      rc = SQLColumnsW(s->h, a[0], n[0], a[1], n[1], a[2], n[2], a[3], n[3]);
      break;
    case CAT_PKEYS:
      what = "SQLPrimaryKeys";
      rc = SQLPrimaryKeysW(s->h, a[0], n[0], a[1], n[1], a[2], n[2]);
      break;
    default:
      what = "SQLForeignKeys";
      rc = SQLForeignKeysW(s->h, a[0], n[0], a[1], n[1], a[2], n[2], a[3], n[3], a[4], n[4], a[5], n[5]);
      break;
  }
  if (!SQL_SUCCEEDED(rc)) {
    diag_fail(L, SQL_HANDLE_STMT, s->h, what);
    stmt_free(s);
    return 4;
  }
  return fetch_all(L, s, 1, 0);
}

static int l_tables(lua_State *L) { return catalog_call(L, CAT_TABLES); }
static int l_columns(lua_State *L) { return catalog_call(L, CAT_COLUMNS); }
static int l_primary_keys(lua_State *L) { return catalog_call(L, CAT_PKEYS); }
static int l_foreign_keys(lua_State *L) { return catalog_call(L, CAT_FKEYS); }

/* ------------------------------------------------------ transactions */

static int l_begin(lua_State *L) {
  struct conn *c = check_open(L);
  if (c->in_tx) return luaL_error(L, "a transaction is already open");
  if (!SQL_SUCCEEDED(SQLSetConnectAttr(c->dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)SQL_AUTOCOMMIT_OFF, 0)))
    return diag_fail(L, SQL_HANDLE_DBC, c->dbc, "SQLSetConnectAttr(SQL_ATTR_AUTOCOMMIT)");
  c->in_tx = 1;
  lua_pushboolean(L, 1);
  return 1;
}

static int end_tran(lua_State *L, SQLSMALLINT how) {
  struct conn *c = check_open(L);
  if (!c->in_tx) return luaL_error(L, "no transaction is open");
  SQLRETURN rc = SQLEndTran(SQL_HANDLE_DBC, c->dbc, how);
  if (!SQL_SUCCEEDED(rc)) {
    diag_fail(L, SQL_HANDLE_DBC, c->dbc, "SQLEndTran");
    return 4; /* still in the transaction: the caller rolls back */
  }
  c->in_tx = 0;
  if (!SQL_SUCCEEDED(SQLSetConnectAttr(c->dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)SQL_AUTOCOMMIT_ON, 0)))
    return diag_fail(L, SQL_HANDLE_DBC, c->dbc, "SQLSetConnectAttr(SQL_ATTR_AUTOCOMMIT)");
  lua_pushboolean(L, 1);
  return 1;
}

static int l_commit(lua_State *L) { return end_tran(L, SQL_COMMIT); }
static int l_rollback(lua_State *L) { return end_tran(L, SQL_ROLLBACK); }

/* ------------------------------------------------------------- misc */

/* Pushes the SQL_STRING_FUNCTIONS bits as a set of names, or nil. */
static void push_string_functions(lua_State *L, SQLHDBC dbc) {
  static const struct {
    const char *name;
    SQLUINTEGER bit;
  } fns[] = {{"CONCAT", SQL_FN_STR_CONCAT},         {"INSERT", SQL_FN_STR_INSERT},
             {"LEFT", SQL_FN_STR_LEFT},             {"LTRIM", SQL_FN_STR_LTRIM},
             {"LENGTH", SQL_FN_STR_LENGTH},         {"LOCATE", SQL_FN_STR_LOCATE},
             {"LCASE", SQL_FN_STR_LCASE},           {"REPEAT", SQL_FN_STR_REPEAT},
             {"REPLACE", SQL_FN_STR_REPLACE},       {"RIGHT", SQL_FN_STR_RIGHT},
             {"RTRIM", SQL_FN_STR_RTRIM},           {"SUBSTRING", SQL_FN_STR_SUBSTRING},
             {"UCASE", SQL_FN_STR_UCASE},           {"ASCII", SQL_FN_STR_ASCII},
             {"CHAR", SQL_FN_STR_CHAR},             {"DIFFERENCE", SQL_FN_STR_DIFFERENCE},
             {"SOUNDEX", SQL_FN_STR_SOUNDEX},       {"SPACE", SQL_FN_STR_SPACE},
             {"BIT_LENGTH", SQL_FN_STR_BIT_LENGTH}, {"CHAR_LENGTH", SQL_FN_STR_CHAR_LENGTH},
             {"CHARACTER_LENGTH", SQL_FN_STR_CHARACTER_LENGTH},
             {"OCTET_LENGTH", SQL_FN_STR_OCTET_LENGTH},
             {"POSITION", SQL_FN_STR_POSITION}};
  SQLUINTEGER bits = 0;
  if (!SQL_SUCCEEDED(SQLGetInfoW(dbc, SQL_STRING_FUNCTIONS, &bits, (SQLSMALLINT)sizeof bits, NULL))) {
    lua_pushnil(L);
    return;
  }
  lua_createtable(L, 0, 4);
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    if (bits & fns[i].bit) {
      lua_pushboolean(L, 1);
      lua_setfield(L, -2, fns[i].name);
    }
  }
}

static int l_info(lua_State *L) {
  struct conn *c = check_open(L);
  static const struct {
    const char *key;
    SQLUSMALLINT what;
  } items[] = {{"dbms_name", SQL_DBMS_NAME},       {"dbms_version", SQL_DBMS_VER},
               {"driver_name", SQL_DRIVER_NAME},   {"driver_version", SQL_DRIVER_VER},
               {"database", SQL_DATABASE_NAME},    {"user", SQL_USER_NAME},
               {"server_version", SQL_DBMS_VER},   {"identifier_quote", SQL_IDENTIFIER_QUOTE_CHAR}};
  lua_createtable(L, 0, (int)(sizeof items / sizeof items[0]) + 1);
  for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
    push_info(L, c->dbc, items[i].what);
    lua_setfield(L, -2, items[i].key);
  }
  push_string_functions(L, c->dbc);
  lua_setfield(L, -2, "string_functions");
  return 1;
}

static int l_close(lua_State *L) {
  if (!conn_close_impl(luaL_checkudata(L, 1, CONN_MT))) {
    luaL_pushfail(L);
    lua_pushliteral(L, "odbc: the connection did not close cleanly");
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_gc(lua_State *L) {
  (void)conn_close_impl(luaL_checkudata(L, 1, CONN_MT)); /* nobody to tell */
  return 0;
}

static int l_tostring(lua_State *L) {
  struct conn *c = luaL_checkudata(L, 1, CONN_MT);
  lua_pushfstring(L, c->dbc && c->connected ? "nv.odbc (%p)" : "nv.odbc (closed)", (void *)c);
  return 1;
}

static const luaL_Reg methods[] = {{"exec", l_exec},
                                   {"query", l_query},
                                   {"tables", l_tables},
                                   {"columns", l_columns},
                                   {"primary_keys", l_primary_keys},
                                   {"foreign_keys", l_foreign_keys},
                                   {"begin", l_begin},
                                   {"commit", l_commit},
                                   {"rollback", l_rollback},
                                   {"info", l_info},
                                   {"close", l_close},
                                   {NULL, NULL}};
static const luaL_Reg metamethods[] = {{"__gc", l_gc}, {"__close", l_gc},
                                       {"__tostring", l_tostring}, {"__index", NULL},
                                       {NULL, NULL}};
static const luaL_Reg funcs[] = {{"open", l_open}, {"describe", l_describe}, {NULL, NULL}};

static const luaL_Reg stmt_gc_meta[] = {{"__gc", stmt_gc}, {NULL, NULL}};

int luaopen_nv_odbc(lua_State *L) {
  nv_createmeta(L, CONN_MT, metamethods, methods);
  nv_createmeta(L, STMT_MT, stmt_gc_meta, NULL);
  luaL_newlib(L, funcs);
  return 1;
}
