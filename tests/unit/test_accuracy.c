/* test_accuracy.c - the profile accuracy contract, checked on the engine:
 * exact frequencies up to NV_FREQ_MAX distinct values (and through merges
 * that fit), spilling to sketches past it; HyperLogLog within 2% at every
 * cardinality swept; KLL rank error within NV_KLL_RANK_ERROR on several
 * distributions; heavy hitters past the table bounded by count_error and
 * never below the heavy-hitter floor. Truth is computed here, by sorting.
 * Prints the worst errors seen (the figures the README states). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../host/profiler/profiler.h"
#include "../../host/profiler/profiler_result.h"
#include "../../host/profiler/profiler_sketch.h"
#include "check.h"

static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static double unif(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

static void result_of(const struct nv_profiler *p, size_t col, struct nv_column_result *r) {
  if (!nv_profiler_result(p, col, r)) {
    fprintf(stderr, "nv_profiler_result: out of memory\n");
    exit(1);
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

static size_t put_int(struct nv_profiler *p, uint64_t v) {
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
  CHECK(nv_profiler_add_text(p, 0, buf, (size_t)n));
  return (size_t)n;
}

/* ---- exact frequencies ------------------------------------------------- */

/* values[i] as integers: the true count of each, by sorting a copy */
struct truth {
  uint64_t *v, *cnt; /* distinct values ascending, their counts */
  size_t n;
};

static struct truth truth_of(const uint64_t *vals, size_t n) {
  uint64_t *s = malloc(n * sizeof *s);
  uint64_t *c = malloc(n * sizeof *c);
  if (!s || !c) exit(1);
  memcpy(s, vals, n * sizeof *s);
  qsort(s, n, sizeof *s, cmp_u64);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (m > 0 && s[m - 1] == s[i]) {
      c[m - 1]++;
    } else {
      s[m] = s[i];
      c[m++] = 1;
    }
  }
  return (struct truth){s, c, m};
}

static uint64_t truth_count(const struct truth *t, uint64_t v) {
  size_t lo = 0, hi = t->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (t->v[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo < t->n && t->v[lo] == v ? t->cnt[lo] : 0;
}

static uint64_t text_u64(struct nv_text t) {
  char buf[32];
  size_t n = t.n < sizeof buf - 1 ? t.n : sizeof buf - 1;
  memcpy(buf, t.s, n);
  buf[n] = '\0';
  return strtoull(buf, NULL, 10);
}

/* the k-th most frequent count (k from 0), the truth's own ranking */
static uint64_t kth_count(const struct truth *t, size_t k) {
  uint64_t *c = malloc(t->n * sizeof *c);
  if (!c) exit(1);
  memcpy(c, t->cnt, t->n * sizeof *c);
  qsort(c, t->n, sizeof *c, cmp_u64);
  uint64_t r = k < t->n ? c[t->n - 1 - k] : 0;
  free(c);
  return r;
}

/* Checks r's top values against the truth: exact ones equal the true
 * ranking (count desc, then text asc); spilled ones bound the true count
 * and are heavy hitters. Returns 1 when the column was exact. */
static int check_top(const struct nv_column_result *r, const struct truth *t, uint64_t nonempty) {
  if (r->top_exact) {
    size_t want = t->n < NV_PROFILE_TOP ? t->n : NV_PROFILE_TOP;
    CHECK(r->ntop == want);
    for (size_t i = 0; i < r->ntop; i++) {
      uint64_t v = text_u64(r->top[i].value);
      CHECK(r->top[i].error == 0);
      CHECK(r->top[i].count == truth_count(t, v));
      CHECK(r->top[i].count == kth_count(t, i));
      if (i > 0 && r->top[i].count == r->top[i - 1].count) { /* ties by text */
        struct nv_text a = r->top[i - 1].value, b = r->top[i].value;
        size_t m = a.n < b.n ? a.n : b.n;
        int c = memcmp(a.s, b.s, m);
        CHECK(c < 0 || (c == 0 && a.n < b.n));
      }
    }
    return 1;
  }
  double need = ceil(NV_PROFILE_HEAVY_SHARE * (double)nonempty);
  uint64_t floor = need < 2 ? 2 : (uint64_t)need;
  for (size_t i = 0; i < r->ntop; i++) {
    uint64_t tc = truth_count(t, text_u64(r->top[i].value));
    CHECK(r->top[i].count <= tc && tc <= r->top[i].count + r->top[i].error);
    CHECK(tc >= floor);
    if (i > 0) CHECK(r->top[i].count <= r->top[i - 1].count);
  }
  return 0;
}

static void test_exact_to_threshold(void) {
  /* exactly NV_FREQ_MAX distinct values, Zipf-like counts: all exact */
  enum { D = NV_FREQ_MAX };
  size_t n = 0, cap = 4 * (size_t)D;
  uint64_t *vals = malloc(cap * sizeof *vals);
  if (!vals) exit(1);
  for (uint64_t k = 0; k < D; k++) vals[n++] = k * 7919 + 13; /* each once */
  while (n < cap) { /* extra occurrences, skewed towards small k */
    double u = unif();
    uint64_t k = (uint64_t)(D * u * u * u);
    vals[n++] = k * 7919 + 13;
  }
  for (size_t i = n - 1; i > 0; i--) { /* shuffle */
    size_t j = (size_t)(rnd() % (i + 1));
    uint64_t x = vals[i];
    vals[i] = vals[j];
    vals[j] = x;
  }
  struct truth t = truth_of(vals, n);
  CHECK(t.n == D);
  struct nv_profiler *p = nv_profiler_new();
  CHECK(nv_profiler_column(p, "v", 1) == 0);
  for (size_t i = 0; i < n; i++) put_int(p, vals[i]);
  struct nv_column_result r;
  result_of(p, 0, &r);
  CHECK(r.distinct_exact && r.distinct_count == D && r.distinct_error == 0.0);
  CHECK(check_top(&r, &t, n) == 1);
  /* the exact table's memory stays under its stated maximum */
  CHECK(nv_profiler_column_bytes(p, 0) <= 6u * 1024 * 1024 + 128 * 1024);

  /* one value more spills: estimates with their bounds */
  put_int(p, 999999999999ull);
  result_of(p, 0, &r);
  CHECK(!r.distinct_exact && r.distinct_error > 0);
  CHECK(fabs((double)r.distinct_count - (D + 1)) <= 0.02 * (D + 1));
  uint64_t *v2 = realloc(vals, (n + 1) * sizeof *vals);
  if (!v2) exit(1);
  vals = v2;
  vals[n++] = 999999999999ull;
  free(t.v);
  free(t.cnt);
  t = truth_of(vals, n);
  CHECK(check_top(&r, &t, n) == 0);
  /* the most frequent value was monitored with its exact count when the
   * table spilled: still exact */
  CHECK(r.ntop >= 1 && r.top[0].error == 0 && r.top[0].count == kth_count(&t, 0));
  CHECK(nv_profiler_column_bytes(p, 0) < 256 * 1024); /* the table is freed */
  nv_profiler_free(p);
  free(vals);
  free(t.v);
  free(t.cnt);
}

/* The cases: 5M-row-like mid-cardinality columns, exact now. */
static void test_mid_cardinality_exact(void) {
  static const uint64_t cards[] = {1001, 11000, 60000};
  for (size_t ci = 0; ci < sizeof cards / sizeof cards[0]; ci++) {
    size_t n = 600000;
    uint64_t *vals = malloc(n * sizeof *vals);
    if (!vals) exit(1);
    for (size_t i = 0; i < n; i++) vals[i] = rnd() % cards[ci];
    struct truth t = truth_of(vals, n);
    struct nv_profiler *p = nv_profiler_new();
    CHECK(nv_profiler_column(p, "v", 1) == 0);
    for (size_t i = 0; i < n; i++) put_int(p, vals[i]);
    struct nv_column_result r;
    result_of(p, 0, &r);
    CHECK(r.distinct_exact && r.distinct_count == t.n);
    CHECK(check_top(&r, &t, n) == 1);
    CHECK(r.ntop == NV_PROFILE_TOP && r.top[0].count == kth_count(&t, 0));
    nv_profiler_free(p);
    free(vals);
    free(t.v);
    free(t.cnt);
  }
}

/* merges: exact while the union fits, spilled (with bounds) past it */
static void test_merge_exact_and_spill(void) {
  static const uint64_t ranges[] = {40000, 100000, 1000000};
  for (size_t ri = 0; ri < 3; ri++) {
    enum { PARTS = 4, PER = 50000 };
    uint64_t *vals = malloc((size_t)PARTS * PER * sizeof *vals);
    if (!vals) exit(1);
    struct nv_profiler *ps[PARTS];
    for (int k = 0; k < PARTS; k++) {
      ps[k] = nv_profiler_new();
      CHECK(nv_profiler_column(ps[k], "v", 1) == 0);
      for (int i = 0; i < PER; i++) {
        /* a heavy hitter (value 7, 5%) in every part */
        uint64_t v = rnd() % 20 == 0 ? 7 : rnd() % ranges[ri];
        vals[(size_t)k * PER + i] = v;
        put_int(ps[k], v);
      }
    }
    struct truth t = truth_of(vals, (size_t)PARTS * PER);
    CHECK(nv_profiler_merge(ps[0], ps[1]));
    CHECK(nv_profiler_merge(ps[2], ps[3]));
    CHECK(nv_profiler_merge(ps[0], ps[2]));
    struct nv_column_result r;
    result_of(ps[0], 0, &r);
    uint64_t n = (uint64_t)PARTS * PER;
    if (t.n <= NV_FREQ_MAX) {
      CHECK(r.distinct_exact && r.distinct_count == t.n);
      CHECK(check_top(&r, &t, n) == 1);
    } else {
      CHECK(!r.distinct_exact);
      CHECK(fabs((double)r.distinct_count - (double)t.n) <= 0.02 * (double)t.n);
      CHECK(check_top(&r, &t, n) == 0);
      CHECK(r.ntop >= 1 && text_u64(r.top[0].value) == 7);
    }
    for (int k = 0; k < PARTS; k++) nv_profiler_free(ps[k]);
    free(vals);
    free(t.v);
    free(t.cnt);
  }
}

/* A wide table: the exact tables of all columns share one budget; columns
 * that would outgrow it spill early, still within their bounds. */
static void test_shared_budget(void) {
  enum { COLS = 8, N = 40000 };
  struct nv_profiler *p = nv_profiler_new();
  nv_profiler_set_exact_budget(p, 2u << 20);
  char name[8], buf[32];
  for (int c = 0; c < COLS; c++) {
    snprintf(name, sizeof name, "c%d", c);
    CHECK(nv_profiler_column(p, name, strlen(name)) == c);
  }
  for (int i = 0; i < N; i++)
    for (int c = 0; c < COLS; c++) { /* column c: N / (c + 1) distinct values */
      int n = snprintf(buf, sizeof buf, "v%d", i % (N / (c + 1)));
      CHECK(nv_profiler_add_text(p, (size_t)c, buf, (size_t)n));
    }
  size_t exact_bytes = 0;
  int spilled = 0, exact = 0;
  for (int c = 0; c < COLS; c++) {
    struct nv_column_result r;
    result_of(p, (size_t)c, &r);
    double d = N / (c + 1);
    if (r.distinct_exact) {
      exact++;
      CHECK(r.distinct_count == (uint64_t)d);
      exact_bytes += nv_profiler_column_bytes(p, (size_t)c);
    } else {
      spilled++;
      CHECK(fabs((double)r.distinct_count - d) <= 0.02 * d);
    }
  }
  CHECK(spilled > 0 && exact > 0); /* the budget decided, not the per-column limits */
  CHECK(exact_bytes <= (2u << 20) + COLS * 64 * 1024);
  nv_profiler_free(p);
}

/* A merge whose union would outgrow the destination's budget spills both
 * sides (an estimate within its bound), never an out-of-memory failure. */
static void test_merge_past_budget(void) {
  struct nv_profiler *a = nv_profiler_new(), *b = nv_profiler_new();
  nv_profiler_set_exact_budget(a, 20000);
  nv_profiler_set_exact_budget(b, 20000);
  char buf[32];
  CHECK(nv_profiler_column(a, "v", 1) == 0 && nv_profiler_column(b, "v", 1) == 0);
  for (int i = 0; i < 300; i++) {
    int n = snprintf(buf, sizeof buf, "a%d", i);
    CHECK(nv_profiler_add_text(a, 0, buf, (size_t)n));
    n = snprintf(buf, sizeof buf, "b%d", i);
    CHECK(nv_profiler_add_text(b, 0, buf, (size_t)n));
  }
  CHECK(nv_profiler_merge(a, b));
  struct nv_column_result r;
  result_of(a, 0, &r);
  CHECK(fabs((double)r.distinct_count - 600) <= 0.02 * 600);
  CHECK(r.non_null == 600);
  nv_profiler_free(a);
  nv_profiler_free(b);
}

/* ---- HyperLogLog: within 2% at every cardinality swept ----------------- */

static void test_hll_sweep(void) {
  double worst = 0.0;
  uint64_t worst_at = 0;
  for (int seed = 1; seed <= 3; seed++) {
    struct nv_distinct d = {0};
    uint64_t n = 0, next = NV_FREQ_MAX + 1;
    char buf[40];
    while (next <= 6000000) {
      for (; n < next; n++) {
        int len = snprintf(buf, sizeof buf, "s%d-%llu", seed, (unsigned long long)n);
        CHECK(nv_distinct_add(&d, nv_hash64(buf, (size_t)len)));
      }
      double e = fabs(nv_distinct_estimate(&d) - (double)n) / (double)n;
      if (e > worst) {
        worst = e;
        worst_at = n;
      }
      CHECK(e <= 0.02);
      next = next + next / 3;
    }
    nv_distinct_free(&d);
  }
  /* within the stated standard error's reach: 5 sigma is 2% */
  CHECK(worst <= 5 * NV_HLL_RSE);
  printf("hll: worst relative error %.4f (at %llu distinct; standard error %.4f)\n", worst,
         (unsigned long long)worst_at, NV_HLL_RSE);
}

/* ---- KLL: rank error ------------------------------------------------------ */

static double rank_error(const double *s, size_t n, double q, double x) {
  size_t lo = 0, hi = n; /* #< x */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  size_t lt = lo;
  hi = n; /* #<= x */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  double target = q * (double)n;
  if ((double)lt <= target && target <= (double)lo) return 0.0;
  double a = fabs((double)lt - target), b = fabs((double)lo - target);
  return (a < b ? a : b) / (double)n;
}

static void test_kll_rank_error(void) {
  static const size_t sizes[] = {300, NV_KLL_K, 1000, 20000, 300000, 2000000};
  static const double qs[] = {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99};
  double worst = 0.0;
  for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
    size_t n = sizes[si];
    double *v = malloc(n * sizeof *v), *s = malloc(n * sizeof *s);
    if (!v || !s) exit(1);
    for (int dist = 0; dist < 4; dist++) {
      for (size_t i = 0; i < n; i++) {
        switch (dist) {
          case 0: v[i] = unif(); break;                               /* uniform */
          case 1: v[i] = (double)i; break;                            /* rising */
          case 2: v[i] = (double)(n - i); break;                      /* falling */
          default: v[i] = floor(-log(unif() + 1e-300) * 10.0); break; /* skewed, repeats */
        }
      }
      struct nv_kll k = {0};
      for (size_t i = 0; i < n; i++) CHECK(nv_kll_add(&k, v[i]));
      memcpy(s, v, n * sizeof *v);
      qsort(s, n, sizeof *s, cmp_double);
      double out[7];
      const struct nv_kll *ks[1] = {&k};
      CHECK(nv_kll_quantiles(ks, 1, qs, 7, out) == 1);
      for (int j = 0; j < 7; j++) {
        double e = rank_error(s, n, qs[j], out[j]);
        if (e > worst) worst = e;
        CHECK(e <= NV_KLL_RANK_ERROR);
        if (nv_kll_is_exact(&k)) CHECK(e <= 1.0 / (double)n);
      }
      CHECK(nv_kll_is_exact(&k) == (n <= NV_KLL_K));
      nv_kll_free(&k);
    }
    free(v);
    free(s);
  }
  printf("kll: worst rank error %.5f (bound %.2f)\n", worst, NV_KLL_RANK_ERROR);
}

int main(void) {
  test_exact_to_threshold();
  test_mid_cardinality_exact();
  test_merge_exact_and_spill();
  test_shared_budget();
  test_merge_past_budget();
  test_hll_sweep();
  test_kll_rank_error();
  return CHECK_DONE();
}
