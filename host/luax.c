/* luax.c - shared Lua C API helpers (luax.h). Uses only the Lua API. */
#include <errno.h>
#include <string.h>

#include "luax.h"

int nv_push_fail(lua_State *L, const char *msg, const char *code) {
  luaL_pushfail(L);
  lua_pushstring(L, msg);
  lua_pushstring(L, code);
  return 3;
}

const char *nv_errno_kind(int e) {
  switch (e) {
    case 0: return "io";
    case ENOENT: case ENOTDIR: case ESRCH: return "notfound";
    case EACCES: case EPERM: case EROFS: return "permission";
    case EEXIST: case ENOTEMPTY: return "exists";
    case EWOULDBLOCK: case EADDRINUSE: return "busy";
    case ENOMEM: return "memory";
    case ETIMEDOUT: return "timeout";
    case ECONNREFUSED: case ECONNRESET: case ECONNABORTED: case EHOSTUNREACH: case ENETUNREACH:
    case ENETDOWN: case EADDRNOTAVAIL: case EPIPE: return "connect";
    case EMFILE: case ENFILE: return "limit";
    case EINVAL: case ENAMETOOLONG: case EISDIR: case ELOOP: return "usage";
    case ENOSYS: case EOPNOTSUPP: case ENOLCK: return "unsupported";
    default: return "io";
  }
}

const char *nv_sqlstate_kind(const char *state, const char *msg) {
  if (state == NULL || strlen(state) != 5) return "sql";
  if (strcmp(state, "HY009") == 0 || strcmp(state, "HY024") == 0 || strcmp(state, "HY090") == 0)
    return "usage"; /* an invalid argument (null pointer, attribute value, length) */
  if (strcmp(state, "IM001") == 0 || strcmp(state, "HYC00") == 0 || strncmp(state, "0A", 2) == 0)
    return "unsupported";
  if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0 || strncmp(state, "IM", 2) == 0)
    return "connect";
  if (strncmp(state, "28", 2) == 0) return "auth";
  if (strcmp(state, "42501") == 0 || strcmp(state, "25006") == 0) return "permission";
  if (strcmp(state, "57014") == 0) return msg && strstr(msg, "timeout") ? "timeout" : "cancelled";
  if (strcmp(state, "HYT00") == 0 || strcmp(state, "HYT01") == 0) return "timeout";
  if (strcmp(state, "HY008") == 0) return "cancelled";
  if (strncmp(state, "40", 2) == 0 || strcmp(state, "55P03") == 0) return "busy";
  if (strcmp(state, "53300") == 0) return "limit";
  if (strcmp(state, "53200") == 0 || strcmp(state, "HY001") == 0) return "memory";
  if (strcmp(state, "53100") == 0 || strncmp(state, "58", 2) == 0) return "io";
  return "sql";
}

int nv_push_fail_code(lua_State *L, const char *msg, const char *kind, lua_Integer native) {
  nv_push_fail(L, msg, kind);
  lua_pushinteger(L, native);
  return 4;
}

int nv_push_fail_errno(lua_State *L, const char *msg, int e) {
  return nv_push_fail_code(L, msg, nv_errno_kind(e), e);
}

int nv_fail_top_state(lua_State *L, const char *kind, const char *native) {
  luaL_pushfail(L);
  lua_insert(L, -2);
  lua_pushstring(L, kind);
  lua_pushstring(L, native);
  return 4;
}

void nv_check_keys(lua_State *L, int idx, const char *const *keys, const char *prefix) {
  if (lua_isnoneornil(L, idx)) return;
  idx = lua_absindex(L, idx);
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    size_t i = 0;
    while (k && keys[i] && strcmp(keys[i], k) != 0) i++;
    if (k == NULL || keys[i] == NULL)
      luaL_error(L, "%s%sunknown option '%s'", prefix ? prefix : "", prefix ? ": " : "",
                 k ? k : luaL_typename(L, -1));
  }
}

void nv_createmeta(lua_State *L, const char *tname, const luaL_Reg *metamethods,
                   const luaL_Reg *methods) {
  if (luaL_newmetatable(L, tname)) {
    if (metamethods) luaL_setfuncs(L, metamethods, 0);
    if (methods) {
      lua_newtable(L);
      luaL_setfuncs(L, methods, 0);
      lua_setfield(L, -2, "__index");
    }
  }
  lua_pop(L, 1);
}

lua_Integer nv_opt_int(lua_State *L, int idx, const char *key, lua_Integer def, lua_Integer lo,
                       lua_Integer hi) {
  if (lua_isnoneornil(L, idx)) return def;
  lua_Integer v = def;
  if (lua_getfield(L, idx, key) != LUA_TNIL) {
    int isnum;
    v = lua_tointegerx(L, -1, &isnum);
    if (!isnum || v < lo || v > hi)
      luaL_error(L, "option '%s' must be an integer in [%I, %I]", key, lo, hi);
  }
  lua_pop(L, 1);
  return v;
}

int nv_opt_function(lua_State *L, int idx, const char *key) {
  if (lua_isnoneornil(L, idx)) return 0;
  int t = lua_getfield(L, idx, key);
  if (t == LUA_TFUNCTION) return lua_gettop(L);
  if (t != LUA_TNIL) luaL_error(L, "option '%s' must be a function", key);
  lua_pop(L, 1);
  return 0;
}

void *nv_newudata(lua_State *L, size_t size, const char *tname) {
  void *p = lua_newuserdatauv(L, size, 0);
  memset(p, 0, size);
  luaL_setmetatable(L, tname);
  return p;
}
