/* fuzz_csv.c - libFuzzer target for csv_parse.c: sniffs the input (whole
 * and as a cut sample), then parses it with a dialect picked from its first
 * byte (or the sniffed one: comment lines, preamble records, no quoting),
 * in chunk sizes and row-limit stops derived from the input, reading
 * every value handed out. Must never crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "readers/csv_parse.h"

static int touch(void *ud, const struct nv_text_batch *b) {
  size_t *sum = ud;
  for (size_t i = 0; i < b->nrows * b->ncols; i++)
    if (b->values[i] && b->lengths[i]) *sum += (unsigned char)b->values[i][b->lengths[i] - 1];
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  const char *s = (const char *)d;
  struct nv_csv_dialect dia;
  char err[128];
  nv_csv_sniff(s, n, 1, &dia, err, sizeof err);
  nv_csv_sniff(s, n / 2, 0, &dia, err, sizeof err);
  int sc = nv_csv_sniff_score(d, n, 1, n % 2); /* reader.h: in range for any bytes */
  if (sc < 0 || sc > 100) __builtin_trap();

  static const char delims[] = {',', ';', '\t', '|'};
  static const char quotes[] = {'"', '\'', 0, '"'};
  unsigned k = n ? d[0] : 0;
  struct nv_csv_config cfg;
  nv_csv_config_init(&cfg, NULL);
  cfg.delimiter = delims[k & 3];
  cfg.quote = quotes[(k >> 2) & 3];
  cfg.escape = (k & 16) ? '\\' : cfg.quote;
  cfg.has_header = (k >> 5) & 1;
  cfg.latin1 = (k >> 6) & 1;
  cfg.max_record_bytes = (k & 128) ? 64 : 0;
  cfg.batch_rows = 1 + n % 5;
  if (n > 1 && (d[1] & 4)) { /* the sniffed dialect: comment, preamble, no quoting */
    nv_csv_config_init(&cfg, &dia);
    cfg.max_record_bytes = (k & 128) ? 64 : 0;
    cfg.batch_rows = 1 + n % 5;
  } else if (n > 2) {
    cfg.comment = (d[1] & 2) ? '#' : 0;
    cfg.skip_records = d[2] % 4;
  }
  size_t sum = 0;
  int pull = n > 1 && (d[1] & 1); /* no callback: read rows with pending */
  struct nv_csv_parser *p = nv_csv_new(&cfg, pull ? NULL : touch, &sum);
  if (p == NULL) return 0;
  uint32_t seed = 2166136261u;
  for (size_t i = 0; i < n && i < 64; i++) seed = (seed ^ d[i]) * 16777619u;
  size_t off = 0;
  int rc = NV_CSV_OK;
  uint64_t limit = 0;
  while (off < n && (rc == NV_CSV_OK || rc == NV_CSV_STOPPED)) {
    seed = seed * 1103515245u + 12345u;
    size_t chunk = 1 + (seed >> 16) % 17;
    if (chunk > n - off) chunk = n - off;
    if (pull || (seed & 0x100)) nv_csv_set_row_limit(p, ++limit);
    size_t used = 0;
    rc = nv_csv_feed(p, s + off, chunk, &used);
    off += used;
    if (pull) {
      struct nv_text_batch b;
      if (nv_csv_pending(p, &b)) touch(&sum, &b);
      nv_csv_clear_pending(p);
    }
  }
  if (rc == NV_CSV_OK || rc == NV_CSV_STOPPED) rc = nv_csv_finish(p);
  else nv_csv_flush(p);
  if (rc == NV_CSV_STOPPED) rc = nv_csv_finish(p); /* the rows left pending at the limit */
  for (size_t c = 0; c < nv_csv_ncols(p); c++) {
    size_t len = 0;
    const char *nm = nv_csv_column_name(p, c, &len);
    if (nm && len) sum += (unsigned char)nm[len - 1];
  }
  (void)nv_csv_error(p);
  nv_csv_free(p);
  return (int)(sum & 0);
}
