/* luax.c - shared Lua C API helpers (luax.h). Uses only the Lua API. */
#include <string.h>

#include "luax.h"

int nv_push_fail(lua_State *L, const char *msg, const char *code) {
  luaL_pushfail(L);
  lua_pushstring(L, msg);
  lua_pushstring(L, code);
  return 3;
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
