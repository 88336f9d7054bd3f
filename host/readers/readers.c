/* readers.c - the one list of file readers (reader.h) and `nv.readers`:
 *   list() -> { {name=, aliases={...}, extensions={...}}, ... }
 *   sniff(bytes [, name]) -> format, score | nil, msg, "parse"
 *   open(path [, format [, opts]]) -> reader | nil, msg, code
 * Format detection (nv.fs.detect) asks the sniffers through
 * nv_readers_sniff. Adding a format: one reader file (its descriptor), its
 * name in the extern line and in the list below, and the file in CMake. */
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "instream.h"
#include "luax.h"
#include "nvlua.h"
#include "paths.h"
#include "reader.h"

/* the descriptors, one per reader file */
extern const struct nv_reader nv_reader_parquet, nv_reader_xlsx, nv_reader_json, nv_reader_csv;

const struct nv_reader *const nv_readers[] = {
    &nv_reader_parquet, /* PAR1 magic */
    &nv_reader_xlsx,    /* a zip with xl/ parts */
    &nv_reader_json,    /* text that parses as JSON */
    &nv_reader_csv,     /* any other text */
    NULL,               /* readers are added here, one line each */
};

static const char *const comp_suffixes[] = {"", ".gz", ".zst", NULL};

const struct nv_reader *nv_readers_find(const char *name) {
  for (size_t i = 0; nv_readers[i]; i++) {
    const struct nv_reader *r = nv_readers[i];
    if (strcmp(r->name, name) == 0) return r;
    for (size_t j = 0; r->aliases && r->aliases[j]; j++)
      if (strcmp(r->aliases[j], name) == 0) return r;
  }
  return NULL;
}

/* The length of path's extension ext plus a compression suffix, or 0. */
static size_t ext_match(const char *path, const char *ext) {
  char suf[64];
  for (size_t c = 0; comp_suffixes[c]; c++) {
    int k = snprintf(suf, sizeof suf, "%s%s", ext, comp_suffixes[c]);
    if (k > 0 && (size_t)k < sizeof suf && nv_paths_has_suffix(path, suf)) return (size_t)k;
  }
  return 0;
}

const struct nv_reader *nv_readers_named(const char *path) {
  if (path == NULL) return NULL;
  for (size_t i = 0; nv_readers[i]; i++)
    for (size_t j = 0; nv_readers[i]->extensions && nv_readers[i]->extensions[j]; j++)
      if (ext_match(path, nv_readers[i]->extensions[j])) return nv_readers[i];
  return NULL;
}

const struct nv_reader *nv_readers_sniff(const unsigned char *buf, size_t n, int eof,
                                         const char *path, int *score) {
  const struct nv_reader *named = nv_readers_named(path), *best = NULL;
  int top = 0;
  for (size_t i = 0; nv_readers[i]; i++) {
    const struct nv_reader *r = nv_readers[i];
    int hint = named == NULL ? 0 : named == r ? 1 : -1;
    int s = r->sniff(buf, n, eof, hint);
    if (s > top) top = s, best = r;
  }
  *score = top;
  return best;
}

/* ---- the single-table readers' shared method parts --------------------- */

/* The table name of a single-table file: its base name without compression
 * and format extensions ("dir/sales.csv.gz" -> "sales"). */
static void table_name(const char *path, luaL_Buffer *b) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(base);
  for (size_t c = 1; comp_suffixes[c]; c++) {
    size_t k = strlen(comp_suffixes[c]);
    if (n > k && nv_paths_has_suffix(base, comp_suffixes[c])) {
      n -= k;
      break;
    }
  }
  for (size_t i = n; i > 1; i--)
    if (base[i - 1] == '.') {
      n = i - 1;
      break;
    }
  luaL_addlstring(b, base, n);
}

void nv_reader_push_single_table(lua_State *L, const char *path) {
  lua_createtable(L, 1, 0);
  lua_createtable(L, 0, 1);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  table_name(path, &b);
  luaL_pushresult(&b);
  lua_setfield(L, -2, "name");
  lua_rawseti(L, -2, 1);
}

void nv_reader_single_table_arg(lua_State *L, int idx, const char *path) {
  int t = lua_type(L, idx);
  if (t == LUA_TNIL && lua_gettop(L) > idx) {
    lua_remove(L, idx);
  } else if (t == LUA_TSTRING) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    table_name(path, &b);
    luaL_pushresult(&b);
    if (!lua_rawequal(L, idx, -1))
      luaL_argerror(L, idx, lua_pushfstring(L, "no table '%s' in %s (its one table is '%s')",
                                            lua_tostring(L, idx), path, lua_tostring(L, -1)));
    lua_pop(L, 1);
    lua_remove(L, idx);
  }
}

const char *nv_reader_uv_path(lua_State *L, int idx) {
  lua_getiuservalue(L, idx, 1);
  const char *p = lua_tostring(L, -1); /* anchored by the userdata */
  lua_pop(L, 1);
  return p ? p : "?";
}

void nv_reader_check_idle(lua_State *L, int busy) {
  if (busy) luaL_error(L, "the reader is busy: called from its own progress callback");
}

int nv_reader_push_closed(lua_State *L, int failed, const char *path) {
  if (failed) {
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: error closing the file", path);
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

int nv_reader_progress(lua_State *L, int *fn, int *busy, lua_Integer bytes) {
  lua_pushvalue(L, *fn);
  lua_pushinteger(L, bytes);
  *busy = 1;
  int cancel = 0;
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) *fn = 0;
  else cancel = lua_isboolean(L, -1) && !lua_toboolean(L, -1);
  lua_pop(L, 1);
  *busy = 0;
  return cancel;
}

/* ---- nv.readers -------------------------------------------------------- */

static void push_names(lua_State *L, const char *const *names) {
  lua_newtable(L);
  for (size_t i = 0; names && names[i]; i++) {
    lua_pushstring(L, names[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

static int l_list(lua_State *L) {
  lua_newtable(L);
  for (size_t i = 0; nv_readers[i]; i++) {
    lua_createtable(L, 0, 3);
    lua_pushstring(L, nv_readers[i]->name);
    lua_setfield(L, -2, "name");
    push_names(L, nv_readers[i]->aliases);
    lua_setfield(L, -2, "aliases");
    push_names(L, nv_readers[i]->extensions);
    lua_setfield(L, -2, "extensions");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* sniff(bytes [, name]): bytes shorter than NV_SNIFF_BYTES are the whole file */
static int l_sniff(lua_State *L) {
  size_t n;
  const char *buf = luaL_checklstring(L, 1, &n);
  const char *name = luaL_optstring(L, 2, NULL);
  if (n > NV_SNIFF_BYTES) n = NV_SNIFF_BYTES;
  int score = 0;
  const struct nv_reader *r =
      nv_readers_sniff((const unsigned char *)buf, n, n < NV_SNIFF_BYTES, name, &score);
  if (r == NULL) return nv_push_fail(L, "no reader recognises these bytes", "parse");
  lua_pushstring(L, r->name);
  lua_pushinteger(L, score);
  return 2;
}

/* The first NV_SNIFF_BYTES decompressed bytes of path, sniffed. */
static const struct nv_reader *sniff_file(lua_State *L, const char *path, char *err, size_t errsz) {
  struct nv_instream *s = nv_instream_open(path, NV_COMP_AUTO, err, errsz);
  if (s == NULL) return NULL;
  luaL_Buffer b;
  char *buf = luaL_buffinitsize(L, &b, NV_SNIFF_BYTES);
  size_t n = 0;
  long r = 1;
  while (n < NV_SNIFF_BYTES && (r = nv_instream_read(s, buf + n, NV_SNIFF_BYTES - n)) > 0)
    n += (size_t)r;
  nv_instream_close(s);
  int score = 0;
  const struct nv_reader *rd =
      nv_readers_sniff((const unsigned char *)buf, n, n < NV_SNIFF_BYTES, path, &score);
  luaL_pushresultsize(&b, 0);
  lua_pop(L, 1);
  if (rd == NULL) snprintf(err, errsz, "%s: no reader recognises the content", path);
  return rd;
}

static int l_open(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  const char *format = luaL_optstring(L, 2, "auto");
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 3);
  const struct nv_reader *r;
  if (strcmp(format, "auto") == 0) {
    char err[512];
    r = sniff_file(L, path, err, sizeof err);
    if (r == NULL) return nv_push_fail(L, err, strstr(err, "no reader") ? "parse" : "open");
  } else if ((r = nv_readers_find(format)) == NULL) {
    return luaL_argerror(L, 2, lua_pushfstring(L, "unknown format '%s'", format));
  }
  luaL_requiref(L, r->module, r->luaopen, 0); /* the reader's metatables */
  lua_pop(L, 1);
  lua_pushcfunction(L, r->open);
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 3);
  lua_call(L, 2, LUA_MULTRET);
  return lua_gettop(L) - 3;
}

static const luaL_Reg funcs[] = {{"list", l_list}, {"sniff", l_sniff}, {"open", l_open}, {NULL, NULL}};

int luaopen_nv_readers(lua_State *L) {
  luaL_newlib(L, funcs);
  return 1;
}
