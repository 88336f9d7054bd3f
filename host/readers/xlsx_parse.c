/* xlsx_parse.c - the .xlsx engine (see xlsx_parse.h). Uses libzip to read
 * entries as streams and expat (namespace-aware, DTDs refused) to parse
 * them; feeds profiler.h.
 *
 * Invariants and traps:
 *  - expat handlers never longjmp: a failure is recorded in the handler's
 *    struct xctx and the parser stopped (XML_StopParser); callbacks may
 *    still arrive after the stop, so every handler returns early once
 *    x->done or x->code is set.
 *  - Names arrive as "uri|local" (NS_SEP); only local names are compared,
 *    except r:id whose namespace must be a relationships one.
 *  - A worksheet is read twice for a profile: pass 1 finds the non-empty
 *    rows, the columns holding values and the header; pass 2 feeds the
 *    profiler. Memory is bounded by one row and the shared strings. */
#include "xlsx_parse.h"
#include "civil.h"

#include <errno.h>
#include <expat.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "profiler/profiler.h"

#define NS_SEP '|'
#define CHUNK ((size_t)64 << 10)
#define MAX_SHEETS 65536u
#define MAX_NAME 1024u
#define MAX_XFS ((size_t)1 << 20)
#define MAX_FMTS ((size_t)1 << 16)
#define MAX_ROW_CELLS (2u * NV_XLSX_MAX_COLS)
#define MSGSZ 256

const char *nv_xlsx_code_name(int code) {
  static const char *const names[] = {NULL, "open", "unsupported", "format", "limit", "memory", "cancelled"};
  return code >= 0 && code <= NV_XLSX_ECANCELLED ? names[code] : "format";
}

void nv_xlsx_limits_default(struct nv_xlsx_limits *l) {
  l->max_part_bytes = (uint64_t)64 << 20;
  l->max_sheet_bytes = (uint64_t)4 << 30;
  l->ratio_min_bytes = (uint64_t)100 << 20;
  l->max_ratio = 250;
  l->max_sst_bytes = (size_t)256 << 20;
  l->max_sst_count = (size_t)16 << 20;
  l->max_cell_bytes = (size_t)256 << 10;
  l->max_row_bytes = (size_t)64 << 20;
  l->max_token_bytes = (size_t)16 << 20;
  l->max_depth = 128;
}

/* ---- small helpers ------------------------------------------------------ */

struct buf {
  char *p;
  size_t n, cap;
};

/* Appends s[0,n) keeping a NUL after the data; 1 ok, 0 out of memory. */
static int buf_add(struct buf *b, const char *s, size_t n) {
  if (n >= SIZE_MAX - b->n - 1) return 0;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n + 1) cap = cap > SIZE_MAX / 2 ? b->n + n + 1 : cap * 2;
    char *q = realloc(b->p, cap);
    if (q == NULL) return 0;
    b->p = q;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
  return 1;
}

static void buf_free(struct buf *b) {
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}

/* Grows *arr (of elem-sized items) to hold need items; 1 ok, 0 no memory. */
static int grow(void *arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 1;
  size_t c = *cap ? *cap : 16;
  while (c < need) {
    if (c > SIZE_MAX / 2 / elem) return 0;
    c *= 2;
  }
  void *q = realloc(*(void **)arr, c * elem);
  if (q == NULL) return 0;
  *(void **)arr = q;
  *cap = c;
  return 1;
}

static char *dupn(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d == NULL) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

static const char *local_name(const char *name) {
  const char *p = strrchr(name, NS_SEP);
  return p ? p + 1 : name;
}

static int is(const char *name, const char *want) { return strcmp(local_name(name), want) == 0; }

/* An attribute without a namespace. */
static const char *attr(const char **a, const char *name) {
  for (; a[0]; a += 2)
    if (strchr(a[0], NS_SEP) == NULL && strcmp(a[0], name) == 0) return a[1];
  return NULL;
}

/* r:id (the relationships namespace, transitional or strict). */
static const char *attr_rid(const char **a) {
  for (; a[0]; a += 2) {
    const char *sep = strrchr(a[0], NS_SEP);
    if (sep && strcmp(sep + 1, "id") == 0 && strstr(a[0], "relationships") != NULL) return a[1];
  }
  return NULL;
}

/* Strict unsigned decimal in [0, max]; 1 ok. */
static int parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out) {
  if (n == 0 || n > 20) return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned d = (unsigned)((unsigned char)s[i] - '0');
    if (d > 9 || v > (max - d) / 10) return 0;
    v = v * 10 + d;
  }
  *out = v;
  return 1;
}

int nv_xlsx_parse_ref(const char *s, size_t n, uint32_t *col, uint32_t *row) {
  size_t i = 0;
  uint32_t c = 0;
  while (i < n && i < 4) {
    unsigned char ch = (unsigned char)s[i];
    if (ch >= 'a' && ch <= 'z') ch = (unsigned char)(ch - 'a' + 'A');
    if (ch < 'A' || ch > 'Z') break;
    c = c * 26 + (uint32_t)(ch - 'A' + 1);
    i++;
  }
  if (i == 0 || c > NV_XLSX_MAX_COLS) return 0;
  uint64_t r;
  if (!parse_uint(s + i, n - i, NV_XLSX_MAX_ROW, &r) || r == 0) return 0;
  *col = c;
  *row = (uint32_t)r;
  return 1;
}

size_t nv_xlsx_col_name(uint32_t col, char out[4]) {
  char tmp[4];
  size_t k = 0;
  while (col > 0 && k < 3) {
    col--;
    tmp[k++] = (char)('A' + col % 26);
    col /= 26;
  }
  for (size_t i = 0; i < k; i++) out[i] = tmp[k - 1 - i];
  out[k] = '\0';
  return k;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static size_t put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  o[0] = (char)(0xE0 | (cp >> 12));
  o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[2] = (char)(0x80 | (cp & 0x3F));
  return 3;
}

size_t nv_xlsx_unescape(char *s, size_t n) {
  if (memchr(s, '_', n) == NULL) return n;
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    if (s[i] == '_' && i + 7 <= n && s[i + 1] == 'x' && s[i + 6] == '_') {
      int h0 = hexval(s[i + 2]), h1 = hexval(s[i + 3]), h2 = hexval(s[i + 4]),
          h3 = hexval(s[i + 5]);
      if (h0 >= 0 && h1 >= 0 && h2 >= 0 && h3 >= 0) {
        unsigned cp = (unsigned)(h0 << 12 | h1 << 8 | h2 << 4 | h3);
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD; /* a lone surrogate */
        o += put_utf8(s + o, cp); /* at most 3 bytes for 7 read */
        i += 7;
        continue;
      }
    }
    s[o++] = s[i++];
  }
  return o;
}

/* ---- number formats and dates ------------------------------------------- */

int nv_xlsx_builtin_format(uint32_t id) {
  if (id >= 14 && id <= 17) return NV_XLSX_FMT_DATE;
  if (id >= 18 && id <= 21) return NV_XLSX_FMT_TIME;
  if (id == 22) return NV_XLSX_FMT_DATETIME;
  if (id >= 45 && id <= 47) return NV_XLSX_FMT_TIME;
  return NV_XLSX_FMT_NUMBER;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

static int prefix_ci(const char *s, size_t n, const char *w) {
  size_t k = strlen(w);
  if (n < k) return 0;
  for (size_t i = 0; i < k; i++)
    if (lower((unsigned char)s[i]) != w[i]) return 0;
  return 1;
}

int nv_xlsx_format_kind(const char *s, size_t n) {
  int date = 0, time = 0;
  int last = 0;        /* the previous date/time letter: 'h', 'm', 's', 'd', 'y' */
  int pending_set = 0; /* an 'm' run not after h: month unless an s follows */
  for (size_t i = 0; i < n;) {
    int c = lower((unsigned char)s[i]);
    if (c == '"') {
      const char *q = memchr(s + i + 1, '"', n - i - 1);
      i = q ? (size_t)(q - s) + 1 : n;
      continue;
    }
    if (c == '\\' || c == '_' || c == '*') {
      i += 2;
      continue;
    }
    if (c == '[') {
      const char *q = memchr(s + i + 1, ']', n - i - 1);
      size_t end = q ? (size_t)(q - s) : n;
      int elapsed = end > i + 1;
      for (size_t k = i + 1; k < end; k++) {
        int e = lower((unsigned char)s[k]);
        if (e != 'h' && e != 'm' && e != 's') elapsed = 0;
      }
      if (elapsed) time = 1, last = lower((unsigned char)s[i + 1]);
      i = q ? end + 1 : n;
      continue;
    }
    if (prefix_ci(s + i, n - i, "am/pm")) {
      time = 1;
      i += 5;
      continue;
    }
    if (prefix_ci(s + i, n - i, "a/p")) {
      time = 1;
      i += 3;
      continue;
    }
    if (c == 'y' || c == 'd') {
      date = 1;
      last = c;
    } else if (c == 'h') {
      time = 1;
      last = 'h';
    } else if (c == 's') {
      time = 1;
      if (pending_set) pending_set = 0; /* the m run before s was minutes */
      last = 's';
    } else if (c == 'm') {
      size_t j = i;
      while (j < n && lower((unsigned char)s[j]) == 'm') j++;
      if (pending_set) date = 1; /* an earlier m run not followed by s */
      if (last == 'h') {
        time = 1;
        pending_set = 0;
      } else {
        pending_set = 1;
      }
      last = 'm';
      i = j;
      continue;
    }
    i++;
  }
  if (pending_set) date = 1; /* a month */
  if (date && time) return NV_XLSX_FMT_DATETIME;
  if (date) return NV_XLSX_FMT_DATE;
  if (time) return NV_XLSX_FMT_TIME;
  return NV_XLSX_FMT_NUMBER;
}



size_t nv_xlsx_serial_iso(double v, int date1904, int kind, char *out, size_t outsz) {
  if (outsz < 20 || !isfinite(v) || v < 0 || v > 3e6) return 0;
  double whole = floor(v);
  int64_t days = (int64_t)whole;
  int64_t secs = (int64_t)llround((v - whole) * 86400.0);
  if (secs >= 86400) {
    days++;
    secs -= 86400;
  }
  unsigned hh = (unsigned)(secs / 3600), mi = (unsigned)(secs / 60 % 60), ss = (unsigned)(secs % 60);
  if (kind == NV_XLSX_FMT_TIME && days == 0) {
    int k = snprintf(out, outsz, "%02u:%02u:%02u", hh, mi, ss);
    return k > 0 ? (size_t)k : 0;
  }
  int64_t y;
  int m, d;
  if (!date1904 && days == 60) { /* Excel's 1900-02-29, which never was */
    y = 1900, m = 2, d = 29;
  } else {
    int64_t base = date1904        ? nv_days_from_civil(1904, 1, 1)
                   : days < 60     ? nv_days_from_civil(1899, 12, 31)
                                   : nv_days_from_civil(1899, 12, 30);
    nv_civil_from_days(base + days, &y, &m, &d);
  }
  if (y > 9999) return 0;
  int k;
  if (kind == NV_XLSX_FMT_DATE)
    k = snprintf(out, outsz, "%04d-%02d-%02d", (int)y, m, d);
  else
    k = snprintf(out, outsz, "%04d-%02d-%02dT%02u:%02u:%02u", (int)y, m, d, hh, mi, ss);
  return k > 0 && (size_t)k < outsz ? (size_t)k : 0;
}

/* ---- the workbook ------------------------------------------------------- */

struct sheet {
  struct nv_xlsx_sheet_info info;
  char *rid;
  int dim_read;
  char *dim;
};

struct nv_xlsx {
  zip_t *za;
  struct nv_xlsx_limits lim;
  int date1904;
  struct sheet *sheets;
  size_t nsheets, scap;
  char *wb_part;  /* e.g. "xl/workbook.xml" */
  char *sst_part; /* from the workbook's relationships (or NULL) */
  char *sty_part;
  char *chunk;    /* CHUNK bytes for zip reads */
  uint64_t sheet_budget; /* nv_xlsx_profile_bytes' max_bytes while it runs */
  int budget_hit;
  uint64_t sheet_bytes;  /* inflated worksheet bytes the last read_sheet read */
  nv_xlsx_progress_fn progress; /* nv_xlsx_set_progress */
  void *progress_ud;
  uint64_t progress_every;
  int progress_on;        /* a profile is running: its worksheet reads report */
  uint64_t progress_base; /* inflated bytes of its earlier worksheet passes */
  uint64_t progress_next; /* report when base + this pass reach it */
  uint64_t progress_share; /* the bytes the last chunk's report stood for */
  /* loaded on first sheet read */
  int aux_loaded;
  char *sst;
  size_t sst_len, sst_cap;
  uint32_t *sst_off; /* sst_n + 1 offsets */
  size_t sst_n, sst_offcap;
  unsigned char *xf_kind; /* nv_xlsx_fmt per cellXfs index */
  size_t nxf;
};

int nv_xlsx_date1904(const struct nv_xlsx *wb) { return wb->date1904; }
size_t nv_xlsx_nsheets(const struct nv_xlsx *wb) { return wb->nsheets; }

const struct nv_xlsx_sheet_info *nv_xlsx_sheet(const struct nv_xlsx *wb, size_t i) {
  return i < wb->nsheets ? &wb->sheets[i].info : NULL;
}

long nv_xlsx_find_sheet(const struct nv_xlsx *wb, const char *name, size_t n) {
  for (size_t i = 0; i < wb->nsheets; i++)
    if (wb->sheets[i].info.name_len == n && memcmp(wb->sheets[i].info.name, name, n) == 0)
      return (long)i;
  return -1;
}

static void set_err(char *err, size_t errsz, const char *fmt, ...) {
  if (errsz == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errsz, fmt, ap);
  va_end(ap);
}

/* ---- expat plumbing ----------------------------------------------------- */

struct xctx {
  XML_Parser xp;
  const struct nv_xlsx_limits *lim;
  unsigned depth;
  uint64_t events;
  int done; /* stopped on purpose */
  int code; /* a failure */
  uint64_t budget; /* stop (not fail) past this many inflated bytes; 0: none */
  int budget_hit;
  uint64_t total;  /* inflated bytes read */
  int track;       /* a profiled worksheet: parse_entry reports progress */
  char msg[MSGSZ];
};

static void xfail(struct xctx *x, int code, const char *fmt, ...) {
  if (!x->code && !x->done) {
    x->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->msg, sizeof x->msg, fmt, ap);
    va_end(ap);
  }
  (void)XML_StopParser(x->xp, XML_FALSE); /* fails only when already stopping */
}

static void xdone(struct xctx *x) {
  if (!x->code) x->done = 1;
  (void)XML_StopParser(x->xp, XML_FALSE);
}

static int xstopped(const struct xctx *x) { return x->done || x->code; }

/* Common entry of every start handler: depth and liveness. */
static int xenter(struct xctx *x) {
  x->events++;
  if (xstopped(x)) return 0;
  if (++x->depth > x->lim->max_depth) {
    xfail(x, NV_XLSX_ELIMIT, "XML nested deeper than %u elements", x->lim->max_depth);
    return 0;
  }
  return 1;
}

static int xleave(struct xctx *x) {
  x->events++;
  if (x->depth) x->depth--;
  return !xstopped(x);
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal) {
  (void)name, (void)sysid, (void)pubid, (void)has_internal;
  xfail(ud, NV_XLSX_EFORMAT, "DTDs are not allowed");
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int pe, const XML_Char *v, int vlen,
                              const XML_Char *base, const XML_Char *sysid, const XML_Char *pubid,
                              const XML_Char *notation) {
  (void)name, (void)pe, (void)v, (void)vlen, (void)base, (void)sysid, (void)pubid, (void)notation;
  xfail(ud, NV_XLSX_EFORMAT, "entity declarations are not allowed");
}

static void XMLCALL on_comment(void *ud, const XML_Char *s) {
  (void)s;
  ((struct xctx *)ud)->events++;
}

static void XMLCALL on_pi(void *ud, const XML_Char *t, const XML_Char *d) {
  (void)t, (void)d;
  ((struct xctx *)ud)->events++;
}

/* ud must start with a struct xctx. */
static int xinit(struct xctx *x, const struct nv_xlsx_limits *lim, void *ud,
                 XML_StartElementHandler st, XML_EndElementHandler en, XML_CharacterDataHandler tx) {
  memset(x, 0, sizeof *x);
  x->lim = lim;
  x->xp = XML_ParserCreateNS(NULL, NS_SEP);
  if (x->xp == NULL) return 0;
  XML_SetUserData(x->xp, ud);
  XML_SetElementHandler(x->xp, st, en);
  if (tx) XML_SetCharacterDataHandler(x->xp, tx);
  XML_SetStartDoctypeDeclHandler(x->xp, on_doctype);
  XML_SetEntityDeclHandler(x->xp, on_entity);
  XML_SetCommentHandler(x->xp, on_comment);
  XML_SetProcessingInstructionHandler(x->xp, on_pi);
  if (!XML_SetParamEntityParsing(x->xp, XML_PARAM_ENTITY_PARSING_NEVER)) {
    XML_ParserFree(x->xp);
    x->xp = NULL;
    return 0;
  }
  return 1;
}

static void xfree(struct xctx *x) {
  if (x->xp) XML_ParserFree(x->xp);
  x->xp = NULL;
}

/* Streams zip entry `name` through x's parser. Returns NV_XLSX_OK (also
 * for a deliberate stop), -1 when the entry does not exist, or a code with
 * a message "<name>: ..." in err. */
static int parse_entry(struct nv_xlsx *wb, const char *name, uint64_t max_bytes, struct xctx *x,
                       char *err, size_t errsz) {
  zip_int64_t idx = zip_name_locate(wb->za, name, ZIP_FL_NOCASE);
  if (idx < 0) return -1;
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(wb->za, (zip_uint64_t)idx, 0, &st) != 0) {
    set_err(err, errsz, "%s: %s", name, zip_strerror(wb->za));
    return NV_XLSX_EFORMAT;
  }
  if ((st.valid & ZIP_STAT_SIZE) && st.size > max_bytes) {
    set_err(err, errsz, "%s: inflated size %llu exceeds the limit of %llu bytes", name,
            (unsigned long long)st.size, (unsigned long long)max_bytes);
    return NV_XLSX_ELIMIT;
  }
  if ((st.valid & ZIP_STAT_SIZE) && (st.valid & ZIP_STAT_COMP_SIZE) &&
      st.size > wb->lim.ratio_min_bytes &&
      (st.comp_size == 0 || st.size / st.comp_size > wb->lim.max_ratio)) {
    set_err(err, errsz, "%s: compression ratio above %llu:1 (%llu bytes from %llu); refusing a possible zip bomb",
            name, (unsigned long long)wb->lim.max_ratio, (unsigned long long)st.size,
            (unsigned long long)st.comp_size);
    return NV_XLSX_ELIMIT;
  }
  zip_file_t *zf = zip_fopen_index(wb->za, (zip_uint64_t)idx, 0);
  if (zf == NULL) {
    set_err(err, errsz, "%s: %s", name, zip_strerror(wb->za));
    return NV_XLSX_EFORMAT;
  }
  uint64_t total = 0, stale = 0, seen = x->events;
  int rc = NV_XLSX_OK;
  for (;;) {
    zip_int64_t got = zip_fread(zf, wb->chunk, CHUNK);
    if (got < 0) {
      set_err(err, errsz, "%s: %s", name, zip_file_strerror(zf));
      rc = NV_XLSX_EFORMAT;
      break;
    }
    total += (uint64_t)got;
    x->total = total;
    if (total > max_bytes) {
      set_err(err, errsz, "%s: inflated size exceeds the limit of %llu bytes", name,
              (unsigned long long)max_bytes);
      rc = NV_XLSX_ELIMIT;
      break;
    }
    if (x->events == seen) {
      stale += (uint64_t)got;
      if (stale > x->lim->max_token_bytes) {
        set_err(err, errsz, "%s: an XML token longer than %zu bytes", name,
                x->lim->max_token_bytes);
        rc = NV_XLSX_ELIMIT;
        break;
      }
    } else {
      stale = (uint64_t)got;
      seen = x->events;
    }
    enum XML_Status s = XML_Parse(x->xp, wb->chunk, (int)got, got == 0);
    if (s != XML_STATUS_OK || got == 0) {
      if (x->code) {
        set_err(err, errsz, "%s: %s", name, x->msg);
        rc = x->code;
      } else if (!x->done && s != XML_STATUS_OK) {
        set_err(err, errsz, "%s: malformed XML at line %lu: %s", name,
                (unsigned long)XML_GetCurrentLineNumber(x->xp),
                XML_ErrorString(XML_GetErrorCode(x->xp)));
        rc = XML_GetErrorCode(x->xp) == XML_ERROR_NO_MEMORY ? NV_XLSX_EMEMORY : NV_XLSX_EFORMAT;
      }
      break;
    }
    if (x->track) { /* the share of the entry's compressed size read, over both passes */
      uint64_t done = wb->progress_base + total;
      uint64_t bytes = done / 2;
      if ((st.valid & ZIP_STAT_SIZE) && (st.valid & ZIP_STAT_COMP_SIZE) && st.size > 0) {
        double share = (double)done / (2.0 * (double)st.size);
        bytes = (uint64_t)((double)st.comp_size * (share < 1.0 ? share : 1.0));
      }
      wb->progress_share = bytes;
      if (wb->progress && done >= wb->progress_next) {
        wb->progress_next = wb->progress_every > UINT64_MAX - done ? UINT64_MAX : done + wb->progress_every;
        if (!wb->progress(wb->progress_ud, bytes)) {
          set_err(err, errsz, "cancelled");
          rc = NV_XLSX_ECANCELLED;
          break;
        }
      }
    }
    if (x->budget && total >= x->budget) {
      x->budget_hit = 1; /* the rows parsed so far are the result */
      break;
    }
  }
  if (zip_fclose(zf) != 0 && rc == NV_XLSX_OK && !x->done && !x->budget_hit) {
    set_err(err, errsz, "%s: cannot close the zip entry", name);
    rc = NV_XLSX_EFORMAT;
  }
  return rc;
}

/* ---- relationships ------------------------------------------------------ */

struct rel {
  char *id, *type, *target;
};

struct rels_ctx {
  struct xctx x;
  struct rel *r;
  size_t n, cap;
};

static void XMLCALL rels_start(void *ud, const XML_Char *name, const XML_Char **a) {
  struct rels_ctx *c = ud;
  if (!xenter(&c->x)) return;
  if (!is(name, "Relationship")) return;
  const char *id = attr(a, "Id"), *type = attr(a, "Type"), *target = attr(a, "Target");
  const char *mode = attr(a, "TargetMode");
  if (!id || !type || !target || (mode && strcmp(mode, "External") == 0)) return;
  if (c->n >= MAX_SHEETS * 4) {
    xfail(&c->x, NV_XLSX_ELIMIT, "too many relationships");
    return;
  }
  if (!grow(&c->r, &c->cap, c->n + 1, sizeof *c->r)) goto oom;
  struct rel *r = &c->r[c->n];
  r->id = dupn(id, strlen(id));
  r->type = dupn(type, strlen(type));
  r->target = dupn(target, strlen(target));
  c->n++;
  if (!r->id || !r->type || !r->target) goto oom;
  return;
oom:
  xfail(&c->x, NV_XLSX_EMEMORY, "out of memory");
}

static void XMLCALL rels_end(void *ud, const XML_Char *name) {
  (void)name;
  xleave(ud);
}

static void rels_free(struct rels_ctx *c) {
  for (size_t i = 0; i < c->n; i++) {
    free(c->r[i].id);
    free(c->r[i].type);
    free(c->r[i].target);
  }
  free(c->r);
  c->r = NULL;
  c->n = c->cap = 0;
}

static const struct rel *rel_by_type(const struct rels_ctx *c, const char *suffix) {
  size_t k = strlen(suffix);
  for (size_t i = 0; i < c->n; i++) {
    size_t n = strlen(c->r[i].type);
    if (n >= k && strcmp(c->r[i].type + n - k, suffix) == 0) return &c->r[i];
  }
  return NULL;
}

/* The zip name of target relative to the directory of part (or absolute
 * when it starts with '/'), with "." and ".." segments resolved. */
static char *resolve(const char *part, const char *target) {
  struct buf b = {0};
  size_t tl = strlen(target);
  if (tl > MAX_NAME) return NULL;
  if (target[0] != '/') {
    const char *slash = strrchr(part, '/');
    if (slash && !buf_add(&b, part, (size_t)(slash - part) + 1)) return NULL;
  }
  if (!buf_add(&b, target, tl)) {
    buf_free(&b);
    return NULL;
  }
  /* normalise in place: segments split on '/' */
  char *out = b.p;
  size_t o = 0;
  for (size_t i = 0; i < b.n;) {
    size_t j = i;
    while (j < b.n && b.p[j] != '/') j++;
    size_t len = j - i;
    if (len == 0 || (len == 1 && b.p[i] == '.')) {
      /* skip */
    } else if (len == 2 && b.p[i] == '.' && b.p[i + 1] == '.') {
      while (o > 0 && out[o - 1] != '/') o--;
      if (o > 0) o--;
      while (o > 0 && out[o - 1] != '/') o--;
    } else {
      if (o > 0 && out[o - 1] != '/') out[o++] = '/';
      memmove(out + o, b.p + i, len);
      o += len;
      out[o++] = '/';
    }
    i = j + 1;
  }
  if (o > 0 && out[o - 1] == '/') o--;
  out[o] = '\0';
  return out;
}

/* Parses the .rels part of `part` into c; a missing part leaves c empty. */
static int read_rels(struct nv_xlsx *wb, const char *part, struct rels_ctx *c, char *err,
                     size_t errsz) {
  memset(c, 0, sizeof *c);
  struct buf name = {0};
  const char *slash = strrchr(part, '/');
  size_t dir = slash ? (size_t)(slash - part) + 1 : 0;
  if (!buf_add(&name, part, dir) || !buf_add(&name, "_rels/", 6) ||
      !buf_add(&name, part + dir, strlen(part + dir)) || !buf_add(&name, ".rels", 5)) {
    buf_free(&name);
    set_err(err, errsz, "out of memory");
    return NV_XLSX_EMEMORY;
  }
  if (!xinit(&c->x, &wb->lim, c, rels_start, rels_end, NULL)) {
    buf_free(&name);
    set_err(err, errsz, "out of memory");
    return NV_XLSX_EMEMORY;
  }
  int rc = parse_entry(wb, name.p, wb->lim.max_part_bytes, &c->x, err, errsz);
  xfree(&c->x);
  buf_free(&name);
  if (rc == -1) rc = NV_XLSX_OK;
  if (rc != NV_XLSX_OK) rels_free(c);
  return rc;
}

/* ---- workbook.xml ------------------------------------------------------- */

struct wb_ctx {
  struct xctx x;
  struct nv_xlsx *wb;
  int in_sheets;
};

static void XMLCALL wb_start(void *ud, const XML_Char *name, const XML_Char **a) {
  struct wb_ctx *c = ud;
  if (!xenter(&c->x)) return;
  struct nv_xlsx *wb = c->wb;
  const char *ln = local_name(name);
  if (strcmp(ln, "workbookPr") == 0) {
    const char *v = attr(a, "date1904");
    wb->date1904 = v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
  } else if (strcmp(ln, "sheets") == 0) {
    c->in_sheets = 1;
  } else if (strcmp(ln, "sheet") == 0 && c->in_sheets) {
    const char *nm = attr(a, "name"), *state = attr(a, "state"), *rid = attr_rid(a);
    if (nm == NULL) nm = "";
    size_t nl = strlen(nm);
    if (nl > MAX_NAME) {
      xfail(&c->x, NV_XLSX_ELIMIT, "a sheet name longer than %u bytes", MAX_NAME);
      return;
    }
    if (wb->nsheets >= MAX_SHEETS) {
      xfail(&c->x, NV_XLSX_ELIMIT, "more than %u sheets", MAX_SHEETS);
      return;
    }
    if (!grow(&wb->sheets, &wb->scap, wb->nsheets + 1, sizeof *wb->sheets)) goto oom;
    struct sheet *s = &wb->sheets[wb->nsheets];
    memset(s, 0, sizeof *s);
    wb->nsheets++;
    s->info.name = dupn(nm, nl);
    s->info.name_len = nl;
    s->info.hidden = state && (strcmp(state, "hidden") == 0 || strcmp(state, "veryHidden") == 0);
    if (rid) s->rid = dupn(rid, strlen(rid));
    if (s->info.name == NULL || (rid && s->rid == NULL)) goto oom;
  }
  return;
oom:
  xfail(&c->x, NV_XLSX_EMEMORY, "out of memory");
}

static void XMLCALL wb_end(void *ud, const XML_Char *name) {
  struct wb_ctx *c = ud;
  if (!xleave(&c->x)) return;
  if (is(name, "sheets")) c->in_sheets = 0;
}

void nv_xlsx_close(struct nv_xlsx *wb) {
  if (wb == NULL) return;
  for (size_t i = 0; i < wb->nsheets; i++) {
    free((char *)wb->sheets[i].info.name);
    free((char *)wb->sheets[i].info.part);
    free(wb->sheets[i].rid);
    free(wb->sheets[i].dim);
  }
  free(wb->sheets);
  free(wb->wb_part);
  free(wb->sst_part);
  free(wb->sty_part);
  free(wb->chunk);
  free(wb->sst);
  free(wb->sst_off);
  free(wb->xf_kind);
  if (wb->za) zip_discard(wb->za);
  free(wb);
}

static int load_workbook(struct nv_xlsx *wb, char *err, size_t errsz) {
  struct rels_ctx rels;
  char sub[MSGSZ];
  int rc = read_rels(wb, "", &rels, sub, sizeof sub); /* _rels/.rels */
  if (rc != NV_XLSX_OK) {
    set_err(err, errsz, "%s", sub);
    return rc;
  }
  const struct rel *doc = rel_by_type(&rels, "/officeDocument");
  wb->wb_part = resolve("", doc ? doc->target : "xl/workbook.xml");
  rels_free(&rels);
  if (wb->wb_part == NULL) {
    set_err(err, errsz, "out of memory");
    return NV_XLSX_EMEMORY;
  }
  struct wb_ctx c = {0};
  c.wb = wb;
  if (!xinit(&c.x, &wb->lim, &c, wb_start, wb_end, NULL)) {
    set_err(err, errsz, "out of memory");
    return NV_XLSX_EMEMORY;
  }
  rc = parse_entry(wb, wb->wb_part, wb->lim.max_part_bytes, &c.x, err, errsz);
  xfree(&c.x);
  if (rc == -1) {
    set_err(err, errsz, "not an .xlsx workbook (no %s)", wb->wb_part);
    return NV_XLSX_EFORMAT;
  }
  if (rc != NV_XLSX_OK) return rc;
  rc = read_rels(wb, wb->wb_part, &rels, err, errsz);
  if (rc != NV_XLSX_OK) return rc;
  for (size_t i = 0; i < wb->nsheets && rc == NV_XLSX_OK; i++) {
    struct sheet *s = &wb->sheets[i];
    for (size_t k = 0; s->rid && k < rels.n; k++)
      if (strcmp(rels.r[k].id, s->rid) == 0) {
        s->info.part = resolve(wb->wb_part, rels.r[k].target);
        if (s->info.part == NULL) rc = NV_XLSX_EMEMORY;
        break;
      }
  }
  const struct rel *r = rel_by_type(&rels, "/sharedStrings");
  if (rc == NV_XLSX_OK && r && (wb->sst_part = resolve(wb->wb_part, r->target)) == NULL)
    rc = NV_XLSX_EMEMORY;
  r = rel_by_type(&rels, "/styles");
  if (rc == NV_XLSX_OK && r && (wb->sty_part = resolve(wb->wb_part, r->target)) == NULL)
    rc = NV_XLSX_EMEMORY;
  rels_free(&rels);
  if (rc != NV_XLSX_OK) set_err(err, errsz, "out of memory");
  return rc;
}

static const unsigned char ole2_magic[8] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};

static struct nv_xlsx *wb_new(const struct nv_xlsx_limits *lim) {
  struct nv_xlsx *wb = calloc(1, sizeof *wb);
  if (wb == NULL) return NULL;
  if (lim) wb->lim = *lim;
  else nv_xlsx_limits_default(&wb->lim);
  wb->chunk = malloc(CHUNK);
  if (wb->chunk == NULL) {
    free(wb);
    return NULL;
  }
  return wb;
}

static struct nv_xlsx *open_finish(struct nv_xlsx *wb, zip_t *za, int zerr, int *code, char *err,
                                   size_t errsz) {
  if (za == NULL) {
    if (zerr == ZIP_ER_NOZIP) {
      *code = NV_XLSX_EFORMAT;
      set_err(err, errsz, "not an .xlsx workbook (not a zip archive)");
    } else if (zerr == ZIP_ER_MEMORY) {
      *code = NV_XLSX_EMEMORY;
      set_err(err, errsz, "out of memory");
    } else {
      zip_error_t ze;
      zip_error_init_with_code(&ze, zerr);
      *code = zerr == ZIP_ER_OPEN || zerr == ZIP_ER_READ ? NV_XLSX_EOPEN : NV_XLSX_EFORMAT;
      set_err(err, errsz, "corrupt zip archive (%s)", zip_error_strerror(&ze));
      zip_error_fini(&ze);
    }
    nv_xlsx_close(wb);
    return NULL;
  }
  wb->za = za;
  int rc = load_workbook(wb, err, errsz);
  if (rc != NV_XLSX_OK) {
    *code = rc;
    nv_xlsx_close(wb);
    return NULL;
  }
  *code = NV_XLSX_OK;
  return wb;
}

static const char *legacy_msg = "legacy .xls workbooks are not supported; save as .xlsx or CSV";

/* A new workbook for content whose first n bytes are head: NULL (with *code
 * and err) for a legacy .xls or when out of memory. */
static struct nv_xlsx *open_start(const void *head, size_t n, const struct nv_xlsx_limits *lim,
                                  int *code, char *err, size_t errsz) {
  if (n >= sizeof ole2_magic && memcmp(head, ole2_magic, sizeof ole2_magic) == 0) {
    *code = NV_XLSX_EUNSUPPORTED;
    set_err(err, errsz, "%s", legacy_msg);
    return NULL;
  }
  struct nv_xlsx *wb = wb_new(lim);
  if (wb == NULL) {
    *code = NV_XLSX_EMEMORY;
    set_err(err, errsz, "out of memory");
  }
  return wb;
}

struct nv_xlsx *nv_xlsx_open_file(const char *path, const struct nv_xlsx_limits *lim, int *code,
                                  char *err, size_t errsz) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    *code = NV_XLSX_EOPEN;
    set_err(err, errsz, "%s", strerror(errno));
    return NULL;
  }
  unsigned char head[8];
  size_t got = fread(head, 1, sizeof head, f);
  int rerr = ferror(f);
  if (fclose(f) != 0 || rerr) {
    *code = NV_XLSX_EOPEN;
    set_err(err, errsz, "read error");
    return NULL;
  }
  struct nv_xlsx *wb = open_start(head, got, lim, code, err, errsz);
  if (wb == NULL) return NULL;
  int zerr = 0;
  zip_t *za = zip_open(path, ZIP_RDONLY, &zerr);
  return open_finish(wb, za, za ? 0 : zerr, code, err, errsz);
}

struct nv_xlsx *nv_xlsx_open_memory(const void *data, size_t n, const struct nv_xlsx_limits *lim,
                                    int *code, char *err, size_t errsz) {
  struct nv_xlsx *wb = open_start(data, n, lim, code, err, errsz);
  if (wb == NULL) return NULL;
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t *src = zip_source_buffer_create(n ? data : "", n, 0, &ze);
  zip_t *za = NULL;
  int zerr = ZIP_ER_MEMORY;
  if (src) {
    za = zip_open_from_source(src, ZIP_RDONLY, &ze);
    if (za == NULL) {
      zerr = zip_error_code_zip(&ze);
      zip_source_free(src);
    }
  }
  zip_error_fini(&ze);
  return open_finish(wb, za, zerr, code, err, errsz);
}

/* ---- styles.xml --------------------------------------------------------- */

struct fmt {
  uint32_t id;
  unsigned char kind;
};

struct sty_ctx {
  struct xctx x;
  int in_fmts, in_xfs;
  struct fmt *f;
  size_t nf, fcap;
  uint32_t *xf;
  size_t nx, xcap;
};

static void XMLCALL sty_start(void *ud, const XML_Char *name, const XML_Char **a) {
  struct sty_ctx *c = ud;
  if (!xenter(&c->x)) return;
  const char *ln = local_name(name);
  uint64_t id = 0;
  if (strcmp(ln, "numFmts") == 0) {
    c->in_fmts = 1;
  } else if (strcmp(ln, "cellXfs") == 0) {
    c->in_xfs = 1;
  } else if (c->in_fmts && strcmp(ln, "numFmt") == 0) {
    const char *sid = attr(a, "numFmtId"), *code = attr(a, "formatCode");
    if (!sid || !code || !parse_uint(sid, strlen(sid), UINT32_MAX, &id)) return;
    if (c->nf >= MAX_FMTS) {
      xfail(&c->x, NV_XLSX_ELIMIT, "more than %zu number formats", (size_t)MAX_FMTS);
      return;
    }
    if (!grow(&c->f, &c->fcap, c->nf + 1, sizeof *c->f)) {
      xfail(&c->x, NV_XLSX_EMEMORY, "out of memory");
      return;
    }
    c->f[c->nf].id = (uint32_t)id;
    c->f[c->nf].kind = (unsigned char)nv_xlsx_format_kind(code, strlen(code));
    c->nf++;
  } else if (c->in_xfs && strcmp(ln, "xf") == 0) {
    const char *sid = attr(a, "numFmtId");
    if (!sid || !parse_uint(sid, strlen(sid), UINT32_MAX, &id)) id = 0;
    if (c->nx >= MAX_XFS) {
      xfail(&c->x, NV_XLSX_ELIMIT, "more than %zu cell formats", (size_t)MAX_XFS);
      return;
    }
    if (!grow(&c->xf, &c->xcap, c->nx + 1, sizeof *c->xf)) {
      xfail(&c->x, NV_XLSX_EMEMORY, "out of memory");
      return;
    }
    c->xf[c->nx++] = (uint32_t)id;
  }
}

static void XMLCALL sty_end(void *ud, const XML_Char *name) {
  struct sty_ctx *c = ud;
  if (!xleave(&c->x)) return;
  const char *ln = local_name(name);
  if (strcmp(ln, "numFmts") == 0) c->in_fmts = 0;
  else if (strcmp(ln, "cellXfs") == 0) c->in_xfs = 0;
}

static int fmt_cmp(const void *a, const void *b) {
  uint32_t x = ((const struct fmt *)a)->id, y = ((const struct fmt *)b)->id;
  return x < y ? -1 : x > y;
}

static int load_styles(struct nv_xlsx *wb, char *err, size_t errsz) {
  struct sty_ctx c = {0};
  if (!xinit(&c.x, &wb->lim, &c, sty_start, sty_end, NULL)) {
    set_err(err, errsz, "out of memory");
    return NV_XLSX_EMEMORY;
  }
  int rc = parse_entry(wb, wb->sty_part, wb->lim.max_part_bytes, &c.x, err, errsz);
  xfree(&c.x);
  if (rc == -1) rc = NV_XLSX_OK; /* no styles: no dates */
  if (rc == NV_XLSX_OK && c.nx) {
    qsort(c.f, c.nf, sizeof *c.f, fmt_cmp);
    wb->xf_kind = malloc(c.nx);
    if (wb->xf_kind == NULL) {
      set_err(err, errsz, "out of memory");
      rc = NV_XLSX_EMEMORY;
    } else {
      for (size_t i = 0; i < c.nx; i++) {
        struct fmt key = {c.xf[i], 0};
        const struct fmt *f = c.nf ? bsearch(&key, c.f, c.nf, sizeof *c.f, fmt_cmp) : NULL;
        wb->xf_kind[i] = (unsigned char)(f ? f->kind : nv_xlsx_builtin_format(c.xf[i]));
      }
      wb->nxf = c.nx;
    }
  }
  free(c.f);
  free(c.xf);
  return rc;
}

/* ---- sharedStrings.xml -------------------------------------------------- */

struct sst_ctx {
  struct xctx x;
  struct nv_xlsx *wb;
  int in_si, in_t;
  unsigned rph;
  size_t start;
};

static void XMLCALL sst_start(void *ud, const XML_Char *name, const XML_Char **a) {
  (void)a;
  struct sst_ctx *c = ud;
  if (!xenter(&c->x)) return;
  const char *ln = local_name(name);
  if (strcmp(ln, "si") == 0) {
    c->in_si = 1;
    c->rph = 0;
    c->start = c->wb->sst_len;
  } else if (c->in_si && strcmp(ln, "rPh") == 0) {
    c->rph++;
  } else if (c->in_si && c->rph == 0 && strcmp(ln, "t") == 0) {
    c->in_t = 1;
  }
}

static void XMLCALL sst_end(void *ud, const XML_Char *name) {
  struct sst_ctx *c = ud;
  if (!xleave(&c->x)) return;
  struct nv_xlsx *wb = c->wb;
  const char *ln = local_name(name);
  if (strcmp(ln, "t") == 0) {
    c->in_t = 0;
  } else if (strcmp(ln, "rPh") == 0 && c->rph) {
    c->rph--;
  } else if (strcmp(ln, "si") == 0 && c->in_si) {
    c->in_si = 0;
    size_t n = nv_xlsx_unescape(wb->sst + c->start, wb->sst_len - c->start);
    wb->sst_len = c->start + n;
    if (wb->sst_n >= wb->lim.max_sst_count) {
      xfail(&c->x, NV_XLSX_ELIMIT, "more than %zu shared strings", wb->lim.max_sst_count);
      return;
    }
    if (!grow(&wb->sst_off, &wb->sst_offcap, wb->sst_n + 2, sizeof *wb->sst_off)) {
      xfail(&c->x, NV_XLSX_EMEMORY, "out of memory");
      return;
    }
    wb->sst_n++;
    wb->sst_off[wb->sst_n] = (uint32_t)wb->sst_len;
  }
}

static void XMLCALL sst_text(void *ud, const XML_Char *s, int len) {
  struct sst_ctx *c = ud;
  c->x.events++;
  if (xstopped(&c->x) || !c->in_t || len <= 0) return;
  struct nv_xlsx *wb = c->wb;
  size_t n = (size_t)len;
  if (wb->sst_len - c->start + n > wb->lim.max_cell_bytes) {
    xfail(&c->x, NV_XLSX_ELIMIT, "shared string %zu longer than %zu bytes", wb->sst_n,
          wb->lim.max_cell_bytes);
    return;
  }
  if (wb->sst_len + n > wb->lim.max_sst_bytes || wb->sst_len + n > UINT32_MAX) {
    xfail(&c->x, NV_XLSX_ELIMIT, "shared strings larger than %zu bytes", wb->lim.max_sst_bytes);
    return;
  }
  if (!grow(&wb->sst, &wb->sst_cap, wb->sst_len + n, 1)) {
    xfail(&c->x, NV_XLSX_EMEMORY, "out of memory");
    return;
  }
  memcpy(wb->sst + wb->sst_len, s, n);
  wb->sst_len += n;
}

static int load_aux(struct nv_xlsx *wb, char *err, size_t errsz) {
  if (wb->aux_loaded) return NV_XLSX_OK;
  free(wb->xf_kind);
  wb->xf_kind = NULL;
  wb->nxf = 0;
  free(wb->sst_off);
  wb->sst_off = NULL;
  wb->sst_n = wb->sst_offcap = wb->sst_len = 0;
  int rc = NV_XLSX_OK;
  if (wb->sty_part) rc = load_styles(wb, err, errsz);
  if (rc != NV_XLSX_OK) return rc;
  if (!grow(&wb->sst_off, &wb->sst_offcap, 1, sizeof *wb->sst_off)) {
    set_err(err, errsz, "out of memory");
    return NV_XLSX_EMEMORY;
  }
  wb->sst_off[0] = 0;
  const char *part = wb->sst_part ? wb->sst_part : "xl/sharedStrings.xml";
  struct sst_ctx c = {0};
  c.wb = wb;
  if (!xinit(&c.x, &wb->lim, &c, sst_start, sst_end, sst_text)) {
    set_err(err, errsz, "out of memory");
    return NV_XLSX_EMEMORY;
  }
  rc = parse_entry(wb, part, wb->lim.max_sheet_bytes, &c.x, err, errsz);
  xfree(&c.x);
  if (rc == -1) rc = NV_XLSX_OK;
  if (rc == NV_XLSX_OK) wb->aux_loaded = 1;
  return rc;
}

/* ---- worksheets --------------------------------------------------------- */

struct icell {
  struct nv_xlsx_cell c;
  size_t off;    /* into the row arena when ext == 0 */
  int ext;       /* c.s points outside the arena (shared strings) */
  uint32_t seq;  /* document order, for a stable sort */
};

struct sheet_ctx {
  struct xctx x;
  struct nv_xlsx *wb;
  int head; /* stop at <dimension> or <sheetData> */
  char dim[40];
  int has_dim;
  int in_data, in_row, in_c, in_v, in_is, in_t;
  unsigned rph;
  uint32_t row, col;
  char ctype;
  uint32_t style;
  int has_v;
  struct buf val;
  struct icell *cells;
  size_t ncells, ccap;
  struct nv_xlsx_cell *out;
  size_t ocap;
  struct buf arena;
  uint64_t merged;
  size_t nkeep;
  char keep[NV_XLSX_MERGED_KEEP][32];
  int ended; /* </sheetData> or the document end reached */
  nv_xlsx_row_fn fn;
  void *ud;
};

static void cell_msg_ref(const struct sheet_ctx *c, char *ref, size_t n) {
  char col[4];
  nv_xlsx_col_name(c->col, col);
  snprintf(ref, n, "%s%lu", col, (unsigned long)c->row);
}

static int push_cell(struct sheet_ctx *c, int kind, const char *s, size_t n, double num, int ext) {
  if (c->ncells >= MAX_ROW_CELLS) {
    xfail(&c->x, NV_XLSX_ELIMIT, "row %lu: more than %u cells", (unsigned long)c->row,
          MAX_ROW_CELLS);
    return 0;
  }
  if (!grow(&c->cells, &c->ccap, c->ncells + 1, sizeof *c->cells)) goto oom;
  struct icell *ic = &c->cells[c->ncells];
  ic->c.col = c->col;
  ic->c.kind = kind;
  ic->c.num = num;
  ic->c.n = n;
  ic->c.s = NULL;
  ic->ext = ext;
  ic->seq = (uint32_t)c->ncells;
  ic->off = c->arena.n;
  if (ext) {
    ic->c.s = s;
  } else if (s) {
    if (c->arena.n + n > c->x.lim->max_row_bytes) {
      xfail(&c->x, NV_XLSX_ELIMIT, "row %lu: more than %zu bytes of text", (unsigned long)c->row,
            c->x.lim->max_row_bytes);
      return 0;
    }
    if (!buf_add(&c->arena, s, n)) goto oom;
  }
  c->ncells++;
  return 1;
oom:
  xfail(&c->x, NV_XLSX_EMEMORY, "out of memory");
  return 0;
}

/* Strict number: optional sign, digits, fraction, exponent; no spaces. */
static int parse_number(const char *s, size_t n, double *out) {
  if (n == 0 || n > 64) return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '+' || ch == 'e' ||
          ch == 'E'))
      return 0;
  }
  char tmp[72];
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  char *end = NULL;
  double v = strtod(tmp, &end);
  if (end != tmp + n || !isfinite(v)) return 0;
  *out = v;
  return 1;
}

static void finish_cell(struct sheet_ctx *c) {
  const char *v = c->val.p ? c->val.p : "";
  size_t n = c->val.n;
  struct nv_xlsx *wb = c->wb;
  char ref[24];
  double num = 0;
  switch (c->ctype) {
  case 's': {
    if (!c->has_v) return;
    uint64_t idx;
    if (!parse_uint(v, n, UINT32_MAX, &idx) || idx >= wb->sst_n) {
      cell_msg_ref(c, ref, sizeof ref);
      xfail(&c->x, NV_XLSX_EFORMAT, "cell %s: shared string index '%.20s' out of range", ref, v);
      return;
    }
    push_cell(c, NV_XLSX_TEXT, wb->sst ? wb->sst + wb->sst_off[idx] : "",
              wb->sst_off[idx + 1] - wb->sst_off[idx], 0, 1);
    return;
  }
  case 'i':
    if (c->val.p) n = nv_xlsx_unescape(c->val.p, n);
    if (c->has_v) push_cell(c, NV_XLSX_TEXT, v, n, 0, 0);
    return;
  case 'f':
    if (c->has_v) push_cell(c, NV_XLSX_TEXT, v, n, 0, 0);
    return;
  case 'b':
    if (!c->has_v) return;
    if (n == 1 && (v[0] == '0' || v[0] == '1')) push_cell(c, NV_XLSX_BOOL, NULL, 0, v[0] == '1', 0);
    else if (n == 4 && memcmp(v, "true", 4) == 0) push_cell(c, NV_XLSX_BOOL, NULL, 0, 1, 0);
    else if (n == 5 && memcmp(v, "false", 5) == 0) push_cell(c, NV_XLSX_BOOL, NULL, 0, 0, 0);
    else push_cell(c, NV_XLSX_TEXT, v, n, 0, 0);
    return;
  case 'e':
    if (c->has_v) push_cell(c, NV_XLSX_ERROR, v, n, 0, 0);
    return;
  case 'd':
    if (c->has_v && n) push_cell(c, NV_XLSX_DATE, v, n, NAN, 0);
    return;
  default:
    break;
  }
  if (!c->has_v) return;
  while (n && (v[0] == ' ' || v[0] == '\t' || v[0] == '\n' || v[0] == '\r')) v++, n--;
  while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\n' || v[n - 1] == '\r')) n--;
  if (n == 0) return;
  if (!parse_number(v, n, &num)) {
    push_cell(c, NV_XLSX_TEXT, v, n, 0, 0);
    return;
  }
  int kind = c->style < wb->nxf ? wb->xf_kind[c->style] : NV_XLSX_FMT_NUMBER;
  if (kind != NV_XLSX_FMT_NUMBER) {
    char iso[24];
    size_t k = nv_xlsx_serial_iso(num, wb->date1904, kind, iso, sizeof iso);
    if (k) {
      push_cell(c, NV_XLSX_DATE, iso, k, num, 0);
      return;
    }
  }
  push_cell(c, NV_XLSX_NUMBER, NULL, 0, num, 0);
}

static int icell_cmp(const void *a, const void *b) {
  const struct icell *x = a, *y = b;
  if (x->c.col != y->c.col) return x->c.col < y->c.col ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void finish_row(struct sheet_ctx *c) {
  size_t n = c->ncells;
  int sorted = 1;
  for (size_t i = 1; i < n && sorted; i++)
    if (c->cells[i].c.col <= c->cells[i - 1].c.col) sorted = 0;
  if (!sorted) {
    qsort(c->cells, n, sizeof *c->cells, icell_cmp);
    size_t o = 0; /* keep the last of equal columns */
    for (size_t i = 0; i < n; i++) {
      if (o > 0 && c->cells[o - 1].c.col == c->cells[i].c.col) o--;
      c->cells[o++] = c->cells[i];
    }
    n = o;
  }
  if (!grow(&c->out, &c->ocap, n ? n : 1, sizeof *c->out)) {
    xfail(&c->x, NV_XLSX_EMEMORY, "out of memory");
    return;
  }
  for (size_t i = 0; i < n; i++) {
    c->out[i] = c->cells[i].c;
    if (!c->cells[i].ext && c->out[i].n) c->out[i].s = c->arena.p + c->cells[i].off;
    else if (c->out[i].s == NULL && c->out[i].kind != NV_XLSX_NUMBER && c->out[i].kind != NV_XLSX_BOOL)
      c->out[i].s = "";
  }
  int r = c->fn ? c->fn(c->ud, c->row, c->out, n) : 0;
  if (r < 0) xfail(&c->x, NV_XLSX_EMEMORY, "out of memory");
  else if (r > 0) xdone(&c->x);
}

static void XMLCALL sheet_start(void *ud, const XML_Char *name, const XML_Char **a) {
  struct sheet_ctx *c = ud;
  if (!xenter(&c->x)) return;
  const char *ln = local_name(name);
  if (c->in_c) {
    if (strcmp(ln, "v") == 0 && c->ctype != 'i') {
      c->in_v = 1;
      c->has_v = 1;
      c->val.n = 0;
    } else if (strcmp(ln, "is") == 0) {
      c->in_is = 1;
      if (c->ctype == 'i') c->has_v = 1;
    } else if (c->in_is && strcmp(ln, "rPh") == 0) {
      c->rph++;
    } else if (c->in_is && c->rph == 0 && strcmp(ln, "t") == 0 && c->ctype == 'i') {
      c->in_t = 1;
    }
    return;
  }
  if (c->in_row && strcmp(ln, "c") == 0) {
    const char *r = attr(a, "r"), *t = attr(a, "t"), *s = attr(a, "s");
    uint32_t col = c->col + 1, row;
    if (r && !nv_xlsx_parse_ref(r, strlen(r), &col, &row)) {
      xfail(&c->x, NV_XLSX_EFORMAT, "invalid cell reference '%.20s'", r);
      return;
    }
    if (col > NV_XLSX_MAX_COLS) {
      xfail(&c->x, NV_XLSX_EFORMAT, "row %lu: more than %u columns", (unsigned long)c->row,
            NV_XLSX_MAX_COLS);
      return;
    }
    c->col = col;
    c->ctype = 'n';
    if (t) {
      if (strcmp(t, "s") == 0) c->ctype = 's';
      else if (strcmp(t, "str") == 0) c->ctype = 'f';
      else if (strcmp(t, "inlineStr") == 0) c->ctype = 'i';
      else if (strcmp(t, "b") == 0) c->ctype = 'b';
      else if (strcmp(t, "e") == 0) c->ctype = 'e';
      else if (strcmp(t, "d") == 0) c->ctype = 'd';
    }
    uint64_t st = 0;
    c->style = s && parse_uint(s, strlen(s), UINT32_MAX, &st) ? (uint32_t)st : 0;
    c->in_c = 1;
    c->has_v = 0;
    c->rph = 0;
    c->val.n = 0;
    return;
  }
  if (c->in_data && strcmp(ln, "row") == 0) {
    const char *r = attr(a, "r");
    uint64_t rn = (uint64_t)c->row + 1;
    if (r && (!parse_uint(r, strlen(r), NV_XLSX_MAX_ROW, &rn) || rn == 0)) {
      xfail(&c->x, NV_XLSX_EFORMAT, "invalid row number '%.20s'", r);
      return;
    }
    if (rn > NV_XLSX_MAX_ROW) {
      xfail(&c->x, NV_XLSX_EFORMAT, "more than %u rows", NV_XLSX_MAX_ROW);
      return;
    }
    c->row = (uint32_t)rn;
    c->col = 0;
    c->in_row = 1;
    c->ncells = 0;
    c->arena.n = 0;
    return;
  }
  if (strcmp(ln, "sheetData") == 0) {
    if (c->head) xdone(&c->x);
    else c->in_data = 1;
  } else if (strcmp(ln, "dimension") == 0) {
    const char *r = attr(a, "ref");
    if (r && strlen(r) < sizeof c->dim) {
      memcpy(c->dim, r, strlen(r) + 1);
      c->has_dim = 1;
    }
    if (c->head) xdone(&c->x);
  } else if (strcmp(ln, "mergeCell") == 0) {
    const char *r = attr(a, "ref");
    c->merged++;
    if (r && c->nkeep < NV_XLSX_MERGED_KEEP && strlen(r) < sizeof c->keep[0])
      memcpy(c->keep[c->nkeep++], r, strlen(r) + 1);
  }
}

static void XMLCALL sheet_end(void *ud, const XML_Char *name) {
  struct sheet_ctx *c = ud;
  if (!xleave(&c->x)) return;
  const char *ln = local_name(name);
  if (c->in_c) {
    if (strcmp(ln, "v") == 0) c->in_v = 0;
    else if (strcmp(ln, "t") == 0) c->in_t = 0;
    else if (strcmp(ln, "rPh") == 0 && c->rph) c->rph--;
    else if (strcmp(ln, "is") == 0) c->in_is = 0;
    else if (strcmp(ln, "c") == 0) {
      c->in_c = c->in_v = c->in_t = c->in_is = 0;
      finish_cell(c);
    }
    return;
  }
  if (c->in_row && strcmp(ln, "row") == 0) {
    c->in_row = 0;
    finish_row(c);
  } else if (strcmp(ln, "sheetData") == 0) {
    c->in_data = 0;
    c->ended = 1;
  }
}

static void XMLCALL sheet_text(void *ud, const XML_Char *s, int len) {
  struct sheet_ctx *c = ud;
  c->x.events++;
  if (xstopped(&c->x) || !(c->in_v || c->in_t) || len <= 0) return;
  if (c->val.n + (size_t)len > c->x.lim->max_cell_bytes) {
    char ref[24];
    cell_msg_ref(c, ref, sizeof ref);
    xfail(&c->x, NV_XLSX_ELIMIT, "cell %s: value longer than %zu bytes", ref,
          c->x.lim->max_cell_bytes);
    return;
  }
  if (!buf_add(&c->val, s, (size_t)len)) xfail(&c->x, NV_XLSX_EMEMORY, "out of memory");
}

static void sheet_free(struct sheet_ctx *c) {
  xfree(&c->x);
  buf_free(&c->val);
  buf_free(&c->arena);
  free(c->cells);
  free(c->out);
}

/* Streams sheet i (head only when head). */
static int read_sheet(struct nv_xlsx *wb, size_t i, int head, nv_xlsx_row_fn fn, void *ud,
                      struct sheet_ctx *c, char *err, size_t errsz) {
  memset(c, 0, sizeof *c);
  c->wb = wb;
  c->head = head;
  c->fn = fn;
  c->ud = ud;
  const char *part = wb->sheets[i].info.part;
  if (part == NULL) {
    set_err(err, errsz, "the sheet has no worksheet part");
    return NV_XLSX_EFORMAT;
  }
  if (!xinit(&c->x, &wb->lim, c, sheet_start, sheet_end, sheet_text)) {
    set_err(err, errsz, "out of memory");
    return NV_XLSX_EMEMORY;
  }
  c->x.budget = wb->sheet_budget;
  c->x.track = wb->progress_on;
  int rc = parse_entry(wb, part, wb->lim.max_sheet_bytes, &c->x, err, errsz);
  wb->budget_hit |= c->x.budget_hit;
  wb->sheet_bytes = c->x.total;
  if (c->x.track) wb->progress_base += c->x.total;
  if (rc == -1) {
    set_err(err, errsz, "%s: missing from the archive", part);
    rc = NV_XLSX_EFORMAT;
  }
  return rc;
}

const char *nv_xlsx_dimension(struct nv_xlsx *wb, size_t i) {
  if (i >= wb->nsheets) return NULL;
  struct sheet *s = &wb->sheets[i];
  if (!s->dim_read) {
    s->dim_read = 1;
    struct sheet_ctx c;
    char err[MSGSZ];
    if (read_sheet(wb, i, 1, NULL, NULL, &c, err, sizeof err) == NV_XLSX_OK && c.has_dim)
      s->dim = dupn(c.dim, strlen(c.dim));
    sheet_free(&c);
  }
  return s->dim;
}

/* ---- trimming, header detection, profiling ------------------------------ */

static int row_has_value(const struct nv_xlsx_cell *cells, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (cells[i].kind != NV_XLSX_BLANK && !(cells[i].kind == NV_XLSX_TEXT && cells[i].n == 0))
      return 1;
  return 0;
}

/* Pass 1: which rows are used, which columns hold values, the header. */
struct scan {
  uint64_t limit; /* data rows (profile) or rows (preview) */
  int preview;
  uint64_t nonempty, marked;
  uint32_t last_row;
  int row1_text, header, truncated;
  unsigned char used[NV_XLSX_MAX_COLS / 8 + 1];
  struct buf names;      /* row 1's texts */
  uint32_t *name_col;    /* column of each row-1 text */
  size_t *name_off, *name_len;
  size_t nnames, ncap, ocap, lcap;
};

static void mark(struct scan *s, uint32_t row, const struct nv_xlsx_cell *cells, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (cells[i].kind != NV_XLSX_BLANK && !(cells[i].kind == NV_XLSX_TEXT && cells[i].n == 0))
      s->used[cells[i].col / 8] |= (unsigned char)(1u << (cells[i].col % 8));
  s->marked++;
  if (row > s->last_row) s->last_row = row;
}

static int scan_row(void *ud, uint32_t row, const struct nv_xlsx_cell *cells, size_t n) {
  struct scan *s = ud;
  if (!row_has_value(cells, n)) return 0;
  s->nonempty++;
  if (s->nonempty == 1) {
    if (s->preview && s->limit == 0) {
      s->truncated = 1;
      return 1;
    }
    s->row1_text = 1;
    for (size_t i = 0; i < n; i++) {
      if (cells[i].kind == NV_XLSX_BLANK) continue;
      if (cells[i].kind != NV_XLSX_TEXT) {
        s->row1_text = 0;
        continue;
      }
      if (!grow(&s->name_col, &s->ncap, s->nnames + 1, sizeof *s->name_col) ||
          !grow(&s->name_off, &s->ocap, s->nnames + 1, sizeof *s->name_off) ||
          !grow(&s->name_len, &s->lcap, s->nnames + 1, sizeof *s->name_len))
        return -1;
      size_t len = cells[i].n > MAX_NAME ? MAX_NAME : cells[i].n;
      while (len < cells[i].n && len > 0 && ((unsigned char)cells[i].s[len] & 0xC0) == 0x80) len--;
      s->name_col[s->nnames] = cells[i].col;
      s->name_off[s->nnames] = s->names.n;
      s->name_len[s->nnames] = len;
      if (!buf_add(&s->names, cells[i].s, len)) return -1;
      s->nnames++;
    }
    mark(s, row, cells, n);
    return 0;
  }
  if (s->nonempty == 2 && !s->preview) {
    int other = 0;
    for (size_t i = 0; i < n; i++)
      if (cells[i].kind != NV_XLSX_BLANK && cells[i].kind != NV_XLSX_TEXT) other = 1;
    s->header = s->row1_text && other;
  }
  uint64_t idx = s->nonempty - (uint64_t)s->header;
  if (idx > s->limit) {
    s->truncated = 1;
    return 1;
  }
  mark(s, row, cells, n);
  return 0;
}

static void scan_free(struct scan *s) {
  buf_free(&s->names);
  free(s->name_col);
  free(s->name_off);
  free(s->name_len);
}

/* Pass 2: feeds the profiler (or the preview callback). */
struct feed {
  const struct scan *scan;
  const uint32_t *cols; /* used columns, ascending */
  size_t ncols;
  const long *map;      /* profiler column of each */
  struct nv_profiler *p;
  uint64_t k, rows, errors, limit;
  nv_xlsx_row_fn fn;    /* preview */
  void *ud;
  struct nv_xlsx_cell *tmp;
};

static int feed_cell(struct feed *f, size_t col, const struct nv_xlsx_cell *c) {
  struct nv_profiler *p = f->p;
  size_t pc = (size_t)f->map[col];
  if (c == NULL || c->kind == NV_XLSX_BLANK) return nv_profiler_add_null(p, pc);
  switch (c->kind) {
  case NV_XLSX_TEXT:
  case NV_XLSX_DATE:
    return nv_profiler_add_text(p, pc, c->s, c->n);
  case NV_XLSX_ERROR:
    f->errors++;
    return nv_profiler_add_text(p, pc, c->s, c->n);
  case NV_XLSX_BOOL:
    return nv_profiler_add_bool(p, pc, c->num != 0);
  default:
    if (c->num == floor(c->num) && fabs(c->num) < 9007199254740992.0)
      return nv_profiler_add_int(p, pc, (int64_t)c->num);
    return nv_profiler_add_double(p, pc, c->num);
  }
}

static int feed_row(void *ud, uint32_t row, const struct nv_xlsx_cell *cells, size_t n) {
  struct feed *f = ud;
  if (!row_has_value(cells, n)) return 0;
  f->k++;
  if (f->scan->header && f->k == 1) return 0;
  if (f->rows >= f->limit) return 1;
  size_t j = 0, out = 0;
  for (size_t i = 0; i < f->ncols; i++) {
    while (j < n && cells[j].col < f->cols[i]) j++;
    const struct nv_xlsx_cell *c = j < n && cells[j].col == f->cols[i] ? &cells[j] : NULL;
    if (f->fn) {
      if (c && c->kind != NV_XLSX_BLANK) {
        f->tmp[out] = *c;
        f->tmp[out++].col = (uint32_t)i + 1;
      }
    } else if (!feed_cell(f, i, c)) {
      return -1;
    }
  }
  f->rows++;
  if (f->fn) {
    int r = f->fn(f->ud, row, f->tmp, out);
    if (r) return r;
  } else {
    nv_profiler_add_rows(f->p, 1);
  }
  return f->rows >= f->limit ? 1 : 0;
}

void nv_xlsx_stats_free(struct nv_xlsx_stats *st) {
  if (st->header) {
    for (size_t i = 0; i < st->columns; i++) free(st->header[i]);
    free(st->header);
  }
  st->header = NULL;
  st->columns = 0;
}

/* The used columns of s, ascending, in a new array. */
static uint32_t *used_cols(const struct scan *s, size_t *n) {
  size_t k = 0;
  for (uint32_t col = 1; col <= NV_XLSX_MAX_COLS; col++)
    if (s->used[col / 8] & (1u << (col % 8))) k++;
  uint32_t *cols = malloc((k ? k : 1) * sizeof *cols);
  if (cols == NULL) return NULL;
  k = 0;
  for (uint32_t col = 1; col <= NV_XLSX_MAX_COLS; col++)
    if (s->used[col / 8] & (1u << (col % 8))) cols[k++] = col;
  *n = k;
  return cols;
}

/* Runs pass 1 and resolves the columns; cleans up on failure. */
static int pass1(struct nv_xlsx *wb, size_t i, struct scan *s, uint32_t **cols, size_t *ncols,
                 struct sheet_ctx *sc, char *err, size_t errsz) {
  *cols = NULL;
  int rc = load_aux(wb, err, errsz);
  if (rc != NV_XLSX_OK) return rc;
  rc = read_sheet(wb, i, 0, scan_row, s, sc, err, errsz);
  if (rc != NV_XLSX_OK) return rc;
  *cols = used_cols(s, ncols);
  if (*cols == NULL) {
    set_err(err, errsz, "out of memory");
    return NV_XLSX_EMEMORY;
  }
  return NV_XLSX_OK;
}

/* Column names: the header's texts or column_N, made unique within the
 * sheet ("name_2"); their profiler columns into map. */
static int name_columns(const struct scan *s, const uint32_t *cols, size_t n,
                        struct nv_xlsx_stats *st, struct nv_profiler *p, long *map) {
  st->header = calloc(n ? n : 1, sizeof *st->header);
  if (st->header == NULL) return 0;
  st->columns = n;
  size_t ntaken = 0, tcap = 0;
  unsigned char *taken = NULL; /* by profiler column index */
  size_t k = 0;
  int ok = 1;
  for (size_t i = 0; i < n && ok; i++) {
    struct buf nm = {0};
    while (s->header && k < s->nnames && s->name_col[k] < cols[i]) k++;
    char num[40];
    if (s->header && k < s->nnames && s->name_col[k] == cols[i] && s->name_len[k] > 0) {
      ok = buf_add(&nm, s->names.p + s->name_off[k], s->name_len[k]);
    } else {
      int len = snprintf(num, sizeof num, "column_%zu", i + 1);
      ok = len > 0 && buf_add(&nm, num, (size_t)len);
    }
    size_t base = nm.n;
    for (unsigned dup = 2; ok; dup++) {
      long idx = nv_profiler_column(p, nm.p, nm.n);
      if (idx < 0) {
        ok = 0;
        break;
      }
      if (idx == NV_PROFILER_DROPPED) { /* past the column cap: not profiled */
        map[i] = idx;
        break;
      }
      if ((size_t)idx >= ntaken) {
        if (!grow(&taken, &tcap, (size_t)idx + 1, 1)) {
          ok = 0;
          break;
        }
        memset(taken + ntaken, 0, (size_t)idx + 1 - ntaken);
        ntaken = (size_t)idx + 1;
      }
      if (!taken[idx]) {
        taken[idx] = 1;
        map[i] = idx;
        break;
      }
      int len = snprintf(num, sizeof num, "_%u", dup);
      nm.n = base;
      ok = len > 0 && buf_add(&nm, num, (size_t)len);
    }
    if (ok) {
      st->header[i] = nm.p;
      nm.p = NULL;
    }
    buf_free(&nm);
  }
  free(taken);
  return ok;
}

void nv_xlsx_set_progress(struct nv_xlsx *wb, nv_xlsx_progress_fn fn, void *ud, uint64_t every) {
  wb->progress = fn;
  wb->progress_ud = ud;
  wb->progress_every = every ? every : 1;
}

int nv_xlsx_profile(struct nv_xlsx *wb, size_t i, struct nv_profiler *p, uint64_t max_rows,
                    struct nv_xlsx_stats *st, char *err, size_t errsz) {
  return nv_xlsx_profile_bytes(wb, i, p, max_rows, 0, st, err, errsz);
}

static int profile_sheet(struct nv_xlsx *wb, size_t i, struct nv_profiler *p, uint64_t max_rows,
                         struct nv_xlsx_stats *st, char *err, size_t errsz);

int nv_xlsx_profile_bytes(struct nv_xlsx *wb, size_t i, struct nv_profiler *p, uint64_t max_rows,
                          uint64_t max_bytes, struct nv_xlsx_stats *st, char *err, size_t errsz) {
  wb->sheet_budget = max_bytes;
  wb->budget_hit = 0;
  wb->sheet_bytes = 0;
  wb->progress_on = 1;
  wb->progress_base = 0;
  wb->progress_next = wb->progress_every;
  wb->progress_share = 0;
  int rc = profile_sheet(wb, i, p, max_rows, st, err, errsz);
  wb->progress_on = 0;
  st->read_share = wb->progress_share;
  if (wb->budget_hit) st->truncated = 1;
  st->bytes = wb->sheet_bytes;
  wb->sheet_budget = 0;
  wb->budget_hit = 0;
  return rc;
}

static int profile_sheet(struct nv_xlsx *wb, size_t i, struct nv_profiler *p, uint64_t max_rows,
                         struct nv_xlsx_stats *st, char *err, size_t errsz) {
  memset(st, 0, sizeof *st);
  if (i >= wb->nsheets) {
    set_err(err, errsz, "no sheet %zu", i + 1);
    return NV_XLSX_EFORMAT;
  }
  if (max_rows == 0) max_rows = 1;
  struct scan *s = calloc(1, sizeof *s);
  struct sheet_ctx sc;
  memset(&sc, 0, sizeof sc);
  uint32_t *cols = NULL;
  long *map = NULL;
  size_t ncols = 0;
  if (s == NULL) {
    set_err(err, errsz, "out of memory");
    return NV_XLSX_EMEMORY;
  }
  s->limit = max_rows;
  int rc = pass1(wb, i, s, &cols, &ncols, &sc, err, errsz);
  st->truncated = s->truncated;
  st->has_header = s->header;
  st->merged_cells = sc.merged;
  st->nmerged_ranges = sc.nkeep;
  memcpy(st->merged_ranges, sc.keep, sizeof sc.keep);
  uint64_t nm = s->marked;
  st->trimmed_empty_rows = s->last_row > nm ? s->last_row - nm : 0;
  sheet_free(&sc);
  if (rc != NV_XLSX_OK) goto done;
  map = malloc((ncols ? ncols : 1) * sizeof *map);
  if (map == NULL || !name_columns(s, cols, ncols, st, p, map)) {
    set_err(err, errsz, "out of memory");
    rc = NV_XLSX_EMEMORY;
    goto done;
  }
  struct feed f = {0};
  f.scan = s;
  f.cols = cols;
  f.ncols = ncols;
  f.map = map;
  f.p = p;
  f.limit = max_rows;
  rc = read_sheet(wb, i, 0, feed_row, &f, &sc, err, errsz);
  sheet_free(&sc);
  st->rows = f.rows;
  st->errors = f.errors;
done:
  free(map);
  free(cols);
  scan_free(s);
  free(s);
  return rc;
}

int nv_xlsx_preview(struct nv_xlsx *wb, size_t i, uint64_t max, nv_xlsx_row_fn fn, void *ud,
                    size_t *ncols, char *err, size_t errsz) {
  *ncols = 0;
  if (i >= wb->nsheets) {
    set_err(err, errsz, "no sheet %zu", i + 1);
    return NV_XLSX_EFORMAT;
  }
  if (max == 0) return NV_XLSX_OK;
  struct scan *s = calloc(1, sizeof *s);
  if (s == NULL) {
    set_err(err, errsz, "out of memory");
    return NV_XLSX_EMEMORY;
  }
  s->preview = 1;
  s->limit = max;
  struct sheet_ctx sc;
  memset(&sc, 0, sizeof sc);
  uint32_t *cols = NULL;
  size_t n = 0;
  int rc = pass1(wb, i, s, &cols, &n, &sc, err, errsz);
  sheet_free(&sc);
  if (rc == NV_XLSX_OK) {
    struct feed f = {0};
    f.scan = s;
    f.cols = cols;
    f.ncols = n;
    f.limit = max;
    f.fn = fn;
    f.ud = ud;
    f.tmp = malloc((n ? n : 1) * sizeof *f.tmp);
    if (f.tmp == NULL) {
      set_err(err, errsz, "out of memory");
      rc = NV_XLSX_EMEMORY;
    } else {
      *ncols = n;
      rc = read_sheet(wb, i, 0, feed_row, &f, &sc, err, errsz);
      sheet_free(&sc);
    }
    free(f.tmp);
  }
  free(cols);
  scan_free(s);
  free(s);
  return rc;
}

/* ---- the xlsx reader's sniff score (reader.h) -------------------------- */

int nv_xlsx_sniff_score(const unsigned char *buf, size_t n, int eof, int hint) {
  (void)eof;
  (void)hint;
  if (n < 4 || memcmp(buf, "PK\x03\x04", 4) != 0) return 0;
  for (size_t i = 0; i + 3 <= n; i++) /* a part name under xl/ in a local header */
    if (buf[i] == 'x' && buf[i + 1] == 'l' && buf[i + 2] == '/') return 95;
  return 0; /* another zip archive */
}
