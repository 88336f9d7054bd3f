/* luax.h - the Lua C API helpers every binding shares: the expected-failure
 * triple, unknown-option checks and metatable setup (liolib's createmeta). */
#ifndef NV_LUAX_H
#define NV_LUAX_H

#include <lauxlib.h>
#include <lua.h>

/* Pushes nil, msg, code (the kind: "io", "parse", ...); returns 3. */
int nv_push_fail(lua_State *L, const char *msg, const char *code);

/* Raises "[prefix: ]unknown option 'k'" for a key of the table at idx that
 * is not in the NULL-terminated keys; nil/none passes, another type raises
 * an argument error. prefix may be NULL. */
void nv_check_keys(lua_State *L, int idx, const char *const *keys, const char *prefix);

/* Creates the metatable tname once: its metamethods, and __index = a table
 * of methods when methods is not NULL. Leaves the stack as it was. */
void nv_createmeta(lua_State *L, const char *tname, const luaL_Reg *metamethods,
                   const luaL_Reg *methods);

/* opts[key] (opts at idx, nil/none: def) as an integer in [lo, hi]; raises
 * "option 'key' must be an integer in [lo, hi]" otherwise. */
lua_Integer nv_opt_int(lua_State *L, int idx, const char *key, lua_Integer def, lua_Integer lo,
                       lua_Integer hi);

/* opts[key] when it is a function: left on the stack, its index returned;
 * nil/none: 0 (nothing pushed); another type raises. */
int nv_opt_function(lua_State *L, int idx, const char *key);

/* A zeroed full userdata of size bytes with metatable tname, pushed. */
void *nv_newudata(lua_State *L, size_t size, const char *tname);

#endif
