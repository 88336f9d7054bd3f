/* profiler_infer.h - what a text value looks like: the profiler's type
 * classifier (profiler_infer.c) and the ISO formatting of its instants.
 * Pure functions over (bytes, length); no allocation, no state. */
#ifndef NV_PROFILER_INFER_H
#define NV_PROFILER_INFER_H

#include <stddef.h>
#include <stdint.h>

/* Order matters: nv_pt_name() and the inference ladder (profiler.c) list
 * the candidates most specific first. */
enum nv_ptype {
  NV_PT_BOOLEAN,
  NV_PT_INTEGER,
  NV_PT_DECIMAL,
  NV_PT_DATE,
  NV_PT_TIMESTAMP,
  NV_PT_TIME,
  NV_PT_UUID,
  NV_PT_EMAIL,
  NV_PT_URL,
  NV_PT_IP,
  NV_PT_JSON,
  NV_PT_STRING,
  NV_PT_NULL, /* a null marker (NA, N/A, null, None, -, ...): counted, never inferred */
  NV_PT_NTYPES
};

/* How a date was written: unambiguous (ISO, YYYY/MM/DD, DD.MM.YYYY),
 * slash or dash form (M/D/Y, D/M/Y, M-D-YYYY) that only reads as MM/DD or
 * as DD/MM, or both (day <= 12). Two-digit years pivot as strptime's %y
 * (and DuckDB's): 69-99 -> 19xx, 00-68 -> 20xx. */
enum nv_dform { NV_DF_PLAIN, NV_DF_MDY, NV_DF_DMY, NV_DF_AMBIG };

struct nv_classified {
  int type;     /* enum nv_ptype */
  /* integer / decimal */
  int has_num;  /* dval is a finite number */
  int is_int;   /* ival holds the value exactly (integers within int64) */
  int code;    /* written as a code, not a quantity: a leading zero ("007", "00.5";
                 * not "0", "0.5"), or '+' and 7 to 15 digits (E.164 phones) */
  int big;      /* an integer numeral beyond int64: typed decimal, the text is exact */
                /* (code and big are set for integers and decimals only) */
  int64_t ival;
  double dval;
  /* date / timestamp: microseconds since 1970-01-01T00:00:00 (UTC when
   * zoned); t2 is the DD/MM reading of an ambiguous slash date. time:
   * t1 is microseconds since midnight. */
  int form;     /* enum nv_dform */
  int zoned;
  int64_t t1, t2;
};

/* s[0..n) is non-empty and carries no surrounding whitespace. */
void nv_classify(const char *s, size_t n, struct nv_classified *out);

/* The same result as nv_classify, found faster when the value has type
 * hint (a column's previous type): that type is confirmed first, and the
 * full classification runs only when it does not hold. */
void nv_classify_hint(const char *s, size_t n, int hint, struct nv_classified *out);

const char *nv_pt_name(int type);

/* Writes "YYYY-MM-DD" (date_only) or "YYYY-MM-DDTHH:MM:SS[.fff|.ffffff][Z]"
 * into buf (size >= 40); returns the length. */
size_t nv_format_instant(int64_t micros, int date_only, int zoned, char *buf, size_t size);

/* Writes "HH:MM:SS[.fff|.ffffff]" for microseconds since midnight into
 * buf (size >= 16); returns the length. */
size_t nv_format_time(int64_t micros, char *buf, size_t size);

#endif
