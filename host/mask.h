/* mask.h - the secret-masking filter every log line, stored parameter and
 * job result passes through (pure C, no Lua).
 *
 * Masks (a) every registered secret value, wherever it occurs, and
 * (b) values of well-known secret-bearing keys whatever their value:
 * `sig=…` (SAS), `password=…`, `AccountKey=…`, `"api_key": "…"`,
 * `Authorization: Bearer …`, and `user:password@` in URLs.
 * Each masked value becomes "***". */
#ifndef NV_MASK_H
#define NV_MASK_H

#include <stddef.h>

#define NV_MASK_MIN_SECRET 4   /* shorter values are not registered */
#define NV_MASK_MAX_SECRETS 256

struct nv_mask {
  char *items[NV_MASK_MAX_SECRETS];
  size_t lens[NV_MASK_MAX_SECRETS];
  size_t n;
};

void nv_mask_init(struct nv_mask *m);
void nv_mask_free(struct nv_mask *m);

/* Registers a secret. Returns 1 if registered (or already known, or too
 * short to be meaningful), 0 when out of memory or the table is full. */
int nv_mask_add(struct nv_mask *m, const char *s, size_t n);

/* Returns a malloc'd, NUL-terminated masked copy of in[0..n) and its length
 * in *outlen; NULL when out of memory. The caller frees it. */
char *nv_mask_apply(const struct nv_mask *m, const char *in, size_t n,
                    size_t *outlen);

#endif
