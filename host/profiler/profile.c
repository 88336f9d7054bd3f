/* profile.c - the `nv.profile` module: the column profiler engine
 * (profiler.c) inside a "nv.Profile" userdata, for Lua and for C readers
 * (nv_profile_check / nv_profile_push_new in nvlua.h).
 *
 *   p = profile.new()
 *   p:column(name)              -> 0-based index (added when new)
 *   p:set_native_type(col, type)
 *   p:add(col, value)           col = name or 0-based index; nil / json.null
 *                               -> null, boolean, integer, float, string -> text
 *   p:add_row({v1, v2, ...})    values for columns 0..; counts one row
 *   p:add_rows(n)
 *   p:merge(other)
 *   p:result()                  -> {rows=, columns={...}} (see push_column)
 *   p:dump()                    -> bytes: the whole profile, mergeable
 *   profile.load(bytes)         -> profile | nil, msg, "parse" | "memory":
 *                               the dumped profile (same result, same merges)
 *   p:close()                   idempotent; also __gc and __close
 * Values go in one call each: this is the slow path for tests and
 * previews; readers feed the engine in batches from C. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "luax.h"
#include "nvlua.h"
#include "profiler.h"
#include "profiler_result.h"

#define PROFILE_MT "nv.Profile"
#define DUMP_MT "nv.ProfileDump"

struct profile {
  struct nv_profiler *p; /* NULL when closed */
};

static int profile_close(lua_State *L) {
  struct profile *u = luaL_checkudata(L, 1, PROFILE_MT);
  nv_profiler_free(u->p);
  u->p = NULL;
  return 0;
}

struct nv_profiler *nv_profile_test(lua_State *L, int idx) {
  struct profile *u = luaL_testudata(L, idx, PROFILE_MT);
  return u ? u->p : NULL;
}

struct nv_profiler *nv_profile_check(lua_State *L, int idx) {
  struct profile *u = luaL_checkudata(L, idx, PROFILE_MT);
  if (u->p == NULL) luaL_error(L, "attempt to use a closed profile");
  return u->p;
}

static void create_meta(lua_State *L);

struct nv_profiler *nv_profile_push_new(lua_State *L) {
  create_meta(L);
  struct profile *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->p = NULL;
  luaL_setmetatable(L, PROFILE_MT);
  u->p = nv_profiler_new();
  if (u->p == NULL) luaL_error(L, "profile: out of memory");
  return u->p;
}

static int oom(lua_State *L) { return luaL_error(L, "profile: out of memory"); }

/* profile.new([{max_columns = n, exact_budget = bytes}]) */
static int l_new(lua_State *L) {
  int has_opts = !lua_isnoneornil(L, 1);
  if (has_opts) luaL_checktype(L, 1, LUA_TTABLE);
  struct nv_profiler *p = nv_profile_push_new(L);
  if (has_opts) {
    if (lua_getfield(L, 1, "max_columns") != LUA_TNIL) {
      lua_Integer m = luaL_checkinteger(L, -1);
      luaL_argcheck(L, m >= 1, 1, "max_columns must be at least 1");
      nv_profiler_set_max_columns(p, (size_t)m);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "exact_budget") != LUA_TNIL) {
      lua_Integer b = luaL_checkinteger(L, -1);
      luaL_argcheck(L, b >= 0, 1, "exact_budget must not be negative");
      nv_profiler_set_exact_budget(p, (size_t)b);
    }
    lua_pop(L, 1);
  }
  return 1;
}

/* The column named or numbered (0-based) at idx; names are added. */
static size_t column_arg(lua_State *L, struct nv_profiler *p, int idx) {
  if (lua_type(L, idx) == LUA_TSTRING) {
    size_t n;
    const char *name = lua_tolstring(L, idx, &n);
    long c = nv_profiler_column(p, name, n);
    if (c < 0) oom(L);
    return (size_t)c;
  }
  int isint;
  lua_Integer i = lua_tointegerx(L, idx, &isint);
  if (!isint) luaL_typeerror(L, idx, "column name or index");
  if (i < 0 || (lua_Unsigned)i >= nv_profiler_ncols(p))
    luaL_argerror(L, idx, lua_pushfstring(L, "no column %I", i));
  return (size_t)i;
}

static int l_column(lua_State *L) {
  struct nv_profiler *p = nv_profile_check(L, 1);
  size_t n;
  const char *name = luaL_checklstring(L, 2, &n);
  long c = nv_profiler_column(p, name, n);
  if (c < 0) return oom(L);
  if (c == NV_PROFILER_DROPPED) { /* past max_columns: counted, not profiled */
    lua_pushnil(L);
    lua_pushliteral(L, "max_columns reached");
    return 2;
  }
  lua_pushinteger(L, (lua_Integer)c);
  return 1;
}

static int l_set_native_type(lua_State *L) {
  struct nv_profiler *p = nv_profile_check(L, 1);
  size_t c = column_arg(L, p, 2);
  const char *type = luaL_checkstring(L, 3);
  if (!nv_profiler_set_native_type(p, c, type)) return oom(L);
  return 0;
}

/* Adds the Lua value at idx to column c; raises on a table or OOM. */
static void add_value(lua_State *L, struct nv_profiler *p, size_t c, int idx) {
  int ok;
  switch (lua_type(L, idx)) {
    case LUA_TNONE:
    case LUA_TNIL: ok = nv_profiler_add_null(p, c); break;
    case LUA_TBOOLEAN: ok = nv_profiler_add_bool(p, c, lua_toboolean(L, idx)); break;
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx))
        ok = nv_profiler_add_int(p, c, (int64_t)lua_tointeger(L, idx));
      else
        ok = nv_profiler_add_double(p, c, (double)lua_tonumber(L, idx));
      break;
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(L, idx, &n);
      ok = nv_profiler_add_text(p, c, s, n);
      break;
    }
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == NULL) { /* json.null (cjson.null) */
        ok = nv_profiler_add_null(p, c);
        break;
      }
      /* fallthrough */
    default:
      luaL_error(L, "cannot profile a %s value", luaL_typename(L, idx));
      return;
  }
  if (!ok) oom(L);
}

static int l_add(lua_State *L) {
  struct nv_profiler *p = nv_profile_check(L, 1);
  size_t c = column_arg(L, p, 2);
  add_value(L, p, c, 3);
  return 0;
}

static int l_add_row(lua_State *L) {
  struct nv_profiler *p = nv_profile_check(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  size_t ncols = nv_profiler_ncols(p);
  lua_Integer n = luaL_len(L, 2);
  if (n < 0 || (lua_Unsigned)n > ncols)
    return luaL_error(L, "row has %I values but the profile has %I columns", n,
                      (lua_Integer)ncols);
  for (size_t c = 0; c < ncols; c++) {
    lua_geti(L, 2, (lua_Integer)c + 1);
    add_value(L, p, c, -1);
    lua_pop(L, 1);
  }
  nv_profiler_add_rows(p, 1);
  return 0;
}

static int l_add_rows(lua_State *L) {
  struct nv_profiler *p = nv_profile_check(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n >= 0, 2, "row count must not be negative");
  nv_profiler_add_rows(p, (uint64_t)n);
  return 0;
}

static int l_merge(lua_State *L) {
  struct nv_profiler *p = nv_profile_check(L, 1);
  struct nv_profiler *q = nv_profile_check(L, 2);
  luaL_argcheck(L, p != q, 2, "cannot merge a profile into itself");
  if (!nv_profiler_merge(p, q)) return oom(L);
  return 0;
}

/* ---- result ------------------------------------------------------------- */

static void set_int(lua_State *L, const char *k, uint64_t v) {
  lua_pushinteger(L, v > (uint64_t)LUA_MAXINTEGER ? LUA_MAXINTEGER : (lua_Integer)v);
  lua_setfield(L, -2, k);
}

static void set_num(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, (lua_Number)v);
  lua_setfield(L, -2, k);
}

static void set_bool(lua_State *L, const char *k, int v) {
  lua_pushboolean(L, v);
  lua_setfield(L, -2, k);
}

/* Length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629: no
 * overlong forms, surrogates or code points past U+10FFFF), or 0; *cut is
 * set when s ends inside a sequence that is well-formed so far. */
static size_t utf8_seq(const unsigned char *s, size_t n, int *cut) {
  unsigned char c = s[0], lo = 0x80, hi = 0xBF;
  size_t len;
  *cut = 0;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (size_t i = 1; i < len; i++) {
    if (i >= n) {
      *cut = 1;
      return 0;
    }
    if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xBF)) return 0;
  }
  return len;
}

/* Pushes s[0..n) as valid UTF-8: every byte that starts no well-formed
 * sequence becomes U+FFFD and sets *bad (the column's invalid_utf8). A
 * sequence cut by the engine's NV_PROFILE_VALUE_MAX truncation is dropped
 * without being reported: the value itself was well-formed. */
static void push_utf8(lua_State *L, const char *s, size_t n, int *bad) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, k;
  int cut;
  while (i < n && (k = utf8_seq(u + i, n - i, &cut)) > 0) i += k;
  if (i == n) {
    lua_pushlstring(L, s, n);
    return;
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addlstring(&b, s, i);
  while (i < n) {
    k = utf8_seq(u + i, n - i, &cut);
    if (k > 0) {
      luaL_addlstring(&b, s + i, k);
      i += k;
      continue;
    }
    if (cut && n == NV_PROFILE_VALUE_MAX) break;
    luaL_addstring(&b, "\xEF\xBF\xBD");
    *bad = 1;
    i++;
  }
  luaL_pushresult(&b);
}

static void set_text(lua_State *L, const char *k, struct nv_text t, int *bad) {
  push_utf8(L, t.s, t.n, bad);
  lua_setfield(L, -2, k);
}

static void push_texts(lua_State *L, const struct nv_text *t, size_t n, int *bad) {
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    push_utf8(L, t[i].s, t[i].n, bad);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

/* Pushes one column's table. r holds only plain values and views into the
 * engine, which the profile userdata owns: a raise here leaks nothing.
 * Every text is pushed as valid UTF-8; invalid_utf8 = true says some
 * value (or the name) had bytes replaced by U+FFFD. */
static void push_column(lua_State *L, const struct nv_column_result *r, size_t pos) {
  /* the exact field count: a 40-slot hint made every column a 64-node
   * table (about 1 KB more per column when thousands of tables are kept) */
  int nfields = 21 + (r->native_type != NULL) + r->has_confidence + r->has_mean + r->has_stddev +
                (r->minmax_kind != NV_STAT_NONE ? 2 : 0) + (r->quantile_kind != NV_STAT_NONE ? 5 : 0) +
                (r->has_lengths ? 3 : 0);
  int bad = 0;
  lua_createtable(L, 0, nfields);
  set_text(L, "name", r->name, &bad);
  set_int(L, "position", pos);
  if (r->native_type) {
    lua_pushstring(L, r->native_type);
    lua_setfield(L, -2, "native_type");
  }
  set_int(L, "rows", r->rows);
  set_int(L, "present", r->present);
  set_int(L, "null_count", r->null_count);
  set_int(L, "empty_count", r->empty_count);
  set_int(L, "missing_count", r->missing_count);
  set_int(L, "non_null", r->non_null);
  set_int(L, "distinct_count", r->distinct_count);
  set_bool(L, "distinct_exact", r->distinct_exact);
  set_num(L, "distinct_error", r->distinct_error);
  lua_pushstring(L, r->inferred_name);
  lua_setfield(L, -2, "inferred_type");
  if (r->has_confidence) set_num(L, "type_confidence", r->type_confidence);
  lua_createtable(L, 0, 4);
  for (int t = 0; t < NV_PT_NTYPES; t++)
    if (r->type_counts[t]) set_int(L, nv_pt_name(t), r->type_counts[t]);
  lua_setfield(L, -2, "type_counts");
  set_int(L, "valid_count", r->valid_count);
  set_int(L, "invalid_count", r->invalid_count);
  push_texts(L, r->invalid, r->ninvalid, &bad);
  lua_setfield(L, -2, "invalid_samples");

  switch (r->minmax_kind) {
    case NV_STAT_INT:
      lua_pushinteger(L, (lua_Integer)r->imin);
      lua_setfield(L, -2, "min");
      lua_pushinteger(L, (lua_Integer)r->imax);
      lua_setfield(L, -2, "max");
      break;
    case NV_STAT_NUM:
      set_num(L, "min", r->dmin);
      set_num(L, "max", r->dmax);
      break;
    case NV_STAT_TEXT:
      set_text(L, "min", r->tmin, &bad);
      set_text(L, "max", r->tmax, &bad);
      break;
    case NV_STAT_CHRONO:
      set_text(L, "min", (struct nv_text){r->cmin, r->cmin_len}, &bad);
      set_text(L, "max", (struct nv_text){r->cmax, r->cmax_len}, &bad);
      break;
    default: break;
  }
  if (r->has_mean) set_num(L, "mean", r->mean);
  if (r->has_stddev) set_num(L, "stddev", r->stddev);
  static const char *const qnames[3] = {"p25", "p50", "p75"};
  for (int i = 0; i < 3 && r->quantile_kind != NV_STAT_NONE; i++) {
    if (r->quantile_kind == NV_STAT_INT)
      lua_pushinteger(L, (lua_Integer)r->iq[i]);
    else
      lua_pushnumber(L, (lua_Number)r->q[i]);
    lua_setfield(L, -2, qnames[i]);
  }
  if (r->quantile_kind != NV_STAT_NONE) {
    set_bool(L, "quantiles_exact", r->quantiles_exact);
    set_num(L, "quantile_error", r->quantile_error);
  }
  if (r->has_lengths) {
    set_int(L, "min_length", r->min_length);
    set_int(L, "max_length", r->max_length);
    set_num(L, "avg_length", r->avg_length);
  }
  lua_createtable(L, (int)r->ntop, 0);
  for (size_t i = 0; i < r->ntop; i++) {
    lua_createtable(L, 0, 3);
    set_text(L, "value", r->top[i].value, &bad);
    set_int(L, "count", r->top[i].count);
    set_int(L, "count_error", r->top[i].error);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "top_values");
  set_bool(L, "top_values_exact", r->top_exact);
  push_texts(L, r->samples, r->nsamples, &bad);
  lua_setfield(L, -2, "samples");
  set_bool(L, "is_unique", r->is_unique);
  set_bool(L, "candidate_primary_key", r->candidate_primary_key);
  if (bad) set_bool(L, "invalid_utf8", 1);
}

static int l_result(lua_State *L) {
  struct nv_profiler *p = nv_profile_check(L, 1);
  size_t n = nv_profiler_ncols(p);
  lua_createtable(L, 0, 2);
  set_int(L, "rows", nv_profiler_rows(p));
  lua_createtable(L, n > INT32_MAX ? 0 : (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    struct nv_column_result r;
    if (!nv_profiler_result(p, i, &r)) return oom(L);
    push_column(L, &r, i);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "columns");
  const char *first;
  size_t first_len;
  uint64_t dropped = nv_profiler_dropped(p, &first, &first_len);
  if (dropped > 0) {
    set_int(L, "columns_dropped", dropped);
    int bad = 0; /* a column name is text from the file: sanitized like the others */
    set_text(L, "first_dropped", (struct nv_text){first, first_len}, &bad);
  }
  return 1;
}

/* A dump's bytes, owned by a userdata while they are copied into Lua. */
struct dump_box {
  unsigned char *bytes;
};

static int dump_gc(lua_State *L) {
  struct dump_box *b = luaL_checkudata(L, 1, DUMP_MT);
  free(b->bytes);
  b->bytes = NULL;
  return 0;
}

static int l_dump(lua_State *L) {
  struct nv_profiler *p = nv_profile_check(L, 1);
  struct dump_box *b = nv_newudata(L, sizeof *b, DUMP_MT);
  size_t n;
  if (!nv_profiler_dump(p, &b->bytes, &n)) return oom(L);
  lua_pushlstring(L, (const char *)b->bytes, n);
  free(b->bytes);
  b->bytes = NULL;
  return 1;
}

static int l_load(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  char err[256];
  struct profile *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->p = NULL;
  luaL_setmetatable(L, PROFILE_MT);
  u->p = nv_profiler_load(s, n, err, sizeof err);
  if (u->p == NULL) return nv_push_fail(L, err, strcmp(err, "out of memory") == 0 ? "memory" : "parse");
  return 1;
}

static int l_tostring(lua_State *L) {
  struct profile *u = luaL_checkudata(L, 1, PROFILE_MT);
  if (u->p == NULL)
    lua_pushliteral(L, "nv.Profile (closed)");
  else
    lua_pushfstring(L, "nv.Profile (%I columns, %I rows)", (lua_Integer)nv_profiler_ncols(u->p),
                    (lua_Integer)nv_profiler_rows(u->p));
  return 1;
}

static const luaL_Reg methods[] = {{"column", l_column},
                                   {"set_native_type", l_set_native_type},
                                   {"add", l_add},
                                   {"add_row", l_add_row},
                                   {"add_rows", l_add_rows},
                                   {"merge", l_merge},
                                   {"result", l_result},
                                   {"dump", l_dump},
                                   {"close", profile_close},
                                   {NULL, NULL}};
static const luaL_Reg metamethods[] = {{"__gc", profile_close},
                                       {"__close", profile_close},
                                       {"__tostring", l_tostring},
                                       {"__index", NULL},
                                       {NULL, NULL}};
static const luaL_Reg funcs[] = {{"new", l_new}, {"load", l_load}, {NULL, NULL}};
static const luaL_Reg dump_metamethods[] = {{"__gc", dump_gc}, {NULL, NULL}};

/* C readers may create profiles before any script requires nv.profile. */
static void create_meta(lua_State *L) {
  nv_createmeta(L, PROFILE_MT, metamethods, methods);
  nv_createmeta(L, DUMP_MT, dump_metamethods, NULL);
}

int luaopen_nv_profile(lua_State *L) {
  create_meta(L);
  luaL_newlib(L, funcs);
  return 1;
}
