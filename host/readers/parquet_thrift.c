/* parquet_thrift.c - the Thrift compact protocol reader (see the header).
 * Uses only the caller's buffer; never reads outside [p, end). */
#include "parquet_thrift.h"

#include <string.h>

void nv_thrift_init(struct nv_thrift *t, const void *buf, size_t n) {
  t->p = buf;
  t->end = t->p + n;
  t->depth = 0;
  t->err = NULL;
}

int nv_thrift_fail(struct nv_thrift *t, const char *msg) {
  if (t->err == NULL) t->err = msg;
  return 0;
}

int64_t nv_thrift_unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

int nv_thrift_varint(struct nv_thrift *t, uint64_t *v) {
  if (t->err) return 0;
  uint64_t r = 0;
  for (unsigned shift = 0; shift < 70; shift += 7) {
    if (t->p >= t->end) return nv_thrift_fail(t, "truncated Thrift data");
    uint8_t b = *t->p++;
    if (shift == 63 && (b & 0x7e)) return nv_thrift_fail(t, "Thrift varint overflows 64 bits");
    r |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      return 1;
    }
  }
  return nv_thrift_fail(t, "Thrift varint too long");
}

static int enter(struct nv_thrift *t) {
  if (t->err) return 0;
  if (t->depth >= NV_THRIFT_MAX_DEPTH) return nv_thrift_fail(t, "Thrift nesting too deep");
  t->depth++;
  return 1;
}

static int leave(struct nv_thrift *t) {
  if (t->err) return 0;
  if (t->depth > 0) t->depth--;
  return 1;
}

int nv_thrift_struct_begin(struct nv_thrift *t) { return enter(t); }
int nv_thrift_struct_end(struct nv_thrift *t) { return leave(t); }
int nv_thrift_list_end(struct nv_thrift *t) { return leave(t); }

int nv_thrift_field(struct nv_thrift *t, int16_t *last, int *type, int16_t *id) {
  if (t->err) return 0;
  if (t->p >= t->end) return nv_thrift_fail(t, "truncated Thrift data");
  uint8_t b = *t->p++;
  if (b == 0) return 0;
  int ty = b & 0x0f, delta = b >> 4;
  if (ty > NV_TT_STRUCT) return nv_thrift_fail(t, "bad Thrift field type");
  if (delta) {
    int nid = *last + delta;
    if (nid > INT16_MAX) return nv_thrift_fail(t, "bad Thrift field id");
    *id = (int16_t)nid;
  } else {
    uint64_t u;
    if (!nv_thrift_varint(t, &u)) return 0;
    int64_t v = nv_thrift_unzigzag(u);
    if (v < INT16_MIN || v > INT16_MAX) return nv_thrift_fail(t, "bad Thrift field id");
    *id = (int16_t)v;
  }
  *last = *id;
  *type = ty;
  return 1;
}

int nv_thrift_bool(struct nv_thrift *t, int type, int *v) {
  if (t->err) return 0;
  if (type != NV_TT_TRUE && type != NV_TT_FALSE)
    return nv_thrift_fail(t, "Thrift type mismatch (want bool)");
  *v = type == NV_TT_TRUE;
  return 1;
}

int nv_thrift_list_bool(struct nv_thrift *t, int *v) {
  if (t->err) return 0;
  if (t->p >= t->end) return nv_thrift_fail(t, "truncated Thrift data");
  *v = *t->p++ == 1;
  return 1;
}

static int read_int(struct nv_thrift *t, int type, int64_t *v) {
  if (t->err) return 0;
  if (type == NV_TT_I8) {
    if (t->p >= t->end) return nv_thrift_fail(t, "truncated Thrift data");
    *v = (int8_t)*t->p++;
    return 1;
  }
  if (type != NV_TT_I16 && type != NV_TT_I32 && type != NV_TT_I64)
    return nv_thrift_fail(t, "Thrift type mismatch (want integer)");
  uint64_t u;
  if (!nv_thrift_varint(t, &u)) return 0;
  *v = nv_thrift_unzigzag(u);
  return 1;
}

int nv_thrift_i32(struct nv_thrift *t, int type, int32_t *v) {
  int64_t w;
  if (!read_int(t, type, &w)) return 0;
  if (w < INT32_MIN || w > INT32_MAX) return nv_thrift_fail(t, "Thrift i32 out of range");
  *v = (int32_t)w;
  return 1;
}

int nv_thrift_i64(struct nv_thrift *t, int type, int64_t *v) { return read_int(t, type, v); }

int nv_thrift_double(struct nv_thrift *t, int type, double *v) {
  if (t->err) return 0;
  if (type != NV_TT_DOUBLE) return nv_thrift_fail(t, "Thrift type mismatch (want double)");
  if (t->end - t->p < 8) return nv_thrift_fail(t, "truncated Thrift data");
  uint64_t u = 0;
  for (int i = 7; i >= 0; i--) u = u << 8 | t->p[i];
  memcpy(v, &u, sizeof *v);
  t->p += 8;
  return 1;
}

int nv_thrift_binary(struct nv_thrift *t, int type, const uint8_t **s, uint32_t *n) {
  if (t->err) return 0;
  if (type != NV_TT_BINARY) return nv_thrift_fail(t, "Thrift type mismatch (want binary)");
  uint64_t len;
  if (!nv_thrift_varint(t, &len)) return 0;
  if (len > (uint64_t)(t->end - t->p)) return nv_thrift_fail(t, "Thrift string runs past the end");
  *s = t->p;
  *n = (uint32_t)len;
  t->p += len;
  return 1;
}

int nv_thrift_list(struct nv_thrift *t, int type, int *elem, uint32_t *n) {
  if (t->err) return 0;
  if (type != NV_TT_LIST && type != NV_TT_SET)
    return nv_thrift_fail(t, "Thrift type mismatch (want list)");
  if (t->p >= t->end) return nv_thrift_fail(t, "truncated Thrift data");
  uint8_t b = *t->p++;
  uint64_t size = b >> 4;
  if (size == 15 && !nv_thrift_varint(t, &size)) return 0;
  *elem = b & 0x0f;
  if (*elem == NV_TT_STOP || *elem > NV_TT_STRUCT)
    return nv_thrift_fail(t, "bad Thrift list element type");
  if (size > (uint64_t)(t->end - t->p)) return nv_thrift_fail(t, "Thrift list size exceeds the data");
  *n = (uint32_t)size;
  return enter(t);
}

int nv_thrift_skip(struct nv_thrift *t, int type) {
  if (t->err) return 0;
  int64_t i;
  double d;
  const uint8_t *s;
  uint32_t n;
  int e, b;
  switch (type) {
  case NV_TT_TRUE:
  case NV_TT_FALSE:
    return 1;
  case NV_TT_I8:
  case NV_TT_I16:
  case NV_TT_I32:
  case NV_TT_I64:
    return read_int(t, type, &i);
  case NV_TT_DOUBLE:
    return nv_thrift_double(t, type, &d);
  case NV_TT_BINARY:
    return nv_thrift_binary(t, type, &s, &n);
  case NV_TT_LIST:
  case NV_TT_SET:
    if (!nv_thrift_list(t, type, &e, &n)) return 0;
    for (uint32_t k = 0; k < n; k++) {
      if (e == NV_TT_TRUE || e == NV_TT_FALSE) {
        if (!nv_thrift_list_bool(t, &b)) return 0;
      } else if (!nv_thrift_skip(t, e)) {
        return 0;
      }
    }
    return nv_thrift_list_end(t);
  case NV_TT_MAP: {
    uint64_t size;
    if (!nv_thrift_varint(t, &size)) return 0;
    if (size == 0) return 1;
    if (size > (uint64_t)(t->end - t->p)) return nv_thrift_fail(t, "Thrift map size exceeds the data");
    if (t->p >= t->end) return nv_thrift_fail(t, "truncated Thrift data");
    int kt = *t->p >> 4, vt = *t->p & 0x0f;
    t->p++;
    if (kt == NV_TT_STOP || kt > NV_TT_STRUCT || vt == NV_TT_STOP || vt > NV_TT_STRUCT)
      return nv_thrift_fail(t, "bad Thrift map types");
    if (!enter(t)) return 0;
    for (uint64_t k = 0; k < size; k++) {
      if (kt <= NV_TT_FALSE ? !nv_thrift_list_bool(t, &b) : !nv_thrift_skip(t, kt)) return 0;
      if (vt <= NV_TT_FALSE ? !nv_thrift_list_bool(t, &b) : !nv_thrift_skip(t, vt)) return 0;
    }
    return leave(t);
  }
  case NV_TT_STRUCT: {
    if (!enter(t)) return 0;
    int16_t last = 0, id;
    int ft;
    while (nv_thrift_field(t, &last, &ft, &id))
      if (!nv_thrift_skip(t, ft)) return 0;
    if (t->err) return 0;
    return leave(t);
  }
  default:
    return nv_thrift_fail(t, "bad Thrift type");
  }
}
