/* parquet.c - the `nv.parquet` module: Parquet metadata from the footer
 * alone, profiling from data pages, and small row previews. Uses
 * parquet_meta.c (footer model, byte source), parquet_pages.c (column
 * chunk decoding) and the profiler (nv.profile's userdata).
 *
 *   pq.open(path [, {size = n, ranges = {{offset, length}, ...}}])
 *                                    -> reader | nil, msg, code
 *       reads only the last 8 bytes and the FileMetaData; with ranges, path
 *       is a partial copy of an n-byte object holding those byte ranges
 *       back to back (a remote object read footer-first); reading bytes
 *       outside them fails with code "open"
 *   r:row_group_ranges()             -> {{offset, length, num_rows}, ...}
 *   r:metadata()                     -> {num_rows, created_by, version,
 *       row_groups (count), key_value = {k = v}, columns = {...}}
 *   r:profile_into(p [, table] [, {row_groups = n, max_rows = n, max_bytes = n,
 *                  progress = fn, threads = n}])  -> stats | nil, msg, stats
 *       (truncated: rows were left); no row group starts past max_bytes of
 *       column chunks read, progress(bytes) follows each row group (false
 *       cancels). threads (default 1): the column chunks of each row group
 *       are read on that many threads, biggest first, each profiler column
 *       fed by one thread in row order, so the profile is the one a single
 *       thread gives (only which column spills first past the exact-table
 *       budget may differ). A column that fails stops the scan after its
 *       row group, whose other columns are still profiled (the first
 *       failure in column order is the message)
 *   r:rows([max = 20])               -> iterator over row tables | nil, msg, code
 *   r:close()   idempotent; also __gc and __close
 * Typed Lua values (min/max, rows): integers, numbers, booleans, strings;
 * decimals as numbers up to precision 15, else exact strings; dates,
 * times, timestamps and UUIDs as the text below; a null list element in
 * rows() is json.null (a NULL light userdata), a null value is absent.
 * Codes: "open" (cannot open/read), "format" (not Parquet), "corrupt",
 * "unsupported" (e.g. an encrypted footer), "memory".
 *
 * Values reach the profiler typed: integers (add_int), floats (add_double),
 * booleans, strings (add_text); decimals as exact text ("-12.50");
 * dates "YYYY-MM-DD", times "HH:MM:SS[.fff]", timestamps
 * "YYYY-MM-DDTHH:MM:SS[.ffffff][Z]" (Z when UTC-adjusted; INT96 as UTC
 * nanoseconds); UUIDs in 8-4-4-4-12 form; binary values as text when valid
 * UTF-8 without control characters, else "0x" + hex of the first 64 bytes. A repeated leaf (a list,
 * a map's keys or values) gives one JSON array per row holding that leaf's
 * values flattened across nesting levels (add_nested; [] for an empty
 * list, null when the list itself is null). Rows are counted from
 * repetition levels and checked against each row group's num_rows.
 *
 * It implements the reader contract (reader.h; listed in readers.c): tables()
 * (one table), info(), profile_into and rows taking a table name first. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "luax.h"
#include "nvlua.h"
#include "parquet_meta.h"
#include "parquet_pages.h"
#include "profiler/profiler.h"
#include "reader.h"
#include "taskpool.h"

#define READER_MT "nv.ParquetReader"
#define SCRATCH_MT "nv.ParquetScratch"
#define PAR_MT "nv.ParquetThreads"
#define ERRSZ 512
#define MAX_JSON ((size_t)1 << 20) /* per repeated-leaf row */
#define MAX_PREVIEW 100000

struct reader {
  int open;
  int busy; /* inside profile_into's progress callback: close refused */
  struct nv_pq_source src;
  struct nv_pq_meta meta;
  /* user value 1: path */
};

/* C memory used while decoding, anchored in a userdata so that a raise
 * (rows() builds Lua tables from callbacks) cannot leak it. */
/* A dictionary entry made ready for the profiler once per chunk (class,
 * hash, text): its rows add it without formatting or classifying again. */
#define DICT_CACHE 16384 /* entries cached per chunk; later ones take the plain path */
#define VALUE_TEXT 160   /* the longest text a value is profiled as */
struct dict_entry {
  uint32_t gen; /* the chunk it was prepared for (scratch.gen) */
  struct nv_prepared pv;
  char buf[VALUE_TEXT];
};

struct scratch {
  struct nv_pq_chunk_reader *cr;
  char *json;
  size_t jlen, jcap;
  struct dict_entry *dict; /* DICT_CACHE entries, allocated at the first dictionary value */
  uint32_t gen;            /* bumped per chunk: older entries are stale */
};

enum kind {
  K_BOOL, K_INT, K_UINT32, K_UINT64, K_DOUBLE, K_FLOAT16, K_STRING, K_BINARY,
  K_DECIMAL, K_DATE, K_TIME, K_TS, K_INT96, K_UUID
};

struct ctype {
  int kind, unit, utc;
  int32_t scale, precision;
  int is_float; /* FLOAT: widened to the shortest double that prints it */
};

/* 1.1f is 1.10000002384...; profiles and previews want 1.1. */
static double float_value(double d) {
  char buf[32];
  for (int prec = 6; prec <= 9; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, d);
    double back = strtod(buf, NULL);
    if ((float)back == (float)d) return back;
  }
  return d;
}

/* ---- value conversion ---------------------------------------------------- */

static struct ctype column_ctype(const struct nv_pq_meta *m, const struct nv_pq_column *c) {
  const struct nv_pq_node *nd = &m->nodes[c->node];
  struct ctype t = {K_BINARY, NV_PQ_MICROS, 1, 0, 0, 0};
  int ty = c->type, lt = nd->logical, ct = nd->converted;
  int ints = ty == NV_PQ_INT32 || ty == NV_PQ_INT64;
  int bytes = ty == NV_PQ_BYTE_ARRAY || ty == NV_PQ_FIXED;
  if ((lt == NV_PQ_LT_DECIMAL || ct == NV_PQ_CT_DECIMAL) && (ints || bytes)) {
    t.kind = K_DECIMAL;
    t.scale = nd->scale;
    t.precision = nd->precision;
    return t;
  }
  if ((lt == NV_PQ_LT_DATE || ct == NV_PQ_CT_DATE) && ty == NV_PQ_INT32) {
    t.kind = K_DATE;
    return t;
  }
  if (lt == NV_PQ_LT_TIME && ints) {
    t.kind = K_TIME;
    t.unit = nd->unit ? nd->unit : NV_PQ_MILLIS;
    return t;
  }
  if ((ct == NV_PQ_CT_TIME_MILLIS && ty == NV_PQ_INT32) || (ct == NV_PQ_CT_TIME_MICROS && ty == NV_PQ_INT64)) {
    t.kind = K_TIME;
    t.unit = ct == NV_PQ_CT_TIME_MILLIS ? NV_PQ_MILLIS : NV_PQ_MICROS;
    return t;
  }
  if (lt == NV_PQ_LT_TIMESTAMP && ty == NV_PQ_INT64) {
    t.kind = K_TS;
    t.unit = nd->unit ? nd->unit : NV_PQ_MICROS;
    t.utc = nd->utc;
    return t;
  }
  if ((ct == NV_PQ_CT_TIMESTAMP_MILLIS || ct == NV_PQ_CT_TIMESTAMP_MICROS) && ty == NV_PQ_INT64) {
    t.kind = K_TS;
    t.unit = ct == NV_PQ_CT_TIMESTAMP_MILLIS ? NV_PQ_MILLIS : NV_PQ_MICROS;
    return t;
  }
  if (ty == NV_PQ_INT96) {
    t.kind = K_INT96;
    return t;
  }
  if (lt == NV_PQ_LT_UUID && ty == NV_PQ_FIXED && c->type_length == 16) {
    t.kind = K_UUID;
    return t;
  }
  if (lt == NV_PQ_LT_FLOAT16 && ty == NV_PQ_FIXED && c->type_length == 2) {
    t.kind = K_FLOAT16;
    return t;
  }
  if (bytes && (lt == NV_PQ_LT_STRING || lt == NV_PQ_LT_ENUM || lt == NV_PQ_LT_JSON ||
                ct == NV_PQ_CT_UTF8 || ct == NV_PQ_CT_ENUM || ct == NV_PQ_CT_JSON)) {
    t.kind = K_STRING;
    return t;
  }
  if (ints && ((lt == NV_PQ_LT_INTEGER && !nd->is_signed) ||
               (ct >= NV_PQ_CT_UINT_8 && ct <= NV_PQ_CT_UINT_64))) {
    t.kind = ty == NV_PQ_INT64 ? K_UINT64 : K_UINT32;
    return t;
  }
  switch (ty) {
  case NV_PQ_BOOLEAN: t.kind = K_BOOL; break;
  case NV_PQ_INT32: case NV_PQ_INT64: t.kind = K_INT; break;
  case NV_PQ_FLOAT: case NV_PQ_DOUBLE: t.kind = K_DOUBLE; t.is_float = ty == NV_PQ_FLOAT; break;
  default: t.kind = K_BINARY; break;
  }
  return t;
}

static int64_t floordiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && ((a < 0) != (b < 0))); }

/* Writes v (>= 0) as exactly w digits, zero-padded, at p. */
static void put_digits(char *p, uint64_t v, int w) {
  for (int i = w - 1; i >= 0; i--) {
    p[i] = (char)('0' + v % 10);
    v /= 10;
  }
}

/* Days since 1970-01-01 as YYYY-MM-DD (civil-from-days); the hot path of
 * dates and timestamps, so digits are written by hand. */
static size_t fmt_date(int64_t z, char *buf, size_t n) {
  if (z < -4000000000LL || z > 4000000000LL) return (size_t)snprintf(buf, n, "%lld", (long long)z);
  z += 719468;
  int64_t era = floordiv(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t mo = mp < 10 ? mp + 3 : mp - 9;
  y += mo <= 2;
  if (y < 0 || y > 9999 || n < 11)
    return (size_t)snprintf(buf, n, "%04lld-%02lld-%02lld", (long long)y, (long long)mo, (long long)d);
  put_digits(buf, (uint64_t)y, 4);
  buf[4] = '-';
  put_digits(buf + 5, (uint64_t)mo, 2);
  buf[7] = '-';
  put_digits(buf + 8, (uint64_t)d, 2);
  buf[10] = '\0';
  return 10;
}

static const int64_t per_sec[] = {1, 1000, 1000000, 1000000000};
static const int frac_digits[] = {0, 3, 6, 9};

/* "HH:MM:SS[.fff…]"; secs_of_day in [0, 86400), frac in [0, per_sec[unit]). */
static size_t fmt_clock(int64_t secs_of_day, int64_t frac, int unit, char *buf, size_t n) {
  size_t len = 8 + (frac ? 1 + (size_t)frac_digits[unit] : 0);
  if (len >= n) return 0;
  put_digits(buf, (uint64_t)(secs_of_day / 3600), 2);
  buf[2] = ':';
  put_digits(buf + 3, (uint64_t)(secs_of_day / 60 % 60), 2);
  buf[5] = ':';
  put_digits(buf + 6, (uint64_t)(secs_of_day % 60), 2);
  if (frac) {
    buf[8] = '.';
    put_digits(buf + 9, (uint64_t)frac, frac_digits[unit]);
  }
  buf[len] = '\0';
  return len;
}

/* v in unit since the epoch; "YYYY-MM-DDTHH:MM:SS[.f][Z]". */
static size_t fmt_ts(int64_t v, int unit, int utc, char *buf, size_t n) {
  int64_t ps = per_sec[unit];
  int64_t secs = floordiv(v, ps), frac = v - secs * ps;
  int64_t days = floordiv(secs, 86400), sod = secs - days * 86400;
  size_t len = fmt_date(days, buf, n);
  if (len + 2 >= n) return len;
  buf[len++] = 'T';
  len += fmt_clock(sod, frac, unit, buf + len, n - len);
  if (utc && len + 1 < n) buf[len++] = 'Z';
  buf[len < n ? len : n - 1] = '\0';
  return len;
}

static size_t fmt_int96(const uint8_t *s, char *buf, size_t n) {
  uint64_t nanos = 0;
  for (int i = 7; i >= 0; i--) nanos = nanos << 8 | s[i];
  int32_t jd = (int32_t)((uint32_t)s[8] | (uint32_t)s[9] << 8 | (uint32_t)s[10] << 16 | (uint32_t)s[11] << 24);
  int64_t days = (int64_t)jd - 2440588;
  int64_t sod = (int64_t)(nanos / 1000000000u), frac = (int64_t)(nanos % 1000000000u);
  days += sod / 86400;
  sod %= 86400;
  size_t len = fmt_date(days, buf, n);
  if (len + 2 >= n) return len;
  buf[len++] = 'T';
  len += fmt_clock(sod, frac, NV_PQ_NANOS, buf + len, n - len);
  if (len + 1 < n) buf[len++] = 'Z';
  buf[len < n ? len : n - 1] = '\0';
  return len;
}

/* Two's complement big-endian bytes (n <= 32) with scale -> decimal text. */
static size_t fmt_decimal_bytes(const uint8_t *s, size_t n, int32_t scale, char *buf, size_t bn) {
  uint8_t mag[32];
  char digits[100];
  size_t nd = 0;
  if (n == 0) return (size_t)snprintf(buf, bn, "0");
  if (n > sizeof mag) return (size_t)snprintf(buf, bn, "NaN");
  int neg = s[0] & 0x80;
  memcpy(mag, s, n);
  if (neg) { /* magnitude = ~x + 1 */
    int carry = 1;
    for (size_t i = n; i-- > 0;) {
      int v = (uint8_t)~mag[i] + carry;
      mag[i] = (uint8_t)v;
      carry = v >> 8;
    }
  }
  for (;;) {
    int nz = 0;
    unsigned rem = 0;
    for (size_t i = 0; i < n; i++) {
      unsigned cur = rem << 8 | mag[i];
      mag[i] = (uint8_t)(cur / 10);
      rem = cur % 10;
      if (mag[i]) nz = 1;
    }
    digits[nd++] = (char)('0' + rem);
    if (!nz || nd == sizeof digits) break;
  }
  size_t o = 0;
  if (neg && o + 1 < bn) buf[o++] = '-';
  if (scale > 0 && (size_t)scale >= nd) {
    if (o + 2 < bn) buf[o++] = '0', buf[o++] = '.';
    for (size_t z = nd; z < (size_t)scale && o + 1 < bn; z++) buf[o++] = '0';
    for (size_t i = nd; i-- > 0 && o + 1 < bn;) buf[o++] = digits[i];
  } else {
    size_t ip = scale > 0 ? nd - (size_t)scale : nd;
    for (size_t i = nd, k = 0; i-- > 0 && o + 2 < bn; k++) {
      if (k == ip) buf[o++] = '.';
      buf[o++] = digits[i];
    }
  }
  buf[o] = '\0';
  return o;
}

static size_t fmt_decimal_int(int64_t v, int32_t scale, char *buf, size_t n) {
  uint8_t be[8];
  for (int i = 0; i < 8; i++) be[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
  return fmt_decimal_bytes(be, 8, scale, buf, n);
}

static double half_to_double(const uint8_t *s) {
  unsigned h = (unsigned)s[0] | (unsigned)s[1] << 8;
  int e = (h >> 10) & 31;
  double m = h & 1023;
  double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
  return (h & 0x8000) ? -v : v;
}

static int valid_utf8(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    size_t k = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 9;
    if (k == 9 || k > n - i - 1) return 0;
    for (size_t j = 1; j <= k; j++)
      if ((s[i + j] & 0xc0) != 0x80) return 0;
    i += k + 1;
  }
  return 1;
}

/* Binary values go to the profiler as text only when they read as text. */
static int textual(const uint8_t *s, size_t n) {
  if (n && (s[0] == ' ' || s[n - 1] == ' ')) return 0; /* the profiler would trim it */
  for (size_t i = 0; i < n; i++)
    if (s[i] < 0x20 || s[i] == 0x7f) return 0;
  return valid_utf8(s, n);
}

static size_t fmt_hex(const uint8_t *s, size_t n, char *buf, size_t bn) {
  static const char hx[] = "0123456789abcdef";
  size_t o = 0;
  if (bn < 3) return 0;
  buf[o++] = '0';
  buf[o++] = 'x';
  for (size_t i = 0; i < n && i < 64 && o + 2 < bn; i++) {
    buf[o++] = hx[s[i] >> 4];
    buf[o++] = hx[s[i] & 15];
  }
  buf[o] = '\0';
  return o;
}

static size_t fmt_uuid(const uint8_t *s, char *buf, size_t bn) {
  static const char hx[] = "0123456789abcdef";
  size_t o = 0;
  for (int i = 0; i < 16 && o + 3 < bn; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) buf[o++] = '-';
    buf[o++] = hx[s[i] >> 4];
    buf[o++] = hx[s[i] & 15];
  }
  buf[o] = '\0';
  return o;
}

/* Text form of kinds that are not plain numbers; 0 when not textual. */
static size_t value_text(const struct ctype *t, const struct nv_pq_value *v, char *buf, size_t n) {
  switch (t->kind) {
  case K_DECIMAL:
    if (v->s) return fmt_decimal_bytes(v->s, v->n, t->scale, buf, n);
    return fmt_decimal_int(v->i, t->scale, buf, n);
  case K_DATE: return fmt_date(v->i, buf, n);
  case K_TIME: {
    int64_t ps = per_sec[t->unit];
    int64_t secs = floordiv(v->i, ps);
    if (secs < 0 || secs >= 86400) return (size_t)snprintf(buf, n, "%lld", (long long)v->i);
    return fmt_clock(secs, v->i - secs * ps, t->unit, buf, n);
  }
  case K_TS: return fmt_ts(v->i, t->unit, t->utc, buf, n);
  case K_INT96: return v->s && v->n == 12 ? fmt_int96(v->s, buf, n) : 0;
  case K_UUID: return v->s && v->n == 16 ? fmt_uuid(v->s, buf, n) : 0;
  default: return 0;
  }
}

/* Pushes a value as a typed Lua value. */
static void push_value(lua_State *L, const struct ctype *t, const struct nv_pq_value *v) {
  char buf[128];
  size_t n;
  switch (t->kind) {
  case K_BOOL: lua_pushboolean(L, (int)v->i); return;
  case K_INT: lua_pushinteger(L, (lua_Integer)v->i); return;
  case K_UINT32: lua_pushinteger(L, (lua_Integer)(uint32_t)v->i); return;
  case K_UINT64:
    if (v->i >= 0) lua_pushinteger(L, (lua_Integer)v->i);
    else lua_pushnumber(L, (lua_Number)(uint64_t)v->i);
    return;
  case K_DOUBLE: lua_pushnumber(L, t->is_float && isfinite(v->d) ? float_value(v->d) : v->d); return;
  case K_FLOAT16: lua_pushnumber(L, v->s && v->n == 2 ? half_to_double(v->s) : NAN); return;
  case K_STRING: case K_BINARY: lua_pushlstring(L, (const char *)v->s, v->n); return;
  case K_DECIMAL:
    /* a number while a double holds it exactly, else the exact text */
    n = value_text(t, v, buf, sizeof buf);
    if (t->precision > 15 || lua_stringtonumber(L, buf) == 0) lua_pushlstring(L, buf, n);
    return;
  default:
    n = value_text(t, v, buf, sizeof buf);
    lua_pushlstring(L, buf, n);
  }
}

/* ---- Lua helpers ----------------------------------------------------------- */

static struct reader *check_reader(lua_State *L, int idx) {
  struct reader *r = luaL_checkudata(L, idx, READER_MT);
  if (!r->open) luaL_error(L, "attempt to use a closed reader");
  nv_reader_check_idle(L, r->busy);
  return r;
}

static void scratch_free(struct scratch *s) {
  nv_pq_chunk_free(s->cr);
  s->cr = NULL;
  free(s->dict);
  s->dict = NULL;
  free(s->json);
  s->json = NULL;
  s->jlen = s->jcap = 0;
}

static int scratch_gc(lua_State *L) {
  scratch_free(luaL_checkudata(L, 1, SCRATCH_MT));
  return 0;
}

static struct scratch *push_scratch(lua_State *L) {
  struct scratch *s = nv_newudata(L, sizeof *s, SCRATCH_MT);
  return s;
}

/* ---- pq.open ------------------------------------------------------------------ */

static int reader_close_impl(struct reader *r) {
  if (!r->open) return 0;
  r->open = 0;
  nv_pq_meta_free(&r->meta);
  return nv_pq_source_close(&r->src);
}

static const char *error_code(const char *err) {
  if (strstr(err, "out of memory")) return "memory";
  if (strncmp(err, "not a Parquet file", 18) == 0) return "format";
  if (strstr(err, "not supported")) return "unsupported";
  return "corrupt";
}

/* {size = n, ranges = {{offset, length}, ...}}: the byte ranges of an
 * object that the local file holds (see nv_pq_source_ranges). Parsed into a
 * userdata pushed on the stack; raises on misuse before any C allocation. */
static uint64_t (*check_ranges(lua_State *L, int idx, uint64_t *size, size_t *n))[2] {
  static const char *const keys[] = {"size", "ranges", NULL};
  nv_check_keys(L, idx, keys, NULL);
  *size = (uint64_t)nv_opt_int(L, idx, "size", -1, 0, LUA_MAXINTEGER);
  if (lua_getfield(L, idx, "ranges") != LUA_TTABLE) luaL_error(L, "option 'ranges' must be a table");
  lua_Integer len = (lua_Integer)lua_rawlen(L, -1);
  if (len < 1 || len > NV_PQ_MAX_RANGES || *size == (uint64_t)-1)
    luaL_error(L, "options 'size' and 'ranges' (1 to %d {offset, length} pairs) go together", NV_PQ_MAX_RANGES);
  uint64_t(*r)[2] = lua_newuserdatauv(L, (size_t)len * sizeof *r, 0);
  for (lua_Integer i = 1; i <= len; i++) {
    if (lua_rawgeti(L, -2, i) != LUA_TTABLE) luaL_error(L, "byte range %I must be {offset, length}", i);
    for (int k = 0; k < 2; k++) {
      int isnum;
      lua_rawgeti(L, -1 - k, k + 1);
      lua_Integer v = lua_tointegerx(L, -1, &isnum);
      if (!isnum || v < 0) luaL_error(L, "byte range %I must be {offset, length} with integers >= 0", i);
      r[i - 1][k] = (uint64_t)v;
    }
    lua_pop(L, 3);
  }
  lua_remove(L, -2); /* the ranges table; the userdata stays */
  *n = (size_t)len;
  return r;
}

static int l_open(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  uint64_t size = 0;
  size_t nranges = 0;
  uint64_t(*ranges)[2] = NULL;
  if (!lua_isnoneornil(L, 2)) ranges = check_ranges(L, 2, &size, &nranges);
  struct reader *r = lua_newuserdatauv(L, sizeof *r, 1);
  memset(r, 0, sizeof *r);
  luaL_setmetatable(L, READER_MT);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);
  char err[ERRSZ], msg[ERRSZ + 256];
  int rc = ranges ? nv_pq_source_ranges(&r->src, path, size, (const uint64_t(*)[2])ranges, nranges, err, sizeof err)
                  : nv_pq_source_file(&r->src, path, err, sizeof err);
  if (rc != 0) {
    snprintf(msg, sizeof msg, "%s: %s", path, err);
    return nv_push_fail(L, msg, strstr(err, "out of memory") ? "memory" : "open");
  }
  r->open = 1; /* the source is open: close() must release it */
  if (nv_pq_meta_read(&r->meta, &r->src, err, sizeof err) != 0) {
    reader_close_impl(r);
    snprintf(msg, sizeof msg, "%s: %s", path, err);
    const char *code = error_code(err);
    if (strstr(err, "read error") || strstr(err, "unexpected end of file") || strstr(err, "not fetched"))
      code = "open";
    return nv_push_fail(L, msg, code);
  }
  return 1;
}

/* r:row_group_ranges() -> {{offset =, length =, num_rows =}, ...}: the byte
 * span of each row group's column chunks in the file (what a ranged read
 * of that row group fetches); chunks stored in other files are left out. */
static int l_row_group_ranges(lua_State *L) {
  struct reader *r = check_reader(L, 1);
  const struct nv_pq_meta *m = &r->meta;
  lua_createtable(L, (int)(m->nrow_groups < 65536 ? m->nrow_groups : 65536), 0);
  for (size_t g = 0; g < m->nrow_groups; g++) {
    int64_t lo = -1, hi = -1;
    for (size_t c = 0; c < m->ncolumns; c++) {
      const struct nv_pq_chunk *ch = &m->row_groups[g].chunks[c];
      if (!ch->has_meta || ch->external) continue;
      int64_t start = ch->data_page_offset;
      if (ch->dictionary_page_offset > 0 && ch->dictionary_page_offset < start) start = ch->dictionary_page_offset;
      /* nv_pq_meta_read checked start + total_compressed against the file */
      if (lo < 0 || start < lo) lo = start;
      if (start + ch->total_compressed > hi) hi = start + ch->total_compressed;
    }
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, lo < 0 ? 0 : lo);
    lua_setfield(L, -2, "offset");
    lua_pushinteger(L, lo < 0 ? 0 : hi - lo);
    lua_setfield(L, -2, "length");
    lua_pushinteger(L, m->row_groups[g].num_rows);
    lua_setfield(L, -2, "num_rows");
    lua_rawseti(L, -2, (lua_Integer)g + 1);
  }
  return 1;
}

/* ---- r:metadata() ------------------------------------------------------------- */

/* Statistics bytes as a value of the column's physical type. */
static int stat_value(const struct nv_pq_column *c, struct nv_pq_bytes b, struct nv_pq_value *v) {
  memset(v, 0, sizeof *v);
  uint64_t u = 0;
  switch (c->type) {
  case NV_PQ_BOOLEAN:
    if (b.n < 1) return 0;
    v->i = b.p[0] & 1;
    return 1;
  case NV_PQ_INT32:
    if (b.n != 4) return 0;
    for (int i = 3; i >= 0; i--) u = u << 8 | b.p[i];
    v->i = (int32_t)(uint32_t)u;
    return 1;
  case NV_PQ_INT64:
    if (b.n != 8) return 0;
    for (int i = 7; i >= 0; i--) u = u << 8 | b.p[i];
    v->i = (int64_t)u;
    return 1;
  case NV_PQ_FLOAT: {
    if (b.n != 4) return 0;
    for (int i = 3; i >= 0; i--) u = u << 8 | b.p[i];
    uint32_t w = (uint32_t)u;
    float f;
    memcpy(&f, &w, sizeof f);
    v->d = f;
    return !isnan(v->d);
  }
  case NV_PQ_DOUBLE:
    if (b.n != 8) return 0;
    for (int i = 7; i >= 0; i--) u = u << 8 | b.p[i];
    memcpy(&v->d, &u, sizeof v->d);
    return !isnan(v->d);
  case NV_PQ_BYTE_ARRAY:
  case NV_PQ_FIXED:
    if (c->type == NV_PQ_FIXED && b.n != (uint32_t)c->type_length) return 0;
    v->s = b.p;
    v->n = b.n;
    return 1;
  default:
    return 0; /* INT96: no defined order */
  }
}

/* Signed big-endian comparison of two's complement byte strings. */
static int cmp_be_signed(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  int na = an && (a[0] & 0x80), nb = bn && (b[0] & 0x80);
  if (na != nb) return na ? -1 : 1;
  size_t n = an > bn ? an : bn;
  for (size_t i = 0; i < n; i++) {
    uint8_t x = i + an < n ? (na ? 0xff : 0) : a[i + an - n];
    uint8_t y = i + bn < n ? (nb ? 0xff : 0) : b[i + bn - n];
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

static int cmp_value(const struct nv_pq_column *c, const struct ctype *t, const struct nv_pq_value *a,
                     const struct nv_pq_value *b) {
  switch (c->type) {
  case NV_PQ_BOOLEAN:
  case NV_PQ_INT32:
  case NV_PQ_INT64:
    if (t->kind == K_UINT32 || t->kind == K_UINT64) {
      uint64_t x = t->kind == K_UINT32 ? (uint32_t)a->i : (uint64_t)a->i;
      uint64_t y = t->kind == K_UINT32 ? (uint32_t)b->i : (uint64_t)b->i;
      return x < y ? -1 : x > y;
    }
    return a->i < b->i ? -1 : a->i > b->i;
  case NV_PQ_FLOAT:
  case NV_PQ_DOUBLE:
    return a->d < b->d ? -1 : a->d > b->d;
  default: {
    if (t->kind == K_DECIMAL) return cmp_be_signed(a->s, a->n, b->s, b->n);
    size_t n = a->n < b->n ? a->n : b->n;
    int r = n ? memcmp(a->s, b->s, n) : 0;
    if (r) return r < 0 ? -1 : 1;
    return a->n < b->n ? -1 : a->n > b->n;
  }
  }
}

static void push_string_set(lua_State *L, uint32_t bits, const char *(*name)(int), int nmax) {
  lua_newtable(L);
  int k = 1;
  for (int i = 0; i < nmax; i++)
    if (bits & (1u << i)) {
      lua_pushstring(L, name(i));
      lua_rawseti(L, -2, k++);
    }
  if (bits & (1u << 31)) {
    lua_pushliteral(L, "UNKNOWN");
    lua_rawseti(L, -2, k);
  }
}

static void push_column_meta(lua_State *L, const struct nv_pq_meta *m, size_t ci) {
  const struct nv_pq_column *c = &m->columns[ci];
  const struct nv_pq_node *nd = &m->nodes[c->node];
  struct ctype t = column_ctype(m, c);
  char buf[256];
  lua_createtable(L, 0, 20);
  lua_pushlstring(L, c->path, c->path_len);
  lua_setfield(L, -2, "name");
  lua_pushinteger(L, (lua_Integer)ci);
  lua_setfield(L, -2, "position");
  lua_pushstring(L, nv_pq_type_name(c->type));
  lua_setfield(L, -2, "physical_type");
  if (c->type == NV_PQ_FIXED) {
    lua_pushinteger(L, c->type_length);
    lua_setfield(L, -2, "type_length");
  }
  nv_pq_logical_name(m, c, buf, sizeof buf);
  if (buf[0]) {
    lua_pushstring(L, buf);
    lua_setfield(L, -2, "logical_type");
  }
  nv_pq_data_type(m, c, buf, sizeof buf);
  lua_pushstring(L, buf);
  lua_setfield(L, -2, "data_type");
  lua_pushstring(L, nd->repetition == NV_PQ_REQUIRED ? "REQUIRED"
                    : nd->repetition == NV_PQ_OPTIONAL ? "OPTIONAL" : "REPEATED");
  lua_setfield(L, -2, "repetition");
  lua_pushinteger(L, c->max_def);
  lua_setfield(L, -2, "max_definition_level");
  lua_pushinteger(L, c->max_rep);
  lua_setfield(L, -2, "max_repetition_level");
  lua_pushboolean(L, c->max_def > 0);
  lua_setfield(L, -2, "nullable");

  int all_nulls = m->nrow_groups > 0, all_min = m->nrow_groups > 0, all_max = all_min;
  int64_t nulls = 0, csize = 0, usize = 0;
  uint32_t codecs = 0, encs = 0;
  struct nv_pq_value vmin, vmax, x;
  int have_min = 0, have_max = 0;
  for (size_t g = 0; g < m->nrow_groups; g++) {
    const struct nv_pq_chunk *ch = &m->row_groups[g].chunks[ci];
    const struct nv_pq_stats *st = &ch->st;
    if (st->has_null_count && st->null_count >= 0 && nulls <= INT64_MAX - st->null_count)
      nulls += st->null_count;
    else all_nulls = 0;
    int usable = !(st->legacy && (c->type == NV_PQ_BYTE_ARRAY || c->type == NV_PQ_FIXED));
    if (usable && st->has_min && stat_value(c, st->min, &x)) {
      if (!have_min || cmp_value(c, &t, &x, &vmin) < 0) vmin = x;
      have_min = 1;
    } else {
      all_min = 0;
    }
    if (usable && st->has_max && stat_value(c, st->max, &x)) {
      if (!have_max || cmp_value(c, &t, &x, &vmax) > 0) vmax = x;
      have_max = 1;
    } else {
      all_max = 0;
    }
    if (ch->codec >= 0 && ch->codec < NV_PQ_NCODECS) codecs |= 1u << ch->codec;
    else codecs |= 1u << 31;
    encs |= ch->encodings;
    if (ch->total_compressed > 0 && csize <= INT64_MAX - ch->total_compressed) csize += ch->total_compressed;
    if (ch->total_uncompressed > 0 && usize <= INT64_MAX - ch->total_uncompressed)
      usize += ch->total_uncompressed;
  }
  if (all_nulls) {
    lua_pushinteger(L, nulls);
    lua_setfield(L, -2, "null_count");
  }
  if (all_min && have_min) {
    push_value(L, &t, &vmin);
    lua_setfield(L, -2, "min");
  }
  if (all_max && have_max) {
    push_value(L, &t, &vmax);
    lua_setfield(L, -2, "max");
  }
  if (m->nrow_groups == 1 && m->row_groups[0].chunks[ci].st.has_distinct) {
    lua_pushinteger(L, m->row_groups[0].chunks[ci].st.distinct_count);
    lua_setfield(L, -2, "distinct_count");
  }
  push_string_set(L, codecs, nv_pq_codec_name, NV_PQ_NCODECS);
  lua_setfield(L, -2, "compression");
  push_string_set(L, encs, nv_pq_encoding_name, NV_PQ_NENCODINGS);
  lua_setfield(L, -2, "encodings");
  lua_pushinteger(L, csize);
  lua_setfield(L, -2, "total_compressed_size");
  lua_pushinteger(L, usize);
  lua_setfield(L, -2, "total_uncompressed_size");
}

static int l_metadata(lua_State *L) {
  struct reader *r = check_reader(L, 1);
  const struct nv_pq_meta *m = &r->meta;
  lua_createtable(L, 0, 8);
  lua_pushinteger(L, m->num_rows);
  lua_setfield(L, -2, "num_rows");
  if (m->has_created_by) {
    lua_pushlstring(L, (const char *)m->created_by.p, m->created_by.n);
    lua_setfield(L, -2, "created_by");
  }
  lua_pushinteger(L, m->version);
  lua_setfield(L, -2, "version");
  lua_pushinteger(L, (lua_Integer)m->nrow_groups);
  lua_setfield(L, -2, "row_groups");
  lua_pushinteger(L, (lua_Integer)m->file_size);
  lua_setfield(L, -2, "file_size");
  lua_pushinteger(L, (lua_Integer)m->footer_len);
  lua_setfield(L, -2, "footer_length");
  lua_createtable(L, 0, (int)(m->nkv < 64 ? m->nkv : 64));
  for (size_t i = 0; i < m->nkv; i++) {
    lua_pushlstring(L, (const char *)m->kv[i].key.p, m->kv[i].key.n);
    if (m->kv[i].has_value) lua_pushlstring(L, (const char *)m->kv[i].value.p, m->kv[i].value.n);
    else lua_pushliteral(L, "");
    lua_rawset(L, -3);
  }
  lua_setfield(L, -2, "key_value");
  lua_createtable(L, (int)(m->ncolumns < 4096 ? m->ncolumns : 4096), 0);
  for (size_t i = 0; i < m->ncolumns; i++) {
    push_column_meta(L, m, i);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "columns");
  return 1;
}

/* ---- per-column decoding state --------------------------------------------- */

struct feed {
  const struct nv_pq_column *col;
  struct ctype t;
  struct scratch *sc;   /* json buffer for repeated leaves */
  uint64_t records, limit;
  int first_rep;        /* index in col->level_rep of the first REPEATED node */
  int in_record;        /* a repeated record is pending (0 none, 1 array, 2 null) */
  int nelem;
  int oom;
  /* profile_into */
  struct nv_profiler *prof;
  size_t pcol;
  /* rows() */
  lua_State *L;
  int rows_idx, list_idx;
  lua_Integer base; /* rows before this row group */
};

static int jput(struct feed *f, const char *s, size_t n) {
  struct scratch *sc = f->sc;
  if (sc->jlen + n > MAX_JSON) return 0;
  if (sc->jlen + n > sc->jcap) {
    size_t cap = sc->jcap ? sc->jcap : 256;
    while (cap < sc->jlen + n) cap *= 2;
    char *p = realloc(sc->json, cap);
    if (p == NULL) {
      f->oom = 1;
      return 0;
    }
    sc->json = p;
    sc->jcap = cap;
  }
  memcpy(sc->json + sc->jlen, s, n);
  sc->jlen += n;
  return 1;
}

static int jput_string(struct feed *f, const char *s, size_t n) {
  char esc[8];
  if (!jput(f, "\"", 1)) return 0;
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    if (!jput(f, s + run, i - run)) return 0;
    int k = c == '"' || c == '\\' ? snprintf(esc, sizeof esc, "\\%c", c)
                                  : snprintf(esc, sizeof esc, "\\u%04x", c);
    if (!jput(f, esc, (size_t)k)) return 0;
    run = i + 1;
  }
  return jput(f, s + run, n - run) && jput(f, "\"", 1);
}

/* Appends one element (NULL: null) to the pending JSON array. */
static void json_elem(struct feed *f, const struct nv_pq_value *v) {
  char buf[160];
  size_t save = f->sc->jlen;
  int ok = 1;
  if (f->nelem && !jput(f, ",", 1)) return;
  if (v == NULL) {
    ok = jput(f, "null", 4);
  } else {
    int n = 0;
    switch (f->t.kind) {
    case K_BOOL: ok = v->i ? jput(f, "true", 4) : jput(f, "false", 5); break;
    case K_INT: n = snprintf(buf, sizeof buf, "%lld", (long long)v->i); break;
    case K_UINT32: n = snprintf(buf, sizeof buf, "%lu", (unsigned long)(uint32_t)v->i); break;
    case K_UINT64: n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)(uint64_t)v->i); break;
    case K_DOUBLE:
    case K_FLOAT16: {
      double d = f->t.kind == K_DOUBLE ? v->d : half_to_double(v->s);
      if (f->t.is_float && isfinite(d)) d = float_value(d);
      n = isfinite(d) ? snprintf(buf, sizeof buf, "%.17g", d) : snprintf(buf, sizeof buf, "null");
      break;
    }
    case K_DECIMAL: n = (int)value_text(&f->t, v, buf, sizeof buf); break;
    case K_STRING: ok = jput_string(f, (const char *)v->s, v->n); break;
    case K_BINARY:
      if (textual(v->s, v->n)) ok = jput_string(f, (const char *)v->s, v->n);
      else ok = jput_string(f, buf, fmt_hex(v->s, v->n, buf, sizeof buf));
      break;
    default: ok = jput_string(f, buf, value_text(&f->t, v, buf, sizeof buf)); break;
    }
    if (n > 0 && ok) ok = jput(f, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
  }
  if (!ok) { /* too long: keep the array valid, drop the element */
    f->sc->jlen = save;
    return;
  }
  f->nelem++;
}

/* One scalar value made ready for the profiler (text in buf, VALUE_TEXT
 * bytes, when it is formatted); 0 when it cannot be. */
static int prep_value(struct feed *f, const struct nv_pq_value *v, char *buf, struct nv_prepared *pv) {
  int hint = nv_profiler_column_hint(f->prof, f->pcol);
  size_t n;
  switch (f->t.kind) {
  case K_BOOL: nv_profiler_prepare_bool((int)v->i, pv); return 1;
  case K_INT: nv_profiler_prepare_int(v->i, buf, pv); return 1;
  case K_UINT32: nv_profiler_prepare_int((int64_t)(uint32_t)v->i, buf, pv); return 1;
  case K_UINT64: {
    if (v->i >= 0) {
      nv_profiler_prepare_int(v->i, buf, pv);
      return 1;
    }
    /* beyond int64: its exact numeral, so min/max stay exact (a decimal) */
    int k = snprintf(buf, VALUE_TEXT, "%llu", (unsigned long long)(uint64_t)v->i);
    if (k <= 0) nv_profiler_prepare_double((double)(uint64_t)v->i, buf, pv);
    else nv_profiler_prepare_text(buf, (size_t)k, 0, hint, pv);
    return 1;
  }
  case K_DOUBLE:
    nv_profiler_prepare_double(f->t.is_float && isfinite(v->d) ? float_value(v->d) : v->d, buf, pv);
    return 1;
  case K_FLOAT16: nv_profiler_prepare_double(half_to_double(v->s), buf, pv); return 1;
  case K_DATE:
    if (v->i >= NV_PROFILER_DATE_MIN && v->i <= NV_PROFILER_DATE_MAX) return nv_profiler_prepare_date(v->i, buf, pv);
    n = value_text(&f->t, v, buf, VALUE_TEXT);
    break;
  case K_STRING: nv_profiler_prepare_text((const char *)v->s, v->n, 0, hint, pv); return 1;
  case K_BINARY:
    if (textual(v->s, v->n)) {
      nv_profiler_prepare_text((const char *)v->s, v->n, 0, hint, pv);
      return 1;
    }
    n = fmt_hex(v->s, v->n, buf, VALUE_TEXT);
    break;
  default: n = value_text(&f->t, v, buf, VALUE_TEXT); break;
  }
  nv_profiler_prepare_text(buf, n, 0, hint, pv);
  return 1;
}

/* Feeds one scalar value to the profiler; 0 when out of memory. A value
 * from the chunk's dictionary is prepared once per entry and chunk. */
static int prof_value(struct feed *f, const struct nv_pq_value *v) {
  struct scratch *sc = f->sc;
  if (v->dict && v->dict <= DICT_CACHE) {
    if (sc->dict == NULL && (sc->dict = calloc(DICT_CACHE, sizeof *sc->dict)) == NULL) return 0;
    struct dict_entry *e = &sc->dict[v->dict - 1];
    if (e->gen != sc->gen) {
      if (!prep_value(f, v, e->buf, &e->pv)) return 0;
      e->gen = sc->gen;
    }
    return nv_profiler_add_prepared(f->prof, f->pcol, &e->pv);
  }
  char buf[VALUE_TEXT];
  struct nv_prepared pv;
  return prep_value(f, v, buf, &pv) && nv_profiler_add_prepared(f->prof, f->pcol, &pv);
}

/* Index of the first undefined OPTIONAL/REPEATED node for level def. */
static int undefined_is(const struct feed *f, int def) {
  /* 0: the row is null, 1: the row's list is empty, 2: an inner element
   * is null, 3: an inner list is empty */
  if (def < f->first_rep) return 0;
  if (def == f->first_rep) return 1;
  return f->col->level_rep[def] == NV_PQ_REPEATED ? 3 : 2;
}

static int flush_record(struct feed *f) {
  if (f->in_record == 0) return 1;
  int ok = 1;
  if (f->prof) {
    if (f->in_record == 2) {
      ok = nv_profiler_add_null(f->prof, f->pcol);
    } else {
      if (f->sc->jlen + 1 > MAX_JSON) f->sc->jlen = MAX_JSON - 1;
      f->sc->json[f->sc->jlen++] = ']';
      ok = nv_profiler_add_nested(f->prof, f->pcol, 'a', f->sc->json, f->sc->jlen);
    }
  }
  f->in_record = 0;
  f->sc->jlen = 0;
  f->nelem = 0;
  return ok;
}

/* Repeated leaves, both sinks: pending JSON (profile) or a Lua list (rows). */
static void rows_put(struct feed *f, const struct nv_pq_value *v);

static int on_value(void *ud, const struct nv_pq_value *v, int def, int rep) {
  struct feed *f = ud;
  if (rep == 0) {
    if (f->col->max_rep && !flush_record(f)) return -1;
    if (f->records == f->limit) return 1;
    f->records++;
  }
  if (f->col->max_rep == 0) {
    if (f->L) {
      rows_put(f, v);
      return 0;
    }
    int ok = v ? prof_value(f, v) : nv_profiler_add_null(f->prof, f->pcol);
    return ok ? 0 : (f->oom = 1, -1);
  }
  int what = v ? -1 : undefined_is(f, def);
  if (f->L) {
    if (rep == 0 && what != 0) { /* new list for this row */
      lua_newtable(f->L);
      lua_pushvalue(f->L, -1);
      lua_replace(f->L, f->list_idx);
      lua_rawgeti(f->L, f->rows_idx, f->base + (lua_Integer)f->records);
      lua_insert(f->L, -2);
      lua_setfield(f->L, -2, f->col->path);
      lua_pop(f->L, 1);
      f->nelem = 0;
    }
    if (what == -1 || what == 2) rows_put(f, v);
    return 0;
  }
  if (rep == 0) {
    if (what == 0) {
      f->in_record = 2;
      return 0;
    }
    f->in_record = 1;
    if (!jput(f, "[", 1)) return f->oom ? -1 : 0;
  }
  if (f->in_record == 1 && (what == -1 || what == 2)) json_elem(f, v);
  return f->oom ? -1 : 0;
}

static void feed_init(struct feed *f, const struct nv_pq_meta *m, size_t ci, struct scratch *sc) {
  memset(f, 0, sizeof *f);
  f->col = &m->columns[ci];
  f->t = column_ctype(m, f->col);
  f->sc = sc;
  f->first_rep = 0;
  for (int k = 0; k < f->col->nlevels; k++)
    if (f->col->level_rep[k] == NV_PQ_REPEATED) {
      f->first_rep = k;
      break;
    }
}

/* Why a column cannot be decoded at all (NULL when it can). */
static const char *column_unsupported(const struct nv_pq_meta *m, size_t ci, size_t ngroups,
                                      char *buf, size_t n) {
  const struct nv_pq_column *c = &m->columns[ci];
  for (size_t g = 0; g < ngroups; g++) {
    const struct nv_pq_chunk *ch = &m->row_groups[g].chunks[ci];
    if (!nv_pq_codec_supported(ch->codec)) {
      snprintf(buf, n, "compression codec %s is not supported", nv_pq_codec_name(ch->codec));
      return buf;
    }
    if (ch->external) {
      snprintf(buf, n, "column chunk stored in another file");
      return buf;
    }
    for (int e = 0; e < NV_PQ_NENCODINGS; e++) {
      if (!(ch->encodings & (1u << e)) || e == NV_PQ_RLE || e == NV_PQ_BIT_PACKED) continue;
      if (!nv_pq_encoding_supported(e, c->type)) {
        snprintf(buf, n, "encoding %s is not supported for %s", nv_pq_encoding_name(e),
                 nv_pq_type_name(c->type));
        return buf;
      }
    }
  }
  return NULL;
}

/* ---- r:profile_into(p [, opts]) ----------------------------------------------- */

struct pstats {
  uint64_t rows, groups, bytes, pages;
};

static void push_pstats(lua_State *L, const struct pstats *s, int unsup_idx, int truncated) {
  lua_createtable(L, 0, 6);
  lua_pushboolean(L, truncated);
  lua_setfield(L, -2, "truncated");
  lua_pushinteger(L, (lua_Integer)s->rows);
  lua_setfield(L, -2, "rows");
  lua_pushinteger(L, (lua_Integer)s->groups);
  lua_setfield(L, -2, "row_groups_read");
  lua_pushinteger(L, (lua_Integer)s->bytes);
  lua_setfield(L, -2, "bytes_read");
  lua_pushinteger(L, (lua_Integer)s->pages);
  lua_setfield(L, -2, "pages");
  lua_pushvalue(L, unsup_idx);
  lua_setfield(L, -2, "unsupported");
}

/* Reads chunk (g, ci) through f; returns NV_PQ_* and fills err. */
static int read_chunk(struct reader *r, struct scratch *sc, size_t g, size_t ci, struct feed *f,
                      struct pstats *st, const char *path, char *err, size_t errsz) {
  const struct nv_pq_meta *m = &r->meta;
  sc->gen++; /* a new chunk, a new dictionary: cached entries are stale */
  if (sc->gen == 0) { /* wrapped: forget every entry */
    free(sc->dict);
    sc->dict = NULL;
    sc->gen = 1;
  }
  sc->cr = nv_pq_chunk_open(&r->src, &m->columns[ci], &m->row_groups[g].chunks[ci]);
  if (sc->cr == NULL) {
    snprintf(err, errsz, "%s: out of memory", path);
    return NV_PQ_ERROR;
  }
  int rc = nv_pq_chunk_read(sc->cr, on_value, f);
  if (rc == NV_PQ_DONE || rc == NV_PQ_STOPPED) {
    if (f->col->max_rep && f->prof && !flush_record(f)) {
      f->oom = 1;
      rc = NV_PQ_ABORTED;
    }
  }
  st->bytes += nv_pq_chunk_bytes(sc->cr);
  st->pages += nv_pq_chunk_pages(sc->cr);
  if (rc == NV_PQ_ABORTED)
    snprintf(err, errsz, "%s: out of memory", path);
  else if (rc == NV_PQ_ERROR || rc == NV_PQ_UNSUPPORTED)
    snprintf(err, errsz, "%s: column '%s', row group %zu: %s", path, m->columns[ci].path, g,
             nv_pq_chunk_error(sc->cr));
  else if (rc == NV_PQ_DONE && f->records != f->limit)
    snprintf(err, errsz, "%s: column '%s', row group %zu: %llu rows, the row group says %lld", path,
             m->columns[ci].path, g, (unsigned long long)f->records,
             (long long)m->row_groups[g].num_rows),
        rc = NV_PQ_ERROR;
  nv_pq_chunk_free(sc->cr);
  sc->cr = NULL;
  return rc;
}

/* The threads of one profile_into: a pool, one scratch per worker and one
 * result slot per column; freed by __gc, so errors raised after a row
 * group (never during one) release them. */
struct chunk_task {
  size_t ci;
  uint64_t cost; /* compressed bytes, to start the biggest first */
  int rc;
  struct pstats st;
  char *err; /* malloc'd on failure */
};
struct par {
  struct nv_pool *pool;
  struct scratch *sc; /* per worker */
  unsigned nsc;
  struct chunk_task *tasks; /* per column */
  size_t ntasks, captasks;
  /* the row group being read */
  struct reader *r;
  const char *path;
  const long *pcol;
  struct nv_profiler *prof;
  size_t g;
  uint64_t limit;
};

static void par_free(struct par *p) {
  nv_pool_free(p->pool); /* joins: no task runs past this */
  p->pool = NULL;
  for (unsigned i = 0; i < p->nsc; i++) scratch_free(&p->sc[i]);
  free(p->sc);
  p->sc = NULL;
  p->nsc = 0;
  for (size_t t = 0; t < p->captasks && p->tasks; t++) free(p->tasks[t].err);
  free(p->tasks);
  p->tasks = NULL;
  p->ntasks = p->captasks = 0;
}

/* The cause in read_chunk's "<path>: column 'c', row group g: cause" (the
 * whole message when it was cut short: names come from the file). */
static const char *chunk_reason(const char *msg) {
  const char *why = strstr(msg, "row group");
  const char *colon = why ? strchr(why, ':') : NULL;
  return colon && colon[1] == ' ' ? colon + 2 : msg;
}

static int par_gc(lua_State *L) {
  par_free(luaL_checkudata(L, 1, PAR_MT));
  return 0;
}

static void run_chunk_task(void *ud, size_t t, unsigned worker) {
  struct par *p = ud;
  struct chunk_task *task = &p->tasks[t];
  struct feed f;
  char err[ERRSZ + 256];
  feed_init(&f, &p->r->meta, task->ci, &p->sc[worker]);
  f.limit = p->limit;
  f.prof = p->prof;
  f.pcol = (size_t)p->pcol[task->ci];
  memset(&task->st, 0, sizeof task->st);
  task->rc = read_chunk(p->r, &p->sc[worker], p->g, task->ci, &f, &task->st, p->path, err, sizeof err);
  if (task->rc == NV_PQ_ERROR || task->rc == NV_PQ_ABORTED || task->rc == NV_PQ_UNSUPPORTED) {
    size_t n = strlen(err);
    task->err = malloc(n + 1);
    if (task->err) memcpy(task->err, err, n + 1);
  }
}

static int cmp_task_cost(const void *a, const void *b) {
  const struct chunk_task *x = a, *y = b;
  if (x->cost != y->cost) return x->cost > y->cost ? -1 : 1;
  return x->ci < y->ci ? -1 : x->ci > y->ci;
}

/* Threads are worth it with two or more decodable columns, each profiler
 * column fed by one of them (a file naming two leaves alike is read on
 * one thread). */
static unsigned usable_threads(const struct nv_pq_meta *m, const char *skip, const long *pcol, lua_Integer want) {
  size_t live = 0;
  for (size_t ci = 0; ci < m->ncolumns; ci++) {
    if (skip[ci]) continue;
    live++;
    for (size_t cj = 0; cj < ci; cj++)
      if (!skip[cj] && pcol[cj] == pcol[ci] && pcol[ci] != NV_PROFILER_DROPPED) return 1;
  }
  if (live < 2 || want < 2) return 1;
  return (unsigned)((size_t)want < live ? (size_t)want : live);
}

/* Reads row group g's columns on the pool; returns the column whose
 * failure stops the scan (the first in column order), or -1. Unsupported
 * columns are marked in skip and unsup. */
static long par_row_group(lua_State *L, struct par *p, size_t g, uint64_t limit, char *skip, int unsup,
                          struct pstats *st, char *err, size_t errsz) {
  const struct nv_pq_meta *m = &p->r->meta;
  size_t n = 0;
  for (size_t ci = 0; ci < m->ncolumns; ci++) {
    if (skip[ci]) continue;
    struct chunk_task *t = &p->tasks[n++];
    free(t->err);
    memset(t, 0, sizeof *t);
    t->ci = ci;
    t->cost = (uint64_t)(m->row_groups[g].chunks[ci].total_compressed > 0 ? m->row_groups[g].chunks[ci].total_compressed : 0);
  }
  qsort(p->tasks, n, sizeof *p->tasks, cmp_task_cost);
  p->ntasks = n;
  p->g = g;
  p->limit = limit;
  nv_pool_run(p->pool, n, run_chunk_task, p);
  long failed = -1;
  for (size_t ci = 0, k; ci < m->ncolumns; ci++) { /* results in column order */
    for (k = 0; k < n && p->tasks[k].ci != ci; k++) {
    }
    if (k == n) continue;
    struct chunk_task *t = &p->tasks[k];
    st->bytes += t->st.bytes;
    st->pages += t->st.pages;
    const char *msg = t->err ? t->err : "out of memory";
    if (t->rc == NV_PQ_UNSUPPORTED) {
      skip[ci] = 1;
      lua_pushstring(L, chunk_reason(msg));
      lua_setfield(L, unsup, m->columns[ci].path);
    } else if ((t->rc == NV_PQ_ERROR || t->rc == NV_PQ_ABORTED) && failed < 0) {
      failed = (long)ci;
      snprintf(err, errsz, "%s", t->err ? t->err : "out of memory");
    }
  }
  return failed;
}

static int l_profile_into(lua_State *L) {
  static const char *const keys[] = {"row_groups", "max_rows", "max_bytes", "progress", "progress_bytes",
                                     "threads", NULL};
  struct reader *r = check_reader(L, 1);
  nv_reader_single_table_arg(L, 3, nv_reader_uv_path(L, 1));
  struct nv_profiler *prof = nv_profile_check(L, 2);
  nv_check_keys(L, 3, keys, NULL);
  const struct nv_pq_meta *m = &r->meta;
  lua_Integer max_groups = nv_opt_int(L, 3, "row_groups", LUA_MAXINTEGER, 0, LUA_MAXINTEGER);
  lua_Integer max_rows = nv_opt_int(L, 3, "max_rows", LUA_MAXINTEGER, 0, LUA_MAXINTEGER);
  /* max_bytes: no row group starts once this many column-chunk bytes were
   * read; progress(bytes) after each row group (false cancels) */
  lua_Integer max_bytes = nv_opt_int(L, 3, "max_bytes", LUA_MAXINTEGER, 1, LUA_MAXINTEGER);
  (void)nv_opt_int(L, 3, "progress_bytes", 1, 1, LUA_MAXINTEGER); /* reported per row group */
  lua_Integer want_threads = nv_opt_int(L, 3, "threads", 1, 1, NV_POOL_MAX_THREADS);
  int progress = nv_opt_function(L, 3, "progress");
  const char *path = nv_reader_uv_path(L, 1);
  size_t ngroups = (uint64_t)max_groups < m->nrow_groups ? (size_t)max_groups : m->nrow_groups;
  lua_newtable(L);
  int unsup = lua_gettop(L);
  struct scratch *sc = push_scratch(L);
  /* profiler columns; skip marks columns not decodable */
  char *skip = lua_newuserdatauv(L, m->ncolumns ? m->ncolumns : 1, 0);
  long *pcol = lua_newuserdatauv(L, (m->ncolumns ? m->ncolumns : 1) * sizeof *pcol, 0);
  char buf[ERRSZ];
  for (size_t ci = 0; ci < m->ncolumns; ci++) {
    const struct nv_pq_column *c = &m->columns[ci];
    pcol[ci] = nv_profiler_column(prof, c->path, c->path_len);
    if (pcol[ci] < 0) return luaL_error(L, "out of memory");
    nv_pq_logical_name(m, c, buf, sizeof buf);
    if (!nv_profiler_set_native_type(prof, (size_t)pcol[ci], buf[0] ? buf : nv_pq_type_name(c->type)))
      return luaL_error(L, "out of memory");
    const char *why = column_unsupported(m, ci, ngroups, buf, sizeof buf);
    skip[ci] = why != NULL;
    if (why) {
      lua_pushstring(L, why);
      lua_setfield(L, unsup, c->path);
    }
  }
  struct par *par = NULL;
  unsigned nthreads = usable_threads(m, skip, pcol, want_threads);
  if (nthreads > 1) {
    par = nv_newudata(L, sizeof *par, PAR_MT);
    par->sc = calloc(nthreads, sizeof *par->sc);
    par->tasks = calloc(m->ncolumns, sizeof *par->tasks);
    if (par->sc == NULL || par->tasks == NULL) return luaL_error(L, "out of memory");
    par->captasks = m->ncolumns;
    par->nsc = nthreads;
    par->pool = nv_pool_new(nthreads);
    if (par->pool == NULL) return luaL_error(L, "out of memory");
    par->r = r;
    par->path = path;
    par->pcol = pcol;
    par->prof = prof;
  }
  struct pstats st = {0, 0, 0, 0};
  char err[ERRSZ + 256];
  uint64_t left = (uint64_t)max_rows;
  for (size_t g = 0; g < ngroups && left > 0 && st.bytes < (uint64_t)max_bytes; g++) {
    const struct nv_pq_row_group *rg = &m->row_groups[g];
    uint64_t limit = (uint64_t)rg->num_rows < left ? (uint64_t)rg->num_rows : left;
    int failed = 0;
    if (par && nv_profiler_exact_room(prof)) { /* else one thread: no race for the exact budget */
      failed = par_row_group(L, par, g, limit, skip, unsup, &st, err, sizeof err) >= 0;
    } else {
      for (size_t ci = 0; ci < m->ncolumns; ci++) {
        if (skip[ci]) continue;
        struct feed f;
        char cerr[ERRSZ + 256];
        feed_init(&f, m, ci, sc);
        f.limit = limit;
        f.prof = prof;
        f.pcol = (size_t)pcol[ci];
        int rc = read_chunk(r, sc, g, ci, &f, &st, path, cerr, sizeof cerr);
        if (rc == NV_PQ_UNSUPPORTED) {
          skip[ci] = 1;
          lua_pushstring(L, chunk_reason(cerr));
          lua_setfield(L, unsup, m->columns[ci].path);
        }
        if ((rc == NV_PQ_ERROR || rc == NV_PQ_ABORTED) && !failed) {
          failed = 1;
          memcpy(err, cerr, sizeof err);
        }
      }
    }
    nv_profiler_add_rows(prof, limit);
    st.rows += limit;
    st.groups++;
    if (failed) {
      if (par) par_free(par);
      lua_pushnil(L);
      lua_pushstring(L, err);
      push_pstats(L, &st, unsup, st.rows < (uint64_t)m->num_rows);
      return 3;
    }
    left -= limit;
    if (progress && nv_reader_progress(L, &progress, &r->busy, (lua_Integer)st.bytes)) {
      if (par) par_free(par);
      return luaL_error(L, "%s: cancelled", path);
    }
    if (nv_profile_test(L, 2) != prof) {
      if (par) par_free(par);
      return luaL_error(L, "%s: the profile was closed during profile_into", path);
    }
  }
  if (par) par_free(par);
  push_pstats(L, &st, unsup, st.rows < (uint64_t)m->num_rows);
  return 1;
}

/* ---- r:rows([max]) -------------------------------------------------------------- */

static void rows_put(struct feed *f, const struct nv_pq_value *v) {
  lua_State *L = f->L;
  if (f->col->max_rep) {
    if (v) push_value(L, &f->t, v);
    else lua_pushlightuserdata(L, NULL); /* a null element: json.null */
    lua_rawseti(L, f->list_idx, ++f->nelem);
    return;
  }
  if (v == NULL) return;
  lua_rawgeti(L, f->rows_idx, f->base + (lua_Integer)f->records);
  push_value(L, &f->t, v);
  lua_setfield(L, -2, f->col->path);
  lua_pop(L, 1);
}

static int rows_iter(lua_State *L) {
  lua_Integer i = lua_tointeger(L, lua_upvalueindex(2)) + 1;
  if (lua_rawgeti(L, lua_upvalueindex(1), i) == LUA_TNIL) return 1;
  lua_pushinteger(L, i);
  lua_replace(L, lua_upvalueindex(2));
  return 1;
}

static int l_rows(lua_State *L) {
  struct reader *r = check_reader(L, 1);
  nv_reader_single_table_arg(L, 2, nv_reader_uv_path(L, 1));
  lua_Integer max = luaL_optinteger(L, 2, 20);
  luaL_argcheck(L, max >= 0 && max <= MAX_PREVIEW, 2, "must be in [0, 100000]");
  const struct nv_pq_meta *m = &r->meta;
  const char *path = nv_reader_uv_path(L, 1);
  lua_settop(L, 2);
  lua_newtable(L); /* 3: rows */
  lua_pushnil(L);  /* 4: the current list */
  struct scratch *sc = push_scratch(L); /* 5 */
  lua_Integer have = 0;
  struct pstats st = {0, 0, 0, 0};
  char err[ERRSZ + 256], buf[ERRSZ];
  for (size_t g = 0; g < m->nrow_groups && have < max; g++) {
    uint64_t limit = (uint64_t)m->row_groups[g].num_rows;
    if (limit > (uint64_t)(max - have)) limit = (uint64_t)(max - have);
    for (uint64_t k = 1; k <= limit; k++) {
      lua_newtable(L);
      lua_rawseti(L, 3, have + (lua_Integer)k);
    }
    for (size_t ci = 0; ci < m->ncolumns; ci++) {
      if (column_unsupported(m, ci, g + 1, buf, sizeof buf)) continue;
      struct feed f;
      feed_init(&f, m, ci, sc);
      f.limit = limit;
      f.L = L;
      f.rows_idx = 3;
      f.list_idx = 4;
      f.base = have;
      int rc = read_chunk(r, sc, g, ci, &f, &st, path, err, sizeof err);
      if (rc == NV_PQ_UNSUPPORTED) continue;
      if (rc == NV_PQ_ERROR || rc == NV_PQ_ABORTED) return nv_push_fail(L, err, error_code(err));
    }
    have += (lua_Integer)limit;
  }
  lua_pushvalue(L, 3);
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, rows_iter, 2);
  return 1;
}

/* ---- close ---------------------------------------------------------------------- */

/* close, __close and __gc (whose results are dropped); only __close can
 * come here while busy (the reader is on the stack) */
static int l_close(lua_State *L) {
  struct reader *r = luaL_checkudata(L, 1, READER_MT);
  nv_reader_check_idle(L, r->busy);
  return nv_reader_push_closed(L, reader_close_impl(r) != 0, nv_reader_uv_path(L, 1));
}

/* r:tables() -> { {name=} }: a Parquet file is one table */
static int l_tables(lua_State *L) {
  check_reader(L, 1);
  nv_reader_push_single_table(L, nv_reader_uv_path(L, 1));
  return 1;
}

/* r:info() -> {format="parquet", path=, rows=, row_groups=, columns=, created_by=?} */
static int l_info(lua_State *L) {
  struct reader *r = check_reader(L, 1);
  const struct nv_pq_meta *m = &r->meta;
  lua_createtable(L, 0, 6);
  lua_pushliteral(L, "parquet");
  lua_setfield(L, -2, "format");
  lua_pushstring(L, nv_reader_uv_path(L, 1));
  lua_setfield(L, -2, "path");
  lua_pushinteger(L, (lua_Integer)m->num_rows);
  lua_setfield(L, -2, "rows");
  lua_pushinteger(L, (lua_Integer)m->nrow_groups);
  lua_setfield(L, -2, "row_groups");
  lua_pushinteger(L, (lua_Integer)m->ncolumns);
  lua_setfield(L, -2, "columns");
  if (m->has_created_by) {
    lua_pushlstring(L, (const char *)m->created_by.p, m->created_by.n);
    lua_setfield(L, -2, "created_by");
  }
  return 1;
}

static int l_tostring(lua_State *L) {
  struct reader *r = luaL_checkudata(L, 1, READER_MT);
  if (!r->open) lua_pushliteral(L, "nv.ParquetReader (closed)");
  else lua_pushfstring(L, "nv.ParquetReader (%s)", nv_reader_uv_path(L, 1));
  return 1;
}

static const luaL_Reg functions[] = {{"open", l_open}, {NULL, NULL}};

static const luaL_Reg methods[] = {{"tables", l_tables},
                                   {"info", l_info},
                                   {"metadata", l_metadata},
                                   {"profile_into", l_profile_into},
                                   {"rows", l_rows},
                                   {"row_group_ranges", l_row_group_ranges},
                                   {"close", l_close},
                                   {NULL, NULL}};

static const luaL_Reg metamethods[] = {
    {"__gc", l_close}, {"__close", l_close}, {"__tostring", l_tostring}, {"__index", NULL}, {NULL, NULL}};

static const luaL_Reg scratch_metamethods[] = {{"__gc", scratch_gc}, {"__close", scratch_gc}, {NULL, NULL}};
static const luaL_Reg par_metamethods[] = {{"__gc", par_gc}, {NULL, NULL}};

int luaopen_nv_parquet(lua_State *L) {
  nv_createmeta(L, READER_MT, metamethods, methods);
  nv_createmeta(L, SCRATCH_MT, scratch_metamethods, NULL);
  nv_createmeta(L, PAR_MT, par_metamethods, NULL);
  luaL_newlib(L, functions);
  return 1;
}

/* the reader contract (reader.h) */
static const char *const aliases[] = {"pq", NULL};
static const char *const extensions[] = {".parquet", ".pq", NULL};
const struct nv_reader nv_reader_parquet = {"parquet", aliases, extensions, nv_pq_sniff_score, l_open,
                                        "nv.parquet", luaopen_nv_parquet};
