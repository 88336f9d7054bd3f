/* mask.c - secret masking (see mask.h). Single pass over the input; output
 * grows in a length-tracked buffer with overflow-checked sizes. */
#include "mask.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char STARS[] = "***";

struct outbuf {
  char *p;
  size_t n, cap;
  int oom;
};

static void out_put(struct outbuf *o, const char *s, size_t n) {
  if (o->oom || n == 0) return;
  if (n > SIZE_MAX - o->n - 1) {
    o->oom = 1;
    return;
  }
  if (o->n + n + 1 > o->cap) {
    size_t cap = o->cap ? o->cap : 64;
    while (cap < o->n + n + 1) {
      if (cap > SIZE_MAX / 2) {
        o->oom = 1;
        return;
      }
      cap *= 2;
    }
    char *np = realloc(o->p, cap);
    if (np == NULL) {
      o->oom = 1;
      return;
    }
    o->p = np;
    o->cap = cap;
  }
  memcpy(o->p + o->n, s, n);
  o->n += n;
}

void nv_mask_init(struct nv_mask *m) { memset(m, 0, sizeof *m); }

void nv_mask_free(struct nv_mask *m) {
  for (size_t i = 0; i < m->n; i++) free(m->items[i]);
  m->n = 0;
}

int nv_mask_add(struct nv_mask *m, const char *s, size_t n) {
  if (n < NV_MASK_MIN_SECRET) return 1;
  for (size_t i = 0; i < m->n; i++)
    if (m->lens[i] == n && memcmp(m->items[i], s, n) == 0) return 1;
  if (m->n >= NV_MASK_MAX_SECRETS) return 0;
  char *copy = malloc(n + 1);
  if (copy == NULL) return 0;
  memcpy(copy, s, n);
  copy[n] = '\0';
  /* keep longest first so a secret containing another is masked whole */
  size_t at = m->n;
  while (at > 0 && m->lens[at - 1] < n) {
    m->items[at] = m->items[at - 1];
    m->lens[at] = m->lens[at - 1];
    at--;
  }
  m->items[at] = copy;
  m->lens[at] = n;
  m->n++;
  return 1;
}

static int is_ident(int c) {
  return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* Keys whose value is a secret: exact names, and name suffixes. */
static const char *const exact_keys[] = {
    "sig", "signature", "password", "passwd", "pwd", "secret", "token",
    "api_key", "apikey", "accountkey", "sharedaccesskey",
    "sharedaccesssignature", "client_secret", "access_token",
    "refresh_token", "secret_key", "secretkey", "private_key", "privatekey",
    "x-amz-signature", "x-amz-credential", "x-amz-security-token",
    "x-goog-signature", "x-goog-credential", NULL};
static const char *const suffix_keys[] = {
    "_password", "_passwd", "_secret", "_token", "_api_key", "_apikey",
    "_access_key", "_secret_key", "_account_key", "-token", "-key", NULL};
/* Keys masked only as URL query parameters (after '?' or '&'): `?key=` is
 * how API keys travel (Google's), while `key=` elsewhere is harmless text —
 * a Hive partition directory `/key=2024/`, `primary key=id` in prose. */
static const char *const query_keys[] = {"key", NULL};

static int ieq_n(const char *a, size_t an, const char *b) {
  size_t bn = strlen(b);
  return an == bn && strncasecmp(a, b, bn) == 0;
}

static int in_list(const char *k, size_t n, const char *const *list) {
  for (const char *const *e = list; *e; e++)
    if (ieq_n(k, n, *e)) return 1;
  return 0;
}

/* in[start..i) is a key; prev is the byte before it (0 at the start). */
static int is_secret_key(const char *k, size_t n, int prev) {
  if (in_list(k, n, exact_keys)) return 1;
  if ((prev == '?' || prev == '&') && in_list(k, n, query_keys)) return 1;
  for (const char *const *s = suffix_keys; *s; s++) {
    size_t sn = strlen(*s);
    if (n > sn && strncasecmp(k + n - sn, *s, sn) == 0) return 1;
  }
  return 0;
}

static int value_end(int c) {
  return c == '\0' || c == '&' || c == ';' || c == ',' || c == '"' ||
         c == '\'' || c == '}' || c == ')' || c == ']' || c == '<' ||
         c == '>' || isspace((unsigned char)c);
}

/* ODBC braces a value holding ';' or '}': `PWD={a;b}}c}` is "a;b}c".
 * From the '{' at in[j], returns the index after the closing '}'. */
static size_t odbc_braced_end(const char *in, size_t n, size_t j) {
  for (j++; j < n; j++) {
    if (in[j] != '}') continue;
    if (j + 1 < n && in[j + 1] == '}') {
      j++;
      continue;
    }
    return j + 1;
  }
  return n;
}

/* At in[i] an identifier k[0..kn) ended. If it is a secret key followed by
 * a separator, emits key+separator+"***" and returns the index after the
 * value; otherwise returns 0. A value in a path segment (`/token=x/f.csv`)
 * ends at the next '/', so the rest of the path stays; elsewhere a value
 * runs through '/' (an unencoded SAS sig or X-Amz-Credential holds them). */
static size_t mask_key_value(struct outbuf *o, const char *in, size_t n,
                             size_t start, size_t i) {
  int prev = start > 0 ? (unsigned char)in[start - 1] : 0;
  if (!is_secret_key(in + start, i - start, prev)) return 0;
  size_t j = i;
  if (j < n && (in[j] == '"' || in[j] == '\'')) j++;
  while (j < n && in[j] == ' ') j++;
  if (j >= n || (in[j] != '=' && in[j] != ':')) return 0;
  int sep = in[j++];
  while (j < n && in[j] == ' ') j++;
  if (sep == '=' && j < n && in[j] == '{') { /* ODBC PWD={...} */
    size_t end = odbc_braced_end(in, n, j);
    if (end == j + 2 && in[j + 1] == '}') return 0; /* PWD={}: empty */
    out_put(o, in + start, j + 1 - start);
    out_put(o, STARS, 3);
    out_put(o, "}", 1);
    return end;
  }
  if (j < n && (in[j] == '{' || in[j] == '[')) return 0; /* a structure, not a secret value */
  int quote = 0;
  if (j < n && (in[j] == '"' || in[j] == '\'')) quote = in[j++];
  size_t v = j;
  if (quote) {
    while (j < n && in[j] != quote) {
      if (in[j] == '\\' && j + 1 < n) j++;
      j++;
    }
  } else {
    while (j < n && !value_end(in[j]) && !(prev == '/' && in[j] == '/')) j++;
  }
  if (j == v) return 0; /* empty value: nothing to hide */
  out_put(o, in + start, v - start);
  out_put(o, STARS, 3);
  return j;
}

/* "Authorization: <scheme> <credentials>" (Basic, Bearer, SharedKey, …):
 * the credentials go, the scheme stays; a bare "Authorization: <key>" goes
 * whole. At in[i] the key ended. */
static size_t mask_authorization(struct outbuf *o, const char *in, size_t n,
                                 size_t start, size_t i) {
  if (!ieq_n(in + start, i - start, "authorization")) return 0;
  size_t j = i;
  if (j < n && (in[j] == '"' || in[j] == '\'')) j++;
  while (j < n && in[j] == ' ') j++;
  if (j >= n || (in[j] != ':' && in[j] != '=')) return 0;
  j++;
  while (j < n && (in[j] == ' ' || in[j] == '"' || in[j] == '\'')) j++;
  size_t scheme = j, cred;
  while (j < n && is_ident(in[j])) j++;
  if (j > scheme && j + 1 < n && in[j] == ' ' && !isspace((unsigned char)in[j + 1]))
    cred = ++j; /* "<scheme> <credentials>" */
  else
    cred = j = scheme; /* a bare key: "Authorization: <key>" */
  while (j < n && !isspace((unsigned char)in[j]) && in[j] != '"' &&
         in[j] != '\'' && in[j] != '\\')
    j++;
  if (j == cred) return 0;
  out_put(o, in + start, cred - start);
  out_put(o, STARS, 3);
  return j;
}

/* A Databricks personal access token: "dapi" and at least 16 hex digits
 * (an optional "-<n>" suffix is part of it). in[start..i) is an identifier;
 * emits "dapi***" and returns 1 when it is one. */
static int mask_dapi(struct outbuf *o, const char *in, size_t start,
                     size_t i) {
  if (i - start < 20 || memcmp(in + start, "dapi", 4) != 0) return 0;
  size_t j = start + 4;
  while (j < i && isxdigit((unsigned char)in[j])) j++;
  if (j - (start + 4) < 16) return 0;
  if (j < i) { /* only "-digits" may follow */
    if (in[j] != '-' || j + 1 == i) return 0;
    for (j++; j < i; j++)
      if (!isdigit((unsigned char)in[j])) return 0;
  }
  out_put(o, "dapi", 4);
  out_put(o, STARS, 3);
  return 1;
}

/* "scheme://user:password@host": at in[i] == ':' of "://". Returns index
 * after the masked password, or 0 when there is no userinfo password. The
 * user holds no '/'; the password may hold '@' (the last one before the
 * first '/', '?' or '#' ends it) and, when no '@' comes before that
 * separator, '/', '?' or '#' too (AWS secret keys hold '/'): then the first
 * '@' after it ends it — unless what precedes the separator is a port and
 * the '@' is in the query or fragment ("host:8080/path?mail=a@b" has no
 * userinfo; "key:1234/abc@bucket" has). */
static size_t mask_userinfo(struct outbuf *o, const char *in, size_t n,
                            size_t i) {
  size_t a = i + 3, colon = 0, end = a, sep, at = 0, j;
  while (end < n && !isspace((unsigned char)in[end]) && in[end] != '"' && in[end] != '\'')
    end++;
  for (j = a; j < end && colon == 0; j++) {
    if (in[j] == '/' || in[j] == '?' || in[j] == '#' || in[j] == '@') return 0;
    if (in[j] == ':') colon = j;
  }
  if (colon == 0) return 0;
  for (sep = colon + 1; sep < end && in[sep] != '/' && in[sep] != '?' && in[sep] != '#'; sep++)
    if (in[sep] == '@') at = sep;
  if (at == 0) {
    if (sep == end) return 0;
    int query = 0; /* a '?' or '#' seen before the '@' */
    for (j = sep; j < end && at == 0; j++) {
      if (in[j] == '?' || in[j] == '#') query = 1;
      if (in[j] == '@') at = j;
    }
    if (at == 0) return 0;
    int port = sep > colon + 1;
    for (j = colon + 1; j < sep && port; j++) port = isdigit((unsigned char)in[j]) != 0;
    /* digits then the path: a port when the '@' is in the query or the
     * fragment ("host:8080/p?mail=a@b"), or in a web URL's path
     * ("https://h:8443/a@b"); elsewhere (s3://, postgresql://, …) the
     * '@' ends a password that starts with digits ("key:1234/abc@bucket"):
     * masking a path by mistake loses nothing, leaking a secret would */
    size_t s0 = i;
    while (s0 > 0 && (isalnum((unsigned char)in[s0 - 1]) || in[s0 - 1] == '+' || in[s0 - 1] == '-' ||
                      in[s0 - 1] == '.'))
      s0--;
    int web = (i - s0 == 4 && strncasecmp(in + s0, "http", 4) == 0) ||
              (i - s0 == 5 && strncasecmp(in + s0, "https", 5) == 0);
    if (port && (query || web)) return 0;
  }
  if (colon + 1 == at) return 0;
  out_put(o, in + i, colon + 1 - i);
  out_put(o, STARS, 3);
  return at;
}

/* Pass 1: every registered secret, longest first, becomes "***". */
static void mask_secrets(const struct nv_mask *m, const char *in, size_t n,
                         struct outbuf *o) {
  size_t i = 0;
  while (i < n && !o->oom) {
    size_t k;
    for (k = 0; k < m->n; k++)
      if (m->lens[k] <= n - i && memcmp(in + i, m->items[k], m->lens[k]) == 0)
        break;
    if (k < m->n) {
      out_put(o, STARS, 3);
      i += m->lens[k];
      continue;
    }
    size_t j = i + 1; /* copy up to the next byte that could start a secret */
    while (j < n && m->n > 0) {
      for (k = 0; k < m->n; k++)
        if (m->items[k][0] == in[j]) break;
      if (k < m->n) break;
      j++;
    }
    if (m->n == 0) j = n;
    out_put(o, in + i, j - i);
    i = j;
  }
}

/* Pass 2: values of secret-bearing keys, bearer tokens, URL passwords.
 * Runs after pass 1, so it only removes text: it cannot rebuild a secret
 * (unless the secret itself contains "***"). */
static void mask_patterns(const char *in, size_t n, struct outbuf *o) {
  size_t i = 0;
  while (i < n && !o->oom) {
    if (in[i] == ':' && i + 2 < n && in[i + 1] == '/' && in[i + 2] == '/') {
      size_t next = mask_userinfo(o, in, n, i);
      if (next) {
        i = next;
        continue;
      }
      out_put(o, in + i, 3);
      i += 3;
      continue;
    }
    if (is_ident(in[i]) && (i == 0 || !is_ident(in[i - 1]))) {
      size_t start = i;
      while (i < n && is_ident(in[i])) i++;
      if (ieq_n(in + start, i - start, "bearer") && i < n && in[i] == ' ') {
        size_t j = i + 1;
        while (j < n && !isspace((unsigned char)in[j]) && in[j] != '"' &&
               in[j] != '\'' && in[j] != '\\')
          j++;
        if (j > i + 1) {
          out_put(o, in + start, i + 1 - start);
          out_put(o, STARS, 3);
          i = j;
          continue;
        }
      }
      if (mask_dapi(o, in, start, i)) continue;
      size_t next = mask_authorization(o, in, n, start, i);
      if (!next) next = mask_key_value(o, in, n, start, i);
      if (next) {
        i = next;
        continue;
      }
      out_put(o, in + start, i - start);
      continue;
    }
    out_put(o, in + i, 1);
    i++;
  }
}

static char *finish(struct outbuf *o, size_t *outlen) {
  if (!o->oom && o->p == NULL) {
    o->p = malloc(1);
    if (o->p == NULL) o->oom = 1;
  }
  if (o->oom) {
    free(o->p);
    return NULL;
  }
  o->p[o->n] = '\0';
  *outlen = o->n;
  return o->p;
}

char *nv_mask_apply(const struct nv_mask *m, const char *in, size_t n,
                    size_t *outlen) {
  struct outbuf first = {0}, second = {0};
  size_t n1;
  mask_secrets(m, in, n, &first);
  char *p1 = finish(&first, &n1);
  if (p1 == NULL) return NULL;
  mask_patterns(p1, n1, &second);
  free(p1);
  return finish(&second, outlen);
}
