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
