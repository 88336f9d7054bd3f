/* profiler_serial.c - a whole profiler as bytes and back (profiler.h's
 * nv_profiler_dump / nv_profiler_load): what a file's profile is kept as
 * between runs (incremental runs reuse it, shards hand it to a merge).
 *
 * Layout: "NVPROF" 0 0, u32 version, the profiler, u64 checksum (nv_hash64
 * of everything before it). Integers little-endian (serial_buf.h). The
 * bytes come back from a store or a shard's output, so the loader trusts
 * nothing: every length and count is bounded before use, indices are
 * checked, derived state (hash slots, sketch lookup tables) is rebuilt,
 * and a checksum mismatch is refused before any of it. A loaded
 * profiler gives the same result and merges as the one dumped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiler.h"
#include "profiler_types.h"
#include "serial_buf.h"

#define MAGIC "NVPROF\0\0"
#define VERSION 1u
#define NAME_MAX_BYTES (1u << 20)
#define NATIVE_MAX_BYTES 4096u

static void dump_numacc(const struct numacc *a, struct nv_wbuf *w) {
  nv_wb_u64(w, a->n);
  nv_wb_f64(w, a->mean);
  nv_wb_f64(w, a->m2);
  nv_wb_f64(w, a->min);
  nv_wb_f64(w, a->max);
  nv_wb_u32(w, a->nbuf);
  for (uint32_t i = 0; i < a->nbuf; i++) nv_wb_f64(w, a->buf[i]);
  nv_wb_u64(w, (uint64_t)a->imin);
  nv_wb_u64(w, (uint64_t)a->imax);
  nv_wb_u8(w, (uint8_t)(a->all_int != 0));
  nv_kll_dump(&a->kll, w);
}

static void dump_column(const struct column *c, struct nv_wbuf *w) {
  nv_wb_str(w, c->name, (uint32_t)c->name_len);
  nv_wb_u8(w, c->native != NULL);
  if (c->native) nv_wb_str(w, c->native, (uint32_t)strlen(c->native));
  nv_wb_u64(w, c->present);
  nv_wb_u64(w, c->nulls);
  nv_wb_u64(w, c->empties);
  nv_wb_u64(w, c->nonempty);
  for (int t = 0; t < NV_PT_NTYPES; t++) nv_wb_u64(w, c->tcount[t]);
  nv_wb_u64(w, c->len_n);
  nv_wb_u64(w, c->len_sum);
  nv_wb_u64(w, c->len_min);
  nv_wb_u64(w, c->len_max);
  for (int f = 0; f < 4; f++) nv_wb_u64(w, c->forms[f]);
  for (int e = 0; e < EXT_N; e++) {
    nv_wb_u64(w, c->ext[e].n);
    nv_wb_u64(w, (uint64_t)c->ext[e].min);
    nv_wb_u64(w, (uint64_t)c->ext[e].max);
    nv_wb_u8(w, c->ext[e].min_z);
    nv_wb_u8(w, c->ext[e].max_z);
  }
  dump_numacc(&c->num[0], w);
  dump_numacc(&c->num[1], w);
  nv_wb_u64(w, c->code);
  nv_wb_u64(w, c->big.n);
  nv_wb_u8(w, (uint8_t)(c->big.lost != 0));
  nv_wb_f64(w, c->big.dmin);
  nv_wb_f64(w, c->big.dmax);
  nv_wb_str(w, c->big.min, c->big.lmin);
  nv_wb_str(w, c->big.max, c->big.lmax);
  nv_wb_u8(w, (uint8_t)(c->spilled != 0));
  nv_freq_dump(&c->freq, w);
  nv_distinct_dump(&c->distinct, w);
  nv_wb_u8(w, c->topk != NULL);
  if (c->topk) nv_topk_dump(c->topk, w);
  nv_wb_u8(w, (uint8_t)(c->has_text_ext != 0));
  nv_wb_u64(w, c->pmin);
  nv_wb_u64(w, c->pmax);
  nv_wb_str(w, c->smin.v, c->smin.len);
  nv_wb_str(w, c->smax.v, c->smax.len);
  nv_wb_u32(w, c->nsamples);
  for (uint32_t i = 0; i < c->nsamples; i++) {
    nv_wb_u64(w, c->samples[i].hash);
    nv_wb_str(w, c->samples[i].v, c->samples[i].len);
  }
  for (int t = 0; t < NV_PT_NTYPES; t++) {
    nv_wb_u8(w, c->ninv[t]);
    for (uint8_t i = 0; i < c->ninv[t]; i++) {
      nv_wb_u64(w, c->inv[t][i].seq);
      nv_wb_str(w, c->inv[t][i].v, c->inv[t][i].len);
    }
  }
  nv_wb_u32(w, (uint32_t)c->hint);
}

int nv_profiler_dump(const struct nv_profiler *p, unsigned char **out, size_t *n) {
  struct nv_wbuf w = {NULL, 0, 0, 0};
  nv_wb_bytes(&w, MAGIC, 8);
  nv_wb_u32(&w, VERSION);
  nv_wb_u32(&w, NV_PT_NTYPES); /* the classifier's types, in its order */
  nv_wb_u64(&w, p->rows);
  nv_wb_u64(&w, (uint64_t)p->max_columns);
  nv_wb_u64(&w, (uint64_t)p->budget.limit);
  nv_wb_u64(&w, p->dropped);
  nv_freq_dump(&p->dropped_names, &w);
  nv_wb_u32(&w, (uint32_t)p->ncols);
  for (size_t i = 0; i < p->ncols; i++) dump_column(p->cols[i], &w);
  if (!w.oom) nv_wb_u64(&w, nv_hash64(w.p, w.n));
  if (w.oom) {
    free(w.p);
    return 0;
  }
  *out = w.p;
  *n = w.n;
  return 1;
}

/* ---- loading ------------------------------------------------------------- */

static int load_numacc(struct numacc *a, struct nv_rbuf *r, int *oom) {
  a->n = nv_rb_u64(r);
  a->mean = nv_rb_f64(r);
  a->m2 = nv_rb_f64(r);
  a->min = nv_rb_f64(r);
  a->max = nv_rb_f64(r);
  a->nbuf = nv_rb_u32(r);
  if (r->bad || a->nbuf > NUM_BATCH || a->nbuf > a->n) return r->bad = 1, 0;
  for (uint32_t i = 0; i < a->nbuf; i++) a->buf[i] = nv_rb_f64(r);
  a->imin = (int64_t)nv_rb_u64(r);
  a->imax = (int64_t)nv_rb_u64(r);
  uint8_t all_int = nv_rb_u8(r);
  if (r->bad || all_int > 1) return r->bad = 1, 0;
  a->all_int = all_int;
  return nv_kll_load(&a->kll, r, oom);
}

static int load_text(struct nv_rbuf *r, char *out, uint32_t max, uint32_t *len) {
  return nv_rb_str(r, out, max, len);
}

/* Fills the fresh column c (made by nv_profiler_column) from r. */
static int load_column(struct column *c, struct nv_rbuf *r, int *oom) {
  uint8_t has_native = nv_rb_u8(r);
  if (r->bad || has_native > 1) return r->bad = 1, 0;
  if (has_native) {
    char buf[NATIVE_MAX_BYTES + 1];
    uint32_t len;
    if (!load_text(r, buf, NATIVE_MAX_BYTES, &len) || memchr(buf, '\0', len)) return r->bad = 1, 0;
    buf[len] = '\0';
    if (!(c->native = malloc(len + 1))) return *oom = 1, 0;
    memcpy(c->native, buf, len + 1);
  }
  c->present = nv_rb_u64(r);
  c->nulls = nv_rb_u64(r);
  c->empties = nv_rb_u64(r);
  c->nonempty = nv_rb_u64(r);
  uint64_t typed = 0;
  for (int t = 0; t < NV_PT_NTYPES; t++) typed += c->tcount[t] = nv_rb_u64(r);
  c->len_n = nv_rb_u64(r);
  c->len_sum = nv_rb_u64(r);
  c->len_min = nv_rb_u64(r);
  c->len_max = nv_rb_u64(r);
  for (int f = 0; f < 4; f++) c->forms[f] = nv_rb_u64(r);
  if (r->bad || typed != c->nonempty || c->nulls > c->present || c->empties > c->present - c->nulls ||
      c->nonempty != c->present - c->nulls - c->empties)
    return r->bad = 1, 0; /* the engine's invariant: types sum to the non-empty values */
  for (int e = 0; e < EXT_N; e++) {
    c->ext[e].n = nv_rb_u64(r);
    c->ext[e].min = (int64_t)nv_rb_u64(r);
    c->ext[e].max = (int64_t)nv_rb_u64(r);
    c->ext[e].min_z = nv_rb_u8(r);
    c->ext[e].max_z = nv_rb_u8(r);
    if (c->ext[e].min_z > 1 || c->ext[e].max_z > 1) return r->bad = 1, 0;
  }
  if (!load_numacc(&c->num[0], r, oom) || !load_numacc(&c->num[1], r, oom)) return 0;
  c->code = nv_rb_u64(r);
  c->big.n = nv_rb_u64(r);
  uint8_t lost = nv_rb_u8(r);
  c->big.dmin = nv_rb_f64(r);
  c->big.dmax = nv_rb_f64(r);
  if (r->bad || lost > 1 || !load_text(r, c->big.min, BIG_MAX, &c->big.lmin) ||
      !load_text(r, c->big.max, BIG_MAX, &c->big.lmax))
    return r->bad = 1, 0;
  c->big.lost = lost;
  uint8_t spilled = nv_rb_u8(r);
  if (r->bad || spilled > 1) return r->bad = 1, 0;
  c->spilled = spilled;
  if (!nv_freq_load(&c->freq, r, oom) || !nv_distinct_load(&c->distinct, r, oom)) return 0;
  uint8_t has_topk = nv_rb_u8(r);
  if (r->bad || has_topk != spilled || (spilled && c->freq.n)) return r->bad = 1, 0; /* a spilled column's table is empty */
  if (has_topk) {
    if (!(c->topk = malloc(sizeof *c->topk))) return *oom = 1, 0;
    if (!nv_topk_load(c->topk, r)) return 0;
  }
  uint8_t has_text_ext = nv_rb_u8(r);
  c->pmin = nv_rb_u64(r);
  c->pmax = nv_rb_u64(r);
  if (r->bad || has_text_ext > 1 || !load_text(r, c->smin.v, NV_PROFILE_VALUE_MAX, &c->smin.len) ||
      !load_text(r, c->smax.v, NV_PROFILE_VALUE_MAX, &c->smax.len))
    return r->bad = 1, 0;
  c->has_text_ext = has_text_ext;
  c->nsamples = nv_rb_u32(r);
  if (r->bad || c->nsamples > NV_PROFILE_SAMPLES) return r->bad = 1, 0;
  for (uint32_t i = 0; i < c->nsamples; i++) {
    c->samples[i].hash = nv_rb_u64(r);
    if (!load_text(r, c->samples[i].v, NV_PROFILE_VALUE_MAX, &c->samples[i].len)) return 0;
  }
  for (int t = 0; t < NV_PT_NTYPES; t++) {
    c->ninv[t] = nv_rb_u8(r);
    if (r->bad || c->ninv[t] > NV_PROFILE_INVALID) return r->bad = 1, 0;
    for (uint8_t i = 0; i < c->ninv[t]; i++) {
      c->inv[t][i].seq = nv_rb_u64(r);
      if (!load_text(r, c->inv[t][i].v, NV_PROFILE_INVALID_MAX, &c->inv[t][i].len)) return 0;
    }
  }
  uint32_t hint = nv_rb_u32(r);
  if (r->bad || hint >= NV_PT_NTYPES) return r->bad = 1, 0;
  c->hint = (int)hint;
  return 1;
}

struct nv_profiler *nv_profiler_load(const void *bytes, size_t n, char *err, size_t errsz) {
  struct nv_rbuf r = {bytes, n, 0, 0};
  int oom = 0;
  if (n < 8 + 4 + 8 || memcmp(bytes, MAGIC, 8) != 0) {
    snprintf(err, errsz, "not a serialised profile");
    return NULL;
  }
  struct nv_rbuf tail = {(const unsigned char *)bytes + n - 8, 8, 0, 0};
  if (nv_rb_u64(&tail) != nv_hash64(bytes, n - 8)) {
    snprintf(err, errsz, "serialised profile: checksum mismatch (damaged or truncated)");
    return NULL;
  }
  r.n = n - 8;
  (void)nv_rb_take(&r, 8);
  uint32_t version = nv_rb_u32(&r), ntypes = nv_rb_u32(&r);
  if (version != VERSION || ntypes != NV_PT_NTYPES) {
    snprintf(err, errsz, "serialised profile: version %u with %u types, this build reads version %u with %u",
             version, ntypes, VERSION, (unsigned)NV_PT_NTYPES);
    return NULL;
  }
  struct nv_profiler *p = nv_profiler_new();
  if (p == NULL) goto oom;
  uint64_t rows = nv_rb_u64(&r), max_columns = nv_rb_u64(&r), budget = nv_rb_u64(&r), dropped = nv_rb_u64(&r);
  if (r.bad || max_columns > (uint64_t)NV_PROFILER_MAX_COLUMNS * 1000 || budget > ((uint64_t)1 << 40)) goto bad;
  p->rows = rows;
  p->dropped = dropped;
  p->max_columns = (size_t)max_columns;
  p->budget.limit = (size_t)budget;
  if (!nv_freq_load(&p->dropped_names, &r, &oom)) goto fail;
  if (dropped < p->dropped_names.n) goto bad; /* each kept name was counted */
  uint32_t ncols = nv_rb_u32(&r);
  if (r.bad || ncols > max_columns) goto bad;
  for (uint32_t i = 0; i < ncols; i++) {
    uint32_t len = nv_rb_u32(&r);
    const unsigned char *name = len <= NAME_MAX_BYTES ? nv_rb_take(&r, len) : NULL;
    if (name == NULL) goto bad;
    long j = nv_profiler_column(p, (const char *)name, len);
    if (j < 0) goto oom;
    if ((size_t)j != i) goto bad; /* a repeated name (or past max_columns) */
    if (!load_column(p->cols[i], &r, &oom)) goto fail;
  }
  if (r.bad || r.pos != r.n) goto bad;
  return p;
fail:
  if (oom) goto oom;
bad:
  nv_profiler_free(p);
  snprintf(err, errsz, "serialised profile: malformed at byte %zu", r.pos);
  return NULL;
oom:
  nv_profiler_free(p);
  snprintf(err, errsz, "out of memory");
  return NULL;
}
