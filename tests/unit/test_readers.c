/* test_readers.c - the readers' sniff scores (reader.h): proof for magic
 * bytes, a claim for parsed JSON, a fallback for text, nothing for binary
 * or blank input; the name hint's two directions; and the winner on real
 * files whose upstream names say their format. */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "readers/csv_parse.h"
#include "readers/json_parse.h"
#include "readers/parquet_meta.h"
#include "readers/xlsx_parse.h"

#define CHECK_EQ_I(got, want)                                                              \
  do {                                                                                     \
    int g_ = (got), w_ = (want);                                                           \
    if (g_ != w_) {                                                                        \
      fprintf(stderr, "%s:%d: got %d, want %d (%s)\n", __FILE__, __LINE__, g_, w_, #got);  \
      check_failures++;                                                                    \
    }                                                                                      \
  } while (0)

typedef int (*score_fn)(const unsigned char *, size_t, int, int);

static int score(score_fn f, const char *s, size_t n, int hint) {
  return f((const unsigned char *)s, n, 1, hint);
}
#define S(f, lit, hint) score(f, lit, sizeof lit - 1, hint)

/* The first 64 KiB of a seed file; n receives its length (0 when missing). */
static unsigned char *slurp(const char *rel, size_t *n) {
  char path[1024];
  snprintf(path, sizeof path, "%s/tests/%s", NVLUA_SOURCE_ROOT, rel);
  FILE *f = fopen(path, "rb");
  *n = 0;
  if (f == NULL) return NULL;
  unsigned char *buf = malloc(65536);
  if (buf) *n = fread(buf, 1, 65536, f);
  fclose(f);
  return buf;
}

/* The winner among the four scorers, in the list's order (ties: first). */
static const char *best(const unsigned char *b, size_t n, int eof) {
  static const char *const names[] = {"parquet", "xlsx", "json", "csv"};
  score_fn fns[] = {nv_pq_sniff_score, nv_xlsx_sniff_score, nv_json_sniff_score, nv_csv_sniff_score};
  int top = 0;
  const char *who = "none";
  for (int i = 0; i < 4; i++) {
    int s = fns[i](b, n, eof, 0);
    if (s > top) top = s, who = names[i];
  }
  return who;
}

int main(void) {
  /* Parquet: the magic or nothing */
  CHECK_EQ_I(S(nv_pq_sniff_score, "PAR1\x15\x04", 0), 100);
  CHECK_EQ_I(S(nv_pq_sniff_score, "PAR", 0), 0);
  CHECK_EQ_I(S(nv_pq_sniff_score, " PAR1", 0), 0);

  /* xlsx: a zip naming an xl/ part; another zip is not a workbook */
  CHECK_EQ_I(S(nv_xlsx_sniff_score, "PK\x03\x04\x14\0\0\0xl/workbook.xml", 0), 95);
  CHECK_EQ_I(S(nv_xlsx_sniff_score, "PK\x03\x04\x14\0\0\0hello.txt", 0), 0);
  CHECK_EQ_I(S(nv_xlsx_sniff_score, "xl/workbook.xml", 0), 0);

  /* JSON: parsed records claim it; a broken start only under a .json name */
  CHECK_EQ_I(S(nv_json_sniff_score, "[{\"a\":1},{\"a\":2}]", 0), 90);
  CHECK_EQ_I(S(nv_json_sniff_score, "{\"a\":1}\n{\"a\":2}\n", 0), 90);
  CHECK_EQ_I(S(nv_json_sniff_score, "{\"a\":1}\n{\"a\":2}\n", -1), 90);
  CHECK_EQ_I(S(nv_json_sniff_score, "\xEF\xBB\xBF \n[1, 2]", 0), 90);
  CHECK_EQ_I(S(nv_json_sniff_score, "{\"a\": 1, \"b\": \n", 1), 60);
  CHECK_EQ_I(S(nv_json_sniff_score, "{\"a\": 1, \"b\": \n", 0), 0);
  CHECK_EQ_I(S(nv_json_sniff_score, "{\"a\": 1, \"b\": \n", -1), 0);
  CHECK_EQ_I(S(nv_json_sniff_score, "a,b\n1,2\n", 1), 0);
  CHECK_EQ_I(S(nv_json_sniff_score, "[1,\0 2]", 1), 0);

  /* CSV: any text, weakly; never binary or blank */
  CHECK_EQ_I(S(nv_csv_sniff_score, "a,b\n1,2\n", 0), 10);
  CHECK_EQ_I(S(nv_csv_sniff_score, "a,b\n1,2\n", 1), 30);
  CHECK_EQ_I(S(nv_csv_sniff_score, "a,b\n\0\n", 0), 0);
  CHECK_EQ_I(S(nv_csv_sniff_score, " \t\r\n", 0), 0);
  CHECK_EQ_I(S(nv_csv_sniff_score, "\xEF\xBB\xBF\n", 0), 0);

  /* real files (tests/fixtures/real, the Parquet fuzz seeds): each sniffs
   * as the format its upstream name says */
  static const char *const seeds[][2] = {
      {"fuzz/corpus/parquet/nulls.snappy.parquet", "parquet"},
      {"fuzz/corpus/parquet/single_nan.parquet", "parquet"},
      {"fixtures/real/vega_burtin.json", "json"},
      {"fixtures/real/fl_table.ndjson", "json"},
      {"fixtures/real/geo_FRA.geo.json", "json"},
      {"fixtures/real/duck_multiple_objects_per_line.ndjson", "json"},
      {"fixtures/real/538_nba.tsv", "csv"},
      {"fixtures/real/fl_bom.csv", "csv"},
      {"fixtures/real/duck_pipe_delim_quote.csv", "csv"},
      {"fixtures/real/fl_latin1.csv", "csv"},
  };
  for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
    size_t n;
    unsigned char *b = slurp(seeds[i][0], &n);
    CHECK(b != NULL && n > 0);
    if (b) {
      const char *got = best(b, n, n < 65536);
      if (strcmp(got, seeds[i][1]) != 0) {
        fprintf(stderr, "%s: sniffed %s, want %s\n", seeds[i][0], got, seeds[i][1]);
        check_failures++;
      }
    }
    free(b);
  }
  return CHECK_DONE();
}
