/* profiler_infer.c - classifies one trimmed text value as boolean, integer,
 * decimal, date, timestamp, time, uuid, email, url, ip, json or string, in
 * one pass over its bytes after a dispatch on the first byte, and extracts
 * its number or instant. Uses only libc (strtod for the rare numbers the
 * exact fast path cannot convert). */
#include "profiler_infer.h"
#include "civil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* character classes, indexed by byte */
enum { C_DIGIT = 1, C_HEX = 2, C_ALPHA = 4, C_LOCAL = 8, C_LABEL = 16, C_SCHEME = 32 };

#define D C_DIGIT | C_HEX | C_LOCAL | C_LABEL | C_SCHEME
#define H C_HEX | C_ALPHA | C_LOCAL | C_LABEL | C_SCHEME
#define A C_ALPHA | C_LOCAL | C_LABEL | C_SCHEME
static const unsigned char cls[256] = {
    ['0'] = D, ['1'] = D, ['2'] = D, ['3'] = D, ['4'] = D, ['5'] = D, ['6'] = D,
    ['7'] = D, ['8'] = D, ['9'] = D,
    ['a'] = H, ['b'] = H, ['c'] = H, ['d'] = H, ['e'] = H, ['f'] = H,
    ['A'] = H, ['B'] = H, ['C'] = H, ['D'] = H, ['E'] = H, ['F'] = H,
    ['g'] = A, ['h'] = A, ['i'] = A, ['j'] = A, ['k'] = A, ['l'] = A, ['m'] = A,
    ['n'] = A, ['o'] = A, ['p'] = A, ['q'] = A, ['r'] = A, ['s'] = A, ['t'] = A,
    ['u'] = A, ['v'] = A, ['w'] = A, ['x'] = A, ['y'] = A, ['z'] = A,
    ['G'] = A, ['H'] = A, ['I'] = A, ['J'] = A, ['K'] = A, ['L'] = A, ['M'] = A,
    ['N'] = A, ['O'] = A, ['P'] = A, ['Q'] = A, ['R'] = A, ['S'] = A, ['T'] = A,
    ['U'] = A, ['V'] = A, ['W'] = A, ['X'] = A, ['Y'] = A, ['Z'] = A,
    ['.'] = C_LOCAL | C_SCHEME, ['-'] = C_LOCAL | C_LABEL | C_SCHEME, ['+'] = C_LOCAL | C_SCHEME,
    ['!'] = C_LOCAL, ['#'] = C_LOCAL, ['$'] = C_LOCAL, ['%'] = C_LOCAL, ['&'] = C_LOCAL,
    ['\''] = C_LOCAL, ['*'] = C_LOCAL, ['/'] = C_LOCAL, ['='] = C_LOCAL, ['?'] = C_LOCAL,
    ['^'] = C_LOCAL, ['_'] = C_LOCAL, ['`'] = C_LOCAL, ['{'] = C_LOCAL, ['|'] = C_LOCAL,
    ['}'] = C_LOCAL, ['~'] = C_LOCAL,
};
#undef D
#undef H
#undef A

#define IS(c, k) (cls[(unsigned char)(c)] & (k))
#define DIGIT(c) ((unsigned)((unsigned char)(c) - '0') < 10u)

static const char *const type_names[NV_PT_NTYPES] = {
    "boolean", "integer", "decimal", "date", "timestamp", "time", "uuid",
    "email",   "url",     "ip",      "json", "string",    "null"};

const char *nv_pt_name(int type) {
  return type >= 0 && type < NV_PT_NTYPES ? type_names[type] : "string";
}

/* ---- numbers ------------------------------------------------------------ */

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Slow, correctly rounded conversion for what the fast path refuses
 * (numerals of 128 bytes and more are refused: the profiler's exact
 * extremes of integers beyond int64 rely on that bound). */
static double slow_strtod(const char *s, size_t n) {
  char buf[128];
  if (n >= sizeof buf) return NAN; /* absurdly long numerals: keep the type, skip the stats */
  memcpy(buf, s, n);
  buf[n] = '\0';
  return strtod(buf, NULL);
}

/* [+-]digits | [+-](digits[.digits*] | .digits)([eE][+-]digits)?
 * Integers beyond int64 are decimals (flagged big: their text is exact). */
static int parse_number(const char *s, size_t n, struct nv_classified *o) {
  size_t i = 0;
  int neg = 0;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    i = 1;
  }
  uint64_t mant = 0;
  int exp10 = 0, inexact = 0;
  size_t start = i;
  while (i < n && DIGIT(s[i])) {
    unsigned d = (unsigned)(s[i] - '0');
    if (mant <= (UINT64_MAX - 9) / 10)
      mant = mant * 10 + d;
    else {
      exp10++;
      inexact |= d != 0;
    }
    i++;
  }
  size_t int_digits = i - start;
  int code = int_digits > 1 && s[start] == '0';
  if (i == n) {
    if (int_digits == 0) return 0;
    /* +14155552671: E.164 phones have 7 to 15 digits */
    o->code = code | (s[0] == '+' && int_digits >= 7 && int_digits <= 15);
    o->big = 0;
    if (!inexact && exp10 == 0 &&
        (neg ? mant <= (uint64_t)INT64_MAX + 1 : mant <= (uint64_t)INT64_MAX)) {
      o->type = NV_PT_INTEGER;
      o->is_int = 1;
      o->ival = neg ? (int64_t)(0 - mant) : (int64_t)mant;
      o->dval = (double)o->ival;
      o->has_num = 1;
    } else {
      o->type = NV_PT_DECIMAL;
      o->big = 1;
      o->dval = slow_strtod(s, n);
      o->has_num = isfinite(o->dval);
    }
    return 1;
  }
  size_t frac_digits = 0;
  if (s[i] == '.') {
    i++;
    size_t fs = i;
    while (i < n && DIGIT(s[i])) {
      unsigned d = (unsigned)(s[i] - '0');
      if (mant <= (UINT64_MAX - 9) / 10) {
        mant = mant * 10 + d;
        exp10--;
      } else {
        inexact |= d != 0;
      }
      i++;
    }
    frac_digits = i - fs;
  }
  if (int_digits + frac_digits == 0) return 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    int eneg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
    size_t es = i;
    long e = 0;
    while (i < n && DIGIT(s[i])) {
      if (e < 100000) e = e * 10 + (s[i] - '0');
      i++;
    }
    if (i == es) return 0;
    exp10 += (int)(eneg ? -e : e);
  }
  if (i != n) return 0;
  o->type = NV_PT_DECIMAL;
  o->code = code;
  o->big = 0;
  double v;
  if (!inexact && mant <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
    v = (double)mant; /* exact, so one rounding below: correctly rounded */
    v = exp10 < 0 ? v / pow10_exact[-exp10] : v * pow10_exact[exp10];
    if (neg) v = -v;
  } else {
    v = slow_strtod(s, n);
  }
  o->dval = v;
  o->has_num = isfinite(v);
  return 1;
}

/* [+-]d{1,3}(,ddd)+[.digits]: a number written with thousands separators
 * (spreadsheet exports quote "1,492" and leave 991 plain), read as the
 * number without them. Grouping must be exact (1,5 and 12,34 are not
 * numbers here: a decimal comma is ambiguous) and the first group has no
 * leading zero. */
static int parse_grouped(const char *s, size_t n, struct nv_classified *o) {
  char buf[64];
  size_t i = 0, m = 0;
  if (n >= sizeof buf) return 0;
  if (s[0] == '+' || s[0] == '-') buf[m++] = s[i++];
  size_t g = i;
  while (i < n && DIGIT(s[i]) && i - g < 4) buf[m++] = s[i++];
  if (i == g || i - g > 3 || i >= n || s[i] != ',' || s[g] == '0') return 0;
  while (i < n && s[i] == ',') { /* m < i here: the copy never outgrows s */
    if (n - i < 4 || !DIGIT(s[i + 1]) || !DIGIT(s[i + 2]) || !DIGIT(s[i + 3])) return 0;
    memcpy(buf + m, s + i + 1, 3);
    m += 3;
    i += 4;
  }
  if (i < n) {
    if (s[i] != '.') return 0;
    for (; i < n; i++) {
      if (s[i] != '.' && !DIGIT(s[i])) return 0;
      buf[m++] = s[i];
    }
  }
  if (!parse_number(buf, m, o)) return 0;
  o->code = 0;
  return 1;
}

static inline char lower(char c) { return (char)(c >= 'A' && c <= 'Z' ? c + 32 : c); }

/* s[0..n) equals the lower-case word w, ignoring case */
static int word_is(const char *s, size_t n, const char *w, size_t wn) {
  if (n != wn) return 0;
  for (size_t i = 0; i < n; i++)
    if (lower(s[i]) != w[i]) return 0;
  return 1;
}

/* [+-](nan|inf|infinity), any case: a decimal that carries no number */
static int is_nonfinite(const char *s, size_t n) {
  if (n && (s[0] == '+' || s[0] == '-')) {
    s++;
    n--;
  }
  return word_is(s, n, "nan", 3) || word_is(s, n, "inf", 3) || word_is(s, n, "infinity", 8);
}

/* The null markers exports write for a missing value, any case: NA, N/A,
 * #N/A, null, none, nil, - and --. They count as "null", not as a type. */
static int is_null_marker(const char *s, size_t n) {
  switch (s[0]) {
    case '-': return n == 1 || (n == 2 && s[1] == '-');
    case '#': return word_is(s, n, "#n/a", 4);
    case 'n':
    case 'N':
      return word_is(s, n, "na", 2) || word_is(s, n, "n/a", 3) || word_is(s, n, "nil", 3) ||
             word_is(s, n, "null", 4) || word_is(s, n, "none", 4);
    default: return 0;
  }
}

/* ---- dates and times ---------------------------------------------------- */

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int valid_ymd(int y, int m, int d) {
  static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1) return 0;
  return d <= dim[m - 1] + (m == 2 && is_leap(y));
}



#define US_PER_DAY INT64_C(86400000000)

/* mind to maxd digits at s[*i] (stops after maxd: the caller's next
 * check sees any further digit); -1 when there are fewer than mind */
static int digits(const char *s, size_t n, size_t *i, int mind, int maxd) {
  int v = 0, k = 0;
  while (*i < n && DIGIT(s[*i]) && k < maxd) {
    v = v * 10 + (s[*i] - '0');
    (*i)++;
    k++;
  }
  return k >= mind ? v : -1;
}

/* H[H]:MM[:SS[.f+]] from s[*i]; microseconds since midnight, or -1 */
static int64_t parse_hms(const char *s, size_t n, size_t *i) {
  int h = digits(s, n, i, 1, 2);
  if (h < 0 || h > 23 || *i >= n || s[*i] != ':') return -1;
  (*i)++;
  int mi = digits(s, n, i, 2, 2);
  if (mi < 0 || mi > 59) return -1;
  int64_t us = ((int64_t)h * 3600 + mi * 60) * 1000000;
  if (*i < n && s[*i] == ':') {
    (*i)++;
    int sec = digits(s, n, i, 2, 2);
    if (sec < 0 || sec > 59) return -1;
    us += (int64_t)sec * 1000000;
    if (*i < n && (s[*i] == '.' || s[*i] == ',')) {
      (*i)++;
      size_t fs = *i;
      int64_t frac = 0, scale = 100000;
      while (*i < n && DIGIT(s[*i])) {
        frac += (s[*i] - '0') * scale;
        scale /= 10;
        (*i)++;
      }
      if (*i == fs || *i - fs > 9) return -1;
      us += frac;
    }
  }
  return us;
}

/* optional [ ](Z | UTC | GMT | ±HH[:MM] | ±HHMM) at s[i] up to the end;
 * offset in us */
static int parse_zone(const char *s, size_t n, size_t i, int *zoned, int64_t *offset) {
  *zoned = 0;
  *offset = 0;
  if (i == n) return 1;
  if (s[i] == ' ' && ++i == n) return 0;
  if (word_is(s + i, n - i, "utc", 3) || word_is(s + i, n - i, "gmt", 3)) {
    *zoned = 1;
    return 1;
  }
  if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
    *zoned = 1;
    return 1;
  }
  if (s[i] != '+' && s[i] != '-') return 0;
  int neg = s[i] == '-';
  i++;
  int hh = digits(s, n, &i, 2, 2), mm = 0;
  if (hh < 0 || hh > 23) return 0;
  if (i < n && s[i] == ':') i++;
  if (i < n) {
    mm = digits(s, n, &i, 2, 2);
    if (mm < 0 || mm > 59) return 0;
  }
  if (i != n) return 0;
  *zoned = 1;
  *offset = ((int64_t)hh * 3600 + mm * 60) * 1000000 * (neg ? -1 : 1);
  return 1;
}

#define US_PER_HOUR INT64_C(3600000000)

/* After a date ending at i: end of value (date) or [T ]time[ AM|PM][zone]. */
static int finish_chrono(const char *s, size_t n, size_t i, int allow_t, int64_t *tod,
                         int *zoned, int64_t *offset) {
  *tod = 0;
  *zoned = 0;
  *offset = 0;
  if (i == n) return NV_PT_DATE;
  if (!(s[i] == ' ' || (allow_t && (s[i] == 'T' || s[i] == 't')))) return 0;
  i++;
  int64_t us = parse_hms(s, n, &i);
  if (us < 0) return 0;
  size_t j = i + (i < n && s[i] == ' ');
  if (n - j == 2 && (lower(s[j]) == 'a' || lower(s[j]) == 'p') && lower(s[j + 1]) == 'm') {
    int64_t h = us / US_PER_HOUR; /* a 12-hour clock: 12 AM is midnight, 12 PM noon */
    if (h < 1 || h > 12) return 0;
    if (h == 12) us -= 12 * US_PER_HOUR;
    if (lower(s[j]) == 'p') us += 12 * US_PER_HOUR;
    i = n;
  }
  if (!parse_zone(s, n, i, zoned, offset)) return 0;
  *tod = us;
  return NV_PT_TIMESTAMP;
}

static inline int two_digits(const char *s) {
  unsigned a = (unsigned)((unsigned char)s[0] - '0'), b = (unsigned)((unsigned char)s[1] - '0');
  return a < 10 && b < 10 ? (int)(a * 10 + b) : -1;
}

/* The common ISO shapes at fixed positions: YYYY-MM-DD and
 * YYYY-MM-DD[T ]HH:MM:SS[Z]. 1 with o filled exactly as parse_chrono
 * would fill it; 0 when s has another shape (parse_chrono decides). */
static int parse_iso_fixed(const char *s, size_t n, struct nv_classified *o) {
  if (n != 10 && n != 19 && n != 20) return 0;
  if (s[4] != '-' || s[7] != '-') return 0;
  int yh = two_digits(s), yl = two_digits(s + 2), m = two_digits(s + 5), d = two_digits(s + 8);
  if ((yh | yl | m | d) < 0) return 0;
  int y = yh * 100 + yl;
  if (!valid_ymd(y, m, d)) return 0;
  int64_t t = nv_days_from_civil(y, m, d) * US_PER_DAY;
  int zoned = 0, type = NV_PT_DATE;
  if (n > 10) {
    char sep = s[10];
    if (!(sep == 'T' || sep == 't' || sep == ' ') || s[13] != ':' || s[16] != ':') return 0;
    int hh = two_digits(s + 11), mi = two_digits(s + 14), ss = two_digits(s + 17);
    if (hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 59) return 0;
    if (n == 20) {
      if (s[19] != 'Z' && s[19] != 'z') return 0;
      zoned = 1;
    }
    t += ((int64_t)hh * 3600 + mi * 60 + ss) * 1000000;
    type = NV_PT_TIMESTAMP;
  }
  o->form = NV_DF_PLAIN;
  o->t1 = t;
  o->zoned = zoned;
  o->type = type;
  return 1;
}

/* s starts with a digit */
static int parse_chrono(const char *s, size_t n, struct nv_classified *o) {
  size_t i = 0;
  int64_t tod, off;
  int zoned, t;
  if (parse_iso_fixed(s, n, o)) return 1;
  int a = digits(s, n, &i, 1, 4);
  if (a < 0 || i >= n) return 0;
  char sep = s[i];
  if (i == 4 && (sep == '-' || sep == '/' || sep == '.')) { /* YYYY-M-D, YYYY/M/D, YYYY.M.D */
    i++;
    int m = digits(s, n, &i, 1, 2);
    if (m < 0 || i >= n || s[i] != sep) return 0;
    i++;
    int d = digits(s, n, &i, 1, 2);
    if (d < 0 || !valid_ymd(a, m, d)) return 0;
    if (!(t = finish_chrono(s, n, i, sep == '-', &tod, &zoned, &off))) return 0;
    o->form = NV_DF_PLAIN;
    o->t1 = nv_days_from_civil(a, m, d) * US_PER_DAY + tod - off;
    o->zoned = zoned;
    o->type = t;
    return 1;
  }
  if (i > 2) return 0;
  if (sep == ':') { /* time of day */
    i = 0;
    int64_t us = parse_hms(s, n, &i);
    if (us < 0 || i != n) return 0;
    o->type = NV_PT_TIME;
    o->form = NV_DF_PLAIN;
    o->t1 = us;
    return 1;
  }
  /* M/D/Y or D/M/Y with '/' or '-', D.M.Y; YY only with '/' or in
   * DD.MM.YY (a dash or a one-digit field makes codes and versions) */
  if (sep != '/' && sep != '.' && sep != '-') return 0;
  size_t aw = i;
  i++;
  size_t bs = i;
  int b = digits(s, n, &i, 1, 2);
  if (b < 0 || i >= n || s[i] != sep) return 0;
  size_t bw = i - bs;
  i++;
  size_t ys = i;
  int y = digits(s, n, &i, 2, 4);
  if (y < 0 || i - ys == 3) return 0;
  if (i - ys == 2) {
    if (sep == '-' || (sep == '.' && (aw != 2 || bw != 2))) return 0;
    y += y >= 69 ? 1900 : 2000;
  }
  if (!(t = finish_chrono(s, n, i, 0, &tod, &zoned, &off))) return 0;
  if (sep == '.') { /* DD.MM.YYYY */
    if (!valid_ymd(y, b, a)) return 0;
    o->form = NV_DF_PLAIN;
    o->t1 = nv_days_from_civil(y, b, a) * US_PER_DAY + tod - off;
  } else {
    int mdy = valid_ymd(y, a, b), dmy = valid_ymd(y, b, a);
    if (!mdy && !dmy) return 0;
    if (mdy && dmy) {
      o->form = NV_DF_AMBIG;
      o->t1 = nv_days_from_civil(y, a, b) * US_PER_DAY + tod - off;
      o->t2 = nv_days_from_civil(y, b, a) * US_PER_DAY + tod - off;
    } else {
      o->form = mdy ? NV_DF_MDY : NV_DF_DMY;
      o->t1 = (mdy ? nv_days_from_civil(y, a, b) : nv_days_from_civil(y, b, a)) * US_PER_DAY + tod - off;
    }
  }
  o->zoned = zoned;
  o->type = t;
  return 1;
}

size_t nv_format_time(int64_t micros, char *buf, size_t size) {
  int64_t secs = micros / 1000000, frac = micros % 1000000;
  int hh = (int)(secs / 3600), mi = (int)(secs / 60 % 60), ss = (int)(secs % 60);
  int k;
  if (frac == 0)
    k = snprintf(buf, size, "%02d:%02d:%02d", hh, mi, ss);
  else if (frac % 1000 == 0)
    k = snprintf(buf, size, "%02d:%02d:%02d.%03d", hh, mi, ss, (int)(frac / 1000));
  else
    k = snprintf(buf, size, "%02d:%02d:%02d.%06d", hh, mi, ss, (int)frac);
  if (k < 0) k = 0;
  return (size_t)k < size ? (size_t)k : size - 1;
}

size_t nv_format_instant(int64_t micros, int date_only, int zoned, char *buf, size_t size) {
  int64_t days = micros / US_PER_DAY, rem = micros % US_PER_DAY;
  if (rem < 0) {
    rem += US_PER_DAY;
    days--;
  }
  int64_t yy;
  int m, d;
  nv_civil_from_days(days, &yy, &m, &d);
  int y = (int)yy;
  int k;
  if (date_only && y >= 0 && y <= 9999 && size > 10) { /* what %04d-%02d-%02d gives */
    const char f[11] = {(char)('0' + y / 1000), (char)('0' + y / 100 % 10), (char)('0' + y / 10 % 10),
                        (char)('0' + y % 10), '-', (char)('0' + m / 10), (char)('0' + m % 10), '-',
                        (char)('0' + d / 10), (char)('0' + d % 10), '\0'};
    memcpy(buf, f, sizeof f);
    return 10;
  }
  if (date_only) {
    k = snprintf(buf, size, "%04d-%02d-%02d", y, m, d);
  } else {
    int64_t secs = rem / 1000000, frac = rem % 1000000;
    int hh = (int)(secs / 3600), mi = (int)(secs / 60 % 60), ss = (int)(secs % 60);
    const char *z = zoned ? "Z" : "";
    if (frac == 0)
      k = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%s", y, m, d, hh, mi, ss, z);
    else if (frac % 1000 == 0)
      k = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%s", y, m, d, hh, mi, ss,
                   (int)(frac / 1000), z);
    else
      k = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06d%s", y, m, d, hh, mi, ss,
                   (int)frac, z);
  }
  if (k < 0) k = 0;
  return (size_t)k < size ? (size_t)k : size - 1;
}

/* ---- identifiers, addresses, json -------------------------------------- */

#ifdef __SSE2__
/* Bit i set when byte i of the 16 at p is a hex digit (ASCII only: bytes
 * >= 0x80 compare below '0' as signed). */
static inline unsigned hex_mask16(const char *p) {
  __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
  __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
  __m128i lo = _mm_or_si128(v, _mm_set1_epi8(0x20)); /* 'A'-'F' -> 'a'-'f' */
  __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(lo, _mm_set1_epi8('a' - 1)),
                                _mm_cmplt_epi8(lo, _mm_set1_epi8('f' + 1)));
  return (unsigned)_mm_movemask_epi8(_mm_or_si128(digit, alpha));
}
#endif

static int is_uuid(const char *s, size_t n) {
  if (n != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return 0;
#ifdef __SSE2__
  /* bytes 0-15, 16-31 and 20-35: hex everywhere but the dashes at 8 and 13
   * (bits 8, 13 of the first block), 18 (bit 2 of the second) and 23 (bit 7
   * of the second, bit 3 of the third) */
  return hex_mask16(s) == 0xDEFFu && hex_mask16(s + 16) == 0xFF7Bu && hex_mask16(s + 20) == 0xFFF7u;
#else
  static const uint8_t hexpos[32] = {0,  1,  2,  3,  4,  5,  6,  7,  9,  10, 11,
                                     12, 14, 15, 16, 17, 19, 20, 21, 22, 24, 25,
                                     26, 27, 28, 29, 30, 31, 32, 33, 34, 35};
  unsigned acc = C_HEX; /* stays set only if every hex position holds a hex digit */
  for (size_t k = 0; k < 32; k++) acc &= cls[(unsigned char)s[hexpos[k]]];
  return acc != 0;
#endif
}

/* dotted quad from s[*i] to the end, no leading zeros */
static int is_ipv4_at(const char *s, size_t n, size_t i) {
  for (int part = 0; part < 4; part++) {
    if (part) {
      if (i >= n || s[i] != '.') return 0;
      i++;
    }
    size_t st = i;
    int v = digits(s, n, &i, 1, 3);
    if (v < 0 || v > 255 || (i - st > 1 && s[st] == '0')) return 0;
  }
  return i == n;
}

static int is_ipv6(const char *s, size_t n) {
  size_t i = 0;
  int groups = 0, gap = 0;
  if (n < 2 || n > 45) return 0;
  if (s[0] == ':') {
    if (s[1] != ':') return 0;
    gap = 1;
    i = 2;
    if (i == n) return 1;
  }
  for (;;) {
    size_t st = i;
    while (i < n && IS(s[i], C_HEX) && i - st < 5) i++;
    if (i < n && s[i] == '.') { /* trailing dotted quad counts as two groups */
      if (!is_ipv4_at(s, n, st)) return 0;
      groups += 2;
      break;
    }
    if (i == st || i - st > 4) return 0;
    groups++;
    if (i == n) break;
    if (s[i] != ':') return 0;
    i++;
    if (i < n && s[i] == ':') {
      if (gap) return 0;
      gap = 1;
      i++;
      if (i == n) break;
    } else if (i == n) {
      return 0;
    }
    if (groups > 8) return 0;
  }
  return gap ? groups <= 7 : groups == 8;
}

static int is_email(const char *s, size_t n, const char *at) {
  size_t nl = (size_t)(at - s);
  if (nl == 0 || nl > 64 || s[0] == '.' || s[nl - 1] == '.') return 0;
  for (size_t i = 0; i < nl; i++)
    if (!IS(s[i], C_LOCAL) || (s[i] == '.' && s[i + 1] == '.')) return 0;
  const char *d = at + 1;
  size_t nd = n - nl - 1, label = 0, labels = 0;
  unsigned tld_alpha = C_ALPHA; /* stays set while the current label is all letters */
  if (nd < 4) return 0;
  for (size_t i = 0; i < nd; i++) {
    unsigned char c = (unsigned char)d[i];
    if (c == '.') {
      if (label == 0 || d[i - 1] == '-') return 0;
      labels++;
      label = 0;
      tld_alpha = C_ALPHA;
      continue;
    }
    unsigned k = cls[c];
    if (!(k & C_LABEL) || (label == 0 && c == '-')) return 0;
    tld_alpha &= k;
    label++;
  }
  if (label == 0 || d[nd - 1] == '-') return 0;
  labels++;
  return labels >= 2 && tld_alpha && label >= 2;
}

static int is_url(const char *s, size_t n) {
  size_t i = 1;
  while (i < n && i <= 16 && IS(s[i], C_SCHEME)) i++;
  if (i + 3 >= n || s[i] != ':' || s[i + 1] != '/' || s[i + 2] != '/') return 0;
  i += 3;
  if (s[i] == '/' || s[i] == '?' || s[i] == '#') return 0;
  for (; i < n; i++)
    if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f) return 0;
  return 1;
}

/* true false yes no t f y n, any case */
static int is_bool(const char *s, size_t n) {
  static const char *const words[6] = {NULL, "tfyn", "no", "yes", "true", "false"};
  if (n == 0 || n > 5) return 0;
  if (n == 1) return memchr(words[1], lower(s[0]), 4) != NULL;
  const char *w = words[n];
  for (size_t i = 0; i < n; i++)
    if (lower(s[i]) != w[i]) return 0;
  return 1;
}

/* A bounded well-formedness check: recursion is limited to JSON_DEPTH. */
#define JSON_DEPTH 64

static size_t json_ws(const char *s, size_t n, size_t i) {
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
  return i;
}

/* returns the index after the value, or 0 on error (a value never ends at 0) */
static size_t json_value(const char *s, size_t n, size_t i, int depth) {
  i = json_ws(s, n, i);
  if (i >= n) return 0;
  char c = s[i];
  if (c == '{' || c == '[') {
    char close = c == '{' ? '}' : ']';
    if (depth >= JSON_DEPTH) return 0;
    i = json_ws(s, n, i + 1);
    if (i < n && s[i] == close) return i + 1;
    for (;;) {
      if (c == '{') {
        i = json_ws(s, n, i);
        if (i >= n || s[i] != '"') return 0;
        i = json_value(s, n, i, depth + 1);
        if (!i) return 0;
        i = json_ws(s, n, i);
        if (i >= n || s[i] != ':') return 0;
        i++;
      }
      i = json_value(s, n, i, depth + 1);
      if (!i) return 0;
      i = json_ws(s, n, i);
      if (i >= n) return 0;
      if (s[i] == close) return i + 1;
      if (s[i] != ',') return 0;
      i++;
    }
  }
  if (c == '"') {
    for (i++; i < n; i++) {
      unsigned char ch = (unsigned char)s[i];
      if (ch == '"') return i + 1;
      if (ch < 0x20) return 0;
      if (ch == '\\') {
        if (++i >= n) return 0;
        if (s[i] == 'u') {
          if (i + 4 >= n) return 0;
          for (int k = 1; k <= 4; k++)
            if (!IS(s[i + k], C_HEX)) return 0;
          i += 4;
        } else if (!strchr("\"\\/bfnrt", s[i]) || s[i] == '\0') {
          return 0;
        }
      }
    }
    return 0;
  }
  if (c == '-' || DIGIT(c)) {
    size_t st = i;
    if (s[i] == '-') i++;
    if (i >= n || !DIGIT(s[i])) return 0;
    if (s[i] == '0')
      i++;
    else
      while (i < n && DIGIT(s[i])) i++;
    if (i < n && s[i] == '.') {
      size_t fs = ++i;
      while (i < n && DIGIT(s[i])) i++;
      if (i == fs) return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
      i++;
      if (i < n && (s[i] == '+' || s[i] == '-')) i++;
      size_t es = i;
      while (i < n && DIGIT(s[i])) i++;
      if (i == es) return 0;
    }
    return i > st ? i : 0;
  }
  static const char *const lits[] = {"true", "false", "null"};
  for (size_t k = 0; k < 3; k++) {
    size_t ln = strlen(lits[k]);
    if (n - i >= ln && memcmp(s + i, lits[k], ln) == 0) return i + ln;
  }
  return 0;
}

static int is_json(const char *s, size_t n) {
  size_t end = json_value(s, n, 0, 0);
  return end != 0 && json_ws(s, n, end) == n;
}

/* ---- dispatch ----------------------------------------------------------- */

/* code and big are set with every integer or decimal result only */
static inline void classified_init(struct nv_classified *o) {
  o->type = NV_PT_STRING;
  o->has_num = 0;
  o->is_int = 0;
  o->zoned = 0;
}

void nv_classify(const char *s, size_t n, struct nv_classified *o) {
  classified_init(o);
  unsigned char c = (unsigned char)s[0];
  if (n <= 4 && is_null_marker(s, n)) {
    o->type = NV_PT_NULL;
    return;
  }
  if (DIGIT(c)) {
    if (parse_number(s, n, o)) return;
    if (n >= 5 && parse_grouped(s, n, o)) return;
    if (n >= 4 && parse_chrono(s, n, o)) return;
    if (is_uuid(s, n)) {
      o->type = NV_PT_UUID;
      return;
    }
    if (is_ipv4_at(s, n, 0) || is_ipv6(s, n)) {
      o->type = NV_PT_IP;
      return;
    }
  } else if (c == '-' || c == '+' || c == '.') {
    if (parse_number(s, n, o)) return;
    if (n >= 6 && parse_grouped(s, n, o)) return;
    if (n <= 9 && is_nonfinite(s, n)) {
      o->type = NV_PT_DECIMAL;
      o->code = o->big = 0;
      return;
    }
  } else if (c == '{' || c == '[') {
    if (is_json(s, n)) o->type = NV_PT_JSON;
    return;
  } else if (IS(c, C_ALPHA)) {
    if (is_bool(s, n)) {
      o->type = NV_PT_BOOLEAN;
      return;
    }
    if (n <= 8 && is_nonfinite(s, n)) {
      o->type = NV_PT_DECIMAL;
      o->code = o->big = 0;
      return;
    }
    if (IS(c, C_HEX)) {
      if (is_uuid(s, n)) {
        o->type = NV_PT_UUID;
        return;
      }
      if (is_ipv6(s, n)) {
        o->type = NV_PT_IP;
        return;
      }
    }
    if (is_url(s, n)) {
      o->type = NV_PT_URL;
      return;
    }
  } else if (c == ':') {
    if (is_ipv6(s, n)) o->type = NV_PT_IP;
    return;
  }
  if (IS(c, C_LOCAL)) {
    const char *at = memchr(s, '@', n);
    if (at && !memchr(at + 1, '@', n - (size_t)(at - s) - 1) && is_email(s, n, at))
      o->type = NV_PT_EMAIL;
  }
}

/* ---- classification with a hint ----------------------------------------
 * Each confirmation below succeeds only on values nv_classify would give
 * that type, with the same fields: the checks nv_classify runs first
 * cannot accept them (a number holds no '-', '/', ':' or '@' past its
 * sign and exponent sign; a date or time always holds one of '-', '/',
 * ':' or two dots; a uuid is 36 bytes with dashes at fixed places; an
 * email holds '@' and no ':'; a url holds "://" and so no IPv6 address or
 * boolean can match it; a null marker, nan or inf holds no digit). */

/* An alpha-first value that nothing but string can match: not a boolean
 * word, null marker, nan or inf, not a uuid, and no ':' (url, IPv6) or '@'
 * (email) anywhere. */
static int plain_string(const char *s, size_t n) {
  if (!IS(s[0], C_ALPHA) || is_bool(s, n) || (n == 36 && is_uuid(s, n))) return 0;
  char l = (char)(s[0] | 0x20); /* markers, nan and inf that start with a letter: n..., i... */
  if ((l == 'n' || l == 'i') && n <= 8 && ((n <= 4 && is_null_marker(s, n)) || is_nonfinite(s, n)))
    return 0;
  /* eight bytes at a time: a byte equal to ':' or '@' turns zero under
   * the xor, and (x - 0x01..) & ~x & 0x80.. flags a zero byte */
  const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
  const uint64_t colon = ones * ':', at = ones * '@';
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w, a, b;
    memcpy(&w, s + i, 8);
    a = w ^ colon;
    b = w ^ at;
    if ((((a - ones) & ~a) | ((b - ones) & ~b)) & highs) return 0;
  }
  for (; i < n; i++)
    if (s[i] == ':' || s[i] == '@') return 0;
  return 1;
}

static int confirm(const char *s, size_t n, int hint, struct nv_classified *o) {
  unsigned char c = (unsigned char)s[0];
  switch (hint) {
    case NV_PT_INTEGER:
    case NV_PT_DECIMAL:
      return (DIGIT(c) || c == '-' || c == '+' || c == '.') && parse_number(s, n, o);
    case NV_PT_DATE:
    case NV_PT_TIMESTAMP:
    case NV_PT_TIME:
      return DIGIT(c) && n >= 4 && parse_chrono(s, n, o);
    case NV_PT_UUID:
      if (!is_uuid(s, n)) return 0;
      o->type = NV_PT_UUID;
      return 1;
    case NV_PT_BOOLEAN:
      if (!is_bool(s, n)) return 0;
      o->type = NV_PT_BOOLEAN;
      return 1;
    case NV_PT_EMAIL: {
      if (c == '{' || !IS(c, C_LOCAL)) return 0;
      const char *at = memchr(s, '@', n);
      if (!at || !is_email(s, n, at)) return 0;
      o->type = NV_PT_EMAIL;
      return 1;
    }
    case NV_PT_URL:
      if (!IS(c, C_ALPHA) || !is_url(s, n)) return 0;
      o->type = NV_PT_URL;
      return 1;
    case NV_PT_STRING:
      return plain_string(s, n);
    default:
      return 0;
  }
}

void nv_classify_hint(const char *s, size_t n, int hint, struct nv_classified *o) {
  classified_init(o);
  if (!confirm(s, n, hint, o)) nv_classify(s, n, o);
}
