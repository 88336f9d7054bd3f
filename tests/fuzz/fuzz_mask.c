#define _GNU_SOURCE /* memmem */
/* fuzz_mask.c - the masking filter sees every log line, including bytes
 * read from sources: it must never crash, and never let a registered
 * secret through. The first line of the input is registered as a secret. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mask.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *in = (const char *)data;
  const char *nl = memchr(in, '\n', size);
  struct nv_mask m;
  nv_mask_init(&m);
  size_t slen = nl ? (size_t)(nl - in) : 0;
  if (nl && !nv_mask_add(&m, in, slen)) abort();
  size_t outn = 0;
  char *out = nv_mask_apply(&m, in, size, &outn);
  if (out == NULL) abort();
  if (outn != strlen(out) && memchr(out, '\0', outn) == NULL) abort();
  if (slen >= NV_MASK_MIN_SECRET && memmem(out, outn, in, slen) != NULL) {
    /* a secret may only reappear if masking created it from other text,
     * which it cannot do unless the secret contains '*' */
    if (memchr(in, '*', slen) == NULL) abort();
  }
  free(out);
  nv_mask_free(&m);
  return 0;
}
