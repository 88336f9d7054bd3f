/* test_csv_parse.c - the CSV engine (csv_parse.c) on exact inputs: quoting,
 * line endings, BOM, chunk boundaries at every position, ragged rows,
 * errors and their lines, sniffing (delimiters, quotes, header, binary,
 * Latin-1). Rows are rendered as "[a][b]~\n" (~ = absent field). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "readers/csv_parse.h"

struct out {
  char buf[65536];
  size_t len;
  size_t batches;
};

static void put(struct out *o, const char *s, size_t n) {
  size_t room = sizeof o->buf - 1 - o->len;
  if (n > room) n = room;
  for (size_t i = 0; i < n; i++) o->buf[o->len + i] = s[i];
  o->len += n;
  o->buf[o->len] = '\0';
}

static int collect(void *ud, const struct nv_text_batch *b) {
  struct out *o = ud;
  o->batches++;
  for (size_t r = 0; r < b->nrows; r++) {
    for (size_t c = 0; c < b->ncols; c++) {
      const char *v = b->values[c * b->nrows + r];
      if (v == NULL) {
        put(o, "~", 1);
      } else {
        put(o, "[", 1);
        put(o, v, b->lengths[c * b->nrows + r]);
        put(o, "]", 1);
      }
    }
    put(o, "\n", 1);
  }
  return 0;
}

struct result {
  struct out rows;
  char header[1024];
  int rc;
  char err[256];
  struct nv_csv_stats st;
};

/* Parses in[0,n) fed in pieces: split = 0 whole, 1 byte by byte, else a
 * pseudo-random split seeded by split. */
static void run(const struct nv_csv_config *cfg, const char *in, size_t n, unsigned split,
                struct result *res) {
  memset(res, 0, sizeof *res);
  struct nv_csv_parser *p = nv_csv_new(cfg, collect, &res->rows);
  CHECK(p != NULL);
  if (p == NULL) return;
  size_t off = 0;
  unsigned seed = split;
  int rc = NV_CSV_OK;
  while (off < n && rc == NV_CSV_OK) {
    size_t k = n - off;
    if (split == 1) {
      k = 1;
    } else if (split > 1) {
      seed = seed * 1103515245u + 12345u;
      k = 1 + (seed >> 16) % 7;
      if (k > n - off) k = n - off;
    }
    size_t used = 0;
    rc = nv_csv_feed(p, in + off, k, &used);
    CHECK(rc != NV_CSV_OK || used == k);
    off += k;
  }
  if (rc == NV_CSV_OK) rc = nv_csv_finish(p);
  else nv_csv_flush(p); /* as nv.csv does: keep the rows before an error */
  res->rc = rc;
  if (nv_csv_error(p)) snprintf(res->err, sizeof res->err, "%s", nv_csv_error(p));
  size_t hl = 0;
  for (size_t c = 0; c < nv_csv_ncols(p); c++) {
    size_t len = 0;
    const char *nm = nv_csv_column_name(p, c, &len);
    int k = snprintf(res->header + hl, sizeof res->header - hl, "%s%.*s", c ? "," : "",
                     (int)len, nm);
    if (k > 0 && (size_t)k < sizeof res->header - hl) hl += (size_t)k;
  }
  res->st = *nv_csv_stats(p);
  nv_csv_free(p);
}

struct pcase {
  const char *name;
  const char *in;
  char delim, quote, escape;
  int header;
  const char *want_header;
  const char *want_rows;
  int want_rc;
  const char *want_err;
};

static const struct pcase pcases[] = {
    {"simple", "a,b\n1,2\n3,4\n", ',', '"', '"', 1, "a,b", "[1][2]\n[3][4]\n", 0, NULL},
    {"no final newline", "a,b\n1,2", ',', '"', '"', 1, "a,b", "[1][2]\n", 0, NULL},
    {"quoted delimiter and newline", "a,b\n\"x,y\",\"line1\nline2\"\n", ',', '"', '"', 1, "a,b",
     "[x,y][line1\nline2]\n", 0, NULL},
    {"doubled quotes", "a\n\"say \"\"hi\"\"\"\n\"\"\n", ',', '"', '"', 1, "a",
     "[say \"hi\"]\n[]\n", 0, NULL},
    {"backslash escapes", "a,b\n\"say \\\"hi\\\"\",\"c:\\\\x\\n\"\n", ',', '"', '\\', 1, "a,b",
     "[say \"hi\"][c:\\x\\n]\n", 0, NULL},
    {"single quote char", "a;b\n'x;y';2\n", ';', '\'', '\'', 1, "a,b", "[x;y][2]\n", 0, NULL},
    {"CRLF", "a,b\r\n1,2\r\n\"q\r\nq\",3\r\n", ',', '"', '"', 1, "a,b", "[1][2]\n[q\r\nq][3]\n",
     0, NULL},
    {"lone CR", "a,b\r1,2\r3,4", ',', '"', '"', 1, "a,b", "[1][2]\n[3][4]\n", 0, NULL},
    {"BOM dropped", "\xEF\xBB\xBFid,name\n1,x\n", ',', '"', '"', 1, "id,name", "[1][x]\n", 0,
     NULL},
    {"partial BOM is data", "\xEF\xBBx,y\n1,2\n", ',', '"', '"', 1, "\xEF\xBBx,y", "[1][2]\n",
     0, NULL},
    {"blank lines skipped", "a\n\n1\n\r\n2\n", ',', '"', '"', 1, "a", "[1]\n[2]\n", 0, NULL},
    {"empty fields", "a,b,c\n,,\n", ',', '"', '"', 1, "a,b,c", "[][][]\n", 0, NULL},
    {"trailing delimiter at EOF", "a,b\n1,", ',', '"', '"', 1, "a,b", "[1][]\n", 0, NULL},
    {"ragged short and long", "a,b,c\n1,2\n1,2,3\n1,2,3,4,5\n", ',', '"', '"', 1, "a,b,c",
     "[1][2]~\n[1][2][3]\n[1][2][3]\n", 0, NULL},
    {"no header names", "1,2\n3,4\n", ',', '"', '"', 0, "column_1,column_2", "[1][2]\n[3][4]\n",
     0, NULL},
    {"empty and duplicate names", "id,,id,name,id\n1,2,3,4,5\n", ',', '"', '"', 1,
     "id,column_2,id_2,name,id_3", "[1][2][3][4][5]\n", 0, NULL},
    {"generated name collides", "a,a,a_2\n", ',', '"', '"', 1, "a,a_2,a_2_2", "", 0, NULL},
    {"text after closing quote kept", "a,b\n\"x\"y,2\n", ',', '"', '"', 1, "a,b", "[xy][2]\n", 0,
     NULL},
    {"quote inside unquoted field", "a,b\nx\"y,2\n", ',', '"', '"', 1, "a,b", "[x\"y][2]\n", 0,
     NULL},
    {"tab delimiter", "a\tb\n1\t2\n", '\t', '"', '"', 1, "a,b", "[1][2]\n", 0, NULL},
    {"pipe no quoting", "a|b\n\"1|2\n", '|', 0, 0, 1, "a,b", "[\"1][2]\n", 0, NULL},
    /* issue 11: a quote that never closes is read again as a literal byte */
    {"unterminated quote", "a,b\n1,2\n3,\"open\nmore\n", ',', '"', '"', 1, "a,b",
     "[1][2]\n[3][\"open]\n[more]~\n", 0, NULL},
    {"unterminated quote with doubled quotes in it", "a,b\n1,\"x \"\"y\"\"\"\n2,\"open \"\"q\"\" more\n3,4\n",
     ',', '"', '"', 1, "a,b", "[1][x \"y\"]\n[2][\"open \"\"q\"\" more]\n[3][4]\n", 0, NULL},
    {"stray quotes swallowing whole rows", "id,item,size\n1,box,5\n2,\",5\n3,box,5\n4,box,5\n5,box,5\n6,\",5\n7,box,5\n",
     ',', '"', '"', 1, "id,item,size",
     "[1][box][5]\n[2][\"][5]\n[3][box][5]\n[4][box][5]\n[5][box][5]\n[6][\"][5]\n[7][box][5]\n", 0, NULL},
    {"a multi-line quoted text is kept", "id,note,n\n1,\"line one\nline two, still\nline three\nend\",5\n2,x,6\n",
     ',', '"', '"', 1, "id,note,n", "[1][line one\nline two, still\nline three\nend][5]\n[2][x][6]\n", 0, NULL},
    {"unterminated quote with backslash escapes", "a,b\n1,2\n3,\"open\nmore\n", ',', '"', '\\', 1, "a,b",
     "[1][2]\n", NV_CSV_ERR_QUOTE, "line 3: unterminated quoted field (still open at end of input)"},
    {"empty input", "", ',', '"', '"', 1, "", "", 0, NULL},
    {"header only", "x,y\n", ',', '"', '"', 1, "x,y", "", 0, NULL},
};

static void test_parse_cases(void) {
  for (size_t i = 0; i < sizeof pcases / sizeof pcases[0]; i++) {
    const struct pcase *t = &pcases[i];
    struct nv_csv_config cfg;
    nv_csv_config_init(&cfg, NULL);
    cfg.delimiter = t->delim;
    cfg.quote = t->quote;
    cfg.escape = t->escape;
    cfg.has_header = t->header;
    cfg.batch_rows = 2; /* several batches even on tiny inputs */
    size_t n = strlen(t->in);
    static struct result whole, piece;
    run(&cfg, t->in, n, 0, &whole);
    if (whole.rc != t->want_rc) fprintf(stderr, "case %s: rc %d (%s)\n", t->name, whole.rc, whole.err);
    CHECK(whole.rc == t->want_rc);
    if (t->want_err) CHECK_STR(whole.err, t->want_err);
    CHECK_STR(whole.header, t->want_header);
    if (t->want_rows) {
      if (strcmp(whole.rows.buf, t->want_rows) != 0)
        fprintf(stderr, "case %s:\n", t->name);
      CHECK_STR(whole.rows.buf, t->want_rows);
    }
    /* every split gives the same rows, header, stats and outcome */
    for (unsigned split = 1; split < 40; split++) {
      run(&cfg, t->in, n, split, &piece);
      if (strcmp(piece.rows.buf, whole.rows.buf) != 0 || piece.rc != whole.rc)
        fprintf(stderr, "case %s split %u differs\n", t->name, split);
      CHECK(piece.rc == whole.rc);
      CHECK_STR(piece.rows.buf, whole.rows.buf);
      CHECK_STR(piece.header, whole.header);
      CHECK_STR(piece.err, whole.err);
      CHECK(piece.st.rows == whole.st.rows);
      CHECK(piece.st.lines == whole.st.lines);
      CHECK(piece.st.ragged_rows == whole.st.ragged_rows);
      CHECK(piece.st.invalid_utf8 == whole.st.invalid_utf8);
    }
  }
}

/* Every two-piece split of a tricky input gives the same result. */
static void test_every_split_point(void) {
  static const char in[] =
      "\xEF\xBB\xBF"
      "id,\"na,me\",note\r\n"
      "1,\"a \"\"quoted\"\" word\",\"multi\r\nline\"\r\n"
      "2,,\r"
      "\n"
      "3,\"x\"\"\",\"\"\n"
      "4,\"caf\xC3\xA9\",end";
  struct nv_csv_config cfg;
  nv_csv_config_init(&cfg, NULL);
  cfg.has_header = 1;
  size_t n = sizeof in - 1;
  static struct result whole, piece;
  run(&cfg, in, n, 0, &whole);
  CHECK(whole.rc == NV_CSV_OK);
  CHECK_STR(whole.header, "id,na,me,note");
  CHECK_STR(whole.rows.buf,
            "[1][a \"quoted\" word][multi\r\nline]\n[2][][]\n[3][x\"][]\n[4][caf\xC3\xA9][end]\n");
  CHECK(whole.st.rows == 4);
  CHECK(whole.st.lines == 5);
  CHECK(whole.st.invalid_utf8 == 0);
  for (size_t cut = 0; cut <= n; cut++) {
    memset(&piece, 0, sizeof piece);
    struct nv_csv_parser *p = nv_csv_new(&cfg, collect, &piece.rows);
    size_t used;
    int rc = nv_csv_feed(p, in, cut, &used);
    if (rc == NV_CSV_OK) rc = nv_csv_feed(p, in + cut, n - cut, &used);
    if (rc == NV_CSV_OK) rc = nv_csv_finish(p);
    CHECK(rc == NV_CSV_OK);
    if (strcmp(piece.rows.buf, whole.rows.buf) != 0) fprintf(stderr, "cut at %zu differs\n", cut);
    CHECK_STR(piece.rows.buf, whole.rows.buf);
    CHECK(nv_csv_stats(p)->lines == 5);
    nv_csv_free(p);
  }
}

static void test_ragged_lines(void) {
  static const char in[] = "a,b\n1\n1,2\n1,2,3\n\"x\ny\"\n1,2\n5\n6\n7\n8\n";
  struct nv_csv_config cfg;
  nv_csv_config_init(&cfg, NULL);
  cfg.has_header = 1;
  static struct result r;
  run(&cfg, in, sizeof in - 1, 0, &r);
  CHECK(r.rc == NV_CSV_OK);
  CHECK(r.st.rows == 9);
  CHECK(r.st.ragged_rows == 7);
  CHECK(r.st.nragged_lines == 5);
  CHECK(r.st.ragged_lines[0] == 2);
  CHECK(r.st.ragged_lines[1] == 4);
  CHECK(r.st.ragged_lines[2] == 5); /* a record starting on line 5, ending on 6 */
  CHECK(r.st.ragged_lines[3] == 8);
  CHECK(r.st.ragged_lines[4] == 9);
  CHECK(r.st.extra_fields == 1);
}

static void test_oversize(void) {
  struct nv_csv_config cfg;
  nv_csv_config_init(&cfg, NULL);
  cfg.has_header = 1;
  cfg.max_record_bytes = 16;
  static struct result r;
  /* within the limit: a 16-byte record */
  run(&cfg, "a\n0123456789abcdef\n", 19, 0, &r);
  CHECK(r.rc == NV_CSV_OK);
  CHECK_STR(r.rows.buf, "[0123456789abcdef]\n");
  run(&cfg, "a\nok\n0123456789abcdefg\nlater\n", 29, 1, &r);
  CHECK(r.rc == NV_CSV_ERR_OVERSIZE);
  CHECK_STR(r.err, "line 3: record exceeds the maximum record size (16 bytes)");
  CHECK_STR(r.rows.buf, "[ok]\n"); /* the rows before the error are kept */
  static const char q[] = "a\n1\n\"never closed\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n2\n";
  /* issue 11: a stray quote running past the limit is read again as a
   * literal byte (was: the file failed) ... */
  for (unsigned split = 0; split < 3; split++) {
    run(&cfg, q, sizeof q - 1, split, &r);
    CHECK(r.rc == NV_CSV_OK);
    CHECK_STR(r.rows.buf, "[1]\n[\"never closed]\n[2]\n");
    CHECK(r.st.quote_fallbacks == 1);
    CHECK(r.st.lines == 22); /* counted once, not again when re-read */
  }
  /* ... except with backslash escapes, where the quote cannot be rebuilt */
  cfg.escape = '\\';
  run(&cfg, q, sizeof q - 1, 0, &r);
  CHECK(r.rc == NV_CSV_ERR_OVERSIZE);
  CHECK_STR(r.err,
            "line 3: record exceeds the maximum record size (16 bytes) inside a quoted field "
            "opened on line 3 (unbalanced quote?)");
  cfg.escape = '"';
  /* many empty extra fields: no growth, still an error at the record end */
  run(&cfg, "a\n,,,,,,,,,,,,,,,,,,,,,,,\n", 26, 0, &r);
  CHECK(r.rc == NV_CSV_ERR_OVERSIZE);
}

static void test_latin1_and_utf8(void) {
  struct nv_csv_config cfg;
  nv_csv_config_init(&cfg, NULL);
  cfg.has_header = 1;
  static struct result r;
  static const char in[] = "n\ncaf\xE9\n\xC3\xA9t\xC3\n";
  run(&cfg, in, sizeof in - 1, 0, &r);
  CHECK(r.st.invalid_utf8 == 2); /* lone E9, truncated C3 */
  CHECK_STR(r.rows.buf, "[caf\xE9]\n[\xC3\xA9t\xC3]\n");
  cfg.latin1 = 1;
  run(&cfg, in, sizeof in - 1, 1, &r);
  CHECK(r.st.invalid_utf8 == 2);
  CHECK_STR(r.rows.buf, "[caf\xC3\xA9]\n[\xC3\x83\xC2\xA9t\xC3\x83]\n");
  /* split UTF-8 sequences across chunks are fine; surrogates/overlongs not */
  cfg.latin1 = 0;
  static const char ok[] = "n\n\xE2\x82\xAC\xF0\x9F\x98\x80\n";
  run(&cfg, ok, sizeof ok - 1, 1, &r);
  CHECK(r.st.invalid_utf8 == 0);
  static const char bad[] = "n\n\xED\xA0\x80\xC0\xAF\n";
  run(&cfg, bad, sizeof bad - 1, 1, &r);
  CHECK(r.st.invalid_utf8 == 5);
}

static void test_row_limit_and_pending(void) {
  struct nv_csv_config cfg;
  nv_csv_config_init(&cfg, NULL);
  cfg.has_header = 1;
  struct nv_csv_parser *p = nv_csv_new(&cfg, NULL, NULL);
  static const char in[] = "h1,h2\nr1,x\nr2,y\r\nr3,z\n";
  size_t n = sizeof in - 1, off = 0, used = 0;
  nv_csv_set_row_limit(p, 0);
  CHECK(nv_csv_feed(p, in, n, &used) == NV_CSV_STOPPED);
  CHECK(used == 6);
  CHECK(nv_csv_header_ready(p));
  off = used;
  for (uint64_t k = 1; k <= 3; k++) {
    nv_csv_set_row_limit(p, k);
    int rc = nv_csv_feed(p, in + off, n - off, &used);
    CHECK(rc == NV_CSV_STOPPED);
    off += used;
    struct nv_text_batch b;
    CHECK(nv_csv_pending(p, &b));
    CHECK(b.nrows == 1 && b.ncols == 2);
    if (b.nrows == 1) CHECK(b.lengths[0] == 2 && memcmp(b.values[0], "r", 1) == 0);
    nv_csv_clear_pending(p);
  }
  CHECK(off == n);
  CHECK(nv_csv_finish(p) == NV_CSV_OK);
  CHECK(nv_csv_stats(p)->rows == 3);
  nv_csv_free(p);
}

/* A last record without a line end that reaches the row limit inside
 * finish stays pending (the caller's callback may not be ready: nv.csv
 * parses the header with limit 0 before the profile exists); the next
 * finish hands it over. Before: finish flushed it at once, and the
 * reader failed the file with "batch callback failed". */
static int refuse(void *ud, const struct nv_text_batch *b) {
  (void)b;
  return *(const int *)ud;
}

static void test_finish_at_row_limit(void) {
  static const char *const ins[] = {"1,2", "a,b\n1,2"};
  for (size_t i = 0; i < 2; i++) {
    struct nv_csv_config cfg;
    nv_csv_config_init(&cfg, NULL);
    cfg.has_header = (int)i;
    int refusing = 1;
    struct nv_csv_parser *p = nv_csv_new(&cfg, refuse, &refusing);
    CHECK(p != NULL);
    if (p == NULL) return;
    nv_csv_set_row_limit(p, i ? 1 : 0);
    size_t used = 0, n = strlen(ins[i]);
    int rc = nv_csv_feed(p, ins[i], n, &used);
    CHECK(rc == NV_CSV_OK && used == n);
    CHECK(nv_csv_finish(p) == NV_CSV_STOPPED);
    CHECK(nv_csv_header_ready(p) && nv_csv_ncols(p) == 2);
    struct nv_text_batch b;
    CHECK(nv_csv_pending(p, &b) && b.nrows == 1);
    refusing = 0;
    CHECK(nv_csv_finish(p) == NV_CSV_OK);
    CHECK(nv_csv_pending(p, &b) && b.nrows == 0);
    CHECK(nv_csv_stats(p)->rows == 1);
    nv_csv_free(p);
  }
}

static void test_batches_bounded(void) {
  struct nv_csv_config cfg;
  nv_csv_config_init(&cfg, NULL);
  cfg.has_header = 0;
  cfg.batch_rows = 3;
  static struct result r;
  run(&cfg, "1\n2\n3\n4\n5\n6\n7\n", 14, 0, &r);
  CHECK(r.rows.batches == 3);
  CHECK(r.st.rows == 7);
}

struct scase {
  const char *name;
  const char *in;
  int complete;
  int want_rc;
  char delim, quote, escape;
  int header, latin1, bom;
  const char *le;
  size_t len; /* 0: strlen(in) */
};

static const struct scase scases[] = {
    {"comma", "id,name,score\n1,ann,3.5\n2,bob,4\n", 1, 0, ',', '"', '"', 1, 0, 0, "\n", 0},
    {"semicolon with decimal commas", "id;price\n1;3,50\n2;4,25\n3;10\n", 1, 0, ';', '"', '"', 1,
     0, 0, "\n", 0},
    {"tab", "a\tb\tc\n1\t2\t3\n4\t5\t6\n", 1, 0, '\t', '"', '"', 1, 0, 0, "\n", 0},
    {"pipe", "a|b\r\n1|2\r\n3|4\r\n", 1, 0, '|', '"', '"', 1, 0, 0, "\r\n", 0},
    {"quoted commas in semicolon file", "a;b\n\"x,y,z\";1\n\"p,q\";2\n", 1, 0, ';', '"', '"', 1,
     0, 0, "\n", 0},
    {"single quotes", "a,b\n'x,y',1\n'p,q,r',2\n", 1, 0, ',', '\'', '\'', 1, 0, 0, "\n", 0},
    {"backslash escapes", "a,b\n\"say \\\"hi, you\\\"\",1\n\"x\",2\n", 1, 0, ',', '"', '\\', 1,
     0, 0, "\n", 0},
    {"no header: numbers first", "1,2,3\n4,5,6\n", 1, 0, ',', '"', '"', 0, 0, 0, "\n", 0},
    {"no header: repeated text", "red,big\nblue,small\nred,small\n", 1, 0, ',', '"', '"', 0, 0,
     0, "\n", 0},
    {"header: all text distinct", "color,size\nred,big\nblue,small\n", 1, 0, ',', '"', '"', 1, 0,
     0, "\n", 0},
    {"header: date column", "when,what\n2024-01-02,x\n2024-02-03,y\n", 1, 0, ',', '"', '"', 1,
     0, 0, "\n", 0},
    {"header only", "alpha,beta,gamma\n", 1, 0, ',', '"', '"', 1, 0, 0, "\n", 0},
    {"lone CR", "a,b\r1,2\r", 1, 0, ',', '"', '"', 1, 0, 0, "\r", 0},
    {"BOM", "\xEF\xBB\xBFx;y\n1;2\n", 1, 0, ';', '"', '"', 1, 0, 1, "\n", 0},
    {"latin-1", "name,city\nJos\xE9,M\xE1laga\n", 1, 0, ',', '"', '"', 1, 1, 0, "\n", 0},
    {"utf-8 cut at sample end is not latin-1", "name\nJos\xC3", 0, 0, ',', '"', '"', 1, 0, 0,
     "\n", 0},
    {"binary", "PK\x03\x04\x00\x00rest", 1, -1, ',', '"', '"', 0, 0, 0, "\n", 10},
    {"control bytes", "\x01\x02\x03\x04,\x05\x06\x07\x08\n", 1, -1, ',', '"', '"', 0, 0, 0, "\n", 0},
    /* issue 11: the only double quote is a stray one: no quoting (was '"') */
    {"unterminated quote: no quoting", "a,b\n1,2\n3,\"open\n4,5\n", 1, 0, ',', 0, 0, 1, 0, 0,
     "\n", 0},
    {"quotes in use are kept", "a,b\n1,\"x,y\"\n3,\"open\n4,5\n", 1, 0, ',', '"', '"', 1, 0, 0,
     "\n", 0},
    {"empty", "", 1, 0, ',', '"', '"', 0, 0, 0, "\n", 0},
    {"one column", "value\n1\n2\n", 1, 0, ',', '"', '"', 1, 0, 0, "\n", 0},
    {"incomplete last line ignored", "a,b\n1,2\n3,4\n5;6;7;8;9", 0, 0, ',', '"', '"', 1, 0, 0,
     "\n", 0},
    /* issue 11: a header over all-text or boolean data, with an empty name */
    {"header: boolean column under an empty-named header", "name,,flag\nann,x,yes\nbob,y,no\ncid,z,yes\n",
     1, 0, ',', '"', '"', 1, 0, 0, "\n", 0},
    {"header: categorical text column", "question,,share\n,very,37%\n,some,46%\n,little,37%\n,none,46%\n",
     1, 0, ',', '"', '"', 1, 0, 0, "\n", 0},
    {"header: a name longer than every value below it", "group,,Adult Men\n,very,37%\n,some,46%\n,little,12%\n,none,5%\n",
     1, 0, ',', '"', '"', 1, 0, 0, "\n", 0},
    {"no header: booleans first", "T,x\nF,y\nT,z\n", 1, 0, ',', '"', '"', 0, 0, 0, "\n", 0},
};

static void test_sniff(void) {
  for (size_t i = 0; i < sizeof scases / sizeof scases[0]; i++) {
    const struct scase *t = &scases[i];
    struct nv_csv_dialect d;
    char err[128] = "";
    size_t n = t->len ? t->len : strlen(t->in);
    int rc = nv_csv_sniff(t->in, n, t->complete, &d, err, sizeof err);
    if (rc != t->want_rc || (rc == 0 && (d.delimiter != t->delim || d.quote != t->quote ||
                                          d.escape != t->escape || d.has_header != t->header ||
                                          d.latin1 != t->latin1 || d.bom != t->bom ||
                                          strcmp(d.line_ending, t->le) != 0)))
      fprintf(stderr, "sniff %s: rc %d delim '%c' quote '%c' esc '%c' header %d latin1 %d\n",
              t->name, rc, d.delimiter, d.quote, d.escape, d.has_header, d.latin1);
    CHECK(rc == t->want_rc);
    if (rc != 0) {
      CHECK_STR(err, "binary data, not CSV");
      continue;
    }
    CHECK(d.delimiter == t->delim);
    CHECK(d.quote == t->quote);
    CHECK(d.escape == t->escape);
    CHECK(d.has_header == t->header);
    CHECK(d.latin1 == t->latin1);
    CHECK(d.bom == t->bom);
    CHECK_STR(d.line_ending, t->le);
  }
}

/* Issue 11: comment lines and preamble records before the header are
 * found by the sniffer (delimiter scored without them, skip_records and
 * comment set) and dropped by the parser, counted in skipped_lines; a
 * header one field short over row labels is kept. Before: the first
 * line became the header and the delimiter was lost. */
struct pre_case {
  const char *in;
  char delim, comment;
  unsigned skip;
  const char *header, *rows;
  uint64_t skipped;
};

static const struct pre_case pre_cases[] = {
    {"# A few comments\n# I'm a csv file\na;b\n# also a comment\n1;3\n6;7\n", ';', '#', 0, "a,b",
     "[1][3]\n[6][7]\n", 3},
    {"some notes...\nmore notes,...\nnumber,text,date\n345.0,TEST4,2000-12-13\n1,x,2001-01-01\n", ',', 0, 2,
     "number,text,date", "[345.0][TEST4][2000-12-13]\n[1][x][2001-01-01]\n", 2},
    {"a bad starting line\nCOL1,COL2,COL3\n1.5,a,3\n2.5,b,4", ',', 0, 1, "COL1,COL2,COL3",
     "[1.5][a][3]\n[2.5][b][4]\n", 1},
    {"# it's a comment!\nid,name\n1,english\n2,chinese\n", ',', '#', 0, "id,name",
     "[1][english]\n[2][chinese]\n", 1},
    {"a,b\nr1,1,2\nr2,3,4\nr3,5,6\n", ',', 0, 0, "a,b", "[r1][1]\n[r2][3]\n[r3][5]\n", 0},
    {"# exported\nReport title\nx,y,z\n1,2,3\n4,5,6\n7,8,9\n", ',', '#', 1, "x,y,z",
     "[1][2][3]\n[4][5][6]\n[7][8][9]\n", 2},
    /* a title padded with delimiters over a header of names; the header
     * repeats further down (stacked tables), which proves it a header */
    {"Raiders at Jets 9/7/14,,\nSTATE,% Sales,% Sold\nNY,47%,45%\nNJ,28%,31%\n,,\n"
     "Bills at Jets 9/14/14,,\nSTATE,% Sales,% Sold\nNY,50%,44%\n", ',', 0, 1, "STATE,% Sales,% Sold",
     "[NY][47%][45%]\n[NJ][28%][31%]\n[][][]\n[Bills at Jets 9/14/14][][]\n[STATE][% Sales][% Sold]\n"
     "[NY][50%][44%]\n", 1},
};

static void test_sniff_preamble(void) {
  for (size_t i = 0; i < sizeof pre_cases / sizeof pre_cases[0]; i++) {
    const struct pre_case *t = &pre_cases[i];
    struct nv_csv_dialect d;
    char err[128] = "";
    size_t n = strlen(t->in);
    CHECK(nv_csv_sniff(t->in, n, 1, &d, err, sizeof err) == 0);
    if (d.delimiter != t->delim || d.comment != t->comment || d.skip_records != t->skip || !d.has_header)
      fprintf(stderr, "preamble %zu: delim '%c' comment '%c' skip %u header %d\n", i, d.delimiter,
              d.comment ? d.comment : '0', d.skip_records, d.has_header);
    CHECK(d.delimiter == t->delim);
    CHECK(d.comment == t->comment);
    CHECK(d.skip_records == t->skip);
    CHECK(d.has_header == 1);
    struct nv_csv_config cfg;
    nv_csv_config_init(&cfg, &d);
    struct result res;
    run(&cfg, t->in, n, 0, &res);
    CHECK(res.rc == NV_CSV_OK);
    CHECK_STR(res.header, t->header);
    CHECK_STR(res.rows.buf, t->rows);
    CHECK(res.st.skipped_lines == t->skipped);
    run(&cfg, t->in, n, 1, &res); /* byte by byte: the state machine alone */
    CHECK_STR(res.header, t->header);
    CHECK_STR(res.rows.buf, t->rows);
  }
}

/* The whole-record fast path (records that lie in one fed chunk) against
 * the state machine alone (byte-by-byte feeding never holds a whole
 * record): random records mixing quoted fields, doubled quotes,
 * delimiters and line breaks inside quotes, bytes after a closing quote,
 * CR/LF/CRLF, blank lines, ragged rows, long fields and bytes one above
 * the delimiter (a SWAR false-positive trap), in three dialects. */
static void test_fast_path_equals_state_machine(void) {
  static const char *const pieces[] = {
      "a", "-5", "", "hello world", "\"q\"", "\"a,b\"", "\"x\"\"y\"", "\"\"", "\"l1\nl2\"",
      "\"tail\"xy", "0123456789abcdef0123", "--,-", "\"\\\"e\\\\\"", "b\"c", "\"cr\rcr\"",
      "\xC3\xA9t\xC3\xA9", ";;", "\t-", "k"};
  static const char *const ends[] = {"\n", "\r\n", "\r", "\n\n"};
  static const struct {
    char delim, quote, escape;
  } dialects[] = {{',', '"', '"'}, {';', '"', '"'}, {',', '"', '\\'}};
  static char in[8192];
  static struct result whole, bytes, rnd;
  uint64_t st = 0x243F6A8885A308D3u;
  for (size_t di = 0; di < sizeof dialects / sizeof dialects[0]; di++) {
    for (int round = 0; round < 40; round++) {
      size_t n = 0;
      int rows = 1 + (int)(st % 30);
      for (int r = 0; r < rows && n < sizeof in - 200; r++) {
        st = st * 6364136223846793005u + 1442695040888963407u;
        int fields = (st >> 33) % 9 == 0 ? 1 + (int)((st >> 40) % 5) : 3;
        for (int f = 0; f < fields; f++) {
          st = st * 6364136223846793005u + 1442695040888963407u;
          const char *pc = pieces[(st >> 33) % (sizeof pieces / sizeof pieces[0])];
          size_t k = strlen(pc);
          for (size_t i = 0; i < k; i++)
            in[n++] = pc[i] == ',' ? dialects[di].delim : pc[i];
          if (f + 1 < fields) in[n++] = dialects[di].delim;
        }
        const char *e = ends[(st >> 50) % 4];
        memcpy(in + n, e, strlen(e));
        n += strlen(e);
      }
      struct nv_csv_config cfg;
      nv_csv_config_init(&cfg, NULL);
      cfg.delimiter = dialects[di].delim;
      cfg.quote = dialects[di].quote;
      cfg.escape = dialects[di].escape;
      cfg.has_header = round % 2;
      run(&cfg, in, n, 0, &whole);
      run(&cfg, in, n, 1, &bytes);
      run(&cfg, in, n, (unsigned)round + 2, &rnd);
      const struct result *other[2] = {&bytes, &rnd};
      for (int o = 0; o < 2; o++) {
        if (strcmp(whole.rows.buf, other[o]->rows.buf) != 0)
          fprintf(stderr, "dialect %zu round %d split %d differs\n", di, round, o);
        CHECK_STR(whole.rows.buf, other[o]->rows.buf);
        CHECK_STR(whole.header, other[o]->header);
        CHECK(whole.rc == other[o]->rc);
        CHECK_STR(whole.err, other[o]->err);
        CHECK(whole.st.rows == other[o]->st.rows);
        CHECK(whole.st.lines == other[o]->st.lines);
        CHECK(whole.st.blank_lines == other[o]->st.blank_lines);
        CHECK(whole.st.ragged_rows == other[o]->st.ragged_rows);
        CHECK(whole.st.extra_fields == other[o]->st.extra_fields);
        CHECK(memcmp(whole.st.ragged_lines, other[o]->st.ragged_lines,
                     sizeof whole.st.ragged_lines) == 0);
      }
    }
  }
}

int main(void) {
  test_parse_cases();
  test_every_split_point();
  test_fast_path_equals_state_machine();
  test_ragged_lines();
  test_oversize();
  test_latin1_and_utf8();
  test_row_limit_and_pending();
  test_finish_at_row_limit();
  test_batches_bounded();
  test_sniff();
  test_sniff_preamble();
  return CHECK_DONE();
}
