/* parquet_meta.h - a Parquet file's footer (FileMetaData) as a C model:
 * the schema tree flattened to leaf columns with their levels and types,
 * row groups with per-chunk statistics, compression, encodings and sizes,
 * key-value metadata. Also the byte source the readers use (a local file
 * read with pread, or a memory image) and the page header decoder.
 * Pure C (parquet_thrift.c, POSIX pread).
 *
 * Strings and statistics point into the footer buffer the model owns;
 * they are not NUL-terminated (lengths travel with them) except the
 * dotted column paths, which are built here. */
#ifndef NV_PARQUET_META_H
#define NV_PARQUET_META_H

#include <stddef.h>
#include <stdint.h>

#define NV_PQ_MAX_FOOTER ((uint32_t)64 << 20) /* bytes */
#define NV_PQ_MAX_DEPTH 64                     /* schema nesting */
#define NV_PQ_ERRSZ 320

enum nv_pq_type {
  NV_PQ_BOOLEAN, NV_PQ_INT32, NV_PQ_INT64, NV_PQ_INT96,
  NV_PQ_FLOAT, NV_PQ_DOUBLE, NV_PQ_BYTE_ARRAY, NV_PQ_FIXED, NV_PQ_NTYPES
};
enum nv_pq_rep { NV_PQ_REQUIRED, NV_PQ_OPTIONAL, NV_PQ_REPEATED };
enum nv_pq_codec {
  NV_PQ_UNCOMPRESSED, NV_PQ_SNAPPY, NV_PQ_GZIP, NV_PQ_LZO, NV_PQ_BROTLI,
  NV_PQ_LZ4, NV_PQ_ZSTD, NV_PQ_LZ4_RAW, NV_PQ_NCODECS
};
enum nv_pq_encoding {
  NV_PQ_PLAIN = 0, NV_PQ_PLAIN_DICTIONARY = 2, NV_PQ_RLE = 3, NV_PQ_BIT_PACKED = 4,
  NV_PQ_DELTA_BINARY_PACKED = 5, NV_PQ_DELTA_LENGTH_BYTE_ARRAY = 6,
  NV_PQ_DELTA_BYTE_ARRAY = 7, NV_PQ_RLE_DICTIONARY = 8, NV_PQ_BYTE_STREAM_SPLIT = 9,
  NV_PQ_NENCODINGS = 10
};
/* ConvertedType values (parquet.thrift); -1 when absent. */
enum nv_pq_converted {
  NV_PQ_CT_UTF8 = 0, NV_PQ_CT_MAP = 1, NV_PQ_CT_MAP_KEY_VALUE = 2, NV_PQ_CT_LIST = 3,
  NV_PQ_CT_ENUM = 4, NV_PQ_CT_DECIMAL = 5, NV_PQ_CT_DATE = 6, NV_PQ_CT_TIME_MILLIS = 7,
  NV_PQ_CT_TIME_MICROS = 8, NV_PQ_CT_TIMESTAMP_MILLIS = 9, NV_PQ_CT_TIMESTAMP_MICROS = 10,
  NV_PQ_CT_UINT_8 = 11, NV_PQ_CT_UINT_16 = 12, NV_PQ_CT_UINT_32 = 13, NV_PQ_CT_UINT_64 = 14,
  NV_PQ_CT_INT_8 = 15, NV_PQ_CT_INT_16 = 16, NV_PQ_CT_INT_32 = 17, NV_PQ_CT_INT_64 = 18,
  NV_PQ_CT_JSON = 19, NV_PQ_CT_BSON = 20, NV_PQ_CT_INTERVAL = 21
};
/* LogicalType union members (field ids); 0 when absent. */
enum nv_pq_logical {
  NV_PQ_LT_NONE = 0, NV_PQ_LT_STRING = 1, NV_PQ_LT_MAP = 2, NV_PQ_LT_LIST = 3,
  NV_PQ_LT_ENUM = 4, NV_PQ_LT_DECIMAL = 5, NV_PQ_LT_DATE = 6, NV_PQ_LT_TIME = 7,
  NV_PQ_LT_TIMESTAMP = 8, NV_PQ_LT_INTEGER = 10, NV_PQ_LT_UNKNOWN = 11, NV_PQ_LT_JSON = 12,
  NV_PQ_LT_BSON = 13, NV_PQ_LT_UUID = 14, NV_PQ_LT_FLOAT16 = 15, NV_PQ_LT_VARIANT = 16,
  NV_PQ_LT_GEOMETRY = 17, NV_PQ_LT_GEOGRAPHY = 18
};
enum nv_pq_unit { NV_PQ_MILLIS = 1, NV_PQ_MICROS = 2, NV_PQ_NANOS = 3 };

struct nv_pq_bytes {
  const uint8_t *p;
  uint32_t n;
};

struct nv_pq_node {
  struct nv_pq_bytes name;
  int type;        /* enum nv_pq_type, -1 for groups */
  int32_t type_length;
  int repetition;  /* enum nv_pq_rep; the root is REQUIRED */
  int32_t num_children;
  int converted;   /* enum nv_pq_converted or -1 */
  int32_t scale, precision;
  int logical;     /* enum nv_pq_logical */
  int unit;        /* TIME/TIMESTAMP */
  int utc;         /* TIME/TIMESTAMP isAdjustedToUTC */
  int bit_width, is_signed; /* INTEGER */
  int parent;      /* index of the parent node, -1 for the root */
};

struct nv_pq_column {
  char *path;      /* dotted, NUL-terminated, owned */
  size_t path_len;
  int node;        /* index into nodes */
  int max_def, max_rep;
  int type;        /* physical */
  int32_t type_length;
  /* the OPTIONAL/REPEATED nodes from the top down to the leaf: def level
   * d means the first d of them are defined. */
  int nlevels;
  uint8_t level_rep[NV_PQ_MAX_DEPTH]; /* repetition of each */
};

struct nv_pq_stats {
  int has_null_count, has_distinct, has_min, has_max;
  int64_t null_count, distinct_count;
  struct nv_pq_bytes min, max; /* PLAIN-encoded (byte arrays: no length) */
  int legacy;                  /* from the deprecated min/max fields */
};

struct nv_pq_chunk {
  int has_meta;
  int type, codec;
  uint32_t encodings; /* bit set of enum nv_pq_encoding (and 1<<31: other) */
  int64_t num_values, total_uncompressed, total_compressed;
  int64_t data_page_offset, dictionary_page_offset; /* -1 when absent */
  int external;       /* file_path set: data lives in another file */
  struct nv_pq_stats st;
};

struct nv_pq_row_group {
  int64_t num_rows, total_byte_size;
  struct nv_pq_chunk *chunks; /* ncolumns of them */
};

struct nv_pq_kv {
  struct nv_pq_bytes key, value;
  int has_value;
};

struct nv_pq_meta {
  uint8_t *footer;
  size_t footer_len;
  uint64_t file_size;
  int32_t version;
  int64_t num_rows;
  struct nv_pq_bytes created_by;
  int has_created_by;
  struct nv_pq_node *nodes;
  size_t nnodes;
  struct nv_pq_column *columns;
  size_t ncolumns;
  struct nv_pq_row_group *row_groups;
  size_t nrow_groups;
  struct nv_pq_kv *kv;
  size_t nkv;
};

/* A random-access byte source. read_at reads exactly n bytes at off and
 * returns 0, or -1 (with a message in err) on an I/O error or short read. */
struct nv_pq_source {
  int (*read_at)(void *ud, uint64_t off, void *buf, size_t n, char *err, size_t errsz);
  int (*close)(void *ud); /* may be NULL */
  void *ud;
  uint64_t size;
  int no_head; /* the first 4 bytes are not available: skip the head magic */
};

/* A local file (pread); close with nv_pq_source_close. */
int nv_pq_source_file(struct nv_pq_source *src, const char *path, char *err, size_t errsz);
/* A memory image (not copied; must outlive the source); -1 when out of
 * memory. */
int nv_pq_source_mem(struct nv_pq_source *src, const void *buf, size_t n);
int nv_pq_source_close(struct nv_pq_source *src);

/* Byte ranges fetched from an object of `size` bytes (a remote Parquet
 * object read footer-first): the local file at path holds the ranges back
 * to back, in the order given. ranges[i] = {offset, length}; they must be
 * sorted, must not overlap, must lie inside the object and together make
 * up the local file. A read outside them fails naming the bytes missing.
 * Close with nv_pq_source_close. */
#define NV_PQ_MAX_RANGES 4096
int nv_pq_source_ranges(struct nv_pq_source *src, const char *path, uint64_t size,
                        const uint64_t (*ranges)[2], size_t n, char *err, size_t errsz);

/* Reads the footer (the last 8 bytes, then the FileMetaData) and builds
 * the model. Returns 0, or -1 with a message naming the cause (the caller
 * prefixes the path) in err; m is then empty. */
int nv_pq_meta_read(struct nv_pq_meta *m, const struct nv_pq_source *src, char *err,
                    size_t errsz);
/* Decodes a FileMetaData from buf (copied). Same contract. */
int nv_pq_meta_parse(struct nv_pq_meta *m, const void *buf, size_t n, char *err, size_t errsz);
void nv_pq_meta_free(struct nv_pq_meta *m);

const char *nv_pq_type_name(int type);
const char *nv_pq_codec_name(int codec);
const char *nv_pq_encoding_name(int enc);

/* "decimal(10,2)", "timestamp[us, UTC]", "string", ... or "" when the
 * leaf has no logical or converted type. */
void nv_pq_logical_name(const struct nv_pq_meta *m, const struct nv_pq_column *c, char *buf,
                        size_t n);
/* The profiler's vocabulary: integer, decimal, boolean, date, timestamp,
 * time, string, binary, uuid, json, and array<...> for repeated leaves. */
void nv_pq_data_type(const struct nv_pq_meta *m, const struct nv_pq_column *c, char *buf,
                     size_t n);

/* ---- page headers ---- */
enum nv_pq_page_type { NV_PQ_DATA_PAGE = 0, NV_PQ_INDEX_PAGE = 1, NV_PQ_DICTIONARY_PAGE = 2,
                       NV_PQ_DATA_PAGE_V2 = 3 };
struct nv_pq_page_header {
  int type;
  int32_t uncompressed_size, compressed_size;
  int32_t num_values, num_nulls, num_rows;
  int encoding, def_encoding, rep_encoding;
  int32_t def_length, rep_length; /* v2 */
  int is_compressed;              /* v2; 1 otherwise */
  int has_data, has_dict, has_v2;
};
/* Decodes a PageHeader from buf; returns the bytes it used, 0 when buf
 * ends before the header does (read more and retry), or -1 when corrupt
 * (message in err). */
long nv_pq_page_header(struct nv_pq_page_header *h, const void *buf, size_t n, char *err,
                       size_t errsz);

/* The Parquet reader's score (reader.h): 100 for the PAR1 magic, else 0. */
int nv_pq_sniff_score(const unsigned char *buf, size_t n, int eof, int hint);

#endif
