/* fuzz_xlsx.c - libFuzzer target for xlsx_parse.c: the input is a zip
 * image opened from memory (libzip's buffer source); every sheet's
 * dimension is read, each sheet is profiled (whole, then capped at a few
 * rows) and previewed. Small limits make the caps reachable. Must never
 * crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>

#include "profiler/profiler.h"
#include "readers/xlsx_parse.h"

static int touch(void *ud, uint32_t row, const struct nv_xlsx_cell *c, size_t n) {
  size_t *sum = ud;
  *sum += row;
  for (size_t i = 0; i < n; i++)
    if (c[i].s && c[i].n) *sum += (unsigned char)c[i].s[c[i].n - 1];
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  struct nv_xlsx_limits lim;
  nv_xlsx_limits_default(&lim);
  lim.max_sst_bytes = 1 << 20;
  lim.max_sst_count = 1 << 14;
  lim.max_cell_bytes = 1 << 12;
  lim.max_row_bytes = 1 << 16;
  lim.max_token_bytes = 1 << 16;
  lim.max_sheet_bytes = 1 << 24;
  lim.max_part_bytes = 1 << 22;
  int code;
  char err[256];
  struct nv_xlsx *wb = nv_xlsx_open_memory(d, n, &lim, &code, err, sizeof err);
  if (wb == NULL) return 0;
  size_t sum = 0;
  size_t ns = nv_xlsx_nsheets(wb);
  for (size_t i = 0; i < ns && i < 8; i++) {
    const char *dim = nv_xlsx_dimension(wb, i);
    if (dim) sum += (unsigned char)dim[0];
    for (int pass = 0; pass < 2; pass++) {
      struct nv_profiler *p = nv_profiler_new();
      if (p == NULL) break;
      struct nv_xlsx_stats st;
      nv_xlsx_profile(wb, i, p, pass ? 3 : UINT64_MAX, &st, err, sizeof err);
      for (size_t c = 0; st.header && c < st.columns; c++)
        if (st.header[c]) sum += (unsigned char)st.header[c][0];
      nv_xlsx_stats_free(&st);
      nv_profiler_free(p);
    }
    size_t ncols;
    nv_xlsx_preview(wb, i, 5, touch, &sum, &ncols, err, sizeof err);
  }
  nv_xlsx_close(wb);
  return (int)(sum & 0);
}
