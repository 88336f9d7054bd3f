/* profiler.h - the column profiler engine (pure C, no Lua): one pass per
 * value, memory bounded by the number of columns (never by rows), and
 * mergeable (partitions, chunks and workers combine exactly as one pass
 * would, up to the sketches' approximation).
 *
 * Readers feed values; nv.profile (profile.c) exposes results to Lua.
 * All functions returning int give 1 on success and 0 when out of memory. */
#ifndef NV_PROFILER_H
#define NV_PROFILER_H

#include <stddef.h>
#include <stdint.h>

#include "profiler_infer.h"

struct nv_profiler;

struct nv_profiler *nv_profiler_new(void);
void nv_profiler_free(struct nv_profiler *p);

/* Finds or adds the column `name`; returns its index, or -1 when out of
 * memory. Columns keep the order in which they were first added. Past
 * the column cap a new name is not added: it gets NV_PROFILER_DROPPED, an
 * index every add_* ignores (it is >= ncols), and is counted. */
#define NV_PROFILER_DROPPED ((long)0x7fffffff)
long nv_profiler_column(struct nv_profiler *p, const char *name, size_t n);
size_t nv_profiler_ncols(const struct nv_profiler *p);

/* The most columns profiled (default NV_PROFILER_MAX_COLUMNS); columns
 * past it are dropped (counted, first names kept by nv_profiler_dropped). */
#define NV_PROFILER_MAX_COLUMNS 10000
void nv_profiler_set_max_columns(struct nv_profiler *p, size_t max);
/* How many distinct column names were dropped; *first gets the first one
 * (NULL when none), valid until the profiler changes. */
uint64_t nv_profiler_dropped(const struct nv_profiler *p, const char **first, size_t *first_len);

/* Bytes all columns' exact frequency tables may hold together (default
 * NV_FREQ_BUDGET, 256 MiB): a column whose table would grow past it
 * spills to the sketches early. */
void nv_profiler_set_exact_budget(struct nv_profiler *p, size_t bytes);

/* The source's own type for a column (e.g. "INT64", "varchar(20)"). */
int nv_profiler_set_native_type(struct nv_profiler *p, size_t col, const char *type);

/* One value for column col of the current row.
 * text:   raw bytes as read from a text format; the type is inferred here;
 *         a zero-length text counts as empty.
 * null:   an explicit null (JSON null, SQL NULL).
 * nested: an array ('a') or object ('o') kept as its JSON text. */
int nv_profiler_add_text(struct nv_profiler *p, size_t col, const char *s, size_t n);
int nv_profiler_add_null(struct nv_profiler *p, size_t col);
int nv_profiler_add_int(struct nv_profiler *p, size_t col, int64_t v);
int nv_profiler_add_double(struct nv_profiler *p, size_t col, double v);
/* The text a double is profiled as: "%.15g", or "%.17g" when 15 digits
 * do not give v back; buf holds NV_PROFILER_DOUBLE_MAX bytes (no NUL is
 * promised). Returns the length. */
#define NV_PROFILER_DOUBLE_MAX 40
size_t nv_profiler_format_double(double v, char *buf);
/* A calendar date, days since 1970-01-01 (Parquet DATE, Arrow date32),
 * within years 1..9999 (NV_PROFILER_DATE_MIN..MAX, the dates the
 * classifier reads from "YYYY-MM-DD"): profiled exactly as that text
 * would be, without classifying it back. A day outside them is profiled
 * as the text of its number; readers with their own form for such days
 * give that text instead. */
#define NV_PROFILER_DATE_MIN INT64_C(-719162) /* 0001-01-01 */
#define NV_PROFILER_DATE_MAX INT64_C(2932896) /* 9999-12-31 */
int nv_profiler_add_date(struct nv_profiler *p, size_t col, int64_t days);
int nv_profiler_add_bool(struct nv_profiler *p, size_t col, int v);

/* A value made ready to add: its text, hash, class and length, computed
 * once. Every add_* above is a prepare_* then add_prepared, so a reader
 * may prepare a repeated value once (a Parquet dictionary entry) and add
 * it many times, with the profile the add_* calls give. s points into
 * the caller's buffer (or the value itself), which must outlive the adds. */
#define NV_PREP_EMPTY 1   /* an empty or all-space text: counts as empty */
#define NV_PREP_LENGTHS 2 /* a text value: chars feed the lengths */
#define NV_PREP_HINT 4    /* k.type becomes the column's classification hint */
#define NV_PROFILER_DATE_BUF 40
struct nv_prepared {
  const char *s;
  size_t n;
  uint64_t hash;
  uint64_t chars;
  int flags;
  struct nv_classified k;
};
/* hint: the column's last type (nv_profiler_column_hint: faster when it
 * holds) or -1; the class found is the same either way */
void nv_profiler_prepare_text(const char *s, size_t n, int ascii, int hint, struct nv_prepared *out);
int nv_profiler_column_hint(const struct nv_profiler *p, size_t col);
void nv_profiler_prepare_int(int64_t v, char *buf /* 24 bytes */, struct nv_prepared *out);
void nv_profiler_prepare_double(double v, char *buf /* NV_PROFILER_DOUBLE_MAX */, struct nv_prepared *out);
int nv_profiler_prepare_date(int64_t days, char *buf /* NV_PROFILER_DATE_BUF */, struct nv_prepared *out);
void nv_profiler_prepare_bool(int v, struct nv_prepared *out);
int nv_profiler_add_prepared(struct nv_profiler *p, size_t col, const struct nv_prepared *v);
int nv_profiler_add_nested(struct nv_profiler *p, size_t col, char kind, const char *json, size_t n);

/* Counts n more rows (records). A column given no value in some rows has
 * missing_count = rows - values given (JSON's absent keys). */
void nv_profiler_add_rows(struct nv_profiler *p, uint64_t n);

/* A columnar batch of text values, as CSV readers produce them:
 * values[c * nrows + r] with lengths[c * nrows + r]; a NULL value pointer
 * means the field was absent (a short, ragged row). Adds nrows rows. */
struct nv_text_batch {
  size_t nrows, ncols;
  const char *const *values;
  const uint32_t *lengths;
  int ascii; /* every value is known to be ASCII: a length in bytes is one in characters */
};
int nv_profiler_add_text_batch(struct nv_profiler *p, const struct nv_text_batch *b);
/* add_text_batch in parts, for readers that feed a batch's columns on
 * several threads: prepare (one thread: names columns past the header;
 * returns how many columns to feed, (size_t)-1 when out of memory), then
 * batch_column for each c below that (any thread, one per column at a
 * time), then add_rows(b->nrows). */
/* 1 when the exact-table budget has room for every column's table to
 * grow to its limit: then columns fed on several threads cannot race for
 * it, and the profile is the one a single thread gives. Readers feed on
 * one thread while it is 0. */
int nv_profiler_exact_room(const struct nv_profiler *p);
size_t nv_profiler_batch_prepare(struct nv_profiler *p, const struct nv_text_batch *b);
int nv_profiler_batch_column(struct nv_profiler *p, const struct nv_text_batch *b, size_t c);

/* The profiler as bytes (malloc'd into *out, the caller frees): 1, or 0
 * when out of memory. Loading them gives a profiler whose results and
 * merges are the dumped one's; the bytes are checked (checksum, bounds,
 * the engine's invariants) and refused with a reason in err. */
int nv_profiler_dump(const struct nv_profiler *p, unsigned char **out, size_t *n);
struct nv_profiler *nv_profiler_load(const void *bytes, size_t n, char *err, size_t errsz);

/* Adds src's columns (matched by name) and rows into dst. */
int nv_profiler_merge(struct nv_profiler *dst, const struct nv_profiler *src);

#endif
