/* jsonfile.c - stub for the nv.jsonfile module (being implemented). */
#include <lauxlib.h>
#include "nvlua.h"
int luaopen_nv_jsonfile(lua_State *L) { lua_newtable(L); return 1; }
