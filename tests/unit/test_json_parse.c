/* test_json_parse.c - the streaming JSON record parser (json_parse.c).
 * Each case runs its input whole, byte by byte, split in two at every
 * position, and with the handler stopping after every record; all four
 * transcripts must equal the expected one. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "readers/json_parse.h"

struct out {
  char buf[8192];
  size_t n;
  int stop_each; /* handler asks to stop after every record */
};

static void put(struct out *o, const char *s, size_t n) {
  if (n > sizeof o->buf - 1 - o->n) n = sizeof o->buf - 1 - o->n;
  memcpy(o->buf + o->n, s, n);
  o->n += n;
  o->buf[o->n] = '\0';
}

static void puts_(struct out *o, const char *s) { put(o, s, strlen(s)); }

static void putq(struct out *o, const char *s, size_t n) {
  char b[8];
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      b[0] = '\\';
      b[1] = (char)c;
      put(o, b, 2);
    } else if (c < 0x20 || c >= 0x7f) {
      snprintf(b, sizeof b, "\\x%02x", c);
      puts_(o, b);
    } else {
      put(o, (const char *)&c, 1);
    }
  }
}

static void put_value(struct out *o, const struct nv_json_value *v) {
  char b[64];
  switch (v->kind) {
    case 's':
      puts_(o, "s\"");
      putq(o, v->str, v->len);
      puts_(o, "\"");
      break;
    case 'i':
      snprintf(b, sizeof b, "i%lld", (long long)v->i);
      puts_(o, b);
      break;
    case 'd':
      snprintf(b, sizeof b, "d%.17g", v->d);
      puts_(o, b);
      break;
    default:
      put(o, &v->kind, 1);
      break;
  }
}

static int on_record(void *ud, const struct nv_json_record *r) {
  struct out *o = ud;
  char b[64];
  snprintf(b, sizeof b, "#%llu", (unsigned long long)r->recno);
  puts_(o, b);
  if (r->line) {
    snprintf(b, sizeof b, "@%llu", (unsigned long long)r->line);
    puts_(o, b);
  }
  for (size_t i = 0; i < r->nfields; i++) {
    const struct nv_json_field *f = &r->fields[i];
    puts_(o, " ");
    putq(o, f->path, f->path_len);
    puts_(o, "=");
    if (f->v.kind == 'a' || f->v.kind == 'o') {
      put(o, &f->v.kind, 1);
      if (f->v.kind == 'a') {
        snprintf(b, sizeof b, "%u%s", f->elems, f->truncated ? "+" : "");
        puts_(o, b);
      }
      put(o, f->v.str, f->v.len);
    } else {
      put_value(o, &f->v);
    }
  }
  puts_(o, ";");
  return o->stop_each;
}

static int on_bad(void *ud, const struct nv_json_bad *b) {
  struct out *o = ud;
  puts_(o, "!");
  puts_(o, b->msg);
  puts_(o, ";");
  return 0;
}

struct opts {
  enum nv_json_format format;
  size_t max_record;
  unsigned max_depth;
  size_t max_array_text;
  const char *records_path; /* object layout */
};

/* Feeds in pieces: split==0 whole, split==1 byte by byte, split>1 in two
 * at byte split-1. Appends "FATAL:<msg>" and the stats. */
static void run(const char *in, size_t n, const struct opts *op, size_t split, int stop_each, struct out *o) {
  memset(o, 0, sizeof *o);
  o->stop_each = stop_each;
  struct nv_json_config cfg = {op->format,  op->max_record, op->max_depth, op->max_array_text, 1, op->records_path,
                               op->records_path ? strlen(op->records_path) : 0};
  struct nv_json_handler h = {on_record, on_bad, o};
  struct nv_json_parser *p = nv_json_new(&cfg, &h);
  if (p == NULL) {
    puts_(o, "OOM");
    return;
  }
  size_t pos = 0;
  int rc = NV_JSON_OK;
  while (pos < n && rc != NV_JSON_FAIL) {
    size_t len = n - pos;
    if (split == 1) len = 1;
    else if (split > 1 && pos < split - 1) len = split - 1 - pos;
    size_t used;
    rc = nv_json_feed(p, in + pos, len, &used);
    CHECK(used <= len);
    CHECK(rc == NV_JSON_STOP || rc == NV_JSON_FAIL || used == len);
    pos += used;
  }
  if (rc != NV_JSON_FAIL)
    while ((rc = nv_json_finish(p)) == NV_JSON_STOP) {
    }
  if (rc == NV_JSON_FAIL) {
    puts_(o, "FATAL:");
    puts_(o, nv_json_error(p));
  }
  const struct nv_json_stats *st = nv_json_stats(p);
  char b[128];
  static const char *const names[] = {"auto", "ndjson", "array", "values", "object"};
  snprintf(b, sizeof b, " [%s r=%llu bad=%llu utf8=%llu]", names[nv_json_format(p)],
           (unsigned long long)st->records, (unsigned long long)st->bad_records,
           (unsigned long long)st->invalid_utf8);
  puts_(o, b);
  nv_json_free(p);
}

struct tcase {
  const char *name;
  const char *in;
  const char *want;
  struct opts op;
};

static const struct tcase cases[] = {
    {"escapes decode to UTF-8, surrogate pairs combine, lone ones are counted",
     "{\"s\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\",\"u\":\"\\u00e9\\u4E2D\",\"p\":\"\\ud83d\\ude00\",\"lone\":\"\\ud800x\","
     "\"z\":\"\\u0000\",\"k\\u002ey\":1,\"raw\":\"h\xc3\xa9\"}\n",
     "#1@1 s=s\"a\\\"b\\\\c/d\\x08\\x0c\\x0a\\x0d\\x09\" u=s\"\\xc3\\xa9\\xe4\\xb8\\xad\" p=s\"\\xf0\\x9f\\x98\\x80\" "
     "lone=s\"\\xef\\xbf\\xbdx\" z=s\"\\x00\" k.y=i1 raw=s\"h\\xc3\\xa9\"; [ndjson r=1 bad=0 utf8=1]",
     {0}},
    {"numbers: int64 range as integers, the rest as doubles",
     "{\"a\":0,\"b\":-12,\"c\":1.5,\"d\":1E3,\"e\":-0.25e-2,\"f\":9223372036854775807,\"g\":-9223372036854775808,"
     "\"h\":9223372036854775808,\"i\":123456789012345678901234,\"j\":-0,\"k\":0.1,\"l\":1.7976931348623157e308}",
     "#1@1 a=i0 b=i-12 c=d1.5 d=d1000 e=d-0.0025000000000000001 f=i9223372036854775807 g=i-9223372036854775808 "
     "h=d9.2233720368547758e+18 i=d1.2345678901234569e+23 j=i0 k=d0.10000000000000001 "
     "l=d1.7976931348623157e+308; [ndjson r=1 bad=0 utf8=0]",
     {0}},
    {"nested objects flatten to dotted paths; empty ones stay as {}",
     "{\"user\":{\"name\":\"x\",\"address\":{\"city\":\"P\",\"geo\":{}},\"n\":null},\"t\":true,\"f\":false,\"e\":{}}",
     "#1@1 user.name=s\"x\" user.address.city=s\"P\" user.address.geo=o{} user.n=n t=t f=f e=o{}; "
     "[ndjson r=1 bad=0 utf8=0]",
     {0}},
    {"arrays keep their text and summarise their element kinds",
     "{\"t\":[\"a\",\"b\"],\"n\":[1, 2],\"m\":[1,\"x\",null],\"o\":[{\"a\":[1]}],\"e\":[],\"d\":[1.5,2],"
     "\"nn\":[[1],[true]],\"in\":{\"x\":[\"]\"]}}",
     "#1@1 t=a1[\"a\",\"b\"] n=a2[1, 2] m=a19[1,\"x\",null] o=a32[{\"a\":[1]}] e=a0[] d=a6[1.5,2] "
     "nn=a64[[1],[true]] in.x=a1[\"]\"]; [ndjson r=1 bad=0 utf8=0]",
     {0}},
    {"array text is cut at max_array_text but the array is still parsed",
     "{\"a\":[1,2,3,4,5],\"b\":1}", "#1@1 a=a2+[1,2 b=i1; [ndjson r=1 bad=0 utf8=0]",
     {NV_JSON_AUTO, 0, 0, 4, NULL}},
    {"NDJSON: blank lines are skipped, CRLF accepted, last line may lack a newline",
     "{\"a\":1}\r\n\r\n  \n{\"a\":2}\n\n{\"b\":\"x\"}", "#1@1 a=i1;#2@4 a=i2;#3@6 b=s\"x\"; [ndjson r=3 bad=0 utf8=0]",
     {0}},
    {"NDJSON: a malformed line is skipped and the next line parses",
     "{\"a\":1}\n{\"a\":\n{\"a\":3}\nxyz\n42\n[1]\n{\"a\":1} x\n{\"a\":01}\n{\"a\":\"\x01\"}\n{\"b\":2}\n",
     "#1@1 a=i1;!record 2 (line 2, byte offset 13): unexpected end of record, expected a value;#3@3 a=i3;"
     "!record 4 (line 4, byte offset 22): unexpected character;"
     "!record 5 (line 5, byte offset 26): not an object (found a number);"
     "!record 6 (line 6, byte offset 29): not an object (found an array);"
     "!record 7 (line 7, byte offset 41): unexpected data after the value;"
     "!record 8 (line 8, byte offset 48): invalid number (leading zero);"
     "!record 9 (line 9, byte offset 58): control character in string;#10@10 b=i2; [ndjson r=3 bad=7 utf8=0]",
     {0}},
    {"heterogeneous records keep their own fields",
     "{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"tags\":[\"x\"]}\n{\"id\":\"3\",\"meta\":{\"k\":1}}\n",
     "#1@1 id=i1 name=s\"a\";#2@2 id=i2 tags=a1[\"x\"];#3@3 id=s\"3\" meta.k=i1; [ndjson r=3 bad=0 utf8=0]",
     {0}},
    {"array layout: elements stream, non-objects are skipped",
     " \n[ {\"a\":1} ,\n{\"a\":\"x,]\"}, 3, \"s\", {\"b\":[1,{\"c\":\"]\"}]} ]\n ",
     "#1 a=i1;#2 a=s\"x,]\";!record 3 (byte offset 27): not an object (found a number);"
     "!record 4 (byte offset 30): not an object (found a string);#5 b=a34[1,{\"c\":\"]\"}]; [array r=3 bad=2 utf8=0]",
     {0}},
    {"array layout: an empty array has no records", "[ ]", " [array r=0 bad=0 utf8=0]", {0}},
    {"array layout: a syntax error stops the file", "[{\"a\":1},{\"a\":}, {\"a\":3}]",
     "#1 a=i1;FATAL:record 2 (byte offset 14): unexpected character [array r=1 bad=0 utf8=0]", {0}},
    {"array layout: mismatched brackets are reported where they are", "[{\"a\":[1}, {\"a\":3}]",
     "FATAL:record 1 (byte offset 8): expected ',' or ']' after an array element [array r=0 bad=0 utf8=0]", {0}},
    {"array layout: data after the array is fatal", "[{\"a\":1}] x",
     "#1 a=i1;FATAL:byte offset 10: unexpected data after the top-level array [array r=1 bad=0 utf8=0]", {0}},
    {"array layout: a missing separator is fatal", "[{\"a\":1} {\"a\":2}]",
     "#1 a=i1;FATAL:byte offset 9: expected ',' or ']' after an array element [array r=1 bad=0 utf8=0]", {0}},
    {"array layout: a trailing comma is fatal", "[{\"a\":1},]",
     "#1 a=i1;FATAL:byte offset 9: expected an array element [array r=1 bad=0 utf8=0]", {0}},
    {"array layout: input ending inside the array is fatal", "[{\"a\":1},{\"a\":",
     "#1 a=i1;FATAL:byte offset 14: unexpected end of input inside the top-level array [array r=1 bad=0 utf8=0]",
     {0}},
    {"array layout: a scalar cut by the end of input", "[{\"a\":1},12",
     "#1 a=i1;!record 2 (byte offset 9): not an object (found a number);FATAL:byte offset 11: unexpected end of "
     "input inside the top-level array [array r=1 bad=1 utf8=0]",
     {0}},
    {"forced array layout on NDJSON input is fatal", "{\"a\":1}\n",
     "FATAL:byte offset 0: expected '[' to open the top-level array [array r=0 bad=0 utf8=0]",
     {NV_JSON_ARRAY, 0, 0, 0, NULL}},
    {"forced NDJSON on a one-line array: the first record is a value, so the array is one value",
     "[{\"a\":1}]\n", "#1@1 json=a32[{\"a\":1}]; [ndjson r=1 bad=0 utf8=0]", {NV_JSON_NDJSON, 0, 0, 0, NULL}},
    {"array of scalars: one record per element, in the value column",
     "[1, \"a\", 2.5, true, null, [1,2], {\"x\":1}]",
     "#1 json=i1;#2 json=s\"a\";#3 json=d2.5;#4 json=t;#5 json=n;#6 json=a2[1,2];#7 x=i1; [array r=7 bad=0 utf8=0]",
     {0}},
    {"NDJSON lines of scalars are values; an object among them keeps its fields", "1\n\"x\"\n{\"a\":2}\n3",
     "#1@1 json=i1;#2@2 json=s\"x\";#3@3 a=i2;#4@4 json=i3; [ndjson r=4 bad=0 utf8=0]", {0}},
    {"values layout: concatenated and pretty-printed objects are records",
     "{\"a\":1}{\"a\":2}\n{\n  \"a\": 3,\n  \"b\": {\"c\": [1]}\n}\n\n {\"a\":\"}{\"} ",
     "#1 a=i1;#2 a=i2;#3 a=i3 b.c=a2[1];#4 a=s\"}{\"; [values r=4 bad=0 utf8=0]", {NV_JSON_VALUES, 0, 0, 0, NULL}},
    {"values layout: one object is one record (a BOM is skipped)", "\xEF\xBB\xBF {\"a\":1,\"b\":[{\"c\":2}]}\n",
     "#1 a=i1 b=a32[{\"c\":2}]; [values r=1 bad=0 utf8=0]", {NV_JSON_VALUES, 0, 0, 0, NULL}},
    {"values layout: scalars one after another", "1 2\t\"s\"3", "#1 json=i1;#2 json=i2;#3 json=s\"s\";#4 json=i3; "
     "[values r=4 bad=0 utf8=0]", {NV_JSON_VALUES, 0, 0, 0, NULL}},
    {"values layout: a syntax error is fatal", "{\"a\":1}\n{\"a\":}\n{\"a\":3}",
     "#1 a=i1;FATAL:record 2 (byte offset 13): unexpected character [values r=1 bad=0 utf8=0]",
     {NV_JSON_VALUES, 0, 0, 0, NULL}},
    {"values layout: input ending inside a value is fatal", "{\"a\":1} {\"a\":",
     "#1 a=i1;FATAL:byte offset 13: unexpected end of input inside a top-level value [values r=1 bad=0 utf8=0]",
     {NV_JSON_VALUES, 0, 0, 0, NULL}},
    {"values layout: a comma between values is fatal", "{\"a\":1},{\"a\":2}",
     "#1 a=i1;FATAL:byte offset 7: expected a value [values r=1 bad=0 utf8=0]", {NV_JSON_VALUES, 0, 0, 0, NULL}},
    {"object layout: the records array streams, the other members are skipped unread",
     "{\"type\":\"FeatureCollection\",\"crs\":{\"p\":[1,{\"q\":\"]}\"}]},\"n\":-1.5e3,\"s\":\"x\\\"y\",\n"
     "\"features\":[{\"id\":1,\"properties\":{\"x\":\"a\"}},\n {\"id\":2}],\"features\":[{\"id\":9}],\"t\":true}\n",
     "#1 id=i1 properties.x=s\"a\";#2 id=i2; [object r=2 bad=0 utf8=0]", {NV_JSON_OBJECT, 0, 0, 0, "features"}},
    {"object layout: keys compare as written, escapes included", "{\"da\\u0074a\":[{\"a\":1}],\"data\":[{\"a\":2}]}",
     "#1 a=i2; [object r=1 bad=0 utf8=0]", {NV_JSON_OBJECT, 0, 0, 0, "data"}},
    {"object layout: an empty records array, and non-objects in it are skipped after objects",
     "{\"data\":[{\"a\":1},2,{\"a\":3}],\"meta\":{}}",
     "#1 a=i1;!record 2 (byte offset 17): not an object (found a number);#3 a=i3; [object r=2 bad=1 utf8=0]",
     {NV_JSON_OBJECT, 0, 0, 0, "data"}},
    {"object layout: the records key missing is fatal", "{\"x\":[{\"a\":1}]}",
     "FATAL:the top-level object has no member \"data\" holding an array [object r=0 bad=0 utf8=0]",
     {NV_JSON_OBJECT, 0, 0, 0, "data"}},
    {"object layout: a syntax error in the records is fatal", "{\"data\":[{\"a\":1},{\"a\" 2}]}",
     "#1 a=i1;FATAL:record 2 (byte offset 22): expected ':' after an object key [object r=1 bad=0 utf8=0]",
     {NV_JSON_OBJECT, 0, 0, 0, "data"}},
    {"object layout: end of input inside the records array", "{\"data\":[{\"a\":1},",
     "#1 a=i1;FATAL:byte offset 17: unexpected end of input inside the records array [object r=1 bad=0 utf8=0]",
     {NV_JSON_OBJECT, 0, 0, 0, "data"}},
    {"object layout: end of input after the records array", "{\"data\":[{\"a\":1}], \"m\": [1,",
     "#1 a=i1;FATAL:byte offset 27: unexpected end of input inside the top-level object [object r=1 bad=0 utf8=0]",
     {NV_JSON_OBJECT, 0, 0, 0, "data"}},
    {"object layout: data after the object is fatal", "{\"data\":[]} x",
     "FATAL:byte offset 12: unexpected data after the top-level object [object r=0 bad=0 utf8=0]",
     {NV_JSON_OBJECT, 0, 0, 0, "data"}},
    {"object layout: a missing separator between members is fatal", "{\"data\":[] \"m\":1}",
     "FATAL:byte offset 11: expected ',' or '}' after a member of the top-level object [object r=0 bad=0 utf8=0]",
     {NV_JSON_OBJECT, 0, 0, 0, "data"}},
    {"depth limit: max_depth levels pass, one more is a bad record",
     "{\"a\":{\"b\":{\"c\":1}}}\n{\"a\":{\"b\":{\"c\":{}}}}\n{\"a\":[[1]]}\n{\"a\":[[[1]]]}\n",
     "#1@1 a.b.c=i1;!record 2 (line 2, byte offset 35): nesting deeper than 3 levels;#3@3 a=a64[[1]];"
     "!record 4 (line 4, byte offset 60): nesting deeper than 3 levels; [ndjson r=2 bad=2 utf8=0]",
     {NV_JSON_AUTO, 0, 3, 0, NULL}},
    {"oversize NDJSON record is fatal and names record, line and offset",
     "{\"a\":1}\n\n{\"a\":\"0123456789\"}\n",
     "#1@1 a=i1;FATAL:record 2 (line 3, byte offset 9): record larger than max_record_bytes (12) "
     "[ndjson r=1 bad=0 utf8=0]",
     {NV_JSON_AUTO, 12, 0, 0, NULL}},
    {"oversize array element is fatal", "[{\"a\":1}, {\"a\":\"0123456789\"}]",
     "#1 a=i1;FATAL:record 2 (byte offset 10): record larger than max_record_bytes (12) [array r=1 bad=0 utf8=0]",
     {NV_JSON_AUTO, 12, 0, 0, NULL}},
    {"a record of exactly max_record_bytes passes", "{\"a\":\"0123\"}\n[{}]",
     "#1@1 a=s\"0123\";!record 2 (line 2, byte offset 13): not an object (found an array); [ndjson r=1 bad=1 utf8=0]",
     {NV_JSON_AUTO, 12, 0, 0, NULL}},
    {"empty input is NDJSON with no records", "", " [ndjson r=0 bad=0 utf8=0]", {0}},
    {"whitespace-only input", " \n\r\n\t", " [ndjson r=0 bad=0 utf8=0]", {0}},
    {"a UTF-8 BOM is skipped (NDJSON)", "\xEF\xBB\xBF{\"a\":1}\n", "#1@1 a=i1; [ndjson r=1 bad=0 utf8=0]", {0}},
    {"a UTF-8 BOM is skipped (array)", "\xEF\xBB\xBF[{\"a\":1}]", "#1 a=i1; [array r=1 bad=0 utf8=0]", {0}},
    {"invalid UTF-8 in strings is counted once per string and kept",
     "{\"a\":\"\xff\xfe\",\"b\":\"\xc0\xaf\",\"c\":\"\xed\xa0\x80\",\"d\":\"ok\xe2\x82\xac\",\"\xff\":1}",
     "#1@1 a=s\"\\xff\\xfe\" b=s\"\\xc0\\xaf\" c=s\"\\xed\\xa0\\x80\" d=s\"ok\\xe2\\x82\\xac\" \\xff=i1; "
     "[ndjson r=1 bad=0 utf8=4]",
     {0}},
    {"duplicate keys are both reported (callers decide)", "{\"a\":1,\"a\":2}", "#1@1 a=i1 a=i2; [ndjson r=1 bad=0 utf8=0]",
     {0}},
};

static void check_case(const struct tcase *t) {
  size_t n = strlen(t->in);
  static struct out whole, piece;
  run(t->in, n, &t->op, 0, 0, &whole);
  if (strcmp(whole.buf, t->want) != 0) {
    fprintf(stderr, "case: %s\n  got:  %s\n  want: %s\n", t->name, whole.buf, t->want);
    check_failures++;
    return;
  }
  for (size_t split = 1; split <= n + 1; split++) {
    run(t->in, n, &t->op, split, 0, &piece);
    if (strcmp(piece.buf, t->want) != 0) {
      fprintf(stderr, "case: %s (split %zu)\n  got:  %s\n  want: %s\n", t->name, split, piece.buf, t->want);
      check_failures++;
      return;
    }
  }
  run(t->in, n, &t->op, 0, 1, &piece);
  if (strcmp(piece.buf, t->want) != 0) {
    fprintf(stderr, "case: %s (stop after each record)\n  got:  %s\n  want: %s\n", t->name, piece.buf, t->want);
    check_failures++;
  }
  run(t->in, n, &t->op, 1, 1, &piece);
  if (strcmp(piece.buf, t->want) != 0) {
    fprintf(stderr, "case: %s (byte by byte, stopping)\n  got:  %s\n  want: %s\n", t->name, piece.buf, t->want);
    check_failures++;
  }
}

/* nv_json_walk rebuilds the nesting the flattened form drops */
static int w_begin(void *ud, char kind, const char *at) {
  (void)at;
  puts_(ud, kind == 'o' ? "{" : "[");
  return 0;
}
static int w_end(void *ud, char kind, const char *after) {
  (void)after;
  puts_(ud, kind == 'o' ? "}" : "]");
  return 0;
}
static int w_key(void *ud, const char *s, size_t n) {
  puts_(ud, "k:");
  putq(ud, s, n);
  puts_(ud, " ");
  return 0;
}
static int w_scalar(void *ud, const struct nv_json_value *v) {
  put_value(ud, v);
  puts_(ud, " ");
  return 0;
}

static void check_walk(void) {
  struct nv_json_handler h = {on_record, NULL, NULL};
  struct nv_json_parser *p = nv_json_new(NULL, &h);
  CHECK(p != NULL);
  if (p == NULL) return;
  static struct out o;
  memset(&o, 0, sizeof o);
  struct nv_json_visitor v = {w_begin, w_end, w_key, w_scalar, &o};
  char err[128];
  const char *doc = "{\"a\":[1,{\"b\\n\":\"\\u00e9\"}],\"c\":null, \"d\":2.5}";
  CHECK(nv_json_walk(p, doc, strlen(doc), &v, err, sizeof err) == 1);
  CHECK_STR(o.buf, "{k:a [i1 {k:b\\x0a s\"\\xc3\\xa9\" }]k:c n k:d d2.5 }");
  CHECK(nv_json_walk(p, "{\"a\":}", 6, &v, err, sizeof err) == 0);
  CHECK_STR(err, "byte 5: unexpected character");
  CHECK(nv_json_walk(p, "[1] 2", 5, &v, err, sizeof err) == 0);
  CHECK_STR(err, "byte 4: unexpected data after the value");
  nv_json_free(p);
}

/* After a fatal error every call keeps failing with the same message. */
static void check_sticky_failure(void) {
  static struct out o;
  memset(&o, 0, sizeof o);
  struct nv_json_handler h = {on_record, on_bad, &o};
  struct nv_json_parser *p = nv_json_new(NULL, &h);
  CHECK(p != NULL);
  if (p == NULL) return;
  size_t used;
  CHECK(nv_json_feed(p, "[1 2]", 5, &used) == NV_JSON_FAIL);
  CHECK(nv_json_feed(p, "[]", 2, &used) == NV_JSON_FAIL && used == 0);
  CHECK(nv_json_finish(p) == NV_JSON_FAIL);
  CHECK_STR(nv_json_error(p), "byte offset 3: expected ',' or ']' after an array element");
  nv_json_free(p);
}

/* nv_json_sniff: the layout (and records key) from a prefix, fed whole and
 * byte by byte; eof says whether the prefix is the whole input. */
struct scase {
  const char *in;
  int eof;
  const char *want;
};

static const struct scase scases[] = {
    {"", 1, "ndjson"},
    {" \n\t", 1, "ndjson"},
    {"[{\"a\":1}]", 1, "array"},
    {"\xEF\xBB\xBF [\n{\"a\":1},\n{\"a\":2}\n]\n", 1, "array"},
    {"[1,2]\n[3,4]\n", 1, "ndjson"},
    {"{\"a\":1}\n{\"a\":2}\n", 1, "ndjson"},
    {"{\"a\":1}\r\n\r\n{\"a\":\"}\\\"{\"}", 1, "ndjson"},
    {"{\"a\":1}{\"a\":2}", 1, "values"},
    {"{\"a\":1} {\"a\":2}\n", 1, "values"},
    {"{\n  \"a\": 1\n}\n{\n  \"a\": 2\n}\n", 1, "values"},
    {"1\n2\n3\n", 1, "ndjson"},
    {"\"a\"\n\"b\"", 1, "ndjson"},
    {"42", 1, "ndjson"},
    {"{\"a\":1,\"b\":{\"c\":2},\"d\":[1,2]}", 1, "values"},
    {"{\"id\":7}\n", 1, "values"},
    {"{\"type\":\"FeatureCollection\",\n\"features\":[\n{\"type\":\"Feature\",\"properties\":{\"x\":1}},\n"
     "{\"type\":\"Feature\",\"properties\":{\"x\":2}}]}\n", 1, "object:features"},
    {"{\"data\":[{\"x\":1},{\"x\":2}],\"meta\":{\"n\":2}}", 1, "object:data"},
    {"{\"errors\":[{\"e\":1}],\"data\":[{\"x\":1},{\"x\":2},{\"x\":3}]}", 1, "object:data"},
    /* two arrays of objects (a graph's nodes and links): two tables, neither is
     * "the" records: the object is one record, as DuckDB reads it */
    {"{\"nodes\":[{\"n\":1},{\"n\":2}],\"links\":[{\"s\":1},{\"s\":2},{\"s\":3}]}", 1, "values"},
    {"{\"meta\":{\"a\":\"0123456789012345678901234567890123456789\"},\"data\":[{\"x\":1}]}", 1, "values"},
    {"{\"data\":[]}", 1, "values"},
    {"{\"data\":[1,2,3]}", 1, "values"},
    {"{\"data\":[{\"x\":1},2]}", 1, "values"},
    {"{\"nested\":{\"rows\":[{\"x\":1},{\"x\":2}]}}", 1, "values"},
    {"{\"d\\\"x\":[{\"a\":1},{\"a\":2}]}", 1, "object:d\\\"x"},
    {"{\"type\":\"F\",\"features\":[{\"a\":1},{\"a\":", 0, "object:features"},
    {"{\"type\":\"F\",\"features\":[{\"a\":1},{\"a\":", 1, "object:features"},
    {"[abc],1,2\n[def],3,4\n", 1, "ndjson"},
    {"a,b,c\n1,2,3\n", 1, "ndjson"},
    {"1,2,3\n4,5,6\n", 1, "ndjson"},
    {"{\"a\":1}, {\"a\":2}\n", 1, "ndjson"},
    {"[1][2]", 1, "values"},
    {"{\"id\":3,\"name\":\"The Firm}\n{\"id\":4}\n", 1, "ndjson"},
    {"{\"a\":\"x\n\"}", 1, "ndjson"},
    {"{\"a\":1,\n\"b\":\"x\ny\"}", 1, "ndjson"},
    {"[1,2,3]\n4,5,6\n", 1, "ndjson"},
};

static void sniff_name(const struct nv_json_sniff *sn, char *out, size_t n) {
  static const char *const names[] = {"auto", "ndjson", "array", "values", "object"};
  if (sn->format == NV_JSON_OBJECT)
    snprintf(out, n, "object:%.*s", (int)sn->records_path_len, sn->records_path);
  else
    snprintf(out, n, "%s", names[sn->format]);
}

static void check_sniff(void) {
  for (size_t k = 0; k < sizeof scases / sizeof scases[0]; k++) {
    const struct scase *t = &scases[k];
    size_t n = strlen(t->in);
    char whole[300], bytes[300];
    struct nv_json_sniff sn;
    nv_json_sniff_init(&sn);
    nv_json_sniff_feed(&sn, t->in, n);
    nv_json_sniff_end(&sn, t->eof);
    sniff_name(&sn, whole, sizeof whole);
    nv_json_sniff_init(&sn);
    for (size_t i = 0; i < n && !sn.done; i++) nv_json_sniff_feed(&sn, t->in + i, 1);
    nv_json_sniff_end(&sn, t->eof);
    sniff_name(&sn, bytes, sizeof bytes);
    if (strcmp(whole, t->want) != 0 || strcmp(bytes, t->want) != 0) {
      fprintf(stderr, "sniff case %zu: got %s / %s (byte by byte), want %s\n", k, whole, bytes, t->want);
      check_failures++;
    }
  }
}

int main(void) {
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i]);
  check_sniff();
  check_walk();
  check_sticky_failure();
  return CHECK_DONE();
}
