/* parquet_pages.h - reading one column chunk page by page: page headers,
 * decompression (UNCOMPRESSED, SNAPPY, GZIP, ZSTD, LZ4_RAW, Hadoop LZ4),
 * RLE/bit-packed levels, and values in PLAIN, PLAIN_DICTIONARY /
 * RLE_DICTIONARY, RLE (booleans), DELTA_BINARY_PACKED,
 * DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY and BYTE_STREAM_SPLIT.
 * Pure C (zlib, libzstd, snappy-c).
 *
 * Memory is bounded by the largest page (at most NV_PQ_MAX_PAGE bytes
 * decompressed) plus the dictionary: levels and values are streamed, never
 * materialized per page. */
#ifndef NV_PARQUET_PAGES_H
#define NV_PARQUET_PAGES_H

#include <stddef.h>
#include <stdint.h>

#include "parquet_meta.h"

#define NV_PQ_MAX_PAGE ((uint32_t)256 << 20)

/* One decoded value. Byte pointers stay valid only during the callback. */
struct nv_pq_value {
  int64_t i; /* BOOLEAN (0/1), INT32, INT64 */
  double d;  /* FLOAT, DOUBLE */
  const uint8_t *s; /* BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY, INT96 (12 bytes) */
  uint32_t n;
  uint32_t dict; /* 1 + its index in the chunk's dictionary, 0 when not from one */
};

/* Called once per level entry, in file order: v is NULL when def is below
 * the column's max definition level. Returns 0 to go on, 1 to stop the
 * chunk early, -1 to abort (the callback keeps its own message). */
typedef int (*nv_pq_value_fn)(void *ud, const struct nv_pq_value *v, int def, int rep);

enum { NV_PQ_DONE = 0, NV_PQ_STOPPED = 1, NV_PQ_ERROR = -1, NV_PQ_UNSUPPORTED = -2,
       NV_PQ_ABORTED = -3 };

struct nv_pq_chunk_reader;

/* A reader over one column chunk of src; col and ch must outlive it.
 * NULL when out of memory. */
struct nv_pq_chunk_reader *nv_pq_chunk_open(const struct nv_pq_source *src,
                                            const struct nv_pq_column *col,
                                            const struct nv_pq_chunk *ch);
/* Decodes every page, calling fn per entry. Returns NV_PQ_DONE,
 * NV_PQ_STOPPED (fn returned 1), NV_PQ_ABORTED (fn returned -1),
 * NV_PQ_UNSUPPORTED or NV_PQ_ERROR (message in nv_pq_chunk_error). */
int nv_pq_chunk_read(struct nv_pq_chunk_reader *r, nv_pq_value_fn fn, void *ud);
const char *nv_pq_chunk_error(const struct nv_pq_chunk_reader *r);
uint64_t nv_pq_chunk_bytes(const struct nv_pq_chunk_reader *r); /* read from the source */
uint64_t nv_pq_chunk_pages(const struct nv_pq_chunk_reader *r);
void nv_pq_chunk_free(struct nv_pq_chunk_reader *r);

/* Is the codec / encoding decodable here? */
int nv_pq_codec_supported(int codec);
int nv_pq_encoding_supported(int enc, int type);

/* ---- building blocks (exposed for tests) ---- */

/* Decompresses exactly dn bytes; 0, or -1 (message in err), or -2 when the
 * codec is not supported. */
int nv_pq_decompress(int codec, const uint8_t *src, size_t n, uint8_t *dst, size_t dn, char *err,
                     size_t errsz);

/* The RLE / bit-packing hybrid (no length prefix), bit width 0..32. */
struct nv_pq_rle {
  const uint8_t *p, *end;
  int bw;
  uint64_t rle_left, bp_left;
  uint32_t rle_val;
  const uint8_t *bp;       /* current bit-packed run */
  const uint8_t *bp_end;
  uint64_t bp_idx;
};
void nv_pq_rle_init(struct nv_pq_rle *d, const uint8_t *p, size_t n, int bw);
int nv_pq_rle_next(struct nv_pq_rle *d, uint32_t *v); /* 1, or 0 at end / corrupt */

/* DELTA_BINARY_PACKED. */
struct nv_pq_delta {
  const uint8_t *p, *end;
  uint64_t block_size, miniblocks, per_mini, total, emitted;
  uint64_t last, min_delta;
  const uint8_t *widths, *mini;
  uint64_t mini_idx, in_mini;
  int in_block;
};
int nv_pq_delta_init(struct nv_pq_delta *d, const uint8_t *p, size_t n); /* 1 or 0 */
int nv_pq_delta_next(struct nv_pq_delta *d, int64_t *v);                 /* 1 or 0 */
/* Consumes the remaining values; returns where the encoded section ends,
 * or NULL when corrupt. */
const uint8_t *nv_pq_delta_finish(struct nv_pq_delta *d);

#endif
