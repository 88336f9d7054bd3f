/* fuzz_json.c - libFuzzer target for the streaming JSON parser
 * (json_parse.c). The first two bytes pick the options and the chunking;
 * the rest is the document. Its layout is sniffed whole and byte by byte
 * (both must agree); then it is parsed whole and in chunks (sizes drawn
 * from the input), stopping after some records, in the chosen layout (the
 * object layout with the sniffed records key, or "data"); both runs must
 * agree on every record, bad record and fatal error, and each record's
 * text must walk cleanly. Crashes, leaks and disagreements are findings. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "readers/json_parse.h"

struct trace {
  uint64_t hash, records, bad;
  struct nv_json_parser *p;
  int stop_every;
};

static void mix(struct trace *t, const void *d, size_t n) {
  const unsigned char *b = d;
  for (size_t i = 0; i < n; i++) t->hash = (t->hash ^ b[i]) * 1099511628211ull;
}

static int v_begin(void *ud, char k, const char *at) { (void)ud; (void)k; (void)at; return 0; }
static int v_end(void *ud, char k, const char *at) { (void)ud; (void)k; (void)at; return 0; }
static int v_key(void *ud, const char *s, size_t n) { (void)ud; (void)s; (void)n; return 0; }
static int v_scalar(void *ud, const struct nv_json_value *v) { (void)ud; (void)v; return 0; }

static int on_record(void *ud, const struct nv_json_record *r) {
  struct trace *t = ud;
  t->records++;
  mix(t, &r->recno, sizeof r->recno);
  mix(t, &r->offset, sizeof r->offset);
  mix(t, r->text, r->text_len);
  for (size_t i = 0; i < r->nfields; i++) {
    const struct nv_json_field *f = &r->fields[i];
    mix(t, f->path, f->path_len);
    mix(t, &f->v.kind, 1);
    if (f->v.kind == 's' || f->v.kind == 'a' || f->v.kind == 'o') mix(t, f->v.str, f->v.len);
    if (f->v.kind == 'i') mix(t, &f->v.i, sizeof f->v.i);
    mix(t, &f->elems, sizeof f->elems);
  }
  struct nv_json_visitor v = {v_begin, v_end, v_key, v_scalar, NULL};
  char err[128];
  if (!nv_json_walk(t->p, r->text, r->text_len, &v, err, sizeof err)) __builtin_trap();
  return t->stop_every && t->records % (uint64_t)t->stop_every == 0;
}

static int on_bad(void *ud, const struct nv_json_bad *b) {
  struct trace *t = ud;
  t->bad++;
  mix(t, b->msg, strlen(b->msg));
  return 0;
}

static void run(const uint8_t *d, size_t n, const struct nv_json_config *cfg, const uint8_t *sizes, size_t nsizes,
                int stop_every, struct trace *t) {
  memset(t, 0, sizeof *t);
  t->hash = 1469598103934665603ull;
  t->stop_every = stop_every;
  struct nv_json_handler h = {on_record, on_bad, t};
  t->p = nv_json_new(cfg, &h);
  if (t->p == NULL) return;
  size_t pos = 0, k = 0;
  int rc = NV_JSON_OK;
  while (pos < n && rc != NV_JSON_FAIL) {
    size_t len = n - pos;
    if (nsizes) {
      size_t want = (size_t)sizes[k++ % nsizes] % 17 + 1;
      if (want < len) len = want;
    }
    size_t used;
    rc = nv_json_feed(t->p, (const char *)d + pos, len, &used);
    if (used > len || (rc == NV_JSON_OK && used != len)) __builtin_trap();
    pos += used;
  }
  if (rc != NV_JSON_FAIL)
    while ((rc = nv_json_finish(t->p)) == NV_JSON_STOP) {
    }
  if (rc == NV_JSON_FAIL) mix(t, nv_json_error(t->p), strlen(nv_json_error(t->p)));
  nv_json_free(t->p);
  t->p = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  if (n < 2) return 0;
  struct nv_json_config cfg = {0};
  const uint8_t *doc = d + 2;
  size_t len = n - 2;
  /* the reader's sniff score (reader.h): in range for any bytes and hint */
  int sc = nv_json_sniff_score(doc, len, d[0] & 1, (int)(d[1] % 3) - 1);
  if (sc < 0 || sc > 100) __builtin_trap();
  struct nv_json_sniff whole_sn, bytes_sn;
  nv_json_sniff_init(&whole_sn);
  nv_json_sniff_feed(&whole_sn, (const char *)doc, len);
  nv_json_sniff_end(&whole_sn, 1);
  nv_json_sniff_init(&bytes_sn);
  for (size_t i = 0; i < len && !bytes_sn.done; i++) nv_json_sniff_feed(&bytes_sn, (const char *)doc + i, 1);
  nv_json_sniff_end(&bytes_sn, 1);
  if (whole_sn.format != bytes_sn.format || whole_sn.records_path_len != bytes_sn.records_path_len ||
      memcmp(whole_sn.records_path, bytes_sn.records_path, whole_sn.records_path_len) != 0)
    __builtin_trap();
  cfg.format = (enum nv_json_format)(d[0] % 6 == 5 ? whole_sn.format : d[0] % 6);
  if (cfg.format == NV_JSON_OBJECT) {
    cfg.records_path = whole_sn.records_path_len ? whole_sn.records_path : "data";
    cfg.records_path_len = whole_sn.records_path_len ? whole_sn.records_path_len : 4;
  }
  cfg.max_depth = (d[0] >> 2) & 1 ? 4 : 0;
  cfg.max_record_bytes = (d[0] >> 3) & 1 ? 64 : 0;
  cfg.max_array_text = (d[0] >> 4) & 1 ? 3 : 0;
  cfg.flatten = !((d[0] >> 5) & 1);
  int stop_every = d[1] % 4;
  struct trace whole, chunked;
  run(doc, len, &cfg, NULL, 0, 0, &whole);
  run(doc, len, &cfg, doc, len < 64 ? len : 64, stop_every, &chunked);
  if (whole.hash != chunked.hash || whole.records != chunked.records || whole.bad != chunked.bad) __builtin_trap();
  return 0;
}
