/* csv_parse.c - the CSV engine behind nv.csv: a push parser emitting
 * column-major batches (see csv_parse.h for the parsing rules), UTF-8
 * validation, and dialect sniffing. Pure C; uses profiler.h only for
 * struct nv_text_batch.
 *
 * Storage invariants (struct nv_csv_parser):
 *  - arena holds the bytes of the rows held plus the record in progress;
 *    fields are (offset into arena, length) pairs in foff/flen, row-major.
 *  - rowfirst[r] is the index of row r's first field, for r <= nrows;
 *    rowfirst[nrows] is where the record in progress starts.
 *  - once the columns are known, a row stores at most ncols fields; extra
 *    fields are parsed, counted and rolled back out of the arena.
 *  - values handed out point into arena: valid until the rows are cleared. */
#include "csv_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define DEFAULT_BATCH_ROWS 4096
#define DEFAULT_BATCH_BYTES ((size_t)4 << 20)
#define BATCH_FIELDS ((size_t)1 << 20)

enum state {
  S_REC,   /* before a record: nothing of it consumed */
  S_FIELD, /* at the start of a field */
  S_UNQ,   /* in an unquoted field (or after a closing quote) */
  S_QUO,   /* in a quoted field */
  S_QQ,    /* saw a quote inside a quoted field */
  S_ESC,   /* saw the escape char inside a quoted field */
  S_CR     /* a record ended on CR: skip one LF */
};

struct u8state {
  unsigned need; /* continuation bytes still expected */
  unsigned char lo, hi; /* allowed range of the next one */
};

struct nv_csv_parser {
  struct nv_csv_config cfg;
  nv_csv_batch_fn fn;
  void *ud;
  unsigned char cls_unq[256]; /* bytes ending an unquoted run */
  unsigned char cls_quo[256]; /* bytes ending a quoted run */
  int status;
  char err[256];
  uint64_t limit;

  enum state state;
  unsigned bom_state; /* BOM bytes matched; 3 = past the BOM check */
  int prev_cr;        /* inside quotes: last byte was CR (CRLF = one line) */
  uint64_t pos;       /* stream offset of the byte being parsed */
  uint64_t line;      /* 1-based line of the byte being parsed */
  struct u8state u8;
  int chunk_ascii;   /* the buffer being parsed holds only ASCII bytes */
  int pending_ascii; /* so do all the bytes behind the pending rows */

  /* record in progress */
  uint64_t rec_line, rec_start, quote_line;
  uint64_t quote_pos; /* stream offset of the quote that opened the field */
  int in_fallback;    /* inside literal_quote for a field over the record limit */
  size_t rec_nf; /* fields seen, stored or not */
  int rec_quoted;
  int rec_q0;       /* the record's first field is quoted */
  unsigned skipped; /* preamble records dropped so far */
  size_t rec_arena; /* arena offset where the record starts */
  size_t fstart;    /* arena offset where the current field starts */

  /* columns */
  int header_done;
  size_t ncols;
  char *hdr;
  size_t hdr_len, hdr_cap;
  size_t *hoff;
  uint32_t *hlen;

  /* rows held */
  char *arena;
  size_t alen, acap;
  size_t *foff;
  uint32_t *flen;
  size_t nf, fcap;
  size_t *rowfirst;
  size_t nrows, rcap;

  /* column-major view built for the callback */
  const char **vals;
  uint32_t *lens;
  size_t vcap;

  struct nv_csv_stats stats;
};

static const unsigned char bom_bytes[3] = {0xEF, 0xBB, 0xBF};

/* ---- small helpers ---------------------------------------------------- */

/* Grows *ptr (elements of size elem) to hold need elements. */
static int grow(void **ptr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 1;
  size_t nc = *cap ? *cap : 64;
  while (nc < need) {
    if (nc > SIZE_MAX / 2) return 0;
    nc *= 2;
  }
  if (nc > SIZE_MAX / elem) return 0;
  void *np = realloc(*ptr, nc * elem);
  if (np == NULL) return 0;
  *ptr = np;
  *cap = nc;
  return 1;
}

static int fail(struct nv_csv_parser *p, int status, const char *msg) {
  p->status = status;
  snprintf(p->err, sizeof p->err, "%s", msg);
  return status;
}

static int nomem(struct nv_csv_parser *p) { return fail(p, NV_CSV_ERR_NOMEM, "out of memory"); }

static int oversize(struct nv_csv_parser *p) {
  p->status = NV_CSV_ERR_OVERSIZE;
  if ((p->state == S_QUO || p->state == S_ESC) && p->quote_line < p->line)
    snprintf(p->err, sizeof p->err,
             "line %llu: record exceeds the maximum record size (%zu bytes) inside a quoted "
             "field opened on line %llu (unbalanced quote?)",
             (unsigned long long)p->rec_line, p->cfg.max_record_bytes,
             (unsigned long long)p->quote_line);
  else
    snprintf(p->err, sizeof p->err, "line %llu: record exceeds the maximum record size (%zu bytes)",
             (unsigned long long)p->rec_line, p->cfg.max_record_bytes);
  return p->status;
}

/* Counts invalid UTF-8 sequences in s, carrying a split sequence in st. */
static uint64_t utf8_scan(struct u8state *st, const unsigned char *s, size_t n) {
  uint64_t bad = 0;
  size_t i = 0;
  while (i < n) {
    if (st->need == 0) {
      while (i + 32 <= n) { /* ASCII runs: 32 bytes per test */
        uint64_t w[4];
        memcpy(w, s + i, 32);
        if ((w[0] | w[1] | w[2] | w[3]) & 0x8080808080808080ULL) break;
        i += 32;
      }
      while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ULL) break;
        i += 8;
      }
      if (i >= n) break;
      unsigned c = s[i++];
      if (c < 0x80) continue;
      st->lo = 0x80;
      st->hi = 0xBF;
      if (c >= 0xC2 && c <= 0xDF) st->need = 1;
      else if (c == 0xE0) st->need = 2, st->lo = 0xA0;
      else if (c == 0xED) st->need = 2, st->hi = 0x9F;
      else if (c >= 0xE1 && c <= 0xEF) st->need = 2;
      else if (c == 0xF0) st->need = 3, st->lo = 0x90;
      else if (c >= 0xF1 && c <= 0xF3) st->need = 3;
      else if (c == 0xF4) st->need = 3, st->hi = 0x8F;
      else bad++;
    } else {
      unsigned c = s[i];
      if (c < st->lo || c > st->hi) { /* re-read c as a lead byte */
        bad++;
        st->need = 0;
        continue;
      }
      st->need--;
      st->lo = 0x80;
      st->hi = 0xBF;
      i++;
    }
  }
  return bad;
}

/* ---- configuration and lifetime --------------------------------------- */

void nv_csv_config_init(struct nv_csv_config *c, const struct nv_csv_dialect *d) {
  memset(c, 0, sizeof *c);
  c->delimiter = ',';
  c->quote = '"';
  c->escape = '"';
  if (d) {
    c->delimiter = d->delimiter;
    c->quote = d->quote;
    c->escape = d->escape;
    c->has_header = d->has_header;
    c->latin1 = d->latin1;
    c->comment = d->comment;
    c->skip_records = d->skip_records;
  }
}

struct nv_csv_parser *nv_csv_new(const struct nv_csv_config *cfg, nv_csv_batch_fn fn, void *ud) {
  struct nv_csv_parser *p = calloc(1, sizeof *p);
  if (p == NULL) return NULL;
  p->cfg = *cfg;
  p->pending_ascii = 1;
  if (p->cfg.max_record_bytes == 0) p->cfg.max_record_bytes = NV_CSV_DEFAULT_MAX_RECORD;
  if (p->cfg.max_record_bytes > NV_CSV_MAX_RECORD_LIMIT) p->cfg.max_record_bytes = NV_CSV_MAX_RECORD_LIMIT;
  if (p->cfg.batch_rows == 0) p->cfg.batch_rows = DEFAULT_BATCH_ROWS;
  if (p->cfg.batch_bytes == 0) p->cfg.batch_bytes = DEFAULT_BATCH_BYTES;
  if (p->cfg.escape == 0) p->cfg.escape = p->cfg.quote;
  if (p->cfg.quote == 0) p->cfg.escape = 0;
  p->fn = fn;
  p->ud = ud;
  p->limit = UINT64_MAX;
  p->line = 1;
  p->state = S_REC;
  unsigned char d = (unsigned char)p->cfg.delimiter;
  p->cls_unq[d] = p->cls_unq['\n'] = p->cls_unq['\r'] = 1;
  if (p->cfg.quote) p->cls_quo[(unsigned char)p->cfg.quote] = 1;
  if (p->cfg.escape) p->cls_quo[(unsigned char)p->cfg.escape] = 1;
  p->cls_quo['\n'] = p->cls_quo['\r'] = 1;
  if (!grow((void **)&p->rowfirst, &p->rcap, 2, sizeof *p->rowfirst)) {
    free(p);
    return NULL;
  }
  p->rowfirst[0] = 0;
  return p;
}

void nv_csv_free(struct nv_csv_parser *p) {
  if (p == NULL) return;
  free(p->hdr);
  free(p->hoff);
  free(p->hlen);
  free(p->arena);
  free(p->foff);
  free(p->flen);
  free(p->rowfirst);
  free(p->vals);
  free(p->lens);
  free(p);
}

void nv_csv_set_row_limit(struct nv_csv_parser *p, uint64_t limit) { p->limit = limit; }
int nv_csv_header_ready(const struct nv_csv_parser *p) { return p->header_done; }
size_t nv_csv_ncols(const struct nv_csv_parser *p) { return p->ncols; }
const struct nv_csv_stats *nv_csv_stats(const struct nv_csv_parser *p) { return &p->stats; }

const char *nv_csv_error(const struct nv_csv_parser *p) {
  return (p->status != NV_CSV_OK && p->status != NV_CSV_STOPPED) ? p->err : NULL;
}

const char *nv_csv_column_name(const struct nv_csv_parser *p, size_t i, size_t *len) {
  if (i >= p->ncols || p->hoff == NULL) return NULL;
  if (len) *len = p->hlen[i];
  return p->hdr + p->hoff[i];
}

/* ---- header names ----------------------------------------------------- */

static uint32_t hash_bytes(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

static int hdr_append(struct nv_csv_parser *p, const char *s, size_t n) {
  if (n > SIZE_MAX - p->hdr_len) return 0;
  if (!grow((void **)&p->hdr, &p->hdr_cap, p->hdr_len + n + 1, 1)) return 0;
  memcpy(p->hdr + p->hdr_len, s, n);
  p->hdr_len += n;
  p->hdr[p->hdr_len] = '\0';
  return 1;
}

/* Is the name [off, hdr_len) already in the set? (set: indices + 1) */
static int hdr_seen(const struct nv_csv_parser *p, const size_t *set, size_t mask, size_t off,
                    size_t *slot) {
  size_t n = p->hdr_len - off;
  size_t h = hash_bytes(p->hdr + off, n) & mask;
  while (set[h]) {
    size_t k = set[h] - 1;
    if (p->hlen[k] == n && memcmp(p->hdr + p->hoff[k], p->hdr + off, n) == 0) return 1;
    h = (h + 1) & mask;
  }
  *slot = h;
  return 0;
}

/* Sets the column names: from the fields [first, first + count) when
 * src is set (the header record), else column_1..column_count. Empty names
 * become column_<i>, duplicates get _2, _3, ... */
static int build_header(struct nv_csv_parser *p, size_t first, size_t count, int src) {
  p->hoff = malloc((count ? count : 1) * sizeof *p->hoff);
  p->hlen = malloc((count ? count : 1) * sizeof *p->hlen);
  size_t cap = 16;
  while (cap < count * 2) cap *= 2; /* count <= NV_CSV_MAX_COLUMNS */
  size_t *set = calloc(cap, sizeof *set);
  if (p->hoff == NULL || p->hlen == NULL || set == NULL) {
    free(set);
    return 0;
  }
  char num[48];
  for (size_t i = 0; i < count; i++) {
    size_t off = p->hdr_len, slot = 0;
    const char *s = NULL;
    size_t n = 0;
    if (src) {
      s = p->arena + p->foff[first + i];
      n = p->flen[first + i];
      size_t a = 0;
      while (a < n && (s[a] == ' ' || s[a] == '\t')) a++;
      if (a == n) n = 0; /* blank name */
    }
    int ok;
    if (n > 0) {
      ok = hdr_append(p, s, n);
    } else {
      int k = snprintf(num, sizeof num, "column_%zu", i + 1);
      ok = k > 0 && hdr_append(p, num, (size_t)k);
    }
    if (!ok) goto nomem;
    size_t base_end = p->hdr_len;
    for (unsigned long dup = 2; hdr_seen(p, set, cap - 1, off, &slot); dup++) {
      p->hdr_len = base_end;
      int k = snprintf(num, sizeof num, "_%lu", dup);
      if (k <= 0 || !hdr_append(p, num, (size_t)k)) goto nomem;
    }
    p->hoff[i] = off;
    p->hlen[i] = (uint32_t)(p->hdr_len - off);
    set[slot] = i + 1;
  }
  if (!hdr_append(p, "", 0)) goto nomem; /* hdr non-NULL even with no columns */
  free(set);
  p->ncols = count;
  p->header_done = 1;
  return 1;
nomem:
  free(set);
  return 0;
}

/* ---- batches ---------------------------------------------------------- */

int nv_csv_pending(struct nv_csv_parser *p, struct nv_text_batch *b) {
  size_t nrows = p->nrows, ncols = p->ncols;
  memset(b, 0, sizeof *b);
  b->ncols = ncols;
  if (nrows == 0) return 1;
  if (ncols && nrows > SIZE_MAX / ncols) return 0;
  size_t cells = nrows * ncols;
  if (!grow((void **)&p->vals, &p->vcap, cells, sizeof *p->vals)) return 0;
  size_t lcap = p->vcap;
  uint32_t *nl = realloc(p->lens, (lcap ? lcap : 1) * sizeof *p->lens);
  if (nl == NULL) return 0;
  p->lens = nl;
  for (size_t r = 0; r < nrows; r++) {
    size_t f = p->rowfirst[r], have = p->rowfirst[r + 1] - f;
    for (size_t c = 0; c < ncols; c++) {
      size_t at = c * nrows + r;
      if (c < have) {
        p->vals[at] = p->arena + p->foff[f + c];
        p->lens[at] = p->flen[f + c];
      } else {
        p->vals[at] = NULL;
        p->lens[at] = 0;
      }
    }
  }
  b->nrows = nrows;
  b->values = p->vals;
  b->lengths = p->lens;
  b->ascii = p->pending_ascii;
  return 1;
}

/* Drops the complete rows, moving a partial record to the front. */
void nv_csv_clear_pending(struct nv_csv_parser *p) {
  size_t f0 = p->rowfirst[p->nrows], a0 = p->rec_arena;
  size_t nfp = p->nf - f0;
  if (a0 > p->alen) a0 = p->alen;
  if (p->alen > a0) memmove(p->arena, p->arena + a0, p->alen - a0);
  p->alen -= a0;
  for (size_t i = 0; i < nfp; i++) {
    p->foff[i] = p->foff[f0 + i] - a0;
    p->flen[i] = p->flen[f0 + i];
  }
  p->nf = nfp;
  p->fstart -= (p->fstart >= a0) ? a0 : p->fstart;
  p->rec_arena = 0;
  p->nrows = 0;
  p->rowfirst[0] = 0;
  /* with nothing carried over, what follows comes from the current buffer */
  if (p->alen == 0 && p->nf == 0) p->pending_ascii = p->chunk_ascii;
}

int nv_csv_flush(struct nv_csv_parser *p) {
  if (p->fn == NULL || p->nrows == 0) return p->status == NV_CSV_STOPPED ? NV_CSV_OK : p->status;
  struct nv_text_batch b;
  if (!nv_csv_pending(p, &b)) return nomem(p);
  int rc = p->fn(p->ud, &b);
  nv_csv_clear_pending(p);
  if (rc != 0) return fail(p, NV_CSV_ERR_CALLBACK, "batch callback failed");
  return p->status == NV_CSV_STOPPED ? NV_CSV_OK : p->status;
}

/* ---- the parser ------------------------------------------------------- */

static inline void start_record(struct nv_csv_parser *p, uint64_t pos) {
  p->rec_line = p->line;
  p->rec_start = pos;
  p->rec_nf = 0;
  p->rec_quoted = 0;
  p->rec_q0 = 0;
  p->rec_arena = p->fstart = p->alen;
}

static inline int append(struct nv_csv_parser *p, const char *s, size_t n) {
  if (n == 0) return 1;
  size_t need = p->cfg.latin1 ? 2 * n : n; /* n <= max record (1 GiB) */
  if (need > p->acap - p->alen &&
      !grow((void **)&p->arena, &p->acap, p->alen + need, 1))
    return 0;
  if (!p->cfg.latin1) {
    memcpy(p->arena + p->alen, s, n);
    p->alen += n;
    return 1;
  }
  unsigned char *d = (unsigned char *)p->arena + p->alen;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x80) {
      *d++ = c;
    } else {
      *d++ = (unsigned char)(0xC0 | (c >> 6));
      *d++ = (unsigned char)(0x80 | (c & 0x3F));
    }
  }
  p->alen = (size_t)((char *)d - p->arena);
  return 1;
}

static inline int end_field(struct nv_csv_parser *p) {
  if (!p->header_done || p->rec_nf < p->ncols) {
    if (!p->header_done && p->rec_nf >= NV_CSV_MAX_COLUMNS) {
      p->status = NV_CSV_ERR_COLUMNS;
      snprintf(p->err, sizeof p->err, "line %llu: more than %d columns",
               (unsigned long long)p->rec_line, NV_CSV_MAX_COLUMNS);
      return p->status;
    }
    if (p->nf >= p->fcap) {
      size_t c1 = p->fcap, c2 = p->fcap;
      if (!grow((void **)&p->foff, &c1, p->nf + 1, sizeof *p->foff) ||
          !grow((void **)&p->flen, &c2, p->nf + 1, sizeof *p->flen))
        return nomem(p);
      p->fcap = c1 < c2 ? c1 : c2;
    }
    p->foff[p->nf] = p->fstart;
    p->flen[p->nf] = (uint32_t)(p->alen - p->fstart);
    p->nf++;
  } else {
    p->alen = p->fstart; /* an extra field: dropped */
  }
  p->rec_nf++;
  p->fstart = p->alen;
  return NV_CSV_OK;
}

/* Completes the record whose terminator (or end of input) is at pos. */
static int end_record(struct nv_csv_parser *p, uint64_t pos) {
  if (pos - p->rec_start > p->cfg.max_record_bytes) return oversize(p);
  size_t first = p->rowfirst[p->nrows];
  if (p->rec_nf == 1 && !p->rec_quoted && p->alen == p->rec_arena) {
    p->nf = first; /* blank line */
    p->stats.blank_lines++;
    return NV_CSV_OK;
  }
  int comment = p->cfg.comment && !p->rec_q0 && p->alen > p->rec_arena &&
                p->arena[p->rec_arena] == p->cfg.comment;
  if (comment || (!p->header_done && p->skipped < p->cfg.skip_records)) {
    if (!comment) p->skipped++; /* skip_records counts no comment lines (as the sniffer) */
    p->nf = first; /* a comment or preamble record: dropped */
    p->alen = p->rec_arena;
    p->stats.skipped_lines++;
    return NV_CSV_OK;
  }
  if (!p->header_done) {
    if (!build_header(p, first, p->rec_nf, p->cfg.has_header)) return nomem(p);
    if (p->cfg.has_header) {
      p->nf = first;
      p->alen = p->rec_arena;
      return p->limit == 0 ? (p->status = NV_CSV_STOPPED) : NV_CSV_OK;
    }
  }
  if (p->rec_nf != p->ncols) {
    if (p->stats.nragged_lines < NV_CSV_RAGGED_LINES)
      p->stats.ragged_lines[p->stats.nragged_lines++] = p->rec_line;
    p->stats.ragged_rows++;
    if (p->rec_nf > p->ncols) p->stats.extra_fields += p->rec_nf - p->ncols;
  }
  if (p->nrows + 2 > p->rcap &&
      !grow((void **)&p->rowfirst, &p->rcap, p->nrows + 2, sizeof *p->rowfirst))
    return nomem(p);
  p->nrows++;
  p->rowfirst[p->nrows] = p->nf;
  p->stats.rows++;
  p->rec_arena = p->alen;
  if (p->fn && (p->nrows >= p->cfg.batch_rows || p->alen >= p->cfg.batch_bytes ||
                p->nf >= BATCH_FIELDS)) {
    int rc = nv_csv_flush(p);
    if (rc != NV_CSV_OK) return rc;
  }
  if (p->stats.rows >= p->limit) return p->status = NV_CSV_STOPPED;
  return NV_CSV_OK;
}

/* The first byte at or after j that ends an unquoted run (delimiter, CR,
 * LF), or n: eight bytes per step while eight remain. A SWAR zero-byte
 * test may flag bytes above a true match, never below, so the lowest
 * flagged byte is the first match. */
static inline size_t scan_unq(const unsigned char *u, size_t j, size_t n, unsigned char delim,
                              const unsigned char *cu) {
#ifdef __SSE2__
  /* sixteen bytes at a time: one compare per special byte, one mask */
  const __m128i vd = _mm_set1_epi8((char)delim), vn = _mm_set1_epi8('\n'), vr = _mm_set1_epi8('\r');
  while (j + 16 <= n) {
    __m128i w = _mm_loadu_si128((const __m128i *)(const void *)(u + j));
    __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(w, vd), _mm_cmpeq_epi8(w, vn)),
                             _mm_cmpeq_epi8(w, vr));
    unsigned mask = (unsigned)_mm_movemask_epi8(m);
    if (mask) return j + (size_t)__builtin_ctz(mask);
    j += 16;
  }
#endif
  const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
  const uint64_t kd = ones * delim, kn = ones * '\n', kr = ones * '\r';
  while (j + 8 <= n) {
    uint64_t w;
    memcpy(&w, u + j, 8);
    uint64_t a = w ^ kd, b = w ^ kn, c = w ^ kr;
    uint64_t t = ((a - ones) & ~a) | ((b - ones) & ~b) | ((c - ones) & ~c);
    t &= highs;
    if (t) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
      return j + ((size_t)__builtin_clzll(t) >> 3);
#else
      return j + ((size_t)__builtin_ctzll(t) >> 3);
#endif
    }
    j += 8;
  }
  while (j < n && !cu[u[j]]) j++;
  return j;
}

/* Doubled quotes in a quoted field's raw bytes s[0..n) become one; returns
 * the new length (the bytes move down in place). */
static size_t undouble(char *s, size_t n, char quote) {
  size_t r = 0, w = 0;
  while (r < n) {
    char c = s[r++];
    s[w++] = c;
    if (c == quote && r < n && s[r] == quote) r++;
  }
  return w;
}

/* The whole-record fast path, for a record that lies entirely in buf from
 * i (once the columns are known, without Latin-1 conversion): unquoted
 * fields, and quoted fields closed right before a delimiter or line end
 * with only doubled quotes inside and no line break. The record's raw
 * bytes are copied in one go; quoted fields are then undoubled in place.
 * Returns 1 with the record stored and *term at its terminator (CR or LF;
 * end_record is the caller's), or 0 with nothing changed: the state
 * machine then parses the record (and reports any error in it). */
static int fast_record(struct nv_csv_parser *p, const char *buf, size_t n, size_t i,
                       uint64_t base, size_t *term) {
  const unsigned char *u = (const unsigned char *)buf, *cu = p->cls_unq, *cq = p->cls_quo;
  const char delim = p->cfg.delimiter, quote = p->cfg.quote;
  const int dq = quote && p->cfg.escape == quote;
  const size_t ncols = p->ncols, first = p->nf, maxrec = p->cfg.max_record_bytes;
  const size_t rs = i;
  if (buf[i] == '\n' || buf[i] == '\r') return 0; /* blank line */
  if (ncols > SIZE_MAX - first) return 0;
  if (p->fcap < first + ncols) {
    size_t c1 = p->fcap, c2 = p->fcap;
    int ok = grow((void **)&p->foff, &c1, first + ncols, sizeof *p->foff) &&
             grow((void **)&p->flen, &c2, first + ncols, sizeof *p->flen);
    p->fcap = c1 < c2 ? c1 : c2;
    if (!ok) return 0;
  }
  size_t j = i, nfields = 0;
  int quoted = 0, doubled = 0;
  for (;;) {
    size_t fs, fl;
    if (quote && buf[j] == quote) {
      size_t k = j + 1;
      for (;;) {
        while (k < n && !cq[u[k]]) k++;
        if (k >= n || buf[k] != quote) return 0; /* chunk end, escape, line break */
        if (dq && k + 1 < n && buf[k + 1] == quote) {
          doubled = 1;
          k += 2;
          continue;
        }
        break;
      }
      fs = j + 1;
      fl = k - fs;
      j = k + 1;
      if (j >= n || (buf[j] != delim && buf[j] != '\n' && buf[j] != '\r')) return 0;
      quoted = 1;
    } else {
      size_t k = scan_unq(u, j, n, (unsigned char)delim, cu);
      if (k >= n) return 0;
      fs = j;
      fl = k - j;
      j = k;
    }
    if (j - rs > maxrec) return 0;
    if (nfields < ncols) {
      p->foff[first + nfields] = fs - rs;
      p->flen[first + nfields] = (uint32_t)fl;
    }
    nfields++;
    if (buf[j] != delim) break;
    if (++j >= n) return 0;
  }
  size_t len = j - rs;
  if (len > p->acap - p->alen && !grow((void **)&p->arena, &p->acap, p->alen + len, 1)) return 0;
  start_record(p, base + rs);
  size_t a0 = p->alen, stored = nfields < ncols ? nfields : ncols;
  memcpy(p->arena + a0, buf + rs, len);
  for (size_t f = first; f < first + stored; f++) {
    size_t off = p->foff[f];
    if (doubled && off > 0 && buf[rs + off - 1] == quote)
      p->flen[f] = (uint32_t)undouble(p->arena + a0 + off, p->flen[f], quote);
    p->foff[f] = a0 + off;
  }
  p->alen = a0 + len;
  p->nf = first + stored;
  p->rec_nf = nfields;
  p->rec_quoted = quoted;
  p->rec_q0 = quote && buf[rs] == quote;
  p->fstart = p->alen;
  *term = j;
  return 1;
}

static int literal_quote(struct nv_csv_parser *p, int closed);

/* A quoted field outgrew the record limit: its quote was a stray one, read
 * again as a literal byte (once: not from inside that re-reading). */
static int quote_overflow(struct nv_csv_parser *p) {
  p->in_fallback = 1;
  int rc = literal_quote(p, 0);
  p->in_fallback = 0;
  return rc;
}

/* Does the quoted field just closed hold whole rows? At least two lines
 * inside it (between its first and last line break), each with exactly
 * ncols - 1 delimiters: rows swallowed by a stray quote and the next one,
 * not a multi-line text. */
static int swallowed_rows(const struct nv_csv_parser *p) {
  if (!p->header_done || p->ncols < 2 || p->line - p->quote_line < 3 ||
      p->cfg.escape != p->cfg.quote)
    return 0;
  const char *s = p->arena + p->fstart, d = p->cfg.delimiter;
  size_t n = p->alen - p->fstart, i = 0, lines = 0;
  while (i < n && s[i] != '\n' && s[i] != '\r') i++;
  while (i < n) {
    if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') i++;
    size_t j = ++i, delims = 0;
    while (j < n && s[j] != '\n' && s[j] != '\r') delims += s[j++] == d;
    if (j >= n) break; /* the last line, cut by the closing quote */
    if (delims != p->ncols - 1) return 0;
    lines++;
    i = j;
  }
  return lines >= 2;
}

/* The state machine over buf[0, n). Returns a status; *used = consumed. */
static int parse(struct nv_csv_parser *p, const char *buf, size_t n, size_t *used) {
  const unsigned char *u = (const unsigned char *)buf;
  const unsigned char *cu = p->cls_unq, *cq = p->cls_quo;
  const char delim = p->cfg.delimiter, quote = p->cfg.quote, esc = p->cfg.escape;
  const uint64_t base = p->pos, maxrec = p->cfg.max_record_bytes;
  size_t i = 0;
  int rc = NV_CSV_OK;
  while (i < n) {
    switch (p->state) {
      case S_REC:
        if (p->header_done && !p->cfg.latin1) {
          size_t t;
          if (fast_record(p, buf, n, i, base, &t)) {
            char c = buf[t];
            i = t + 1;
            rc = end_record(p, base + t);
            p->line++;
            if (c == '\r') p->state = S_CR;
            if (rc != NV_CSV_OK) goto out;
            break;
          }
        }
        start_record(p, base + i);
        p->state = S_FIELD;
        /* fallthrough */
      case S_FIELD:
        if (quote && buf[i] == quote) {
          if (p->rec_nf == 0) p->rec_q0 = 1;
          p->rec_quoted = 1;
          p->quote_line = p->line;
          p->quote_pos = base + i;
          p->prev_cr = 0;
          p->state = S_QUO;
          i++;
          break;
        }
        p->state = S_UNQ;
        /* fallthrough */
      case S_UNQ:
        for (;;) {
          size_t j = scan_unq(u, i, n, (unsigned char)delim, cu);
          if (j > i) {
            if (base + j - p->rec_start > maxrec) {
              i = j;
              rc = oversize(p);
              goto out;
            }
            if (!append(p, buf + i, j - i)) {
              i = j;
              rc = nomem(p);
              goto out;
            }
          }
          i = j;
          if (i == n) goto out;
          char c = buf[i++];
          if ((rc = end_field(p)) != NV_CSV_OK) goto out;
          if (c == delim) {
            if (i < n && (!quote || buf[i] != quote)) continue;
            p->state = S_FIELD;
            break;
          }
          if ((rc = end_record(p, base + i - 1)) != NV_CSV_OK) {
            p->line++;
            p->state = c == '\r' ? S_CR : S_REC;
            goto out;
          }
          p->line++;
          p->state = c == '\r' ? S_CR : S_REC;
          break;
        }
        break;
      case S_CR:
        if (buf[i] == '\n') i++;
        p->state = S_REC;
        break;
      case S_QUO: {
        size_t j = i;
        while (j < n && !cq[u[j]]) j++;
        if (j > i) {
          int over = base + j - p->rec_start > maxrec;
          if (over && (esc != quote || p->in_fallback)) {
            i = j;
            rc = oversize(p);
            goto out;
          }
          if (!append(p, buf + i, j - i)) {
            i = j;
            rc = nomem(p);
            goto out;
          }
          p->prev_cr = 0;
          if (over) { /* a stray quote ran past the record limit */
            i = j;
            if ((rc = quote_overflow(p)) != NV_CSV_OK) goto out;
            break;
          }
        }
        i = j;
        if (i == n) goto out;
        char c = buf[i++];
        if (base + i - p->rec_start > maxrec) {
          if (esc == quote && !p->in_fallback) {
            i--; /* c is read again after the fallback */
            if ((rc = quote_overflow(p)) != NV_CSV_OK) goto out;
            break;
          }
          rc = oversize(p);
          goto out;
        }
        if (c == esc && esc != quote) {
          p->state = S_ESC;
        } else if (c == quote) {
          p->state = S_QQ;
        } else {
          if (!append(p, &c, 1)) {
            rc = nomem(p);
            goto out;
          }
          if (c == '\r') {
            p->line++;
            p->prev_cr = 1;
          } else {
            if (!p->prev_cr) p->line++;
            p->prev_cr = 0;
          }
        }
        break;
      }
      case S_ESC: {
        char c = buf[i++];
        if (c != quote && c != esc && !append(p, &esc, 1)) {
          rc = nomem(p);
          goto out;
        }
        if (!append(p, &c, 1)) {
          rc = nomem(p);
          goto out;
        }
        if (c == '\n' || c == '\r') p->line++;
        p->prev_cr = 0;
        p->state = S_QUO;
        break;
      }
      case S_QQ:
        if (buf[i] == quote && esc == quote) {
          if (!append(p, &quote, 1)) {
            rc = nomem(p);
            goto out;
          }
          i++;
          p->state = S_QUO;
        } else {
          if (swallowed_rows(p) && (rc = literal_quote(p, 1)) != NV_CSV_OK) goto out;
          p->state = S_UNQ;
        }
        break;
    }
  }
out:
  *used = i;
  p->pos = base + i;
  p->stats.lines = p->line - 1;
  return rc;
}

/* Does buf[0..n) hold only ASCII bytes? (32 bytes per test) */
static int all_ascii(const unsigned char *s, size_t n) {
  const uint64_t highs = UINT64_C(0x8080808080808080);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    uint64_t w[4];
    memcpy(w, s + i, 32);
    if ((w[0] | w[1] | w[2] | w[3]) & highs) return 0;
  }
  for (; i < n; i++)
    if (s[i] & 0x80) return 0;
  return 1;
}

int nv_csv_feed(struct nv_csv_parser *p, const char *buf, size_t n, size_t *used) {
  *used = 0;
  p->chunk_ascii = all_ascii((const unsigned char *)buf, n);
  p->pending_ascii &= p->chunk_ascii;
  if (p->status != NV_CSV_OK && p->status != NV_CSV_STOPPED) return p->status;
  p->status = NV_CSV_OK;
  size_t i = 0;
  while (p->bom_state < 3 && i < n) {
    if ((unsigned char)buf[i] == bom_bytes[p->bom_state]) {
      p->bom_state++;
      i++;
      if (p->bom_state == 3) p->pos += 3;
      continue;
    }
    unsigned k = p->bom_state; /* a partial BOM was data after all */
    p->bom_state = 3;
    p->chunk_ascii = p->pending_ascii = 0;
    size_t u = 0;
    int rc = parse(p, (const char *)bom_bytes, k, &u);
    if (rc != NV_CSV_OK) return rc; /* cannot stop: no line end in it */
  }
  size_t u = 0;
  int rc = i < n ? parse(p, buf + i, n - i, &u) : NV_CSV_OK;
  i += u;
  *used = i;
  p->stats.bytes += i;
  p->stats.invalid_utf8 += utf8_scan(&p->u8, (const unsigned char *)buf, i);
  if (rc == NV_CSV_OK || rc == NV_CSV_STOPPED) p->status = rc;
  return rc;
}

/* A quoted field still open at end of input, grown past the record limit,
 * or closed only after swallowing whole rows (closed: its closing quote
 * was just read) began with a stray quote: parses it again from that quote
 * on without quoting, so that quote (and the closing one) are literal
 * bytes (RFC 4180 has no way to end it; DuckDB and Python would lose or
 * merge the rest of the file). The field's bytes are in the arena, raw but
 * for "" pairs made one, so the input is rebuilt from them. The row limit
 * is lifted meanwhile so that no byte is left over. */
static int literal_quote(struct nv_csv_parser *p, int closed) {
  const char q = p->cfg.quote;
  size_t n0 = p->alen - p->fstart, nq = 0;
  for (size_t i = 0; i < n0; i++) nq += p->arena[p->fstart + i] == q;
  if (nq + 2 > SIZE_MAX - n0) return nomem(p);
  char *raw = malloc(n0 + nq + 2);
  if (raw == NULL) return nomem(p);
  size_t k = 0;
  raw[k++] = q;
  for (size_t i = 0; i < n0; i++) {
    char c = p->arena[p->fstart + i];
    raw[k++] = c;
    if (c == q) raw[k++] = q;
  }
  if (closed) raw[k++] = q;
  uint64_t end = p->pos, limit = p->limit;
  int latin1 = p->cfg.latin1;
  p->alen = p->fstart;
  p->line = p->quote_line;
  p->pos = p->quote_pos;
  p->cfg.latin1 = 0; /* the arena's bytes are UTF-8 already */
  p->cfg.quote = 0;
  p->limit = UINT64_MAX;
  p->state = S_UNQ;
  p->stats.quote_fallbacks++;
  size_t used = 0;
  int rc = parse(p, raw, k, &used);
  free(raw);
  p->cfg.latin1 = latin1;
  p->cfg.quote = q;
  p->limit = limit;
  p->pos = end;
  return rc;
}

int nv_csv_finish(struct nv_csv_parser *p) {
  if (p->status != NV_CSV_OK && p->status != NV_CSV_STOPPED) return p->status;
  p->status = NV_CSV_OK;
  if (p->bom_state < 3) {
    unsigned k = p->bom_state;
    p->bom_state = 3;
    p->chunk_ascii = p->pending_ascii = 0;
    size_t u = 0;
    int rc = parse(p, (const char *)bom_bytes, k, &u);
    if (rc != NV_CSV_OK) return rc;
  }
  if (p->u8.need) {
    p->stats.invalid_utf8++;
    p->u8.need = 0;
  }
  int rc = NV_CSV_OK;
  /* read again without quoting: ends outside quotes */
  if (p->state == S_QUO && p->cfg.escape == p->cfg.quote)
    if ((rc = literal_quote(p, 0)) != NV_CSV_OK) return rc;
  if (p->state == S_QQ && swallowed_rows(p) && (rc = literal_quote(p, 1)) != NV_CSV_OK) return rc;
  switch (p->state) {
    case S_QUO:
    case S_ESC:
      p->status = NV_CSV_ERR_QUOTE;
      snprintf(p->err, sizeof p->err,
               "line %llu: unterminated quoted field (still open at end of input)",
               (unsigned long long)p->quote_line);
      nv_csv_flush(p); /* the rows before it are good */
      return p->status;
    case S_FIELD:
      if (p->rec_nf == 0) break; /* nothing of this record yet */
      /* fallthrough */
    case S_UNQ:
    case S_QQ:
      if ((rc = end_field(p)) != NV_CSV_OK) return rc;
      rc = end_record(p, p->pos);
      p->state = S_REC;
      /* the last record reached the row limit: its rows stay pending for
       * the caller (the callback may not be ready for them yet) */
      if (rc == NV_CSV_STOPPED) return rc;
      if (rc != NV_CSV_OK) return rc;
      break;
    case S_REC:
    case S_CR:
      break;
  }
  if (!p->header_done && !build_header(p, 0, 0, 0)) return nomem(p);
  p->status = NV_CSV_OK;
  return nv_csv_flush(p);
}

/* ---- sniffing --------------------------------------------------------- */

#define SNIFF_RECORDS 200

#define SNIFF_LEAD 8

struct score {
  size_t nrec, mode, freq, quoted, bad;
  size_t spans; /* line breaks inside quotes */
  size_t lead[SNIFF_LEAD]; /* field counts of the first records */
  size_t lead_ne[SNIFF_LEAD]; /* their non-empty fields */
  char le[3];
};

/* Parses the sample with one candidate dialect, counting fields per
 * record. An incomplete sample's last record is dropped unless it is the
 * only one (a long first line). */
static void score_dialect(const char *s, size_t n, int complete, char d, char q, char e,
                          char comment, struct score *sc) {
  size_t counts[SNIFF_RECORDS];
  size_t nrec = 0, nf = 1, i = 0, ne = 0; /* ne: non-empty fields of the record so far */
  int st = 0, any = 0, filled = 0;        /* filled: the current field holds something */
  memset(sc, 0, sizeof *sc);
  while (i < n && nrec < SNIFF_RECORDS) {
    char c = s[i];
    if (st == 0 && nf == 1 && !any && comment && c == comment) { /* a comment line */
      while (i < n && s[i] != '\n' && s[i] != '\r') i++;
      continue;
    }
    switch (st) {
      case 0:
        if (q && c == q) {
          st = 2;
          sc->quoted++;
          any = filled = 1;
          break;
        }
        st = 1;
        /* fallthrough */
      case 1:
        if (c == d) {
          nf++;
          ne += (size_t)filled;
          filled = 0;
          st = 0;
          any = 1;
        } else if (c == '\n' || c == '\r') {
          int crlf = c == '\r' && i + 1 < n && s[i + 1] == '\n';
          if (sc->le[0] == 0) {
            sc->le[0] = c;
            if (crlf) sc->le[1] = '\n';
          }
          if (crlf) i++;
          ne += (size_t)filled;
          if (any || nf > 1) {
            if (nrec < SNIFF_LEAD) sc->lead_ne[nrec] = ne;
            counts[nrec++] = nf;
          }
          nf = 1;
          ne = 0;
          any = filled = 0;
          st = 0;
        } else {
          any = filled = 1;
        }
        break;
      case 2:
        if (e != q && c == e) st = 4;
        else if (c == q) st = 3;
        else if (c == '\n' || c == '\r') sc->spans++;
        break;
      case 3:
        if (c == q && e == q) {
          st = 2;
          break;
        }
        if (c != d && c != '\n' && c != '\r') sc->bad++;
        st = 1;
        continue; /* re-read c outside the quotes */
      case 4:
        st = 2;
        break;
    }
    i++;
  }
  if ((any || nf > 1) && nrec < SNIFF_RECORDS && (complete || nrec == 0 || i < n)) {
    if (complete && st == 2) sc->bad++;
    if (nrec < SNIFF_LEAD) sc->lead_ne[nrec] = ne + (size_t)filled;
    counts[nrec++] = nf;
  }
  sc->nrec = nrec;
  for (size_t a = 0; a < nrec && a < SNIFF_LEAD; a++) sc->lead[a] = counts[a];
  for (size_t a = 0; a < nrec; a++) {
    size_t f = 0;
    for (size_t b = 0; b < nrec; b++) f += counts[b] == counts[a];
    if (f > sc->freq || (f == sc->freq && counts[a] > sc->mode)) {
      sc->freq = f;
      sc->mode = counts[a];
    }
  }
}

/* Is a (quote qa) a better candidate than b (quote qb)? */
static int better(const struct score *a, char qa, const struct score *b, char qb) {
  int ua = a->mode >= 2, ub = b->mode >= 2;
  if (ua != ub) return ua;
  size_t ca = a->freq * b->nrec, cb = b->freq * a->nrec;
  if (ca != cb) return ca > cb;
  /* as consistent, but one reads line breaks inside quotes: a stray quote
   * merging lines (a ditto mark, an inch sign) rather than real quoting */
  if ((a->spans == 0) != (b->spans == 0)) return a->spans == 0;
  if (qa != qb && a->quoted != b->quoted) return a->quoted > b->quoted; /* the one in use */
  if (a->bad != b->bad) return a->bad < b->bad;
  return a->mode > b->mode;
}

static void trim(const char **s, size_t *n) {
  while (*n && ((*s)[0] == ' ' || (*s)[0] == '\t')) (*s)++, (*n)--;
  while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) (*n)--;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static size_t digits(const char *s, size_t n, size_t i) {
  size_t j = i;
  while (j < n && is_digit(s[j])) j++;
  return j - i;
}

static int is_number(const char *s, size_t n) {
  trim(&s, &n);
  size_t i = 0, nd;
  if (i < n && (s[i] == '+' || s[i] == '-')) i++;
  nd = digits(s, n, i);
  i += nd;
  if (i < n && s[i] == '.') {
    size_t f = digits(s, n, i + 1);
    nd += f;
    i += 1 + f;
  }
  if (nd == 0) return 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    size_t e = digits(s, n, i);
    if (e == 0) return 0;
    i += e;
  }
  return i == n;
}

/* 2024-01-31, 2024/1/31, 31.01.2024, 1/31/24 (optionally followed by a
 * time after ' ' or 'T'), or a time 12:30[:00]. */
static int is_dateish(const char *s, size_t n) {
  trim(&s, &n);
  size_t a = digits(s, n, 0), i = a;
  if (a == 0 || i >= n) return 0;
  char sep = s[i];
  if (sep == ':') {
    size_t b = digits(s, n, i + 1);
    return a <= 2 && b == 2 && (i + 1 + b == n || (s[i + 3] == ':' && digits(s, n, i + 4) == 2 && i + 6 == n));
  }
  if (sep != '-' && sep != '/' && sep != '.') return 0;
  size_t b = digits(s, n, i + 1);
  i += 1 + b;
  if (b < 1 || b > 2 || i >= n || s[i] != sep) return 0;
  size_t c = digits(s, n, i + 1);
  i += 1 + c;
  int ok = (a == 4 && c >= 1 && c <= 2) || (a <= 2 && (c == 2 || c == 4));
  return ok && (i == n || s[i] == ' ' || s[i] == 'T');
}

static int typed(const char *s, size_t n) { return is_number(s, n) || is_dateish(s, n); }

static int same(const char *a, size_t an, const char *b, size_t bn) {
  return an == bn && memcmp(a, b, an) == 0;
}

static int is_bool(const char *s, size_t n) {
  static const char *const words[] = {"true", "false", "yes", "no", "t", "f", "y", "n"};
  trim(&s, &n);
  for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
    size_t k = strlen(words[w]);
    if (n != k) continue;
    size_t i = 0;
    while (i < k && (s[i] | 0x20) == words[w][i]) i++;
    if (i == k) return 1;
  }
  return 0;
}

static int typed_value(const char *s, size_t n) { return typed(s, n) || is_bool(s, n); }

/* The header rule over the first rows (column-major batch b), a vote per
 * column as Python's csv.Sniffer.has_header does:
 *  - no rows, or any first-row field typed (number or date/time): no header;
 *  - one row: a header when its fields are non-empty and distinct;
 *  - a column whose later values are mostly typed (numbers, dates,
 *    booleans) under a text first-row field votes header;
 *  - a text column votes against when its first-row field reappears below,
 *    and for when it is categorical (at most half its values distinct) or
 *    its first-row field is longer than every value below it (a name over
 *    codes, short answers, percentages), the field not being among them;
 *  - an empty first-row field does not vote. A header when the votes are
 *    positive, or even when every first-row field is non-empty, distinct
 *    and never repeated in its column. */
static int detect_header(const struct nv_text_batch *b) {
  size_t R = b->nrows, C = b->ncols;
  if (R == 0 || C == 0) return 0;
  int any_name = 0;
  for (size_t c = 0; c < C; c++) {
    const char *v = b->values[c * R];
    size_t n = b->lengths[c * R];
    if (v && typed(v, n)) return 0;
    if (v && n) any_name = 1;
  }
  if (!any_name) return 0;
  if (R == 1) {
    for (size_t c = 0; c < C; c++) {
      const char *v = b->values[c * R];
      size_t n = b->lengths[c * R];
      if (v == NULL || n == 0) return 0;
      for (size_t k = 0; k < c && C <= 512; k++)
        if (same(v, n, b->values[k * R], b->lengths[k * R])) return 0;
    }
    return 1;
  }
  /* The whole first row again further down, every field a non-empty name:
   * the header of stacked tables or concatenated exports repeating. */
  int named = C >= 2;
  for (size_t c = 0; c < C && named; c++) named = b->values[c * R] && b->lengths[c * R] > 0;
  for (size_t r = 1; r < R && named; r++) {
    size_t c = 0;
    while (c < C && b->values[c * R + r] &&
           same(b->values[c * R], b->lengths[c * R], b->values[c * R + r], b->lengths[c * R + r]))
      c++;
    if (c == C) return 1;
  }
  long votes = 0;
  int all_new = 1; /* every first-row field non-empty, distinct, never repeated below */
  for (size_t c = 0; c < C && all_new; c++) {
    const char *v = b->values[c * R];
    size_t n = b->lengths[c * R];
    if (v == NULL || n == 0) all_new = 0;
    for (size_t k = 0; k < c && all_new && C <= 512; k++)
      if (same(v, n, b->values[k * R], b->lengths[k * R])) all_new = 0;
  }
  for (size_t c = 0; c < C; c++) {
    const char *v0 = b->values[c * R];
    size_t n0 = b->lengths[c * R];
    if (v0 == NULL || n0 == 0) continue;
    size_t nonempty = 0, ty = 0, distinct = 0, maxlen = 0;
    int repeated = 0;
    for (size_t r = 1; r < R; r++) {
      const char *v = b->values[c * R + r];
      size_t n = b->lengths[c * R + r];
      if (v == NULL || n == 0) continue;
      nonempty++;
      if (n > maxlen) maxlen = n;
      ty += typed_value(v, n) != 0;
      if (same(v0, n0, v, n)) repeated = 1;
      size_t k = 1;
      if (C <= 4096) /* bounded work on very wide files: no categorical vote there */
        for (; k < r; k++)
          if (b->values[c * R + k] && same(v, n, b->values[c * R + k], b->lengths[c * R + k])) break;
      distinct += C > 4096 || k == r;
    }
    if (repeated) all_new = 0;
    if (nonempty == 0) continue;
    if (ty * 2 > nonempty) votes += typed_value(v0, n0) ? -1 : 1;
    else if (repeated) votes--;
    else if (distinct * 2 <= nonempty || (nonempty >= 4 && n0 > maxlen)) votes++;
  }
  return votes > 0 || (votes == 0 && all_new);
}

int nv_csv_sniff_header(const char *s, size_t n, int complete, const struct nv_csv_dialect *d) {
  struct nv_csv_config cfg;
  nv_csv_config_init(&cfg, d);
  cfg.has_header = 0;
  cfg.batch_rows = SIZE_MAX;
  cfg.batch_bytes = SIZE_MAX;
  cfg.max_record_bytes = NV_CSV_MAX_RECORD_LIMIT;
  struct nv_csv_parser *p = nv_csv_new(&cfg, NULL, NULL);
  if (p == NULL) return -1;
  nv_csv_set_row_limit(p, 50);
  size_t used = 0;
  int rc = nv_csv_feed(p, s, n, &used);
  if (rc == NV_CSV_OK && complete) rc = nv_csv_finish(p);
  struct nv_text_batch b;
  int h = -1;
  if (rc != NV_CSV_ERR_NOMEM && nv_csv_pending(p, &b)) h = detect_header(&b);
  nv_csv_free(p);
  return h;
}

/* The first byte of the sample's first non-blank line (0 if none). */
static char first_byte(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && (s[i] == '\n' || s[i] == '\r' || s[i] == ' ' || s[i] == '\t')) i++;
  return i < n ? s[i] : 0;
}

/* Preamble records (titles, notes) before the header: the leading records
 * with fewer fields than the sample's usual count (DuckDB likewise finds
 * the header where the consistent rows begin), as long as the record
 * after them has the usual count and they are few. A first record just
 * one field short is kept: a header without a name over row labels. */
static unsigned preamble(const struct score *sc) {
  if (sc->mode < 2 || sc->nrec < 3) return 0;
  size_t lim = sc->nrec < SNIFF_LEAD ? sc->nrec : SNIFF_LEAD, k = 0;
  /* A title padded with delimiters ("Raiders at Jets 9/7/14,,"): one
   * non-empty field of three or more, over a record that names (nearly)
   * every column — a header has more than one name. */
  if (sc->mode >= 3 && lim >= 3 && sc->lead[0] == sc->mode && sc->lead_ne[0] == 1 &&
      sc->lead[1] == sc->mode && sc->lead_ne[1] + 1 >= sc->mode)
    return 1;
  while (k < lim && sc->lead[k] < sc->mode) k++;
  if (k == 0 || k >= lim || sc->nrec - k < 2) return 0;
  if (k == 1 && sc->lead[0] + 1 == sc->mode) return 0;
  return (unsigned)k;
}

int nv_csv_sniff(const char *s, size_t n, int complete, struct nv_csv_dialect *d, char *err,
                 size_t errsz) {
  memset(d, 0, sizeof *d);
  d->delimiter = ',';
  d->quote = d->escape = '"';
  d->line_ending[0] = '\n';
  if (n >= 3 && memcmp(s, bom_bytes, 3) == 0) {
    d->bom = 1;
    s += 3;
    n -= 3;
  }
  size_t ctl = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == 0) {
      snprintf(err, errsz, "binary data, not CSV");
      return -1;
    }
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') ctl++;
  }
  if (ctl > n / 10 && ctl > 0) {
    snprintf(err, errsz, "binary data, not CSV");
    return -1;
  }
  struct u8state u8 = {0, 0, 0};
  uint64_t bad = utf8_scan(&u8, (const unsigned char *)s, n);
  if (complete && u8.need) bad++;
  d->latin1 = bad > 0;
  if (n == 0) return 0;

  char comment = first_byte(s, n) == '#' ? '#' : 0;
  static const char delims[] = {',', ';', '\t', '|'};
  static const char quotes[] = {'"', '\'', 0}; /* 0: no quoting */
  struct score best;
  char bq = '"', be = '"', bd = ',';
  int have = 0;
  for (size_t qi = 0; qi < sizeof quotes; qi++)
    for (int ei = 0; ei < 2; ei++)
      for (size_t di = 0; di < sizeof delims; di++) {
        char q = quotes[qi], e = ei ? '\\' : q;
        if (q == 0 && ei) continue;
        struct score sc;
        score_dialect(s, n, complete, delims[di], q, e, comment, &sc);
        if (!have || better(&sc, q, &best, bq)) {
          best = sc;
          bq = q;
          be = e;
          bd = delims[di];
          have = 1;
        }
      }
  if (best.mode >= 2 && best.quoted == 0 && bq != 0) {
    /* no field of the sample opens with the chosen quote: keep the double
     * quote unless, read as a quote, it would merge lines (stray quotes) */
    struct score dq;
    score_dialect(s, n, complete, bd, '"', '"', comment, &dq);
    bq = be = dq.spans ? 0 : '"';
  }
  if (best.mode >= 2) {
    d->delimiter = bd;
    d->quote = bq;
    d->escape = be;
  } else { /* one column: keep the defaults, read line ends plainly */
    score_dialect(s, n, complete, ',', '"', '"', comment, &best);
  }
  if (best.le[0]) memcpy(d->line_ending, best.le, sizeof best.le);
  d->comment = comment;
  d->skip_records = preamble(&best);

  int h = nv_csv_sniff_header(s, n, complete, d);
  if (h < 0) {
    snprintf(err, errsz, "out of memory");
    return -1;
  }
  d->has_header = h;
  return 0;
}

/* ---- the CSV reader's sniff score (reader.h) --------------------------- */

int nv_csv_sniff_score(const unsigned char *buf, size_t n, int eof, int hint) {
  (void)eof;
  if (memchr(buf, 0, n) != NULL) return 0; /* binary */
  size_t i = 0;
  if (n >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF) i = 3;
  while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n')) i++;
  if (i == n) return 0; /* empty */
  return hint > 0 ? 30 : 10; /* any text reads as CSV: the fallback, never proof */
}
