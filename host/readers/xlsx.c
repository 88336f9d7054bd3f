/* xlsx.c - the `nv.xlsx` module: Excel .xlsx workbooks for the jobs. Uses
 * xlsx_parse.c (the engine) and nv.profile's userdata (nv_profile_check).
 *
 *   xlsx.open(path)          -> workbook | nil, msg, code
 *   wb:sheets()              -> {{name, index, state, dimension}, ...}
 *   wb:date1904()            -> boolean
 *   wb:profile_sheet_into(sheet, p [, {max_rows=, max_bytes=, progress=fn,
 *                         progress_bytes=}]) -> stats | nil, msg, stats
 *   wb:profile_into(p [, sheet] [, opts])  the same, in the reader contract's order
 *   wb:rows([sheet] [, max = 20]) -> iterator over row arrays (preview)
 *   wb:close()               idempotent; also __gc and __close
 * sheet is a name or a 1-based index (an unknown one raises; nil: the first).
 * max_bytes stops the read (truncated, not an error) once that many bytes of
 * the worksheet's XML are parsed; progress(bytes) is called after about every progress_bytes
 * (default 64 MiB) of worksheet XML parsed, bytes the share of the sheet's
 * compressed size read (over its two passes), and once after the sheet;
 * false from it raises "<path>: cancelled".
 * Codes: "open", "unsupported" (legacy .xls), "format", "limit", "memory".
 *
 * stats = {rows, columns, header = {names}, has_header, merged_cells,
 * merged_ranges = {first 5 "A1:B2"}, errors, trimmed_empty_rows, truncated}.
 *
 * rows() yields the sheet's first `max` non-empty rows (a detected header
 * row included, as it appears), trimmed to the columns holding values in
 * them: strings, numbers (integers as Lua integers), booleans, dates as ISO
 * text, errors as their text, "" for blank cells. They are read eagerly
 * (bounded by max) so nothing stays open after the call.
 *
 * It implements the reader contract (reader.h; listed in readers.c): tables()
 * (a table per worksheet), info(), profile_into and rows taking a table name first. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "luax.h"
#include "nvlua.h"
#include "reader.h"
#include "xlsx_parse.h"

#define WORKBOOK_MT "nv.XlsxWorkbook"
#define BOX_MT "nv.XlsxBox"
#define ERRSZ 512

struct workbook {
  struct nv_xlsx *wb;
  int busy; /* inside profile_into's progress callback: every method refused */
};

/* C memory a call owns while it may raise: freed by __gc if it does. */
struct cell_rec {
  int kind;
  uint32_t col;
  double num;
  size_t off, n;
};

struct box {
  struct nv_xlsx_stats st;
  int has_st;
  /* preview rows: cells[row_start[r] .. row_start[r+1]) */
  struct cell_rec *cells;
  size_t ncells, ccap;
  size_t *row_start;
  size_t nrows, rcap;
  char *text;
  size_t tlen, tcap;
};

static void box_free(struct box *b) {
  if (b->has_st) nv_xlsx_stats_free(&b->st);
  b->has_st = 0;
  free(b->cells);
  free(b->row_start);
  free(b->text);
  b->cells = NULL;
  b->row_start = NULL;
  b->text = NULL;
  b->ncells = b->ccap = b->nrows = b->rcap = b->tlen = b->tcap = 0;
}

static int box_gc(lua_State *L) {
  box_free(luaL_checkudata(L, 1, BOX_MT));
  return 0;
}

static struct box *push_box(lua_State *L) { return nv_newudata(L, sizeof(struct box), BOX_MT); }

static int reserve(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 1;
  size_t c = *cap ? *cap : 16;
  while (c < need) {
    if (c > SIZE_MAX / 2 / elem) return 0;
    c *= 2;
  }
  void *q = realloc(*p, c * elem);
  if (q == NULL) return 0;
  *p = q;
  *cap = c;
  return 1;
}

/* A nv_xlsx_row_fn: copies the row into the box (pure C, never raises). */
static int collect_row(void *ud, uint32_t row, const struct nv_xlsx_cell *cells, size_t n) {
  (void)row;
  struct box *b = ud;
  if (!reserve((void **)&b->row_start, &b->rcap, b->nrows + 2, sizeof *b->row_start) ||
      !reserve((void **)&b->cells, &b->ccap, b->ncells + n, sizeof *b->cells))
    return -1;
  b->row_start[b->nrows] = b->ncells;
  for (size_t i = 0; i < n; i++) {
    struct cell_rec *r = &b->cells[b->ncells++];
    r->kind = cells[i].kind;
    r->col = cells[i].col;
    r->num = cells[i].num;
    r->off = b->tlen;
    r->n = 0;
    if (cells[i].kind == NV_XLSX_TEXT || cells[i].kind == NV_XLSX_ERROR ||
        cells[i].kind == NV_XLSX_DATE) {
      if (!reserve((void **)&b->text, &b->tcap, b->tlen + cells[i].n + 1, 1)) return -1;
      if (cells[i].n) memcpy(b->text + b->tlen, cells[i].s, cells[i].n);
      b->tlen += cells[i].n;
      r->n = cells[i].n;
    }
  }
  b->nrows++;
  b->row_start[b->nrows] = b->ncells;
  return 0;
}

static struct workbook *check_wb(lua_State *L, int idx) {
  struct workbook *w = luaL_checkudata(L, idx, WORKBOOK_MT);
  nv_reader_check_idle(L, w->busy);
  if (w->wb == NULL) luaL_error(L, "attempt to use a closed workbook");
  return w;
}

/* The 0-based index of the sheet argument (a name or a 1-based index). */
static size_t check_sheet(lua_State *L, struct nv_xlsx *wb, int arg) {
  size_t n = nv_xlsx_nsheets(wb);
  if (lua_type(L, arg) == LUA_TNUMBER) {
    lua_Integer i = luaL_checkinteger(L, arg);
    if (i < 1 || (lua_Unsigned)i > n)
      luaL_argerror(L, arg, lua_pushfstring(L, "sheet index %I out of range (1..%I)", i,
                                            (lua_Integer)n));
    return (size_t)(i - 1);
  }
  size_t len;
  const char *name = luaL_checklstring(L, arg, &len);
  long i = nv_xlsx_find_sheet(wb, name, len);
  if (i < 0) luaL_argerror(L, arg, lua_pushfstring(L, "no sheet named '%s'", name));
  return (size_t)i;
}

static int l_open(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct workbook *w = lua_newuserdatauv(L, sizeof *w, 1);
  w->wb = NULL;
  w->busy = 0;
  luaL_setmetatable(L, WORKBOOK_MT);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);
  char err[ERRSZ];
  int code = 0;
  w->wb = nv_xlsx_open_file(path, NULL, &code, err, sizeof err);
  if (w->wb == NULL) {
    if (code == NV_XLSX_EOPEN) lua_pushfstring(L, "cannot open %s: %s", path, err);
    else lua_pushfstring(L, "%s: %s", path, err);
    return nv_push_fail(L, lua_tostring(L, -1), nv_xlsx_code_name(code));
  }
  return 1;
}

static int l_sheets(lua_State *L) {
  struct workbook *w = check_wb(L, 1);
  size_t n = nv_xlsx_nsheets(w->wb);
  lua_createtable(L, n > INT32_MAX ? 0 : (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    const struct nv_xlsx_sheet_info *s = nv_xlsx_sheet(w->wb, i);
    lua_createtable(L, 0, 4);
    lua_pushlstring(L, s->name, s->name_len);
    lua_setfield(L, -2, "name");
    lua_pushinteger(L, (lua_Integer)i + 1);
    lua_setfield(L, -2, "index");
    lua_pushstring(L, s->hidden ? "hidden" : "visible");
    lua_setfield(L, -2, "state");
    const char *dim = nv_xlsx_dimension(w->wb, i);
    if (dim) {
      lua_pushstring(L, dim);
      lua_setfield(L, -2, "dimension");
    }
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* r:info() -> {format="xlsx", path=, sheets=, date1904=} */
static int l_info(lua_State *L) {
  struct workbook *w = check_wb(L, 1);
  lua_createtable(L, 0, 4);
  lua_pushliteral(L, "xlsx");
  lua_setfield(L, -2, "format");
  lua_pushstring(L, nv_reader_uv_path(L, 1));
  lua_setfield(L, -2, "path");
  lua_pushinteger(L, (lua_Integer)nv_xlsx_nsheets(w->wb));
  lua_setfield(L, -2, "sheets");
  lua_pushboolean(L, nv_xlsx_date1904(w->wb));
  lua_setfield(L, -2, "date1904");
  return 1;
}

static int l_date1904(lua_State *L) {
  struct workbook *w = check_wb(L, 1);
  lua_pushboolean(L, nv_xlsx_date1904(w->wb));
  return 1;
}

static void push_stats(lua_State *L, const struct nv_xlsx_stats *st) {
  lua_createtable(L, 0, 10);
  lua_pushinteger(L, (lua_Integer)st->rows);
  lua_setfield(L, -2, "rows");
  lua_pushinteger(L, (lua_Integer)st->columns);
  lua_setfield(L, -2, "columns");
  lua_createtable(L, st->columns > INT32_MAX ? 0 : (int)st->columns, 0);
  for (size_t i = 0; st->header && i < st->columns; i++) {
    if (st->header[i] == NULL) break;
    lua_pushstring(L, st->header[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "header");
  lua_pushboolean(L, st->has_header);
  lua_setfield(L, -2, "has_header");
  lua_pushinteger(L, (lua_Integer)st->merged_cells);
  lua_setfield(L, -2, "merged_cells");
  lua_createtable(L, (int)st->nmerged_ranges, 0);
  for (size_t i = 0; i < st->nmerged_ranges; i++) {
    lua_pushstring(L, st->merged_ranges[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "merged_ranges");
  lua_pushinteger(L, (lua_Integer)st->errors);
  lua_setfield(L, -2, "errors");
  lua_pushinteger(L, (lua_Integer)st->trimmed_empty_rows);
  lua_setfield(L, -2, "trimmed_empty_rows");
  lua_pushboolean(L, st->truncated);
  lua_setfield(L, -2, "truncated");
}

/* The budget keys every reader takes (reader.h) */
struct budget {
  lua_Integer max_rows, max_bytes, progress_bytes;
  int progress; /* stack index of the progress function, 0 for none */
};

static lua_Integer opt_pos(lua_State *L, int idx, const char *key) {
  lua_Integer v = 0;
  if (lua_getfield(L, idx, key) != LUA_TNIL) {
    int isnum;
    v = lua_tointegerx(L, -1, &isnum);
    if (!isnum || v < 1) luaL_error(L, "option '%s' must be a positive integer", key);
  }
  lua_pop(L, 1);
  return v;
}

static struct budget opt_budget(lua_State *L, int idx) {
  static const char *const keys[] = {"max_rows", "max_bytes", "progress", "progress_bytes", "threads", NULL};
  struct budget b = {LUA_MAXINTEGER, 0, (lua_Integer)64 << 20, 0};
  if (lua_isnoneornil(L, idx)) return b;
  nv_check_keys(L, idx, keys, NULL);
  lua_Integer v = opt_pos(L, idx, "max_rows");
  if (v) b.max_rows = v;
  b.max_bytes = opt_pos(L, idx, "max_bytes");
  v = opt_pos(L, idx, "progress_bytes");
  if (v) b.progress_bytes = v;
  b.progress = nv_opt_function(L, idx, "progress");
  (void)nv_opt_int(L, idx, "threads", 1, 1, 64); /* the contract's option: a sheet is read on one thread */
  return b;
}

/* Progress within a sheet (nv_xlsx_set_progress): the Lua function, called
 * protected with the workbook busy; an error in it stops further calls. */
struct progress {
  lua_State *L;
  int fn; /* stack index, 0 once it failed */
  struct workbook *w;
  int cancelled;
};

static int on_progress(void *ud, uint64_t bytes) {
  struct progress *pr = ud;
  if (!pr->fn) return 1;
  if (!lua_checkstack(pr->L, 3)) return 1;
  if (nv_reader_progress(pr->L, &pr->fn, &pr->w->busy, (lua_Integer)bytes)) pr->cancelled = 1;
  return !pr->cancelled;
}

/* Profiles sheet into the profile at pidx with the budget at oidx. */
static int profile_sheet(lua_State *L, struct workbook *w, size_t sheet, int pidx, int oidx) {
  struct nv_profiler *p = nv_profile_check(L, pidx);
  struct budget bu = opt_budget(L, oidx);
  struct box *b = push_box(L);
  char err[ERRSZ];
  struct progress pr = {L, bu.progress, w, 0};
  if (bu.progress) nv_xlsx_set_progress(w->wb, on_progress, &pr, (uint64_t)bu.progress_bytes);
  int rc = nv_xlsx_profile_bytes(w->wb, sheet, p, (uint64_t)bu.max_rows, (uint64_t)bu.max_bytes,
                                 &b->st, err, sizeof err);
  nv_xlsx_set_progress(w->wb, NULL, NULL, 0);
  b->has_st = 1;
  if (rc == NV_XLSX_ECANCELLED) {
    box_free(b);
    return luaL_error(L, "%s: cancelled", nv_reader_uv_path(L, 1));
  }
  if (pr.fn) /* after the sheet, an error in it ignored */
    (void)nv_reader_progress(L, &pr.fn, &w->busy, (lua_Integer)b->st.read_share);
  if (rc == NV_XLSX_OK) {
    push_stats(L, &b->st);
    box_free(b);
    return 1;
  }
  const struct nv_xlsx_sheet_info *si = nv_xlsx_sheet(w->wb, sheet);
  luaL_pushfail(L);
  lua_pushfstring(L, "%s: sheet '%s': %s", nv_reader_uv_path(L, 1), si->name, err);
  push_stats(L, &b->st);
  box_free(b);
  return 3;
}

static int l_profile_sheet_into(lua_State *L) {
  struct workbook *w = check_wb(L, 1);
  size_t sheet = check_sheet(L, w->wb, 2);
  return profile_sheet(L, w, sheet, 3, 4);
}

/* r:profile_into(p [, sheet] [, opts]): the reader contract; sheet nil: the first */
static int l_profile_into(lua_State *L) {
  struct workbook *w = check_wb(L, 1);
  if (lua_istable(L, 3)) { /* (p, opts): the first sheet */
    lua_settop(L, 3);
    lua_pushnil(L);
    lua_insert(L, 3);
  }
  size_t sheet = lua_isnoneornil(L, 3) ? 0 : check_sheet(L, w->wb, 3);
  if (nv_xlsx_nsheets(w->wb) == 0) return luaL_error(L, "%s: the workbook has no sheets", nv_reader_uv_path(L, 1));
  return profile_sheet(L, w, sheet, 2, 4);
}

static void push_cell(lua_State *L, const struct box *b, const struct cell_rec *r) {
  switch (r->kind) {
  case NV_XLSX_NUMBER:
    if (r->num == floor(r->num) && fabs(r->num) < 9007199254740992.0)
      lua_pushinteger(L, (lua_Integer)r->num);
    else
      lua_pushnumber(L, r->num);
    break;
  case NV_XLSX_BOOL:
    lua_pushboolean(L, r->num != 0);
    break;
  default:
    lua_pushlstring(L, r->n ? b->text + r->off : "", r->n);
  }
}

/* upvalues: the list of rows, the next index */
static int rows_iter(lua_State *L) {
  lua_Integer i = lua_tointeger(L, lua_upvalueindex(2));
  if (lua_rawgeti(L, lua_upvalueindex(1), i) == LUA_TNIL) return 1;
  lua_pushinteger(L, i + 1);
  lua_replace(L, lua_upvalueindex(2));
  return 1;
}

static int l_rows(lua_State *L) {
  struct workbook *w = check_wb(L, 1);
  if (lua_isnoneornil(L, 2) && nv_xlsx_nsheets(w->wb) == 0)
    return luaL_error(L, "%s: the workbook has no sheets", nv_reader_uv_path(L, 1));
  size_t sheet = lua_isnoneornil(L, 2) ? 0 : check_sheet(L, w->wb, 2);
  lua_Integer max = luaL_optinteger(L, 3, 20);
  luaL_argcheck(L, max >= 0, 3, "must be non-negative");
  struct box *b = push_box(L);
  char err[ERRSZ];
  size_t ncols = 0;
  int rc = nv_xlsx_preview(w->wb, sheet, (uint64_t)max, collect_row, b, &ncols, err, sizeof err);
  if (rc != NV_XLSX_OK) {
    box_free(b);
    const struct nv_xlsx_sheet_info *si = nv_xlsx_sheet(w->wb, sheet);
    return luaL_error(L, "%s: sheet '%s': %s", nv_reader_uv_path(L, 1), si->name, err);
  }
  lua_createtable(L, b->nrows > INT32_MAX ? 0 : (int)b->nrows, 0);
  for (size_t r = 0; r < b->nrows; r++) {
    lua_createtable(L, ncols > INT32_MAX ? 0 : (int)ncols, 0);
    size_t k = b->row_start[r], end = b->row_start[r + 1];
    for (size_t c = 1; c <= ncols; c++) {
      if (k < end && b->cells[k].col == c) push_cell(L, b, &b->cells[k++]);
      else lua_pushliteral(L, "");
      lua_rawseti(L, -2, (lua_Integer)c);
    }
    lua_rawseti(L, -2, (lua_Integer)r + 1);
  }
  box_free(b);
  lua_pushinteger(L, 1);
  lua_pushcclosure(L, rows_iter, 2);
  return 1;
}

static int l_close(lua_State *L) {
  struct workbook *w = luaL_checkudata(L, 1, WORKBOOK_MT);
  nv_reader_check_idle(L, w->busy);
  nv_xlsx_close(w->wb);
  w->wb = NULL;
  lua_pushboolean(L, 1);
  return 1;
}

/* __close: refused inside the progress callback, as close() is */
static int l_close_tbc(lua_State *L) {
  l_close(L);
  return 0;
}

static int l_gc(lua_State *L) {
  struct workbook *w = luaL_checkudata(L, 1, WORKBOOK_MT);
  nv_xlsx_close(w->wb);
  w->wb = NULL;
  return 0;
}

static int l_tostring(lua_State *L) {
  struct workbook *w = luaL_checkudata(L, 1, WORKBOOK_MT);
  if (w->wb == NULL) lua_pushliteral(L, "nv.XlsxWorkbook (closed)");
  else lua_pushfstring(L, "nv.XlsxWorkbook (%s)", nv_reader_uv_path(L, 1));
  return 1;
}

static const luaL_Reg functions[] = {{"open", l_open}, {NULL, NULL}};

static const luaL_Reg methods[] = {{"tables", l_sheets},
                                   {"info", l_info},
                                   {"profile_into", l_profile_into},
                                   {"sheets", l_sheets},
                                   {"date1904", l_date1904},
                                   {"profile_sheet_into", l_profile_sheet_into},
                                   {"rows", l_rows},
                                   {"close", l_close},
                                   {NULL, NULL}};

static const luaL_Reg metamethods[] = {
    {"__gc", l_gc}, {"__close", l_close_tbc}, {"__tostring", l_tostring}, {"__index", NULL}, {NULL, NULL}};

static const luaL_Reg box_metamethods[] = {{"__gc", box_gc}, {NULL, NULL}};

int luaopen_nv_xlsx(lua_State *L) {
  nv_createmeta(L, WORKBOOK_MT, metamethods, methods);
  nv_createmeta(L, BOX_MT, box_metamethods, NULL);
  luaL_newlib(L, functions);
  return 1;
}

/* the reader contract (reader.h): one table per worksheet */
static const char *const aliases[] = {"excel", "xlsm", NULL};
static const char *const extensions[] = {".xlsx", ".xlsm", NULL};
const struct nv_reader nv_reader_xlsx = {"xlsx", aliases, extensions, nv_xlsx_sniff_score, l_open,
                                        "nv.xlsx", luaopen_nv_xlsx};
