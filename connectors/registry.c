/* registry.c - the one list of compiled-in connectors, exposed to Lua as
 * `nv.connectors`: names(), find(source_type) -> {name=, asset_types=} | nil.
 * Adding a connector is one C file plus one line in the list below. */
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "connector.h"
#include "nvlua.h"

extern const struct nv_connector nv_connector_fs;

const struct nv_connector *const nv_connector_registry[] = {
    &nv_connector_fs, /* local files, /dbfs, /Volumes */
    NULL              /* connectors are added here, one line each */
};

static const struct nv_connector *find(const char *source_type) {
  for (size_t i = 0; nv_connector_registry[i]; i++) {
    const struct nv_connector *c = nv_connector_registry[i];
    if (strcmp(c->name, source_type) == 0) return c;
    for (size_t j = 0; c->source_types && c->source_types[j]; j++)
      if (strcmp(c->source_types[j], source_type) == 0) return c;
  }
  return NULL;
}

static void push_list(lua_State *L, const char *const *items) {
  lua_newtable(L);
  for (size_t i = 0; items && items[i]; i++) {
    lua_pushstring(L, items[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

static int l_names(lua_State *L) {
  lua_newtable(L);
  for (size_t i = 0; nv_connector_registry[i]; i++) {
    lua_pushstring(L, nv_connector_registry[i]->name);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static int l_find(lua_State *L) {
  const struct nv_connector *c = find(luaL_checkstring(L, 1));
  if (c == NULL) {
    luaL_pushfail(L);
    return 1;
  }
  lua_createtable(L, 0, 3);
  lua_pushstring(L, c->name);
  lua_setfield(L, -2, "name");
  push_list(L, c->source_types);
  lua_setfield(L, -2, "source_types");
  push_list(L, c->asset_types);
  lua_setfield(L, -2, "asset_types");
  return 1;
}

static const luaL_Reg funcs[] = {{"names", l_names}, {"find", l_find}, {NULL, NULL}};

int luaopen_nv_connectors(lua_State *L) {
  luaL_newlib(L, funcs);
  return 1;
}
