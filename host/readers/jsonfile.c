/* jsonfile.c - the nv.jsonfile module: JSON files (plain, gzip or zstd)
 * streamed into a column profile, or previewed as Lua tables. The layout
 * (NDJSON, a top-level array, values one after another, or one object
 * whose main array holds the records) is sniffed from at most SNIFF_MAX
 * bytes (json_parse.h, nv_json_sniff); in a one-line .jsonl / .ndjson
 * file the one object is a record even when an array of objects fills it.
 *
 *   jf.open(path [, {compression=, max_record_bytes=, format=}])
 *                              -> reader "nv.JsonReader" | nil, msg, code, errno
 *   r:format()                 -> "ndjson" | "array" | "values" | "object"
 *   r:records_path()           -> the object layout's records key | nil
 *   r:profile_into(p [, {max_records=, max_bytes=, progress=fn, progress_bytes=}])
 *                              -> stats | nil, msg, stats
 *      (max_rows= is accepted for max_records, as CSV readers name it;
 *      progress(raw_bytes) is called after each progress_bytes (default
 *      64 MiB) parsed, as nv.csv does: an error in it stops further calls;
 *      when it returns false, profile_into raises "<path>: cancelled")
 *      stats: format, records_path (object layout), records = rows, bytes,
 *      raw_bytes, bad_records, bad_lines and errors (the first KEEP, each
 *      "record N (line L, byte offset B): cause; text: <first 40 bytes>"),
 *      invalid_utf8, duplicate_keys, lines (NDJSON), truncated, array_types
 *   r:records([max=20])        -> iterator over records as nested tables
 *                                 (a value record as {json = value})
 *   r:close()                  idempotent; also __gc and __close
 *
 * Every profile_into / records call is a full pass from the start of the
 * file (the first one reuses the chunk open() read to detect the layout).
 * Uses json_parse.c (parsing), instream.c (bytes, decompression) and the
 * profiler engine behind nv.profile. The hot loop (parse, flatten, feed the
 * profiler) is all C; Lua sees only the stats.
 *
 * It implements the reader contract (reader.h; listed in readers.c): tables()
 * (one table), info(), profile_into and rows taking a table name first. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "instream.h"
#include "json_parse.h"
#include "luax.h"
#include "nvlua.h"
#include "paths.h"
#include "profiler/profiler.h"
#include "reader.h"

#define READER "nv.JsonReader"
#define RECORDS "nv.JsonRecords"
/* Also bounds what a corrupt compressed file loses: nv_instream_read drops
 * the output of the call that finds the damage. */
#define CHUNK ((size_t)64 * 1024)
#define MAX_RECORD_LIMIT ((lua_Integer)1 << 30)
#define KEEP 5 /* bad line numbers and error messages kept in stats */
/* Bounds the look-ahead that finds a top-level object's main array. */
#define SNIFF_MAX ((size_t)16 << 20)

/* One pass over the file: a stream, its parser, and the current chunk. */
struct pass {
  struct nv_instream *s;
  struct nv_json_parser *jp;
  char *buf;
  size_t len, pos;
  int eof;    /* the stream returned 0 */
  int broken; /* the first read failed: reported by the pass, not by open */
};

struct colstate {
  uint64_t stamp;  /* last record that gave this column a value */
  unsigned elems;  /* union of array element kinds */
  int is_array;
  char *name;      /* kept for array columns (stats.array_types) */
  size_t name_len;
};

struct cacheent { /* field position -> column, for records shaped alike */
  char *path;
  size_t len, cap;
  long col;
};

struct reader {
  char *path; /* NULL once closed */
  enum nv_compression comp, actual;
  size_t max_record;
  enum nv_json_format fmt;
  char records_path[NV_JSON_KEY_MAX]; /* object layout: raw key text */
  size_t records_path_len;
  struct pass *first; /* opened by open(), unused until the first pass */
  struct pass *cur;   /* the pass profile_into is running */
  struct colstate *cols;
  size_t ncols;
  struct cacheent *cache;
  size_t ncache;
  int busy; /* inside profile_into's progress callback: close and reads refused */
};

/* ---- passes ---------------------------------------------------------- */

static void pass_free(struct pass *ps) {
  if (ps == NULL) return;
  nv_json_free(ps->jp);
  (void)nv_instream_close(ps->s); /* read-only: nothing is lost if close fails */
  free(ps->buf);
  free(ps);
}

/* Opens path and reads its first chunk. NULL with a message in err
 * (*code: errno) when the file cannot be opened; bad data in the first
 * chunk is left for the pass to report, with its position. */
static struct pass *pass_open(const char *path, enum nv_compression comp, char *err, size_t errsz, int *code) {
  struct pass *ps = calloc(1, sizeof *ps);
  if (ps == NULL || (ps->buf = malloc(CHUNK)) == NULL) {
    free(ps);
    snprintf(err, errsz, "%s: out of memory", path);
    *code = ENOMEM;
    return NULL;
  }
  errno = 0;
  ps->s = nv_instream_open(path, comp, err, errsz);
  if (ps->s == NULL) {
    *code = errno ? errno : EIO;
    pass_free(ps);
    return NULL;
  }
  long n = nv_instream_read(ps->s, ps->buf, CHUNK);
  if (n < 0) {
    ps->broken = 1;
    n = 0;
  }
  ps->len = (size_t)n;
  ps->eof = n == 0 && !ps->broken;
  return ps;
}

static int pass_start(struct reader *r, struct pass *ps, const struct nv_json_handler *h, int flatten) {
  struct nv_json_config cfg = {r->fmt, r->max_record, 0, 0, flatten, r->records_path, r->records_path_len};
  ps->jp = nv_json_new(&cfg, h);
  return ps->jp != NULL;
}

/* The layout: sniffed from the first chunk, and when that does not decide,
 * from up to SNIFF_MAX bytes read by a second stream (the first pass keeps
 * its chunk). A read error ends the look-ahead: the pass reports it. */
static void detect(struct reader *r, const char *path) {
  struct nv_json_sniff sn;
  nv_json_sniff_init(&sn);
  struct pass *ps = r->first;
  int eof = ps->eof || ps->broken; /* a short first read is not the end: read on */
  if (!nv_json_sniff_feed(&sn, ps->buf, ps->len) && !eof) {
    char err[64];
    int code;
    struct pass *more = pass_open(path, r->comp, err, sizeof err, &code);
    size_t seen = more ? more->len : 0; /* its first chunk is the one already fed */
    eof = more == NULL || more->eof || more->broken;
    if (more && !eof) {
      while (seen < SNIFF_MAX) {
        long got = nv_instream_read(more->s, more->buf, CHUNK);
        if (got <= 0) {
          eof = got == 0;
          break;
        }
        seen += (size_t)got;
        if (nv_json_sniff_feed(&sn, more->buf, (size_t)got)) break;
      }
    }
    pass_free(more);
  }
  nv_json_sniff_end(&sn, eof);
  r->fmt = sn.format;
  if ((nv_paths_has_suffix(path, ".jsonl") || nv_paths_has_suffix(path, ".ndjson") || nv_paths_has_suffix(path, ".jsonl.gz") ||
       nv_paths_has_suffix(path, ".ndjson.gz") || nv_paths_has_suffix(path, ".jsonl.zst") || nv_paths_has_suffix(path, ".ndjson.zst")) &&
      !sn.multiline && r->fmt == NV_JSON_OBJECT)
    r->fmt = NV_JSON_NDJSON; /* one record on one line: its arrays stay columns */
  if (r->fmt == NV_JSON_OBJECT) {
    memcpy(r->records_path, sn.records_path, sn.records_path_len);
    r->records_path_len = sn.records_path_len;
  }
}

static const char *fmt_name(enum nv_json_format f) {
  switch (f) {
    case NV_JSON_ARRAY: return "array";
    case NV_JSON_VALUES: return "values";
    case NV_JSON_OBJECT: return "object";
    default: return "ndjson";
  }
}

/* ---- the reader handle --------------------------------------------- */

static struct reader *check_reader(lua_State *L) {
  struct reader *r = luaL_checkudata(L, 1, READER);
  if (r->path == NULL) luaL_error(L, "attempt to use a closed reader");
  nv_reader_check_idle(L, r->busy);
  return r;
}

/* Forgets the column states and the path -> column cache: both belong to
 * the profile of one profile_into pass (column numbers are that profile's). */
static void columns_reset(struct reader *r) {
  for (size_t i = 0; i < r->ncols; i++) free(r->cols[i].name);
  free(r->cols);
  r->cols = NULL;
  r->ncols = 0;
  for (size_t i = 0; i < r->ncache; i++) free(r->cache[i].path);
  free(r->cache);
  r->cache = NULL;
  r->ncache = 0;
}

static void reader_release(struct reader *r) {
  pass_free(r->first);
  pass_free(r->cur);
  r->first = r->cur = NULL;
  columns_reset(r);
  free(r->path);
  r->path = NULL;
}

static int l_close(lua_State *L) {
  struct reader *r = luaL_checkudata(L, 1, READER);
  nv_reader_check_idle(L, r->busy);
  reader_release(r);
  return 0;
}

static int l_tostring(lua_State *L) {
  struct reader *r = luaL_checkudata(L, 1, READER);
  if (r->path) lua_pushfstring(L, READER " (%s)", r->path);
  else lua_pushliteral(L, READER " (closed)");
  return 1;
}

static const char *const comp_names[] = {"auto", "none", "gzip", "zstd", NULL};
static const char *const fmt_names[] = {"auto", "ndjson", "array", "values", NULL};

static int opt_choice(lua_State *L, int t, const char *key, const char *const names[], int def) {
  int v = def;
  if (lua_getfield(L, t, key) != LUA_TNIL) {
    const char *s = lua_tostring(L, -1);
    for (v = 0; s && names[v]; v++)
      if (strcmp(names[v], s) == 0) break;
    if (s == NULL || names[v] == NULL)
      return luaL_error(L, "bad option '%s': '%s' is not one of %s, %s, %s, %s", key, s ? s : luaL_typename(L, -1),
                        names[0], names[1], names[2], names[3] ? names[3] : "(none)");
  }
  lua_pop(L, 1);
  return v;
}

static lua_Integer opt_int(lua_State *L, int t, const char *key, lua_Integer def, lua_Integer lo, lua_Integer hi) {
  lua_Integer v = def;
  if (lua_getfield(L, t, key) != LUA_TNIL) {
    int ok;
    v = lua_tointegerx(L, -1, &ok);
    if (!ok || v < lo || v > hi)
      return luaL_error(L, "bad option '%s': expected an integer from %I to %I", key, lo, hi);
  }
  lua_pop(L, 1);
  return v;
}

static int l_open(lua_State *L) {
  static const char *const keys[] = {"compression", "max_record_bytes", "format", NULL};
  const char *path = luaL_checkstring(L, 1);
  int comp = NV_COMP_AUTO, fmt = NV_JSON_AUTO;
  lua_Integer maxrec = 16 << 20;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    nv_check_keys(L, 2, keys, NULL);
    comp = opt_choice(L, 2, "compression", comp_names, 0);
    fmt = opt_choice(L, 2, "format", fmt_names, 0);
    maxrec = opt_int(L, 2, "max_record_bytes", maxrec, 1, MAX_RECORD_LIMIT);
  }
  static const enum nv_compression comps[] = {NV_COMP_AUTO, NV_COMP_NONE, NV_COMP_GZIP, NV_COMP_ZSTD};
  static const enum nv_json_format fmts[] = {NV_JSON_AUTO, NV_JSON_NDJSON, NV_JSON_ARRAY, NV_JSON_VALUES};

  struct reader *r = nv_newudata(L, sizeof *r, READER); /* starts closed */
  size_t plen = strlen(path);
  char err[512];
  int code = 0;
  r->comp = comps[comp];
  r->max_record = (size_t)maxrec;
  r->first = pass_open(path, r->comp, err, sizeof err, &code);
  if (r->first == NULL) { /* nil, msg, kind, errno: the readers' convention */
    nv_push_fail(L, err, code == ENOMEM ? "memory" : "open");
    lua_pushinteger(L, code);
    return 4;
  }
  r->actual = nv_instream_compression(r->first->s);
  r->path = malloc(plen + 1);
  if (r->path == NULL) {
    reader_release(r);
    return luaL_error(L, "out of memory");
  }
  memcpy(r->path, path, plen + 1);
  if (fmts[fmt] != NV_JSON_AUTO) r->fmt = fmts[fmt];
  else detect(r, path);
  return 1;
}

static int l_format(lua_State *L) {
  struct reader *r = check_reader(L);
  lua_pushstring(L, fmt_name(r->fmt));
  return 1;
}

static int l_records_path(lua_State *L) {
  struct reader *r = check_reader(L);
  if (r->fmt != NV_JSON_OBJECT) return 0;
  lua_pushlstring(L, r->records_path, r->records_path_len);
  return 1;
}

/* r:tables() -> { {name=} }: a JSON file is one table (its records) */
static int l_tables(lua_State *L) {
  struct reader *r = check_reader(L);
  nv_reader_push_single_table(L, r->path);
  return 1;
}

/* r:info() -> {format="json", path=, layout=, records_path=?, compression=} */
static int l_info(lua_State *L) {
  struct reader *r = check_reader(L);
  lua_createtable(L, 0, 5);
  lua_pushliteral(L, "json");
  lua_setfield(L, -2, "format");
  lua_pushstring(L, r->path);
  lua_setfield(L, -2, "path");
  lua_pushstring(L, fmt_name(r->fmt));
  lua_setfield(L, -2, "layout");
  if (r->fmt == NV_JSON_OBJECT) {
    lua_pushlstring(L, r->records_path, r->records_path_len);
    lua_setfield(L, -2, "records_path");
  }
  lua_pushstring(L, comp_names[r->actual]);
  lua_setfield(L, -2, "compression");
  return 1;
}

/* The pass to run: the unused first one, or a new one from the start. */
static struct pass *take_pass(struct reader *r, char *err, size_t errsz, int *code) {
  struct pass *ps = r->first;
  r->first = NULL;
  if (ps == NULL) ps = pass_open(r->path, r->comp, err, errsz, code);
  return ps;
}

/* Next bytes to feed: 1 with b and n set, 0 at end of input, -1 on a read
 * error. */
static int pass_next(struct pass *ps, const char **b, size_t *n) {
  if (ps->pos == ps->len) {
    if (ps->broken) return -1;
    if (ps->eof) return 0;
    long got = nv_instream_read(ps->s, ps->buf, CHUNK);
    if (got < 0) return -1;
    ps->len = (size_t)got;
    ps->pos = 0;
    if (got == 0) {
      ps->eof = 1;
      return 0;
    }
  }
  *b = ps->buf + ps->pos;
  *n = ps->len - ps->pos;
  return 1;
}

/* ---- profile_into ---------------------------------------------------- */

struct prof {
  struct reader *r;
  struct nv_profiler *p;
  uint64_t max_records, done, dups;
  int over, oom;
  uint64_t bad_lines[KEEP];
  size_t nbad_lines;
  char errors[KEEP][640];
  size_t nerrors;
  lua_State *L;   /* for the progress callback */
  int progress;   /* its stack index, 0 for none */
  uint64_t step, next_report;
};

/* Calls the progress function with the raw bytes read; an error in it
 * stops further calls. Returns 1 to go on, 0 when the callback closed the
 * profile (argument 2 of profile_into), -1 when it returned false. */
static int report_progress(struct prof *x, struct pass *ps) {
  lua_State *L = x->L;
  lua_pushvalue(L, x->progress);
  lua_pushinteger(L, (lua_Integer)nv_instream_raw_bytes(ps->s));
  x->r->busy = 1;
  int cancel = 0;
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    x->progress = 0;
  } else {
    cancel = lua_isboolean(L, -1) && !lua_toboolean(L, -1);
  }
  lua_pop(L, 1);
  x->r->busy = 0;
  if (cancel) return -1;
  return nv_profile_test(L, 2) == x->p && x->r->path != NULL && x->r->cur == ps;
}

static int col_state(struct reader *r, long col) {
  size_t need = (size_t)col + 1;
  if (need <= r->ncols) return 1;
  size_t n = r->ncols ? r->ncols : 16;
  while (n < need) n *= 2;
  if (n > SIZE_MAX / sizeof *r->cols) return 0;
  struct colstate *nc = realloc(r->cols, n * sizeof *nc);
  if (nc == NULL) return 0;
  memset(nc + r->ncols, 0, (n - r->ncols) * sizeof *nc);
  r->cols = nc;
  r->ncols = n;
  return 1;
}

/* Column of the k-th field: records usually repeat their shape, so the
 * path is first compared with the k-th path of the previous record. */
static long column(struct prof *x, size_t k, const char *path, size_t len) {
  struct reader *r = x->r;
  if (k >= r->ncache) {
    size_t n = r->ncache ? r->ncache * 2 : 32;
    while (n <= k) n *= 2;
    if (n > SIZE_MAX / sizeof *r->cache) return -1;
    struct cacheent *nc = realloc(r->cache, n * sizeof *nc);
    if (nc == NULL) return -1;
    memset(nc + r->ncache, 0, (n - r->ncache) * sizeof *nc);
    r->cache = nc;
    r->ncache = n;
  }
  struct cacheent *e = &r->cache[k];
  if (e->path && e->len == len && memcmp(e->path, path, len) == 0) return e->col;
  long col = nv_profiler_column(x->p, path, len);
  if (col < 0) return -1;
  if (len + 1 > e->cap) {
    char *np = realloc(e->path, len + 1);
    if (np == NULL) return -1;
    e->path = np;
    e->cap = len + 1;
  }
  memcpy(e->path, path, len);
  e->path[len] = '\0';
  e->len = len;
  e->col = col;
  return col;
}

static int add_field(struct prof *x, const struct nv_json_field *f, long col) {
  struct nv_profiler *p = x->p;
  size_t c = (size_t)col;
  switch (f->v.kind) {
    case 's': return nv_profiler_add_text(p, c, f->v.str, f->v.len);
    case 'i': return nv_profiler_add_int(p, c, f->v.i);
    case 'd': return nv_profiler_add_double(p, c, f->v.d);
    case 't': return nv_profiler_add_bool(p, c, 1);
    case 'f': return nv_profiler_add_bool(p, c, 0);
    case 'n': return nv_profiler_add_null(p, c);
    default: break;
  }
  if (f->v.kind == 'a') {
    struct colstate *cs = &x->r->cols[col];
    cs->elems |= f->elems;
    if (!cs->is_array) {
      cs->name = malloc(f->path_len + 1);
      if (cs->name == NULL) return 0;
      memcpy(cs->name, f->path, f->path_len);
      cs->name[f->path_len] = '\0';
      cs->name_len = f->path_len;
      cs->is_array = 1;
    }
  }
  return nv_profiler_add_nested(p, c, f->v.kind, f->v.str, f->v.len);
}

static int on_profile_record(void *ud, const struct nv_json_record *rec) {
  struct prof *x = ud;
  if (x->max_records && x->done >= x->max_records) { /* one past the budget */
    x->over = 1;
    return 1;
  }
  for (size_t k = 0; k < rec->nfields; k++) {
    const struct nv_json_field *f = &rec->fields[k];
    long col = column(x, k, f->path, f->path_len);
    if (col == NV_PROFILER_DROPPED) continue; /* past max_columns: counted by the profiler */
    if (col < 0 || !col_state(x->r, col)) {
      x->oom = 1;
      return 1;
    }
    struct colstate *cs = &x->r->cols[col];
    if (cs->stamp == rec->recno) { /* a repeated key (or "a.b" vs a:{b}): first wins */
      x->dups++;
      continue;
    }
    cs->stamp = rec->recno;
    if (!add_field(x, f, col)) {
      x->oom = 1;
      return 1;
    }
  }
  nv_profiler_add_rows(x->p, 1);
  x->done++;
  return 0;
}

/* The record's first bytes as written (so that the secret masking of
 * log lines and results recognises `"password": "…"` in them), with
 * control bytes as \xNN; "…" when cut. */
static void excerpt(char *o, size_t cap, const char *s, size_t n, int cut) {
  size_t k = 0;
  for (size_t i = 0; i < n && k + 8 < cap; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f) {
      k += (size_t)snprintf(o + k, cap - k, "\\x%02x", c);
    } else {
      o[k++] = (char)c; /* UTF-8 passes; the log and the JSON encoder judge it */
    }
  }
  if (cut && k + 4 < cap) {
    memcpy(o + k, "\xE2\x80\xA6", 3);
    k += 3;
  }
  o[k] = '\0';
}

static int on_profile_bad(void *ud, const struct nv_json_bad *b) {
  struct prof *x = ud;
  if (b->line && x->nbad_lines < KEEP) x->bad_lines[x->nbad_lines++] = b->line;
  if (x->nerrors < KEEP) {
    char ex[NV_JSON_EXCERPT * 4 + 8];
    excerpt(ex, sizeof ex, b->excerpt, b->excerpt_len, b->excerpt_cut);
    snprintf(x->errors[x->nerrors++], sizeof x->errors[0], "%s; text: %s", b->msg, ex);
  }
  return 0;
}

static const char *array_type(unsigned e) {
  e &= ~(unsigned)NV_JSON_E_NULL;
  switch (e) {
    case 0: return "array<unknown>";
    case NV_JSON_E_STRING: return "array<string>";
    case NV_JSON_E_INT: return "array<integer>";
    case NV_JSON_E_DOUBLE:
    case NV_JSON_E_INT | NV_JSON_E_DOUBLE: return "array<number>";
    case NV_JSON_E_BOOL: return "array<boolean>";
    case NV_JSON_E_OBJECT: return "array<object>";
    case NV_JSON_E_ARRAY: return "array<array>";
    default: return "array<mixed>";
  }
}

static void set_int(lua_State *L, const char *k, uint64_t v) {
  lua_pushinteger(L, (lua_Integer)v);
  lua_setfield(L, -2, k);
}

static void push_stats(lua_State *L, const struct prof *x, const struct pass *ps, int truncated) {
  struct reader *r = x->r;
  const struct nv_json_stats *st = ps && ps->jp ? nv_json_stats(ps->jp) : NULL;
  lua_createtable(L, 0, 12);
  lua_pushstring(L, fmt_name(r->fmt));
  lua_setfield(L, -2, "format");
  if (r->fmt == NV_JSON_OBJECT) {
    lua_pushlstring(L, r->records_path, r->records_path_len);
    lua_setfield(L, -2, "records_path");
  }
  set_int(L, "records", x->done);
  set_int(L, "rows", x->done);
  set_int(L, "bytes", st ? st->bytes : 0);
  set_int(L, "raw_bytes", ps && ps->s ? nv_instream_raw_bytes(ps->s) : 0);
  set_int(L, "bad_records", st ? st->bad_records : 0);
  set_int(L, "invalid_utf8", st ? st->invalid_utf8 : 0);
  set_int(L, "duplicate_keys", x->dups);
  if (r->fmt == NV_JSON_NDJSON) set_int(L, "lines", st ? st->lines : 0);
  lua_pushboolean(L, truncated);
  lua_setfield(L, -2, "truncated");
  lua_createtable(L, (int)x->nbad_lines, 0);
  for (size_t i = 0; i < x->nbad_lines; i++) {
    lua_pushinteger(L, (lua_Integer)x->bad_lines[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "bad_lines");
  lua_createtable(L, (int)x->nerrors, 0);
  for (size_t i = 0; i < x->nerrors; i++) {
    lua_pushstring(L, x->errors[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "errors");
  lua_newtable(L);
  for (size_t i = 0; i < r->ncols; i++) {
    const struct colstate *cs = &r->cols[i];
    if (!cs->is_array) continue;
    lua_pushlstring(L, cs->name, cs->name_len);
    lua_pushstring(L, array_type(cs->elems));
    lua_rawset(L, -3);
  }
  lua_setfield(L, -2, "array_types");
}

/* Runs the pass; returns 0 done, 1 stopped by a budget, -1 fatal (message
 * in err), -2 out of memory. */
static int run_profile(struct prof *x, struct pass *ps, uint64_t max_bytes, char *err, size_t errsz) {
  uint64_t fed = 0;
  for (;;) {
    const char *b;
    size_t n, used;
    int more = pass_next(ps, &b, &n);
    if (more < 0) {
      snprintf(err, errsz, "%s (at byte offset %llu)", nv_instream_error(ps->s),
               (unsigned long long)nv_instream_bytes(ps->s));
      return -1;
    }
    if (more == 0) break;
    if (max_bytes) {
      if (fed == max_bytes) return 1; /* more input than the budget */
      if (n > max_bytes - fed) n = (size_t)(max_bytes - fed);
    }
    int rc = nv_json_feed(ps->jp, b, n, &used);
    ps->pos += used;
    fed += used;
    if (x->oom) return -2;
    if (rc == NV_JSON_FAIL) break;
    if (rc == NV_JSON_STOP) return 1;
    if (x->progress && fed >= x->next_report) {
      x->next_report = fed + x->step;
      int go = report_progress(x, ps);
      if (go <= 0) {
        snprintf(err, errsz, "%s: %s", x->r->path ? x->r->path : "?",
                 go < 0 ? "cancelled" : "the profile was closed during profile_into");
        return -3;
      }
    }
  }
  int rc = nv_json_finish(ps->jp);
  if (x->oom) return -2;
  if (rc == NV_JSON_STOP) return 1;
  if (rc == NV_JSON_FAIL) {
    snprintf(err, errsz, "%s: %s", x->r->path, nv_json_error(ps->jp));
    return -1;
  }
  return 0;
}

static int l_profile_into(lua_State *L) {
  /* max_rows: the CSV reader's name for max_records, so callers can share one budget table */
  static const char *const keys[] = {"max_records", "max_rows", "max_bytes", "progress", "progress_bytes",
                                     "threads", NULL};
  struct reader *r = check_reader(L);
  nv_reader_single_table_arg(L, 3, r->path);
  struct nv_profiler *p = nv_profile_check(L, 2);
  lua_Integer max_records = 0, max_bytes = 0;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    nv_check_keys(L, 3, keys, NULL);
    max_records = opt_int(L, 3, "max_rows", 0, 1, LUA_MAXINTEGER);
    max_records = opt_int(L, 3, "max_records", max_records, 1, LUA_MAXINTEGER);
    max_bytes = opt_int(L, 3, "max_bytes", 0, 1, LUA_MAXINTEGER);
    (void)opt_int(L, 3, "threads", 1, 1, 64); /* the contract's option: JSON is read on one thread */
  }
  lua_Integer step = (lua_Integer)64 << 20;
  int progress = 0; /* stack index of the progress function */
  if (!lua_isnoneornil(L, 3)) {
    step = opt_int(L, 3, "progress_bytes", step, 1, LUA_MAXINTEGER);
    progress = nv_opt_function(L, 3, "progress");
  }
  struct prof *x = lua_newuserdatauv(L, sizeof *x, 0); /* scratch, collected with the call */
  memset(x, 0, sizeof *x);
  x->r = r;
  x->p = p;
  x->max_records = (uint64_t)max_records;
  x->L = L;
  x->progress = progress;
  x->step = (uint64_t)step;
  x->next_report = (uint64_t)step;
  columns_reset(r); /* a new profile: its own column numbers, record numbers restart */

  char err[512];
  int code = 0;
  pass_free(r->cur);
  r->cur = take_pass(r, err, sizeof err, &code);
  if (r->cur == NULL) {
    luaL_pushfail(L);
    lua_pushstring(L, err);
    push_stats(L, x, NULL, 0);
    return 3;
  }
  struct nv_json_handler h = {on_profile_record, on_profile_bad, x};
  if (!pass_start(r, r->cur, &h, 1)) return luaL_error(L, "out of memory");
  int rc = run_profile(x, r->cur, (uint64_t)max_bytes, err, sizeof err);
  if (rc == -2) return luaL_error(L, "out of memory");
  if (rc == -3) { /* the profile is gone: no stats to take from it */
    pass_free(r->cur);
    r->cur = NULL;
    return luaL_error(L, "%s", err);
  }
  if (rc < 0) {
    luaL_pushfail(L);
    lua_pushstring(L, err);
    push_stats(L, x, r->cur, 0);
    pass_free(r->cur);
    r->cur = NULL;
    return 3;
  }
  push_stats(L, x, r->cur, rc == 1);
  pass_free(r->cur);
  r->cur = NULL;
  return 1;
}

/* ---- records(): the preview iterator ---------------------------------- */

/* Builds nested tables: keys and containers wait on the Lua stack. */
struct build {
  lua_State *L;
  int depth;
  lua_Integer idx[NV_JSON_DEPTH_LIMIT + 1]; /* next array index; 0 in objects */
};

struct iter {
  struct pass *ps; /* NULL once finished or closed */
  char *path;
  lua_Integer left;
  char *text; /* the record to decode */
  size_t text_len, text_cap;
  int oom, have;
  struct build b;
};

static void iter_release(struct iter *it) {
  pass_free(it->ps);
  it->ps = NULL;
  free(it->text);
  it->text = NULL;
  free(it->path);
  it->path = NULL;
}

static int iter_gc(lua_State *L) {
  iter_release(luaL_checkudata(L, 1, RECORDS));
  return 0;
}

static int on_iter_record(void *ud, const struct nv_json_record *rec) {
  struct iter *it = ud;
  if (rec->text_len + 1 > it->text_cap) {
    char *nt = realloc(it->text, rec->text_len + 1);
    if (nt == NULL) {
      it->oom = 1;
      return 1;
    }
    it->text = nt;
    it->text_cap = rec->text_len + 1;
  }
  memcpy(it->text, rec->text, rec->text_len);
  it->text_len = rec->text_len;
  it->have = 1;
  return 1;
}

static void b_store(struct build *b) {
  lua_State *L = b->L;
  if (b->depth == 0) return; /* the record itself stays on the stack */
  if (b->idx[b->depth] > 0) lua_rawseti(L, -2, b->idx[b->depth]++);
  else lua_rawset(L, -3);
}

static int b_begin(void *ud, char kind, const char *at) {
  struct build *b = ud;
  (void)at;
  luaL_checkstack(b->L, 4, "record nested too deeply");
  lua_newtable(b->L);
  b->idx[++b->depth] = kind == 'a' ? 1 : 0;
  return 0;
}

static int b_end(void *ud, char kind, const char *after) {
  struct build *b = ud;
  (void)kind;
  (void)after;
  b->depth--;
  b_store(b);
  return 0;
}

static int b_key(void *ud, const char *s, size_t n) {
  struct build *b = ud;
  lua_pushlstring(b->L, s, n);
  return 0;
}

static int b_scalar(void *ud, const struct nv_json_value *v) {
  struct build *b = ud;
  lua_State *L = b->L;
  switch (v->kind) {
    case 's': lua_pushlstring(L, v->str, v->len); break;
    case 'i': lua_pushinteger(L, (lua_Integer)v->i); break;
    case 'd': lua_pushnumber(L, (lua_Number)v->d); break;
    case 't': lua_pushboolean(L, 1); break;
    case 'f': lua_pushboolean(L, 0); break;
    default: lua_pushlightuserdata(L, NULL); break; /* == cjson.null */
  }
  b_store(b);
  return 0;
}

static int iter_next(lua_State *L) {
  struct iter *it = luaL_checkudata(L, lua_upvalueindex(1), RECORDS);
  if (it->ps == NULL) return 0;
  if (it->left <= 0) {
    iter_release(it);
    return 0;
  }
  struct pass *ps = it->ps;
  it->have = 0;
  int rc = NV_JSON_OK;
  for (;;) {
    const char *b;
    size_t n, used;
    int more = pass_next(ps, &b, &n);
    if (more < 0) {
      lua_pushfstring(L, "%s (at byte offset %I)", nv_instream_error(ps->s), (lua_Integer)nv_instream_bytes(ps->s));
      iter_release(it);
      return lua_error(L);
    }
    if (more == 0) {
      rc = nv_json_finish(ps->jp);
      break;
    }
    rc = nv_json_feed(ps->jp, b, n, &used);
    ps->pos += used;
    if (rc != NV_JSON_OK) break;
  }
  if (it->oom) return luaL_error(L, "out of memory");
  if (rc == NV_JSON_FAIL) {
    lua_pushfstring(L, "%s: %s", it->path, nv_json_error(ps->jp));
    iter_release(it);
    return lua_error(L);
  }
  if (!it->have) {
    iter_release(it);
    return 0;
  }
  it->left--;
  struct build *bs = &it->b;
  bs->L = L;
  bs->depth = 0;
  struct nv_json_visitor v = {b_begin, b_end, b_key, b_scalar, bs};
  char err[128];
  int value = it->text_len > 0 && it->text[0] != '{';
  if (value) lua_createtable(L, 0, 1); /* a value record: {json = value}, as profile_into names it */
  if (!nv_json_walk(ps->jp, it->text, it->text_len, &v, err, sizeof err)) /* validated already */
    return luaL_error(L, "%s: %s", it->path, err);
  if (value) lua_setfield(L, -2, NV_JSON_VALUE_COLUMN);
  return 1;
}

static int l_records(lua_State *L) {
  struct reader *r = check_reader(L);
  nv_reader_single_table_arg(L, 2, r->path);
  lua_Integer max = luaL_optinteger(L, 2, 20);
  luaL_argcheck(L, max >= 0, 2, "must not be negative");
  struct iter *it = nv_newudata(L, sizeof *it, RECORDS);
  it->left = max;
  size_t plen = strlen(r->path);
  it->path = malloc(plen + 1);
  if (it->path == NULL) return luaL_error(L, "out of memory");
  memcpy(it->path, r->path, plen + 1);
  char err[512];
  int code = 0;
  it->ps = pass_open(r->path, r->comp, err, sizeof err, &code);
  if (it->ps == NULL) return luaL_error(L, "%s", err);
  struct nv_json_handler h = {on_iter_record, NULL, it};
  if (!pass_start(r, it->ps, &h, 0)) return luaL_error(L, "out of memory");
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, iter_next, 1);
  lua_pushnil(L);
  lua_pushnil(L);
  lua_pushvalue(L, -4); /* closing value: `for` closes the file on break */
  return 4;
}

/* ---- registration ----------------------------------------------------- */

static const luaL_Reg functions[] = {{"open", l_open}, {NULL, NULL}};

static const luaL_Reg methods[] = {
    {"tables", l_tables},   {"info", l_info},       {"format", l_format}, {"records_path", l_records_path},
    {"profile_into", l_profile_into}, {"records", l_records}, {"rows", l_records}, {"close", l_close},
    {NULL, NULL}};

static const luaL_Reg metamethods[] = {
    {"__gc", l_close}, {"__close", l_close}, {"__tostring", l_tostring}, {"__index", NULL}, {NULL, NULL}};

static const luaL_Reg iter_metamethods[] = {{"__gc", iter_gc}, {"__close", iter_gc}, {NULL, NULL}};

int luaopen_nv_jsonfile(lua_State *L) {
  nv_createmeta(L, READER, metamethods, methods);
  nv_createmeta(L, RECORDS, iter_metamethods, NULL);
  luaL_newlib(L, functions);
  return 1;
}

/* the reader contract (reader.h) */
static const char *const aliases[] = {"ndjson", "jsonl", "geojson", NULL};
static const char *const extensions[] = {".json", ".jsonl", ".ndjson", ".geojson", NULL};
const struct nv_reader nv_reader_json = {"json", aliases, extensions, nv_json_sniff_score, l_open,
                                        "nv.jsonfile", luaopen_nv_jsonfile};
