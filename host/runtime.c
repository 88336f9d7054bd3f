/* runtime.c - builds an nvlua Lua state: standard libraries, the nv.* C
 * modules and cjson in package.preload, `nv.host` (version and roots), and
 * package.path pointing at the resolved roots (never at the current
 * directory). Uses paths.c for root resolution. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "nvlua.h"
#include "paths.h"

int luaopen_cjson(lua_State *L);
int luaopen_cjson_safe(lua_State *L);

static const luaL_Reg preloads[] = {
    {"nv.log", luaopen_nv_log},
    {"nv.sys", luaopen_nv_sys},
    {"nv.limits", luaopen_nv_limits},
    {"nv.workers", luaopen_nv_workers},
    {"nv.store.sqlite", luaopen_nv_store_sqlite},
    {"nv.pg", luaopen_nv_pg},
    {"nv.mysql", luaopen_nv_mysql},
    {"nv.odbc", luaopen_nv_odbc},
    {"nv.fs", luaopen_nv_fs},
    {"nv.profile", luaopen_nv_profile},
    {"nv.csv", luaopen_nv_csv},
    {"nv.jsonfile", luaopen_nv_jsonfile},
    {"nv.parquet", luaopen_nv_parquet},
    {"nv.http", luaopen_nv_http},
    {"nv.xlsx", luaopen_nv_xlsx},
    {"nv.objstore", luaopen_nv_objstore},
    {"nv.httpd", luaopen_nv_httpd},
    {"nv.proc", luaopen_nv_proc},
    {"nv.readers", luaopen_nv_readers},
    {"cjson", luaopen_cjson},
    {"cjson.safe", luaopen_cjson_safe},
    {NULL, NULL}};

/* Rewrites package.path/cpath from nv.host.roots, dropping "./" entries. */
static const char bootstrap[] =
    "local host = ...\n"
    "local parts = {}\n"
    "for _, r in ipairs(host.roots) do\n"
    "  parts[#parts + 1] = r .. '/lua/?.lua;' .. r .. '/lua/?/init.lua'\n"
    "end\n"
    "local function strip(p)\n"
    "  local keep = {}\n"
    "  for e in p:gmatch('[^;]+') do\n"
    "    if not e:match('^%./') then keep[#keep + 1] = e end\n"
    "  end\n"
    "  return table.concat(keep, ';')\n"
    "end\n"
    "parts[#parts + 1] = strip(package.path)\n"
    "package.path = table.concat(parts, ';')\n"
    "package.cpath = strip(package.cpath)\n";

static int file_exists(const char *path, void *ud) {
  (void)ud;
  return access(path, R_OK) == 0;
}

struct setup_args {
  const char *argv0;
  int no_env;
};

static int setup(lua_State *L) {
  const struct setup_args *a = lua_touserdata(L, 1);
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (const luaL_Reg *p = preloads; p->name; p++) {
    lua_pushcfunction(L, p->func);
    lua_setfield(L, -2, p->name);
  }
  lua_pop(L, 1);

  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
  } else {
    snprintf(exe, sizeof exe, "%s", a->argv0 ? a->argv0 : "");
  }
  char root[PATH_MAX];
  int found = nv_paths_find_root(exe, NVLUA_INSTALL_DATADIR, NVLUA_SOURCE_ROOT,
                                 file_exists, NULL, root, sizeof root);

  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_createtable(L, 0, 5);
  lua_pushstring(L, NVLUA_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushstring(L, LUA_RELEASE);
  lua_setfield(L, -2, "lua_release");
  lua_pushstring(L, exe);
  lua_setfield(L, -2, "exe");
  lua_newtable(L); /* roots: NVLUA_PATH entries first, then the found root */
  lua_Integer k = 0;
  const char *extra = a->no_env ? NULL : getenv("NVLUA_PATH");
  if (extra) {
    const char *p = extra;
    while (*p) {
      const char *colon = strchr(p, ':');
      size_t len = colon ? (size_t)(colon - p) : strlen(p);
      if (len > 0) {
        lua_pushlstring(L, p, len);
        lua_rawseti(L, -2, ++k);
      }
      p += len + (colon ? 1 : 0);
    }
  }
  if (found) {
    lua_pushstring(L, root);
    lua_rawseti(L, -2, ++k);
    lua_pushstring(L, root);
    lua_setfield(L, -3, "root");
  }
  lua_setfield(L, -2, "roots");
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "nv.host");
  if (luaL_loadbuffer(L, bootstrap, sizeof bootstrap - 1, "=bootstrap") != LUA_OK)
    return lua_error(L);
  lua_insert(L, -2);
  lua_call(L, 1, 0);
  return 0;
}

static int panic(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  fprintf(stderr, "nvlua: PANIC: unprotected error in call to Lua API (%s)\n", msg ? msg : "?");
  return 0; /* abort() follows */
}

lua_State *nv_runtime_new(const char *argv0, int no_env, struct nv_limits *lim, char *err,
                          size_t errsz) {
  lua_State *L = lua_newstate(nv_limits_alloc, lim);
  if (L == NULL) {
    snprintf(err, errsz, "cannot create Lua state: not enough memory");
    return NULL;
  }
  lua_atpanic(L, panic);
  nv_limits_attach(L, lim);
  struct setup_args a = {argv0, no_env};
  lua_pushcfunction(L, setup);
  lua_pushlightuserdata(L, &a);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    snprintf(err, errsz, "cannot initialise: %s", lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  return L;
}

static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

int nv_pcall(lua_State *L, int nargs, int nresults) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  int status = lua_pcall(L, nargs, nresults, base);
  lua_remove(L, base);
  return status;
}
