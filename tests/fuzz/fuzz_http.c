/* fuzz_http.c - libFuzzer target for the object-store listing parser
 * (xmllist.c) and its time parser. The first byte picks the target: even,
 * the rest is a listing document (S3, Azure or <Error>); odd, a time
 * string. Every entry the parser returns must be well formed (key
 * NUL-terminated at key_len, etag likewise, sizes not below -1); a failed
 * parse must leave a message. Crashes, leaks and broken invariants are
 * findings. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "readers/xmllist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const char *s = (const char *)data + 1;
  size_t n = size - 1;
  if (data[0] & 1) {
    int ok;
    int64_t t = nv_xmllist_time(s, n, &ok);
    if (!ok && t != -1) abort();
    return 0;
  }
  struct nv_xmllist l;
  nv_xmllist_init(&l);
  char err[256] = "";
  int rc = nv_xmllist_parse(&l, s, n, err, sizeof err);
  if (rc != 0 && err[0] == '\0') abort();
  if (rc == 0 && (l.kind < NV_XMLLIST_S3 || l.kind > NV_XMLLIST_ERROR)) abort();
  for (size_t i = 0; i < l.n; i++) {
    const struct nv_xmllist_entry *e = &l.items[i];
    if (e->key == NULL || e->key[e->key_len] != '\0') abort();
    if (e->etag && e->etag[e->etag_len] != '\0') abort();
    if (e->size < -1) abort();
  }
  if (l.next && l.next[l.next_len] != '\0') abort();
  nv_xmllist_free(&l);
  return 0;
}
