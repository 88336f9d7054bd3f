/* limits.c - resource limits for a Lua state: a counting allocator with a
 * memory cap, and a CPU-time limit checked from an instruction-count hook.
 * The `nv.limits` module reads and sets them; the sandbox turns them on.
 * State: one struct nv_limits owned by main(), reached through the
 * allocator's ud and a registry light userdata (no C globals). */
#include <stdlib.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>

#include "nvlua.h"

#define LIMITS_KEY "nv.limits.state"
#define HOOK_EVERY 100000

void *nv_limits_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  struct nv_limits *lim = ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    lim->used -= old;
    return NULL;
  }
  if (lim->max_bytes && nsize > old && lim->used - old + nsize > lim->max_bytes) {
    lim->refused++;
    return NULL; /* Lua raises "not enough memory" */
  }
  void *p = realloc(ptr, nsize);
  if (p == NULL) return NULL;
  lim->used = lim->used - old + nsize;
  if (lim->used > lim->peak) lim->peak = lim->used;
  return p;
}

static struct nv_limits *get_limits(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LIMITS_KEY);
  struct nv_limits *lim = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return lim;
}

void nv_limits_attach(lua_State *L, struct nv_limits *lim) {
  lua_pushlightuserdata(L, lim);
  lua_setfield(L, LUA_REGISTRYINDEX, LIMITS_KEY);
}

static void cpu_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  struct nv_limits *lim = get_limits(L);
  if (lim == NULL || lim->cpu_seconds <= 0) return;
  double used = (double)clock() / CLOCKS_PER_SEC;
  if (used > lim->cpu_seconds)
    luaL_error(L, "sandbox: CPU time limit of %f s exceeded", lim->cpu_seconds);
}

/* set_memory(bytes | 0 for none) */
static int l_set_memory(lua_State *L) {
  struct nv_limits *lim = get_limits(L);
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 0, 1, "must be >= 0");
  if (lim == NULL) return luaL_error(L, "this state has no limits allocator");
  lim->max_bytes = (size_t)n;
  return 0;
}

/* set_cpu(seconds | 0 for none): CPU time of the whole process */
static int l_set_cpu(lua_State *L) {
  struct nv_limits *lim = get_limits(L);
  lua_Number s = luaL_checknumber(L, 1);
  luaL_argcheck(L, s >= 0, 1, "must be >= 0");
  if (lim == NULL) return luaL_error(L, "this state has no limits allocator");
  lim->cpu_seconds = s;
  if (s > 0)
    lua_sethook(L, cpu_hook, LUA_MASKCOUNT, HOOK_EVERY);
  else
    lua_sethook(L, NULL, 0, 0);
  return 0;
}

/* usage() -> {used=, peak=, max=, cpu=, cpu_limit=} */
static int l_usage(lua_State *L) {
  struct nv_limits *lim = get_limits(L);
  lua_createtable(L, 0, 5);
  if (lim) {
    lua_pushinteger(L, (lua_Integer)lim->used);
    lua_setfield(L, -2, "used");
    lua_pushinteger(L, (lua_Integer)lim->peak);
    lua_setfield(L, -2, "peak");
    lua_pushinteger(L, (lua_Integer)lim->max_bytes);
    lua_setfield(L, -2, "max");
    lua_pushnumber(L, lim->cpu_seconds);
    lua_setfield(L, -2, "cpu_limit");
  }
  lua_pushnumber(L, (double)clock() / CLOCKS_PER_SEC);
  lua_setfield(L, -2, "cpu");
  return 1;
}

static const luaL_Reg funcs[] = {
    {"set_memory", l_set_memory}, {"set_cpu", l_set_cpu}, {"usage", l_usage}, {NULL, NULL}};

int luaopen_nv_limits(lua_State *L) {
  luaL_newlib(L, funcs);
  return 1;
}
