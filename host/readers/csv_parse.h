/* csv_parse.h - the CSV engine (pure C, no Lua): dialect sniffing over a
 * sample, and a push parser that takes arbitrary chunks and hands complete
 * rows to a callback in bounded, column-major batches (profiler.h's
 * struct nv_text_batch). nv.csv (csv.c) wraps it for Lua.
 *
 * Parsing rules:
 *  - RFC 4180 quoting: a field opening with the quote char runs to the next
 *    lone quote; "" inside is one quote (escape == quote), or \" and \\ when
 *    escape is '\\' (any other \x is kept as the two bytes). Bytes after a
 *    closing quote and before the delimiter are kept (lenient, as Python's
 *    csv); a quote inside an unquoted field is literal.
 *  - Records end at LF, CRLF or a lone CR; lines are counted the same way,
 *    including line breaks inside quoted fields. A UTF-8 BOM at the start of
 *    the stream is dropped. Completely empty lines are skipped (counted in
 *    blank_lines); a line holding only "" is a row with one empty field.
 *  - Columns come from the header record (has_header) or from the first
 *    record's field count (names column_1..column_N). Empty header names
 *    become column_<position>, duplicates get _2, _3... A record with another
 *    field count is ragged: counted, first NV_CSV_RAGGED_LINES start lines
 *    kept; fields beyond the header are counted in extra_fields and
 *    dropped; missing fields reach the callback as NULL value pointers.
 *  - Before the header, skip_records records are dropped (a preamble); with
 *    a comment char, every record whose first byte is it (unquoted) is
 *    dropped; both are counted in skipped_lines.
 *  - A record longer than max_record_bytes (raw bytes, delimiters included)
 *    is an error. A quoted field still open at end of input, grown past
 *    that limit, or closed only after holding whole rows (two or more
 *    lines with exactly ncols - 1 delimiters each) began with a stray
 *    quote: it is read again from that quote without quoting (counted in
 *    quote_fallbacks). With backslash escapes an open field is an error.
 *  - UTF-8 is validated over everything fed (invalid_utf8 counts invalid
 *    sequences). With latin1 set, every value is converted from Latin-1 to
 *    UTF-8 before it is stored; otherwise bytes pass through unchanged.
 * Memory: the batch arena (bounded by batch_rows/batch_bytes and 1M fields)
 * plus at most one record; never proportional to the file. */
#ifndef NV_CSV_PARSE_H
#define NV_CSV_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "profiler/profiler.h"

#define NV_CSV_DEFAULT_MAX_RECORD ((size_t)16 << 20)
#define NV_CSV_MAX_RECORD_LIMIT ((size_t)1 << 30)
#define NV_CSV_MAX_COLUMNS 65536
#define NV_CSV_SNIFF_BYTES 65536
#define NV_CSV_RAGGED_LINES 5

enum nv_csv_status {
  NV_CSV_OK = 0,
  NV_CSV_STOPPED,      /* the row limit was reached; feed the rest later */
  NV_CSV_ERR_OVERSIZE, /* a record exceeds max_record_bytes */
  NV_CSV_ERR_QUOTE,    /* unterminated quoted field at end of input */
  NV_CSV_ERR_COLUMNS,  /* more than NV_CSV_MAX_COLUMNS header fields */
  NV_CSV_ERR_NOMEM,
  NV_CSV_ERR_CALLBACK  /* the batch callback returned nonzero */
};

struct nv_csv_dialect {
  char delimiter;      /* ',' ';' '\t' '|' (anything but quote, CR, LF) */
  char quote;          /* '"', '\'' or 0 for no quoting */
  char escape;         /* == quote: doubled quotes; '\\': backslash escapes */
  int has_header;
  int bom;             /* the sample started with a UTF-8 BOM */
  int latin1;          /* the sample is not valid UTF-8: read as Latin-1 */
  char line_ending[3]; /* "\n", "\r\n" or "\r" (the first one seen) */
  char comment;        /* '#' when the sample starts with '#' lines, else 0 */
  unsigned skip_records; /* preamble records before the header (see csv_parse.c) */
};

/* Sniffs the dialect from the first bytes of a stream (s, n); complete says
 * the sample is the whole stream. Returns 0, or -1 with a message in err
 * ("binary data, not CSV") when the sample holds NUL bytes or is mostly
 * control characters. An empty sample gives the defaults (",", '"',
 * doubled quotes, no header). See csv_parse.c for the heuristics. */
int nv_csv_sniff(const char *s, size_t n, int complete, struct nv_csv_dialect *d,
                 char *err, size_t errsz);

/* The header rule alone, for a dialect given by the caller: 1 when the
 * first record of the sample looks like a header, 0 if not, -1 when out of
 * memory. */
int nv_csv_sniff_header(const char *s, size_t n, int complete, const struct nv_csv_dialect *d);

struct nv_csv_config {
  char delimiter, quote, escape;
  char comment;          /* records whose first byte is this are skipped; 0: none */
  unsigned skip_records; /* records dropped before the header */
  int has_header;
  int latin1;
  size_t max_record_bytes; /* 0: NV_CSV_DEFAULT_MAX_RECORD */
  size_t batch_rows;       /* 0: 4096 */
  size_t batch_bytes;      /* 0: 4 MiB (arena size that triggers a flush) */
};

/* Fills c from d (or the defaults when d is NULL). */
void nv_csv_config_init(struct nv_csv_config *c, const struct nv_csv_dialect *d);

struct nv_csv_stats {
  uint64_t rows;         /* data records (header excluded) */
  uint64_t bytes;        /* bytes fed */
  uint64_t lines;        /* line terminators seen */
  uint64_t blank_lines;
  uint64_t skipped_lines; /* preamble records and comment lines dropped */
  uint64_t ragged_rows;
  uint64_t ragged_lines[NV_CSV_RAGGED_LINES];
  size_t nragged_lines;
  uint64_t extra_fields;
  uint64_t invalid_utf8;
  uint64_t quote_fallbacks; /* unterminated quoted fields re-read with the quote literal */
};

/* Receives complete rows; the batch is valid only during the call. Return
 * nonzero to stop parsing (NV_CSV_ERR_CALLBACK). */
typedef int (*nv_csv_batch_fn)(void *ud, const struct nv_text_batch *b);

struct nv_csv_parser;

/* fn may be NULL: rows then accumulate until read with nv_csv_pending. */
struct nv_csv_parser *nv_csv_new(const struct nv_csv_config *cfg, nv_csv_batch_fn fn, void *ud);
void nv_csv_free(struct nv_csv_parser *p);

/* Parses n bytes. *used receives the bytes consumed: n, except after
 * NV_CSV_STOPPED. After an error every later call returns that error. */
int nv_csv_feed(struct nv_csv_parser *p, const char *buf, size_t n, size_t *used);
/* End of input: completes the last record, flushes. When that record
 * reaches the row limit, returns NV_CSV_STOPPED with the rows still
 * pending (not flushed); call it again to flush them. */
int nv_csv_finish(struct nv_csv_parser *p);
/* Hands the complete rows held so far to the callback (also after an
 * error; a partial record stays). */
int nv_csv_flush(struct nv_csv_parser *p);
/* Stops (NV_CSV_STOPPED) after the record that brings rows to limit, once
 * the columns are known; UINT64_MAX (the default) for no limit. */
void nv_csv_set_row_limit(struct nv_csv_parser *p, uint64_t limit);

/* The complete rows held (without calling the callback); valid until the
 * next feed/finish/flush/clear. Returns 0 when out of memory. */
int nv_csv_pending(struct nv_csv_parser *p, struct nv_text_batch *b);
void nv_csv_clear_pending(struct nv_csv_parser *p);

int nv_csv_header_ready(const struct nv_csv_parser *p);
size_t nv_csv_ncols(const struct nv_csv_parser *p);
const char *nv_csv_column_name(const struct nv_csv_parser *p, size_t i, size_t *len);
const struct nv_csv_stats *nv_csv_stats(const struct nv_csv_parser *p);
/* The message for the sticky error ("line 7: ..."), or NULL. */
const char *nv_csv_error(const struct nv_csv_parser *p);

/* The CSV reader's score (reader.h) for the first n bytes of a file: 0 for
 * bytes holding a NUL or only white space, else 10 (30 when hint > 0, the
 * name says CSV): text is CSV when nothing better claims it. */
int nv_csv_sniff_score(const unsigned char *buf, size_t n, int eof, int hint);

#endif
