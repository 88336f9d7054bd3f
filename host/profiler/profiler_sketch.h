/* profiler_sketch.h - the profiler's bounded, mergeable summaries
 * (profiler_sketch.c): a 64-bit hash, an exact frequency table (value ->
 * count) for columns of up to NV_FREQ_MAX distinct values and, past it,
 * HyperLogLog distinct counting, Space-Saving heavy hitters; a KLL
 * quantile sketch.
 * Each summary is a plain struct owned by its column; zero-initialised is
 * empty, *_free releases it. Functions returning int give 1, or 0 when out
 * of memory (the summary is then unchanged or still valid). */
#ifndef NV_PROFILER_SKETCH_H
#define NV_PROFILER_SKETCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- the 64-bit hash (wyhash-like; not for adversarial input) ---------- */
#define NV_HK0 UINT64_C(0xa0761d6478bd642f)
#define NV_HK1 UINT64_C(0xe7037ed1a0b428db)
#define NV_HK2 UINT64_C(0x8ebc6af09c88c6e3)

static inline uint64_t nv_hash_rd64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static inline uint64_t nv_hash_rd32(const unsigned char *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

static inline uint64_t nv_hash_mum(uint64_t a, uint64_t b) {
#ifdef __SIZEOF_INT128__
  __extension__ typedef unsigned __int128 u128;
  u128 r = (u128)a * b;
  return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
  uint64_t ha = a >> 32, la = (uint32_t)a, hb = b >> 32, lb = (uint32_t)b;
  uint64_t rh = ha * hb, rm0 = ha * lb, rm1 = hb * la, rl = la * lb, t = rl + (rm0 << 32);
  uint64_t c = t < rl;
  uint64_t lo = t + (rm1 << 32);
  c += lo < t;
  uint64_t hi = rh + (rm0 >> 32) + (rm1 >> 32) + c;
  return lo ^ hi;
#endif
}

static inline uint64_t nv_hash64(const void *p, size_t n) {
  const unsigned char *b = p;
  uint64_t seed = NV_HK0, a, c;
  if (n <= 16) {
    if (n >= 8) {
      a = nv_hash_rd64(b);
      c = nv_hash_rd64(b + n - 8);
    } else if (n >= 4) {
      a = nv_hash_rd32(b) << 32 | nv_hash_rd32(b + n - 4);
      c = 0;
    } else if (n > 0) {
      a = (uint64_t)b[0] << 16 | (uint64_t)b[n >> 1] << 8 | b[n - 1];
      c = 0;
    } else {
      a = c = 0;
    }
  } else {
    size_t i = n;
    while (i > 16) {
      seed = nv_hash_mum(nv_hash_rd64(b) ^ NV_HK1, nv_hash_rd64(b + 8) ^ seed);
      b += 16;
      i -= 16;
    }
    a = nv_hash_rd64(b + i - 16);
    c = nv_hash_rd64(b + i - 8);
  }
  return nv_hash_mum(NV_HK2 ^ (uint64_t)n, nv_hash_mum(a ^ NV_HK1, c ^ seed));
}


/* ---- distinct past the exact table: HyperLogLog --------------------------- */
#define NV_HLL_P 16 /* 65536 one-byte registers: 1.04/256 = 0.41% standard error */
#define NV_HLL_RSE 0.0040625 /* the relative standard error, 1.04 / sqrt(2^NV_HLL_P) */

struct nv_distinct {
  uint8_t *hll; /* 2^NV_HLL_P registers; NULL while empty */
};
#define NV_DISTINCT_ZERO_HASH UINT64_C(0x9E3779B97F4A7C15) /* stands for hash 0 */

/* Registers allocated on first use; 0 when out of memory. */
int nv_distinct_add_slow(struct nv_distinct *d, uint64_t h);
static inline int nv_distinct_add(struct nv_distinct *d, uint64_t h) {
  if (!d->hll) return nv_distinct_add_slow(d, h);
  if (h == 0) h = NV_DISTINCT_ZERO_HASH;
  uint32_t idx = (uint32_t)(h >> (64 - NV_HLL_P));
  uint64_t w = (h << NV_HLL_P) | (UINT64_C(1) << (NV_HLL_P - 1));
  uint8_t rank = (uint8_t)(__builtin_clzll(w) + 1);
  if (rank > d->hll[idx]) d->hll[idx] = rank;
  return 1;
}
int nv_distinct_merge(struct nv_distinct *dst, const struct nv_distinct *src);
/* Ertl's improved estimator (no bias tables): unbiased from 1 to 2^64. */
double nv_distinct_estimate(const struct nv_distinct *d);
void nv_distinct_free(struct nv_distinct *d);

/* ---- KLL quantiles over doubles (NaN ignored) --------------------------- */
#define NV_KLL_K 512     /* exact while n <= NV_KLL_K */
#define NV_KLL_RANK_ERROR 0.01 /* the rank error bound stated past NV_KLL_K (measured well below) */
#define NV_KLL_LEVELS 62

struct nv_kll_level {
  double *v; /* level 0 unsorted; higher levels sorted */
  uint32_t n, cap;
};
struct nv_kll {
  uint64_t n;          /* values summarised */
  uint64_t rng;        /* xorshift state: compaction offsets (deterministic) */
  uint32_t nlevels, held, capacity;
  struct nv_kll_level lv[NV_KLL_LEVELS];
};
int nv_kll_add_slow(struct nv_kll *k, double x);
/* Adds x (NaN ignored); 0 when out of memory. The common case, room on
 * level 0 and below capacity, is inlined. */
static inline int nv_kll_add(struct nv_kll *k, double x) {
  struct nv_kll_level *l0 = &k->lv[0];
  if (k->held + 1 < k->capacity && l0->n < l0->cap && x == x) {
    l0->v[l0->n++] = x;
    k->held++;
    k->n++;
    return 1;
  }
  return nv_kll_add_slow(k, x);
}
int nv_kll_merge(struct nv_kll *dst, const struct nv_kll *src);
/* Quantiles of the union of the given sketches (NULLs skipped): out[i] is
 * the smallest summarised value whose weighted rank reaches ceil(q[i]*n)
 * (the exact lower quantile while n <= NV_KLL_K). Returns 0 when out of
 * memory, -1 when the sketches are empty. */
int nv_kll_quantiles(const struct nv_kll *const *ks, size_t nk, const double *q, size_t nq,
                     double *out);
size_t nv_kll_bytes(const struct nv_kll *k);
/* 1 when the sketch still holds every value it was given (no compaction) */
int nv_kll_is_exact(const struct nv_kll *k);
void nv_kll_free(struct nv_kll *k);

/* ---- Space-Saving top values ------------------------------------------- */
#define NV_TOPK_COUNTERS 64
#define NV_TOPK_VALUE_MAX 256

/* An entry that replaced another holds no bytes (len NV_TOPK_PENDING)
 * until its value repeats: the copy happens at most once per entry, not on
 * every eviction, and an entry never repeated is noise nobody reports. */
#define NV_TOPK_PENDING UINT32_MAX

/* Entry j's hash and count live in the packed arrays hashes[j] and
 * counts[j] (the per-value path touches only those); its true count lies
 * in [counts[j] - err, counts[j]]. */
struct nv_topk_entry {
  uint64_t err;
  uint32_t len;
  char val[NV_TOPK_VALUE_MAX];
};
/* Filtered Space-Saving (Homem & Carvalho): an unmonitored value first
 * counts in alpha[hash % NV_TOPK_ALPHA]; it replaces the minimum entry only
 * when that bucket's count + 1 exceeds the minimum. Invariant: every alpha
 * bucket <= the minimum count, so the true count of any unmonitored value
 * is <= its bucket <= the minimum (the bound merges rely on). */
#define NV_TOPK_ALPHA 512
/* load <= 1/8: a lookup of an unmonitored hash almost always meets an
 * empty home slot at once (no probing, a predictable branch) */
#define NV_TOPK_TAB (8 * NV_TOPK_COUNTERS)
struct nv_topk {
  uint32_t n, ncand;
  uint32_t alpha[NV_TOPK_ALPHA];
  uint64_t hashes[NV_TOPK_COUNTERS];     /* entry hashes, packed: lookups stay in cache */
  uint64_t counts[NV_TOPK_COUNTERS];     /* entry counts, packed: minimum scans stay in cache */
  uint64_t pending;                      /* bit j: e[j].len == NV_TOPK_PENDING */
  uint64_t candmin;                      /* count shared by the cand[] entries */
  uint8_t tab[NV_TOPK_TAB];              /* hash -> entry index + 1, linear probing */
  uint8_t cand[NV_TOPK_COUNTERS];        /* entries that held the minimum count */
  struct nv_topk_entry e[NV_TOPK_COUNTERS];
};
void nv_topk_init(struct nv_topk *t); /* empty */
/* Counts one occurrence of s[0..n) (hash h). Returns 1 when h was already
 * monitored (so h was seen before in this summary's stream), else 0. */
int nv_topk_add_slow(struct nv_topk *t, uint64_t h, const char *s, size_t n);
/* The inlined common cases: a monitored hash found at its home slot, and
 * an unmonitored one whose alpha bucket stays below the known minimum. */
static inline int nv_topk_add(struct nv_topk *t, uint64_t h, const char *s, size_t n) {
  uint8_t e = t->tab[(uint32_t)(h >> 40) & (NV_TOPK_TAB - 1)];
  if (e && t->hashes[e - 1] == h && !(t->pending >> (e - 1) & 1)) {
    t->counts[e - 1]++;
    return 1;
  }
  if (!e && t->n == NV_TOPK_COUNTERS && t->ncand > 0 &&
      t->counts[t->cand[t->ncand - 1]] == t->candmin) {
    uint32_t a = (uint32_t)(h % NV_TOPK_ALPHA);
    if ((uint64_t)t->alpha[a] + 1 <= t->candmin) {
      t->alpha[a]++;
      return 0;
    }
  }
  return nv_topk_add_slow(t, h, s, n);
}
/* dst = merge(dst, src) (Agarwal et al.'s mergeable summaries) */
int nv_topk_merge(struct nv_topk *dst, const struct nv_topk *src);
/* Indices of up to max entries holding bytes, by guaranteed count
 * (count - err) desc, then value bytes asc; returns how many. */
size_t nv_topk_order(const struct nv_topk *t, uint32_t *idx, size_t max);

/* ---- exact frequencies ------------------------------------------------- */
/* value -> count for up to NV_FREQ_MAX distinct values whose bytes (each
 * value's first NV_TOPK_VALUE_MAX) fit in NV_FREQ_BYTES; then the column
 * spills to HyperLogLog + Space-Saving (nv_freq_spill). Values are told
 * apart by their 64-bit hash: two distinct values collide with
 * probability below n^2 / 2^65 (< 1.2e-10 at 65,536 values).
 * Memory at most: slots 2 * NV_FREQ_MAX * 4 + entries NV_FREQ_MAX * 24 +
 * NV_FREQ_BYTES = 6 MiB per column, grown by doubling; all the tables of
 * one profiler together at most NV_FREQ_BUDGET (a wide table's columns
 * spill early rather than exceed it). */
#define NV_FREQ_MAX 65536u
#define NV_FREQ_BYTES (4u << 20)
#define NV_FREQ_BUDGET ((size_t)256 << 20) /* a profiler's exact tables together */

struct nv_freq_entry {
  uint64_t hash, count;
  uint32_t off, len; /* bytes[off .. off + len) */
};
/* Bytes that the exact tables of one profiler may hold together (shared
 * by its columns): a table that would grow past it is full. `used` is
 * atomic: columns of one profiler may be fed on different threads (one
 * thread per column at a time). */
struct nv_freq_budget {
  _Atomic size_t used;
  size_t limit;
};
struct nv_freq {
  struct nv_freq_budget *budget; /* NULL: only the per-table limits */
  uint32_t *slot;          /* entry index + 1, linear probing, load <= 1/2 */
  uint32_t cap;            /* slots, a power of two (0 until the first value) */
  uint32_t n, ecap;        /* entries used / allocated */
  struct nv_freq_entry *e;
  char *bytes;
  size_t nbytes, bcap;
};

/* Counts `count` occurrences of s[0..n) (hash h): 1 counted, 0 out of
 * memory, -1 full (h is new and the table cannot take it; unchanged). */
int nv_freq_add_slow(struct nv_freq *f, uint64_t h, const char *s, size_t n, uint64_t count);
static inline int nv_freq_add(struct nv_freq *f, uint64_t h, const char *s, size_t n) {
  if (f->cap) {
    uint32_t j = f->slot[(uint32_t)h & (f->cap - 1)];
    if (j && f->e[j - 1].hash == h) {
      f->e[j - 1].count++;
      return 1;
    }
  }
  return nv_freq_add_slow(f, h, s, n, 1);
}
/* Adds src's counts into dst: 1, 0 out of memory, -1 the union does not
 * fit (dst unchanged). */
int nv_freq_merge(struct nv_freq *dst, const struct nv_freq *src);
/* The sketches equivalent to f: t gets the NV_TOPK_COUNTERS most frequent
 * values with exact counts (err 0) and alpha buckets bounding the rest, d
 * the HyperLogLog of every value. t and d must be empty; 0 when out of
 * memory (then both are left empty). */
int nv_freq_spill(const struct nv_freq *f, struct nv_topk *t, struct nv_distinct *d);
/* Indices of the max most frequent entries: count desc, then bytes asc. */
size_t nv_freq_top(const struct nv_freq *f, uint32_t *idx, size_t max);
size_t nv_freq_bytes(const struct nv_freq *f);
void nv_freq_free(struct nv_freq *f);

/* ---- serialised form (profiler_serial.c writes whole profilers) ---------
 * dump appends the sketch; load fills an empty one from untrusted bytes:
 * 1, or 0 when refused (r->bad) or out of memory (*oom), the sketch then
 * empty. A freq load draws on f->budget as adds do. */
struct nv_wbuf;
struct nv_rbuf;
void nv_kll_dump(const struct nv_kll *k, struct nv_wbuf *w);
int nv_kll_load(struct nv_kll *k, struct nv_rbuf *r, int *oom);
void nv_distinct_dump(const struct nv_distinct *d, struct nv_wbuf *w);
int nv_distinct_load(struct nv_distinct *d, struct nv_rbuf *r, int *oom);
void nv_topk_dump(const struct nv_topk *t, struct nv_wbuf *w);
int nv_topk_load(struct nv_topk *t, struct nv_rbuf *r);
void nv_freq_dump(const struct nv_freq *f, struct nv_wbuf *w);
int nv_freq_load(struct nv_freq *f, struct nv_rbuf *r, int *oom);

#endif
