/* profiler_sketch.c - the profiler's bounded, mergeable summaries: a
 * wyhash-style hash, exact-then-HyperLogLog
 * distinct counting (Ertl's improved estimator, no bias tables), a KLL
 * quantile sketch and Space-Saving top values. Uses only libc and libm. */
#include "profiler_sketch.h"
#include "serial_buf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- hash --------------------------------------------------------------- */
/* A wyhash-style hash (folded 64x64->128 multiplies): values of up to 16
 * bytes are read as two possibly overlapping words and mixed twice, with
 * no loop; longer ones consume 16 bytes per multiply. Every input byte
 * reaches the result for each length, and the length is mixed in. Not
 * meant to resist crafted collisions (wyhash's own caveat). */

/* nv_hash64 itself is inline in profiler_sketch.h (one call per value). */

/* ---- distinct ----------------------------------------------------------- */

#define HLL_M (1u << NV_HLL_P)
#define HLL_Q (64 - NV_HLL_P)

static inline void hll_add(uint8_t *r, uint64_t h) {
  if (h == 0) h = NV_DISTINCT_ZERO_HASH;
  uint32_t idx = (uint32_t)(h >> HLL_Q);
  uint64_t w = (h << NV_HLL_P) | (UINT64_C(1) << (NV_HLL_P - 1));
  uint8_t rank = (uint8_t)(__builtin_clzll(w) + 1);
  if (rank > r[idx]) r[idx] = rank;
}

static int hll_alloc(struct nv_distinct *d) {
  if (!d->hll) d->hll = calloc(HLL_M, 1);
  return d->hll != NULL;
}

int nv_distinct_add_slow(struct nv_distinct *d, uint64_t h) {
  if (!hll_alloc(d)) return 0;
  hll_add(d->hll, h);
  return 1;
}

int nv_distinct_merge(struct nv_distinct *dst, const struct nv_distinct *src) {
  if (!src->hll) return 1;
  if (!hll_alloc(dst)) return 0;
  for (uint32_t i = 0; i < HLL_M; i++)
    if (src->hll[i] > dst->hll[i]) dst->hll[i] = src->hll[i];
  return 1;
}

static double hll_sigma(double x) {
  if (x == 1.0) return INFINITY;
  double y = 1.0, z = x, zp;
  do {
    x *= x;
    zp = z;
    z += x * y;
    y += y;
  } while (z != zp);
  return z;
}

static double hll_tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0, z = 1.0 - x, zp;
  do {
    x = sqrt(x);
    zp = z;
    y *= 0.5;
    z -= (1.0 - x) * (1.0 - x) * y;
  } while (z != zp);
  return z / 3.0;
}

double nv_distinct_estimate(const struct nv_distinct *d) {
  if (!d->hll) return 0.0;
  uint32_t c[HLL_Q + 2] = {0};
  for (uint32_t i = 0; i < HLL_M; i++) c[d->hll[i]]++;
  double m = HLL_M;
  double z = m * hll_tau(1.0 - c[HLL_Q + 1] / m);
  for (int k = HLL_Q; k >= 1; k--) z = 0.5 * (z + c[k]);
  z += m * hll_sigma(c[0] / m);
  return (m * m / (2.0 * log(2.0))) / z;
}

void nv_distinct_free(struct nv_distinct *d) {
  free(d->hll);
  memset(d, 0, sizeof *d);
}

/* ---- KLL ---------------------------------------------------------------- */
/* Level h holds items of weight 2^h. A level at depth d below the top may
 * hold ceil(K * (2/3)^d) items, but never fewer than 8. When the sketch
 * holds its total capacity, the lowest full level is sorted and every
 * other item (random offset) moves up with twice the weight. */

static const uint16_t kll_caps[] = {NV_KLL_K, 341, 228, 152, 101, 67, 45, 30, 20, 13, 9};
#define KLL_MIN_CAP 8

static uint32_t level_cap(const struct nv_kll *k, uint32_t h) {
  uint32_t d = k->nlevels - 1 - h;
  return d < sizeof kll_caps / sizeof kll_caps[0] ? kll_caps[d] : KLL_MIN_CAP;
}

static void kll_recap(struct nv_kll *k) {
  uint32_t c = 0;
  for (uint32_t h = 0; h < k->nlevels; h++) c += level_cap(k, h);
  k->capacity = c;
}

static void kll_init(struct nv_kll *k) {
  if (k->nlevels == 0) {
    k->nlevels = 1;
    k->rng = UINT64_C(0x2545F4914F6CDD1D);
    kll_recap(k);
  }
}

static int level_reserve(struct nv_kll_level *l, uint32_t need) {
  if (need <= l->cap) return 1;
  uint32_t c = l->cap + l->cap / 2;
  if (c < need) c = need;
  if (c < 16) c = 16;
  double *v = realloc(l->v, (size_t)c * sizeof *v);
  if (!v) return 0;
  l->v = v;
  l->cap = c;
  return 1;
}


static void insertion_sort(double *v, uint32_t n) {
  for (uint32_t i = 1; i < n; i++) {
    double x = v[i];
    uint32_t j = i;
    while (j > 0 && v[j - 1] > x) {
      v[j] = v[j - 1];
      j--;
    }
    v[j] = x;
  }
}

/* n <= 32 items, by rank: item i goes to the number of items before it
 * that are <= it plus the items after it that are < it. The same stable
 * order insertion sort gives, from compare loops without data-dependent
 * branches (small level-0 sorts are otherwise dominated by mispredicted
 * insertion-sort branches). */
static void small_sort(double *v, uint32_t n) {
  double t[32];
  memcpy(t, v, (size_t)n * sizeof *v);
  for (uint32_t i = 0; i < n; i++) {
    double x = t[i];
    uint32_t r = 0;
    for (uint32_t j = 0; j < i; j++) r += t[j] <= x;
    for (uint32_t j = i + 1; j < n; j++) r += t[j] < x;
    v[r] = x;
  }
}

/* In-place quicksort (median of three, smaller side first so the explicit
 * stack stays under 64 frames), insertion sort below 24; no NaNs here. */
static void sort_doubles(double *v, uint32_t n) {
  uint32_t k = 1;
  while (k < n && v[k - 1] <= v[k]) k++;
  if (k >= n) return; /* already in order (a rising column) */
  if (n <= 32) {
    small_sort(v, n);
    return;
  }
  uint32_t lo_st[64], hi_st[64], sp = 0;
  uint32_t lo = 0, hi = n;
  for (;;) {
    while (hi - lo > 24) {
      uint32_t mid = lo + (hi - lo) / 2;
      double a = v[lo], b = v[mid], c = v[hi - 1];
      double pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
      uint32_t i = lo, j = hi - 1;
      for (;;) {
        while (v[i] < pivot) i++;
        while (v[j] > pivot) j--;
        if (i >= j) break;
        double t = v[i];
        v[i] = v[j];
        v[j] = t;
        i++;
        j--;
      }
      uint32_t cut = j + 1; /* [lo, cut) <= pivot <= [cut, hi) */
      if (cut - lo < hi - cut) {
        lo_st[sp] = cut, hi_st[sp] = hi, sp++;
        hi = cut;
      } else {
        lo_st[sp] = lo, hi_st[sp] = cut, sp++;
        lo = cut;
      }
    }
    insertion_sort(v + lo, hi - lo);
    if (sp == 0) return;
    sp--;
    lo = lo_st[sp];
    hi = hi_st[sp];
  }
}

/* b (sorted, room reserved) gets the m sorted items src[0], src[step], ...
 * Merged from the back without branching on the data (a tie takes src's
 * item first from the back, so b's equal items stay in front). */
static void merge_into(struct nv_kll_level *b, const double *src, uint32_t m, uint32_t step) {
  double *v = b->v;
  size_t i = b->n, j = m, w = (size_t)b->n + m;
  while (i > 0 && j > 0) {
    double x = v[i - 1], y = src[(j - 1) * step];
    size_t take_b = x > y;
    v[--w] = take_b ? x : y;
    i -= take_b;
    j -= take_b ^ 1;
  }
  while (j > 0) {
    j--;
    v[--w] = src[j * step];
  }
  b->n += m;
}

/* 1 compacted, 2 nothing to do, 0 out of memory */
static int kll_compact(struct nv_kll *k) {
  uint32_t h = 0;
  while (h < k->nlevels && k->lv[h].n < level_cap(k, h)) h++;
  if (h == k->nlevels) return 2;
  if (h + 1 == k->nlevels) {
    if (k->nlevels == NV_KLL_LEVELS) return 2;
    k->nlevels++;
    kll_recap(k);
  }
  struct nv_kll_level *a = &k->lv[h], *b = &k->lv[h + 1];
  uint32_t keep = a->n & 1, half = a->n / 2;
  if (!level_reserve(b, b->n + half)) return 0;
  if (h == 0) sort_doubles(a->v, a->n);
  k->rng ^= k->rng << 13;
  k->rng ^= k->rng >> 7;
  k->rng ^= k->rng << 17;
  uint32_t offset = (uint32_t)(k->rng >> 63);
  merge_into(b, a->v + keep + offset, half, 2);
  a->n = keep; /* the smallest item, a->v[0], stays when the count was odd */
  k->held -= half;
  /* Capacities of lower levels fall as levels are added: give back what a
   * level outgrew (a failed shrink just keeps the larger block). */
  uint32_t want = level_cap(k, h) + level_cap(k, h) / 2 + 8;
  if (a->cap > want + want / 2) {
    double *v = realloc(a->v, (size_t)want * sizeof *v);
    if (v) {
      a->v = v;
      a->cap = want;
    }
  }
  return 1;
}

/* Compacts until held < capacity + slack: adds pass slack 0 (room for one
 * more), merges slack 1 (a merged sketch may sit exactly at capacity, so
 * two halves of <= K values stay exact). */
static int kll_settle(struct nv_kll *k, uint32_t slack) {
  while (k->held >= k->capacity + slack) {
    int r = kll_compact(k);
    if (r == 0) return 0;
    if (r == 2) break;
  }
  return 1;
}

int nv_kll_add_slow(struct nv_kll *k, double x) {
  if (isnan(x)) return 1;
  kll_init(k);
  if (!kll_settle(k, 0)) return 0;
  if (!level_reserve(&k->lv[0], k->lv[0].n + 1)) return 0;
  k->lv[0].v[k->lv[0].n++] = x;
  k->held++;
  k->n++;
  return 1;
}

int nv_kll_merge(struct nv_kll *dst, const struct nv_kll *src) {
  if (src->n == 0) return 1;
  kll_init(dst);
  for (uint32_t h = 0; h < src->nlevels; h++)
    if (!level_reserve(&dst->lv[h], dst->lv[h].n + src->lv[h].n)) return 0;
  if (src->nlevels > dst->nlevels) dst->nlevels = src->nlevels;
  for (uint32_t h = 0; h < src->nlevels; h++) {
    const struct nv_kll_level *s = &src->lv[h];
    if (s->n == 0) continue;
    if (h == 0) {
      memcpy(dst->lv[0].v + dst->lv[0].n, s->v, (size_t)s->n * sizeof *s->v);
      dst->lv[0].n += s->n;
    } else {
      merge_into(&dst->lv[h], s->v, s->n, 1);
    }
  }
  dst->n += src->n;
  dst->held += src->held;
  kll_recap(dst);
  return kll_settle(dst, 1);
}

struct witem {
  double v;
  uint64_t w;
};

static int cmp_witem(const void *a, const void *b) {
  double x = ((const struct witem *)a)->v, y = ((const struct witem *)b)->v;
  return (x > y) - (x < y);
}

int nv_kll_quantiles(const struct nv_kll *const *ks, size_t nk, const double *q, size_t nq,
                     double *out) {
  size_t total = 0;
  uint64_t weight = 0;
  for (size_t s = 0; s < nk; s++)
    if (ks[s]) {
      total += ks[s]->held;
      weight += ks[s]->n;
    }
  if (total == 0 || weight == 0) return -1;
  struct witem *it = malloc(total * sizeof *it);
  if (!it) return 0;
  size_t m = 0;
  for (size_t s = 0; s < nk; s++) {
    if (!ks[s]) continue;
    for (uint32_t h = 0; h < ks[s]->nlevels; h++)
      for (uint32_t i = 0; i < ks[s]->lv[h].n; i++) {
        it[m].v = ks[s]->lv[h].v[i];
        it[m].w = UINT64_C(1) << h;
        m++;
      }
  }
  qsort(it, m, sizeof *it, cmp_witem);
  for (size_t j = 0; j < nq; j++) {
    double t = ceil(q[j] * (double)weight);
    uint64_t target = t < 1.0 ? 1 : t >= (double)weight ? weight : (uint64_t)t;
    uint64_t cum = 0;
    size_t i = 0;
    for (; i + 1 < m; i++) {
      cum += it[i].w;
      if (cum >= target) break;
    }
    out[j] = it[i].v;
  }
  free(it);
  return 1;
}

int nv_kll_is_exact(const struct nv_kll *k) {
  for (uint32_t h = 1; h < k->nlevels; h++)
    if (k->lv[h].n > 0) return 0;
  return 1;
}

size_t nv_kll_bytes(const struct nv_kll *k) {
  size_t b = 0;
  for (uint32_t h = 0; h < NV_KLL_LEVELS; h++) b += (size_t)k->lv[h].cap * sizeof(double);
  return b;
}

void nv_kll_free(struct nv_kll *k) {
  for (uint32_t h = 0; h < NV_KLL_LEVELS; h++) free(k->lv[h].v);
  memset(k, 0, sizeof *k);
}

/* ---- Space-Saving ------------------------------------------------------- */

_Static_assert(NV_TOPK_COUNTERS == 64, "the pending mask is one uint64_t");
#define TAB_MASK (NV_TOPK_TAB - 1)

static inline uint32_t tab_home(uint64_t h) { return (uint32_t)(h >> 40) & TAB_MASK; }

static inline int topk_find(const struct nv_topk *t, uint64_t h) {
  uint32_t i = tab_home(h);
  while (t->tab[i]) {
    int j = t->tab[i] - 1;
    if (t->hashes[j] == h) return j;
    i = (i + 1) & TAB_MASK;
  }
  return -1;
}

static void tab_insert(struct nv_topk *t, uint32_t j, uint64_t h) {
  t->hashes[j] = h;
  uint32_t i = tab_home(h);
  while (t->tab[i]) i = (i + 1) & TAB_MASK;
  t->tab[i] = (uint8_t)(j + 1);
}

/* linear-probing deletion by backward shift */
static void tab_remove(struct nv_topk *t, uint32_t j) {
  uint32_t s = tab_home(t->hashes[j]);
  while (t->tab[s] != j + 1) s = (s + 1) & TAB_MASK;
  t->tab[s] = 0;
  for (uint32_t i = (s + 1) & TAB_MASK; t->tab[i]; i = (i + 1) & TAB_MASK) {
    uint32_t k = tab_home(t->hashes[t->tab[i] - 1]);
    /* the entry at i may move to s unless its home lies cyclically in (s, i] */
    int stays = s <= i ? (k > s && k <= i) : (k > s || k <= i);
    if (!stays) {
      t->tab[s] = t->tab[i];
      t->tab[i] = 0;
      s = i;
    }
  }
}

/* An entry holding the minimum count. Counts only grow, so a remembered
 * candidate whose count is still candmin still holds the minimum. */
static uint32_t pop_min(struct nv_topk *t) {
  while (t->ncand > 0) {
    uint32_t j = t->cand[--t->ncand];
    if (t->counts[j] == t->candmin) return j;
  }
  uint64_t m = UINT64_MAX;
  for (uint32_t j = 0; j < t->n; j++)
    if (t->counts[j] < m) m = t->counts[j];
  for (uint32_t j = 0; j < t->n; j++)
    if (t->counts[j] == m) t->cand[t->ncand++] = (uint8_t)j;
  t->candmin = m;
  return t->cand[--t->ncand];
}

static void set_value(struct nv_topk_entry *e, const char *s, size_t n) {
  e->len = (uint32_t)(n < NV_TOPK_VALUE_MAX ? n : NV_TOPK_VALUE_MAX);
  memcpy(e->val, s, e->len);
}

/* The minimum count, without removing its holder from the candidates. */
static inline uint64_t peek_min(struct nv_topk *t) {
  if (t->ncand > 0 && t->counts[t->cand[t->ncand - 1]] == t->candmin) return t->candmin;
  uint32_t j = pop_min(t);
  t->cand[t->ncand++] = (uint8_t)j;
  return t->counts[j];
}

int nv_topk_add_slow(struct nv_topk *t, uint64_t h, const char *s, size_t n) {
  int j = topk_find(t, h);
  if (j >= 0) {
    t->counts[j]++;
    if (t->pending >> j & 1) {
      set_value(&t->e[j], s, n);
      t->pending &= ~(UINT64_C(1) << j);
    }
    return 1;
  }
  struct nv_topk_entry *e;
  if (t->n < NV_TOPK_COUNTERS) {
    j = (int)t->n++;
    e = &t->e[j];
    t->counts[j] = 1;
    e->err = 0;
    set_value(e, s, n);
  } else {
    uint32_t a = (uint32_t)(h % NV_TOPK_ALPHA);
    uint64_t seen = t->alpha[a];
    if (seen + 1 <= peek_min(t)) { /* not admitted: count it in its bucket */
      t->alpha[a]++;
      return 0;
    }
    j = (int)pop_min(t);
    e = &t->e[j];
    uint64_t old = t->counts[j];
    uint32_t ea = (uint32_t)(t->hashes[j] % NV_TOPK_ALPHA);
    tab_remove(t, (uint32_t)j);
    if (t->alpha[ea] < old) t->alpha[ea] = (uint32_t)(old > UINT32_MAX ? UINT32_MAX : old);
    e->err = seen;
    t->counts[j] = seen + 1;
    e->len = NV_TOPK_PENDING;
    t->pending |= UINT64_C(1) << j;
  }
  tab_insert(t, (uint32_t)j, h);
  return 0;
}

static uint64_t topk_floor(const struct nv_topk *t) {
  if (t->n < NV_TOPK_COUNTERS) return 0; /* not full: unmonitored values never occurred */
  uint64_t m = UINT64_MAX;
  for (uint32_t j = 0; j < t->n; j++)
    if (t->counts[j] < m) m = t->counts[j];
  return m;
}

struct tk_cand {
  uint64_t hash, count, err;
  const struct nv_topk_entry *from; /* one holding bytes, if either does */
};

static int cmp_cand(const void *a, const void *b) {
  const struct tk_cand *x = a, *y = b;
  if (x->count != y->count) return x->count < y->count ? 1 : -1;
  return (x->hash > y->hash) - (x->hash < y->hash);
}

int nv_topk_merge(struct nv_topk *dst, const struct nv_topk *src) {
  struct tk_cand c[2 * NV_TOPK_COUNTERS];
  size_t nc = 0;
  uint64_t fa = topk_floor(dst), fb = topk_floor(src);
  for (uint32_t j = 0; j < dst->n; j++) {
    const struct nv_topk_entry *e = &dst->e[j];
    int k = topk_find(src, dst->hashes[j]);
    uint64_t add = k >= 0 ? src->counts[k] : fb, adderr = k >= 0 ? src->e[k].err : fb;
    const struct nv_topk_entry *from =
        e->len == NV_TOPK_PENDING && k >= 0 ? &src->e[k] : e;
    c[nc++] = (struct tk_cand){dst->hashes[j], dst->counts[j] + add, e->err + adderr, from};
  }
  for (uint32_t j = 0; j < src->n; j++) {
    const struct nv_topk_entry *e = &src->e[j];
    if (topk_find(dst, src->hashes[j]) >= 0) continue;
    c[nc++] = (struct tk_cand){src->hashes[j], src->counts[j] + fa, e->err + fa, e};
  }
  qsort(c, nc, sizeof c[0], cmp_cand);
  if (nc > NV_TOPK_COUNTERS) nc = NV_TOPK_COUNTERS;
  struct nv_topk *t = malloc(sizeof *t);
  if (!t) return 0;
  memset(t->tab, 0, sizeof t->tab);
  /* unmonitored values now count at most the merged minimum */
  uint64_t floor = nc == NV_TOPK_COUNTERS ? c[nc - 1].count : 0;
  for (size_t a = 0; a < NV_TOPK_ALPHA; a++) t->alpha[a] = (uint32_t)(floor > UINT32_MAX ? UINT32_MAX : floor);
  t->n = (uint32_t)nc;
  t->ncand = 0;
  t->candmin = 0;
  t->pending = 0;
  for (size_t j = 0; j < nc; j++) {
    struct nv_topk_entry *e = &t->e[j];
    t->counts[j] = c[j].count;
    e->err = c[j].err;
    if (c[j].from->len == NV_TOPK_PENDING) {
      e->len = NV_TOPK_PENDING;
      t->pending |= UINT64_C(1) << j;
    } else {
      set_value(e, c[j].from->val, c[j].from->len);
    }
    tab_insert(t, (uint32_t)j, c[j].hash);
  }
  memcpy(dst, t, sizeof *t);
  free(t);
  return 1;
}

static int topk_before(const struct nv_topk *t, uint32_t ja, uint32_t jb) {
  const struct nv_topk_entry *a = &t->e[ja], *b = &t->e[jb];
  uint64_t ga = t->counts[ja] - a->err, gb = t->counts[jb] - b->err;
  if (ga != gb) return ga > gb;
  size_t n = a->len < b->len ? a->len : b->len;
  int c = memcmp(a->val, b->val, n);
  return c != 0 ? c < 0 : a->len < b->len;
}

size_t nv_topk_order(const struct nv_topk *t, uint32_t *idx, size_t max) {
  uint32_t all[NV_TOPK_COUNTERS], m = 0;
  for (uint32_t j = 0; j < t->n; j++) {
    if (t->e[j].len == NV_TOPK_PENDING) continue;
    uint32_t k = m++;
    while (k > 0 && topk_before(t, j, all[k - 1])) {
      all[k] = all[k - 1];
      k--;
    }
    all[k] = j;
  }
  size_t n = m < max ? m : max;
  memcpy(idx, all, n * sizeof *idx);
  return n;
}

void nv_topk_init(struct nv_topk *t) {
  t->n = 0;
  t->ncand = 0;
  t->candmin = 0;
  t->pending = 0;
  memset(t->tab, 0, sizeof t->tab);
  memset(t->alpha, 0, sizeof t->alpha);
}

/* ---- exact frequencies -------------------------------------------------- */


static void freq_place(uint32_t *slot, uint32_t cap, uint64_t h, uint32_t j) {
  uint32_t m = cap - 1, i = (uint32_t)h & m;
  while (slot[i]) i = (i + 1) & m;
  slot[i] = j + 1;
}

/* The entry index of h, or -1; *at gets the free slot that ends the probe. */
static long freq_find(const struct nv_freq *f, uint64_t h, uint32_t *at) {
  uint32_t m = f->cap - 1, i = (uint32_t)h & m;
  while (f->slot[i]) {
    uint32_t j = f->slot[i] - 1;
    if (f->e[j].hash == h) return (long)j;
    i = (i + 1) & m;
  }
  *at = i;
  return -1;
}

/* The budget takes delta more bytes: 1, or 0 when it cannot. */
static int budget_take(struct nv_freq *f, size_t delta) {
  if (!f->budget) return 1;
  size_t used = atomic_load(&f->budget->used);
  do {
    if (used + delta > f->budget->limit) return 0;
  } while (!atomic_compare_exchange_weak(&f->budget->used, &used, used + delta));
  return 1;
}

static void budget_give(struct nv_freq *f, size_t bytes) {
  if (!f->budget) return;
  size_t used = atomic_load(&f->budget->used);
  while (!atomic_compare_exchange_weak(&f->budget->used, &used, used - (bytes < used ? bytes : used))) {
  }
}

/* Room for one more entry of len bytes: 1, 0 out of memory, -1 full. */
/* The capacities f grows to (by doubling) to hold n entries of nbytes
 * value bytes, and the bytes that growth takes. */
static size_t freq_caps(const struct nv_freq *f, uint32_t n, size_t nbytes, uint32_t *cap, uint32_t *ecap,
                        size_t *bcap) {
  *cap = f->cap;
  *ecap = f->ecap;
  *bcap = f->bcap;
  while ((uint64_t)n * 2 > *cap) *cap = *cap ? *cap * 2 : 32;
  while (n > *ecap) *ecap = *ecap ? *ecap * 2 : 16;
  if (nbytes > *bcap) {
    *bcap = *bcap ? *bcap * 2 : 1024;
    while (*bcap < nbytes) *bcap *= 2;
    if (*bcap > NV_FREQ_BYTES) *bcap = NV_FREQ_BYTES;
  }
  return (size_t)(*cap - f->cap) * sizeof *f->slot + (size_t)(*ecap - f->ecap) * sizeof *f->e +
         (*bcap - f->bcap);
}

static int freq_reserve(struct nv_freq *f, size_t len) {
  if (f->n >= NV_FREQ_MAX || f->nbytes + len > NV_FREQ_BYTES) return -1;
  uint32_t cap, ecap;
  size_t bcap;
  size_t grow = freq_caps(f, f->n + 1, f->nbytes + len, &cap, &ecap, &bcap);
  size_t before = nv_freq_bytes(f);
  if (grow && !budget_take(f, grow)) return -1;
  if (cap != f->cap) {
    uint32_t *slot = calloc(cap, sizeof *slot);
    if (!slot) goto oom;
    for (uint32_t j = 0; j < f->n; j++) freq_place(slot, cap, f->e[j].hash, j);
    free(f->slot);
    f->slot = slot;
    f->cap = cap;
  }
  if (ecap != f->ecap) {
    struct nv_freq_entry *e = realloc(f->e, (size_t)ecap * sizeof *e);
    if (!e) goto oom;
    f->e = e;
    f->ecap = ecap;
  }
  if (bcap != f->bcap) {
    char *b = realloc(f->bytes, bcap);
    if (!b) goto oom;
    f->bytes = b;
    f->bcap = bcap;
  }
  return 1;
oom: /* the budget keeps only what did grow */
  budget_give(f, grow);
  if (f->budget) atomic_fetch_add(&f->budget->used, nv_freq_bytes(f) - before);
  return 0;
}

int nv_freq_add_slow(struct nv_freq *f, uint64_t h, const char *s, size_t n, uint64_t count) {
  uint32_t at = 0;
  if (f->cap) {
    long j = freq_find(f, h, &at);
    if (j >= 0) {
      f->e[j].count += count;
      return 1;
    }
  }
  size_t len = n < NV_TOPK_VALUE_MAX ? n : NV_TOPK_VALUE_MAX;
  uint32_t cap0 = f->cap;
  int r = freq_reserve(f, len);
  if (r <= 0) return r;
  if (f->cap != cap0) freq_find(f, h, &at); /* the slots were rebuilt */
  struct nv_freq_entry *e = &f->e[f->n];
  e->hash = h;
  e->count = count;
  e->off = (uint32_t)f->nbytes;
  e->len = (uint32_t)len;
  if (len) memcpy(f->bytes + f->nbytes, s, len);
  f->nbytes += len;
  f->slot[at] = ++f->n;
  return 1;
}

int nv_freq_merge(struct nv_freq *dst, const struct nv_freq *src) {
  /* first prove the union fits, so a refusal leaves dst unchanged */
  uint32_t fresh = 0, at;
  size_t fresh_bytes = 0;
  for (uint32_t j = 0; j < src->n; j++)
    if (!dst->cap || freq_find(dst, src->e[j].hash, &at) < 0) {
      fresh++;
      fresh_bytes += src->e[j].len;
    }
  if ((uint64_t)dst->n + fresh > NV_FREQ_MAX || dst->nbytes + fresh_bytes > NV_FREQ_BYTES) return -1;
  if (dst->budget && fresh > 0) { /* the growth freq_reserve would ask of the budget */
    uint32_t cap, ecap;
    size_t bcap, grow = freq_caps(dst, dst->n + fresh, dst->nbytes + fresh_bytes, &cap, &ecap, &bcap);
    if (atomic_load(&dst->budget->used) + grow > dst->budget->limit) return -1;
  }
  for (uint32_t j = 0; j < src->n; j++) {
    const struct nv_freq_entry *e = &src->e[j];
    int r = nv_freq_add_slow(dst, e->hash, src->bytes + e->off, e->len, e->count);
    if (r <= 0) return 0; /* out of memory: dst holds a partial union */
  }
  return 1;
}

/* a before b: more frequent, then bytewise smaller, then shorter */
static int freq_before(const struct nv_freq *f, uint32_t a, uint32_t b) {
  const struct nv_freq_entry *x = &f->e[a], *y = &f->e[b];
  if (x->count != y->count) return x->count > y->count;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(f->bytes + x->off, f->bytes + y->off, n);
  return c != 0 ? c < 0 : x->len < y->len;
}

size_t nv_freq_top(const struct nv_freq *f, uint32_t *idx, size_t max) {
  size_t m = 0;
  for (uint32_t j = 0; j < f->n && max > 0; j++) {
    if (m == max && !freq_before(f, j, idx[m - 1])) continue;
    size_t k = m < max ? m++ : max - 1;
    while (k > 0 && freq_before(f, j, idx[k - 1])) {
      idx[k] = idx[k - 1];
      k--;
    }
    idx[k] = j;
  }
  return m;
}

int nv_freq_spill(const struct nv_freq *f, struct nv_topk *t, struct nv_distinct *d) {
  nv_topk_init(t);
  if (!hll_alloc(d)) return 0;
  for (uint32_t j = 0; j < f->n; j++) hll_add(d->hll, f->e[j].hash);
  uint32_t top[NV_TOPK_COUNTERS];
  size_t k = nv_freq_top(f, top, NV_TOPK_COUNTERS);
  for (size_t i = 0; i < k; i++) {
    const struct nv_freq_entry *e = &f->e[top[i]];
    t->counts[i] = e->count;
    t->e[i].err = 0;
    set_value(&t->e[i], f->bytes + e->off, e->len);
    tab_insert(t, (uint32_t)i, e->hash);
  }
  t->n = (uint32_t)k;
  if (k == NV_TOPK_COUNTERS) {
    /* Every unmonitored value counts at most the least monitored count
     * (the top were chosen by count): its bucket holds the largest such
     * count, the bound the filter needs. */
    uint64_t least = t->counts[k - 1];
    for (uint32_t j = 0; j < f->n; j++) {
      const struct nv_freq_entry *e = &f->e[j];
      if (topk_find(t, e->hash) >= 0) continue;
      uint32_t a = (uint32_t)(e->hash % NV_TOPK_ALPHA);
      uint64_t c = e->count < least ? e->count : least;
      if (c > t->alpha[a]) t->alpha[a] = (uint32_t)(c > UINT32_MAX ? UINT32_MAX : c);
    }
  }
  return 1;
}

size_t nv_freq_bytes(const struct nv_freq *f) {
  return (size_t)f->cap * sizeof *f->slot + (size_t)f->ecap * sizeof *f->e + f->bcap;
}

void nv_freq_free(struct nv_freq *f) {
  struct nv_freq_budget *b = f->budget;
  budget_give(f, nv_freq_bytes(f));
  free(f->slot);
  free(f->e);
  free(f->bytes);
  memset(f, 0, sizeof *f);
  f->budget = b; /* an emptied table still draws on its profiler's budget */
}

/* ---- serialised form (serial_buf.h) -------------------------------------
 * Each load fills an empty sketch from bytes it does not trust: counts and
 * lengths are bounded before use, derived state (hash slots, lookup
 * tables, capacities) is rebuilt rather than read. 1 loaded, 0 refused
 * (r->bad set) or out of memory (*oom set); a refused sketch is freed. */

#define KLL_LOAD_MAX (UINT32_C(1) << 22) /* values a loaded level may hold */

void nv_kll_dump(const struct nv_kll *k, struct nv_wbuf *w) {
  nv_wb_u64(w, k->n);
  nv_wb_u64(w, k->rng);
  nv_wb_u32(w, k->nlevels);
  for (uint32_t h = 0; h < k->nlevels; h++) {
    nv_wb_u32(w, k->lv[h].n);
    for (uint32_t i = 0; i < k->lv[h].n; i++) nv_wb_f64(w, k->lv[h].v[i]);
  }
}

int nv_kll_load(struct nv_kll *k, struct nv_rbuf *r, int *oom) {
  k->n = nv_rb_u64(r);
  k->rng = nv_rb_u64(r);
  uint32_t nlevels = nv_rb_u32(r);
  if (r->bad || nlevels > NV_KLL_LEVELS || (nlevels == 0 && k->n != 0)) goto bad;
  k->nlevels = nlevels;
  uint64_t held = 0;
  for (uint32_t h = 0; h < nlevels; h++) {
    uint32_t n = nv_rb_u32(r);
    if (r->bad || n > KLL_LOAD_MAX || (size_t)n * 8 > r->n - r->pos) goto bad;
    if (n && !level_reserve(&k->lv[h], n)) {
      *oom = 1;
      goto bad;
    }
    for (uint32_t i = 0; i < n; i++) {
      double x = nv_rb_f64(r);
      if (isnan(x) || (h > 0 && i > 0 && x < k->lv[h].v[i - 1])) goto bad; /* levels above 0 are sorted */
      k->lv[h].v[i] = x;
    }
    k->lv[h].n = n;
    held += n;
  }
  if (held > k->n || held > KLL_LOAD_MAX) goto bad; /* every held item stands for >= 1 value */
  k->held = (uint32_t)held;
  if (nlevels) kll_recap(k);
  return 1;
bad:
  r->bad = 1;
  nv_kll_free(k);
  return 0;
}

void nv_distinct_dump(const struct nv_distinct *d, struct nv_wbuf *w) {
  nv_wb_u8(w, d->hll != NULL);
  if (d->hll) nv_wb_bytes(w, d->hll, HLL_M);
}

int nv_distinct_load(struct nv_distinct *d, struct nv_rbuf *r, int *oom) {
  uint8_t have = nv_rb_u8(r);
  if (r->bad || have > 1) goto bad;
  if (!have) return 1;
  const unsigned char *s = nv_rb_take(r, HLL_M);
  if (s == NULL) goto bad;
  for (uint32_t i = 0; i < HLL_M; i++)
    if (s[i] > HLL_Q + 1) goto bad; /* ranks run 1..HLL_Q + 1 */
  if (!hll_alloc(d)) {
    *oom = 1;
    goto bad;
  }
  memcpy(d->hll, s, HLL_M);
  return 1;
bad:
  r->bad = 1;
  nv_distinct_free(d);
  return 0;
}

void nv_topk_dump(const struct nv_topk *t, struct nv_wbuf *w) {
  nv_wb_u32(w, t->n);
  for (uint32_t a = 0; a < NV_TOPK_ALPHA; a++) nv_wb_u32(w, t->alpha[a]);
  for (uint32_t j = 0; j < t->n; j++) {
    nv_wb_u64(w, t->hashes[j]);
    nv_wb_u64(w, t->counts[j]);
    nv_wb_u64(w, t->e[j].err);
    uint32_t len = t->e[j].len;
    nv_wb_u32(w, len);
    if (len != NV_TOPK_PENDING) nv_wb_bytes(w, t->e[j].val, len);
  }
}

int nv_topk_load(struct nv_topk *t, struct nv_rbuf *r) {
  nv_topk_init(t);
  uint32_t n = nv_rb_u32(r);
  if (r->bad || n > NV_TOPK_COUNTERS) goto bad;
  for (uint32_t a = 0; a < NV_TOPK_ALPHA; a++) t->alpha[a] = nv_rb_u32(r);
  for (uint32_t j = 0; j < n; j++) {
    uint64_t h = nv_rb_u64(r);
    t->counts[j] = nv_rb_u64(r);
    t->e[j].err = nv_rb_u64(r);
    uint32_t len = nv_rb_u32(r);
    if (r->bad || t->e[j].err > t->counts[j] || t->counts[j] == 0) goto bad;
    if (len == NV_TOPK_PENDING) {
      t->pending |= UINT64_C(1) << j;
    } else {
      const unsigned char *s = len <= NV_TOPK_VALUE_MAX ? nv_rb_take(r, len) : NULL;
      if (s == NULL) goto bad;
      if (len) memcpy(t->e[j].val, s, len);
    }
    t->e[j].len = len;
    if (topk_find(t, h) >= 0) goto bad; /* one entry per hash */
    tab_insert(t, j, h);
    t->n = j + 1;
  }
  return 1;
bad:
  r->bad = 1;
  nv_topk_init(t);
  return 0;
}

void nv_freq_dump(const struct nv_freq *f, struct nv_wbuf *w) {
  nv_wb_u32(w, f->n);
  for (uint32_t j = 0; j < f->n; j++) {
    const struct nv_freq_entry *e = &f->e[j];
    nv_wb_u64(w, e->hash);
    nv_wb_u64(w, e->count);
    nv_wb_str(w, f->bytes + e->off, e->len);
  }
}

int nv_freq_load(struct nv_freq *f, struct nv_rbuf *r, int *oom) {
  uint32_t n = nv_rb_u32(r);
  if (r->bad || n > NV_FREQ_MAX) goto bad;
  for (uint32_t j = 0; j < n; j++) {
    char v[NV_TOPK_VALUE_MAX];
    uint32_t len;
    uint64_t h = nv_rb_u64(r), count = nv_rb_u64(r);
    if (!nv_rb_str(r, v, NV_TOPK_VALUE_MAX, &len) || count == 0) goto bad;
    uint32_t before = f->n;
    int rc = nv_freq_add_slow(f, h, v, len, count);
    if (rc == 0) *oom = 1;
    if (rc <= 0 || f->n != before + 1) goto bad; /* full, out of memory, or a repeated hash */
  }
  return 1;
bad:
  r->bad = 1;
  nv_freq_free(f);
  return 0;
}
