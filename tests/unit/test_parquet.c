/* test_parquet.c - the Parquet layers on exact bytes: the Thrift compact
 * decoder (varints, zigzag, field deltas, lists, skipping, caps), the
 * RLE/bit-packing hybrid, DELTA_BINARY_PACKED, the codecs, a hand-built
 * FileMetaData, a column chunk read from a memory image, and hostile
 * footers and pages. */
#include <snappy-c.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "check.h"
#include "readers/parquet_meta.h"
#include "readers/parquet_pages.h"
#include "readers/parquet_thrift.h"

static void test_varint(void) {
  static const uint8_t b[] = {0x96, 0x01, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  struct nv_thrift t;
  uint64_t v;
  nv_thrift_init(&t, b, sizeof b);
  CHECK(nv_thrift_varint(&t, &v) && v == 150);
  CHECK(nv_thrift_varint(&t, &v) && v == 127);
  CHECK(nv_thrift_varint(&t, &v) && v == UINT64_MAX);
  CHECK(nv_thrift_unzigzag(0) == 0 && nv_thrift_unzigzag(1) == -1 && nv_thrift_unzigzag(2) == 1);
  CHECK(nv_thrift_unzigzag(UINT64_MAX) == INT64_MIN);
  static const uint8_t trunc[] = {0x80, 0x80};
  nv_thrift_init(&t, trunc, sizeof trunc);
  CHECK(!nv_thrift_varint(&t, &v));
  CHECK_STR(t.err, "truncated Thrift data");
  static const uint8_t over[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
  nv_thrift_init(&t, over, sizeof over);
  CHECK(!nv_thrift_varint(&t, &v));
  CHECK_STR(t.err, "Thrift varint overflows 64 bits");
}

static void test_struct(void) {
  /* {1: i32 -3, 3: binary "hi", 20 (long form): i64 1000, 21: true, 22: list<i32>[1,2]} */
  static const uint8_t b[] = {0x15, 0x05, 0x28, 0x02, 'h', 'i', 0x06, 0x28, 0xd0, 0x0f,
                              0x11, 0x19, 0x25, 0x02, 0x04, 0x00};
  struct nv_thrift t;
  nv_thrift_init(&t, b, sizeof b);
  int16_t last = 0, id;
  int ty, got = 0;
  CHECK(nv_thrift_struct_begin(&t));
  while (nv_thrift_field(&t, &last, &ty, &id)) {
    int32_t i32;
    int64_t i64;
    const uint8_t *s;
    uint32_t n;
    int bv, e;
    got++;
    if (id == 1) CHECK(nv_thrift_i32(&t, ty, &i32) && i32 == -3);
    else if (id == 3) CHECK(nv_thrift_binary(&t, ty, &s, &n) && n == 2 && memcmp(s, "hi", 2) == 0);
    else if (id == 20) CHECK(nv_thrift_i64(&t, ty, &i64) && i64 == 1000);
    else if (id == 21) CHECK(nv_thrift_bool(&t, ty, &bv) && bv == 1);
    else if (id == 22) {
      CHECK(nv_thrift_list(&t, ty, &e, &n) && e == NV_TT_I32 && n == 2);
      CHECK(nv_thrift_i32(&t, e, &i32) && i32 == 1);
      CHECK(nv_thrift_i32(&t, e, &i32) && i32 == 2);
      CHECK(nv_thrift_list_end(&t));
    } else {
      CHECK(0);
    }
  }
  CHECK(t.err == NULL);
  CHECK(got == 5);
  CHECK(t.p == t.end);
  /* the same bytes skip as one struct */
  nv_thrift_init(&t, b, sizeof b);
  CHECK(nv_thrift_skip(&t, NV_TT_STRUCT) && t.p == t.end);
  /* a type mismatch fails */
  nv_thrift_init(&t, b, sizeof b);
  last = 0;
  CHECK(nv_thrift_field(&t, &last, &ty, &id));
  const uint8_t *s;
  uint32_t n;
  CHECK(!nv_thrift_binary(&t, ty, &s, &n));
  CHECK_STR(t.err, "Thrift type mismatch (want binary)");
}

static void test_thrift_hostile(void) {
  struct nv_thrift t;
  int e;
  uint32_t n;
  /* list of 2^31 structs in 6 bytes */
  static const uint8_t big[] = {0xfc, 0x80, 0x80, 0x80, 0x80, 0x08};
  nv_thrift_init(&t, big, sizeof big);
  CHECK(!nv_thrift_list(&t, NV_TT_LIST, &e, &n));
  CHECK_STR(t.err, "Thrift list size exceeds the data");
  /* a string longer than the data */
  static const uint8_t str[] = {0x18, 0x10, 'a'};
  nv_thrift_init(&t, str, sizeof str);
  CHECK(!nv_thrift_skip(&t, NV_TT_STRUCT));
  CHECK_STR(t.err, "Thrift string runs past the end");
  /* 100 nested structs */
  uint8_t deep[201];
  for (int i = 0; i < 100; i++) deep[i] = 0x1c, deep[100 + i] = 0;
  deep[200] = 0;
  nv_thrift_init(&t, deep, sizeof deep);
  CHECK(!nv_thrift_skip(&t, NV_TT_STRUCT));
  CHECK_STR(t.err, "Thrift nesting too deep");
  /* a bad field type */
  static const uint8_t bad[] = {0x1d};
  nv_thrift_init(&t, bad, sizeof bad);
  CHECK(!nv_thrift_skip(&t, NV_TT_STRUCT));
  CHECK_STR(t.err, "bad Thrift field type");
}

static void test_rle(void) {
  /* bit-packed 0..7 at width 3, then an RLE run of five 7s */
  static const uint8_t b[] = {0x03, 0x88, 0xc6, 0xfa, 0x0a, 0x07};
  struct nv_pq_rle d;
  uint32_t v;
  nv_pq_rle_init(&d, b, sizeof b, 3);
  for (uint32_t i = 0; i < 8; i++) CHECK(nv_pq_rle_next(&d, &v) && v == i);
  for (int i = 0; i < 5; i++) CHECK(nv_pq_rle_next(&d, &v) && v == 7);
  CHECK(!nv_pq_rle_next(&d, &v));
  /* width 0: an RLE run of zeros needs no value bytes */
  static const uint8_t z[] = {0x08};
  nv_pq_rle_init(&d, z, sizeof z, 0);
  for (int i = 0; i < 4; i++) CHECK(nv_pq_rle_next(&d, &v) && v == 0);
  CHECK(!nv_pq_rle_next(&d, &v));
  /* a bit-packed run cut short: values past the data fail */
  static const uint8_t cut[] = {0x03, 0x88};
  nv_pq_rle_init(&d, cut, sizeof cut, 3);
  CHECK(nv_pq_rle_next(&d, &v) && v == 0);
  CHECK(nv_pq_rle_next(&d, &v) && v == 1);
  CHECK(!nv_pq_rle_next(&d, &v));
  /* width 16: RLE values take two bytes */
  static const uint8_t w16[] = {0x04, 0x34, 0x12};
  nv_pq_rle_init(&d, w16, sizeof w16, 16);
  CHECK(nv_pq_rle_next(&d, &v) && v == 0x1234);
  CHECK(nv_pq_rle_next(&d, &v) && v == 0x1234);
  CHECK(!nv_pq_rle_next(&d, &v));
}

static void test_delta(void) {
  /* 7 5 3 1 2 3 4 5: min delta -2, adjusted 0 0 0 3 3 3 3 at width 2 */
  uint8_t b[64] = {0x80, 0x01, 0x04, 0x08, 0x0e, /* block 128, 4 minis, 8 values, first 7 */
                   0x03, 0x02, 0x00, 0x00, 0x00, /* min delta -2, widths */
                   0xc0, 0x3f, 0, 0, 0, 0, 0, 0, 0xaa /* 8 bytes of miniblock, then junk */};
  struct nv_pq_delta d;
  int64_t v;
  static const int64_t want[] = {7, 5, 3, 1, 2, 3, 4, 5};
  CHECK(nv_pq_delta_init(&d, b, 19));
  for (int i = 0; i < 8; i++) CHECK(nv_pq_delta_next(&d, &v) && v == want[i]);
  CHECK(!nv_pq_delta_next(&d, &v));
  CHECK(nv_pq_delta_init(&d, b, 19));
  CHECK(nv_pq_delta_finish(&d) == b + 18);
  /* a single value has no blocks */
  static const uint8_t one[] = {0x80, 0x01, 0x04, 0x01, 0x05};
  CHECK(nv_pq_delta_init(&d, one, sizeof one));
  CHECK(nv_pq_delta_next(&d, &v) && v == -3);
  CHECK(nv_pq_delta_finish(&d) == one + sizeof one);
  /* truncated miniblock data */
  CHECK(nv_pq_delta_init(&d, b, 14));
  CHECK(nv_pq_delta_finish(&d) == NULL);
  /* bad headers: block size not a multiple of 128, zero miniblocks */
  static const uint8_t bad1[] = {0x40, 0x04, 0x01, 0x00};
  static const uint8_t bad2[] = {0x80, 0x01, 0x00, 0x01, 0x00};
  CHECK(!nv_pq_delta_init(&d, bad1, sizeof bad1));
  CHECK(!nv_pq_delta_init(&d, bad2, sizeof bad2));
  /* a miniblock width above 64 */
  uint8_t w[] = {0x80, 0x01, 0x04, 0x02, 0x00, 0x00, 65, 0, 0, 0};
  CHECK(nv_pq_delta_init(&d, w, sizeof w));
  CHECK(nv_pq_delta_next(&d, &v) && v == 0);
  CHECK(!nv_pq_delta_next(&d, &v));
}

static void test_codecs(void) {
  char err[256];
  const char *text = "parquet pages parquet pages parquet pages parquet pages!";
  size_t n = strlen(text);
  uint8_t comp[256], out[256];
  size_t cn = sizeof comp;
  CHECK(snappy_compress(text, n, (char *)comp, &cn) == SNAPPY_OK);
  CHECK(nv_pq_decompress(NV_PQ_SNAPPY, comp, cn, out, n, err, sizeof err) == 0 && memcmp(out, text, n) == 0);
  CHECK(nv_pq_decompress(NV_PQ_SNAPPY, comp, cn, out, n - 1, err, sizeof err) == -1);
  CHECK_STR(err, "corrupt SNAPPY data (expected 55 bytes)");
  uLongf zn = sizeof comp;
  CHECK(compress2(comp, &zn, (const Bytef *)text, n, 6) == Z_OK);
  CHECK(nv_pq_decompress(NV_PQ_GZIP, comp, zn, out, n, err, sizeof err) == 0 && memcmp(out, text, n) == 0);
  CHECK(nv_pq_decompress(NV_PQ_GZIP, comp, zn - 3, out, n, err, sizeof err) == -1);
  size_t sn = ZSTD_compress(comp, sizeof comp, text, n, 3);
  CHECK(!ZSTD_isError(sn));
  CHECK(nv_pq_decompress(NV_PQ_ZSTD, comp, sn, out, n, err, sizeof err) == 0 && memcmp(out, text, n) == 0);
  CHECK(nv_pq_decompress(NV_PQ_ZSTD, comp, sn, out, n + 1, err, sizeof err) == -1);
  /* LZ4 block: literals "abc", a match of 6 at offset 3, literals "!" */
  static const uint8_t lz[] = {0x32, 'a', 'b', 'c', 0x03, 0x00, 0x10, '!'};
  CHECK(nv_pq_decompress(NV_PQ_LZ4_RAW, lz, sizeof lz, out, 10, err, sizeof err) == 0 &&
        memcmp(out, "abcabcabc!", 10) == 0);
  static const uint8_t lzbad[] = {0x32, 'a', 'b', 'c', 0x09, 0x00};
  CHECK(nv_pq_decompress(NV_PQ_LZ4_RAW, lzbad, sizeof lzbad, out, 9, err, sizeof err) == -1);
  CHECK(nv_pq_decompress(NV_PQ_BROTLI, lz, sizeof lz, out, 9, err, sizeof err) == -2);
  CHECK_STR(err, "compression codec BROTLI is not supported");
}

/* version 1, schema [root{1 child}, optional INT32 "x"], 3 rows, no row groups */
static const uint8_t footer[] = {
    0x15, 0x02, 0x19, 0x2c,
    0x48, 0x06, 's', 'c', 'h', 'e', 'm', 'a', 0x15, 0x02, 0x00,
    0x15, 0x02, 0x25, 0x02, 0x18, 0x01, 'x', 0x00,
    0x16, 0x06, 0x19, 0x0c, 0x00};

static void test_meta(void) {
  struct nv_pq_meta m;
  char err[NV_PQ_ERRSZ];
  CHECK(nv_pq_meta_parse(&m, footer, sizeof footer, err, sizeof err) == 0);
  CHECK(m.version == 1 && m.num_rows == 3 && m.ncolumns == 1 && m.nrow_groups == 0);
  CHECK_STR(m.columns[0].path, "x");
  CHECK(m.columns[0].max_def == 1 && m.columns[0].max_rep == 0 && m.columns[0].type == NV_PQ_INT32);
  char buf[64];
  nv_pq_data_type(&m, &m.columns[0], buf, sizeof buf);
  CHECK_STR(buf, "integer");
  nv_pq_meta_free(&m);
  /* every truncation fails cleanly */
  for (size_t k = 0; k < sizeof footer; k++) {
    int rc = nv_pq_meta_parse(&m, footer, k, err, sizeof err);
    CHECK(rc == -1);
    if (rc == 0) nv_pq_meta_free(&m);
  }
  /* the file around it: magic, length, bounds */
  uint8_t file[64];
  memcpy(file, "PAR1", 4);
  memcpy(file + 4, footer, sizeof footer);
  size_t n = 4 + sizeof footer;
  file[n] = sizeof footer, file[n + 1] = file[n + 2] = file[n + 3] = 0;
  memcpy(file + n + 4, "PAR1", 4);
  struct nv_pq_source src;
  CHECK(nv_pq_source_mem(&src, file, n + 8) == 0);
  CHECK(nv_pq_meta_read(&m, &src, err, sizeof err) == 0 && m.num_rows == 3);
  nv_pq_meta_free(&m);
  nv_pq_source_close(&src);
  file[n] = 200;
  CHECK(nv_pq_source_mem(&src, file, n + 8) == 0);
  CHECK(nv_pq_meta_read(&m, &src, err, sizeof err) == -1);
  CHECK_STR(err, "corrupt footer length 200 (file has 40 bytes)");
  nv_pq_source_close(&src);
  file[0] = 'X';
  CHECK(nv_pq_source_mem(&src, file, n + 8) == 0);
  CHECK(nv_pq_meta_read(&m, &src, err, sizeof err) == -1);
  CHECK_STR(err, "not a Parquet file (bad magic bytes)");
  nv_pq_source_close(&src);
}

struct sum {
  int64_t total;
  int n, nulls;
};

static int add(void *ud, const struct nv_pq_value *v, int def, int rep) {
  struct sum *s = ud;
  (void)def, (void)rep;
  if (v) s->total += v->i, s->n++;
  else s->nulls++;
  return 0;
}

static void test_chunk(void) {
  /* DATA_PAGE v1: 3 PLAIN INT32 values 10, 20, -5 of a REQUIRED column */
  uint8_t page[] = {0x15, 0x00, 0x15, 0x18, 0x15, 0x18, 0x2c, 0x15, 0x06, 0x15, 0x00,
                    0x15, 0x00, 0x15, 0x00, 0x00, 0x00,
                    10, 0, 0, 0, 20, 0, 0, 0, 0xfb, 0xff, 0xff, 0xff};
  struct nv_pq_column col;
  memset(&col, 0, sizeof col);
  col.type = NV_PQ_INT32;
  struct nv_pq_chunk ch;
  memset(&ch, 0, sizeof ch);
  ch.has_meta = 1;
  ch.codec = NV_PQ_UNCOMPRESSED;
  ch.num_values = 3;
  ch.total_compressed = sizeof page;
  ch.data_page_offset = 0;
  ch.dictionary_page_offset = -1;
  struct nv_pq_source src;
  CHECK(nv_pq_source_mem(&src, page, sizeof page) == 0);
  struct nv_pq_chunk_reader *r = nv_pq_chunk_open(&src, &col, &ch);
  struct sum s = {0, 0, 0};
  CHECK(r && nv_pq_chunk_read(r, add, &s) == NV_PQ_DONE);
  CHECK(s.total == 25 && s.n == 3 && s.nulls == 0);
  CHECK(nv_pq_chunk_pages(r) == 1);
  nv_pq_chunk_free(r);
  /* the chunk claims more values than its pages hold */
  ch.num_values = 4;
  r = nv_pq_chunk_open(&src, &col, &ch);
  CHECK(r && nv_pq_chunk_read(r, add, &s) == NV_PQ_ERROR);
  CHECK_STR(nv_pq_chunk_error(r), "column chunk ends after 3 of its 4 values");
  nv_pq_chunk_free(r);
  /* a page cut short */
  ch.num_values = 3;
  ch.total_compressed = sizeof page - 1;
  r = nv_pq_chunk_open(&src, &col, &ch);
  CHECK(r && nv_pq_chunk_read(r, add, &s) == NV_PQ_ERROR);
  CHECK_STR(nv_pq_chunk_error(r), "page runs past the end of the column chunk");
  nv_pq_chunk_free(r);
  /* an unsupported value encoding (BIT_PACKED as data) */
  page[10] = 0x08;
  ch.total_compressed = sizeof page;
  r = nv_pq_chunk_open(&src, &col, &ch);
  CHECK(r && nv_pq_chunk_read(r, add, &s) == NV_PQ_UNSUPPORTED);
  CHECK_STR(nv_pq_chunk_error(r), "encoding BIT_PACKED is not supported for this column type");
  nv_pq_chunk_free(r);
  nv_pq_source_close(&src);
}

int main(void) {
  test_varint();
  test_struct();
  test_thrift_hostile();
  test_rle();
  test_delta();
  test_codecs();
  test_meta();
  test_chunk();
  return CHECK_DONE();
}
