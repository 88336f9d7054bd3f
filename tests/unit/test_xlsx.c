/* test_xlsx.c - the .xlsx engine (xlsx_parse.c): cell references, serial
 * dates in both systems (the 1900-02-29 boundary, fractional times),
 * number-format date detection, ST_Xstring escapes, and whole workbooks
 * built in memory with libzip: shared strings with rich text and phonetic
 * runs, header detection, truncation, and every cap (shared strings, cell
 * size, inflated size, compression ratio, token size, nesting) as an exact
 * error. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "../../host/profiler/profiler.h"
#include "../../host/readers/xlsx_parse.h"
#include "check.h"

#define CHECK_EQ_U(got, want)                                                             \
  do {                                                                                    \
    unsigned long long g_ = (unsigned long long)(got), w_ = (unsigned long long)(want);   \
    if (g_ != w_) {                                                                       \
      fprintf(stderr, "%s:%d: %s = %llu, want %llu\n", __FILE__, __LINE__, #got, g_, w_); \
      check_failures++;                                                                   \
    }                                                                                     \
  } while (0)

static void test_refs(void) {
  static const struct {
    const char *s;
    int ok;
    uint32_t col, row;
  } cases[] = {
      {"A1", 1, 1, 1},        {"AB12", 1, 28, 12},      {"Z9", 1, 26, 9},
      {"AA1", 1, 27, 1},      {"XFD1048576", 1, 16384, 1048576},
      {"ab12", 1, 28, 12},    {"XFE1", 0, 0, 0},        {"A0", 0, 0, 0},
      {"1A", 0, 0, 0},        {"A", 0, 0, 0},           {"", 0, 0, 0},
      {"A1048577", 0, 0, 0},  {"$A$1", 0, 0, 0},        {"AAAA1", 0, 0, 0},
      {"A1B", 0, 0, 0},       {"A-1", 0, 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint32_t col = 0, row = 0;
    int ok = nv_xlsx_parse_ref(cases[i].s, strlen(cases[i].s), &col, &row);
    if (ok != cases[i].ok || (ok && (col != cases[i].col || row != cases[i].row))) {
      fprintf(stderr, "ref %s: ok=%d col=%u row=%u\n", cases[i].s, ok, col, row);
      check_failures++;
    }
  }
  char nm[4];
  CHECK_EQ_U(nv_xlsx_col_name(28, nm), 2);
  CHECK_STR(nm, "AB");
  nv_xlsx_col_name(26, nm);
  CHECK_STR(nm, "Z");
  nv_xlsx_col_name(27, nm);
  CHECK_STR(nm, "AA");
  nv_xlsx_col_name(16384, nm);
  CHECK_STR(nm, "XFD");
}

static const char *iso(double v, int d1904, int kind) {
  static char out[32];
  size_t n = nv_xlsx_serial_iso(v, d1904, kind, out, sizeof out);
  return n ? out : "-";
}

static void test_dates(void) {
  const int D = NV_XLSX_FMT_DATE, T = NV_XLSX_FMT_DATETIME, H = NV_XLSX_FMT_TIME;
  CHECK_STR(iso(1, 0, D), "1900-01-01");
  CHECK_STR(iso(59, 0, D), "1900-02-28");
  CHECK_STR(iso(60, 0, D), "1900-02-29"); /* Lotus' leap day, kept as Excel shows it */
  CHECK_STR(iso(61, 0, D), "1900-03-01");
  CHECK_STR(iso(0, 0, D), "1899-12-31");
  CHECK_STR(iso(45292, 0, D), "2024-01-01");
  CHECK_STR(iso(45292.9, 0, D), "2024-01-01");
  CHECK_STR(iso(45292.5, 0, T), "2024-01-01T12:00:00");
  CHECK_STR(iso(45292.75, 0, T), "2024-01-01T18:00:00");
  CHECK_STR(iso(59.99999999, 0, T), "1900-02-29T00:00:00"); /* rounds into the next day */
  CHECK_STR(iso(60.5, 0, T), "1900-02-29T12:00:00");
  CHECK_STR(iso(61.25, 0, T), "1900-03-01T06:00:00");
  CHECK_STR(iso(2958465, 0, D), "9999-12-31");
  CHECK_STR(iso(2958466, 0, D), "-");
  CHECK_STR(iso(-1, 0, D), "-");
  CHECK_STR(iso(NAN, 0, D), "-");
  CHECK_STR(iso(INFINITY, 0, T), "-");
  CHECK_STR(iso(0.75, 0, H), "18:00:00");
  CHECK_STR(iso(0.5 + 1.0 / 86400, 0, H), "12:00:01");
  CHECK_STR(iso(1.5, 0, H), "1900-01-01T12:00:00"); /* a duration past a day */
  CHECK_STR(iso(0, 1, D), "1904-01-01");
  CHECK_STR(iso(1, 1, D), "1904-01-02");
  CHECK_STR(iso(59, 1, D), "1904-02-29"); /* a real leap day */
  CHECK_STR(iso(60, 1, D), "1904-03-01");
  CHECK_STR(iso(43830, 1, D), "2024-01-01"); /* = 45292 - 1462 */
  CHECK_STR(iso(43830.25, 1, T), "2024-01-01T06:00:00");
  char small[8];
  CHECK(nv_xlsx_serial_iso(1, 0, D, small, sizeof small) == 0);
}

static void test_formats(void) {
  static const struct {
    const char *code;
    int kind;
  } cases[] = {
      {"yyyy-mm-dd", NV_XLSX_FMT_DATE},
      {"YYYY-MM-DD", NV_XLSX_FMT_DATE},
      {"d-mmm-yy", NV_XLSX_FMT_DATE},
      {"mmm-yy", NV_XLSX_FMT_DATE},
      {"[$-409]mmmm d, yyyy", NV_XLSX_FMT_DATE},
      {"[Red]yyyy\\-mm\\-dd", NV_XLSX_FMT_DATE},
      {"h:mm", NV_XLSX_FMT_TIME},
      {"mm:ss", NV_XLSX_FMT_TIME},
      {"[h]:mm:ss", NV_XLSX_FMT_TIME},
      {"[mm]", NV_XLSX_FMT_TIME},
      {"hh:mm AM/PM", NV_XLSX_FMT_TIME},
      {"m/d/yyyy h:mm", NV_XLSX_FMT_DATETIME},
      {"yyyy-mm-dd hh:mm:ss", NV_XLSX_FMT_DATETIME},
      {"General", NV_XLSX_FMT_NUMBER},
      {"0.00", NV_XLSX_FMT_NUMBER},
      {"#,##0", NV_XLSX_FMT_NUMBER},
      {"0.00E+00", NV_XLSX_FMT_NUMBER},
      {"0.00\" days\"", NV_XLSX_FMT_NUMBER},
      {"[Red]0.00;[Blue]-0.00", NV_XLSX_FMT_NUMBER},
      {"\\d0", NV_XLSX_FMT_NUMBER},
      {"_(* #,##0_)", NV_XLSX_FMT_NUMBER},
      {"@", NV_XLSX_FMT_NUMBER},
      {"", NV_XLSX_FMT_NUMBER},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int k = nv_xlsx_format_kind(cases[i].code, strlen(cases[i].code));
    if (k != cases[i].kind) {
      fprintf(stderr, "format '%s': kind %d, want %d\n", cases[i].code, k, cases[i].kind);
      check_failures++;
    }
  }
  for (uint32_t id = 0; id < 200; id++) {
    int want = (id >= 14 && id <= 17)   ? NV_XLSX_FMT_DATE
               : (id >= 18 && id <= 21) ? NV_XLSX_FMT_TIME
               : id == 22               ? NV_XLSX_FMT_DATETIME
               : (id >= 45 && id <= 47) ? NV_XLSX_FMT_TIME
                                        : NV_XLSX_FMT_NUMBER;
    if (nv_xlsx_builtin_format(id) != want) {
      fprintf(stderr, "builtin format %u\n", id);
      check_failures++;
    }
  }
}

static void test_unescape(void) {
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"a_x000D_b", "a\rb"},       {"_x005F_x000D_", "_x000D_"}, {"_x00e9_", "\xc3\xa9"},
      {"_xZZZZ_", "_xZZZZ_"},      {"_x000D", "_x000D"},         {"plain", "plain"},
      {"_x20AC_!", "\xe2\x82\xac!"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[64];
    size_t n = strlen(cases[i].in);
    memcpy(buf, cases[i].in, n);
    n = nv_xlsx_unescape(buf, n);
    buf[n] = '\0';
    CHECK_STR(buf, cases[i].out);
  }
}

/* ---- workbooks built in memory ------------------------------------------ */

struct part {
  const char *name, *data;
  size_t n; /* 0: strlen(data) */
};

#define NSX "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\""
#define NSR "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\""
#define RT "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"

static const char *wb_xml = "<workbook " NSX " " NSR "><workbookPr/><sheets>"
                            "<sheet name=\"One\" sheetId=\"1\" r:id=\"rId1\"/>"
                            "</sheets></workbook>";
static const char *wb_rels =
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"" RT "worksheet\" Target=\"worksheets/sheet1.xml\"/>"
    "<Relationship Id=\"rId2\" Type=\"" RT "sharedStrings\" Target=\"sharedStrings.xml\"/>"
    "</Relationships>";

/* A zip image of parts, malloc'd into *out. */
static int make_zip(const struct part *parts, size_t np, char **out, size_t *outn) {
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
  if (src == NULL) return 0;
  zip_source_keep(src);
  zip_t *za = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
  int ok = za != NULL;
  for (size_t i = 0; ok && i < np; i++) {
    size_t n = parts[i].n ? parts[i].n : strlen(parts[i].data);
    zip_source_t *s = zip_source_buffer(za, parts[i].data, n, 0);
    if (s == NULL || zip_file_add(za, parts[i].name, s, ZIP_FL_ENC_UTF_8) < 0) {
      zip_source_free(s);
      ok = 0;
    }
  }
  if (za && zip_close(za) != 0) {
    zip_discard(za);
    ok = 0;
  }
  zip_stat_t st;
  *out = NULL;
  if (ok && zip_source_stat(src, &st) == 0 && zip_source_open(src) == 0) {
    *out = malloc(st.size ? st.size : 1);
    *outn = (size_t)st.size;
    if (*out == NULL || zip_source_read(src, *out, st.size) != (zip_int64_t)st.size) ok = 0;
    zip_source_close(src);
  } else {
    ok = 0;
  }
  zip_source_free(src);
  zip_error_fini(&ze);
  if (!ok) {
    free(*out);
    *out = NULL;
  }
  return ok;
}

struct rows_out {
  char text[4096];
  size_t len;
};

static void put(struct rows_out *o, const char *s, size_t n) {
  if (n > sizeof o->text - 1 - o->len) n = sizeof o->text - 1 - o->len;
  memcpy(o->text + o->len, s, n);
  o->len += n;
  o->text[o->len] = '\0';
}

/* Renders rows as "r<row>:<col>=<value>|...\n". */
static int render(void *ud, uint32_t row, const struct nv_xlsx_cell *c, size_t n) {
  struct rows_out *o = ud;
  char tmp[64];
  int k = snprintf(tmp, sizeof tmp, "r%u:", row);
  put(o, tmp, (size_t)k);
  for (size_t i = 0; i < n; i++) {
    k = snprintf(tmp, sizeof tmp, "%u=", c[i].col);
    put(o, tmp, (size_t)k);
    if (c[i].kind == NV_XLSX_NUMBER || c[i].kind == NV_XLSX_BOOL) {
      k = snprintf(tmp, sizeof tmp, "%s%g", c[i].kind == NV_XLSX_BOOL ? "b" : "", c[i].num);
      put(o, tmp, (size_t)k);
    } else {
      put(o, c[i].s, c[i].n);
    }
    put(o, "|", 1);
  }
  put(o, "\n", 1);
  return 0;
}

struct book {
  char *zip;
  size_t n;
  struct nv_xlsx *wb;
  int code;
  char err[256];
};

static void book_open(struct book *b, const char *sheet, const char *sst,
                      const struct nv_xlsx_limits *lim) {
  struct part parts[] = {
      {"xl/workbook.xml", wb_xml, 0},
      {"xl/_rels/workbook.xml.rels", wb_rels, 0},
      {"xl/worksheets/sheet1.xml", sheet, 0},
      {"xl/sharedStrings.xml", sst ? sst : "<sst " NSX "/>", 0},
  };
  memset(b, 0, sizeof *b);
  CHECK(make_zip(parts, 4, &b->zip, &b->n));
  b->wb = nv_xlsx_open_memory(b->zip, b->n, lim, &b->code, b->err, sizeof b->err);
}

static void book_close(struct book *b) {
  nv_xlsx_close(b->wb);
  free(b->zip);
}

static void test_shared_strings(void) {
  const char *sst =
      "<sst " NSX " count=\"4\" uniqueCount=\"4\">"
      "<si><t>plain</t></si>"
      "<si><r><rPr><b/><sz val=\"11\"/></rPr><t>Ri</t></r><r><t xml:space=\"preserve\">ch </t></r>"
      "<r><rPr><i/></rPr><t>text</t></r><rPh sb=\"0\" eb=\"2\"><t>PHONETIC</t></rPh>"
      "<phoneticPr fontId=\"1\"/></si>"
      "<si><t>tab_x0009_here</t></si>"
      "<si><t/></si>"
      "</sst>";
  const char *sheet =
      "<worksheet " NSX "><sheetData>"
      "<row r=\"2\"><c r=\"B2\" t=\"s\"><v>0</v></c><c r=\"C2\" t=\"s\"><v>1</v></c>"
      "<c r=\"D2\" t=\"s\"><v>2</v></c><c r=\"E2\" t=\"s\"><v>3</v></c></row>"
      "<row r=\"3\"><c r=\"C3\" t=\"inlineStr\"><is><r><t>in</t></r><r><t>line</t></r></is></c>"
      "<c r=\"B3\"><v>7</v></c><c r=\"D3\" t=\"b\"><v>1</v></c></row>"
      "</sheetData></worksheet>";
  struct book b;
  book_open(&b, sheet, sst, NULL);
  CHECK(b.wb != NULL);
  if (b.wb == NULL) {
    fprintf(stderr, "open: %s\n", b.err);
    book_close(&b);
    return;
  }
  CHECK_EQ_U(nv_xlsx_nsheets(b.wb), 1);
  CHECK_STR(nv_xlsx_sheet(b.wb, 0)->name, "One");
  CHECK(nv_xlsx_dimension(b.wb, 0) == NULL);
  struct rows_out o = {0};
  size_t ncols = 0;
  char err[256];
  CHECK_EQ_U(nv_xlsx_preview(b.wb, 0, 10, render, &o, &ncols, err, sizeof err), NV_XLSX_OK);
  CHECK_EQ_U(ncols, 3); /* B, C, D: E2 holds "" only */
  CHECK_STR(o.text, "r2:1=plain|2=Rich text|3=tab\there|\n"
                    "r3:1=7|2=inline|3=b1|\n");
  /* a missing shared string index is an error naming the cell */
  book_close(&b);
  book_open(&b, "<worksheet " NSX "><sheetData><row r=\"1\"><c r=\"C1\" t=\"s\"><v>4</v></c>"
                "</row></sheetData></worksheet>",
            sst, NULL);
  CHECK(b.wb != NULL);
  if (b.wb) {
    o.len = 0;
    CHECK_EQ_U(nv_xlsx_preview(b.wb, 0, 10, render, &o, &ncols, err, sizeof err),
               NV_XLSX_EFORMAT);
    CHECK_STR(err, "xl/worksheets/sheet1.xml: cell C1: shared string index '4' out of range");
  }
  book_close(&b);
}

static void test_profile(void) {
  /* header (all text, then a row with numbers), a blank row, max_rows */
  const char *sheet =
      "<worksheet " NSX "><sheetData>"
      "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>k</t></is></c>"
      "<c r=\"B1\" t=\"inlineStr\"><is><t>k</t></is></c><c r=\"D1\" t=\"inlineStr\"><is><t/></is></c></row>"
      "<row r=\"2\"><c r=\"A2\"><v>1</v></c><c r=\"B2\" t=\"e\"><v>#DIV/0!</v></c><c r=\"C2\"><v>2.5</v></c></row>"
      "<row r=\"4\"><c r=\"A4\"><v>2</v></c></row>"
      "<row r=\"5\"><c r=\"A5\"><v>3</v></c></row>"
      "</sheetData><mergeCells><mergeCell ref=\"A1:B1\"/></mergeCells></worksheet>";
  struct book b;
  book_open(&b, sheet, NULL, NULL);
  CHECK(b.wb != NULL);
  if (b.wb == NULL) {
    book_close(&b);
    return;
  }
  struct nv_profiler *p = nv_profiler_new();
  struct nv_xlsx_stats st;
  char err[256];
  CHECK_EQ_U(nv_xlsx_profile(b.wb, 0, p, UINT64_MAX, &st, err, sizeof err), NV_XLSX_OK);
  CHECK(st.has_header);
  CHECK_EQ_U(st.rows, 3);
  CHECK_EQ_U(st.columns, 3);
  CHECK_STR(st.header[0], "k");
  CHECK_STR(st.header[1], "k_2");
  CHECK_STR(st.header[2], "column_3");
  CHECK_EQ_U(st.errors, 1);
  CHECK_EQ_U(st.merged_cells, 1);
  CHECK_STR(st.merged_ranges[0], "A1:B1");
  CHECK_EQ_U(st.trimmed_empty_rows, 1);
  CHECK(!st.truncated);
  CHECK_EQ_U(nv_profiler_ncols(p), 3);
  nv_xlsx_stats_free(&st);
  nv_profiler_free(p);

  p = nv_profiler_new();
  CHECK_EQ_U(nv_xlsx_profile(b.wb, 0, p, 2, &st, err, sizeof err), NV_XLSX_OK);
  CHECK_EQ_U(st.rows, 2);
  CHECK(st.truncated);
  CHECK_EQ_U(st.merged_cells, 0); /* after sheetData: not reached */
  nv_xlsx_stats_free(&st);
  nv_profiler_free(p);
  book_close(&b);
}

static void expect_error(const char *what, const char *sheet, const char *sst,
                         const struct nv_xlsx_limits *lim, int code, const char *msg) {
  struct book b;
  book_open(&b, sheet, sst, lim);
  if (b.wb == NULL) {
    CHECK_EQ_U(b.code, code);
    CHECK_STR(b.err, msg);
    book_close(&b);
    return;
  }
  struct nv_profiler *p = nv_profiler_new();
  struct nv_xlsx_stats st;
  char err[256] = "";
  int rc = nv_xlsx_profile(b.wb, 0, p, UINT64_MAX, &st, err, sizeof err);
  if (rc != code) fprintf(stderr, "%s: code %d (%s)\n", what, rc, err);
  CHECK_EQ_U(rc, code);
  CHECK_STR(err, msg);
  nv_xlsx_stats_free(&st);
  nv_profiler_free(p);
  book_close(&b);
}

static char *repeat(const char *head, const char *unit, size_t times, const char *tail) {
  size_t h = strlen(head), u = strlen(unit), t = strlen(tail);
  char *s = malloc(h + u * times + t + 1);
  if (s == NULL) return NULL;
  memcpy(s, head, h);
  for (size_t i = 0; i < times; i++) memcpy(s + h + i * u, unit, u);
  memcpy(s + h + u * times, tail, t + 1);
  return s;
}

static void test_limits(void) {
  struct nv_xlsx_limits lim;
  const char *one = "<worksheet " NSX "><sheetData><row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c>"
                    "</row></sheetData></worksheet>";
  nv_xlsx_limits_default(&lim);
  lim.max_sst_bytes = 8;
  expect_error("sst bytes", one, "<sst " NSX "><si><t>12345</t></si><si><t>67890</t></si></sst>",
               &lim, NV_XLSX_ELIMIT, "xl/sharedStrings.xml: shared strings larger than 8 bytes");
  nv_xlsx_limits_default(&lim);
  lim.max_sst_count = 1;
  expect_error("sst count", one, "<sst " NSX "><si><t>a</t></si><si><t>b</t></si></sst>", &lim,
               NV_XLSX_ELIMIT, "xl/sharedStrings.xml: more than 1 shared strings");
  nv_xlsx_limits_default(&lim);
  lim.max_cell_bytes = 4;
  expect_error("cell", "<worksheet " NSX "><sheetData><row r=\"3\"><c r=\"B3\" t=\"str\"><v>12345</v>"
               "</c></row></sheetData></worksheet>", NULL, &lim, NV_XLSX_ELIMIT,
               "xl/worksheets/sheet1.xml: cell B3: value longer than 4 bytes");
  nv_xlsx_limits_default(&lim);
  lim.max_depth = 5;
  expect_error("depth", "<worksheet " NSX "><a><b><c><d><e><f/></e></d></c></b></a></worksheet>",
               NULL, &lim, NV_XLSX_ELIMIT,
               "xl/worksheets/sheet1.xml: XML nested deeper than 5 elements");

  /* a 2 MB sheet of one repeated row: ratio far above 10:1 */
  char *big = repeat("<worksheet " NSX "><sheetData>", "<row><c><v>1</v></c></row>", 80000,
                     "</sheetData></worksheet>");
  CHECK(big != NULL);
  nv_xlsx_limits_default(&lim);
  lim.ratio_min_bytes = 1 << 20;
  lim.max_ratio = 10;
  if (big) {
    struct book b;
    book_open(&b, big, NULL, &lim);
    CHECK(b.wb != NULL);
    if (b.wb) {
      struct nv_profiler *p = nv_profiler_new();
      struct nv_xlsx_stats st;
      char err[256];
      CHECK_EQ_U(nv_xlsx_profile(b.wb, 0, p, UINT64_MAX, &st, err, sizeof err), NV_XLSX_ELIMIT);
      CHECK(strstr(err, "xl/worksheets/sheet1.xml: compression ratio above 10:1 (2080112 bytes from ") == err);
      CHECK(strstr(err, "); refusing a possible zip bomb") != NULL);
      nv_xlsx_stats_free(&st);
      nv_profiler_free(p);
      /* the default limits read it: 80000 rows of one integer column */
      nv_xlsx_close(b.wb);
      b.wb = nv_xlsx_open_memory(b.zip, b.n, NULL, &b.code, b.err, sizeof b.err);
      p = nv_profiler_new();
      CHECK_EQ_U(nv_xlsx_profile(b.wb, 0, p, UINT64_MAX, &st, err, sizeof err), NV_XLSX_OK);
      CHECK_EQ_U(st.rows, 80000);
      CHECK(!st.has_header);
      nv_xlsx_stats_free(&st);
      nv_profiler_free(p);
    }
    book_close(&b);
    nv_xlsx_limits_default(&lim);
    lim.max_sheet_bytes = 1000000;
    expect_error("inflated", big, NULL, &lim, NV_XLSX_ELIMIT,
                 "xl/worksheets/sheet1.xml: inflated size 2080112 exceeds the limit of 1000000 bytes");
  }
  free(big);

  /* a 3 MB attribute: no parser event for longer than the token limit */
  char *tag = repeat("<worksheet " NSX " a=\"", "xxxxxxxxxx", 300000, "\"/>");
  nv_xlsx_limits_default(&lim);
  lim.max_token_bytes = 1 << 20;
  if (tag)
    expect_error("token", tag, NULL, &lim, NV_XLSX_ELIMIT,
                 "xl/worksheets/sheet1.xml: an XML token longer than 1048576 bytes");
  free(tag);

  expect_error("entity",
               "<!DOCTYPE w [<!ENTITY a \"aaaa\">]><worksheet " NSX "><sheetData/></worksheet>",
               NULL, NULL, NV_XLSX_EFORMAT, "xl/worksheets/sheet1.xml: DTDs are not allowed");
  expect_error("malformed", "<worksheet " NSX "><sheetData><row></sheetData></worksheet>", NULL,
               NULL, NV_XLSX_EFORMAT,
               "xl/worksheets/sheet1.xml: malformed XML at line 1: mismatched tag");
  expect_error("row", "<worksheet " NSX "><sheetData><row r=\"0\"/></sheetData></worksheet>",
               NULL, NULL, NV_XLSX_EFORMAT, "xl/worksheets/sheet1.xml: invalid row number '0'");
}

static void test_open_errors(void) {
  int code = 0;
  char err[256];
  static const unsigned char ole[16] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};
  CHECK(nv_xlsx_open_memory(ole, sizeof ole, NULL, &code, err, sizeof err) == NULL);
  CHECK_EQ_U(code, NV_XLSX_EUNSUPPORTED);
  CHECK_STR(err, "legacy .xls workbooks are not supported; save as .xlsx or CSV");
  CHECK(nv_xlsx_open_memory("id,name\n", 8, NULL, &code, err, sizeof err) == NULL);
  CHECK_EQ_U(code, NV_XLSX_EFORMAT);
  CHECK_STR(err, "not an .xlsx workbook (not a zip archive)");
  CHECK(nv_xlsx_open_memory("", 0, NULL, &code, err, sizeof err) == NULL);
  CHECK_EQ_U(code, NV_XLSX_EFORMAT);
  struct part only[] = {{"hello.txt", "hi", 0}};
  char *z = NULL;
  size_t zn = 0;
  CHECK(make_zip(only, 1, &z, &zn));
  CHECK(nv_xlsx_open_memory(z, zn, NULL, &code, err, sizeof err) == NULL);
  CHECK_EQ_U(code, NV_XLSX_EFORMAT);
  CHECK_STR(err, "not an .xlsx workbook (no xl/workbook.xml)");
  free(z);
  CHECK(nv_xlsx_open_file("/nonexistent/x.xlsx", NULL, &code, err, sizeof err) == NULL);
  CHECK_EQ_U(code, NV_XLSX_EOPEN);
  CHECK_STR(err, "No such file or directory");
  CHECK_STR(nv_xlsx_code_name(NV_XLSX_ELIMIT), "limit");
}

int main(void) {
  test_refs();
  test_dates();
  test_formats();
  test_unescape();
  test_shared_strings();
  test_profile();
  test_limits();
  test_open_errors();
  return CHECK_DONE();
}
