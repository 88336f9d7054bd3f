/* parquet_pages.c - column chunk decoding (see parquet_pages.h). Uses
 * parquet_meta.c's page header decoder, zlib, libzstd and snappy-c.
 *
 * Every read from a page buffer is bounds-checked against its end; counts
 * taken from headers only bound loops, never allocations (allocations are
 * sized from byte lengths, which are capped and checked against the chunk). */
#include "parquet_pages.h"

#include <limits.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define HEADER_WINDOW ((size_t)64 << 10)
#define MAX_HEADER ((size_t)16 << 20)

/* ---- decompression -------------------------------------------------------- */

/* An LZ4 block (no frame): sequences of literals and matches. */
static int lz4_block(const uint8_t *s, size_t n, uint8_t *d, size_t dn, size_t *out) {
  size_t i = 0, o = 0;
  while (i < n) {
    unsigned tok = s[i++];
    size_t lit = tok >> 4;
    if (lit == 15) {
      unsigned b;
      do {
        if (i >= n) return -1;
        b = s[i++];
        lit += b;
      } while (b == 255);
    }
    if (lit > n - i || lit > dn - o) return -1;
    memcpy(d + o, s + i, lit);
    i += lit;
    o += lit;
    if (i == n) break; /* the last sequence has literals only */
    if (n - i < 2) return -1;
    size_t off = (size_t)s[i] | (size_t)s[i + 1] << 8;
    i += 2;
    if (off == 0 || off > o) return -1;
    size_t ml = (tok & 15) + 4;
    if ((tok & 15) == 15) {
      unsigned b;
      do {
        if (i >= n) return -1;
        b = s[i++];
        ml += b;
      } while (b == 255);
    }
    if (ml > dn - o) return -1;
    for (size_t k = 0; k < ml; k++, o++) d[o] = d[o - off];
  }
  *out = o;
  return 0;
}

/* Hadoop's LZ4 framing: [BE32 raw size][BE32 compressed size][block]... */
static int lz4_hadoop(const uint8_t *s, size_t n, uint8_t *d, size_t dn) {
  size_t i = 0, o = 0;
  while (i < n) {
    if (n - i < 8) return -1;
    uint32_t raw = (uint32_t)s[i] << 24 | (uint32_t)s[i + 1] << 16 | (uint32_t)s[i + 2] << 8 | s[i + 3];
    uint32_t cmp = (uint32_t)s[i + 4] << 24 | (uint32_t)s[i + 5] << 16 | (uint32_t)s[i + 6] << 8 | s[i + 7];
    i += 8;
    if (cmp > n - i || raw > dn - o) return -1;
    size_t got;
    if (lz4_block(s + i, cmp, d + o, raw, &got) != 0 || got != raw) return -1;
    i += cmp;
    o += raw;
  }
  return o == dn ? 0 : -1;
}

int nv_pq_codec_supported(int codec) {
  return codec == NV_PQ_UNCOMPRESSED || codec == NV_PQ_SNAPPY || codec == NV_PQ_GZIP ||
         codec == NV_PQ_ZSTD || codec == NV_PQ_LZ4_RAW || codec == NV_PQ_LZ4;
}

int nv_pq_decompress(int codec, const uint8_t *src, size_t n, uint8_t *dst, size_t dn, char *err,
                     size_t errsz) {
  switch (codec) {
  case NV_PQ_UNCOMPRESSED:
    if (n != dn) break;
    if (n) memcpy(dst, src, n);
    return 0;
  case NV_PQ_SNAPPY: {
    size_t len;
    if (snappy_uncompressed_length((const char *)src, n, &len) != SNAPPY_OK || len != dn) break;
    if (snappy_uncompress((const char *)src, n, (char *)dst, &len) != SNAPPY_OK || len != dn) break;
    return 0;
  }
  case NV_PQ_GZIP: {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK) {
      snprintf(err, errsz, "out of memory");
      return -1;
    }
    const uint8_t *in = src;
    size_t inleft = n, out = 0;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      z.next_in = (Bytef *)(uintptr_t)in;
      z.avail_in = inleft > UINT_MAX ? UINT_MAX : (uInt)inleft;
      z.next_out = dst + out;
      z.avail_out = dn - out > UINT_MAX ? UINT_MAX : (uInt)(dn - out);
      uInt ain = z.avail_in, aout = z.avail_out;
      rc = inflate(&z, Z_NO_FLUSH);
      in += ain - z.avail_in;
      inleft -= ain - z.avail_in;
      out += aout - z.avail_out;
      if (rc == Z_STREAM_END && inleft > 0 && out < dn) { /* concatenated members */
        if (inflateReset(&z) != Z_OK) break;
        rc = Z_OK;
        continue;
      }
      if (rc != Z_OK && rc != Z_STREAM_END) break;
      if (rc == Z_OK && ain == z.avail_in && aout == z.avail_out) break; /* no progress */
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END || out != dn) break;
    return 0;
  }
  case NV_PQ_ZSTD: {
    size_t r = ZSTD_decompress(dst, dn, src, n);
    if (ZSTD_isError(r) || r != dn) break;
    return 0;
  }
  case NV_PQ_LZ4_RAW: {
    size_t got;
    if (lz4_block(src, n, dst, dn, &got) != 0 || got != dn) break;
    return 0;
  }
  case NV_PQ_LZ4: {
    size_t got;
    if (lz4_hadoop(src, n, dst, dn) == 0) return 0;
    if (lz4_block(src, n, dst, dn, &got) != 0 || got != dn) break;
    return 0;
  }
  default:
    snprintf(err, errsz, "compression codec %s is not supported", nv_pq_codec_name(codec));
    return -2;
  }
  snprintf(err, errsz, "corrupt %s data (expected %zu bytes)", nv_pq_codec_name(codec), dn);
  return -1;
}

/* ---- bit unpacking ---------------------------------------------------------- */

/* bw bits (<= 64) at bit offset `bit` of [p, end), LSB first; 0 past end. */
static int get_bits(const uint8_t *p, const uint8_t *end, uint64_t bit, int bw, uint64_t *v) {
  if (bw == 0) {
    *v = 0;
    return 1;
  }
  uint64_t byte = bit >> 3;
  unsigned shift = (unsigned)(bit & 7);
  uint64_t nbytes = (shift + (unsigned)bw + 7) / 8;
  if (byte > (uint64_t)(end - p) || nbytes > (uint64_t)(end - p) - byte) return 0;
  uint64_t r = 0;
  unsigned have = 0;
  for (uint64_t k = 0; k < nbytes; k++) {
    uint64_t b = p[byte + k];
    if (k == 0) {
      r = b >> shift;
      have = 8 - shift;
    } else {
      if (have < 64) r |= b << have;
      have += 8;
    }
  }
  if (bw < 64) r &= ((uint64_t)1 << bw) - 1;
  *v = r;
  return 1;
}

/* ---- RLE / bit-packing hybrid --------------------------------------------- */

void nv_pq_rle_init(struct nv_pq_rle *d, const uint8_t *p, size_t n, int bw) {
  memset(d, 0, sizeof *d);
  d->p = p;
  d->end = p + n;
  d->bw = bw;
}

static int varint(const uint8_t **pp, const uint8_t *end, uint64_t *v) {
  uint64_t r = 0;
  const uint8_t *p = *pp;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (p >= end) return 0;
    uint8_t b = *p++;
    r |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      *pp = p;
      return 1;
    }
  }
  return 0;
}

int nv_pq_rle_next(struct nv_pq_rle *d, uint32_t *v) {
  if (d->bw < 0 || d->bw > 32) return 0;
  for (;;) {
    if (d->rle_left) {
      d->rle_left--;
      *v = d->rle_val;
      return 1;
    }
    if (d->bp_left) {
      uint64_t x;
      if (!get_bits(d->bp, d->bp_end, d->bp_idx * (uint64_t)d->bw, d->bw, &x)) return 0;
      d->bp_idx++;
      d->bp_left--;
      *v = (uint32_t)x;
      return 1;
    }
    uint64_t h;
    if (!varint(&d->p, d->end, &h)) return 0;
    if (h & 1) {
      uint64_t groups = h >> 1;
      if (groups > ((uint64_t)1 << 40)) return 0;
      uint64_t bytes = groups * (uint64_t)d->bw; /* 8 values of bw bits per group */
      uint64_t left = (uint64_t)(d->end - d->p);
      d->bp = d->p;
      /* the last run of a page may be cut short: values past the data fail */
      d->bp_end = d->p + (bytes < left ? bytes : left);
      d->p = d->bp_end;
      d->bp_left = groups * 8;
      d->bp_idx = 0;
    } else {
      unsigned nb = ((unsigned)d->bw + 7) / 8;
      if ((size_t)(d->end - d->p) < nb) return 0;
      uint32_t val = 0;
      for (unsigned k = 0; k < nb; k++) val |= (uint32_t)d->p[k] << (8 * k);
      d->p += nb;
      d->rle_val = val;
      d->rle_left = h >> 1;
    }
  }
}

/* ---- DELTA_BINARY_PACKED ------------------------------------------------- */

int nv_pq_delta_init(struct nv_pq_delta *d, const uint8_t *p, size_t n) {
  memset(d, 0, sizeof *d);
  d->p = p;
  d->end = p + n;
  uint64_t first;
  if (!varint(&d->p, d->end, &d->block_size) || !varint(&d->p, d->end, &d->miniblocks) ||
      !varint(&d->p, d->end, &d->total) || !varint(&d->p, d->end, &first))
    return 0;
  if (d->block_size == 0 || d->block_size % 128 != 0 || d->block_size > ((uint64_t)1 << 20) ||
      d->miniblocks == 0 || d->miniblocks > d->block_size || d->block_size % d->miniblocks != 0)
    return 0;
  d->per_mini = d->block_size / d->miniblocks;
  if (d->per_mini % 32 != 0) return 0;
  d->last = (uint64_t)((int64_t)(first >> 1) ^ -(int64_t)(first & 1));
  return 1;
}

int nv_pq_delta_next(struct nv_pq_delta *d, int64_t *v) {
  if (d->emitted >= d->total) return 0;
  if (d->emitted == 0) {
    d->emitted = 1;
    *v = (int64_t)d->last;
    return 1;
  }
  if (!d->in_block) {
    uint64_t md;
    if (!varint(&d->p, d->end, &md)) return 0;
    d->min_delta = (uint64_t)((int64_t)(md >> 1) ^ -(int64_t)(md & 1));
    if ((uint64_t)(d->end - d->p) < d->miniblocks) return 0;
    d->widths = d->p;
    d->p += d->miniblocks;
    d->mini_idx = 0;
    d->in_mini = 0;
    d->mini = NULL;
    d->in_block = 1;
  }
  if (d->mini == NULL) { /* entering miniblock mini_idx: it is always padded full */
    int w = d->widths[d->mini_idx];
    if (w > 64) return 0;
    uint64_t bytes = d->per_mini * (uint64_t)w / 8;
    if ((uint64_t)(d->end - d->p) < bytes) return 0;
    d->mini = d->p;
    d->p += bytes;
  }
  int w = d->widths[d->mini_idx];
  uint64_t x;
  if (!get_bits(d->mini, d->p, d->in_mini * (uint64_t)w, w, &x)) return 0;
  d->last = d->last + d->min_delta + x;
  *v = (int64_t)d->last;
  d->emitted++;
  if (++d->in_mini == d->per_mini) {
    d->in_mini = 0;
    d->mini = NULL;
    if (++d->mini_idx == d->miniblocks) d->in_block = 0;
  }
  return 1;
}

const uint8_t *nv_pq_delta_finish(struct nv_pq_delta *d) {
  int64_t v;
  while (d->emitted < d->total)
    if (!nv_pq_delta_next(d, &v)) return NULL;
  return d->p;
}

/* ---- PLAIN values ------------------------------------------------------------ */

struct plain {
  const uint8_t *p, *end;
  uint64_t bit; /* booleans */
};

static uint64_t le(const uint8_t *p, int n) {
  uint64_t r = 0;
  for (int i = n - 1; i >= 0; i--) r = r << 8 | p[i];
  return r;
}

static int plain_next(struct plain *s, int type, int32_t tlen, struct nv_pq_value *v) {
  size_t left = (size_t)(s->end - s->p);
  uint64_t u;
  switch (type) {
  case NV_PQ_BOOLEAN:
    if (!get_bits(s->p, s->end, s->bit, 1, &u)) return 0;
    s->bit++;
    v->i = (int64_t)u;
    return 1;
  case NV_PQ_INT32:
    if (left < 4) return 0;
    v->i = (int32_t)(uint32_t)le(s->p, 4);
    s->p += 4;
    return 1;
  case NV_PQ_INT64:
    if (left < 8) return 0;
    v->i = (int64_t)le(s->p, 8);
    s->p += 8;
    return 1;
  case NV_PQ_FLOAT: {
    if (left < 4) return 0;
    uint32_t b = (uint32_t)le(s->p, 4);
    float f;
    memcpy(&f, &b, sizeof f);
    v->d = f;
    s->p += 4;
    return 1;
  }
  case NV_PQ_DOUBLE:
    if (left < 8) return 0;
    u = le(s->p, 8);
    memcpy(&v->d, &u, sizeof v->d);
    s->p += 8;
    return 1;
  case NV_PQ_INT96:
    if (left < 12) return 0;
    v->s = s->p;
    v->n = 12;
    s->p += 12;
    return 1;
  case NV_PQ_BYTE_ARRAY: {
    if (left < 4) return 0;
    uint32_t n = (uint32_t)le(s->p, 4);
    if (n > left - 4) return 0;
    v->s = s->p + 4;
    v->n = n;
    s->p += 4 + (size_t)n;
    return 1;
  }
  case NV_PQ_FIXED:
    if (tlen <= 0 || left < (size_t)tlen) return 0;
    v->s = s->p;
    v->n = (uint32_t)tlen;
    s->p += tlen;
    return 1;
  default:
    return 0;
  }
}

/* Smallest PLAIN size of one value, in bits. */
static uint64_t plain_bits(int type, int32_t tlen) {
  switch (type) {
  case NV_PQ_BOOLEAN: return 1;
  case NV_PQ_INT32: case NV_PQ_FLOAT: case NV_PQ_BYTE_ARRAY: return 32;
  case NV_PQ_INT64: case NV_PQ_DOUBLE: return 64;
  case NV_PQ_INT96: return 96;
  default: return tlen > 0 ? (uint64_t)tlen * 8 : 8;
  }
}

/* ---- the chunk reader --------------------------------------------------------- */

struct levels {
  int mode; /* 0: none (always 0), 1: RLE hybrid, 2: BIT_PACKED (MSB first) */
  struct nv_pq_rle rle;
  const uint8_t *p, *end;
  uint64_t idx;
  int bw;
};

struct nv_pq_chunk_reader {
  const struct nv_pq_source *src;
  const struct nv_pq_column *col;
  const struct nv_pq_chunk *ch;
  uint64_t pos, end, values_seen;
  uint8_t *raw, *page, *hdr;
  size_t raw_cap, page_cap, hdr_cap;
  uint8_t *dict_buf; /* the dictionary page's bytes, values point into it */
  struct nv_pq_value *dict;
  uint64_t ndict;
  int have_dict;
  uint8_t *prev; /* DELTA_BYTE_ARRAY: the previous value */
  size_t prev_cap;
  uint64_t bytes, pages;
  char err[NV_PQ_ERRSZ];
};

struct vdec {
  int enc, type;
  int32_t tlen;
  struct plain pl;
  struct nv_pq_rle rle;          /* dictionary indices, RLE booleans */
  struct nv_pq_delta d1, d2;      /* DBP values / lengths / prefixes; suffix lengths */
  const uint8_t *data, *end;      /* byte data of DLBA / DBA */
  size_t prev_len;
  uint64_t bss_n, bss_i;          /* BYTE_STREAM_SPLIT */
  int width;
};

static int fail(struct nv_pq_chunk_reader *r, int code, const char *fmt, const char *a) {
  snprintf(r->err, sizeof r->err, fmt, a);
  return code;
}

struct nv_pq_chunk_reader *nv_pq_chunk_open(const struct nv_pq_source *src,
                                            const struct nv_pq_column *col,
                                            const struct nv_pq_chunk *ch) {
  struct nv_pq_chunk_reader *r = calloc(1, sizeof *r);
  if (r == NULL) return NULL;
  r->src = src;
  r->col = col;
  r->ch = ch;
  return r;
}

void nv_pq_chunk_free(struct nv_pq_chunk_reader *r) {
  if (r == NULL) return;
  free(r->raw);
  free(r->page);
  free(r->hdr);
  free(r->dict_buf);
  free(r->dict);
  free(r->prev);
  free(r);
}

const char *nv_pq_chunk_error(const struct nv_pq_chunk_reader *r) { return r->err; }
uint64_t nv_pq_chunk_bytes(const struct nv_pq_chunk_reader *r) { return r->bytes; }
uint64_t nv_pq_chunk_pages(const struct nv_pq_chunk_reader *r) { return r->pages; }

static int grow(uint8_t **buf, size_t *cap, size_t need) {
  if (need <= *cap) return 1;
  size_t n = *cap ? *cap : 4096;
  while (n < need) n = n > SIZE_MAX / 2 ? need : n * 2;
  uint8_t *p = realloc(*buf, n);
  if (p == NULL) return 0;
  *buf = p;
  *cap = n;
  return 1;
}

int nv_pq_encoding_supported(int enc, int type) {
  switch (enc) {
  case NV_PQ_PLAIN: case NV_PQ_PLAIN_DICTIONARY: case NV_PQ_RLE_DICTIONARY:
    return 1;
  case NV_PQ_RLE: return type == NV_PQ_BOOLEAN;
  case NV_PQ_DELTA_BINARY_PACKED: return type == NV_PQ_INT32 || type == NV_PQ_INT64;
  case NV_PQ_DELTA_LENGTH_BYTE_ARRAY: return type == NV_PQ_BYTE_ARRAY;
  case NV_PQ_DELTA_BYTE_ARRAY: return type == NV_PQ_BYTE_ARRAY || type == NV_PQ_FIXED;
  case NV_PQ_BYTE_STREAM_SPLIT:
    return type == NV_PQ_FLOAT || type == NV_PQ_DOUBLE || type == NV_PQ_INT32 ||
           type == NV_PQ_INT64 || type == NV_PQ_FIXED;
  default: return 0;
  }
}

/* Reads and decodes the page header at r->pos; *hlen gets its size. */
static int read_header(struct nv_pq_chunk_reader *r, struct nv_pq_page_header *h, size_t *hlen) {
  uint64_t avail = r->end - r->pos;
  size_t window = HEADER_WINDOW;
  char ioerr[NV_PQ_ERRSZ];
  for (;;) {
    size_t want = avail < window ? (size_t)avail : window;
    if (!grow(&r->hdr, &r->hdr_cap, want ? want : 1)) return fail(r, NV_PQ_ERROR, "%s", "out of memory");
    if (r->src->read_at(r->src->ud, r->pos, r->hdr, want, ioerr, sizeof ioerr) != 0)
      return fail(r, NV_PQ_ERROR, "%s", ioerr);
    char herr[NV_PQ_ERRSZ];
    long got = nv_pq_page_header(h, r->hdr, want, herr, sizeof herr);
    if (got < 0) return fail(r, NV_PQ_ERROR, "%s", herr);
    if (got > 0) {
      *hlen = (size_t)got;
      r->bytes += (uint64_t)got;
      return NV_PQ_DONE;
    }
    if (want == avail || window >= MAX_HEADER)
      return fail(r, NV_PQ_ERROR, "%s", "truncated page header at the end of the column chunk");
    window *= 4;
  }
}

static int levels_init(struct levels *lv, int enc, int maxl, const uint8_t **p, const uint8_t *end,
                       int v2_len, int32_t num_values) {
  memset(lv, 0, sizeof *lv);
  if (maxl == 0) return 1;
  int bw = 0;
  while ((1 << bw) <= maxl) bw++;
  lv->bw = bw;
  if (v2_len >= 0) { /* v2: length known, always RLE */
    if ((size_t)(end - *p) < (size_t)v2_len) return 0;
    lv->mode = 1;
    nv_pq_rle_init(&lv->rle, *p, (size_t)v2_len, bw);
    *p += v2_len;
    return 1;
  }
  if (enc == NV_PQ_RLE) {
    if (end - *p < 4) return 0;
    uint32_t n = (uint32_t)le(*p, 4);
    *p += 4;
    if (n > (size_t)(end - *p)) return 0;
    lv->mode = 1;
    nv_pq_rle_init(&lv->rle, *p, n, bw);
    *p += n;
    return 1;
  }
  if (enc == NV_PQ_BIT_PACKED) {
    uint64_t bytes = ((uint64_t)num_values * (uint64_t)bw + 7) / 8;
    if (bytes > (uint64_t)(end - *p)) return 0;
    lv->mode = 2;
    lv->p = *p;
    lv->end = *p + bytes;
    *p += bytes;
    return 1;
  }
  return 0;
}

static int levels_next(struct levels *lv, int *v) {
  uint32_t x;
  if (lv->mode == 0) {
    *v = 0;
    return 1;
  }
  if (lv->mode == 1) {
    if (!nv_pq_rle_next(&lv->rle, &x)) return 0;
    *v = (int)x;
    return 1;
  }
  uint64_t bit = lv->idx * (uint64_t)lv->bw, r = 0;
  for (int k = 0; k < lv->bw; k++, bit++) {
    if ((bit >> 3) >= (uint64_t)(lv->end - lv->p)) return 0;
    r = r << 1 | ((lv->p[bit >> 3] >> (7 - (bit & 7))) & 1);
  }
  lv->idx++;
  *v = (int)r;
  return 1;
}

static int vdec_init(struct nv_pq_chunk_reader *r, struct vdec *vd, int enc, const uint8_t *p,
                     const uint8_t *end) {
  memset(vd, 0, sizeof *vd);
  vd->enc = enc;
  vd->type = r->col->type;
  vd->tlen = r->col->type_length;
  vd->pl.p = p;
  vd->pl.end = end;
  switch (enc) {
  case NV_PQ_PLAIN:
    return NV_PQ_DONE;
  case NV_PQ_PLAIN_DICTIONARY:
  case NV_PQ_RLE_DICTIONARY:
    if (!r->have_dict) return fail(r, NV_PQ_ERROR, "%s", "dictionary-encoded page without a dictionary page");
    if (p >= end) {
      nv_pq_rle_init(&vd->rle, p, 0, 0);
      return NV_PQ_DONE;
    }
    if (*p > 32) return fail(r, NV_PQ_ERROR, "%s", "bad dictionary index bit width");
    nv_pq_rle_init(&vd->rle, p + 1, (size_t)(end - p - 1), *p);
    return NV_PQ_DONE;
  case NV_PQ_RLE:
    if (vd->type != NV_PQ_BOOLEAN) break;
    if (end - p < 4 || le(p, 4) > (uint64_t)(end - p - 4))
      return fail(r, NV_PQ_ERROR, "%s", "corrupt RLE boolean data");
    nv_pq_rle_init(&vd->rle, p + 4, (size_t)le(p, 4), 1);
    return NV_PQ_DONE;
  case NV_PQ_DELTA_BINARY_PACKED:
    if (vd->type != NV_PQ_INT32 && vd->type != NV_PQ_INT64) break;
    if (!nv_pq_delta_init(&vd->d1, p, (size_t)(end - p)))
      return fail(r, NV_PQ_ERROR, "%s", "corrupt DELTA_BINARY_PACKED header");
    return NV_PQ_DONE;
  case NV_PQ_DELTA_LENGTH_BYTE_ARRAY: {
    if (vd->type != NV_PQ_BYTE_ARRAY) break;
    struct nv_pq_delta scan;
    if (!nv_pq_delta_init(&scan, p, (size_t)(end - p)) || !nv_pq_delta_init(&vd->d1, p, (size_t)(end - p)))
      return fail(r, NV_PQ_ERROR, "%s", "corrupt DELTA_LENGTH_BYTE_ARRAY lengths");
    vd->data = nv_pq_delta_finish(&scan);
    if (vd->data == NULL) return fail(r, NV_PQ_ERROR, "%s", "corrupt DELTA_LENGTH_BYTE_ARRAY lengths");
    vd->end = end;
    return NV_PQ_DONE;
  }
  case NV_PQ_DELTA_BYTE_ARRAY: {
    if (vd->type != NV_PQ_BYTE_ARRAY && vd->type != NV_PQ_FIXED) break;
    struct nv_pq_delta scan;
    const uint8_t *q, *q2;
    if (!nv_pq_delta_init(&scan, p, (size_t)(end - p)) || !(q = nv_pq_delta_finish(&scan)) ||
        !nv_pq_delta_init(&scan, q, (size_t)(end - q)) || !(q2 = nv_pq_delta_finish(&scan)) ||
        !nv_pq_delta_init(&vd->d1, p, (size_t)(end - p)) ||
        !nv_pq_delta_init(&vd->d2, q, (size_t)(end - q)))
      return fail(r, NV_PQ_ERROR, "%s", "corrupt DELTA_BYTE_ARRAY lengths");
    vd->data = q2;
    vd->end = end;
    return NV_PQ_DONE;
  }
  case NV_PQ_BYTE_STREAM_SPLIT: {
    int w = vd->type == NV_PQ_FLOAT || vd->type == NV_PQ_INT32 ? 4
            : vd->type == NV_PQ_DOUBLE || vd->type == NV_PQ_INT64 ? 8
            : vd->type == NV_PQ_FIXED ? (int)vd->tlen : 0;
    if (w <= 0) break;
    if ((size_t)(end - p) % (size_t)w != 0)
      return fail(r, NV_PQ_ERROR, "%s", "BYTE_STREAM_SPLIT data is not a whole number of values");
    vd->width = w;
    vd->bss_n = (uint64_t)(end - p) / (uint64_t)w;
    if (!grow(&r->prev, &r->prev_cap, (size_t)w)) return fail(r, NV_PQ_ERROR, "%s", "out of memory");
    return NV_PQ_DONE;
  }
  default:
    break;
  }
  return fail(r, NV_PQ_UNSUPPORTED, "encoding %s is not supported for this column type",
              nv_pq_encoding_name(enc));
}

static int vdec_next(struct nv_pq_chunk_reader *r, struct vdec *vd, struct nv_pq_value *v) {
  uint32_t idx;
  int64_t x, len;
  v->dict = 0;
  switch (vd->enc) {
  case NV_PQ_PLAIN:
    return plain_next(&vd->pl, vd->type, vd->tlen, v);
  case NV_PQ_PLAIN_DICTIONARY:
  case NV_PQ_RLE_DICTIONARY:
    if (!nv_pq_rle_next(&vd->rle, &idx) || idx >= r->ndict) return 0;
    *v = r->dict[idx];
    v->dict = idx < UINT32_MAX ? idx + 1 : 0;
    return 1;
  case NV_PQ_RLE:
    if (!nv_pq_rle_next(&vd->rle, &idx)) return 0;
    v->i = idx & 1;
    return 1;
  case NV_PQ_DELTA_BINARY_PACKED:
    if (!nv_pq_delta_next(&vd->d1, &x)) return 0;
    v->i = vd->type == NV_PQ_INT32 ? (int64_t)(int32_t)(uint32_t)(uint64_t)x : x;
    return 1;
  case NV_PQ_DELTA_LENGTH_BYTE_ARRAY:
    if (!nv_pq_delta_next(&vd->d1, &len) || len < 0 || (uint64_t)len > (uint64_t)(vd->end - vd->data))
      return 0;
    v->s = vd->data;
    v->n = (uint32_t)len;
    vd->data += len;
    return 1;
  case NV_PQ_DELTA_BYTE_ARRAY: {
    int64_t pre;
    if (!nv_pq_delta_next(&vd->d1, &pre) || !nv_pq_delta_next(&vd->d2, &len)) return 0;
    if (pre < 0 || (uint64_t)pre > vd->prev_len || len < 0 ||
        (uint64_t)len > (uint64_t)(vd->end - vd->data))
      return 0;
    size_t total = (size_t)pre + (size_t)len;
    if (total > UINT32_MAX || !grow(&r->prev, &r->prev_cap, total ? total : 1)) return 0;
    memcpy(r->prev + pre, vd->data, (size_t)len);
    vd->data += len;
    vd->prev_len = total;
    if (vd->type == NV_PQ_FIXED && total != (size_t)vd->tlen) return 0;
    v->s = r->prev;
    v->n = (uint32_t)total;
    return 1;
  }
  case NV_PQ_BYTE_STREAM_SPLIT: {
    if (vd->bss_i >= vd->bss_n) return 0;
    for (int k = 0; k < vd->width; k++) r->prev[k] = vd->pl.p[(uint64_t)k * vd->bss_n + vd->bss_i];
    vd->bss_i++;
    struct plain one = {r->prev, r->prev + vd->width, 0};
    return plain_next(&one, vd->type, vd->tlen, v);
  }
  default:
    return 0;
  }
}

/* Decompresses (or copies) n bytes of raw into r->page as dn bytes. */
static int inflate_page(struct nv_pq_chunk_reader *r, const uint8_t *in, size_t n, size_t dn,
                        int compressed) {
  if (!grow(&r->page, &r->page_cap, dn ? dn : 1)) return fail(r, NV_PQ_ERROR, "%s", "out of memory");
  char err[NV_PQ_ERRSZ];
  int rc = nv_pq_decompress(compressed ? r->ch->codec : NV_PQ_UNCOMPRESSED, in, n, r->page, dn,
                            err, sizeof err);
  if (rc == -2) return fail(r, NV_PQ_UNSUPPORTED, "%s", err);
  if (rc != 0) return fail(r, NV_PQ_ERROR, "%s", err);
  return NV_PQ_DONE;
}

static int load_dictionary(struct nv_pq_chunk_reader *r, const struct nv_pq_page_header *h) {
  if (h->encoding != NV_PQ_PLAIN && h->encoding != NV_PQ_PLAIN_DICTIONARY)
    return fail(r, NV_PQ_UNSUPPORTED, "dictionary page encoding %s is not supported",
                nv_pq_encoding_name(h->encoding));
  int rc = inflate_page(r, r->raw, (size_t)h->compressed_size, (size_t)h->uncompressed_size, 1);
  if (rc != NV_PQ_DONE) return rc;
  /* keep the bytes: the page buffer becomes the dictionary's */
  free(r->dict_buf);
  r->dict_buf = r->page;
  r->page = NULL;
  r->page_cap = 0;
  free(r->dict);
  r->dict = NULL;
  r->ndict = 0;
  r->have_dict = 0;
  uint64_t most = (uint64_t)h->uncompressed_size * 8 / plain_bits(r->col->type, r->col->type_length);
  if ((uint64_t)h->num_values > most)
    return fail(r, NV_PQ_ERROR, "%s", "dictionary page claims more values than its bytes hold");
  r->dict = malloc(((size_t)h->num_values ? (size_t)h->num_values : 1) * sizeof *r->dict);
  if (r->dict == NULL) return fail(r, NV_PQ_ERROR, "%s", "out of memory");
  struct plain pl = {r->dict_buf, r->dict_buf + h->uncompressed_size, 0};
  for (int32_t i = 0; i < h->num_values; i++) {
    memset(&r->dict[i], 0, sizeof r->dict[i]);
    if (!plain_next(&pl, r->col->type, r->col->type_length, &r->dict[i]))
      return fail(r, NV_PQ_ERROR, "%s", "dictionary page is truncated (fewer values than its header says)");
  }
  r->ndict = (uint64_t)h->num_values;
  r->have_dict = 1;
  return NV_PQ_DONE;
}

static int data_page(struct nv_pq_chunk_reader *r, const struct nv_pq_page_header *h,
                     nv_pq_value_fn fn, void *ud) {
  const struct nv_pq_column *c = r->col;
  const uint8_t *p, *end;
  struct levels rep, def;
  int rc;
  int v2 = h->type == NV_PQ_DATA_PAGE_V2;
  if (!nv_pq_encoding_supported(h->encoding, c->type))
    return fail(r, NV_PQ_UNSUPPORTED, "encoding %s is not supported for this column type",
                nv_pq_encoding_name(h->encoding));
  if (!v2) {
    rc = inflate_page(r, r->raw, (size_t)h->compressed_size, (size_t)h->uncompressed_size, 1);
    if (rc != NV_PQ_DONE) return rc;
    p = r->page;
    end = p + h->uncompressed_size;
    if (c->max_rep && h->rep_encoding != NV_PQ_RLE && h->rep_encoding != NV_PQ_BIT_PACKED)
      return fail(r, NV_PQ_UNSUPPORTED, "repetition level encoding %s is not supported",
                  nv_pq_encoding_name(h->rep_encoding));
    if (c->max_def && h->def_encoding != NV_PQ_RLE && h->def_encoding != NV_PQ_BIT_PACKED)
      return fail(r, NV_PQ_UNSUPPORTED, "definition level encoding %s is not supported",
                  nv_pq_encoding_name(h->def_encoding));
    if (!levels_init(&rep, h->rep_encoding, c->max_rep, &p, end, -1, h->num_values) ||
        !levels_init(&def, h->def_encoding, c->max_def, &p, end, -1, h->num_values))
      return fail(r, NV_PQ_ERROR, "%s", "corrupt level data in data page");
  } else {
    size_t lv = (size_t)h->rep_length + (size_t)h->def_length;
    if (lv > (size_t)h->compressed_size || lv > (size_t)h->uncompressed_size)
      return fail(r, NV_PQ_ERROR, "%s", "data page v2 levels exceed the page");
    const uint8_t *lp = r->raw;
    if (!levels_init(&rep, NV_PQ_RLE, c->max_rep, &lp, r->raw + lv, c->max_rep ? h->rep_length : -1, 0) ||
        !levels_init(&def, NV_PQ_RLE, c->max_def, &lp, r->raw + lv, c->max_def ? h->def_length : -1, 0))
      return fail(r, NV_PQ_ERROR, "%s", "corrupt level data in data page v2");
    rc = inflate_page(r, r->raw + lv, (size_t)h->compressed_size - lv,
                      (size_t)h->uncompressed_size - lv, h->is_compressed);
    if (rc != NV_PQ_DONE) return rc;
    p = r->page;
    end = p + ((size_t)h->uncompressed_size - lv);
  }
  struct vdec vd;
  rc = vdec_init(r, &vd, h->encoding, p, end);
  if (rc != NV_PQ_DONE) return rc;
  struct nv_pq_value v;
  for (int32_t i = 0; i < h->num_values; i++) {
    int rl, dl;
    if (!levels_next(&rep, &rl) || !levels_next(&def, &dl))
      return fail(r, NV_PQ_ERROR, "%s", "level data ends before the page's value count");
    if (rl > c->max_rep || dl > c->max_def)
      return fail(r, NV_PQ_ERROR, "%s", "level out of range");
    if (i == 0 && rl != 0 && r->values_seen == 0)
      return fail(r, NV_PQ_ERROR, "%s", "first value of a column chunk continues a record");
    int got = 0;
    if (dl == c->max_def) {
      memset(&v, 0, sizeof v);
      if (!vdec_next(r, &vd, &v))
        return fail(r, NV_PQ_ERROR, "%s", "page values are truncated or corrupt");
      got = 1;
    }
    int cb = fn(ud, got ? &v : NULL, dl, rl);
    if (cb == 1) return NV_PQ_STOPPED;
    if (cb < 0) return NV_PQ_ABORTED;
  }
  return NV_PQ_DONE;
}

int nv_pq_chunk_read(struct nv_pq_chunk_reader *r, nv_pq_value_fn fn, void *ud) {
  const struct nv_pq_chunk *ch = r->ch;
  r->err[0] = '\0';
  if (!ch->has_meta) return fail(r, NV_PQ_UNSUPPORTED, "%s", "column chunk has no metadata");
  if (ch->external) return fail(r, NV_PQ_UNSUPPORTED, "%s", "column chunk stored in another file");
  if (!nv_pq_codec_supported(ch->codec))
    return fail(r, NV_PQ_UNSUPPORTED, "compression codec %s is not supported",
                nv_pq_codec_name(ch->codec));
  int64_t start = ch->data_page_offset;
  if (ch->dictionary_page_offset > 0 && ch->dictionary_page_offset < start)
    start = ch->dictionary_page_offset;
  if (start < 0 || ch->total_compressed < 0 || (uint64_t)start > r->src->size ||
      (uint64_t)ch->total_compressed > r->src->size - (uint64_t)start)
    return fail(r, NV_PQ_ERROR, "%s", "column chunk lies outside the file");
  if (ch->num_values < 0) return fail(r, NV_PQ_ERROR, "%s", "negative value count");
  r->pos = (uint64_t)start;
  r->end = r->pos + (uint64_t)ch->total_compressed;
  r->values_seen = 0;
  r->have_dict = 0;
  while (r->values_seen < (uint64_t)ch->num_values) {
    if (r->pos >= r->end) {
      snprintf(r->err, sizeof r->err, "column chunk ends after %llu of its %lld values",
               (unsigned long long)r->values_seen, (long long)ch->num_values);
      return NV_PQ_ERROR;
    }
    struct nv_pq_page_header h;
    size_t hlen;
    int rc = read_header(r, &h, &hlen);
    if (rc != NV_PQ_DONE) return rc;
    r->pos += hlen;
    if ((uint64_t)h.compressed_size > r->end - r->pos)
      return fail(r, NV_PQ_ERROR, "%s", "page runs past the end of the column chunk");
    if ((uint32_t)h.uncompressed_size > NV_PQ_MAX_PAGE)
      return fail(r, NV_PQ_ERROR, "%s", "page larger than the 256 MiB limit");
    if (h.type != NV_PQ_DATA_PAGE && h.type != NV_PQ_DATA_PAGE_V2 &&
        h.type != NV_PQ_DICTIONARY_PAGE) {
      r->pos += (uint64_t)h.compressed_size; /* index pages and unknown kinds */
      continue;
    }
    if (!grow(&r->raw, &r->raw_cap, h.compressed_size ? (size_t)h.compressed_size : 1))
      return fail(r, NV_PQ_ERROR, "%s", "out of memory");
    char ioerr[NV_PQ_ERRSZ];
    if (r->src->read_at(r->src->ud, r->pos, r->raw, (size_t)h.compressed_size, ioerr, sizeof ioerr) != 0)
      return fail(r, NV_PQ_ERROR, "%s", ioerr);
    r->pos += (uint64_t)h.compressed_size;
    r->bytes += (uint64_t)h.compressed_size;
    r->pages++;
    if (h.type == NV_PQ_DICTIONARY_PAGE) {
      if (r->values_seen > 0)
        return fail(r, NV_PQ_ERROR, "%s", "dictionary page after data pages");
      rc = load_dictionary(r, &h);
      if (rc != NV_PQ_DONE) return rc;
      continue;
    }
    if ((uint64_t)h.num_values > (uint64_t)ch->num_values - r->values_seen)
      return fail(r, NV_PQ_ERROR, "%s", "data pages hold more values than the column chunk says");
    rc = data_page(r, &h, fn, ud);
    if (rc != NV_PQ_DONE) return rc;
    r->values_seen += (uint64_t)h.num_values;
  }
  return NV_PQ_DONE;
}
