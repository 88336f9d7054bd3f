/* fuzz_profile.c - nv_profiler_load reads profiles kept in a store or
 * written by a shard: it must refuse damaged bytes without crashing, and a
 * profile it accepts must give results, dump, load again and merge. An
 * input whose first byte is even gets its checksum fixed first, so the
 * fuzzer reaches the parser behind it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profiler/profiler.h"
#include "profiler/profiler_result.h"
#include "profiler/profiler_sketch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  unsigned char *buf = malloc(size ? size : 1);
  if (buf == NULL) return 0;
  memcpy(buf, data, size);
  if (size >= 20 && (data[0] & 1) == 0) {
    buf[0] = 'N'; /* the magic's first byte, evened by the switch above */
    uint64_t h = nv_hash64(buf, size - 8);
    for (int i = 0; i < 8; i++) buf[size - 8 + i] = (unsigned char)(h >> (8 * i));
  }
  char err[256];
  struct nv_profiler *p = nv_profiler_load(buf, size, err, sizeof err);
  free(buf);
  if (p == NULL) {
    if (err[0] == '\0') abort(); /* a refusal says why */
    return 0;
  }
  for (size_t c = 0; c < nv_profiler_ncols(p); c++) {
    struct nv_column_result r;
    (void)nv_profiler_result(p, c, &r);
  }
  unsigned char *again;
  size_t n;
  if (nv_profiler_dump(p, &again, &n)) {
    struct nv_profiler *q = nv_profiler_load(again, n, err, sizeof err);
    if (q == NULL && strcmp(err, "out of memory") != 0) abort(); /* what it wrote it must read */
    struct nv_profiler *m = nv_profiler_new();
    if (m && q) {
      (void)nv_profiler_merge(m, p);
      (void)nv_profiler_merge(m, q);
      for (size_t c = 0; c < nv_profiler_ncols(m); c++) {
        struct nv_column_result r;
        (void)nv_profiler_result(m, c, &r);
      }
    }
    nv_profiler_free(m);
    nv_profiler_free(q);
    free(again);
  }
  nv_profiler_free(p);
  return 0;
}
