/* parquet_thrift.h - a bounds-checked reader for the Thrift compact
 * protocol, as Parquet uses it for its footer and page headers. Pure C, no
 * allocation: it walks a caller's buffer and hands out pointers into it.
 *
 * Every function returns 1 on success and 0 on failure; the first failure
 * is kept in t->err (a static string) and makes every later call fail, so
 * a decoder may check once at the end of a struct. */
#ifndef NV_PARQUET_THRIFT_H
#define NV_PARQUET_THRIFT_H

#include <stddef.h>
#include <stdint.h>

enum {
  NV_TT_STOP = 0,
  NV_TT_TRUE = 1,
  NV_TT_FALSE = 2,
  NV_TT_I8 = 3,
  NV_TT_I16 = 4,
  NV_TT_I32 = 5,
  NV_TT_I64 = 6,
  NV_TT_DOUBLE = 7,
  NV_TT_BINARY = 8,
  NV_TT_LIST = 9,
  NV_TT_SET = 10,
  NV_TT_MAP = 11,
  NV_TT_STRUCT = 12
};

#define NV_THRIFT_MAX_DEPTH 64

struct nv_thrift {
  const uint8_t *p, *end;
  int depth;       /* structs, lists and maps currently open */
  const char *err; /* NULL while all is well */
};

void nv_thrift_init(struct nv_thrift *t, const void *buf, size_t n);
int nv_thrift_fail(struct nv_thrift *t, const char *msg); /* returns 0 */

int64_t nv_thrift_unzigzag(uint64_t v);
int nv_thrift_varint(struct nv_thrift *t, uint64_t *v);

/* Structs: begin, then fields until nv_thrift_field gives 0 (STOP), then
 * end. *last is the previous field id (start at 0), used for deltas. */
int nv_thrift_struct_begin(struct nv_thrift *t);
int nv_thrift_struct_end(struct nv_thrift *t);
/* Returns 1 with *type and *id set, 0 at STOP or on error (check t->err). */
int nv_thrift_field(struct nv_thrift *t, int16_t *last, int *type, int16_t *id);

/* Values of a field whose header had `type`; they fail on a type mismatch. */
int nv_thrift_bool(struct nv_thrift *t, int type, int *v);
int nv_thrift_i32(struct nv_thrift *t, int type, int32_t *v);
int nv_thrift_i64(struct nv_thrift *t, int type, int64_t *v);
int nv_thrift_double(struct nv_thrift *t, int type, double *v);
int nv_thrift_binary(struct nv_thrift *t, int type, const uint8_t **s, uint32_t *n);

/* List (or set) header. *n is at most the bytes left (every element takes
 * at least one), which bounds allocations made from it. Call
 * nv_thrift_list_end after the elements. Element bools are one byte. */
int nv_thrift_list(struct nv_thrift *t, int type, int *elem, uint32_t *n);
int nv_thrift_list_end(struct nv_thrift *t);
int nv_thrift_list_bool(struct nv_thrift *t, int *v);

/* Skips one value of the given type (any nesting up to the depth cap). */
int nv_thrift_skip(struct nv_thrift *t, int type);

#endif
