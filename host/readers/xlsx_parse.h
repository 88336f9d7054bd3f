/* xlsx_parse.h - the Excel .xlsx (SpreadsheetML) reader engine, pure C (no
 * Lua): opens the zip with libzip, reads workbook.xml, its relationships,
 * styles.xml and sharedStrings.xml, and streams each worksheet's XML through
 * expat row by row (never a DOM of the whole file). Feeds the profiler
 * (profiler.h) or hands trimmed rows to a callback for previews.
 *
 * Untrusted input: every zip entry is size- and ratio-checked before and
 * while it is inflated, XML has DTDs refused (so no entity expansion), a
 * nesting limit and a token-size limit, and shared strings / cells / rows
 * have byte caps. Each failure is a message and a code, never a crash. */
#ifndef NV_XLSX_PARSE_H
#define NV_XLSX_PARSE_H

#include <stddef.h>
#include <stdint.h>

struct nv_profiler;
struct nv_xlsx;

enum nv_xlsx_code {
  NV_XLSX_OK = 0,
  NV_XLSX_EOPEN,        /* the file cannot be opened or read */
  NV_XLSX_EUNSUPPORTED, /* legacy .xls (OLE2) */
  NV_XLSX_EFORMAT,      /* not a zip, no workbook part, malformed XML, bad reference */
  NV_XLSX_ELIMIT,       /* a size, count, nesting or ratio cap was hit */
  NV_XLSX_EMEMORY,
  NV_XLSX_ECANCELLED    /* the progress function asked to stop */
};
/* "open", "unsupported", "format", "limit", "memory", "cancelled" (NULL for OK). */
const char *nv_xlsx_code_name(int code);

struct nv_xlsx_limits {
  uint64_t max_part_bytes;  /* workbook.xml, .rels, styles.xml (inflated) */
  uint64_t max_sheet_bytes; /* one worksheet or sharedStrings.xml (inflated) */
  uint64_t ratio_min_bytes; /* the ratio check applies above this size */
  uint64_t max_ratio;       /* inflated / compressed */
  size_t max_sst_bytes;     /* all shared strings together */
  size_t max_sst_count;
  size_t max_cell_bytes;    /* one cell's text */
  size_t max_row_bytes;     /* all text of one row */
  size_t max_token_bytes;   /* XML read with no parser event (a huge tag) */
  unsigned max_depth;       /* XML element nesting */
};
void nv_xlsx_limits_default(struct nv_xlsx_limits *l);

/* Opens a workbook: checks the magic, the zip, reads workbook.xml and its
 * relationships (styles and shared strings load on first sheet read).
 * NULL on failure with *code set and a message (without the path) in err;
 * for NV_XLSX_EOPEN err holds strerror's text. lim may be NULL (defaults). */
struct nv_xlsx *nv_xlsx_open_file(const char *path, const struct nv_xlsx_limits *lim, int *code,
                                  char *err, size_t errsz);
/* The same over bytes in memory; data must outlive the workbook. */
struct nv_xlsx *nv_xlsx_open_memory(const void *data, size_t n, const struct nv_xlsx_limits *lim,
                                    int *code, char *err, size_t errsz);
void nv_xlsx_close(struct nv_xlsx *wb);

int nv_xlsx_date1904(const struct nv_xlsx *wb);
size_t nv_xlsx_nsheets(const struct nv_xlsx *wb);

struct nv_xlsx_sheet_info {
  const char *name;
  size_t name_len;
  int hidden;       /* state="hidden" or "veryHidden" */
  const char *part; /* zip entry name of the worksheet, NULL if unresolved */
};
const struct nv_xlsx_sheet_info *nv_xlsx_sheet(const struct nv_xlsx *wb, size_t i);
/* Index of the sheet named name, or -1. */
long nv_xlsx_find_sheet(const struct nv_xlsx *wb, const char *name, size_t n);
/* The sheet's <dimension ref> (e.g. "A1:F20"), read from the head of its
 * XML on first call and cached; NULL when absent or unreadable. */
const char *nv_xlsx_dimension(struct nv_xlsx *wb, size_t i);

/* ---- cells and rows --------------------------------------------------- */

enum nv_xlsx_kind {
  NV_XLSX_BLANK,
  NV_XLSX_TEXT,   /* shared, inline or formula string */
  NV_XLSX_NUMBER, /* num */
  NV_XLSX_BOOL,   /* num is 0 or 1 */
  NV_XLSX_ERROR,  /* s = "#N/A", "#DIV/0!", ... */
  NV_XLSX_DATE    /* s = ISO 8601 text; num = the serial (NaN for t="d") */
};

struct nv_xlsx_cell {
  uint32_t col; /* 1-based */
  int kind;
  const char *s; /* TEXT, ERROR, DATE (not NUL-terminated) */
  size_t n;
  double num;
};

/* Called once per trimmed non-empty row with its cells in column order;
 * returns 0 to go on, 1 to stop, -1 when out of memory. Never raises. */
typedef int (*nv_xlsx_row_fn)(void *ud, uint32_t row, const struct nv_xlsx_cell *cells,
                              size_t n);

#define NV_XLSX_MAX_COLS 16384u /* XFD */
#define NV_XLSX_MAX_ROW 1048576u
#define NV_XLSX_MERGED_KEEP 5

struct nv_xlsx_stats {
  uint64_t rows;    /* data rows given to the profiler (header excluded) */
  size_t columns;   /* columns kept after trimming */
  int has_header;
  char **header;    /* columns names, each NUL-terminated */
  uint64_t merged_cells; /* <mergeCell> ranges (0 when the read stopped early) */
  size_t nmerged_ranges;
  char merged_ranges[NV_XLSX_MERGED_KEEP][32];
  uint64_t errors;             /* error cells (#N/A, ...) in data rows */
  uint64_t trimmed_empty_rows; /* empty rows up to the last row read */
  int truncated;               /* max_rows or max_bytes stopped the read with rows left */
  uint64_t bytes;              /* inflated worksheet XML bytes read */
  uint64_t read_share;         /* the share of the worksheet's compressed size read
                                * (over both passes), as progress reports it */
};
void nv_xlsx_stats_free(struct nv_xlsx_stats *st);

/* Profiles sheet i into p: header detection, trimming, typed values.
 * Returns NV_XLSX_OK or a code with a message in err; st is filled as far
 * as the read went either way (free it with nv_xlsx_stats_free). */
int nv_xlsx_profile(struct nv_xlsx *wb, size_t i, struct nv_profiler *p, uint64_t max_rows,
                    struct nv_xlsx_stats *st, char *err, size_t errsz);
/* The same within a byte budget: the read stops (st->truncated, not an
 * error) before the worksheet's inflated XML passes max_bytes (0: none). */
/* Progress within a sheet while nv_xlsx_profile(_bytes) runs: fn(ud,
 * bytes) after about every `every` inflated worksheet bytes parsed, where
 * bytes is the share of the worksheet's compressed size those stand for
 * over the sheet's two passes (so it grows to the entry's size in the
 * file). fn returning 0 stops the profile with NV_XLSX_ECANCELLED (the
 * rows fed so far stay in the profile). fn NULL: none. */
typedef int (*nv_xlsx_progress_fn)(void *ud, uint64_t bytes);
void nv_xlsx_set_progress(struct nv_xlsx *wb, nv_xlsx_progress_fn fn, void *ud, uint64_t every);

int nv_xlsx_profile_bytes(struct nv_xlsx *wb, size_t i, struct nv_profiler *p, uint64_t max_rows,
                          uint64_t max_bytes, struct nv_xlsx_stats *st, char *err, size_t errsz);

/* The first max non-empty rows of sheet i, trimmed to the columns that hold
 * values in them; cells' col is the position among those columns (1-based).
 * *ncols receives their count. */
int nv_xlsx_preview(struct nv_xlsx *wb, size_t i, uint64_t max, nv_xlsx_row_fn fn, void *ud,
                    size_t *ncols, char *err, size_t errsz);

/* ---- helpers (exposed for the unit tests) ----------------------------- */

/* "AB12" -> col 28, row 12. 1 on success; 0 for anything else (lower case
 * letters are accepted, '$' is not; col <= 16384, 1 <= row <= 1048576). */
int nv_xlsx_parse_ref(const char *s, size_t n, uint32_t *col, uint32_t *row);
/* Writes the column letters of col (1-based) to out; returns their count. */
size_t nv_xlsx_col_name(uint32_t col, char out[4]);

enum nv_xlsx_fmt { NV_XLSX_FMT_NUMBER, NV_XLSX_FMT_DATE, NV_XLSX_FMT_DATETIME, NV_XLSX_FMT_TIME };
/* The kind of a built-in number format id (14-22, 45-47 are dates/times). */
int nv_xlsx_builtin_format(uint32_t id);
/* The kind of a custom format code: d, y, month m -> date; h, s, minute m,
 * [h]/[m]/[s] -> time; text in quotes, [..], escaped and AM/PM ignored. */
int nv_xlsx_format_kind(const char *code, size_t n);

/* A serial date (1900 system with its 1900-02-29, or 1904) as ISO text:
 * DATE "YYYY-MM-DD", DATETIME "YYYY-MM-DDTHH:MM:SS", TIME "HH:MM:SS" when
 * 0 <= serial < 1 (else as DATETIME). Seconds rounded. Returns the length
 * (out needs 20 bytes), or 0 when the serial is not a date (negative,
 * non-finite, after 9999-12-31). */
size_t nv_xlsx_serial_iso(double serial, int date1904, int kind, char *out, size_t outsz);

/* Decodes ST_Xstring escapes (_x000D_ -> CR, _x005F_ -> '_') in place;
 * returns the new length. */
size_t nv_xlsx_unescape(char *s, size_t n);

/* The xlsx reader's score (reader.h): 95 for a zip archive whose first
 * bytes name an xl/ part, else 0. */
int nv_xlsx_sniff_score(const unsigned char *buf, size_t n, int eof, int hint);

#endif
