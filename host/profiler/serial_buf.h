/* serial_buf.h - the byte writer and the bounds-checked reader the
 * profiler's serialised form is made with (profiler_serial.c, and the
 * sketches' dump/load in profiler_sketch.c). Integers are little-endian,
 * fixed width; doubles travel as their IEEE-754 bits. A reader that runs
 * out of bytes sets `bad` and returns zeros from then on: callers check
 * `bad` (and their own bounds) once per structure, never index with an
 * unchecked value. */
#ifndef NV_SERIAL_BUF_H
#define NV_SERIAL_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct nv_wbuf {
  unsigned char *p;
  size_t n, cap;
  int oom;
};

static inline void nv_wb_bytes(struct nv_wbuf *w, const void *s, size_t n) {
  if (w->oom || n == 0) return;
  if (w->n + n > w->cap) {
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->n + n) cap *= 2;
    unsigned char *q = realloc(w->p, cap);
    if (q == NULL) {
      w->oom = 1;
      return;
    }
    w->p = q;
    w->cap = cap;
  }
  memcpy(w->p + w->n, s, n);
  w->n += n;
}

static inline void nv_wb_u64(struct nv_wbuf *w, uint64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
  nv_wb_bytes(w, b, 8);
}

static inline void nv_wb_u32(struct nv_wbuf *w, uint32_t v) {
  unsigned char b[4];
  for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i));
  nv_wb_bytes(w, b, 4);
}

static inline void nv_wb_u8(struct nv_wbuf *w, uint8_t v) { nv_wb_bytes(w, &v, 1); }

static inline void nv_wb_f64(struct nv_wbuf *w, double d) {
  uint64_t v;
  memcpy(&v, &d, sizeof v);
  nv_wb_u64(w, v);
}

/* A length-prefixed byte string. */
static inline void nv_wb_str(struct nv_wbuf *w, const void *s, uint32_t n) {
  nv_wb_u32(w, n);
  nv_wb_bytes(w, s, n);
}

struct nv_rbuf {
  const unsigned char *p;
  size_t n, pos;
  int bad;
};

/* The next n bytes, or NULL (and bad) when fewer are left. */
static inline const unsigned char *nv_rb_take(struct nv_rbuf *r, size_t n) {
  if (r->bad || n > r->n - r->pos) {
    r->bad = 1;
    return NULL;
  }
  const unsigned char *s = r->p + r->pos;
  r->pos += n;
  return s;
}

static inline uint64_t nv_rb_u64(struct nv_rbuf *r) {
  const unsigned char *b = nv_rb_take(r, 8);
  uint64_t v = 0;
  if (b)
    for (int i = 0; i < 8; i++) v |= (uint64_t)b[i] << (8 * i);
  return v;
}

static inline uint32_t nv_rb_u32(struct nv_rbuf *r) {
  const unsigned char *b = nv_rb_take(r, 4);
  uint32_t v = 0;
  if (b)
    for (int i = 0; i < 4; i++) v |= (uint32_t)b[i] << (8 * i);
  return v;
}

static inline uint8_t nv_rb_u8(struct nv_rbuf *r) {
  const unsigned char *b = nv_rb_take(r, 1);
  return b ? b[0] : 0;
}

static inline double nv_rb_f64(struct nv_rbuf *r) {
  uint64_t v = nv_rb_u64(r);
  double d;
  memcpy(&d, &v, sizeof d);
  return d;
}

/* A length-prefixed byte string of at most max bytes into out (*n its
 * length); 0 (and bad) when longer or truncated. */
static inline int nv_rb_str(struct nv_rbuf *r, void *out, uint32_t max, uint32_t *n) {
  uint32_t len = nv_rb_u32(r);
  if (r->bad || len > max) {
    r->bad = 1;
    *n = 0;
    return 0;
  }
  const unsigned char *s = nv_rb_take(r, len);
  if (s == NULL) {
    *n = 0;
    return 0;
  }
  if (len) memcpy(out, s, len);
  *n = len;
  return 1;
}

#endif
