/* test_profiler.c - the column profiler engine: every statistic checked
 * against values this test computes on its own (counts, extremes, moments,
 * quantile ranks, distinct counts, top values), type inference per type,
 * and merge of two halves against one pass. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../host/civil.h"
#include "../../host/profiler/profiler.h"
#include "../../host/profiler/profiler_infer.h"
#include "../../host/profiler/profiler_result.h"
#include "../../host/profiler/profiler_sketch.h"
#include "../../host/taskpool.h"
#include "check.h"

#define CHECK_EQ_U(got, want)                                                       \
  do {                                                                              \
    unsigned long long g_ = (unsigned long long)(got), w_ = (unsigned long long)(want); \
    if (g_ != w_) {                                                                 \
      fprintf(stderr, "%s:%d: %s = %llu, want %llu\n", __FILE__, __LINE__, #got, g_, w_); \
      check_failures++;                                                             \
    }                                                                               \
  } while (0)

#define CHECK_NEAR(got, want, tol)                                                  \
  do {                                                                              \
    double g_ = (got), w_ = (want);                                                 \
    if (!(fabs(g_ - w_) <= (tol) * fmax(1.0, fabs(w_)))) {                          \
      fprintf(stderr, "%s:%d: %s = %.17g, want %.17g\n", __FILE__, __LINE__, #got, g_, w_); \
      check_failures++;                                                             \
    }                                                                               \
  } while (0)

static int text_eq(struct nv_text t, const char *want) {
  return t.n == strlen(want) && memcmp(t.s, want, t.n) == 0;
}

static int text_same(struct nv_text a, struct nv_text b) {
  return a.n == b.n && (a.n == 0 || memcmp(a.s, b.s, a.n) == 0); /* an empty text may have s NULL */
}

#define CHECK_TEXT(t, want)                                                         \
  do {                                                                              \
    struct nv_text t_ = (t);                                                        \
    if (!text_eq(t_, want)) {                                                       \
      fprintf(stderr, "%s:%d: %s = \"%.*s\", want \"%s\"\n", __FILE__, __LINE__, #t, \
              (int)t_.n, t_.s ? t_.s : "", want);                                   \
      check_failures++;                                                             \
    }                                                                               \
  } while (0)

static uint64_t rng_state;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* one column "c" fed the given texts, one row each */
static struct nv_profiler *column_of(const char *const *v, size_t n) {
  struct nv_profiler *p = nv_profiler_new();
  CHECK(p != NULL);
  CHECK(nv_profiler_column(p, "c", 1) == 0);
  for (size_t i = 0; i < n; i++) CHECK(nv_profiler_add_text(p, 0, v[i], strlen(v[i])));
  nv_profiler_add_rows(p, n);
  return p;
}

static void result_of(const struct nv_profiler *p, size_t col, struct nv_column_result *r) {
  CHECK(nv_profiler_result(p, col, r));
}

/* ---- type of a single value --------------------------------------------- */

static void test_classify_each_type(void) {
  static const struct {
    const char *value, *type;
  } cases[] = {
      {"true", "boolean"}, {"FALSE", "boolean"}, {"Yes", "boolean"}, {"n", "boolean"},
      {"T", "boolean"}, {"0", "integer"}, {"1", "integer"}, {"-42", "integer"},
      {"+7", "integer"}, {"007", "string"}, {"9223372036854775807", "integer"},
      {"123456789012345678901234", "decimal"}, {"1.5", "decimal"}, {".5", "decimal"},
      {"-0.25", "decimal"}, {"5.", "decimal"}, {"1e10", "decimal"}, {"-1.5E-3", "decimal"},
      {"2023-01-31", "date"}, {"2024-02-29", "date"}, {"2000-02-29", "date"},
      {"2023/12/31", "date"}, {"12/31/2023", "date"}, {"31/12/2023", "date"},
      {"1/5/2023", "date"}, {"31.12.2023", "date"}, {"2023-02-30", "string"},
      {"2023-02-29", "string"}, {"1900-02-29", "string"}, {"2023-04-31", "string"},
      {"2023-13-01", "string"}, {"13/13/2023", "string"}, {"02/30/2023", "string"},
      {"31.04.2023", "string"}, {"2023-1-5", "date"}, {"2023-1-5T10:30", "timestamp"},
      {"2023--5", "string"}, {"2023-123-5", "string"},
      {"2023-01-05T10:30:00Z", "timestamp"}, {"2023-01-05 10:30", "timestamp"},
      {"2023-01-05T10:30:00.123+02:00", "timestamp"}, {"2023-01-05T10:30:00-0500", "timestamp"},
      {"01/05/2023 10:30:15", "timestamp"}, {"01/05/2023 10:30", "timestamp"},
      {"2023-01-05T25:00", "string"}, {"2023-01-05T10:30:00+", "string"},
      {"10:30", "time"}, {"9:05", "time"}, {"23:59:59.999", "time"}, {"24:00", "string"},
      {"10:60", "string"},
      {"123e4567-e89b-12d3-a456-426614174000", "uuid"},
      {"AB5E4567-E89B-12D3-A456-426614174000", "uuid"},
      {"123e4567-e89b-12d3-a456-42661417400g", "string"},
      {"alice@example.com", "email"}, {"first.last+tag@mail.co.uk", "email"},
      {"a@b", "string"}, {"a@@b.com", "string"}, {".a@b.com", "string"},
      {"a@b.c", "string"}, {"a b@c.com", "string"},
      {"https://example.com/x?y=1", "url"}, {"s3://bucket/key", "url"},
      {"abfss://c@acct.dfs.core.windows.net/p", "url"}, {"gs://b/o", "url"},
      {"ftp://h", "url"}, {"http://", "string"}, {"http:// x", "string"},
      {"192.168.1.1", "ip"}, {"0.0.0.0", "ip"}, {"255.255.255.255", "ip"},
      {"256.1.1.1", "string"}, {"1.2.3", "string"}, {"01.2.3.4", "string"},
      {"::", "ip"}, {"::1", "ip"}, {"2001:db8::1", "ip"}, {"fe80::1:2:3:4", "ip"},
      {"1:2:3:4:5:6:7:8", "ip"}, {"::ffff:192.168.1.1", "ip"}, {"1::2::3", "string"},
      {"1:2:3:4:5:6:7", "string"}, {"12345::1", "string"},
      {"{\"a\": [1, 2.5e3, {\"b\": null}], \"c\": \"x\\u00e9\"}", "json"}, {"[]", "json"},
      {"[1, 2", "string"}, {"{\"a\" 1}", "string"}, {"{'a': 1}", "string"}, {"[01]", "string"},
      {"abc", "string"}, {"1.2.3.4.5", "string"}, {"12abc", "string"}, {"-", "string"},
      {"nan", "decimal"}, {"inf", "decimal"}, {"0x1F", "string"}, {"1,000", "integer"},
      /* issue 11: codes, phones, m/d/yy, 12-hour clocks, > 64-bit integers, markers */
      {"09001", "string"}, {"-007", "string"}, {"00.5", "string"}, {"0.5", "decimal"},
      {"-0", "integer"}, {"0", "integer"}, {"555-123-4567", "string"},
      {"(555) 123-4567", "string"}, {"+44 20 7946 0958", "string"}, {"555.123.4567", "string"},
      {"5551234567", "integer"}, {"1/2/99", "date"}, {"12/31/20", "date"}, {"1/2/1999", "date"},
      {"12-31-2020", "date"}, {"1-2-2020", "date"}, {"31.12.99", "date"}, {"13.2.99", "string"},
      {"1.2.10", "string"}, {"12-31-20", "string"}, {"1/2/999", "string"}, {"1/2/19999", "string"},
      {"1/2/2020 3:04:05 PM", "timestamp"}, {"12/31/2020 11:00:00 am", "timestamp"},
      {"2020-01-02 12:00 AM", "timestamp"}, {"1/2/2020 13:04 PM", "string"},
      {"1/2/2020 0:04 AM", "string"}, {"9223372036854775808", "decimal"},
      {"-9223372036854775808", "integer"}, {"-9223372036854775809", "decimal"},
      {"NaN", "decimal"}, {"-inf", "decimal"}, {"+Infinity", "decimal"}, {"nano", "string"},
      {"NA", "string"}, {"n/a", "string"}, {"null", "string"}, {"-", "string"},
      {"12%", "string"}, {"$1.50", "string"}, {"1e5", "decimal"}, {"20200102", "integer"},
      {"2020-01-02 03:04:05 UTC", "timestamp"}, {"2020-01-02 03:04:05 +0000", "timestamp"},
      {"2020-01-02T03:04:05gmt", "timestamp"}, {"2020-01-02 03:04:05 ", "timestamp"},
      {"2020-01-02 03:04:05 X", "string"}, {"2020-01-02 03:04:05 UTC+1", "string"},
      {"+14155552671", "string"}, {"+442079460958", "string"}, {"2020.01.02", "date"},
      {"2020.1.2 10:30", "timestamp"}, {"2020.13.02", "string"},
      /* thousands separators: exact grouping only */
      {"12,345,678", "integer"}, {"-1,234", "integer"}, {"+1,234.50", "decimal"},
      {"1,234.", "decimal"}, {"1,5", "string"}, {"12,34", "string"}, {"1,2345", "string"},
      {"1234,567", "string"}, {"0,123", "string"}, {"1,234,", "string"}, {",123", "string"},
      {"1,234.5.6", "string"}, {"1,234e5", "string"}, {"1,,234", "string"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *v[1] = {cases[i].value};
    struct nv_profiler *p = column_of(v, 1);
    struct nv_column_result r;
    result_of(p, 0, &r);
    if (strcmp(r.inferred_name, cases[i].type) != 0) {
      fprintf(stderr, "%s:%d: \"%s\" inferred %s, want %s\n", __FILE__, __LINE__,
              cases[i].value, r.inferred_name, cases[i].type);
      check_failures++;
    }
    nv_profiler_free(p);
  }
}

/* What the classifier extracts from one value: the instant of M/D/YY and
 * 12-hour forms (seconds since 1970 from Python's datetime), the two
 * readings of an ambiguous slash date, the leading-zero and > int64 flags. */
static void test_classify_fields(void) {
  static const struct {
    const char *value;
    int type, form;
    long long t1, t2; /* seconds */
  } dates[] = {
      {"1/2/99", NV_PT_DATE, NV_DF_AMBIG, 915235200, 917827200},
      {"01/02/1999", NV_PT_DATE, NV_DF_AMBIG, 915235200, 917827200},
      {"1-2-1999", NV_PT_DATE, NV_DF_AMBIG, 915235200, 917827200},
      {"12/31/68", NV_PT_DATE, NV_DF_MDY, 3124137600, 0}, /* %y: 00-68 -> 20xx */
      {"1/13/69", NV_PT_DATE, NV_DF_MDY, -31536000 + 12 * 86400, 0}, /* 69-99 -> 19xx */
      {"31.12.99", NV_PT_DATE, NV_DF_PLAIN, 946598400, 0},
      {"31/12/99", NV_PT_DATE, NV_DF_DMY, 946598400, 0},
      {"1/2/2020 3:04:05 PM", NV_PT_TIMESTAMP, NV_DF_AMBIG, 1577977445, 1580569445},
      {"2020-01-02 12:30 AM", NV_PT_TIMESTAMP, NV_DF_PLAIN, 1577925000, 0},
      {"2020-01-02 12:30:00PM", NV_PT_TIMESTAMP, NV_DF_PLAIN, 1577925000 + 12 * 3600, 0},
  };
  for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
    struct nv_classified k;
    nv_classify(dates[i].value, strlen(dates[i].value), &k);
    if (k.type != dates[i].type || k.form != dates[i].form || k.t1 != dates[i].t1 * 1000000 ||
        (k.form == NV_DF_AMBIG && k.t2 != dates[i].t2 * 1000000)) {
      fprintf(stderr, "%s:%d: \"%s\": type %s form %d t1 %lld t2 %lld\n", __FILE__, __LINE__,
              dates[i].value, nv_pt_name(k.type), k.form, (long long)k.t1, (long long)k.t2);
      check_failures++;
    }
  }
  static const struct {
    const char *value;
    int type, code, big, has_num;
  } nums[] = {
      {"007", NV_PT_INTEGER, 1, 0, 1},      {"-09", NV_PT_INTEGER, 1, 0, 1},
      {"00.5", NV_PT_DECIMAL, 1, 0, 1},     {"0.5", NV_PT_DECIMAL, 0, 0, 1},
      {"0", NV_PT_INTEGER, 0, 0, 1},        {"-0", NV_PT_INTEGER, 0, 0, 1},
      {"0e5", NV_PT_DECIMAL, 0, 0, 1},      {"10", NV_PT_INTEGER, 0, 0, 1},
      {"+1234567", NV_PT_INTEGER, 1, 0, 1}, {"+123456", NV_PT_INTEGER, 0, 0, 1},
      {"-1234567", NV_PT_INTEGER, 0, 0, 1}, {"+1234567.5", NV_PT_DECIMAL, 0, 0, 1},
      {"+123456789012345", NV_PT_INTEGER, 1, 0, 1}, {"+1234567890123456", NV_PT_INTEGER, 0, 0, 1},
      {"18446744073709551616", NV_PT_DECIMAL, 0, 1, 1},
      {"-9223372036854775809", NV_PT_DECIMAL, 0, 1, 1},
      {"NaN", NV_PT_DECIMAL, 0, 0, 0},      {"-Infinity", NV_PT_DECIMAL, 0, 0, 0},
      {"N/A", NV_PT_NULL, 0, 0, 0},         {"#N/A", NV_PT_NULL, 0, 0, 0},
      {"None", NV_PT_NULL, 0, 0, 0},        {"--", NV_PT_NULL, 0, 0, 0},
      {"NAN!", NV_PT_STRING, 0, 0, 0},      {"nulls", NV_PT_STRING, 0, 0, 0},
  };
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    struct nv_classified k;
    nv_classify(nums[i].value, strlen(nums[i].value), &k);
    int ok = k.type == nums[i].type && k.has_num == nums[i].has_num;
    if (k.type == NV_PT_INTEGER || k.type == NV_PT_DECIMAL)
      ok &= k.code == nums[i].code && k.big == nums[i].big;
    if (!ok) {
      fprintf(stderr, "%s:%d: \"%s\": type %s code %d big %d has_num %d\n", __FILE__, __LINE__,
              nums[i].value, nv_pt_name(k.type), k.code, k.big, k.has_num);
      check_failures++;
    }
  }
}

/* Issue 11's column cases: codes with leading zeros, integers beyond 64
 * bits, two-digit-year dates, null markers, NaN. */
static void test_issue11_columns(void) {
  struct nv_column_result r;
  /* ZIP codes: one leading zero among 99 others makes the column text */
  char zb[100][8];
  const char *zv[100];
  for (int i = 0; i < 100; i++) {
    snprintf(zb[i], sizeof zb[i], "%05d", i == 57 ? 2134 : 10000 + i * 731);
    zv[i] = zb[i];
  }
  struct nv_profiler *p = column_of(zv, 100);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "string");
  CHECK_EQ_U(r.invalid_count, 0);
  CHECK(r.minmax_kind == NV_STAT_TEXT);
  CHECK_TEXT(r.tmin, "02134");
  nv_profiler_free(p);
  /* the same after a merge: the half without the code learns of it */
  p = column_of(zv, 50);
  struct nv_profiler *z2 = column_of(zv + 50, 50);
  CHECK(nv_profiler_merge(p, z2));
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "string");
  nv_profiler_free(p);
  nv_profiler_free(z2);
  /* a 127-digit integer keeps exact extremes; a 128-digit one has none */
  char longnum[2][140];
  memset(longnum[0], '9', 127);
  longnum[0][127] = '\0';
  memset(longnum[1], '9', 128);
  longnum[1][128] = '\0';
  const char *lv[2] = {"1", longnum[0]};
  p = column_of(lv, 2);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "decimal");
  CHECK(r.minmax_kind == NV_STAT_TEXT);
  CHECK_TEXT(r.tmax, longnum[0]);
  nv_profiler_free(p);
  lv[1] = longnum[1];
  p = column_of(lv, 2);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "decimal");
  CHECK(r.minmax_kind == NV_STAT_NONE);
  nv_profiler_free(p);

  /* integers beyond int64: decimal with exact extremes, merged or not */
  static const struct {
    const char *v[4];
    const char *min, *max;
  } bigs[] = {
      {{"1", "18446744073709551616", "-5", "99999999999999999999999"}, "-5", "99999999999999999999999"},
      {{"3", "-18446744073709551616", "+18446744073709551617", "2"}, "-18446744073709551616", "18446744073709551617"},
      {{"1.5", "18446744073709551616", "2.25", " 7 "}, "1.5", "18446744073709551616"},
      {{"-1e30", "-18446744073709551616", "12345678901234567890123456789012345678", "0"},
       "-1e+30", "12345678901234567890123456789012345678"},
  };
  for (size_t i = 0; i < sizeof bigs / sizeof bigs[0]; i++) {
    p = column_of(bigs[i].v, 4);
    struct nv_profiler *h1 = column_of(bigs[i].v, 2), *h2 = column_of(bigs[i].v + 2, 2);
    CHECK(nv_profiler_merge(h1, h2));
    struct nv_profiler *ps[2] = {p, h1};
    for (int k = 0; k < 2; k++) {
      result_of(ps[k], 0, &r);
      CHECK_STR(r.inferred_name, "decimal");
      CHECK_EQ_U(r.valid_count, 4);
      CHECK(r.minmax_kind == NV_STAT_TEXT);
      CHECK_TEXT(r.tmin, bigs[i].min);
      CHECK_TEXT(r.tmax, bigs[i].max);
      CHECK(r.has_mean);
    }
    nv_profiler_free(p);
    nv_profiler_free(h1);
    nv_profiler_free(h2);
  }

  /* m/d/yy: ISO extremes; ambiguous columns read as MM/DD until a first
   * field above 12 says DD/MM */
  static const char *const mdy[] = {"1/2/99", "3/4/05", "12/31/20"};
  p = column_of(mdy, 3);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "date");
  CHECK_STR(r.cmin, "1999-01-02");
  CHECK_STR(r.cmax, "2020-12-31");
  nv_profiler_free(p);
  static const char *const amb[] = {"1/2/99", "3/4/05"};
  p = column_of(amb, 2);
  result_of(p, 0, &r);
  CHECK_STR(r.cmin, "1999-01-02");
  CHECK_STR(r.cmax, "2005-03-04");
  nv_profiler_free(p);
  static const char *const dmy[] = {"1/2/99", "3/4/05", "31/12/04"};
  p = column_of(dmy, 3);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "date");
  CHECK_STR(r.cmin, "1999-02-01");
  CHECK_STR(r.cmax, "2005-04-03");
  nv_profiler_free(p);

  /* one column, one form: a D/M-only value in an M/D column is invalid
   * and stays out of min/max; half and half is no date column at all */
  static const char *const mixed[] = {"12/31/2020", "31/12/2020", "1/2/2020"};
  p = column_of(mixed, 3);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "string");
  nv_profiler_free(p);
  char mb[41][12];
  const char *mv[41];
  for (int i = 0; i < 40; i++) {
    snprintf(mb[i], sizeof mb[i], "%d/%d/2020", 1 + i % 12, 13 + i % 15);
    mv[i] = mb[i];
  }
  mv[40] = "30/12/2020";
  p = column_of(mv, 41);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "date");
  CHECK_EQ_U(r.valid_count, 40);
  CHECK_EQ_U(r.invalid_count, 1);
  CHECK_STR(r.cmin, "2020-01-13");
  CHECK_STR(r.cmax, "2020-12-24"); /* min/max of the 40 by Python's datetime */
  nv_profiler_free(p);

  /* null markers do not count against the type nor enter the statistics */
  static const char *const na[] = {"1", "NA", "2", "null", "-", "4"};
  p = column_of(na, 6);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "integer");
  CHECK_EQ_U(r.valid_count, 6);
  CHECK_EQ_U(r.type_counts[NV_PT_NULL], 3);
  CHECK(r.minmax_kind == NV_STAT_INT && r.imin == 1 && r.imax == 4);
  CHECK_NEAR(r.mean, 7.0 / 3.0, 1e-12);
  nv_profiler_free(p);
  static const char *const only_na[] = {"NA", "N/A"};
  p = column_of(only_na, 2);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "string");
  nv_profiler_free(p);

  /* times of day compare as times, not as text ("1:05" < "12:30") */
  static const char *const tod[] = {"12:30", "23:59:59", "1:05:00.123", "9:00"};
  p = column_of(tod, 4);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "time");
  CHECK(r.minmax_kind == NV_STAT_CHRONO);
  CHECK_STR(r.cmin, "01:05:00.123");
  CHECK_STR(r.cmax, "23:59:59");
  nv_profiler_free(p);

  /* a UTC suffix is a zone */
  static const char *const utc[] = {"2020-01-02 03:04:05 UTC", "2020-01-02 01:00:00 +01:00"};
  p = column_of(utc, 2);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "timestamp");
  CHECK_STR(r.cmin, "2020-01-02T00:00:00Z");
  CHECK_STR(r.cmax, "2020-01-02T03:04:05Z");
  nv_profiler_free(p);

  /* spreadsheet exports: "1,492" quoted beside a plain 991 */
  static const char *const grouped[] = {"991", "1,492", "11", "-12,345,678.5"};
  p = column_of(grouped, 4);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "decimal");
  CHECK_EQ_U(r.invalid_count, 0);
  CHECK(r.minmax_kind == NV_STAT_NUM && r.dmin == -12345678.5 && r.dmax == 1492.0);
  nv_profiler_free(p);

  /* NaN and inf are decimals without a number */
  static const char *const nan[] = {"1.5", "NaN", "2.5", "-inf"};
  p = column_of(nan, 4);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "decimal");
  CHECK_EQ_U(r.valid_count, 4);
  CHECK(r.minmax_kind == NV_STAT_NUM && r.dmin == 1.5 && r.dmax == 2.5);
  CHECK_NEAR(r.mean, 2.0, 1e-12);
  nv_profiler_free(p);
}

/* ---- counts ------------------------------------------------------------- */

static void test_counts_and_batch(void) {
  /* 3 columns x 6 rows, column-major; NULL = absent field */
  static const char *const vals[] = {
      "1", "2", "", "3", " ", "4",              /* a: one empty, one blank */
      "x", NULL, "y", NULL, "x", "\t\n",         /* b: two absent, one blank */
      "2023-01-01", "2023-01-02", "2023-01-02", "2023-01-03", "2023-01-04", "2023-01-05"};
  uint32_t lens[18];
  for (int i = 0; i < 18; i++) lens[i] = vals[i] ? (uint32_t)strlen(vals[i]) : 0;
  struct nv_profiler *p = nv_profiler_new();
  CHECK(nv_profiler_column(p, "a", 1) == 0);
  CHECK(nv_profiler_column(p, "b", 1) == 1);
  CHECK(nv_profiler_column(p, "a", 1) == 0); /* found, not added */
  CHECK(nv_profiler_ncols(p) == 2);          /* the batch names the third */
  struct nv_text_batch b = {6, 3, vals, lens, 0};
  CHECK(nv_profiler_add_text_batch(p, &b));
  CHECK(nv_profiler_ncols(p) == 3);
  CHECK(nv_profiler_add_null(p, 0)); /* a 7th row: null in a, absent elsewhere */
  nv_profiler_add_rows(p, 1);
  CHECK(nv_profiler_set_native_type(p, 0, "INT64"));
  CHECK(nv_profiler_rows(p) == 7);

  struct nv_column_result r;
  result_of(p, 0, &r);
  CHECK_TEXT(r.name, "a");
  CHECK_STR(r.native_type, "INT64");
  CHECK_EQ_U(r.rows, 7);
  CHECK_EQ_U(r.present, 7);
  CHECK_EQ_U(r.null_count, 1);
  CHECK_EQ_U(r.empty_count, 2);
  CHECK_EQ_U(r.missing_count, 0);
  CHECK_EQ_U(r.non_null, 4);
  CHECK_STR(r.inferred_name, "integer");
  CHECK(r.minmax_kind == NV_STAT_INT && r.imin == 1 && r.imax == 4);
  CHECK(r.is_unique);
  CHECK(!r.candidate_primary_key); /* nulls and empties */
  CHECK_EQ_U(r.min_length, 1);
  CHECK_EQ_U(r.max_length, 1);

  result_of(p, 1, &r);
  CHECK_TEXT(r.name, "b");
  CHECK(r.native_type == NULL);
  CHECK_EQ_U(r.present, 4);
  CHECK_EQ_U(r.empty_count, 1);
  CHECK_EQ_U(r.missing_count, 3);
  CHECK_EQ_U(r.non_null, 3);
  CHECK_EQ_U(r.distinct_count, 2);
  CHECK(!r.is_unique);
  CHECK(r.minmax_kind == NV_STAT_TEXT);
  CHECK_TEXT(r.tmin, "x");
  CHECK_TEXT(r.tmax, "y");
  CHECK(r.ntop == 2);
  CHECK_TEXT(r.top[0].value, "x");
  CHECK_EQ_U(r.top[0].count, 2);
  CHECK_TEXT(r.top[1].value, "y");
  CHECK_EQ_U(r.top[1].count, 1);
  CHECK(r.nsamples == 2);
  CHECK_TEXT(r.samples[0], "x");
  CHECK_TEXT(r.samples[1], "y");

  result_of(p, 2, &r);
  CHECK_TEXT(r.name, "column_3");
  CHECK_EQ_U(r.missing_count, 1);
  CHECK_STR(r.inferred_name, "date");
  CHECK(r.minmax_kind == NV_STAT_CHRONO);
  CHECK_STR(r.cmin, "2023-01-01");
  CHECK_STR(r.cmax, "2023-01-05");
  CHECK_EQ_U(r.distinct_count, 5);
  CHECK(!r.is_unique);
  nv_profiler_free(p);

  /* a fully populated unique column is a primary-key candidate */
  static const char *const ids[] = {"a1", "a2", "a3"};
  p = column_of(ids, 3);
  result_of(p, 0, &r);
  CHECK(r.is_unique && r.candidate_primary_key);
  nv_profiler_free(p);

  /* nothing but nulls and blanks */
  p = nv_profiler_new();
  CHECK(nv_profiler_column(p, "e", 1) == 0);
  CHECK(nv_profiler_add_null(p, 0));
  CHECK(nv_profiler_add_text(p, 0, "   ", 3));
  nv_profiler_add_rows(p, 3);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "empty");
  CHECK(r.inferred_type == -1 && !r.has_confidence && r.minmax_kind == NV_STAT_NONE);
  CHECK(!r.has_lengths && r.ntop == 0 && r.nsamples == 0 && !r.is_unique);
  CHECK_EQ_U(r.missing_count, 1);
  nv_profiler_free(p);
}

/* ---- inference thresholds ----------------------------------------------- */

static void test_inference_thresholds(void) {
  char buf[100][16];
  const char *v[100];
  for (int i = 0; i < 100; i++) {
    snprintf(buf[i], sizeof buf[i], "%d", i * 3);
    v[i] = buf[i];
  }
  /* "n/a" is a null marker: valid, and outside the 95% (96 of 99 typed) */
  v[10] = "n/a";
  v[20] = "unknown";
  v[30] = "x1";
  v[40] = "?";
  struct nv_profiler *p = column_of(v, 100); /* 96 integers, 1 marker, 3 strings */
  struct nv_column_result r;
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "integer");
  CHECK_NEAR(r.type_confidence, 0.97, 1e-12);
  CHECK_EQ_U(r.valid_count, 97);
  CHECK_EQ_U(r.invalid_count, 3);
  CHECK_EQ_U(r.type_counts[NV_PT_INTEGER], 96);
  CHECK_EQ_U(r.type_counts[NV_PT_NULL], 1);
  CHECK_EQ_U(r.type_counts[NV_PT_STRING], 3);
  CHECK(r.ninvalid == 3);
  CHECK_TEXT(r.invalid[0], "unknown"); /* first three offenders, in order */
  CHECK_TEXT(r.invalid[1], "x1");
  CHECK_TEXT(r.invalid[2], "?");
  CHECK(r.minmax_kind == NV_STAT_INT && r.imin == 0 && r.imax == 99 * 3);
  nv_profiler_free(p);

  /* One decimal widens the column (it used to stay integer with "1.5"
   * invalid): decimal, every number valid and in the statistics. */
  v[30] = "1.5";
  p = column_of(v, 100); /* 96 integers, 1 decimal, 1 marker, 2 strings */
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "decimal");
  CHECK_EQ_U(r.valid_count, 98);
  CHECK_EQ_U(r.invalid_count, 2);
  CHECK(r.minmax_kind == NV_STAT_NUM && r.dmin == 0.0 && r.dmax == 297.0);
  {
    double sum = 1.5;
    for (int i = 0; i < 100; i++)
      if (i != 10 && i != 20 && i != 30 && i != 40) sum += i * 3;
    CHECK_NEAR(r.mean, sum / 97.0, 1e-12);
  }
  nv_profiler_free(p);

  v[50] = "x";
  v[60] = "y";
  v[70] = "z"; /* 94 numbers of 99 typed values -> string */
  p = column_of(v, 100);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "string");
  CHECK_NEAR(r.type_confidence, 1.0, 0);
  CHECK_EQ_U(r.invalid_count, 0);
  CHECK(r.ninvalid == 0);
  CHECK(r.minmax_kind == NV_STAT_TEXT && !r.has_mean && r.quantile_kind == NV_STAT_NONE);
  CHECK_TEXT(r.tmin, "0");
  CHECK_TEXT(r.tmax, "z");
  nv_profiler_free(p);

  /* a date column with one timestamp is a timestamp column */
  static const char *const dts[] = {"2023-03-01", "2023-03-02", "2023-03-03", "2023-03-04",
                                    "2023-03-05", "2023-03-06", "2023-03-07", "2023-03-08",
                                    "2023-03-09", "2023-03-10", "2023-03-11", "2023-03-12",
                                    "2023-03-13", "2023-03-14", "2023-03-15", "2023-03-16",
                                    "2023-03-17", "2023-03-18", "2023-03-19", "2023-03-20",
                                    "2023-03-21T06:00:00"};
  p = column_of(dts, 21);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "timestamp");
  CHECK_EQ_U(r.invalid_count, 0);
  CHECK_STR(r.cmax, "2023-03-21T06:00:00");
  nv_profiler_free(p);

  /* dates mixed with timestamps are timestamps; extremes in UTC */
  static const char *const ts[] = {"2023-03-01", "2023-03-02T10:00:00Z",
                                   "2023-02-28T23:30:00-01:00", "2023-03-05 08:15:30.250"};
  p = column_of(ts, 4);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "timestamp");
  CHECK_EQ_U(r.valid_count, 4);
  CHECK_STR(r.cmin, "2023-03-01T00:00:00");
  CHECK_STR(r.cmax, "2023-03-05T08:15:30.250");
  nv_profiler_free(p);

  /* slash dates: ambiguous ones follow the column's majority form */
  static const char *const us[] = {"03/04/2023", "12/25/2023", "11/30/2023", "05/01/2023"};
  p = column_of(us, 4);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "date");
  CHECK_STR(r.cmin, "2023-03-04");
  CHECK_STR(r.cmax, "2023-12-25");
  nv_profiler_free(p);
  static const char *const eu[] = {"03/04/2023", "25/12/2023", "30/11/2023", "05/01/2023"};
  p = column_of(eu, 4);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "date");
  CHECK_STR(r.cmin, "2023-01-05");
  CHECK_STR(r.cmax, "2023-12-25");
  nv_profiler_free(p);

  /* other types reach 95% the same way */
  static const char *const mails[] = {"a@x.org", "b@y.net", "c@z.com", "d@w.io"};
  p = column_of(mails, 4);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "email");
  CHECK(r.minmax_kind == NV_STAT_TEXT);
  CHECK_TEXT(r.tmin, "a@x.org");
  nv_profiler_free(p);
}

/* ---- numbers: moments and quantiles ------------------------------------- */

/* |normalised rank error| of value x as the q-quantile of sorted s[0..n) */
static double rank_error(const double *s, size_t n, double q, double x) {
  size_t lo = 0, hi = n, a, b;
  for (a = 0, b = n; a < b;) {
    size_t m = (a + b) / 2;
    if (s[m] < x) a = m + 1; else b = m;
  }
  lo = a;
  for (b = n; a < b;) {
    size_t m = (a + b) / 2;
    if (s[m] <= x) a = m + 1; else b = m;
  }
  hi = a;
  double t = q * (double)n;
  return t < (double)lo ? ((double)lo - t) / (double)n
         : t > (double)hi ? (t - (double)hi) / (double)n : 0.0;
}

static void exact_moments(const double *v, size_t n, double *mean, double *sd) {
  long double s = 0, ss = 0;
  for (size_t i = 0; i < n; i++) s += v[i];
  long double m = s / (long double)n;
  for (size_t i = 0; i < n; i++) ss += (v[i] - m) * (v[i] - m);
  *mean = (double)m;
  *sd = (double)sqrtl(ss / (long double)(n - 1));
}

static void test_numeric_small_exact(void) {
  enum { N = 201 };
  double v[N], s[N];
  char buf[N][32];
  const char *t[N];
  rng_state = 12345;
  for (int i = 0; i < N; i++) {
    v[i] = (double)(int64_t)(rnd() % 2000001) - 1000000.0;
    snprintf(buf[i], sizeof buf[i], "%.0f", v[i]);
    t[i] = buf[i];
    s[i] = v[i];
  }
  qsort(s, N, sizeof s[0], cmp_double);
  struct nv_profiler *p = column_of(t, N);
  struct nv_column_result r;
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "integer");
  CHECK(r.minmax_kind == NV_STAT_INT);
  CHECK(r.imin == (int64_t)s[0] && r.imax == (int64_t)s[N - 1]);
  double mean, sd;
  exact_moments(v, N, &mean, &sd);
  CHECK(r.has_mean && r.has_stddev);
  CHECK_NEAR(r.mean, mean, 1e-9);
  CHECK_NEAR(r.stddev, sd, 1e-9);
  /* exact lower quantiles: s[ceil(q n) - 1] */
  CHECK(r.quantile_kind == NV_STAT_INT);
  CHECK(r.iq[0] == (int64_t)s[(int)ceil(0.25 * N) - 1]);
  CHECK(r.iq[1] == (int64_t)s[(int)ceil(0.50 * N) - 1]);
  CHECK(r.iq[2] == (int64_t)s[(int)ceil(0.75 * N) - 1]);
  nv_profiler_free(p);

  /* one value: no stddev; natives count as their type */
  p = nv_profiler_new();
  CHECK(nv_profiler_column(p, "n", 1) == 0);
  CHECK(nv_profiler_add_double(p, 0, 2.5));
  nv_profiler_add_rows(p, 1);
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "decimal");
  CHECK(r.has_mean && r.mean == 2.5 && !r.has_stddev);
  CHECK(r.quantile_kind == NV_STAT_NUM && r.q[0] == 2.5 && r.q[2] == 2.5);
  CHECK(r.ntop == 1);
  CHECK_TEXT(r.top[0].value, "2.5");
  CHECK(!r.has_lengths); /* lengths are of text values */
  CHECK(nv_profiler_add_int(p, 0, INT64_MIN));
  CHECK(nv_profiler_add_int(p, 0, 7));
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "decimal");
  CHECK(r.minmax_kind == NV_STAT_NUM && r.dmin == (double)INT64_MIN && r.dmax == 7.0);
  nv_profiler_free(p);

  p = nv_profiler_new();
  CHECK(nv_profiler_column(p, "i", 1) == 0);
  CHECK(nv_profiler_add_int(p, 0, INT64_MAX));
  CHECK(nv_profiler_add_int(p, 0, -3));
  CHECK(nv_profiler_add_text(p, 0, "-9223372036854775808", 20));
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "integer");
  CHECK(r.minmax_kind == NV_STAT_INT && r.imin == INT64_MIN && r.imax == INT64_MAX);
  CHECK(r.quantile_kind == NV_STAT_INT && r.iq[1] == -3);
  nv_profiler_free(p);

  p = nv_profiler_new();
  CHECK(nv_profiler_column(p, "b", 1) == 0);
  CHECK(nv_profiler_add_bool(p, 0, 1));
  CHECK(nv_profiler_add_bool(p, 0, 0));
  CHECK(nv_profiler_add_text(p, 0, "No", 2));
  CHECK(nv_profiler_add_nested(p, 0, 'o', "{}", 2));
  result_of(p, 0, &r);
  CHECK_EQ_U(r.type_counts[NV_PT_BOOLEAN], 3);
  CHECK_EQ_U(r.type_counts[NV_PT_JSON], 1);
  CHECK_STR(r.inferred_name, "string");
  CHECK_TEXT(r.tmin, "No");
  CHECK_TEXT(r.tmax, "{}");
  nv_profiler_free(p);
}

static void test_numeric_large(void) {
  enum { N = 100000 };
  double *v = malloc(N * sizeof *v), *s = malloc(N * sizeof *s);
  CHECK(v && s);
  if (!v || !s) return;
  struct nv_profiler *p = nv_profiler_new();
  CHECK(nv_profiler_column(p, "x", 1) == 0);
  rng_state = 987654321;
  for (int i = 0; i < N; i++) {
    /* skewed: squares of uniforms, written with 6 decimals */
    double u = (double)(rnd() % 1000000) / 1000.0;
    char buf[48];
    int n = snprintf(buf, sizeof buf, "%.6f", u * u / 1000.0);
    v[i] = strtod(buf, NULL);
    CHECK(nv_profiler_add_text(p, 0, buf, (size_t)n));
  }
  nv_profiler_add_rows(p, N);
  memcpy(s, v, N * sizeof *v);
  qsort(s, N, sizeof *s, cmp_double);
  struct nv_column_result r;
  result_of(p, 0, &r);
  CHECK_STR(r.inferred_name, "decimal");
  CHECK(r.minmax_kind == NV_STAT_NUM && r.dmin == s[0] && r.dmax == s[N - 1]);
  double mean, sd;
  exact_moments(v, N, &mean, &sd);
  CHECK_NEAR(r.mean, mean, 1e-9);
  CHECK_NEAR(r.stddev, sd, 1e-9);
  /* KLL k=256: observed rank error < 0.6% over 300 trials; bound 1.5% */
  CHECK(r.quantile_kind == NV_STAT_NUM);
  CHECK(rank_error(s, N, 0.25, r.q[0]) <= 0.015);
  CHECK(rank_error(s, N, 0.50, r.q[1]) <= 0.015);
  CHECK(rank_error(s, N, 0.75, r.q[2]) <= 0.015);
  /* the check itself can fail: the min is far from the median */
  CHECK(rank_error(s, N, 0.50, s[0]) > 0.4);
  CHECK(r.distinct_exact == 0);
  /* spilled: HyperLogLog (64 KiB) + Space-Saving + KLL, the exact table freed */
  CHECK(nv_profiler_column_bytes(p, 0) < 128 * 1024);
  nv_profiler_free(p);
  free(v);
  free(s);
}

/* ---- distinct and top values -------------------------------------------- */

static void test_distinct(void) {
  struct nv_profiler *p = nv_profiler_new();
  CHECK(nv_profiler_column(p, "id", 2) == 0);
  char buf[32];
  for (int i = 0; i < 2048; i++) { /* exactly the threshold, each twice */
    int n = snprintf(buf, sizeof buf, "id-%d", i);
    CHECK(nv_profiler_add_text(p, 0, buf, (size_t)n));
    CHECK(nv_profiler_add_text(p, 0, buf, (size_t)n));
  }
  struct nv_column_result r;
  result_of(p, 0, &r);
  CHECK(r.distinct_exact);
  CHECK_EQ_U(r.distinct_count, 2048);
  CHECK(!r.is_unique);
  nv_profiler_free(p);

  enum { N = 200000 };
  p = nv_profiler_new();
  CHECK(nv_profiler_column(p, "id", 2) == 0);
  for (int i = 0; i < N; i++) {
    int n = snprintf(buf, sizeof buf, "user-%d", i * 7 + 3);
    CHECK(nv_profiler_add_text(p, 0, buf, (size_t)n));
  }
  nv_profiler_add_rows(p, N);
  result_of(p, 0, &r);
  CHECK(!r.distinct_exact);
  CHECK(fabs((double)r.distinct_count - N) <= 0.03 * N);
  CHECK(r.is_unique && r.candidate_primary_key); /* estimated */
  CHECK(r.ntop == 0); /* nothing is frequent in a unique column */
  CHECK(nv_profiler_column_bytes(p, 0) < 128 * 1024);
  /* the same values again: the estimate holds, uniqueness is disproved */
  for (int i = 0; i < 1000; i++) {
    int n = snprintf(buf, sizeof buf, "user-%d", 3);
    CHECK(nv_profiler_add_text(p, 0, buf, (size_t)n));
  }
  result_of(p, 0, &r);
  CHECK(!r.is_unique);
  CHECK(r.ntop >= 1);
  CHECK_TEXT(r.top[0].value, "user-3");
  /* past the exact table: a guaranteed count with its error bound;
   * Filtered Space-Saving may admit the value a few occurrences late
   * (true count 1001) */
  CHECK(r.top[0].count <= 1001 && r.top[0].count + r.top[0].error >= 1001);
  CHECK(r.top[0].count >= 990);
  nv_profiler_free(p);

  p = nv_profiler_new();
  CHECK(nv_profiler_column(p, "x", 1) == 0);
  for (int i = 0; i < 50000; i++) { /* 50000 values, 500 distinct */
    int n = snprintf(buf, sizeof buf, "%d", i % 500);
    CHECK(nv_profiler_add_text(p, 0, buf, (size_t)n));
  }
  result_of(p, 0, &r);
  CHECK(r.distinct_exact);
  CHECK_EQ_U(r.distinct_count, 500);
  nv_profiler_free(p);
}

static void test_top_values_skewed(void) {
  /* value k (1..1000) occurs floor(20000 / k^1.2) + 1 times, shuffled */
  enum { K = 1000 };
  size_t cnt[K + 1], total = 0;
  for (int k = 1; k <= K; k++) {
    cnt[k] = (size_t)(20000.0 / pow(k, 1.2)) + 1;
    total += cnt[k];
  }
  int *stream = malloc(total * sizeof *stream);
  CHECK(stream != NULL);
  if (!stream) return;
  size_t at = 0;
  for (int k = 1; k <= K; k++)
    for (size_t j = 0; j < cnt[k]; j++) stream[at++] = k;
  rng_state = 4242;
  for (size_t i = total - 1; i > 0; i--) {
    size_t j = rnd() % (i + 1);
    int t = stream[i];
    stream[i] = stream[j];
    stream[j] = t;
  }
  struct nv_profiler *p = nv_profiler_new();
  CHECK(nv_profiler_column(p, "k", 1) == 0);
  char buf[32];
  for (size_t i = 0; i < total; i++) {
    int n = snprintf(buf, sizeof buf, "v%d", stream[i]);
    CHECK(nv_profiler_add_text(p, 0, buf, (size_t)n));
  }
  struct nv_column_result r;
  result_of(p, 0, &r);
  CHECK(r.ntop == NV_PROFILE_TOP);
  for (size_t i = 0; i < r.ntop; i++) {
    snprintf(buf, sizeof buf, "v%zu", i + 1);
    CHECK_TEXT(r.top[i].value, buf);
    CHECK_EQ_U(r.top[i].count, cnt[i + 1]);
  }
  CHECK_EQ_U(r.distinct_count, K);
  nv_profiler_free(p);
  free(stream);
}

/* ---- merge -------------------------------------------------------------- */

static void feed_row(struct nv_profiler *p, int i) {
  char buf[64];
  int n;
  long c;
  c = nv_profiler_column(p, "id", 2);
  n = snprintf(buf, sizeof buf, "%d", i);
  CHECK(c >= 0 && nv_profiler_add_text(p, (size_t)c, buf, (size_t)n));
  c = nv_profiler_column(p, "amount", 6);
  n = snprintf(buf, sizeof buf, "%.2f", (double)((i * 7919) % 100000) / 100.0 - 300.0);
  CHECK(c >= 0 && nv_profiler_add_text(p, (size_t)c, buf, (size_t)n));
  c = nv_profiler_column(p, "cat", 3);
  if (i % 11 == 0)
    CHECK(c >= 0 && nv_profiler_add_null(p, (size_t)c));
  else
    CHECK(c >= 0 && nv_profiler_add_text(p, (size_t)c, i % 3 ? "alpha" : "beta", i % 3 ? 5 : 4));
  c = nv_profiler_column(p, "day", 3);
  n = snprintf(buf, sizeof buf, "2023-%02d-%02d", i % 12 + 1, i % 5 + 1); /* 60 days */
  CHECK(c >= 0 && nv_profiler_add_text(p, (size_t)c, buf, (size_t)n));
  if (i % 2) { /* a key present in odd rows only */
    c = nv_profiler_column(p, "odd", 3);
    n = snprintf(buf, sizeof buf, "k%d", i % 5000);
    CHECK(c >= 0 && nv_profiler_add_text(p, (size_t)c, buf, (size_t)n));
  }
  nv_profiler_add_rows(p, 1);
}

static void test_merge_equals_one_pass(void) {
  enum { N = 30000 };
  struct nv_profiler *one = nv_profiler_new(), *a = nv_profiler_new(), *b = nv_profiler_new();
  CHECK(one && a && b);
  for (int i = 0; i < N; i++) feed_row(one, i);
  for (int i = 0; i < N; i++) feed_row(i < N / 3 ? a : b, i);
  /* b first saw "id" in another position: columns match by name */
  CHECK(nv_profiler_column(b, "only_b", 6) == 5);
  CHECK(nv_profiler_add_text(b, 5, "x", 1));
  CHECK(nv_profiler_merge(a, b));
  CHECK(nv_profiler_merge(a, a) == 0); /* refused: callers keep them distinct */
  CHECK(nv_profiler_rows(a) == N);
  CHECK(nv_profiler_ncols(a) == 6);
  for (size_t c = 0; c < nv_profiler_ncols(one); c++) {
    struct nv_column_result x, y;
    result_of(one, c, &x);
    result_of(a, c, &y);
    CHECK(text_same(y.name, x.name));
    CHECK_EQ_U(y.present, x.present);
    CHECK_EQ_U(y.null_count, x.null_count);
    CHECK_EQ_U(y.missing_count, x.missing_count);
    CHECK_EQ_U(y.non_null, x.non_null);
    CHECK_STR(y.inferred_name, x.inferred_name);
    CHECK(y.distinct_exact == x.distinct_exact);
    CHECK_EQ_U(y.distinct_count, x.distinct_count); /* HLL union is exact too */
    CHECK(y.is_unique == x.is_unique);
    CHECK(y.minmax_kind == x.minmax_kind);
    CHECK(y.imin == x.imin && y.imax == x.imax && y.dmin == x.dmin && y.dmax == x.dmax);
    CHECK_STR(y.cmin, x.cmin);
    CHECK_STR(y.cmax, x.cmax);
    CHECK(y.has_mean == x.has_mean);
    if (x.has_mean) {
      CHECK_NEAR(y.mean, x.mean, 1e-9);
      CHECK_NEAR(y.stddev, x.stddev, 1e-9);
      CHECK(y.quantile_kind == x.quantile_kind);
    }
    CHECK_EQ_U(y.min_length, x.min_length);
    CHECK_EQ_U(y.max_length, x.max_length);
    CHECK_NEAR(y.avg_length, x.avg_length, 1e-12);
    if (x.distinct_count <= 64) { /* Space-Saving is exact: so is its merge */
      CHECK(y.ntop == x.ntop);
      for (size_t i = 0; i < x.ntop && i < y.ntop; i++) {
        CHECK(text_same(y.top[i].value, x.top[i].value));
        CHECK_EQ_U(y.top[i].count, x.top[i].count);
      }
    }
    CHECK(y.nsamples == x.nsamples);
  }
  /* the merged quantiles against the truth */
  struct nv_column_result y;
  result_of(a, 0, &y);
  CHECK(y.quantile_kind == NV_STAT_INT);
  CHECK(llabs(y.iq[1] - N / 2) <= (long long)(0.015 * N) + 1);
  CHECK(llabs(y.iq[0] - N / 4) <= (long long)(0.015 * N) + 1);
  result_of(a, 5, &y);
  CHECK_TEXT(y.name, "only_b");
  CHECK_EQ_U(y.rows, N);
  CHECK_EQ_U(y.missing_count, N - 1);
  nv_profiler_free(one);
  nv_profiler_free(a);
  nv_profiler_free(b);

  /* small halves merge exactly, top values included */
  static const char *const h1[] = {"3", "1", "2", "2", "x"};
  static const char *const h2[] = {"5", "2", "4", "1", "2"};
  struct nv_profiler *p1 = column_of(h1, 5), *p2 = column_of(h2, 5);
  CHECK(nv_profiler_merge(p1, p2));
  result_of(p1, 0, &y);
  CHECK_STR(y.inferred_name, "string"); /* 9 of 10 numeric: below 95% */
  CHECK_EQ_U(y.distinct_count, 6);
  CHECK(y.ntop == 6);
  CHECK_TEXT(y.top[0].value, "2");
  CHECK_EQ_U(y.top[0].count, 4);
  CHECK_TEXT(y.top[1].value, "1");
  CHECK_EQ_U(y.top[1].count, 2);
  CHECK(y.nsamples == 5);
  CHECK_TEXT(y.samples[4], "5");
  nv_profiler_free(p1);
  nv_profiler_free(p2);
}

/* ---- fast paths against their references -------------------------------- */

static int same_class(const struct nv_classified *a, const struct nv_classified *b) {
  if (a->type != b->type || a->has_num != b->has_num || a->is_int != b->is_int) return 0;
  if ((a->type == NV_PT_INTEGER || a->type == NV_PT_DECIMAL) &&
      (a->code != b->code || a->big != b->big))
    return 0;
  if (a->is_int && a->ival != b->ival) return 0;
  if (a->has_num && memcmp(&a->dval, &b->dval, sizeof a->dval) != 0) return 0;
  if (a->type == NV_PT_DATE || a->type == NV_PT_TIMESTAMP) {
    if (a->form != b->form || a->zoned != b->zoned || a->t1 != b->t1) return 0;
    if (a->form == NV_DF_AMBIG && a->t2 != b->t2) return 0;
  }
  return 1;
}

/* one random value: a shape (uuid, email, ISO instant, number, words...)
 * with random bytes swapped in, or random bytes from a tricky alphabet */
static size_t random_value(char *buf, size_t cap) {
  static const char alpha[] = "0123456789abcdefxyzABCDEFTZ-+.:/@ eE{}[]\",_";
  static const char *const shapes[] = {
      "123e4567-e89b-12d3-a456-426614174000", "user12@example.com", "2024-02-29",
      "2023-12-31T23:59:59Z", "2023-01-05 10:30:00", "2023-01-05t10:30:00z",
      "12/31/2023", "5/6/2023 10:30", "31.12.2023", "10:30:15.5", "-12.5e-3", "4487.76",
      "98.4487", "9223372036854775808", "+42", ".5", "true", "No", "kilo india",
      "https://ex.com/a", "::ffff:1.2.3.4", "192.168.0.1", "[1,{\"a\":2}]", "fe80::1",
      "2024-13-01", "2023-02-29T10:00:00Z", "1e400", "0.1234567890123456789", "09001", "-007",
      "00.5", "1/2/99", "12-31-2020", "31.12.99", "1/2/2020 3:04:05 PM", "12:00 am", "NaN",
      "-inf", "Infinity", "N/A", "null", "None", "-", "#N/A", "18446744073709551616",
      "555-123-4567", "+44 20 7946 0958", "2023-1-5", "2020-01-02 03:04:05 UTC",
      "1/2/2020 12:00 AM", "30/12/2020", "23:59", "1,492", "-12,345.5", "+14155552671"};
  size_t n;
  if (rnd() % 4 == 0) {
    n = 1 + rnd() % 40;
    for (size_t i = 0; i < n; i++) buf[i] = alpha[rnd() % (sizeof alpha - 1)];
  } else {
    const char *sh = shapes[rnd() % (sizeof shapes / sizeof shapes[0])];
    n = strlen(sh);
    memcpy(buf, sh, n);
    for (int k = (int)(rnd() % 3); k > 0; k--) buf[rnd() % n] = alpha[rnd() % (sizeof alpha - 1)];
    if (rnd() % 8 == 0 && n > 1) n--; /* a truncated shape */
  }
  (void)cap;
  while (n > 0 && (buf[n - 1] == ' ')) n--;
  if (n == 0 || buf[0] == ' ') buf[0] = 'q', n = n ? n : 1;
  return n;
}

/* nv_classify_hint (confirm the hinted type first) gives exactly what
 * nv_classify gives, whatever the hint. */
static void test_classify_hint_agrees(void) {
  rng_state = 0x9E3779B97F4A7C15u;
  char buf[64];
  for (int i = 0; i < 200000; i++) {
    size_t n = random_value(buf, sizeof buf);
    struct nv_classified want, got;
    nv_classify(buf, n, &want);
    for (int hint = 0; hint < NV_PT_NTYPES; hint++) {
      nv_classify_hint(buf, n, hint, &got);
      if (!same_class(&want, &got)) {
        fprintf(stderr, "%s:%d: \"%.*s\" hint %s: %s, want %s\n", __FILE__, __LINE__, (int)n, buf,
                nv_pt_name(hint), nv_pt_name(got.type), nv_pt_name(want.type));
        check_failures++;
        return;
      }
    }
  }
}

/* Decimals convert exactly as strtod does (correctly rounded): the fast
 * path for <= 19 digits and exponents within 10^22, strtod beyond. */
static void test_decimal_conversion(void) {
  rng_state = 0x2545F4914F6CDD1Du;
  char buf[80];
  for (int i = 0; i < 300000; i++) {
    int digits = 1 + (int)(rnd() % (i % 3 ? 15 : 25)), point = (int)(rnd() % (digits + 1));
    size_t n = 0;
    if (rnd() % 4 == 0) buf[n++] = '-';
    for (int d = 0; d < digits; d++) {
      if (d == point && d > 0) buf[n++] = '.';
      buf[n++] = (char)('0' + rnd() % 10);
    }
    if (point == 0 && digits > 1) buf[n++] = '.';
    if (rnd() % 3 == 0) n += (size_t)snprintf(buf + n, sizeof buf - n, "e%d", (int)(rnd() % 61) - 30);
    buf[n] = '\0';
    struct nv_classified k;
    nv_classify(buf, n, &k);
    double want = strtod(buf, NULL);
    int same = k.type == NV_PT_INTEGER ? k.dval == want /* "-0" is the integer 0 */
                                       : memcmp(&k.dval, &want, sizeof want) == 0;
    if (!(k.type == NV_PT_DECIMAL || k.type == NV_PT_INTEGER) || !k.has_num || !same) {
      fprintf(stderr, "%s:%d: \"%s\" -> %.17g (type %s), strtod %.17g\n", __FILE__, __LINE__, buf,
              k.dval, nv_pt_name(k.type), want);
      check_failures++;
      return;
    }
  }
}

/* The text of a profiled double equals the printf reference ("%.15g",
 * "%.17g" when 15 digits do not give the value back) for short decimals
 * (the fast path), random bit patterns, and the edges around it. */
static void check_double_text(double v) {
  char want[64], got[NV_PROFILER_DOUBLE_MAX + 1];
  int n = snprintf(want, sizeof want, "%.15g", v);
  if (isfinite(v) && strtod(want, NULL) != v) n = snprintf(want, sizeof want, "%.17g", v);
  size_t g = nv_profiler_format_double(v, got);
  got[g] = '\0';
  if (g != (size_t)n || strcmp(got, want) != 0) {
    fprintf(stderr, "%s:%d: %.17g formatted \"%s\", want \"%s\"\n", __FILE__, __LINE__, v, got, want);
    check_failures++;
  }
}

static void test_double_text(void) {
  static const double edges[] = {0.0, -0.0, 1e-4, 9.99999e-5, 1e-5, 0.5, -0.5, 1.0, 10.0, 0.1, 0.2, 0.3,
                                 1e14, 999999999999999.0, 1e15, 1e15 + 2, 123456789.123456, 4487.76,
                                 98.4487, -1234.5, 1.7976931348623157e308, 5e-324, 0.000123456,
                                 100.000001, 2.5e-4, 1e6, 1.25e7, 33.3333333333333};
  for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) check_double_text(edges[i]);
  check_double_text(INFINITY);
  check_double_text(-INFINITY);
  check_double_text(NAN);
  rng_state = 0x9E3779B97F4A7C15u;
  for (int i = 0; i < 200000; i++) {
    /* short decimals m / 10^d, as files hold them */
    int d = (int)(rnd() % 8);
    double m = (double)(rnd() % 100000000000ull) * (rnd() % 2 ? 1 : -1);
    check_double_text(m / pow(10.0, d));
    /* and arbitrary doubles */
    uint64_t bits = rnd();
    double x;
    memcpy(&x, &bits, sizeof x);
    check_double_text(x);
    check_double_text((double)(rnd() % 2000000) / 7.0);
  }
}

/* uuid recognition against a plain reference, on uuids with one byte
 * changed at every position to every byte value */
static int ref_uuid(const char *s, size_t n) {
  if (n != 36) return 0;
  for (size_t i = 0; i < 36; i++) {
    char c = s[i];
    int hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if ((i == 8 || i == 13 || i == 18 || i == 23) ? c != '-' : !hex) return 0;
  }
  return 1;
}

static void test_uuid_every_byte(void) {
  char u[37] = "0d83b3e2-487a-4D67-afe9-54c44c79f1fe";
  for (size_t i = 0; i < 36; i++) {
    char keep = u[i];
    for (int b = 1; b < 256; b++) {
      u[i] = (char)b;
      struct nv_classified k;
      nv_classify(u, 36, &k);
      if ((k.type == NV_PT_UUID) != ref_uuid(u, 36)) {
        fprintf(stderr, "%s:%d: byte %d at %zu: uuid %d, want %d\n", __FILE__, __LINE__, b, i,
                k.type == NV_PT_UUID, ref_uuid(u, 36));
        check_failures++;
      }
    }
    u[i] = keep;
  }
}

/* email recognition against the rule written out plainly, on random
 * strings over the characters that matter */
static int ref_email(const char *s, size_t n) {
  const char *at = memchr(s, '@', n);
  if (!at || memchr(at + 1, '@', n - (size_t)(at - s) - 1) || s[0] == '{') return 0;
  size_t nl = (size_t)(at - s), nd = n - nl - 1;
  if (nl == 0 || nl > 64 || s[0] == '.' || s[nl - 1] == '.' || nd < 4) return 0;
  for (size_t i = 0; i < nl; i++) {
    char c = s[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             strchr(".-+_{", c) != NULL;
    if (!ok || (c == '.' && s[i + 1] == '.')) return 0;
  }
  const char *d = at + 1;
  size_t labels = 0, start = 0;
  for (size_t i = 0; i <= nd; i++) {
    if (i < nd && d[i] != '.') continue;
    size_t len = i - start;
    if (len == 0 || d[start] == '-' || d[i - 1] == '-') return 0;
    int alpha = 1;
    for (size_t j = start; j < i; j++) {
      char c = d[j];
      int letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      if (!letter && !(c >= '0' && c <= '9') && c != '-') return 0;
      alpha &= letter;
    }
    labels++;
    if (i == nd) return labels >= 2 && alpha && len >= 2;
    start = i + 1;
  }
  return 0;
}

static void test_email_random(void) {
  static const char alphabet[] = "abZ09-._+{@@..";
  rng_state = 0x1234567887654321u;
  char buf[32];
  for (int t = 0; t < 400000; t++) {
    size_t n = 3 + (size_t)(rnd() % 18);
    for (size_t i = 0; i < n; i++) buf[i] = alphabet[rnd() % (sizeof alphabet - 1)];
    if (rnd() % 2) { /* often a plausible shape: x@y.zz */
      buf[rnd() % (n / 2 + 1)] = '@';
      buf[n - 3] = '.';
    }
    struct nv_classified k;
    nv_classify(buf, n, &k);
    int got = k.type == NV_PT_EMAIL, want = ref_email(buf, n);
    if (got != want) {
      fprintf(stderr, "%s:%d: \"%.*s\": email %d, want %d\n", __FILE__, __LINE__, (int)n, buf, got, want);
      check_failures++;
      return;
    }
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* The 64-bit hash: no collision among every string of up to two bytes,
 * decimal keys and single-byte edits of longer keys; each output bit is
 * set about half the time; one flipped input bit flips about half the
 * output bits. */
static void test_hash_quality(void) {
  size_t cap = 1 + 256 + 65536 + 200000 + 64 * 48, n = 0;
  uint64_t *h = malloc(cap * sizeof *h);
  CHECK(h != NULL);
  if (!h) return;
  unsigned char k[64] = {0};
  h[n++] = nv_hash64(k, 0);
  for (unsigned a = 0; a < 256; a++) {
    k[0] = (unsigned char)a;
    h[n++] = nv_hash64(k, 1);
    for (unsigned b = 0; b < 256; b++) {
      k[1] = (unsigned char)b;
      h[n++] = nv_hash64(k, 2);
    }
  }
  for (int i = 0; i < 200000; i++) {
    int len = snprintf((char *)k, sizeof k, "%d", i);
    h[n++] = nv_hash64(k, (size_t)len);
  }
  memset(k, 'x', sizeof k);
  for (size_t len = 17; len <= 64; len++)
    for (size_t pos = 0; pos < 64; pos++) {
      k[pos % len] ^= 1;
      h[n++] = nv_hash64(k, len);
      k[pos % len] ^= 1;
    }
  CHECK(n <= cap);
  qsort(h, n, sizeof *h, cmp_u64);
  size_t dup = 0;
  for (size_t i = 1; i < n; i++) dup += h[i] == h[i - 1];
  /* "0".."99" are also two-byte strings; single-byte edits of a
   * 17..64-byte key repeat when pos % len repeats */
  size_t expect_dup = 100;
  for (size_t len = 17; len <= 64; len++) expect_dup += 64 - len;
  CHECK_EQ_U(dup, expect_dup);
  free(h);

  uint64_t ones[64] = {0};
  double flips = 0.0;
  const int N = 100000;
  rng_state = 0x5851F42D4C957F2Du;
  for (int i = 0; i < N; i++) {
    size_t len = 1 + rnd() % 24;
    for (size_t j = 0; j < len; j++) k[j] = (unsigned char)rnd();
    uint64_t x = nv_hash64(k, len);
    for (int b = 0; b < 64; b++) ones[b] += x >> b & 1;
    size_t bit = rnd() % (len * 8);
    k[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    flips += __builtin_popcountll(x ^ nv_hash64(k, len));
  }
  for (int b = 0; b < 64; b++) CHECK(fabs((double)ones[b] / N - 0.5) < 0.01);
  CHECK(fabs(flips / N - 32.0) < 0.5);
}

/* Bytewise extremes (checked through 8-byte prefixes first) against a
 * brute-force scan, with zero bytes, 0xFF and shared prefixes. */
static void test_text_extremes(void) {
  static const char al[] = {'a', 'b', '\0', '\xff', '!', 'z'};
  rng_state = 0x123456789ABCDEFu;
  for (int round = 0; round < 200; round++) {
    struct nv_profiler *p = nv_profiler_new();
    CHECK(p && nv_profiler_column(p, "c", 1) == 0);
    char v[20], mn[20], mx[20];
    size_t mnl = 0, mxl = 0;
    int have = 0, nv = 1 + (int)(rnd() % 300);
    for (int i = 0; i < nv; i++) {
      size_t n = 1 + rnd() % 14;
      v[0] = 'x'; /* a string, never blank, boolean or number */
      for (size_t j = 1; j < n; j++) v[j] = al[rnd() % sizeof al];
      if (rnd() % 4 == 0) n = n > 9 ? 9 : n; /* many shared 8-byte prefixes */
      CHECK(nv_profiler_add_text(p, 0, v, n));
      size_t m;
      m = n < mnl ? n : mnl;
      int c = memcmp(v, mn, m);
      if (!have || c < 0 || (c == 0 && n < mnl)) memcpy(mn, v, mnl = n);
      m = n < mxl ? n : mxl;
      c = memcmp(v, mx, m);
      if (!have || c > 0 || (c == 0 && n > mxl)) memcpy(mx, v, mxl = n);
      have = 1;
    }
    struct nv_column_result r;
    result_of(p, 0, &r);
    CHECK(r.minmax_kind == NV_STAT_TEXT);
    CHECK(r.tmin.n == mnl && memcmp(r.tmin.s, mn, mnl) == 0);
    CHECK(r.tmax.n == mxl && memcmp(r.tmax.s, mx, mxl) == 0);
    nv_profiler_free(p);
  }
}

/* Batched moments: mean and stddev for every count around the batch
 * size, one pass and merged, against a two-pass reference. */
static void test_moments_batched(void) {
  rng_state = 0xDEADBEEFCAFEF00Du;
  for (int n = 1; n <= 100; n++) {
    double x[100], sum = 0.0, q = 0.0;
    struct nv_profiler *a = nv_profiler_new(), *b = nv_profiler_new(), *all = nv_profiler_new();
    CHECK(a && b && all);
    CHECK(nv_profiler_column(a, "c", 1) == 0 && nv_profiler_column(b, "c", 1) == 0 &&
          nv_profiler_column(all, "c", 1) == 0);
    int cut = (int)(rnd() % (unsigned)n);
    for (int i = 0; i < n; i++) {
      x[i] = 1e6 + (double)(rnd() % 2000001) / 1000.0;
      sum += x[i];
      CHECK(nv_profiler_add_double(all, 0, x[i]));
      CHECK(nv_profiler_add_double(i < cut ? a : b, 0, x[i]));
    }
    double mean = sum / n;
    for (int i = 0; i < n; i++) q += (x[i] - mean) * (x[i] - mean);
    CHECK(nv_profiler_merge(a, b));
    struct nv_profiler *ps[2] = {all, a};
    for (int k = 0; k < 2; k++) {
      struct nv_column_result r;
      result_of(ps[k], 0, &r);
      CHECK(r.has_mean);
      CHECK_NEAR(r.mean, mean, 1e-12);
      if (n >= 2) CHECK_NEAR(r.stddev, sqrt(q / (n - 1)), 1e-9);
    }
    nv_profiler_free(a);
    nv_profiler_free(b);
    nv_profiler_free(all);
  }
}

/* nv_profiler_add_date gives the profile the "YYYY-MM-DD" text gives:
 * every statistic of the result, on edge days (years 1 and 9999, leap
 * days, the epoch) and random ones, and days outside years 1..9999. */
static void check_same_result(const struct nv_column_result *a, const struct nv_column_result *b) {
  CHECK_EQ_U(a->present, b->present);
  CHECK_EQ_U(a->null_count, b->null_count);
  CHECK_EQ_U(a->empty_count, b->empty_count);
  CHECK_EQ_U(a->non_null, b->non_null);
  CHECK_EQ_U(a->distinct_count, b->distinct_count);
  CHECK_EQ_U(a->distinct_exact, b->distinct_exact);
  CHECK_EQ_U((unsigned)a->inferred_type, (unsigned)b->inferred_type);
  for (int t = 0; t < NV_PT_NTYPES; t++) CHECK_EQ_U(a->type_counts[t], b->type_counts[t]);
  CHECK_EQ_U(a->valid_count, b->valid_count);
  CHECK_EQ_U(a->invalid_count, b->invalid_count);
  CHECK_EQ_U((unsigned)a->minmax_kind, (unsigned)b->minmax_kind);
  CHECK_EQ_U(a->cmin_len, b->cmin_len);
  CHECK_EQ_U(a->cmax_len, b->cmax_len);
  CHECK(memcmp(a->cmin, b->cmin, a->cmin_len) == 0 && memcmp(a->cmax, b->cmax, a->cmax_len) == 0);
  CHECK(text_same(a->tmin, b->tmin) && text_same(a->tmax, b->tmax));
  CHECK(a->imin == b->imin && a->imax == b->imax);
  CHECK(memcmp(&a->dmin, &b->dmin, sizeof a->dmin) == 0 && memcmp(&a->dmax, &b->dmax, sizeof a->dmax) == 0);
  CHECK(a->has_mean == b->has_mean && a->has_stddev == b->has_stddev);
  CHECK_EQ_U((unsigned)a->quantile_kind, (unsigned)b->quantile_kind);
  CHECK_EQ_U(a->top_exact, b->top_exact);
  CHECK(a->distinct_error == b->distinct_error);
  CHECK(a->has_confidence == b->has_confidence && a->type_confidence == b->type_confidence);
  CHECK(a->is_unique == b->is_unique && a->candidate_primary_key == b->candidate_primary_key);
  for (size_t i = 0; i < a->ninvalid && i < b->ninvalid; i++) CHECK(text_same(a->invalid[i], b->invalid[i]));
  CHECK_EQ_U(a->has_lengths, b->has_lengths);
  CHECK_EQ_U(a->min_length, b->min_length);
  CHECK_EQ_U(a->max_length, b->max_length);
  CHECK(a->avg_length == b->avg_length);
  CHECK_EQ_U(a->ntop, b->ntop);
  for (size_t i = 0; i < a->ntop && i < b->ntop; i++) {
    CHECK(text_same(a->top[i].value, b->top[i].value));
    CHECK_EQ_U(a->top[i].count, b->top[i].count);
    CHECK_EQ_U(a->top[i].error, b->top[i].error);
  }
  CHECK_EQ_U(a->nsamples, b->nsamples);
  for (size_t i = 0; i < a->nsamples && i < b->nsamples; i++) CHECK(text_same(a->samples[i], b->samples[i]));
  CHECK_EQ_U(a->ninvalid, b->ninvalid);
}

static void test_add_date_equals_text(void) {
  static const int64_t edges[] = {NV_PROFILER_DATE_MIN, NV_PROFILER_DATE_MIN + 1, -1, 0, 1, 59, 789,
                                  11016, 11017, 19782, NV_PROFILER_DATE_MAX - 1, NV_PROFILER_DATE_MAX};
  for (int round = 0; round < 3; round++) {
    struct nv_profiler *typed = nv_profiler_new(), *text = nv_profiler_new();
    CHECK(typed && text);
    CHECK(nv_profiler_column(typed, "d", 1) == 0 && nv_profiler_column(text, "d", 1) == 0);
    rng_state = 0x2545F4914F6CDD1DULL + (uint64_t)round;
    for (int i = 0; i < 5000; i++) {
      int64_t d;
      if (i < (int)(sizeof edges / sizeof *edges)) d = edges[i];
      else if (round == 2 && i % 97 == 0) d = (int64_t)(rnd() % 2000000) + NV_PROFILER_DATE_MAX + 1; /* beyond 9999 */
      else if (round == 1) d = 18000 + (int64_t)(rnd() % 400); /* repeats: exact top values */
      else d = NV_PROFILER_DATE_MIN + (int64_t)(rnd() % (uint64_t)(NV_PROFILER_DATE_MAX - NV_PROFILER_DATE_MIN + 1));
      char buf[64];
      size_t n;
      if (d >= NV_PROFILER_DATE_MIN && d <= NV_PROFILER_DATE_MAX) {
        n = nv_format_instant(d * INT64_C(86400000000), 1, 0, buf, sizeof buf);
        int64_t y;
        int mo, dd;
        nv_civil_from_days(d, &y, &mo, &dd); /* the formatter's digits against printf's */
        char want[64];
        int wn = snprintf(want, sizeof want, "%04d-%02d-%02d", (int)y, mo, dd);
        CHECK(wn == 10 && n == 10 && memcmp(buf, want, 10) == 0);
      } else {
        n = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)d);
      }
      CHECK(nv_profiler_add_date(typed, 0, d));
      CHECK(nv_profiler_add_text(text, 0, buf, n));
      if (i % 13 == 0) {
        CHECK(nv_profiler_add_null(typed, 0) && nv_profiler_add_null(text, 0));
      }
    }
    nv_profiler_add_rows(typed, 5000);
    nv_profiler_add_rows(text, 5000);
    struct nv_column_result a, b;
    CHECK(nv_profiler_result(typed, 0, &a) && nv_profiler_result(text, 0, &b));
    check_same_result(&a, &b);
    if (round == 0) CHECK(a.inferred_type == NV_PT_DATE);
    nv_profiler_free(typed);
    nv_profiler_free(text);
  }
}

/* Columns fed on a pool of threads (one thread per column, as the readers
 * do) give, column by column, the result one thread gives. */
struct threaded_feed {
  struct nv_profiler *p;
  size_t rows;
};
static void threaded_column(void *ud, size_t col, unsigned worker) {
  struct threaded_feed *f = ud;
  (void)worker;
  for (size_t r = 0; r < f->rows; r++) {
    char buf[32];
    int n;
    switch (col) {
    case 0: CHECK(nv_profiler_add_int(f->p, col, (int64_t)(r * 2654435761u % 100003))); break;
    case 1: CHECK(nv_profiler_add_double(f->p, col, (double)r / 7.0)); break;
    case 2:
      n = snprintf(buf, sizeof buf, "v%zu", r % 5000);
      CHECK(nv_profiler_add_text(f->p, col, buf, (size_t)n));
      break;
    case 3: CHECK(r % 3 ? nv_profiler_add_date(f->p, col, (int64_t)(r % 20000)) : nv_profiler_add_null(f->p, col)); break;
    default:
      n = snprintf(buf, sizeof buf, r % 10 ? "%zu" : "x%zu", r);
      CHECK(nv_profiler_add_text(f->p, col, buf, (size_t)n));
    }
  }
}

static struct nv_profiler *profile_on_threads(unsigned threads) {
  struct nv_profiler *p = nv_profiler_new();
  const char *names[] = {"i", "d", "s", "day", "mixed"};
  for (int c = 0; c < 5; c++) CHECK(nv_profiler_column(p, names[c], strlen(names[c])) == c);
  struct nv_pool *pool = nv_pool_new(threads);
  CHECK(pool != NULL);
  struct threaded_feed f = {p, 60000};
  nv_pool_run(pool, 5, threaded_column, &f);
  nv_profiler_add_rows(p, f.rows);
  nv_pool_free(pool);
  return p;
}

static void test_columns_on_threads(void) {
  struct nv_profiler *one = profile_on_threads(1);
  for (unsigned threads = 2; threads <= 5; threads += 3) {
    struct nv_profiler *many = profile_on_threads(threads);
    for (size_t c = 0; c < 5; c++) {
      struct nv_column_result a, b;
      CHECK(nv_profiler_result(one, c, &a) && nv_profiler_result(many, c, &b));
      CHECK_EQ_U(a.rows, 60000);
      check_same_result(&a, &b);
    }
    nv_profiler_free(many);
  }
  nv_profiler_free(one);
}

/* nv_profiler_dump / nv_profiler_load: a loaded profiler gives every
 * column's result as the dumped one did (exact tables, spilled sketches,
 * compacted KLL, samples, invalid samples, dropped columns), and merges
 * alike; damaged bytes are refused with a reason, never read past. */
static struct nv_profiler *serial_subject(void) {
  struct nv_profiler *p = nv_profiler_new();
  nv_profiler_set_max_columns(p, 6);
  const char *names[] = {"i", "d", "s", "day", "mixed", "wide", "dropped1", "dropped2"};
  for (int c = 0; c < 8; c++) CHECK(nv_profiler_column(p, names[c], strlen(names[c])) == (c < 6 ? c : NV_PROFILER_DROPPED));
  CHECK(nv_profiler_set_native_type(p, 0, "INT64"));
  struct threaded_feed f = {p, 90000}; /* wide distinct counts: columns spill, KLL compacts */
  for (size_t c = 0; c < 5; c++) threaded_column(&f, c, 0);
  for (size_t r = 0; r < 300; r++) {
    char buf[48];
    int n = snprintf(buf, sizeof buf, r % 7 ? "%zu.5" : "12345678901234567890123%zu", r);
    CHECK(nv_profiler_add_text(p, 5, buf, (size_t)n));
  }
  CHECK(nv_profiler_add_null(p, 5));
  CHECK(nv_profiler_add_text(p, 5, "", 0));
  nv_profiler_add_rows(p, f.rows);
  return p;
}

static void check_same_profiler(const struct nv_profiler *a, const struct nv_profiler *b) {
  CHECK_EQ_U(nv_profiler_ncols(a), nv_profiler_ncols(b));
  CHECK_EQ_U(nv_profiler_rows(a), nv_profiler_rows(b));
  const char *fa, *fb;
  size_t la, lb;
  CHECK_EQ_U(nv_profiler_dropped(a, &fa, &la), nv_profiler_dropped(b, &fb, &lb));
  CHECK(la == lb && (la == 0 || memcmp(fa, fb, la) == 0));
  for (size_t c = 0; c < nv_profiler_ncols(a) && c < nv_profiler_ncols(b); c++) {
    struct nv_column_result x, y;
    CHECK(nv_profiler_result(a, c, &x) && nv_profiler_result(b, c, &y));
    CHECK(text_same(x.name, y.name));
    CHECK((x.native_type == NULL) == (y.native_type == NULL));
    if (x.native_type && y.native_type) CHECK_STR(y.native_type, x.native_type);
    check_same_result(&x, &y);
  }
}

static void test_dump_load(void) {
  struct nv_profiler *p = serial_subject();
  unsigned char *bytes;
  size_t n;
  CHECK(nv_profiler_dump(p, &bytes, &n));
  char err[256];
  struct nv_profiler *q = nv_profiler_load(bytes, n, err, sizeof err);
  CHECK(q != NULL);
  if (q) {
    check_same_profiler(p, q);
    /* merged twice, original and loaded alike */
    struct nv_profiler *m1 = nv_profiler_new(), *m2 = nv_profiler_new();
    CHECK(nv_profiler_merge(m1, p) && nv_profiler_merge(m1, p));
    CHECK(nv_profiler_merge(m2, q) && nv_profiler_merge(m2, q));
    check_same_profiler(m1, m2);
    /* a loaded profile takes more values as the original does */
    CHECK(nv_profiler_add_int(p, 0, 7) && nv_profiler_add_int(q, 0, 7));
    CHECK(nv_profiler_add_text(p, 2, "fresh", 5) && nv_profiler_add_text(q, 2, "fresh", 5));
    check_same_profiler(p, q);
    nv_profiler_free(m1);
    nv_profiler_free(m2);
    nv_profiler_free(q);
  }
  /* every truncation is refused */
  for (size_t k = 0; k < n; k += (k < 4096 ? 1 : 997)) {
    err[0] = '\0';
    struct nv_profiler *t = nv_profiler_load(bytes, k, err, sizeof err);
    CHECK(t == NULL && err[0] != '\0');
    nv_profiler_free(t);
  }
  /* a flipped byte fails the checksum */
  bytes[n / 2] ^= 0x40;
  CHECK(nv_profiler_load(bytes, n, err, sizeof err) == NULL && strstr(err, "checksum") != NULL);
  bytes[n / 2] ^= 0x40;
  /* bytes that pass the checksum but break the layout are refused too: a
   * count made huge, checksum recomputed */
  unsigned char *evil = malloc(n);
  CHECK(evil != NULL);
  size_t refused = 0, tried = 0;
  for (size_t at = 12; evil && at + 8 < n && tried < 3000; at += 1 + at / 50, tried++) {
    memcpy(evil, bytes, n);
    evil[at] ^= 0xff;
    uint64_t h = nv_hash64(evil, n - 8);
    for (int i = 0; i < 8; i++) evil[n - 8 + i] = (unsigned char)(h >> (8 * i));
    struct nv_profiler *t = nv_profiler_load(evil, n, err, sizeof err);
    if (t == NULL) refused++;
    else {
      for (size_t c = 0; c < nv_profiler_ncols(t); c++) { /* accepted: results still computable */
        struct nv_column_result r;
        (void)nv_profiler_result(t, c, &r);
      }
    }
    nv_profiler_free(t);
  }
  CHECK(refused > 0);
  free(evil);
  CHECK(nv_profiler_load("NVPROF", 6, err, sizeof err) == NULL);
  CHECK(nv_profiler_load("garbage garbage garbage", 23, err, sizeof err) == NULL && strstr(err, "not a serialised") != NULL);
  free(bytes);
  nv_profiler_free(p);
}

int main(void) {
  test_add_date_equals_text();
  test_columns_on_threads();
  test_dump_load();
  test_classify_each_type();
  test_classify_fields();
  test_issue11_columns();
  test_counts_and_batch();
  test_inference_thresholds();
  test_numeric_small_exact();
  test_numeric_large();
  test_distinct();
  test_top_values_skewed();
  test_merge_equals_one_pass();
  test_classify_hint_agrees();
  test_decimal_conversion();
  test_double_text();
  test_uuid_every_byte();
  test_email_random();
  test_hash_quality();
  test_text_extremes();
  test_moments_batched();
  return CHECK_DONE();
}
