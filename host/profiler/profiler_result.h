/* profiler_result.h - reading a column's statistics out of the profiler
 * engine (profiler.c), for nv.profile (profile.c) and the unit tests.
 * A result is plain data: counts, numbers, and (pointer, length) views
 * into the engine's own memory, valid until the profiler is next changed
 * or freed. Computing one never changes the engine. */
#ifndef NV_PROFILER_RESULT_H
#define NV_PROFILER_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "profiler.h"
#include "profiler_infer.h"

#define NV_PROFILE_TOP 10          /* top_values reported */
#define NV_PROFILE_SAMPLES 5       /* samples kept */
#define NV_PROFILE_INVALID 3       /* invalid_samples reported */
#define NV_PROFILE_VALUE_MAX 256   /* bytes kept of a sample / top value / min / max */
#define NV_PROFILE_INVALID_MAX 64  /* bytes kept of an invalid sample */
#define NV_PROFILE_UNIQUE_RATIO 0.97 /* estimated distinct / non_null for is_unique past the exact set */
/* Past the exact table, a top value is reported only when its guaranteed
 * count (count - count_error) reaches this share of the non-empty values
 * (and at least 2): a proven heavy hitter. */
#define NV_PROFILE_HEAVY_SHARE 0.001

struct nv_text {
  const char *s;
  size_t n;
};

enum nv_stat_kind {
  NV_STAT_NONE,   /* absent: nil */
  NV_STAT_INT,    /* imin/imax, iq[] */
  NV_STAT_NUM,    /* dmin/dmax, q[] */
  NV_STAT_TEXT,   /* tmin/tmax (bytewise, truncated; or, in a decimal column holding
                   * integers beyond int64, exact numerals: views that may point into
                   * r's own cmin/cmax) */
  NV_STAT_CHRONO  /* cmin/cmax (ISO text) */
};

struct nv_column_result {
  struct nv_text name;
  const char *native_type; /* NULL when never set */
  uint64_t rows, present, null_count, empty_count, missing_count, non_null;
  uint64_t distinct_count;
  int distinct_exact;
  double distinct_error; /* relative standard error: 0 when exact */
  int inferred_type;          /* enum nv_ptype, or -1 when no non-empty values */
  const char *inferred_name;  /* "integer", ..., "string", "empty" */
  int has_confidence;
  double type_confidence;
  uint64_t type_counts[NV_PT_NTYPES];
  uint64_t valid_count, invalid_count;
  size_t ninvalid;
  struct nv_text invalid[NV_PROFILE_INVALID];

  int minmax_kind; /* enum nv_stat_kind */
  int64_t imin, imax;
  double dmin, dmax;
  struct nv_text tmin, tmax;
  char cmin[40], cmax[40];
  size_t cmin_len, cmax_len;

  int has_mean, has_stddev;
  double mean, stddev;
  int quantile_kind; /* NV_STAT_NONE, NV_STAT_INT or NV_STAT_NUM */
  double q[3];       /* p25, p50, p75 */
  int64_t iq[3];
  int quantiles_exact;   /* every value was kept: the exact lower quantiles */
  double quantile_error; /* rank error bound (a fraction of n): 0 when exact */

  int has_lengths; /* lengths in characters (UTF-8 code points) of text values */
  uint64_t min_length, max_length;
  double avg_length;

  /* top_exact: every count below is exact (the column never outgrew the
   * exact table) and the values are the most frequent ones; otherwise
   * only proven heavy hitters, true count in [count, count + error]. */
  int top_exact;
  size_t ntop;
  struct {
    struct nv_text value;
    uint64_t count, error;
  } top[NV_PROFILE_TOP];
  size_t nsamples;
  struct nv_text samples[NV_PROFILE_SAMPLES];

  int is_unique, candidate_primary_key;
};

uint64_t nv_profiler_rows(const struct nv_profiler *p);

/* Fills r for column col < nv_profiler_ncols(p). Returns 1, or 0 when out
 * of memory (the quantile query needs a scratch buffer). */
int nv_profiler_result(const struct nv_profiler *p, size_t col, struct nv_column_result *r);

/* Heap and inline bytes held for column col (for the memory bound). */
size_t nv_profiler_column_bytes(const struct nv_profiler *p, size_t col);

#endif
