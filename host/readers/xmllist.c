/* xmllist.c - object-store listing documents (see xmllist.h). Uses expat
 * without namespace processing (S3 puts its elements in a default
 * namespace, so local names arrive unprefixed).
 *
 * Invariants: expat callbacks never allocate unboundedly and never longjmp;
 * a failure is recorded in struct parse and the parser stopped, the caller
 * reports after XML_Parse returns. The element stack records only known
 * names (0 = other); text is collected only inside a known leaf field. */
#include "xmllist.h"
#include "civil.h"

#include <expat.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

enum name {
  N_OTHER = 0,
  N_LISTBUCKET, N_ENUMERATION, N_ERROR,
  N_CONTENTS, N_KEY, N_SIZE, N_LASTMODIFIED, N_ETAG, N_ISTRUNCATED, N_NEXTTOKEN,
  N_BLOBS, N_BLOB, N_NAME, N_PROPERTIES, N_CONTENTLENGTH, N_LAST_MODIFIED, N_AZ_ETAG,
  N_NEXTMARKER, N_CODE, N_MESSAGE
};

static const struct {
  const char *s;
  enum name n;
} names[] = {
    {"ListBucketResult", N_LISTBUCKET}, {"EnumerationResults", N_ENUMERATION},
    {"Error", N_ERROR},                 {"Contents", N_CONTENTS},
    {"Key", N_KEY},                     {"Size", N_SIZE},
    {"LastModified", N_LASTMODIFIED},   {"ETag", N_ETAG},
    {"IsTruncated", N_ISTRUNCATED},     {"NextContinuationToken", N_NEXTTOKEN},
    {"Blobs", N_BLOBS},                 {"Blob", N_BLOB},
    {"Name", N_NAME},                   {"Properties", N_PROPERTIES},
    {"Content-Length", N_CONTENTLENGTH}, {"Last-Modified", N_LAST_MODIFIED},
    {"Etag", N_AZ_ETAG},                {"NextMarker", N_NEXTMARKER},
    {"Code", N_CODE},                   {"Message", N_MESSAGE},
};

enum field { F_NONE, F_KEY, F_SIZE, F_MTIME, F_ETAG, F_TRUNC, F_NEXT, F_CODE, F_MSG };

struct parse {
  XML_Parser xp;
  struct nv_xmllist *out;
  enum name stack[MAX_DEPTH];
  int depth;       /* elements open, including ones deeper than MAX_DEPTH */
  enum field field; /* the leaf being collected, F_NONE outside one */
  char text[NV_XMLLIST_MAX_TEXT + 1];
  size_t text_len;
  int in_entry;
  struct nv_xmllist_entry cur;
  char err[160];
  int failed;
};

static enum name lookup(const char *s) {
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(s, names[i].s) == 0) return names[i].n;
  return N_OTHER;
}

static void fail(struct parse *p, const char *msg) {
  if (p->failed) return;
  p->failed = 1;
  snprintf(p->err, sizeof p->err, "%s", msg);
  XML_StopParser(p->xp, XML_FALSE);
}

static char *dup_text(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d == NULL) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

static void entry_free(struct nv_xmllist_entry *e) {
  free(e->key);
  free(e->etag);
  e->key = e->etag = NULL;
}

static void entry_reset(struct nv_xmllist_entry *e) {
  memset(e, 0, sizeof *e);
  e->size = -1;
  e->mtime = INT64_MIN;
}

/* Parses a non-negative decimal; -1 when not one or over INT64_MAX. */
static int64_t parse_size(const char *s, size_t n) {
  if (n == 0 || n > 19) return -1;
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    int d = s[i] - '0';
    if (v > (INT64_MAX - d) / 10) return -1;
    v = v * 10 + d;
  }
  return v;
}

/* The leaf field for element e at depth d (1-based) given its parents. */
static enum field field_for(const struct parse *p, enum name e, int d) {
  if (d < 2 || d > MAX_DEPTH) return F_NONE;
  enum name root = p->stack[0], parent = p->stack[d - 2];
  switch (root) {
    case N_LISTBUCKET:
      if (d == 2 && e == N_ISTRUNCATED) return F_TRUNC;
      if (d == 2 && e == N_NEXTTOKEN) return F_NEXT;
      if (d == 3 && parent == N_CONTENTS) {
        if (e == N_KEY) return F_KEY;
        if (e == N_SIZE) return F_SIZE;
        if (e == N_LASTMODIFIED) return F_MTIME;
        if (e == N_ETAG) return F_ETAG;
      }
      return F_NONE;
    case N_ENUMERATION:
      if (d == 2 && e == N_NEXTMARKER) return F_NEXT;
      if (d == 4 && parent == N_BLOB && p->stack[1] == N_BLOBS && e == N_NAME) return F_KEY;
      if (d == 5 && parent == N_PROPERTIES && p->stack[2] == N_BLOB) {
        if (e == N_CONTENTLENGTH) return F_SIZE;
        if (e == N_LAST_MODIFIED) return F_MTIME;
        if (e == N_AZ_ETAG) return F_ETAG;
      }
      return F_NONE;
    case N_ERROR:
      if (d == 2 && e == N_CODE) return F_CODE;
      if (d == 2 && e == N_MESSAGE) return F_MSG;
      return F_NONE;
    default:
      return F_NONE;
  }
}

static int is_entry(const struct parse *p, enum name e, int d) {
  return (d == 2 && p->stack[0] == N_LISTBUCKET && e == N_CONTENTS) ||
         (d == 3 && p->stack[0] == N_ENUMERATION && p->stack[1] == N_BLOBS && e == N_BLOB);
}

static void XMLCALL on_start(void *ud, const XML_Char *el, const XML_Char **attrs) {
  (void)attrs;
  struct parse *p = ud;
  if (p->failed) return;
  enum name e = lookup(el);
  int d = ++p->depth;
  if (d == 1) {
    if (e != N_LISTBUCKET && e != N_ENUMERATION && e != N_ERROR) {
      fail(p, "not an object-store listing (unknown root element)");
      return;
    }
    p->out->kind = e == N_LISTBUCKET ? NV_XMLLIST_S3 : e == N_ENUMERATION ? NV_XMLLIST_AZURE : NV_XMLLIST_ERROR;
  }
  if (d <= MAX_DEPTH) p->stack[d - 1] = e;
  if (p->field != F_NONE) { /* an element inside a leaf: not ours */
    fail(p, "unexpected element inside a listing field");
    return;
  }
  if (is_entry(p, e, d)) {
    if (p->in_entry) {
      fail(p, "nested listing entry");
      return;
    }
    entry_reset(&p->cur);
    p->in_entry = 1;
    return;
  }
  enum field f = field_for(p, e, d);
  if ((f == F_KEY || f == F_SIZE || f == F_MTIME || f == F_ETAG) && !p->in_entry) f = F_NONE;
  p->field = f;
  p->text_len = 0;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len) {
  struct parse *p = ud;
  if (p->failed || p->field == F_NONE || len <= 0) return;
  if ((size_t)len > NV_XMLLIST_MAX_TEXT - p->text_len) {
    fail(p, "listing field longer than 8192 bytes");
    return;
  }
  memcpy(p->text + p->text_len, s, (size_t)len);
  p->text_len += (size_t)len;
}

static int set_str(char **dst, size_t *dlen, const char *s, size_t n) {
  char *d = dup_text(s, n);
  if (d == NULL) return -1;
  free(*dst);
  *dst = d;
  if (dlen) *dlen = n;
  return 0;
}

static void end_entry(struct parse *p) {
  struct nv_xmllist *l = p->out;
  p->in_entry = 0;
  if (p->cur.key == NULL) {
    entry_free(&p->cur);
    fail(p, "listing entry without a key");
    return;
  }
  if (l->n >= NV_XMLLIST_MAX_ENTRIES) {
    entry_free(&p->cur);
    fail(p, "more than 100000 entries in one listing page");
    return;
  }
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    struct nv_xmllist_entry *items = realloc(l->items, cap * sizeof *items);
    if (items == NULL) {
      entry_free(&p->cur);
      fail(p, "out of memory");
      return;
    }
    l->items = items;
    l->cap = cap;
  }
  l->items[l->n++] = p->cur;
  entry_reset(&p->cur);
}

static void XMLCALL on_end(void *ud, const XML_Char *el) {
  (void)el;
  struct parse *p = ud;
  if (p->failed) return;
  int d = p->depth--;
  enum name e = d <= MAX_DEPTH ? p->stack[d - 1] : N_OTHER;
  if (p->in_entry && p->field == F_NONE && is_entry(p, e, d)) {
    end_entry(p);
    return;
  }
  enum field f = p->field;
  if (f == F_NONE) return;
  p->field = F_NONE;
  const char *t = p->text;
  size_t n = p->text_len;
  struct nv_xmllist *l = p->out;
  int rc = 0;
  int ok = 1;
  switch (f) {
    case F_KEY:
      rc = set_str(&p->cur.key, &p->cur.key_len, t, n);
      break;
    case F_ETAG:
      rc = set_str(&p->cur.etag, &p->cur.etag_len, t, n);
      break;
    case F_SIZE:
      p->cur.size = parse_size(t, n);
      break;
    case F_MTIME: {
      int64_t v = nv_xmllist_time(t, n, &ok);
      p->cur.mtime = ok ? v : INT64_MIN;
      break;
    }
    case F_TRUNC:
      l->truncated = n == 4 && memcmp(t, "true", 4) == 0;
      break;
    case F_NEXT:
      if (n > 0) {
        rc = set_str(&l->next, &l->next_len, t, n);
        if (l->kind == NV_XMLLIST_AZURE) l->truncated = 1;
      }
      break;
    case F_CODE:
      rc = set_str(&l->code, NULL, t, n);
      break;
    case F_MSG:
      rc = set_str(&l->message, NULL, t, n);
      break;
    case F_NONE:
      break;
  }
  if (rc != 0) fail(p, "out of memory");
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal) {
  (void)name, (void)sysid, (void)pubid, (void)has_internal;
  fail(ud, "DOCTYPE declarations are not accepted in a listing");
}

void nv_xmllist_init(struct nv_xmllist *l) { memset(l, 0, sizeof *l); }

void nv_xmllist_free(struct nv_xmllist *l) {
  for (size_t i = 0; i < l->n; i++) entry_free(&l->items[i]);
  free(l->items);
  free(l->next);
  free(l->code);
  free(l->message);
  nv_xmllist_init(l);
}

int nv_xmllist_parse(struct nv_xmllist *l, const char *xml, size_t n, char *err, size_t errsz) {
  if (n > INT_MAX) {
    snprintf(err, errsz, "listing document too large");
    return -1;
  }
  struct parse *p = calloc(1, sizeof *p);
  if (p == NULL) {
    snprintf(err, errsz, "out of memory");
    return -1;
  }
  p->out = l;
  entry_reset(&p->cur);
  p->xp = XML_ParserCreate("UTF-8");
  if (p->xp == NULL) {
    free(p);
    snprintf(err, errsz, "out of memory");
    return -1;
  }
  XML_SetUserData(p->xp, p);
  XML_SetElementHandler(p->xp, on_start, on_end);
  XML_SetCharacterDataHandler(p->xp, on_text);
  XML_SetStartDoctypeDeclHandler(p->xp, on_doctype);
  enum XML_Status st = XML_Parse(p->xp, xml, (int)n, XML_TRUE);
  int rc = 0;
  if (p->failed) {
    snprintf(err, errsz, "%s", p->err);
    rc = -1;
  } else if (st != XML_STATUS_OK) {
    snprintf(err, errsz, "malformed XML at line %lu: %s",
             (unsigned long)XML_GetCurrentLineNumber(p->xp),
             XML_ErrorString(XML_GetErrorCode(p->xp)));
    rc = -1;
  } else if (l->kind == 0) {
    snprintf(err, errsz, "empty listing document");
    rc = -1;
  }
  entry_free(&p->cur);
  XML_ParserFree(p->xp);
  free(p);
  return rc;
}

/* ---- times ------------------------------------------------------------- */


/* Reads exactly w digits at s[*i]; -1 when not digits. */
static int digits(const char *s, size_t n, size_t *i, int w) {
  if (*i + (size_t)w > n) return -1;
  int v = 0;
  for (int k = 0; k < w; k++) {
    char c = s[*i + (size_t)k];
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  *i += (size_t)w;
  return v;
}

static int expect(const char *s, size_t n, size_t *i, char c) {
  if (*i >= n || s[*i] != c) return 0;
  (*i)++;
  return 1;
}

static int64_t make_time(int y, int mo, int d, int h, int mi, int se, int *ok) {
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
    *ok = 0;
    return -1;
  }
  *ok = 1;
  return nv_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
}

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

int64_t nv_xmllist_time(const char *s, size_t n, int *ok) {
  size_t i = 0;
  *ok = 0;
  if (n >= 10 && s[4] == '-') { /* ISO 8601 */
    int y = digits(s, n, &i, 4);
    if (y < 0 || !expect(s, n, &i, '-')) return -1;
    int mo = digits(s, n, &i, 2);
    if (mo < 0 || !expect(s, n, &i, '-')) return -1;
    int d = digits(s, n, &i, 2);
    if (d < 0 || !expect(s, n, &i, 'T')) return -1;
    int h = digits(s, n, &i, 2);
    if (h < 0 || !expect(s, n, &i, ':')) return -1;
    int mi = digits(s, n, &i, 2);
    if (mi < 0 || !expect(s, n, &i, ':')) return -1;
    int se = digits(s, n, &i, 2);
    if (se < 0) return -1;
    if (i < n && s[i] == '.') {
      i++;
      while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (!expect(s, n, &i, 'Z') || i != n) return -1;
    return make_time(y, mo, d, h, mi, se, ok);
  }
  /* RFC 1123: "Www, DD Mon YYYY HH:MM:SS GMT" */
  if (n != 29 || s[3] != ',' || s[4] != ' ') return -1;
  i = 5;
  int d = digits(s, n, &i, 2);
  if (d < 0 || !expect(s, n, &i, ' ')) return -1;
  int mo = 0;
  for (int k = 0; k < 12; k++)
    if (memcmp(s + i, months + 3 * k, 3) == 0) mo = k + 1;
  if (mo == 0) return -1;
  i += 3;
  if (!expect(s, n, &i, ' ')) return -1;
  int y = digits(s, n, &i, 4);
  if (y < 0 || !expect(s, n, &i, ' ')) return -1;
  int h = digits(s, n, &i, 2);
  if (h < 0 || !expect(s, n, &i, ':')) return -1;
  int mi = digits(s, n, &i, 2);
  if (mi < 0 || !expect(s, n, &i, ':')) return -1;
  int se = digits(s, n, &i, 2);
  if (se < 0 || !expect(s, n, &i, ' ')) return -1;
  if (memcmp(s + i, "GMT", 3) != 0) return -1;
  return make_time(y, mo, d, h, mi, se, ok);
}
