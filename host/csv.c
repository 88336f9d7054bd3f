/* csv.c - stub for the nv.csv module (being implemented). */
#include <lauxlib.h>
#include "nvlua.h"
int luaopen_nv_csv(lua_State *L) { lua_newtable(L); return 1; }
