/* profiler.c - the column profiler engine (profiler.h, profiler_result.h):
 * per column counts, type inference, numeric / chronological / bytewise
 * extremes, Welford moments, quantiles, distinct counts, top values,
 * lengths and samples, each in memory bounded per column and mergeable.
 * Uses the classifier (profiler_infer.c) and the sketches
 * (profiler_sketch.c); pure C, no Lua.
 *
 * Invariants: tcount[] sums to nonempty = present - nulls - empties; every
 * non-empty value is hashed once and that hash feeds distinct, top values
 * and samples. Nothing is allocated per value: a column's buffers grow a
 * bounded number of times. */
#include "profiler.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiler_infer.h"
#include "profiler_result.h"
#include "profiler_sketch.h"
#include "profiler_types.h"

/* ---- columns ------------------------------------------------------------ */

static void numacc_init(struct numacc *a) {
  memset(a, 0, sizeof *a);
  a->imin = INT64_MAX;
  a->imax = INT64_MIN;
  a->all_int = 1;
}

static void column_free(struct column *c) {
  if (!c) return;
  nv_kll_free(&c->num[0].kll);
  nv_kll_free(&c->num[1].kll);
  nv_freq_free(&c->freq);
  nv_distinct_free(&c->distinct);
  free(c->topk);
  free(c->native);
  free(c->name);
  free(c);
}

static struct column *column_new(const char *name, size_t n) {
  struct column *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->name = malloc(n + 1);
  if (!c->name) {
    free(c);
    return NULL;
  }
  memcpy(c->name, name, n);
  c->name[n] = '\0';
  c->name_len = n;
  c->name_hash = nv_hash64(name, n);
  c->len_min = UINT64_MAX;
  c->hint = NV_PT_STRING;
  numacc_init(&c->num[0]);
  numacc_init(&c->num[1]);
  return c;
}

struct nv_profiler *nv_profiler_new(void) {
  struct nv_profiler *p = calloc(1, sizeof *p);
  if (p) {
    p->budget.limit = NV_FREQ_BUDGET;
    p->max_columns = NV_PROFILER_MAX_COLUMNS;
  }
  return p;
}

void nv_profiler_set_max_columns(struct nv_profiler *p, size_t max) { p->max_columns = max; }

uint64_t nv_profiler_dropped(const struct nv_profiler *p, const char **first, size_t *first_len) {
  *first = p->dropped_names.n ? p->dropped_names.bytes + p->dropped_names.e[0].off : NULL;
  *first_len = p->dropped_names.n ? p->dropped_names.e[0].len : 0;
  return p->dropped;
}

/* A name refused past the cap: counted once while the set of refused names
 * fits an exact table, then every refusal counts (an upper bound). */
static long drop_column(struct nv_profiler *p, const char *name, size_t n, uint64_t h) {
  uint32_t before = p->dropped_names.n;
  int r = nv_freq_add(&p->dropped_names, h, name, n);
  if (r == 0) return -1;
  if (r < 0 || p->dropped_names.n != before) p->dropped++;
  return NV_PROFILER_DROPPED;
}

void nv_profiler_set_exact_budget(struct nv_profiler *p, size_t bytes) { p->budget.limit = bytes; }

void nv_profiler_free(struct nv_profiler *p) {
  if (!p) return;
  for (size_t i = 0; i < p->ncols; i++) column_free(p->cols[i]);
  free(p->cols);
  free(p->index);
  nv_freq_free(&p->dropped_names);
  free(p);
}

size_t nv_profiler_ncols(const struct nv_profiler *p) { return p->ncols; }
uint64_t nv_profiler_rows(const struct nv_profiler *p) { return p->rows; }

static long find_column(const struct nv_profiler *p, const char *name, size_t n, uint64_t h) {
  if (!p->index) return -1;
  size_t m = p->index_cap - 1;
  for (size_t i = (size_t)h & m; p->index[i]; i = (i + 1) & m) {
    const struct column *c = p->cols[p->index[i] - 1];
    if (c->name_hash == h && c->name_len == n && memcmp(c->name, name, n) == 0)
      return (long)(p->index[i] - 1);
  }
  return -1;
}

static void index_put(uint32_t *index, size_t cap, uint64_t h, size_t col) {
  size_t m = cap - 1, i = (size_t)h & m;
  while (index[i]) i = (i + 1) & m;
  index[i] = (uint32_t)(col + 1);
}

/* Appends a column (even when the name is taken: lookups find the first). */
static long append_column(struct nv_profiler *p, const char *name, size_t n) {
  if (p->ncols >= UINT32_MAX - 1 || p->ncols >= (size_t)LONG_MAX) return -1;
  if (p->ncols == p->capcols) {
    size_t cap = p->capcols ? p->capcols * 2 : 16;
    if (cap > SIZE_MAX / sizeof *p->cols) return -1;
    struct column **cols = realloc(p->cols, cap * sizeof *cols);
    if (!cols) return -1;
    p->cols = cols;
    p->capcols = cap;
  }
  if ((p->ncols + 1) * 2 > p->index_cap) {
    size_t cap = p->index_cap ? p->index_cap * 2 : 32;
    if (cap > SIZE_MAX / sizeof *p->index) return -1;
    uint32_t *index = calloc(cap, sizeof *index);
    if (!index) return -1;
    for (size_t i = 0; i < p->ncols; i++) index_put(index, cap, p->cols[i]->name_hash, i);
    free(p->index);
    p->index = index;
    p->index_cap = cap;
  }
  struct column *c = column_new(name, n);
  if (!c) return -1;
  c->freq.budget = &p->budget;
  p->cols[p->ncols] = c;
  index_put(p->index, p->index_cap, c->name_hash, p->ncols);
  return (long)p->ncols++;
}

long nv_profiler_column(struct nv_profiler *p, const char *name, size_t n) {
  uint64_t h = nv_hash64(name, n);
  long i = find_column(p, name, n, h);
  if (i >= 0) return i;
  if (p->ncols >= p->max_columns) return drop_column(p, name, n, h);
  return append_column(p, name, n);
}

int nv_profiler_set_native_type(struct nv_profiler *p, size_t col, const char *type) {
  if (col >= p->ncols) return 1;
  size_t n = strlen(type);
  char *t = malloc(n + 1);
  if (!t) return 0;
  memcpy(t, type, n + 1);
  free(p->cols[col]->native);
  p->cols[col]->native = t;
  return 1;
}

void nv_profiler_add_rows(struct nv_profiler *p, uint64_t n) { p->rows += n; }

/* ---- one value ---------------------------------------------------------- */

static const unsigned char space_tab[256] = {[' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\v'] = 1,
                                              ['\f'] = 1, ['\r'] = 1};
static inline int is_space(unsigned char c) { return space_tab[c]; }

static inline uint64_t load_be64(const char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

/* bytewise order; the first 8 bytes decide most comparisons without a call */
static inline int bcompare(const char *s, size_t n, const struct bvalue *b) {
  size_t m = n < b->len ? n : b->len;
  if (m >= 8) {
    uint64_t x = load_be64(s), y = load_be64(b->v);
    if (x != y) return x < y ? -1 : 1;
  } else if (m > 0 && s[0] != b->v[0]) {
    return (unsigned char)s[0] < (unsigned char)b->v[0] ? -1 : 1;
  }
  int r = memcmp(s, b->v, m);
  return r ? r : (n > b->len) - (n < b->len);
}

/* The first 8 bytes as a big-endian number, zero-padded. If
 * prefix8(s) < prefix8(t) then s < t bytewise (a zero pad sorts below
 * any byte, and equal prefixes decide nothing), and likewise for >. */
static inline uint64_t load_be32(const char *p) {
  uint32_t v;
  memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  v = __builtin_bswap32(v);
#endif
  return v;
}

static inline uint64_t prefix8(const char *s, size_t n) {
  if (n >= 8) return load_be64(s);
  if (n >= 4) /* two overlapping 4-byte loads; shared bytes land on the same bits */
    return load_be32(s) << 32 | load_be32(s + n - 4) << (8 * (8 - n));
  if (n == 0) return 0;
  const unsigned char *u = (const unsigned char *)s; /* bytes 0, n/2, n-1 cover 1 to 3 */
  return (uint64_t)u[0] << 56 | (uint64_t)u[n / 2] << (56 - 8 * (n / 2)) |
         (uint64_t)u[n - 1] << (56 - 8 * (n - 1));
}

static void bset(struct bvalue *b, const char *s, size_t n) {
  b->len = (uint32_t)n;
  memcpy(b->v, s, n);
}

/* Folds k values x[] into the moments (mean, m2) of n0 values. */
static void moments_fold(uint64_t n0, double *mean, double *m2, const double *x, uint32_t k) {
  if (k == 0) return;
  double sum = 0.0, q = 0.0;
  for (uint32_t i = 0; i < k; i++) sum += x[i];
  double mb = sum / (double)k;
  for (uint32_t i = 0; i < k; i++) q += (x[i] - mb) * (x[i] - mb);
  if (n0 == 0) {
    *mean = mb;
    *m2 = q;
    return;
  }
  double n = (double)n0 + (double)k, d = mb - *mean;
  *m2 += q + d * d * (double)n0 * (double)k / n;
  *mean += d * (double)k / n;
}

/* The moments over all n values, buffered ones included. */
static void numacc_moments(const struct numacc *a, double *mean, double *m2) {
  *mean = a->mean;
  *m2 = a->m2;
  moments_fold(a->n - a->nbuf, mean, m2, a->buf, a->nbuf);
}

static inline int numacc_add(struct numacc *a, double x, int is_int, int64_t iv) {
  a->n++;
  a->buf[a->nbuf++] = x;
  if (a->nbuf == NUM_BATCH) {
    moments_fold(a->n - NUM_BATCH, &a->mean, &a->m2, a->buf, NUM_BATCH);
    a->nbuf = 0;
  }
  if (a->n == 1) {
    a->min = a->max = x;
  } else {
    if (x < a->min) a->min = x;
    if (x > a->max) a->max = x;
  }
  if (is_int) {
    if (iv < a->imin) a->imin = iv;
    if (iv > a->imax) a->imax = iv;
  } else {
    a->all_int = 0;
  }
  return nv_kll_add(&a->kll, x);
}

static inline void ext_add(struct chrono_ext *e, int64_t t, int z) {
  if (e->n++ == 0) {
    e->min = e->max = t;
    e->min_z = e->max_z = (uint8_t)z;
    return;
  }
  if (t < e->min) {
    e->min = t;
    e->min_z = (uint8_t)z;
  }
  if (t > e->max) {
    e->max = t;
    e->max_z = (uint8_t)z;
  }
}

/* Numerals in normal form (see struct bigext): < 0, 0, > 0 as a < b. */
static int numeral_cmp(const char *a, size_t an, const char *b, size_t bn) {
  int na = an && a[0] == '-', nb = bn && b[0] == '-';
  if (na != nb) return na ? -1 : 1;
  int r = an != bn ? (an < bn ? -1 : 1) : memcmp(a, b, an);
  r = (r > 0) - (r < 0);
  return na ? -r : r;
}

static void bigext_put(struct bigext *e, const char *v, size_t n, double d) {
  if (e->n++ == 0 || numeral_cmp(v, n, e->min, e->lmin) < 0) {
    memcpy(e->min, v, n);
    e->lmin = (uint32_t)n;
    e->dmin = d;
  }
  if (e->n == 1 || numeral_cmp(v, n, e->max, e->lmax) > 0) {
    memcpy(e->max, v, n);
    e->lmax = (uint32_t)n;
    e->dmax = d;
  }
}

/* The rare numerals: codes (leading zero, +phone) and integers beyond int64. */
static void numeral_note(struct column *c, const char *s, size_t n, const struct nv_classified *k) {
  if (k->code) c->code++;
  if (!k->big) return;
  if (!k->has_num) {
    c->big.lost = 1;
    return;
  }
  /* has_num: the classifier converted it, so it is shorter than v */
  char v[BIG_MAX];
  size_t i = 0, m = 0;
  while (i < n && is_space((unsigned char)s[i])) i++;
  if (i < n && (s[i] == '-' || s[i] == '+')) {
    if (s[i] == '-') v[m++] = '-';
    i++;
  }
  while (i + 1 < n && s[i] == '0') i++;
  for (; i < n && s[i] >= '0' && s[i] <= '9' && m < sizeof v; i++) v[m++] = s[i];
  bigext_put(&c->big, v, m, k->dval);
}

static void chrono_add(struct column *c, const struct nv_classified *k) {
  c->forms[k->form]++;
  switch (k->form) {
    case NV_DF_PLAIN: ext_add(&c->ext[EXT_PLAIN], k->t1, k->zoned); break;
    case NV_DF_MDY: ext_add(&c->ext[EXT_MDY], k->t1, k->zoned); break;
    case NV_DF_DMY: ext_add(&c->ext[EXT_DMY], k->t1, k->zoned); break;
    default:
      ext_add(&c->ext[EXT_AMB_MDY], k->t1, k->zoned);
      ext_add(&c->ext[EXT_AMB_DMY], k->t2, k->zoned);
  }
}

/* The exact table is full: its counts become the sketches'. */
static int column_spill(struct column *c) {
  struct nv_topk *t = malloc(sizeof *t);
  if (!t) return 0;
  if (!nv_freq_spill(&c->freq, t, &c->distinct)) {
    free(t);
    return 0;
  }
  nv_freq_free(&c->freq);
  c->topk = t;
  c->spilled = 1;
  return 1;
}

/* A non-empty value s[0..n) of known class. */
static int column_value(struct column *c, const char *s, size_t n, const struct nv_classified *k, uint64_t h) {
  uint64_t seq = c->nonempty++;
  int t = k->type;
  c->tcount[t]++;
  if (c->ninv[t] < NV_PROFILE_INVALID) {
    struct isample *is = &c->inv[t][c->ninv[t]++];
    is->seq = seq;
    is->len = (uint32_t)(n < NV_PROFILE_INVALID_MAX ? n : NV_PROFILE_INVALID_MAX);
    memcpy(is->v, s, is->len);
  }
  int ok = 1;
  if (t == NV_PT_INTEGER || t == NV_PT_DECIMAL) {
    if (k->code | k->big) numeral_note(c, s, n, k);
    if (k->has_num)
      ok = numacc_add(&c->num[t == NV_PT_DECIMAL], k->dval, k->is_int, k->ival);
  } else if (t == NV_PT_DATE || t == NV_PT_TIMESTAMP) {
    chrono_add(c, k);
  } else if (t == NV_PT_TIME) {
    ext_add(&c->ext[EXT_TIME], k->t1, 0);
  }
  if (!c->spilled) {
    int r = nv_freq_add(&c->freq, h, s, n);
    if (r == 0) return 0;
    if (r < 0 && !column_spill(c)) return 0;
  }
  /* A hash the top-values summary monitors was added to the distinct
   * summary when first seen (merges union both): adding it again is a
   * no-op for HyperLogLog. */
  if (c->spilled && !nv_topk_add(c->topk, h, s, n)) ok &= nv_distinct_add(&c->distinct, h);
  size_t m = n < NV_PROFILE_VALUE_MAX ? n : NV_PROFILE_VALUE_MAX;
  if (c->nsamples < NV_PROFILE_SAMPLES) {
    uint32_t i = 0;
    while (i < c->nsamples && c->samples[i].hash != h) i++;
    if (i == c->nsamples) {
      struct sample *sm = &c->samples[c->nsamples++];
      sm->hash = h;
      sm->len = (uint32_t)m;
      memcpy(sm->v, s, m);
    }
  }
  uint64_t x = prefix8(s, m);
  if (!c->has_text_ext) {
    c->has_text_ext = 1;
    bset(&c->smin, s, m);
    bset(&c->smax, s, m);
    c->pmin = c->pmax = x;
  } else if (x > c->pmin && x < c->pmax) {
    /* strictly between the extremes: neither changes */
  } else if (bcompare(s, m, &c->smin) < 0) {
    bset(&c->smin, s, m);
    c->pmin = x;
  } else if (bcompare(s, m, &c->smax) > 0) {
    bset(&c->smax, s, m);
    c->pmax = x;
  }
  return ok;
}

/* Characters in UTF-8 text s[0..n): bytes that are not continuation
 * bytes (10xxxxxx); ASCII words of eight bytes are counted whole. */
static inline size_t utf8_chars(const char *s, size_t n) {
  const uint64_t highs = UINT64_C(0x8080808080808080);
  size_t cont = 0, i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    if (w & highs) cont += (size_t)__builtin_popcountll(w & ~(w << 1) & highs);
  }
  for (; i < n; i++) cont += ((unsigned char)s[i] & 0xC0) == 0x80;
  return n - cont;
}

static inline void lengths_add(struct column *c, size_t n) {
  c->len_n++;
  c->len_sum += n;
  if (n < c->len_min) c->len_min = n;
  if (n > c->len_max) c->len_max = n;
}

static inline int column_text(struct column *c, const char *s, size_t n, int ascii) {
  c->present++;
  if (n == 0) {
    c->empties++;
    return 1;
  }
  const char *b = s, *e = s + n;
  if (space_tab[(unsigned char)*b] | space_tab[(unsigned char)e[-1]]) {
    while (b < e && is_space((unsigned char)*b)) b++;
    while (e > b && is_space((unsigned char)e[-1])) e--;
    if (b == e) {
      c->empties++;
      return 1;
    }
  }
  struct nv_classified k;
  nv_classify_hint(b, (size_t)(e - b), c->hint, &k);
  c->hint = k.type;
  lengths_add(c, ascii ? n : utf8_chars(s, n));
  return column_value(c, s, n, &k, nv_hash64(s, n));
}

int nv_profiler_add_text(struct nv_profiler *p, size_t col, const char *s, size_t n) {
  if (col >= p->ncols) return 1;
  return column_text(p->cols[col], s, n, 0);
}

int nv_profiler_add_null(struct nv_profiler *p, size_t col) {
  if (col >= p->ncols) return 1;
  p->cols[col]->present++;
  p->cols[col]->nulls++;
  return 1;
}

static size_t format_i64(int64_t v, char *buf) {
  char tmp[24];
  uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) tmp[n++] = '-';
  for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
  return n;
}

void nv_profiler_prepare_int(int64_t v, char *buf, struct nv_prepared *out) {
  size_t n = format_i64(v, buf);
  *out = (struct nv_prepared){.s = buf, .n = n, .hash = nv_hash64(buf, n),
                              .k = {.type = NV_PT_INTEGER, .has_num = 1, .is_int = 1, .ival = v, .dval = (double)v}};
}

int nv_profiler_add_int(struct nv_profiler *p, size_t col, int64_t v) {
  if (col >= p->ncols) return 1;
  char buf[24];
  struct nv_prepared pv;
  nv_profiler_prepare_int(v, buf, &pv);
  return nv_profiler_add_prepared(p, col, &pv);
}

/* The text of v that "%.15g" gives, for the common values it can be
 * found without printf: 1e-4 <= |v| < 1e15 and v the nearest double to
 * D = m / 10^d for an integer m < 10^15 and d <= 6. Then D has at most 15
 * significant digits and lies within half an ulp of v (relative 2^-53,
 * far below half a unit of the 15th digit), so rounding v to 15 digits
 * gives D; the least such d leaves no trailing zero, as %g trims them.
 * m is exact (< 2^53) and 10^d too, so the division is correctly rounded
 * and the check below is exact. Returns the length, or 0: use printf. */
static size_t format_double_fast(double v, char *buf) {
  static const double p10[7] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
  static const uint64_t u10[7] = {1, 10, 100, 1000, 10000, 100000, 1000000};
  double a = fabs(v);
  if (!(a >= 1e-4 && a < 1e15)) return 0; /* also NaN */
  for (int d = 0; d <= 6; d++) {
    double x = a * p10[d];
    if (x >= 1e15) return 0;
    uint64_t m = (uint64_t)(x + 0.5);
    if ((double)m / p10[d] != a) continue;
    uint64_t ip = m / u10[d], fp = m % u10[d];
    size_t n = 0;
    if (v < 0) buf[n++] = '-';
    n += format_i64((int64_t)ip, buf + n);
    if (d > 0) {
      buf[n++] = '.';
      for (int i = d - 1; i >= 0; i--) {
        buf[n + (size_t)i] = (char)('0' + fp % 10);
        fp /= 10;
      }
      n += (size_t)d;
    }
    return n;
  }
  return 0;
}

size_t nv_profiler_format_double(double v, char *buf) {
  size_t fast = format_double_fast(v, buf);
  if (fast > 0) return fast;
  int n = snprintf(buf, NV_PROFILER_DOUBLE_MAX, "%.15g", v);
  if (n > 0 && n < NV_PROFILER_DOUBLE_MAX && isfinite(v) && strtod(buf, NULL) != v)
    n = snprintf(buf, NV_PROFILER_DOUBLE_MAX, "%.17g", v);
  return n > 0 && n < NV_PROFILER_DOUBLE_MAX ? (size_t)n : 0;
}

void nv_profiler_prepare_double(double v, char *buf, struct nv_prepared *out) {
  size_t n = nv_profiler_format_double(v, buf);
  *out = (struct nv_prepared){.s = buf, .n = n, .hash = nv_hash64(buf, n),
                              .k = {.type = NV_PT_DECIMAL, .has_num = isfinite(v), .dval = v}};
}

int nv_profiler_add_double(struct nv_profiler *p, size_t col, double v) {
  if (col >= p->ncols) return 1;
  char buf[NV_PROFILER_DOUBLE_MAX];
  struct nv_prepared pv;
  nv_profiler_prepare_double(v, buf, &pv);
  return nv_profiler_add_prepared(p, col, &pv);
}

int nv_profiler_prepare_date(int64_t days, char *buf, struct nv_prepared *out) {
  if (days < NV_PROFILER_DATE_MIN || days > NV_PROFILER_DATE_MAX) { /* as its text would be read */
    int n = snprintf(buf, NV_PROFILER_DATE_BUF, "%lld", (long long)days);
    if (n <= 0 || n >= NV_PROFILER_DATE_BUF) return 0;
    nv_profiler_prepare_text(buf, (size_t)n, 1, -1, out);
    return 1;
  }
  int64_t t = days * INT64_C(86400000000);
  size_t n = nv_format_instant(t, 1, 0, buf, NV_PROFILER_DATE_BUF);
  /* what nv_classify finds in that text, without reading it back */
  *out = (struct nv_prepared){.s = buf, .n = n, .hash = nv_hash64(buf, n), .chars = n,
                              .flags = NV_PREP_LENGTHS | NV_PREP_HINT,
                              .k = {.type = NV_PT_DATE, .form = NV_DF_PLAIN, .t1 = t, .t2 = t}};
  return 1;
}

int nv_profiler_add_date(struct nv_profiler *p, size_t col, int64_t days) {
  if (col >= p->ncols) return 1;
  char buf[NV_PROFILER_DATE_BUF];
  struct nv_prepared pv;
  return nv_profiler_prepare_date(days, buf, &pv) && nv_profiler_add_prepared(p, col, &pv);
}

void nv_profiler_prepare_bool(int v, struct nv_prepared *out) {
  const char *s = v ? "true" : "false";
  size_t n = v ? 4 : 5;
  *out = (struct nv_prepared){.s = s, .n = n, .hash = nv_hash64(s, n), .k = {.type = NV_PT_BOOLEAN}};
}

int nv_profiler_add_bool(struct nv_profiler *p, size_t col, int v) {
  if (col >= p->ncols) return 1;
  struct nv_prepared pv;
  nv_profiler_prepare_bool(v, &pv);
  return nv_profiler_add_prepared(p, col, &pv);
}

void nv_profiler_prepare_text(const char *s, size_t n, int ascii, int hint, struct nv_prepared *out) {
  *out = (struct nv_prepared){.s = s, .n = n, .flags = NV_PREP_EMPTY};
  if (n == 0) return;
  const char *b = s, *e = s + n;
  if (space_tab[(unsigned char)*b] | space_tab[(unsigned char)e[-1]]) {
    while (b < e && is_space((unsigned char)*b)) b++;
    while (e > b && is_space((unsigned char)e[-1])) e--;
    if (b == e) return;
  }
  if (hint >= 0) nv_classify_hint(b, (size_t)(e - b), hint, &out->k);
  else nv_classify(b, (size_t)(e - b), &out->k);
  out->flags = NV_PREP_LENGTHS | NV_PREP_HINT;
  out->chars = ascii ? n : utf8_chars(s, n);
  out->hash = nv_hash64(s, n);
}

int nv_profiler_exact_room(const struct nv_profiler *p) {
  /* a table grows at most to NV_FREQ_MAX entries and NV_FREQ_BYTES bytes */
  const size_t most = (size_t)NV_FREQ_MAX * 2 * sizeof(uint32_t) + (size_t)NV_FREQ_MAX * sizeof(struct nv_freq_entry) +
                      NV_FREQ_BYTES;
  size_t used = atomic_load(&p->budget.used), room = p->budget.limit > used ? p->budget.limit - used : 0, need = 0;
  for (size_t i = 0; i < p->ncols; i++) {
    const struct column *c = p->cols[i];
    if (c->spilled) continue;
    size_t have = nv_freq_bytes(&c->freq);
    need += most > have ? most - have : 0;
    if (need > room) return 0;
  }
  return 1;
}

int nv_profiler_column_hint(const struct nv_profiler *p, size_t col) {
  return col < p->ncols ? p->cols[col]->hint : -1;
}

int nv_profiler_add_prepared(struct nv_profiler *p, size_t col, const struct nv_prepared *v) {
  if (col >= p->ncols) return 1;
  struct column *c = p->cols[col];
  c->present++;
  if (v->flags & NV_PREP_EMPTY) {
    c->empties++;
    return 1;
  }
  if (v->flags & NV_PREP_HINT) c->hint = v->k.type;
  if (v->flags & NV_PREP_LENGTHS) lengths_add(c, v->chars);
  return column_value(c, v->s, v->n, &v->k, v->hash);
}

int nv_profiler_add_nested(struct nv_profiler *p, size_t col, char kind, const char *json,
                           size_t n) {
  (void)kind; /* arrays and objects are both "json" */
  if (col >= p->ncols) return 1;
  struct column *c = p->cols[col];
  struct nv_classified k = {.type = NV_PT_JSON};
  c->present++;
  lengths_add(c, utf8_chars(json, n));
  return column_value(c, json, n, &k, nv_hash64(json, n));
}

size_t nv_profiler_batch_prepare(struct nv_profiler *p, const struct nv_text_batch *b) {
  while (p->ncols < b->ncols && p->ncols < p->max_columns) { /* wider than the header: name the extras */
    char name[32];
    int n = snprintf(name, sizeof name, "column_%zu", p->ncols + 1);
    if (n < 0 || (size_t)n >= sizeof name || append_column(p, name, (size_t)n) < 0) return (size_t)-1;
  }
  if (b->ncols > p->ncols) { /* past the cap: the extras are counted, not profiled */
    char name[32];
    for (size_t c = p->ncols; c < b->ncols; c++) {
      int n = snprintf(name, sizeof name, "column_%zu", c + 1);
      if (n < 0 || (size_t)n >= sizeof name || drop_column(p, name, (size_t)n, nv_hash64(name, (size_t)n)) < 0)
        return (size_t)-1;
    }
  }
  return b->ncols < p->ncols ? b->ncols : p->ncols;
}

int nv_profiler_batch_column(struct nv_profiler *p, const struct nv_text_batch *b, size_t c) {
  if (c >= p->ncols || c >= b->ncols) return 1;
  struct column *col = p->cols[c];
  const char *const *v = b->values + c * b->nrows;
  const uint32_t *len = b->lengths + c * b->nrows;
  const size_t nrows = b->nrows;
  if (b->ascii) { /* two loops: the length rule is a constant in each */
    for (size_t r = 0; r < nrows; r++)
      if (v[r] && !column_text(col, v[r], len[r], 1)) return 0;
  } else {
    for (size_t r = 0; r < nrows; r++)
      if (v[r] && !column_text(col, v[r], len[r], 0)) return 0;
  }
  return 1;
}

int nv_profiler_add_text_batch(struct nv_profiler *p, const struct nv_text_batch *b) {
  size_t ncols = nv_profiler_batch_prepare(p, b);
  if (ncols == (size_t)-1) return 0;
  for (size_t c = 0; c < ncols; c++)
    if (!nv_profiler_batch_column(p, b, c)) return 0;
  p->rows += b->nrows;
  return 1;
}

/* ---- merge -------------------------------------------------------------- */

static int numacc_merge(struct numacc *a, const struct numacc *b) {
  if (b->n == 0) return 1;
  if (!nv_kll_merge(&a->kll, &b->kll)) return 0;
  numacc_moments(a, &a->mean, &a->m2);
  a->nbuf = 0;
  double bmean, bm2;
  numacc_moments(b, &bmean, &bm2);
  if (a->n == 0) {
    a->min = b->min;
    a->max = b->max;
  } else {
    if (b->min < a->min) a->min = b->min;
    if (b->max > a->max) a->max = b->max;
  }
  if (a->n == 0) {
    a->mean = bmean;
    a->m2 = bm2;
  } else {
    double n = (double)a->n + (double)b->n, d = bmean - a->mean;
    a->m2 += bm2 + d * d * (double)a->n * (double)b->n / n;
    a->mean += d * (double)b->n / n;
  }
  a->n += b->n;
  if (b->imin < a->imin) a->imin = b->imin;
  if (b->imax > a->imax) a->imax = b->imax;
  a->all_int &= b->all_int;
  return 1;
}

static void ext_merge(struct chrono_ext *a, const struct chrono_ext *b) {
  if (b->n == 0) return;
  if (a->n == 0) {
    *a = *b;
    return;
  }
  a->n += b->n;
  if (b->min < a->min) {
    a->min = b->min;
    a->min_z = b->min_z;
  }
  if (b->max > a->max) {
    a->max = b->max;
    a->max_z = b->max_z;
  }
}

/* a's frequencies += b's: exact while the union fits, else both as sketches. */
static int freq_merge(struct column *a, const struct column *b) {
  if (!a->spilled && !b->spilled) {
    int r = nv_freq_merge(&a->freq, &b->freq);
    if (r >= 0) return r;
  }
  if (!a->spilled && !column_spill(a)) return 0;
  if (!b->spilled) {
    struct nv_topk *t = malloc(sizeof *t);
    struct nv_distinct d = {0};
    int ok = t && nv_freq_spill(&b->freq, t, &d) && nv_topk_merge(a->topk, t) &&
             nv_distinct_merge(&a->distinct, &d);
    free(t);
    nv_distinct_free(&d);
    return ok;
  }
  return nv_topk_merge(a->topk, b->topk) && nv_distinct_merge(&a->distinct, &b->distinct);
}

static int column_merge(struct column *a, const struct column *b) {
  if (!a->native && b->native) {
    size_t n = strlen(b->native);
    if (!(a->native = malloc(n + 1))) return 0;
    memcpy(a->native, b->native, n + 1);
  }
  if (!freq_merge(a, b)) return 0;
  for (int i = 0; i < 2; i++)
    if (!numacc_merge(&a->num[i], &b->num[i])) return 0;
  for (int t = 0; t < NV_PT_NTYPES; t++) {
    for (uint8_t j = 0; j < b->ninv[t] && a->ninv[t] < NV_PROFILE_INVALID; j++) {
      a->inv[t][a->ninv[t]] = b->inv[t][j];
      a->inv[t][a->ninv[t]++].seq += a->nonempty;
    }
    a->tcount[t] += b->tcount[t];
  }
  for (uint32_t j = 0; j < b->nsamples && a->nsamples < NV_PROFILE_SAMPLES; j++) {
    uint32_t i = 0;
    while (i < a->nsamples && a->samples[i].hash != b->samples[j].hash) i++;
    if (i == a->nsamples) a->samples[a->nsamples++] = b->samples[j];
  }
  if (b->has_text_ext) {
    if (!a->has_text_ext) {
      a->has_text_ext = 1;
      a->smin = b->smin;
      a->smax = b->smax;
    } else {
      if (bcompare(b->smin.v, b->smin.len, &a->smin) < 0) a->smin = b->smin;
      if (bcompare(b->smax.v, b->smax.len, &a->smax) > 0) a->smax = b->smax;
    }
    a->pmin = prefix8(a->smin.v, a->smin.len);
    a->pmax = prefix8(a->smax.v, a->smax.len);
  }
  for (int e = 0; e < EXT_N; e++) ext_merge(&a->ext[e], &b->ext[e]);
  for (int f = 0; f < 4; f++) a->forms[f] += b->forms[f];
  a->code += b->code;
  a->big.lost |= b->big.lost;
  if (b->big.n) {
    uint64_t bn = a->big.n + b->big.n; /* each put below counts one */
    bigext_put(&a->big, b->big.min, b->big.lmin, b->big.dmin);
    bigext_put(&a->big, b->big.max, b->big.lmax, b->big.dmax);
    a->big.n = bn;
  }
  a->present += b->present;
  a->nulls += b->nulls;
  a->empties += b->empties;
  a->nonempty += b->nonempty;
  a->len_n += b->len_n;
  a->len_sum += b->len_sum;
  if (b->len_min < a->len_min) a->len_min = b->len_min;
  if (b->len_max > a->len_max) a->len_max = b->len_max;
  return 1;
}

int nv_profiler_merge(struct nv_profiler *dst, const struct nv_profiler *src) {
  if (dst == src) return 0; /* callers keep them distinct (nv.profile raises) */
  for (size_t i = 0; i < src->ncols; i++) {
    const struct column *b = src->cols[i];
    long j = nv_profiler_column(dst, b->name, b->name_len);
    if (j < 0) return 0;
    if (j != NV_PROFILER_DROPPED && !column_merge(dst->cols[j], b)) return 0;
  }
  for (uint32_t k = 0; k < src->dropped_names.n; k++) { /* names src dropped, once each */
    const struct nv_freq_entry *e = &src->dropped_names.e[k];
    if (drop_column(dst, src->dropped_names.bytes + e->off, e->len, e->hash) < 0) return 0;
  }
  if (src->dropped > src->dropped_names.n) dst->dropped += src->dropped - src->dropped_names.n;
  dst->rows += src->rows;
  return 1;
}

/* ---- results ------------------------------------------------------------ */

/* Values valid as type t: those of t and of the types it widens, and the
 * null markers (a missing value written as NA, null, -, ...). */
static uint64_t compatible(const uint64_t *tc, uint64_t non_null, int t) {
  switch (t) {
    case NV_PT_DECIMAL: return tc[NV_PT_INTEGER] + tc[NV_PT_DECIMAL] + tc[NV_PT_NULL];
    case NV_PT_TIMESTAMP: return tc[NV_PT_DATE] + tc[NV_PT_TIMESTAMP] + tc[NV_PT_NULL];
    case NV_PT_STRING: return non_null;
    default: return tc[t] + tc[NV_PT_NULL];
  }
}

/* Slash or dash dates that read only as the form (M/D or D/M) the column
 * did not choose: invalid as dates (one column, one form). */
static uint64_t chrono_minority(const struct column *c) {
  int mdy = c->forms[NV_DF_MDY] >= c->forms[NV_DF_DMY]; /* ties read as MM/DD */
  return mdy ? c->forms[NV_DF_DMY] : c->forms[NV_DF_MDY];
}

/* The most specific type covering >= 95% of the non-empty values that are
 * not null markers. A type that a wider one covers (integer: decimal; date:
 * timestamp) yields to it as soon as one value of the wider type occurs,
 * so no value of the wider type is ever invalid. Numerals written as
 * codes (a leading zero: "007", "09001"; a phone: "+14155552671") make
 * the column text: a number would lose the zeros or the '+'. Only
 * markers: string. */
static int infer(const struct column *c) {
  const uint64_t *tc = c->tcount;
  uint64_t typed = c->nonempty - tc[NV_PT_NULL];
  if (typed == 0) return NV_PT_STRING;
  for (int t = 0; t < NV_PT_STRING; t++) {
    if ((t == NV_PT_INTEGER && tc[NV_PT_DECIMAL]) || (t == NV_PT_DATE && tc[NV_PT_TIMESTAMP]))
      continue;
    uint64_t cov = compatible(tc, c->nonempty, t) - tc[NV_PT_NULL];
    if (t == NV_PT_DATE || t == NV_PT_TIMESTAMP) cov -= chrono_minority(c);
    if ((double)cov * 20.0 >= (double)typed * 19.0)
      return (t == NV_PT_INTEGER || t == NV_PT_DECIMAL) && c->code ? NV_PT_STRING : t;
  }
  return NV_PT_STRING;
}

static int is_compatible(int inferred, int t) {
  return t == inferred || inferred == NV_PT_STRING || t == NV_PT_NULL ||
         (inferred == NV_PT_DECIMAL && t == NV_PT_INTEGER) ||
         (inferred == NV_PT_TIMESTAMP && t == NV_PT_DATE);
}

static void invalid_samples(const struct column *c, int inferred, struct nv_column_result *r) {
  const struct isample *pick[NV_PROFILE_INVALID];
  size_t n = 0;
  for (int t = 0; t < NV_PT_NTYPES; t++) {
    if (is_compatible(inferred, t)) continue;
    for (uint8_t j = 0; j < c->ninv[t]; j++) { /* keep the earliest three, in order */
      const struct isample *s = &c->inv[t][j];
      size_t k = n < NV_PROFILE_INVALID ? n++ : NV_PROFILE_INVALID;
      if (k == NV_PROFILE_INVALID) {
        if (s->seq >= pick[NV_PROFILE_INVALID - 1]->seq) continue;
        k = NV_PROFILE_INVALID - 1;
      }
      while (k > 0 && pick[k - 1]->seq > s->seq) {
        pick[k] = pick[k - 1];
        k--;
      }
      pick[k] = s;
    }
  }
  r->ninvalid = n;
  for (size_t i = 0; i < n; i++) r->invalid[i] = (struct nv_text){pick[i]->v, pick[i]->len};
}

static int push_quantiles(const struct nv_kll *a, const struct nv_kll *b, int as_int,
                          struct nv_column_result *r) {
  static const double qs[3] = {0.25, 0.50, 0.75};
  const struct nv_kll *ks[2] = {a, b};
  int rc = nv_kll_quantiles(ks, 2, qs, 3, r->q);
  if (rc == 0) return 0;
  if (rc < 0) return 1;
  r->quantile_kind = NV_STAT_NUM;
  r->quantiles_exact = nv_kll_is_exact(a) && (!b || nv_kll_is_exact(b));
  r->quantile_error = r->quantiles_exact ? 0.0 : NV_KLL_RANK_ERROR;
  if (as_int) { /* every summarised value was an int64: clamp the rounding */
    for (int i = 0; i < 3; i++)
      r->iq[i] = r->q[i] >= 9223372036854775807.0    ? INT64_MAX
                 : r->q[i] <= -9223372036854775808.0 ? INT64_MIN
                                                     : (int64_t)r->q[i];
    r->quantile_kind = NV_STAT_INT;
  }
  return 1;
}

/* An extreme x of a decimal column as exact text in buf (size 40): the
 * int64 it came from when the integers hold it, else the double. */
static struct nv_text extreme_text(const struct numacc *ints, double x, int64_t iv, char *buf) {
  size_t n = ints->n > 0 && (double)iv == x ? format_i64(iv, buf) : nv_profiler_format_double(x, buf);
  return (struct nv_text){buf, n};
}

/* A decimal column holding integers beyond int64: an extreme that is one
 * of them is reported as its exact numeral, and then both are text
 * (NV_STAT_TEXT, the other one formatted into r->cmin / r->cmax). */
static void big_extremes(const struct column *c, double min, double max, struct nv_column_result *r) {
  const struct bigext *b = &c->big;
  if (b->lost) { /* a numeral too long to convert: no exact extremes */
    r->minmax_kind = NV_STAT_NONE;
    return;
  }
  int bmin = b->dmin <= min, bmax = b->dmax >= max;
  if (!bmin && !bmax) return;
  r->minmax_kind = NV_STAT_TEXT;
  r->tmin = bmin ? (struct nv_text){b->min, b->lmin}
                 : extreme_text(&c->num[0], min, c->num[0].imin, r->cmin);
  r->tmax = bmax ? (struct nv_text){b->max, b->lmax}
                 : extreme_text(&c->num[0], max, c->num[0].imax, r->cmax);
}

static int numeric_result(const struct column *c, int inferred, struct nv_column_result *r) {
  struct numacc all = c->num[0]; /* moments only: the KLL pointers are not used from it */
  numacc_moments(&c->num[0], &all.mean, &all.m2);
  int with_dec = inferred == NV_PT_DECIMAL && c->num[1].n > 0;
  if (with_dec) {
    const struct numacc *b = &c->num[1];
    double bmean, bm2;
    numacc_moments(b, &bmean, &bm2);
    if (all.n == 0) {
      all = *b;
      all.mean = bmean;
      all.m2 = bm2;
    } else {
      if (b->min < all.min) all.min = b->min;
      if (b->max > all.max) all.max = b->max;
      double n = (double)all.n + (double)b->n, d = bmean - all.mean;
      all.m2 += bm2 + d * d * (double)all.n * (double)b->n / n;
      all.mean += d * (double)b->n / n;
      all.n += b->n;
      all.all_int = 0;
    }
  }
  if (all.n == 0) return 1;
  int as_int = all.all_int && !with_dec;
  if (as_int) {
    r->minmax_kind = NV_STAT_INT;
    r->imin = all.imin;
    r->imax = all.imax;
  } else {
    r->minmax_kind = NV_STAT_NUM;
    r->dmin = all.min;
    r->dmax = all.max;
  }
  if (c->big.n || c->big.lost) big_extremes(c, all.min, all.max, r);
  r->has_mean = 1;
  r->mean = all.mean;
  if (all.n >= 2) {
    r->has_stddev = 1;
    r->stddev = sqrt(all.m2 > 0 ? all.m2 / (double)(all.n - 1) : 0.0);
  }
  return push_quantiles(&c->num[0].kll, with_dec ? &c->num[1].kll : NULL, as_int, r);
}

static void chrono_result(const struct column *c, int inferred, struct nv_column_result *r) {
  int mdy = c->forms[NV_DF_MDY] >= c->forms[NV_DF_DMY]; /* ties read as MM/DD */
  const int use[3] = {EXT_PLAIN, mdy ? EXT_MDY : EXT_DMY, mdy ? EXT_AMB_MDY : EXT_AMB_DMY};
  struct chrono_ext all = {0};
  for (int i = 0; i < 3; i++) ext_merge(&all, &c->ext[use[i]]);
  if (all.n == 0) return;
  int date_only = inferred == NV_PT_DATE;
  r->minmax_kind = NV_STAT_CHRONO;
  r->cmin_len = nv_format_instant(all.min, date_only, all.min_z, r->cmin, sizeof r->cmin);
  r->cmax_len = nv_format_instant(all.max, date_only, all.max_z, r->cmax, sizeof r->cmax);
}

static void time_result(const struct column *c, struct nv_column_result *r) {
  const struct chrono_ext *e = &c->ext[EXT_TIME];
  if (e->n == 0) return;
  r->minmax_kind = NV_STAT_CHRONO;
  r->cmin_len = nv_format_time(e->min, r->cmin, sizeof r->cmin);
  r->cmax_len = nv_format_time(e->max, r->cmax, sizeof r->cmax);
}

int nv_profiler_result(const struct nv_profiler *p, size_t col, struct nv_column_result *r) {
  memset(r, 0, sizeof *r);
  if (col >= p->ncols) return 1;
  const struct column *c = p->cols[col];
  r->name = (struct nv_text){c->name, c->name_len};
  r->native_type = c->native;
  r->present = c->present;
  r->rows = p->rows > c->present ? p->rows : c->present;
  r->null_count = c->nulls;
  r->empty_count = c->empties;
  r->missing_count = r->rows - c->present;
  r->non_null = c->nonempty;
  memcpy(r->type_counts, c->tcount, sizeof r->type_counts);

  double est = c->spilled ? nv_distinct_estimate(&c->distinct) : (double)c->freq.n;
  r->distinct_exact = !c->spilled;
  r->distinct_error = c->spilled ? NV_HLL_RSE : 0.0;
  r->distinct_count = est >= (double)c->nonempty ? c->nonempty : (uint64_t)llround(est);

  if (c->nonempty == 0) {
    r->inferred_type = -1;
    r->inferred_name = "empty";
  } else {
    int t = infer(c);
    r->inferred_type = t;
    r->inferred_name = nv_pt_name(t);
    r->valid_count = compatible(c->tcount, c->nonempty, t);
    if (t == NV_PT_DATE || t == NV_PT_TIMESTAMP) r->valid_count -= chrono_minority(c);
    r->invalid_count = c->nonempty - r->valid_count;
    r->has_confidence = 1;
    r->type_confidence = (double)r->valid_count / (double)c->nonempty;
    invalid_samples(c, t, r);
    if (t == NV_PT_INTEGER || t == NV_PT_DECIMAL) {
      if (!numeric_result(c, t, r)) return 0;
    } else if (t == NV_PT_DATE || t == NV_PT_TIMESTAMP) {
      chrono_result(c, t, r);
    } else if (t == NV_PT_TIME) {
      time_result(c, r);
    } else if (c->has_text_ext) {
      r->minmax_kind = NV_STAT_TEXT;
      r->tmin = (struct nv_text){c->smin.v, c->smin.len};
      r->tmax = (struct nv_text){c->smax.v, c->smax.len};
    }
  }

  if (c->len_n > 0) {
    r->has_lengths = 1;
    r->min_length = c->len_min;
    r->max_length = c->len_max;
    r->avg_length = (double)c->len_sum / (double)c->len_n;
  }

  /* Exact: the most frequent values with their counts. Spilled: only
   * proven heavy hitters (guaranteed count >= NV_PROFILE_HEAVY_SHARE of
   * the values), by guaranteed count: the true count lies in
   * [count, count + error]. */
  int dup_seen = 0;
  r->top_exact = !c->spilled;
  if (!c->spilled) {
    uint32_t idx[NV_PROFILE_TOP];
    size_t n = nv_freq_top(&c->freq, idx, NV_PROFILE_TOP);
    for (size_t i = 0; i < n; i++) {
      const struct nv_freq_entry *e = &c->freq.e[idx[i]];
      r->top[i].value = (struct nv_text){c->freq.bytes + e->off, e->len};
      r->top[i].count = e->count;
      r->top[i].error = 0;
    }
    r->ntop = n;
  } else {
    uint32_t idx[NV_TOPK_COUNTERS];
    size_t n = nv_topk_order(c->topk, idx, NV_TOPK_COUNTERS);
    double need = ceil(NV_PROFILE_HEAVY_SHARE * (double)c->nonempty);
    uint64_t floor = need < 2.0 ? 2 : (uint64_t)need;
    for (size_t i = 0; i < n; i++) { /* by guaranteed count, desc */
      const struct nv_topk_entry *e = &c->topk->e[idx[i]];
      uint64_t sure = c->topk->counts[idx[i]] - e->err;
      dup_seen |= sure >= 2;
      if (sure < floor || r->ntop == NV_PROFILE_TOP) continue;
      r->top[r->ntop].value = (struct nv_text){e->val, e->len};
      r->top[r->ntop].count = sure;
      r->top[r->ntop++].error = e->err;
    }
  }
  r->nsamples = c->nsamples;
  for (uint32_t i = 0; i < c->nsamples; i++)
    r->samples[i] = (struct nv_text){c->samples[i].v, c->samples[i].len};

  if (c->nonempty > 0) {
    if (r->distinct_exact)
      r->is_unique = r->distinct_count == c->nonempty;
    else
      r->is_unique = !dup_seen && est >= NV_PROFILE_UNIQUE_RATIO * (double)c->nonempty;
  }
  r->candidate_primary_key = r->is_unique && r->rows > 0 &&
                             c->nulls + c->empties + r->missing_count == 0;
  return 1;
}

size_t nv_profiler_column_bytes(const struct nv_profiler *p, size_t col) {
  if (col >= p->ncols) return 0;
  const struct column *c = p->cols[col];
  size_t b = sizeof *c + c->name_len + 1 + (c->native ? strlen(c->native) + 1 : 0);
  b += nv_kll_bytes(&c->num[0].kll) + nv_kll_bytes(&c->num[1].kll);
  b += nv_freq_bytes(&c->freq) + (c->distinct.hll ? (size_t)1 << NV_HLL_P : 0);
  b += c->topk ? sizeof *c->topk : 0;
  return b;
}
