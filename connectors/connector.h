/* connector.h - the one interface every source connector implements
 * (a table of function pointers, one static instance per C file), and the
 * registry that maps source_type names to connectors.
 *
 * A connector never prints, never exits and never reads global config: it
 * receives options as a Lua table and returns data. Connectors arrive with
 * the issues that add them; see connectors/README.md. */
#ifndef NV_CONNECTOR_H
#define NV_CONNECTOR_H

#include <lua.h>

struct nv_connector {
  const char *name;                 /* e.g. "postgresql" */
  const char *const *source_types;  /* NULL-terminated aliases */
  const char *const *asset_types;   /* NULL-terminated, e.g. "table", "file" */
  lua_CFunction open;               /* (options) -> connection | nil, msg, code */
};

/* NULL-terminated list of every compiled-in connector. */
extern const struct nv_connector *const nv_connector_registry[];

#endif
