/* csv.c - the `nv.csv` module: streaming CSV reading for the jobs. Uses
 * csv_parse.c (sniffing, the push parser), instream.c (plain, gzip, zstd
 * files) and the profiler (nv.profile's userdata, profiler.h batches).
 *
 *   csv.sniff(path [, {compression=}])   -> dialect | nil, msg, code
 *   csv.open(path [, opts])              -> reader  | nil, msg, code
 *       opts: delimiter, quote ("" = none), escape, header (bool),
 *             encoding ("utf-8"|"latin-1"), compression
 *             ("auto"|"none"|"gzip"|"zstd"), max_record_bytes
 *       (anything not given is sniffed from the first 64 KiB)
 *   r:header()  -> {name, ...}          r:dialect() -> dialect
 *   r:profile_into(p [, {max_rows=, max_bytes=, progress=fn, progress_bytes=}])
 *       -> stats | nil, msg, stats
 *     progress(raw_bytes) is called after each progress_bytes (default
 *     64 MiB) fed to the parser, with the file's bytes read so far (an
 *     error in it stops further calls, never the profile); when it returns
 *     false, profile_into raises "<path>: cancelled"
 *   r:rows([max = 20])  -> iterator over arrays of strings (preview)
 *   r:close()   idempotent; also __gc and __close
 * Codes: "open" (cannot open/read the file), "binary", "parse" (the
 * header record is malformed), "memory".
 *
 * stats = {rows, bytes (decompressed, fed to the parser), raw_bytes (read
 * from disk), lines, blank_lines, skipped_lines (preamble records and
 * comment lines dropped: dialect.skip_records, dialect.comment), ragged_rows, ragged_lines = {first 5 start
 * lines}, extra_fields (dropped: beyond the header), invalid_utf8,
 * quote_fallbacks (stray quotes: quoted fields never closed or closed only
 * after swallowing whole rows, re-read with the quote taken literally),
 * encoding ("utf-8"|"latin-1"), truncated (stopped at max_rows/max_bytes
 * with data left), errors = {message...}}. On a mid-file error profile_into
 * returns nil, "<path>: line N: ..." (or "<stream error> (after line N)"),
 * stats; the complete rows before the error are already in the profile.
 *
 * Encoding: the file is read as Latin-1 when its first 64 KiB are not valid
 * UTF-8 (or encoding = "latin-1"); its values are then converted to UTF-8.
 * A file whose sample is valid UTF-8 passes bytes unchanged and reports
 * invalid sequences found later in stats.invalid_utf8.
 *
 * Each profile_into and rows() reads the file from its first data row:
 * the reader's own stream is used while it is still positioned right after
 * the header, otherwise it is reopened (rows() always opens its own, closed
 * by the for loop). Values from a Latin-1 file are converted to UTF-8
 * before they reach the profiler or Lua.
 *
 * It implements the reader contract (reader.h; listed in readers.c): tables()
 * (one table), info(), profile_into and rows taking a table name first. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "csv_parse.h"
#include "instream.h"
#include "luax.h"
#include "nvlua.h"
#include "reader.h"
#include "profiler/profiler.h"
#include "taskpool.h"

#define READER_MT "nv.CsvReader"
#define CURSOR_MT "nv.CsvCursor"
#define POOL_MT "nv.CsvThreads"
#define CHUNK ((size_t)1 << 20)
#define ERRSZ 512

/* One pass over the file: the stream, the parser, and read-but-unfed
 * bytes buf[pos, len). */
struct cursor {
  struct nv_instream *in;
  struct nv_csv_parser *p;
  char *buf;
  size_t len, pos;
  int eof;  /* the stream returned 0 */
  int done; /* nv_csv_finish was called */
};

/* Where profile_into sends batches; prof is NULL outside profile_into. */
struct sink {
  struct nv_profiler *prof;
  const long *map; /* profiler column of each CSV column */
  int identity;    /* map[c] == c for all c: use the batch call */
  struct nv_pool *pool; /* identity batches: columns on its threads (NULL: one) */
  /* the batch being fed on the pool */
  const struct nv_text_batch *batch;
  _Atomic int oom;
};

struct reader {
  struct cursor cur;
  int open;
  int fresh; /* cur is right after the header */
  struct nv_csv_dialect d;
  enum nv_compression comp, actual;
  size_t max_record;
  struct sink sink;
  int busy; /* inside profile_into's progress callback: close and reads refused */
  /* user values: 1 = path, 2 = header table */
};

struct rows_cursor {
  struct cursor cur;
};

enum pump { PUMP_DONE, PUMP_STOPPED, PUMP_BUDGET, PUMP_PARSE_ERR, PUMP_IO_ERR, PUMP_ABORTED, PUMP_CANCELLED };

static const char *const comp_names[] = {"auto", "none", "gzip", "zstd", NULL};

/* ---- cursors (pure C) ------------------------------------------------- */

static int cursor_close(struct cursor *c) {
  int rc = 0;
  nv_csv_free(c->p);
  c->p = NULL;
  if (c->in && nv_instream_close(c->in) != 0) rc = -1;
  c->in = NULL;
  free(c->buf);
  c->buf = NULL;
  c->len = c->pos = 0;
  c->eof = c->done = 0;
  return rc;
}

/* Line breaks in s[0..n), counting up to `enough`. */
static size_t count_lines(const char *s, size_t n, size_t enough) {
  size_t k = 0;
  for (const char *e = s + n; k < enough && (s = memchr(s, '\n', (size_t)(e - s))) != NULL; s++) k++;
  return k;
}

/* Opens path and reads the first NV_CSV_SNIFF_BYTES (or all) into buf; a
 * sample holding fewer than 3 line breaks (records wider than the window,
 * e.g. thousands of columns) grows up to CHUNK, so the sniffer sees whole
 * records. */
static const char *cursor_open(struct cursor *c, const char *path, enum nv_compression comp,
                               char *err, size_t errsz) {
  c->buf = malloc(CHUNK);
  if (c->buf == NULL) {
    snprintf(err, errsz, "%s: out of memory", path);
    return "memory";
  }
  c->in = nv_instream_open(path, comp, err, errsz);
  if (c->in == NULL) return "open";
  size_t want = NV_CSV_SNIFF_BYTES;
  while (!c->eof && (c->len < want || (want < CHUNK && count_lines(c->buf, c->len, 3) < 3))) {
    if (c->len >= want) want = want * 2 < CHUNK ? want * 2 : CHUNK;
    long got = nv_instream_read(c->in, c->buf + c->len, want - c->len);
    if (got < 0) {
      snprintf(err, errsz, "%s", nv_instream_error(c->in));
      return "open";
    }
    if (got == 0) c->eof = 1;
    c->len += (size_t)got;
  }
  return NULL;
}

/* Feeds the parser from the stream until it stops at its row limit, the
 * input ends (then finishes it), or max_bytes were fed (PUMP_BUDGET; the
 * partial record is dropped). */
static enum pump cursor_pump(struct cursor *c, uint64_t max_bytes) {
  for (;;) {
    if (c->done) return PUMP_DONE;
    if (c->pos == c->len) {
      if (c->eof) {
        int rc = nv_csv_finish(c->p);
        if (rc == NV_CSV_STOPPED) return PUMP_STOPPED; /* rows pending; finish again later */
        c->done = 1;
        return rc == NV_CSV_OK ? PUMP_DONE : PUMP_PARSE_ERR;
      }
      long got = nv_instream_read(c->in, c->buf, CHUNK);
      if (got < 0) return PUMP_IO_ERR;
      c->pos = 0;
      c->len = (size_t)got;
      if (got == 0) c->eof = 1;
      continue;
    }
    uint64_t fed = nv_csv_stats(c->p)->bytes;
    if (fed >= max_bytes) return PUMP_BUDGET;
    size_t n = c->len - c->pos;
    if ((uint64_t)n > max_bytes - fed) n = (size_t)(max_bytes - fed);
    size_t used = 0;
    int rc = nv_csv_feed(c->p, c->buf + c->pos, n, &used);
    c->pos += used;
    if (rc == NV_CSV_STOPPED) return PUMP_STOPPED;
    if (rc != NV_CSV_OK) return PUMP_PARSE_ERR;
  }
}

/* Is the stream at its end? Reads ahead one chunk when needed; -1 on a
 * read error. */
static int cursor_at_end(struct cursor *c) {
  if (c->done) return 1;
  if (c->pos < c->len) return 0;
  if (!c->eof) {
    long got = nv_instream_read(c->in, c->buf, CHUNK);
    if (got < 0) return -1;
    c->pos = 0;
    c->len = (size_t)got;
    if (got == 0) c->eof = 1;
  }
  return c->pos == c->len && c->eof;
}

static void pump_message(struct cursor *c, enum pump rc, const char *path, char *err,
                         size_t errsz) {
  if (rc == PUMP_IO_ERR)
    snprintf(err, errsz, "%s (after line %llu)", nv_instream_error(c->in),
             (unsigned long long)nv_csv_stats(c->p)->lines);
  else
    snprintf(err, errsz, "%s: %s", path, nv_csv_error(c->p));
}

/* Creates the parser and parses the header (or, without one, the first
 * record) from the sample onwards. */
static const char *cursor_start(struct cursor *c, const char *path, const struct nv_csv_dialect *d,
                                size_t max_record, nv_csv_batch_fn fn, void *ud, char *err,
                                size_t errsz) {
  struct nv_csv_config cfg;
  nv_csv_config_init(&cfg, d);
  cfg.max_record_bytes = max_record;
  c->p = nv_csv_new(&cfg, fn, ud);
  if (c->p == NULL) {
    snprintf(err, errsz, "%s: out of memory", path);
    return "memory";
  }
  nv_csv_set_row_limit(c->p, 0);
  enum pump rc = cursor_pump(c, UINT64_MAX);
  if (rc == PUMP_PARSE_ERR || rc == PUMP_IO_ERR) {
    pump_message(c, rc, path, err, errsz);
    if (rc == PUMP_IO_ERR) return "open";
    return strcmp(nv_csv_error(c->p), "out of memory") == 0 ? "memory" : "parse";
  }
  return NULL;
}

/* ---- Lua helpers ------------------------------------------------------ */

static const char *le_name(const struct nv_csv_dialect *d) { return d->line_ending; }

static void push_dialect(lua_State *L, const struct nv_csv_dialect *d, enum nv_compression comp) {
  lua_createtable(L, 0, 8);
  lua_pushlstring(L, &d->delimiter, 1);
  lua_setfield(L, -2, "delimiter");
  lua_pushlstring(L, &d->quote, d->quote ? 1 : 0);
  lua_setfield(L, -2, "quote");
  lua_pushlstring(L, &d->escape, d->escape ? 1 : 0);
  lua_setfield(L, -2, "escape");
  lua_pushboolean(L, d->has_header);
  lua_setfield(L, -2, "has_header");
  lua_pushstring(L, d->latin1 ? "latin-1" : "utf-8");
  lua_setfield(L, -2, "encoding");
  lua_pushboolean(L, d->bom);
  lua_setfield(L, -2, "bom");
  lua_pushstring(L, le_name(d));
  lua_setfield(L, -2, "line_ending");
  lua_pushstring(L, comp_names[comp]);
  lua_setfield(L, -2, "compression");
  lua_pushlstring(L, &d->comment, d->comment ? 1 : 0);
  lua_setfield(L, -2, "comment");
  lua_pushinteger(L, (lua_Integer)d->skip_records);
  lua_setfield(L, -2, "skip_records");
}

/* opts[key] as a one-byte string; -1 when absent. "" gives 0 when
 * allow_empty. */
static int opt_char(lua_State *L, int idx, const char *key, int allow_empty) {
  if (lua_isnoneornil(L, idx)) return -1;
  int t = lua_getfield(L, idx, key);
  int r = -1;
  if (t != LUA_TNIL) {
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    if (s == NULL || n > 1 || (n == 0 && !allow_empty) || (n == 1 && (s[0] == '\n' || s[0] == '\r')))
      luaL_error(L, "option '%s' must be a single character%s", key,
                 allow_empty ? " or \"\"" : "");
    r = n ? (unsigned char)s[0] : 0;
  }
  lua_pop(L, 1);
  return r;
}

static enum nv_compression opt_comp(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx)) return NV_COMP_AUTO;
  lua_getfield(L, idx, "compression");
  int i = luaL_checkoption(L, -1, "auto", comp_names);
  lua_pop(L, 1);
  return (enum nv_compression)i;
}

/* opts[key] as an integer in [lo, hi]; def when absent. */
/* ---- csv.sniff -------------------------------------------------------- */

static int l_sniff(lua_State *L) {
  static const char *const keys[] = {"compression", NULL};
  const char *path = luaL_checkstring(L, 1);
  nv_check_keys(L, 2, keys, NULL);
  enum nv_compression comp = opt_comp(L, 2);
  struct rows_cursor *rc = nv_newudata(L, sizeof *rc, CURSOR_MT); /* owns the stream */
  char err[ERRSZ], msg[ERRSZ + 64];
  const char *code = cursor_open(&rc->cur, path, comp, err, sizeof err);
  if (code) {
    cursor_close(&rc->cur);
    return nv_push_fail(L, err, code);
  }
  struct nv_csv_dialect d;
  int r = nv_csv_sniff(rc->cur.buf, rc->cur.len, rc->cur.eof, &d, err, sizeof err);
  enum nv_compression actual = nv_instream_compression(rc->cur.in);
  cursor_close(&rc->cur);
  if (r != 0) {
    snprintf(msg, sizeof msg, "%s: %s", path, err);
    return nv_push_fail(L, msg, strcmp(err, "out of memory") == 0 ? "memory" : "binary");
  }
  push_dialect(L, &d, actual);
  return 1;
}

/* ---- the reader ------------------------------------------------------- */

static int reader_close_impl(struct reader *r) {
  if (!r->open) return 0;
  r->open = 0;
  r->fresh = 0;
  return cursor_close(&r->cur);
}

static struct reader *check_reader(lua_State *L, int idx) {
  struct reader *r = luaL_checkudata(L, idx, READER_MT);
  if (!r->open) luaL_error(L, "attempt to use a closed reader");
  nv_reader_check_idle(L, r->busy);
  return r;
}

static void batch_column_task(void *ud, size_t c, unsigned worker) {
  struct sink *s = ud;
  (void)worker;
  if (!nv_profiler_batch_column(s->prof, s->batch, c)) s->oom = 1;
}

static int sink_batch(void *ud, const struct nv_text_batch *b) {
  struct sink *s = ud;
  if (s->prof == NULL) return 1;
  if (s->identity && s->pool && nv_profiler_exact_room(s->prof)) {
    size_t ncols = nv_profiler_batch_prepare(s->prof, b);
    if (ncols == (size_t)-1) return 1;
    s->batch = b;
    s->oom = 0;
    nv_pool_run(s->pool, ncols, batch_column_task, s);
    s->batch = NULL;
    if (s->oom) return 1;
    nv_profiler_add_rows(s->prof, b->nrows);
    return 0;
  }
  if (s->identity) return !nv_profiler_add_text_batch(s->prof, b);
  for (size_t c = 0; c < b->ncols; c++)
    for (size_t r = 0; r < b->nrows; r++) {
      const char *v = b->values[c * b->nrows + r];
      if (v && !nv_profiler_add_text(s->prof, (size_t)s->map[c], v, b->lengths[c * b->nrows + r]))
        return 1;
    }
  nv_profiler_add_rows(s->prof, b->nrows);
  return 0;
}

static int l_open(lua_State *L) {
  static const char *const keys[] = {"delimiter", "quote",       "escape",           "header",
                                     "encoding",  "compression", "max_record_bytes", NULL};
  static const char *const encodings[] = {"utf-8", "latin-1", NULL};
  const char *path = luaL_checkstring(L, 1);
  nv_check_keys(L, 2, keys, NULL);
  int delim = opt_char(L, 2, "delimiter", 0);
  int quote = opt_char(L, 2, "quote", 1);
  int escape = opt_char(L, 2, "escape", 0);
  int header = -1, latin1 = -1;
  if (!lua_isnoneornil(L, 2)) {
    if (lua_getfield(L, 2, "header") != LUA_TNIL) {
      luaL_argcheck(L, lua_isboolean(L, -1), 2, "option 'header' must be a boolean");
      header = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, 2, "encoding") != LUA_TNIL) latin1 = luaL_checkoption(L, -1, NULL, encodings);
    lua_pop(L, 1);
  }
  enum nv_compression comp = opt_comp(L, 2);
  lua_Integer maxrec = nv_opt_int(L, 2, "max_record_bytes", (lua_Integer)NV_CSV_DEFAULT_MAX_RECORD, 1,
                               (lua_Integer)NV_CSV_MAX_RECORD_LIMIT);
  if (delim >= 0 && (delim == quote || delim == '\n' || delim == '\r'))
    luaL_error(L, "option 'delimiter' cannot be the quote character");

  struct reader *r = lua_newuserdatauv(L, sizeof *r, 2);
  memset(r, 0, sizeof *r);
  luaL_setmetatable(L, READER_MT);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);
  r->comp = comp;
  r->max_record = (size_t)maxrec;
  r->open = 1; /* resources are attached below; close frees what exists */

  char err[ERRSZ], msg[ERRSZ + 64];
  const char *code = cursor_open(&r->cur, path, comp, err, sizeof err);
  if (code) {
    reader_close_impl(r);
    return nv_push_fail(L, err, code);
  }
  r->actual = nv_instream_compression(r->cur.in);
  struct nv_csv_dialect *d = &r->d;
  if (nv_csv_sniff(r->cur.buf, r->cur.len, r->cur.eof, d, err, sizeof err) != 0) {
    reader_close_impl(r);
    snprintf(msg, sizeof msg, "%s: %s", path, err);
    return nv_push_fail(L, msg, strcmp(err, "out of memory") == 0 ? "memory" : "binary");
  }
  int redo_header = 0;
  if (delim >= 0 && delim != d->delimiter) d->delimiter = (char)delim, redo_header = 1;
  if (quote >= 0 && quote != d->quote) {
    d->quote = (char)quote;
    d->escape = (char)quote;
    redo_header = 1;
  }
  if (escape >= 0) d->escape = d->quote ? (char)escape : 0;
  if (latin1 >= 0) d->latin1 = latin1;
  if (d->delimiter == d->quote) {
    reader_close_impl(r);
    return luaL_error(L, "option 'quote' cannot be the delimiter");
  }
  if (header >= 0) {
    d->has_header = header;
  } else if (redo_header) {
    int h = nv_csv_sniff_header(r->cur.buf, r->cur.len, r->cur.eof, d);
    if (h < 0) {
      reader_close_impl(r);
      snprintf(msg, sizeof msg, "%s: out of memory", path);
      return nv_push_fail(L, msg, "memory");
    }
    d->has_header = h;
  }
  code = cursor_start(&r->cur, path, d, r->max_record, sink_batch, &r->sink, err, sizeof err);
  if (code) {
    reader_close_impl(r);
    return nv_push_fail(L, err, code);
  }
  r->fresh = 1;
  size_t nc = nv_csv_ncols(r->cur.p);
  lua_createtable(L, (int)nc, 0);
  for (size_t i = 0; i < nc; i++) {
    size_t len = 0;
    const char *nm = nv_csv_column_name(r->cur.p, i, &len);
    lua_pushlstring(L, nm, len);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setiuservalue(L, -2, 2);
  return 1;
}

static int l_header(lua_State *L) {
  check_reader(L, 1);
  lua_getiuservalue(L, 1, 2);
  lua_Integer n = luaL_len(L, -1);
  lua_createtable(L, (int)n, 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, -2, i);
    lua_rawseti(L, -2, i);
  }
  return 1;
}

static int l_dialect(lua_State *L) {
  struct reader *r = check_reader(L, 1);
  push_dialect(L, &r->d, r->actual);
  return 1;
}

/* r:tables() -> { {name=} }: a CSV file is one table */
static int l_tables(lua_State *L) {
  check_reader(L, 1);
  nv_reader_push_single_table(L, nv_reader_uv_path(L, 1));
  return 1;
}

/* r:info() -> {format="csv", path=, compression=, dialect=, columns=} */
static int l_info(lua_State *L) {
  struct reader *r = check_reader(L, 1);
  lua_createtable(L, 0, 5);
  lua_pushliteral(L, "csv");
  lua_setfield(L, -2, "format");
  lua_pushstring(L, nv_reader_uv_path(L, 1));
  lua_setfield(L, -2, "path");
  lua_pushstring(L, comp_names[r->actual]);
  lua_setfield(L, -2, "compression");
  push_dialect(L, &r->d, r->actual);
  lua_setfield(L, -2, "dialect");
  lua_getiuservalue(L, 1, 2);
  lua_pushinteger(L, (lua_Integer)luaL_len(L, -1));
  lua_setfield(L, -3, "columns");
  lua_pop(L, 1);
  return 1;
}

/* Reopens the reader's stream at its first data row (dialect kept). */
static const char *reader_restart(lua_State *L, struct reader *r, char *err, size_t errsz) {
  const char *path = nv_reader_uv_path(L, 1);
  if (cursor_close(&r->cur) != 0) {
    snprintf(err, errsz, "%s: cannot close", path);
    return "open";
  }
  const char *code = cursor_open(&r->cur, path, r->comp, err, errsz);
  if (code == NULL)
    code = cursor_start(&r->cur, path, &r->d, r->max_record, sink_batch, &r->sink, err, errsz);
  if (code == NULL) r->fresh = 1;
  return code;
}

static void push_stats(lua_State *L, struct reader *r, int truncated, const char *error) {
  const struct nv_csv_stats *st = nv_csv_stats(r->cur.p);
  lua_createtable(L, 0, 12);
  lua_pushinteger(L, (lua_Integer)st->rows);
  lua_setfield(L, -2, "rows");
  lua_pushinteger(L, (lua_Integer)st->bytes);
  lua_setfield(L, -2, "bytes");
  lua_pushinteger(L, (lua_Integer)nv_instream_raw_bytes(r->cur.in));
  lua_setfield(L, -2, "raw_bytes");
  lua_pushinteger(L, (lua_Integer)st->lines);
  lua_setfield(L, -2, "lines");
  lua_pushinteger(L, (lua_Integer)st->blank_lines);
  lua_setfield(L, -2, "blank_lines");
  lua_pushinteger(L, (lua_Integer)st->skipped_lines);
  lua_setfield(L, -2, "skipped_lines");
  lua_pushinteger(L, (lua_Integer)st->ragged_rows);
  lua_setfield(L, -2, "ragged_rows");
  lua_createtable(L, (int)st->nragged_lines, 0);
  for (size_t i = 0; i < st->nragged_lines; i++) {
    lua_pushinteger(L, (lua_Integer)st->ragged_lines[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "ragged_lines");
  lua_pushinteger(L, (lua_Integer)st->extra_fields);
  lua_setfield(L, -2, "extra_fields");
  lua_pushinteger(L, (lua_Integer)st->invalid_utf8);
  lua_setfield(L, -2, "invalid_utf8");
  lua_pushinteger(L, (lua_Integer)st->quote_fallbacks);
  lua_setfield(L, -2, "quote_fallbacks");
  lua_pushstring(L, r->d.latin1 ? "latin-1" : "utf-8");
  lua_setfield(L, -2, "encoding");
  lua_pushboolean(L, truncated);
  lua_setfield(L, -2, "truncated");
  lua_createtable(L, error ? 1 : 0, 0);
  if (error) {
    lua_pushstring(L, error);
    lua_rawseti(L, -2, 1);
  }
  lua_setfield(L, -2, "errors");
}

/* progress(raw bytes read so far): nv_reader_progress */
static int report_progress(lua_State *L, int *fn, struct reader *r) {
  return nv_reader_progress(L, fn, &r->busy, (lua_Integer)nv_instream_raw_bytes(r->cur.in));
}

/* cursor_pump up to max_bytes, stopping every step bytes to report progress */
static enum pump pump_with_progress(lua_State *L, struct reader *r, uint64_t max_bytes, int fn,
                                    uint64_t step) {
  for (;;) {
    if (fn == 0) return cursor_pump(&r->cur, max_bytes);
    uint64_t fed = nv_csv_stats(r->cur.p)->bytes;
    uint64_t stop = max_bytes - fed > step ? fed + step : max_bytes;
    enum pump rc = cursor_pump(&r->cur, stop);
    if (rc != PUMP_BUDGET || stop == max_bytes) return rc;
    if (report_progress(L, &fn, r)) return PUMP_CANCELLED;
    /* the callback may have closed the profile (argument 2); the reader it
     * cannot (close and __close refuse while busy), checked all the same */
    if (nv_profile_test(L, 2) != r->sink.prof || !r->open || r->cur.p == NULL) return PUMP_ABORTED;
  }
}

/* A pool owned by a userdata (freed by __gc, so a raise cannot leak it). */
static int pool_gc(lua_State *L) {
  struct nv_pool **pp = luaL_checkudata(L, 1, POOL_MT);
  nv_pool_free(*pp);
  *pp = NULL;
  return 0;
}

static int l_profile_into(lua_State *L) {
  static const char *const keys[] = {"max_rows", "max_bytes", "progress", "progress_bytes", "threads", NULL};
  struct reader *r = check_reader(L, 1);
  nv_reader_single_table_arg(L, 3, nv_reader_uv_path(L, 1));
  struct nv_profiler *prof = nv_profile_check(L, 2);
  nv_check_keys(L, 3, keys, NULL);
  lua_Integer max_rows = nv_opt_int(L, 3, "max_rows", LUA_MAXINTEGER, 1, LUA_MAXINTEGER);
  lua_Integer max_bytes = nv_opt_int(L, 3, "max_bytes", LUA_MAXINTEGER, 1, LUA_MAXINTEGER);
  lua_Integer step = nv_opt_int(L, 3, "progress_bytes", (lua_Integer)64 << 20, 1, LUA_MAXINTEGER);
  lua_Integer threads = nv_opt_int(L, 3, "threads", 1, 1, NV_POOL_MAX_THREADS);
  int progress = nv_opt_function(L, 3, "progress"); /* its stack index */
  char err[ERRSZ];
  r->sink.pool = NULL;
  if (!r->fresh) {
    const char *code = reader_restart(L, r, err, sizeof err);
    if (code) {
      lua_pushnil(L);
      lua_pushstring(L, err);
      if (r->cur.p) push_stats(L, r, 0, err);
      else lua_newtable(L);
      return 3;
    }
  }
  r->fresh = 0;
  const char *path = nv_reader_uv_path(L, 1);

  /* the column map lives in a userdata so a raise cannot leak it */
  size_t nc = nv_csv_ncols(r->cur.p);
  long *map = lua_newuserdatauv(L, (nc ? nc : 1) * sizeof *map, 0);
  int identity = 1;
  for (size_t c = 0; c < nc; c++) {
    size_t len = 0;
    const char *nm = nv_csv_column_name(r->cur.p, c, &len);
    map[c] = nv_profiler_column(prof, nm, len);
    if (map[c] < 0) return luaL_error(L, "out of memory");
    if (map[c] != (long)c) identity = 0;
  }
  struct nv_pool **pool_box = NULL;
  if (threads > 1 && identity && nc > 1) { /* columns of each batch on threads */
    pool_box = nv_newudata(L, sizeof *pool_box, POOL_MT);
    *pool_box = nv_pool_new((unsigned)((size_t)threads < nc ? (size_t)threads : nc));
    if (*pool_box == NULL) return luaL_error(L, "out of memory");
    r->sink.pool = *pool_box;
  }
  r->sink.prof = prof;
  r->sink.map = map;
  r->sink.identity = identity;
  nv_csv_set_row_limit(r->cur.p, (uint64_t)max_rows);
  enum pump rc = pump_with_progress(L, r, (uint64_t)max_bytes, progress, (uint64_t)step);
  int truncated = 0;
  if (rc == PUMP_STOPPED || rc == PUMP_BUDGET) {
    int end = rc == PUMP_STOPPED ? cursor_at_end(&r->cur) : 0;
    if (end < 0) {
      rc = PUMP_IO_ERR;
    } else if (end) {
      rc = cursor_pump(&r->cur, UINT64_MAX); /* finish: nothing left */
    } else {
      truncated = 1;
      rc = nv_csv_flush(r->cur.p) == NV_CSV_OK ? PUMP_DONE : PUMP_PARSE_ERR;
    }
  }
  if (rc == PUMP_IO_ERR || rc == PUMP_PARSE_ERR) nv_csv_flush(r->cur.p); /* keep rows so far */
  r->sink.prof = NULL;
  r->sink.map = NULL;
  if (pool_box) { /* its threads go now, not at the next garbage collection */
    nv_pool_free(*pool_box);
    *pool_box = NULL;
  }
  r->sink.pool = NULL;
  if (rc == PUMP_ABORTED) return luaL_error(L, "%s: the profile was closed during profile_into", path);
  if (rc == PUMP_CANCELLED) return luaL_error(L, "%s: cancelled", path);
  if (rc == PUMP_DONE) {
    push_stats(L, r, truncated, NULL);
    return 1;
  }
  pump_message(&r->cur, rc, path, err, sizeof err);
  lua_pushnil(L);
  lua_pushstring(L, err);
  push_stats(L, r, truncated, err);
  return 3;
}

/* ---- r:rows([max]) ---------------------------------------------------- */

static int cursor_gc(lua_State *L) {
  struct rows_cursor *rc = luaL_checkudata(L, 1, CURSOR_MT);
  cursor_close(&rc->cur);
  return 0;
}

/* upvalues: reader, cursor, rows left, next pending row (the parser may
 * hold several: a stray-quote fallback parses to the end at once) */
static int rows_iter(lua_State *L) {
  struct reader *r = luaL_checkudata(L, lua_upvalueindex(1), READER_MT);
  if (!r->open) return luaL_error(L, "attempt to use a closed reader");
  struct rows_cursor *rc = luaL_checkudata(L, lua_upvalueindex(2), CURSOR_MT);
  lua_Integer left = lua_tointeger(L, lua_upvalueindex(3));
  struct cursor *c = &rc->cur;
  if (left <= 0 || c->p == NULL) {
    cursor_close(c);
    return 0;
  }
  struct nv_text_batch b;
  size_t at = (size_t)lua_tointeger(L, lua_upvalueindex(4));
  if (!nv_csv_pending(c->p, &b)) return luaL_error(L, "out of memory");
  if (at >= b.nrows) {
    nv_csv_clear_pending(c->p);
    at = 0;
    nv_csv_set_row_limit(c->p, nv_csv_stats(c->p)->rows + 1);
    enum pump pr = cursor_pump(c, UINT64_MAX);
    if (pr == PUMP_PARSE_ERR || pr == PUMP_IO_ERR) {
      char err[ERRSZ];
      pump_message(c, pr, nv_reader_uv_path(L, lua_upvalueindex(1)), err, sizeof err);
      cursor_close(c);
      lua_pushstring(L, err);
      return lua_error(L);
    }
    if (!nv_csv_pending(c->p, &b)) return luaL_error(L, "out of memory");
  }
  if (b.nrows == 0) {
    cursor_close(c);
    return 0;
  }
  lua_createtable(L, (int)b.ncols, 0);
  for (size_t col = 0; col < b.ncols; col++) {
    const char *v = b.values[col * b.nrows + at];
    if (v == NULL) break;
    lua_pushlstring(L, v, b.lengths[col * b.nrows + at]);
    lua_rawseti(L, -2, (lua_Integer)col + 1);
  }
  lua_pushinteger(L, (lua_Integer)at + 1);
  lua_replace(L, lua_upvalueindex(4));
  lua_pushinteger(L, left - 1);
  lua_replace(L, lua_upvalueindex(3));
  return 1;
}

static int l_rows(lua_State *L) {
  struct reader *r = check_reader(L, 1);
  nv_reader_single_table_arg(L, 2, nv_reader_uv_path(L, 1));
  lua_Integer max = luaL_optinteger(L, 2, 20);
  luaL_argcheck(L, max >= 0, 2, "must be non-negative");
  const char *path = nv_reader_uv_path(L, 1);
  struct rows_cursor *rc = nv_newudata(L, sizeof *rc, CURSOR_MT);
  int cu = lua_gettop(L);
  char err[ERRSZ];
  const char *code = cursor_open(&rc->cur, path, r->comp, err, sizeof err);
  if (code == NULL)
    code = cursor_start(&rc->cur, path, &r->d, r->max_record, NULL, NULL, err, sizeof err);
  if (code) {
    cursor_close(&rc->cur);
    lua_pushstring(L, err);
    return lua_error(L);
  }
  lua_pushvalue(L, 1);
  lua_pushvalue(L, cu);
  lua_pushinteger(L, max);
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, rows_iter, 4);
  lua_pushnil(L);
  lua_pushnil(L);
  lua_pushvalue(L, cu); /* to-be-closed: a `for` closes the stream on break */
  return 4;
}

/* close, __close and __gc (whose results are dropped); only __close can
 * come here while busy (the reader is on the stack) */
static int l_close(lua_State *L) {
  struct reader *r = luaL_checkudata(L, 1, READER_MT);
  nv_reader_check_idle(L, r->busy);
  return nv_reader_push_closed(L, reader_close_impl(r) != 0, nv_reader_uv_path(L, 1));
}

static int l_tostring(lua_State *L) {
  struct reader *r = luaL_checkudata(L, 1, READER_MT);
  if (!r->open) lua_pushliteral(L, "nv.CsvReader (closed)");
  else lua_pushfstring(L, "nv.CsvReader (%s)", nv_reader_uv_path(L, 1));
  return 1;
}

static const luaL_Reg functions[] = {{"sniff", l_sniff}, {"open", l_open}, {NULL, NULL}};

static const luaL_Reg methods[] = {{"tables", l_tables},
                                   {"info", l_info},
                                   {"header", l_header},
                                   {"dialect", l_dialect},
                                   {"profile_into", l_profile_into},
                                   {"rows", l_rows},
                                   {"close", l_close},
                                   {NULL, NULL}};

static const luaL_Reg metamethods[] = {
    {"__gc", l_close}, {"__close", l_close}, {"__tostring", l_tostring}, {"__index", NULL}, {NULL, NULL}};

static const luaL_Reg pool_metamethods[] = {{"__gc", pool_gc}, {NULL, NULL}};
static const luaL_Reg cursor_metamethods[] = {
    {"__gc", cursor_gc}, {"__close", cursor_gc}, {NULL, NULL}};

int luaopen_nv_csv(lua_State *L) {
  nv_createmeta(L, READER_MT, metamethods, methods);
  nv_createmeta(L, CURSOR_MT, cursor_metamethods, NULL);
  nv_createmeta(L, POOL_MT, pool_metamethods, NULL);
  luaL_newlib(L, functions);
  return 1;
}

/* the reader contract (reader.h) */
static const char *const aliases[] = {"tsv", NULL};
static const char *const extensions[] = {".csv", ".tsv", ".tab", ".psv", NULL};
const struct nv_reader nv_reader_csv = {"csv", aliases, extensions, nv_csv_sniff_score, l_open,
                                        "nv.csv", luaopen_nv_csv};
