/* profiler_types.h - the profiler engine's own structures (private to
 * host/profiler: profiler.c computes with them, profiler_serial.c writes
 * and reads them). Nothing outside host/profiler includes this. */
#ifndef NV_PROFILER_TYPES_H
#define NV_PROFILER_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "profiler_infer.h"
#include "profiler_result.h"
#include "profiler_sketch.h"

/* Moments and extremes, mergeable (Chan et al.): mean and m2 summarise
 * the first n - nbuf values; the last nbuf wait in buf and are folded in
 * NUM_BATCH at a time (two passes over the batch, then one Chan merge:
 * as stable as Welford, without a division per value). */
#define NUM_BATCH 32
struct numacc {
  uint64_t n;
  double mean, m2, min, max;
  uint32_t nbuf;
  double buf[NUM_BATCH];
  int64_t imin, imax; /* over values held exactly as int64 */
  int all_int;        /* every value was an int64 */
  struct nv_kll kll;
};

/* Integer numerals beyond int64 (decimals whose text is exact), kept as
 * text normalised to [-]digits without leading zeros, so the column's
 * min/max stay exact; d are their doubles, to place them among the other
 * numbers. lost: a numeral too long to convert (no extremes then); the
 * classifier converts numerals shorter than BIG_MAX only. */
#define BIG_MAX 128
struct bigext {
  uint64_t n;
  int lost;
  double dmin, dmax;
  uint32_t lmin, lmax;
  char min[BIG_MAX], max[BIG_MAX];
};

struct chrono_ext {
  uint64_t n;
  int64_t min, max; /* microseconds since 1970 */
  uint8_t min_z, max_z;
};

struct bvalue {
  uint32_t len;
  char v[NV_PROFILE_VALUE_MAX];
};

struct sample {
  uint64_t hash;
  uint32_t len;
  char v[NV_PROFILE_VALUE_MAX];
};

struct isample {
  uint64_t seq; /* position among the column's non-empty values */
  uint32_t len;
  char v[NV_PROFILE_INVALID_MAX];
};

/* chrono extremes: plain forms, MM/DD only, DD/MM only, ambiguous read
 * as MM/DD, ambiguous read as DD/MM (chosen by the majority at the end);
 * times of day (microseconds since midnight) */
enum { EXT_PLAIN, EXT_MDY, EXT_DMY, EXT_AMB_MDY, EXT_AMB_DMY, EXT_TIME, EXT_N };

struct column {
  uint64_t present, nulls, empties, nonempty;
  uint64_t tcount[NV_PT_NTYPES];
  uint64_t len_n, len_sum, len_min, len_max;
  uint64_t forms[4]; /* enum nv_dform */
  struct chrono_ext ext[EXT_N];
  struct numacc num[2]; /* 0: integers, 1: other decimals */
  uint64_t code;        /* numerals written as codes (007, +14155552671): a string column */
  struct bigext big;    /* exact extremes of the integers beyond int64 */
  /* Frequencies: exact in freq until it is full, then (spilled) the
   * sketches: distinct in HyperLogLog, heavy hitters in topk. */
  int spilled;
  struct nv_freq freq;
  struct nv_distinct distinct;
  struct nv_topk *topk; /* allocated when the column spills */
  int has_text_ext;
  uint64_t pmin, pmax; /* prefix8() of smin and smax */
  struct bvalue smin, smax;
  uint32_t nsamples;
  struct sample samples[NV_PROFILE_SAMPLES];
  uint8_t ninv[NV_PT_NTYPES];
  struct isample inv[NV_PT_NTYPES][NV_PROFILE_INVALID];
  int hint; /* the type of the last classified value: confirmed first */
  uint64_t name_hash;
  size_t name_len;
  char *name;
  char *native;
};

struct nv_profiler {
  struct nv_freq_budget budget; /* the columns' exact tables together */
  size_t max_columns;
  uint64_t dropped;             /* names refused past max_columns */
  struct nv_freq dropped_names; /* their hashes (to count each once), bounded */
  struct column **cols;
  size_t ncols, capcols;
  uint32_t *index; /* name hash -> column index + 1, load <= 1/2 */
  size_t index_cap;
  uint64_t rows;
};

#endif
