/* json_parse.c - streaming JSON record parser; see json_parse.h.
 *
 * Two layers:
 *   framing  (resumable, byte at a time across chunks) cuts the input into
 *            complete record texts: NDJSON lines found with memchr, or the
 *            elements of the top-level array (or of the values layout, or
 *            of the object layout's records array, reached by walking the
 *            top-level members and skipping the others unbuffered) found by
 *            a small scanner that tracks strings, escapes and brackets. A
 *            record that fits in the chunk is parsed in place; one that
 *            spans chunks is copied into `rec` (bounded by max_record_bytes).
 * The layout sniffer is json_sniff.c.
 *   parsing  (over one complete record) is a recursive descent, depth
 *            bounded by max_depth, reporting events to a visitor. The
 *            flattening visitor collects a record's fields into `ev` and
 *            `arena` (reused across records, so no allocation per value)
 *            and the record is handed over only once it parsed completely:
 *            a caller never sees half of a malformed record.
 * Uses only libc. */
#include "json_parse.h"

#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_RECORD ((size_t)16 << 20)
#define DEFAULT_MAX_DEPTH 64u
#define DEFAULT_MAX_ARRAY_TEXT ((size_t)4096)

/* framing states of the array and values layouts */
enum { A_OPEN, A_FIRST, A_VALUE, A_IN, A_AFTER, A_DONE };
/* framing states of the object layout (around its records array) */
enum { O_OPEN, O_KEY0, O_KEY, O_KEYSTR, O_COLON, O_VAL, O_SKIP, O_ARR, O_AFTER, O_DONE };
/* what the records are, decided by the first valid one */
enum { M_NONE, M_OBJECTS, M_SCALARS };

/* what went wrong while parsing one record */
enum { E_NONE, E_SYNTAX, E_DEPTH, E_LIMIT, E_OOM, E_ABORT };

struct ftmp { /* one flattened field while its record is being parsed */
  size_t path_off, path_len;
  char kind;
  int in_arena; /* str is arena[off..] (decoded) or text[off..] */
  size_t off, len;
  int64_t i;
  double d;
  unsigned elems;
  int truncated;
};

struct flat {
  const char *base; /* the record text */
  char *path;
  size_t path_len, path_cap;
  size_t *prefix;    /* [olevel]: path length where this object's keys start */
  unsigned *members; /* [olevel]: keys seen in this object */
  unsigned olevel;   /* object nesting outside arrays (1 = the record) */
  unsigned anest;    /* nesting inside an array value; 0 = not in one */
  const char *astart;
  unsigned aelems;
  struct ftmp *ev;
  size_t nev, evcap;
  char *arena;
  size_t alen, acap;
  size_t budget; /* bound on arena + path bytes for one record */
  struct nv_json_field *fields;
  size_t fcap;
};

struct nv_json_parser {
  struct nv_json_config cfg;
  struct nv_json_handler h;
  enum nv_json_format fmt;
  int failed;
  char err[384];
  struct nv_json_stats st;
  uint64_t pos;    /* absolute offset of the next byte to consume */
  uint64_t recno;  /* records started (valid + skipped) */
  uint64_t line;   /* NDJSON: number of the line being read */
  uint64_t auto_nl; /* newlines consumed while the layout was undecided */

  char *rec; /* a record spanning chunks */
  size_t rec_len, rec_cap;
  uint64_t rec_off;

  int astate;
  char afirst;          /* first byte of the element being framed */
  size_t adepth;        /* bracket depth inside the element */
  int in_str, esc;
  unsigned char *astack; /* bracket kinds, first max_depth levels */

  int mode; /* M_*: non-object records are values or bad records */

  int ostate;       /* object layout */
  char okey[NV_JSON_KEY_MAX];
  size_t okey_len;
  int okey_over;    /* the key was longer than okey: it matches nothing */
  int opath_used;   /* the records array was read */
  size_t odepth;    /* bracket depth inside a skipped member value */

  char *scratch; /* decoded strings with escapes, long numbers */
  size_t scratch_cap;
  struct flat f;
};

/* ---- parsing one complete value ------------------------------------- */

struct pctx {
  struct nv_json_parser *p;
  const char *end;
  const struct nv_json_visitor *v; /* NULL: validate only */
  unsigned depth, max_depth;
  int ekind;
  const char *errpos;
  const char *errmsg;
  char msgbuf[64];
};

/* 0 plain, 1 quote, 2 backslash, 3 control, 4 non-ASCII */
static const unsigned char strclass[256] = {
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4};

static int is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static const char *skip_ws(const char *s, const char *end) {
  while (s < end && is_ws((unsigned char)*s)) s++;
  return s;
}

static const char *perr(struct pctx *c, int kind, const char *at, const char *msg) {
  if (c->ekind == E_NONE) {
    c->ekind = kind;
    c->errpos = at;
    c->errmsg = msg;
  }
  return NULL;
}

/* Grows *buf to hold need bytes; 0 when out of memory. */
static int reserve(char **buf, size_t *cap, size_t need) {
  if (need <= *cap) return 1;
  size_t ncap = *cap ? *cap : 256;
  while (ncap < need) {
    if (ncap > SIZE_MAX / 2) {
      ncap = need;
      break;
    }
    ncap *= 2;
  }
  char *nb = realloc(*buf, ncap);
  if (nb == NULL) return 0;
  *buf = nb;
  *cap = ncap;
  return 1;
}

/* Length of the valid UTF-8 sequence at s (non-ASCII lead), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, const unsigned char *end) {
  unsigned char c = s[0];
  size_t avail = (size_t)(end - s);
  if (c >= 0xC2 && c <= 0xDF) return (avail >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (avail < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && s[1] < 0xA0) return 0;  /* overlong */
    if (c == 0xED && s[1] >= 0xA0) return 0; /* surrogate */
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (avail < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
    if (c == 0xF0 && s[1] < 0x90) return 0; /* overlong */
    if (c == 0xF4 && s[1] >= 0x90) return 0; /* > U+10FFFF */
    return 4;
  }
  return 0;
}

static int hex4(const char *s, const char *end, unsigned *out) {
  if (end - s < 4) return 0;
  unsigned v = 0;
  for (int k = 0; k < 4; k++) {
    unsigned char ch = (unsigned char)s[k];
    unsigned d;
    if (ch >= '0' && ch <= '9') d = ch - '0';
    else if (ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
    else return 0;
    v = v * 16 + d;
  }
  *out = v;
  return 1;
}

static char *put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) {
    *o++ = (char)cp;
  } else if (cp < 0x800) {
    *o++ = (char)(0xC0 | (cp >> 6));
    *o++ = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *o++ = (char)(0xE0 | (cp >> 12));
    *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *o++ = (char)(0x80 | (cp & 0x3F));
  } else {
    *o++ = (char)(0xF0 | (cp >> 18));
    *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
    *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *o++ = (char)(0x80 | (cp & 0x3F));
  }
  return o;
}

/* s at the opening quote. A string without escapes is returned in place;
 * one with escapes is decoded into p->scratch, which is then overwritten by
 * the next such string. Invalid UTF-8 is passed through and counted; a lone
 * surrogate escape becomes U+FFFD and is counted. */
static const char *parse_string(struct pctx *c, const char *s, const char **out, size_t *outlen) {
  const char *open = s, *start = s + 1, *end = c->end;
  int bad = 0;
  s = start;
  for (;;) {
    while (s < end && strclass[(unsigned char)*s] == 0) s++;
    if (s >= end) return perr(c, E_SYNTAX, open, "unterminated string");
    unsigned char ch = (unsigned char)*s;
    if (ch == '"') {
      *out = start;
      *outlen = (size_t)(s - start);
      if (bad) c->p->st.invalid_utf8++;
      return s + 1;
    }
    if (ch == '\\') break;
    if (ch < 0x20) return perr(c, E_SYNTAX, s, "control character in string");
    size_t k = utf8_seq((const unsigned char *)s, (const unsigned char *)end);
    if (k == 0) {
      bad = 1;
      k = 1;
    }
    s += k;
  }
  /* decoded text is never longer than its source */
  struct nv_json_parser *p = c->p;
  if (!reserve(&p->scratch, &p->scratch_cap, (size_t)(end - start) + 1))
    return perr(c, E_OOM, s, "out of memory");
  char *o = p->scratch;
  memcpy(o, start, (size_t)(s - start));
  o += s - start;
  while (s < end) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"') {
      *out = p->scratch;
      *outlen = (size_t)(o - p->scratch);
      if (bad) p->st.invalid_utf8++;
      return s + 1;
    }
    if (ch == '\\') {
      if (end - s < 2) break;
      const char *esc = s;
      switch (s[1]) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
          unsigned cp, lo;
          if (!hex4(s + 2, end, &cp)) return perr(c, E_SYNTAX, esc, "invalid \\u escape");
          s += 6;
          if (cp >= 0xD800 && cp <= 0xDBFF && end - s >= 6 && s[0] == '\\' && s[1] == 'u' &&
              hex4(s + 2, end, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            s += 6;
          } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = 0xFFFD;
            bad = 1;
          }
          o = put_utf8(o, cp);
          continue;
        }
        default: return perr(c, E_SYNTAX, esc, "invalid escape in string");
      }
      s += 2;
    } else if (ch < 0x20) {
      return perr(c, E_SYNTAX, s, "control character in string");
    } else if (ch < 0x80) {
      *o++ = (char)ch;
      s++;
    } else {
      size_t k = utf8_seq((const unsigned char *)s, (const unsigned char *)end);
      if (k == 0) {
        bad = 1;
        k = 1;
      }
      memcpy(o, s, k);
      o += k;
      s += k;
    }
  }
  return perr(c, E_SYNTAX, open, "unterminated string");
}

static const double pow10tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* strtod on a copy (the source is not NUL-terminated), tolerant of a
 * locale whose decimal point is not '.'. */
static int slow_double(struct pctx *c, const char *b, size_t n, double *out) {
  struct nv_json_parser *p = c->p;
  if (!reserve(&p->scratch, &p->scratch_cap, n + 1)) return 0;
  memcpy(p->scratch, b, n);
  p->scratch[n] = '\0';
  char *endp;
  double d = strtod(p->scratch, &endp);
  if (endp != p->scratch + n) {
    const char *dp = localeconv()->decimal_point;
    char *dot = memchr(p->scratch, '.', n);
    if (dot && dp && dp[0] && !dp[1]) *dot = dp[0];
    d = strtod(p->scratch, &endp);
  }
  *out = d;
  return 1;
}

static const char *parse_number(struct pctx *c, const char *s, struct nv_json_value *v) {
  const char *b = s, *end = c->end;
  int neg = 0, isint = 1;
  uint64_t m = 0;
  int ndig = 0; /* significant digits accumulated in m (at most 19) */
  int lost = 0; /* digits that did not fit in m */
  long fracdig = 0, ex = 0;
  if (*s == '-') {
    neg = 1;
    s++;
  }
  if (s >= end || !is_digit((unsigned char)*s)) return perr(c, E_SYNTAX, b, "invalid number");
  if (*s == '0') {
    s++;
    if (s < end && is_digit((unsigned char)*s)) return perr(c, E_SYNTAX, b, "invalid number (leading zero)");
  } else {
    while (s < end && is_digit((unsigned char)*s)) {
      if (ndig < 19) {
        m = m * 10 + (uint64_t)(*s - '0');
        ndig++;
      } else {
        lost++;
      }
      s++;
    }
  }
  if (s < end && *s == '.') {
    isint = 0;
    s++;
    if (s >= end || !is_digit((unsigned char)*s)) return perr(c, E_SYNTAX, b, "invalid number");
    while (s < end && is_digit((unsigned char)*s)) {
      if (ndig < 19 && !lost) {
        if (m != 0 || *s != '0') ndig++;
        m = m * 10 + (uint64_t)(*s - '0');
        fracdig++;
      } else {
        lost++;
      }
      s++;
    }
  }
  if (s < end && (*s == 'e' || *s == 'E')) {
    isint = 0;
    s++;
    int eneg = 0;
    if (s < end && (*s == '+' || *s == '-')) eneg = *s++ == '-';
    if (s >= end || !is_digit((unsigned char)*s)) return perr(c, E_SYNTAX, b, "invalid number");
    while (s < end && is_digit((unsigned char)*s)) {
      if (ex < 100000) ex = ex * 10 + (*s - '0');
      s++;
    }
    if (eneg) ex = -ex;
  }
  if (s < end && (is_digit((unsigned char)*s) || *s == '.' || *s == 'e' || *s == 'E' || *s == '-' || *s == '+'))
    return perr(c, E_SYNTAX, b, "invalid number");
  if (isint && !lost) {
    if (!neg && m <= (uint64_t)INT64_MAX) {
      v->kind = 'i';
      v->i = (int64_t)m;
      return s;
    }
    if (neg && m <= (uint64_t)INT64_MAX + 1) {
      v->kind = 'i';
      v->i = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
      return s;
    }
  }
  v->kind = 'd';
  long e10 = ex - fracdig;
  if (!lost && m <= ((uint64_t)1 << 53) && e10 >= -22 && e10 <= 22) {
    double d = (double)m;
    d = e10 >= 0 ? d * pow10tab[e10] : d / pow10tab[-e10];
    v->d = neg ? -d : d;
    return s;
  }
  if (!slow_double(c, b, (size_t)(s - b), &v->d)) return perr(c, E_OOM, b, "out of memory");
  return s;
}

static const char *parse_value(struct pctx *c, const char *s);

static const char *enter(struct pctx *c, const char *s) {
  if (++c->depth > c->max_depth) {
    snprintf(c->msgbuf, sizeof c->msgbuf, "nesting deeper than %u levels", c->max_depth);
    return perr(c, E_DEPTH, s, c->msgbuf);
  }
  return s;
}

static const char *parse_object(struct pctx *c, const char *s) {
  const char *end = c->end;
  if (!enter(c, s)) return NULL;
  if (c->v && c->v->begin(c->v->ud, 'o', s)) return perr(c, E_ABORT, s, "stopped");
  s = skip_ws(s + 1, end);
  if (s < end && *s == '}') goto done;
  for (;;) {
    if (s >= end) return perr(c, E_SYNTAX, s, "unexpected end of record in an object");
    if (*s != '"') return perr(c, E_SYNTAX, s, "expected a string key");
    const char *k;
    size_t kn;
    s = parse_string(c, s, &k, &kn);
    if (!s) return NULL;
    if (c->v && c->v->key(c->v->ud, k, kn)) return perr(c, E_ABORT, s, "stopped");
    s = skip_ws(s, end);
    if (s >= end || *s != ':') return perr(c, E_SYNTAX, s, "expected ':' after an object key");
    s = parse_value(c, s + 1);
    if (!s) return NULL;
    s = skip_ws(s, end);
    if (s < end && *s == ',') {
      s = skip_ws(s + 1, end);
      continue;
    }
    if (s < end && *s == '}') break;
    return perr(c, E_SYNTAX, s, "expected ',' or '}' after an object member");
  }
done:
  c->depth--;
  if (c->v && c->v->end(c->v->ud, 'o', s + 1)) return perr(c, E_ABORT, s, "stopped");
  return s + 1;
}

static const char *parse_array(struct pctx *c, const char *s) {
  const char *end = c->end;
  if (!enter(c, s)) return NULL;
  if (c->v && c->v->begin(c->v->ud, 'a', s)) return perr(c, E_ABORT, s, "stopped");
  s = skip_ws(s + 1, end);
  if (s < end && *s == ']') goto done;
  for (;;) {
    s = parse_value(c, s);
    if (!s) return NULL;
    s = skip_ws(s, end);
    if (s < end && *s == ',') {
      s++;
      continue;
    }
    if (s < end && *s == ']') break;
    return perr(c, E_SYNTAX, s, "expected ',' or ']' after an array element");
  }
done:
  c->depth--;
  if (c->v && c->v->end(c->v->ud, 'a', s + 1)) return perr(c, E_ABORT, s, "stopped");
  return s + 1;
}

static int literal(const char *s, const char *end, const char *word, size_t n) {
  return (size_t)(end - s) >= n && memcmp(s, word, n) == 0;
}

static const char *parse_value(struct pctx *c, const char *s) {
  const char *end = c->end;
  struct nv_json_value v;
  s = skip_ws(s, end);
  if (s >= end) return perr(c, E_SYNTAX, s, "unexpected end of record, expected a value");
  switch (*s) {
    case '{': return parse_object(c, s);
    case '[': return parse_array(c, s);
    case '"':
      v.kind = 's';
      s = parse_string(c, s, &v.str, &v.len);
      if (!s) return NULL;
      break;
    case 't':
      if (!literal(s, end, "true", 4)) return perr(c, E_SYNTAX, s, "invalid literal");
      v.kind = 't';
      s += 4;
      break;
    case 'f':
      if (!literal(s, end, "false", 5)) return perr(c, E_SYNTAX, s, "invalid literal");
      v.kind = 'f';
      s += 5;
      break;
    case 'n':
      if (!literal(s, end, "null", 4)) return perr(c, E_SYNTAX, s, "invalid literal");
      v.kind = 'n';
      s += 4;
      break;
    default:
      if (*s != '-' && !is_digit((unsigned char)*s)) return perr(c, E_SYNTAX, s, "unexpected character");
      s = parse_number(c, s, &v);
      if (!s) return NULL;
      break;
  }
  if (c->v && c->v->scalar(c->v->ud, &v)) return perr(c, E_ABORT, s, "stopped");
  return s;
}

/* ---- the flattening visitor ----------------------------------------- */

static unsigned elem_bit(char kind) {
  switch (kind) {
    case 's': return NV_JSON_E_STRING;
    case 'i': return NV_JSON_E_INT;
    case 'd': return NV_JSON_E_DOUBLE;
    case 't':
    case 'f': return NV_JSON_E_BOOL;
    case 'o': return NV_JSON_E_OBJECT;
    case 'a': return NV_JSON_E_ARRAY;
    default: return NV_JSON_E_NULL;
  }
}

/* Invariant: alen + nev * FIELD_COST <= budget, so a flattened record
 * (paths repeat their prefixes, so it can outgrow its text) stays bounded. */
#define FIELD_COST (sizeof(struct ftmp) + sizeof(struct nv_json_field))
static size_t room(const struct flat *f) { return f->budget - f->alen - f->nev * FIELD_COST; }

/* 1 on success; 0 out of memory; -1 over the record's budget */
static int flat_add(struct flat *f, size_t path_len, char kind, struct ftmp **out) {
  if (f->nev == f->evcap) {
    size_t ncap = f->evcap ? f->evcap * 2 : 64;
    if (ncap > SIZE_MAX / sizeof *f->ev) return 0;
    struct ftmp *ne = realloc(f->ev, ncap * sizeof *ne);
    if (ne == NULL) return 0;
    f->ev = ne;
    f->evcap = ncap;
  }
  if (room(f) < FIELD_COST || path_len > room(f) - FIELD_COST) return -1;
  if (!reserve(&f->arena, &f->acap, f->alen + path_len)) return 0;
  struct ftmp *e = &f->ev[f->nev++];
  memcpy(f->arena + f->alen, f->path, path_len);
  e->path_off = f->alen;
  e->path_len = path_len;
  f->alen += path_len;
  e->kind = kind;
  e->in_arena = 0;
  e->off = e->len = 0;
  e->i = 0;
  e->d = 0;
  e->elems = 0;
  e->truncated = 0;
  *out = e;
  return 1;
}

/* Visitor callbacks return 0 to go on; failures are kept in ferr. */
struct fctx {
  struct nv_json_parser *p;
  int ferr; /* E_OOM or E_LIMIT */
};

static int fail_add(struct fctx *x, int rc) {
  x->ferr = rc == 0 ? E_OOM : E_LIMIT;
  return 1;
}

static int f_begin(void *ud, char kind, const char *at) {
  struct fctx *x = ud;
  struct flat *f = &x->p->f;
  if (f->anest) {
    if (f->anest == 1) f->aelems |= elem_bit(kind);
    f->anest++;
    return 0;
  }
  if (kind == 'a') {
    f->anest = 1;
    f->astart = at;
    f->aelems = 0;
    return 0;
  }
  if (f->olevel == 0) { /* the record itself */
    f->olevel = 1;
    f->prefix[1] = 0;
    f->members[1] = 0;
    f->path_len = 0;
    return 0;
  }
  if (f->path_len + 1 > f->budget) return fail_add(x, -1);
  if (!reserve(&f->path, &f->path_cap, f->path_len + 1)) return fail_add(x, 0);
  f->path[f->path_len++] = '.';
  f->olevel++;
  f->prefix[f->olevel] = f->path_len;
  f->members[f->olevel] = 0;
  return 0;
}

static int f_end(void *ud, char kind, const char *after) {
  struct fctx *x = ud;
  struct nv_json_parser *p = x->p;
  struct flat *f = &p->f;
  struct ftmp *e;
  int rc;
  if (f->anest) {
    if (--f->anest > 0) return 0;
    if ((rc = flat_add(f, f->path_len, 'a', &e)) != 1) return fail_add(x, rc);
    size_t n = (size_t)(after - f->astart);
    e->off = (size_t)(f->astart - f->base);
    e->len = n > p->cfg.max_array_text ? p->cfg.max_array_text : n;
    e->truncated = n > p->cfg.max_array_text;
    e->elems = f->aelems;
    return 0;
  }
  (void)kind;
  if (f->olevel > 1 && f->members[f->olevel] == 0) { /* an empty nested object */
    if ((rc = flat_add(f, f->prefix[f->olevel] - 1, 'o', &e)) != 1) return fail_add(x, rc);
    e->len = 2;
    e->in_arena = 2;
  }
  f->olevel--;
  return 0;
}

static int f_key(void *ud, const char *s, size_t n) {
  struct fctx *x = ud;
  struct flat *f = &x->p->f;
  if (f->anest) return 0;
  f->members[f->olevel]++;
  size_t at = f->prefix[f->olevel];
  if (n > f->budget || at + n > f->budget) return fail_add(x, -1);
  if (!reserve(&f->path, &f->path_cap, at + n)) return fail_add(x, 0);
  memcpy(f->path + at, s, n);
  f->path_len = at + n;
  return 0;
}

static int f_scalar(void *ud, const struct nv_json_value *v) {
  struct fctx *x = ud;
  struct flat *f = &x->p->f;
  if (f->anest) {
    if (f->anest == 1) f->aelems |= elem_bit(v->kind);
    return 0;
  }
  struct ftmp *e;
  int rc = flat_add(f, f->path_len, v->kind, &e);
  if (rc != 1) return fail_add(x, rc);
  e->i = v->i;
  e->d = v->d;
  if (v->kind == 's') {
    e->len = v->len;
    if (v->str != x->p->scratch) { /* in place: an offset into the record */
      e->off = (size_t)(v->str - f->base);
    } else { /* decoded into scratch: keep a copy */
      if (v->len > room(f)) return fail_add(x, -1);
      if (!reserve(&f->arena, &f->acap, f->alen + v->len)) return fail_add(x, 0);
      if (v->len) memcpy(f->arena + f->alen, v->str, v->len);
      e->off = f->alen;
      e->in_arena = 1;
      f->alen += v->len;
    }
  }
  return 0;
}

static const struct nv_json_visitor flat_visitor = {f_begin, f_end, f_key, f_scalar, NULL};

/* ---- records --------------------------------------------------------- */

static int set_fatal(struct nv_json_parser *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->err, sizeof p->err, fmt, ap);
  va_end(ap);
  p->failed = 1;
  return NV_JSON_FAIL;
}

/* "record 3 (line 3, byte offset 57)" or "record 3 (byte offset 57)" */
static void where(const struct nv_json_parser *p, uint64_t recno, uint64_t line, uint64_t off, char *buf,
                  size_t n) {
  if (p->fmt == NV_JSON_NDJSON)
    snprintf(buf, n, "record %llu (line %llu, byte offset %llu)", (unsigned long long)recno,
             (unsigned long long)line, (unsigned long long)off);
  else
    snprintf(buf, n, "record %llu (byte offset %llu)", (unsigned long long)recno, (unsigned long long)off);
}

/* txt[0..n): the record, for its excerpt */
static int report_bad(struct nv_json_parser *p, uint64_t line, uint64_t off, const char *msg, const char *txt,
                      size_t n) {
  char w[96], full[sizeof p->err];
  p->st.bad_records++;
  if (p->h.bad == NULL) return NV_JSON_OK;
  where(p, p->recno, line, off, w, sizeof w);
  snprintf(full, sizeof full, "%s: %s", w, msg);
  int cut = n > NV_JSON_EXCERPT;
  if (cut) {
    n = NV_JSON_EXCERPT;
    while (n > 0 && ((unsigned char)txt[n] & 0xC0) == 0x80) n--; /* not inside a UTF-8 sequence */
  }
  struct nv_json_bad b = {p->recno, line, off, full, txt, n, cut};
  return p->h.bad(p->h.ud, &b) ? NV_JSON_STOP : NV_JSON_OK;
}

static const char *kind_name(char first) {
  switch (first) {
    case '[': return "an array";
    case '"': return "a string";
    case 't':
    case 'f': return "a boolean";
    case 'n': return "null";
    default: return "a number";
  }
}

/* One complete record text s[0..n) starting at absolute offset off. */
static int do_record(struct nv_json_parser *p, const char *s, size_t n, uint64_t off, uint64_t line) {
  const char *end = s + n;
  const char *first = skip_ws(s, end);
  while (end > first && is_ws((unsigned char)end[-1])) end--;
  struct pctx c = {0};
  struct fctx x = {p, E_NONE};
  struct nv_json_visitor fv = flat_visitor;
  c.p = p;
  c.end = end;
  c.max_depth = p->cfg.max_depth;
  int object = first < end && *first == '{';
  size_t tn = (size_t)(end - first);
  if (p->cfg.flatten && (object || p->mode != M_OBJECTS)) {
    struct flat *f = &p->f;
    f->base = first;
    f->nev = f->alen = f->path_len = 0;
    f->olevel = f->anest = 0;
    f->budget = p->cfg.max_record_bytes * 4 + 65536;
    if (!object) { /* a value record: its one field is the value column */
      size_t vn = sizeof NV_JSON_VALUE_COLUMN - 1;
      if (!reserve(&f->path, &f->path_cap, vn)) return set_fatal(p, "out of memory");
      memcpy(f->path, NV_JSON_VALUE_COLUMN, vn);
      f->path_len = vn;
    }
    fv.ud = &x;
    c.v = &fv;
  }
  const char *q = parse_value(&c, first);
  if (q && (q = skip_ws(q, end)) != end) perr(&c, E_SYNTAX, q, "unexpected data after the value");
  if (c.ekind == E_ABORT) c.ekind = x.ferr;
  if (c.ekind != E_NONE) {
    uint64_t at = off + (uint64_t)(c.errpos - s);
    char w[96];
    switch (c.ekind) {
      case E_OOM:
        where(p, p->recno, line, at, w, sizeof w);
        return set_fatal(p, "%s: out of memory", w);
      case E_LIMIT:
        return report_bad(p, line, off + (uint64_t)(first - s), "flattened record too large", first, tn);
      case E_SYNTAX:
        if (p->fmt != NV_JSON_NDJSON) {
          where(p, p->recno, line, at, w, sizeof w);
          return set_fatal(p, "%s: %s", w, c.errmsg);
        }
        return report_bad(p, line, at, c.errmsg, first, tn);
      default:
        return report_bad(p, line, at, c.errmsg, first, tn);
    }
  }
  if (p->mode == M_NONE) p->mode = object ? M_OBJECTS : M_SCALARS;
  if (!object && p->mode == M_OBJECTS) {
    char msg[64];
    snprintf(msg, sizeof msg, "not an object (found %s)", kind_name(*first));
    return report_bad(p, line, off + (uint64_t)(first - s), msg, first, tn);
  }
  struct nv_json_record r = {p->recno, line, off + (uint64_t)(first - s), first, (size_t)(end - first), NULL, 0};
  if (p->cfg.flatten) {
    struct flat *f = &p->f;
    if (f->nev > f->fcap) {
      if (f->nev > SIZE_MAX / sizeof *f->fields) return set_fatal(p, "out of memory");
      struct nv_json_field *nf = realloc(f->fields, f->nev * sizeof *nf);
      if (nf == NULL) return set_fatal(p, "out of memory");
      f->fields = nf;
      f->fcap = f->nev;
    }
    for (size_t k = 0; k < f->nev; k++) {
      const struct ftmp *e = &f->ev[k];
      struct nv_json_field *fd = &f->fields[k];
      fd->path = f->arena + e->path_off;
      fd->path_len = e->path_len;
      fd->v.kind = e->kind;
      fd->v.str = e->in_arena == 1 ? f->arena + e->off : e->in_arena == 2 ? "{}" : first + e->off;
      fd->v.len = e->len;
      fd->v.i = e->i;
      fd->v.d = e->d;
      fd->elems = e->elems;
      fd->truncated = e->truncated;
    }
    r.fields = f->fields;
    r.nfields = f->nev;
  }
  p->st.records++;
  return p->h.record(p->h.ud, &r) ? NV_JSON_STOP : NV_JSON_OK;
}

/* ---- NDJSON framing --------------------------------------------------- */

static int ndjson_line(struct nv_json_parser *p, const char *s, size_t n, uint64_t off) {
  uint64_t line = ++p->line;
  p->st.lines++;
  if (line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
    s += 3;
    n -= 3;
    off += 3;
  }
  const char *e = s + n;
  const char *first = skip_ws(s, e);
  if (first == e) return NV_JSON_OK;
  p->recno++;
  return do_record(p, s, n, off, line);
}

static int oversize(struct nv_json_parser *p, uint64_t off) {
  char w[96];
  where(p, p->recno + 1, p->line + 1, off, w, sizeof w);
  return set_fatal(p, "%s: record larger than max_record_bytes (%zu)", w, p->cfg.max_record_bytes);
}

static int ndjson_feed(struct nv_json_parser *p, const char *buf, size_t n, size_t *used) {
  size_t i = 0;
  int rc = NV_JSON_OK;
  while (i < n && rc == NV_JSON_OK) {
    const char *nl = memchr(buf + i, '\n', n - i);
    size_t seg = nl ? (size_t)(nl - (buf + i)) : n - i;
    if (p->rec_len == 0 && nl) {
      if (seg > p->cfg.max_record_bytes) {
        rc = oversize(p, p->pos);
        break;
      }
      uint64_t off = p->pos;
      i += seg + 1;
      p->pos += seg + 1;
      rc = ndjson_line(p, buf + i - seg - 1, seg, off);
      continue;
    }
    if (seg > p->cfg.max_record_bytes - p->rec_len) {
      rc = oversize(p, p->rec_len ? p->rec_off : p->pos);
      break;
    }
    if (p->rec_len == 0) p->rec_off = p->pos;
    if (!reserve(&p->rec, &p->rec_cap, p->rec_len + seg)) {
      rc = set_fatal(p, "out of memory");
      break;
    }
    memcpy(p->rec + p->rec_len, buf + i, seg);
    p->rec_len += seg;
    i += seg;
    p->pos += seg;
    if (nl) {
      i++;
      p->pos++;
      size_t len = p->rec_len;
      p->rec_len = 0;
      rc = ndjson_line(p, p->rec, len, p->rec_off);
    }
  }
  *used = i;
  return rc;
}

/* ---- array framing ----------------------------------------------------- */

static int array_error(struct nv_json_parser *p, uint64_t off, const char *msg) {
  return set_fatal(p, "byte offset %llu: %s", (unsigned long long)off, msg);
}

/* The element now complete: rec[0..rec_len) + buf[start..stop). */
static int array_element(struct nv_json_parser *p, const char *buf, size_t start, size_t stop) {
  size_t n = stop - start;
  p->astate = A_AFTER;
  p->recno++;
  if (p->rec_len == 0) return do_record(p, buf + start, n, p->rec_off, 0);
  if (n > p->cfg.max_record_bytes - p->rec_len) {
    p->recno--;
    return oversize(p, p->rec_off);
  }
  if (!reserve(&p->rec, &p->rec_cap, p->rec_len + n)) return set_fatal(p, "out of memory");
  memcpy(p->rec + p->rec_len, buf + start, n);
  size_t len = p->rec_len + n;
  p->rec_len = 0;
  return do_record(p, p->rec, len, p->rec_off, 0);
}

/* The array layout, the values layout (no brackets around the elements,
 * no commas between them) and the records array of the object layout,
 * which stops right after its closing ']'. */
static int array_feed(struct nv_json_parser *p, const char *buf, size_t n, size_t *used) {
  size_t i = 0, start = 0;
  int rc = NV_JSON_OK;
  int values = p->fmt == NV_JSON_VALUES;
  while (i < n && rc == NV_JSON_OK && !(p->fmt == NV_JSON_OBJECT && p->astate == A_DONE)) {
    unsigned char ch = (unsigned char)buf[i];
    if (p->astate != A_IN) {
      if (is_ws(ch)) {
        i++;
        continue;
      }
      uint64_t off = p->pos + i;
      if (values) {
        if (off < 3 && ch == (unsigned char)"\xEF\xBB\xBF"[off]) {
          i++;
          continue;
        }
        if (ch == ']' || ch == '}' || ch == ',') {
          rc = array_error(p, off, "expected a value");
          continue;
        }
        p->astate = A_VALUE;
      }
      switch (p->astate) {
        case A_OPEN:
          if (off < 3 && ch == (unsigned char)"\xEF\xBB\xBF"[off]) break;
          if (ch != '[') {
            rc = array_error(p, off, "expected '[' to open the top-level array");
            continue;
          }
          p->astate = A_FIRST;
          break;
        case A_FIRST:
        case A_VALUE:
          if (ch == ']' && p->astate == A_FIRST) {
            p->astate = A_DONE;
            break;
          }
          if (ch == ']' || ch == ',') {
            rc = array_error(p, off, "expected an array element");
            continue;
          }
          p->astate = A_IN;
          p->afirst = (char)ch;
          p->adepth = 0;
          p->in_str = p->esc = 0;
          p->rec_off = off;
          start = i;
          continue; /* the scanner below takes this byte */
        case A_AFTER:
          if (ch == ',') p->astate = A_VALUE;
          else if (ch == ']') p->astate = A_DONE;
          else rc = array_error(p, off, "expected ',' or ']' after an array element");
          break;
        default:
          rc = array_error(p, off, "unexpected data after the top-level array");
          continue;
      }
      i++;
      continue;
    }
    /* A_IN: find where the element ends */
    int done = 0;
    while (i < n) {
      ch = (unsigned char)buf[i];
      if (p->in_str) {
        if (p->esc) p->esc = 0;
        else if (ch == '\\') p->esc = 1;
        else if (ch == '"') {
          p->in_str = 0;
          if (p->adepth == 0) {
            i++;
            done = 1;
            break;
          }
        }
        i++;
        continue;
      }
      if (ch == '"') {
        p->in_str = 1;
      } else if (ch == '{' || ch == '[') {
        if (p->adepth < p->cfg.max_depth) p->astack[p->adepth] = ch;
        p->adepth++;
      } else if (ch == '}' || ch == ']') {
        if (p->adepth == 0) { /* ends a scalar element: not part of it */
          done = 1;
          break;
        }
        p->adepth--;
        int match = p->adepth >= p->cfg.max_depth || p->astack[p->adepth] == (ch == '}' ? '{' : '[');
        if (p->adepth == 0 || !match) { /* complete, or broken: let the parser say why */
          i++;
          done = 1;
          break;
        }
      } else if (p->adepth == 0 && (ch == ',' || is_ws(ch))) {
        done = 1;
        break;
      }
      i++;
    }
    if (done) {
      if (i - start > p->cfg.max_record_bytes) {
        rc = oversize(p, p->rec_off);
        break;
      }
      rc = array_element(p, buf, start, i);
    } else { /* the element goes on in the next chunk */
      size_t k = n - start;
      if (k > p->cfg.max_record_bytes - p->rec_len) {
        rc = oversize(p, p->rec_off);
        break;
      }
      if (!reserve(&p->rec, &p->rec_cap, p->rec_len + k)) {
        rc = set_fatal(p, "out of memory");
        break;
      }
      memcpy(p->rec + p->rec_len, buf + start, k);
      p->rec_len += k;
    }
  }
  p->pos += i;
  *used = i;
  return rc;
}

/* ---- object framing ------------------------------------------------- */

static int object_error(struct nv_json_parser *p, uint64_t off, const char *msg) {
  return set_fatal(p, "byte offset %llu: %s", (unsigned long long)off, msg);
}

static int is_records_key(const struct nv_json_parser *p) {
  return !p->opath_used && !p->okey_over && p->okey_len == p->cfg.records_path_len &&
         memcmp(p->okey, p->cfg.records_path, p->okey_len) == 0;
}

/* Skips one member value (not validated: it is not read) without holding
 * it; 1 when it ended (the byte that ends a scalar is not consumed). */
static int skip_value(struct nv_json_parser *p, unsigned char ch, size_t *i) {
  if (p->in_str) {
    if (p->esc) p->esc = 0;
    else if (ch == '\\') p->esc = 1;
    else if (ch == '"') {
      p->in_str = 0;
      if (p->odepth == 0) {
        (*i)++;
        return 1;
      }
    }
    (*i)++;
    return 0;
  }
  if (ch == '"') {
    p->in_str = 1;
  } else if (ch == '{' || ch == '[') {
    p->odepth++;
  } else if (ch == '}' || ch == ']') {
    if (p->odepth == 0) return 1;
    if (--p->odepth == 0) {
      (*i)++;
      return 1;
    }
  } else if (p->odepth == 0 && (ch == ',' || is_ws(ch))) {
    return 1;
  }
  (*i)++;
  return 0;
}

static int object_feed(struct nv_json_parser *p, const char *buf, size_t n, size_t *used) {
  size_t i = 0, mark = 0; /* buf[mark..i) consumed here and not yet added to pos */
  int rc = NV_JSON_OK;
  while (i < n && rc == NV_JSON_OK) {
    unsigned char ch = (unsigned char)buf[i];
    uint64_t off = p->pos + (i - mark);
    if (p->ostate == O_ARR) {
      p->pos += i - mark;
      size_t u = 0;
      rc = array_feed(p, buf + i, n - i, &u);
      i += u;
      mark = i;
      if (p->astate == A_DONE) p->ostate = O_AFTER;
      continue;
    }
    if (p->ostate == O_KEYSTR) {
      if (p->esc) p->esc = 0;
      else if (ch == '\\') p->esc = 1;
      else if (ch == '"') {
        p->ostate = O_COLON;
        i++;
        continue;
      }
      if (p->okey_len < sizeof p->okey) p->okey[p->okey_len++] = (char)ch;
      else p->okey_over = 1;
      i++;
      continue;
    }
    if (p->ostate == O_SKIP) {
      if (skip_value(p, ch, &i)) p->ostate = O_AFTER;
      continue;
    }
    if (is_ws(ch)) {
      i++;
      continue;
    }
    switch (p->ostate) {
      case O_OPEN:
        if (off < 3 && ch == (unsigned char)"\xEF\xBB\xBF"[off]) break;
        if (ch != '{') {
          rc = object_error(p, off, "expected '{' to open the top-level object");
          continue;
        }
        p->ostate = O_KEY0;
        break;
      case O_KEY0:
      case O_KEY:
        if (ch == '}' && p->ostate == O_KEY0) {
          p->ostate = O_DONE;
          break;
        }
        if (ch != '"') {
          rc = object_error(p, off, "expected a string key in the top-level object");
          continue;
        }
        p->okey_len = 0;
        p->okey_over = p->esc = 0;
        p->ostate = O_KEYSTR;
        break;
      case O_COLON:
        if (ch != ':') {
          rc = object_error(p, off, "expected ':' after a key of the top-level object");
          continue;
        }
        p->ostate = O_VAL;
        break;
      case O_VAL:
        if (ch == '[' && is_records_key(p)) {
          p->opath_used = 1;
          p->ostate = O_ARR;
          p->astate = A_FIRST;
          break;
        }
        if (ch == ',' || ch == '}' || ch == ']') {
          rc = object_error(p, off, "expected a value in the top-level object");
          continue;
        }
        p->ostate = O_SKIP;
        p->odepth = 0;
        p->in_str = p->esc = 0;
        continue; /* skip_value takes this byte */
      case O_AFTER:
        if (ch == ',') p->ostate = O_KEY;
        else if (ch == '}') p->ostate = O_DONE;
        else {
          rc = object_error(p, off, "expected ',' or '}' after a member of the top-level object");
          continue;
        }
        break;
      default:
        rc = object_error(p, off, "unexpected data after the top-level object");
        continue;
    }
    i++;
  }
  p->pos += i - mark;
  *used = i;
  return rc;
}

/* ---- public ------------------------------------------------------------ */

struct nv_json_parser *nv_json_new(const struct nv_json_config *cfg, const struct nv_json_handler *h) {
  struct nv_json_parser *p = calloc(1, sizeof *p);
  if (p == NULL) return NULL;
  if (cfg) p->cfg = *cfg;
  else p->cfg.flatten = 1;
  if (p->cfg.max_record_bytes == 0) p->cfg.max_record_bytes = DEFAULT_MAX_RECORD;
  if (p->cfg.max_depth == 0) p->cfg.max_depth = DEFAULT_MAX_DEPTH;
  if (p->cfg.max_depth > NV_JSON_DEPTH_LIMIT) p->cfg.max_depth = NV_JSON_DEPTH_LIMIT;
  if (p->cfg.max_array_text == 0) p->cfg.max_array_text = DEFAULT_MAX_ARRAY_TEXT;
  if (p->cfg.max_record_bytes > SIZE_MAX / 8) p->cfg.max_record_bytes = SIZE_MAX / 8;
  p->h = *h;
  if (p->cfg.format == NV_JSON_OBJECT && (p->cfg.records_path == NULL || p->cfg.records_path_len > NV_JSON_KEY_MAX))
    p->cfg.format = NV_JSON_VALUES; /* no records array: the object is the record */
  p->fmt = p->cfg.format;
  p->astate = p->fmt == NV_JSON_VALUES ? A_VALUE : A_OPEN;
  size_t levels = (size_t)p->cfg.max_depth + 2;
  p->astack = malloc(levels);
  p->f.prefix = malloc(levels * sizeof *p->f.prefix);
  p->f.members = malloc(levels * sizeof *p->f.members);
  if (p->astack == NULL || p->f.prefix == NULL || p->f.members == NULL) {
    nv_json_free(p);
    return NULL;
  }
  return p;
}

void nv_json_free(struct nv_json_parser *p) {
  if (p == NULL) return;
  free(p->f.fields);
  free(p->f.arena);
  free(p->f.ev);
  free(p->f.path);
  free(p->f.members);
  free(p->f.prefix);
  free(p->scratch);
  free(p->astack);
  free(p->rec);
  free(p);
}

/* Decides the layout from the first byte that is neither space nor BOM;
 * returns how many bytes were skipped (all of them if still undecided). */
static size_t detect(struct nv_json_parser *p, const char *buf, size_t n) {
  size_t i = 0;
  for (; i < n; i++) {
    unsigned char ch = (unsigned char)buf[i];
    uint64_t off = p->pos + i;
    if (is_ws(ch)) {
      if (ch == '\n') p->auto_nl++;
      continue;
    }
    if (off < 3 && ch == (unsigned char)"\xEF\xBB\xBF"[off]) continue;
    p->fmt = ch == '[' ? NV_JSON_ARRAY : NV_JSON_NDJSON;
    break;
  }
  if (p->fmt == NV_JSON_NDJSON) {
    p->line += p->auto_nl;
    p->st.lines += p->auto_nl;
  }
  return i;
}

int nv_json_feed(struct nv_json_parser *p, const char *buf, size_t n, size_t *used) {
  *used = 0;
  if (p->failed) return NV_JSON_FAIL;
  size_t skip = 0;
  if (p->fmt == NV_JSON_AUTO) {
    skip = detect(p, buf, n);
    p->pos += skip;
    if (p->fmt == NV_JSON_AUTO) {
      *used = n;
      p->st.bytes = p->pos;
      return NV_JSON_OK;
    }
    /* NDJSON keeps the skipped bytes' line count; array framing skips them anyway */
  }
  size_t u = 0;
  int rc = p->fmt == NV_JSON_NDJSON   ? ndjson_feed(p, buf + skip, n - skip, &u)
           : p->fmt == NV_JSON_OBJECT ? object_feed(p, buf + skip, n - skip, &u)
                                      : array_feed(p, buf + skip, n - skip, &u);
  *used = skip + u;
  p->st.bytes = p->pos;
  return rc;
}

int nv_json_finish(struct nv_json_parser *p) {
  if (p->failed) return NV_JSON_FAIL;
  if (p->fmt == NV_JSON_AUTO) {
    p->fmt = NV_JSON_NDJSON;
    p->st.lines += p->auto_nl;
    p->line += p->auto_nl;
    return NV_JSON_OK;
  }
  if (p->fmt == NV_JSON_NDJSON) {
    if (p->rec_len == 0) return NV_JSON_OK;
    size_t len = p->rec_len;
    p->rec_len = 0;
    return ndjson_line(p, p->rec, len, p->rec_off);
  }
  if (p->astate == A_IN && p->afirst != '{' && p->afirst != '[' && p->afirst != '"') {
    /* a scalar element cut by the end of input: judge it (a values layout
     * ends there), then fail below */
    int rc = array_element(p, "", 0, 0);
    if (rc != NV_JSON_OK) return rc;
  }
  if (p->fmt == NV_JSON_VALUES) {
    if (p->astate == A_IN) return array_error(p, p->pos, "unexpected end of input inside a top-level value");
    return NV_JSON_OK;
  }
  if (p->fmt == NV_JSON_OBJECT) {
    if (p->ostate == O_DONE && p->opath_used) return NV_JSON_OK;
    if (p->ostate == O_DONE)
      return set_fatal(p, "the top-level object has no member \"%.*s\" holding an array",
                       (int)p->cfg.records_path_len, p->cfg.records_path);
    if (p->ostate == O_ARR && p->astate != A_DONE)
      return array_error(p, p->pos, "unexpected end of input inside the records array");
    return object_error(p, p->pos, "unexpected end of input inside the top-level object");
  }
  if (p->astate == A_DONE) return NV_JSON_OK;
  if (p->astate == A_OPEN) return array_error(p, p->pos, "expected '[' to open the top-level array");
  return array_error(p, p->pos, "unexpected end of input inside the top-level array");
}

const char *nv_json_error(const struct nv_json_parser *p) { return p->failed ? p->err : NULL; }
enum nv_json_format nv_json_format(const struct nv_json_parser *p) { return p->fmt; }
const struct nv_json_stats *nv_json_stats(const struct nv_json_parser *p) { return &p->st; }

int nv_json_walk(struct nv_json_parser *p, const char *s, size_t n, const struct nv_json_visitor *v,
                 char *err, size_t errsz) {
  struct pctx c = {0};
  c.p = p;
  c.end = s + n;
  c.v = v;
  c.max_depth = p->cfg.max_depth;
  const char *q = parse_value(&c, s);
  if (q) {
    q = skip_ws(q, s + n);
    if (q != s + n) perr(&c, E_SYNTAX, q, "unexpected data after the value");
  }
  if (c.ekind == E_NONE) return 1;
  snprintf(err, errsz, "byte %llu: %s", (unsigned long long)(c.errpos - s), c.errmsg);
  return 0;
}
