/* profile.c - stub for the nv.profile module (being implemented). */
#include <lauxlib.h>
#include "nvlua.h"
int luaopen_nv_profile(lua_State *L) { lua_newtable(L); return 1; }
