/* json_parse.h - a streaming, push-style JSON record parser (pure C, no
 * Lua, no third-party code).
 *
 * Input is fed in arbitrary chunks (a value may span any number of them).
 * Four layouts are understood; AUTO picks NDJSON or array from the first
 * non-space byte after an optional UTF-8 BOM (nv_json_sniff() tells them
 * all apart from a bounded prefix):
 *   NDJSON  one value per line; blank lines skipped; CRLF accepted;
 *   array   one top-level array whose elements are streamed one by one
 *           (the array itself is never held in memory);
 *   values  top-level values one after another (`{..}{..}`, pretty-printed
 *           objects in sequence, or one object that is itself the record);
 *   object  one top-level object whose member records_path (a top-level
 *           key) holds an array: its elements are streamed as the records
 *           and the other members are skipped unread (GeoJSON `features`,
 *           API dumps' `data`).
 * Each record is delivered once it is complete and valid, as one callback
 * carrying its raw text and its fields flattened to dotted paths
 * ("user.address.city"). Nested objects are flattened; arrays are kept as
 * their raw JSON text (cut at max_array_text bytes) plus a summary of their
 * element kinds. Records are objects, or, when the first valid record is
 * not an object (`[1,2,3]`, lines of strings), every non-object record is
 * one field named NV_JSON_VALUE_COLUMN ("json", as DuckDB names it).
 * Memory is bounded by max_record_bytes (and max_depth); the parser never
 * allocates per value.
 *
 * Errors: a non-object record among objects, a malformed NDJSON line, or a
 * record nested deeper than max_depth is skipped and reported through the
 * `bad` callback (parsing goes on with the next line or element). A record
 * larger than max_record_bytes, a syntax error in the other layouts, and
 * bad data around the top-level array or object are fatal: the parser
 * stops, and nv_json_error() names the record, line (NDJSON) and byte
 * offset. Byte offsets are 0-based counts of bytes fed; line numbers are
 * 1-based. */
#ifndef NV_JSON_PARSE_H
#define NV_JSON_PARSE_H

#include <stddef.h>
#include <stdint.h>

enum nv_json_format { NV_JSON_AUTO, NV_JSON_NDJSON, NV_JSON_ARRAY, NV_JSON_VALUES, NV_JSON_OBJECT };

/* The one column of records that are not objects. */
#define NV_JSON_VALUE_COLUMN "json"

/* Element kinds seen in an array (bits of nv_json_field.elems). */
enum {
  NV_JSON_E_STRING = 1,
  NV_JSON_E_INT = 2,
  NV_JSON_E_DOUBLE = 4,
  NV_JSON_E_BOOL = 8,
  NV_JSON_E_NULL = 16,
  NV_JSON_E_OBJECT = 32,
  NV_JSON_E_ARRAY = 64
};

/* One value. kind: 's' string, 'i' integer (fits int64), 'd' double (also
 * integers too large for int64), 't' true, 'f' false, 'n' null,
 * 'a' array, 'o' object (only an empty nested object: a non-empty one is
 * flattened into its members). */
struct nv_json_value {
  char kind;
  const char *str; /* 's': decoded UTF-8; 'a'/'o': raw JSON text */
  size_t len;
  int64_t i;
  double d;
};

struct nv_json_field {
  const char *path; /* dotted path; keys keep their own dots */
  size_t path_len;
  struct nv_json_value v;
  unsigned elems;   /* 'a': NV_JSON_E_* bits of the direct elements */
  int truncated;    /* 'a': v.str holds only the first max_array_text bytes */
};

/* A complete, valid record. Pointers are valid during the callback only. */
struct nv_json_record {
  uint64_t recno;  /* 1-based, counting every record (skipped ones too) */
  uint64_t line;   /* NDJSON: 1-based line; array layout: 0 */
  uint64_t offset; /* byte offset of the record's first byte */
  const char *text;
  size_t text_len;
  const struct nv_json_field *fields; /* document order; NULL when !flatten */
  size_t nfields;
};

/* A skipped record. msg is the full message ("record 3 (line 3, byte
 * offset 57): expected ':' after an object key"); excerpt is the record's
 * first bytes (at most NV_JSON_EXCERPT, cut at a UTF-8 boundary, raw:
 * callers escape and mask it before showing it). */
#define NV_JSON_EXCERPT 40
struct nv_json_bad {
  uint64_t recno, line, offset;
  const char *msg;
  const char *excerpt;
  size_t excerpt_len;
  int excerpt_cut; /* the record goes on past the excerpt */
};

/* Callbacks return 0 to go on, nonzero to stop: feed/finish then return
 * NV_JSON_STOP right after that record, and the caller may feed the rest
 * of its chunk later. */
struct nv_json_handler {
  int (*record)(void *ud, const struct nv_json_record *r);
  int (*bad)(void *ud, const struct nv_json_bad *b); /* may be NULL */
  void *ud;
};

struct nv_json_config {
  enum nv_json_format format;
  size_t max_record_bytes; /* 0: 16 MiB */
  unsigned max_depth;      /* 0: 64; at most NV_JSON_DEPTH_LIMIT */
  size_t max_array_text;   /* 0: 4096 */
  int flatten;             /* 0: records carry their text only */
  /* object layout: the raw text (as in the file, escapes undecoded) of
   * the top-level key whose array holds the records */
  const char *records_path;
  size_t records_path_len;
};
#define NV_JSON_DEPTH_LIMIT 1024u

struct nv_json_stats {
  uint64_t records;      /* valid records delivered */
  uint64_t bad_records;  /* skipped records */
  uint64_t lines;        /* NDJSON lines seen (blank ones too) */
  uint64_t invalid_utf8; /* strings holding invalid UTF-8 or lone surrogates */
  uint64_t bytes;        /* bytes consumed */
};

enum { NV_JSON_OK = 0, NV_JSON_STOP = 1, NV_JSON_FAIL = -1 };

struct nv_json_parser;

/* NULL when out of memory. cfg may be NULL for the defaults. */
struct nv_json_parser *nv_json_new(const struct nv_json_config *cfg, const struct nv_json_handler *h);
void nv_json_free(struct nv_json_parser *p);

/* Consumes up to n bytes; *used says how many (all of them unless STOP).
 * After FAIL every call returns FAIL. */
int nv_json_feed(struct nv_json_parser *p, const char *buf, size_t n, size_t *used);
/* End of input: delivers a last unterminated line; checks the array was
 * closed. May return STOP (call it again to go on). */
int nv_json_finish(struct nv_json_parser *p);

const char *nv_json_error(const struct nv_json_parser *p); /* NULL unless failed */
enum nv_json_format nv_json_format(const struct nv_json_parser *p); /* AUTO until known */
const struct nv_json_stats *nv_json_stats(const struct nv_json_parser *p);

/* Walks one complete JSON value (a record's text) as events; used to
 * rebuild records as nested structures. Strings arrive decoded (valid
 * while the callback runs); numbers as in nv_json_value. A callback
 * returning nonzero aborts the walk. Returns 1 on success, 0 on a syntax
 * error or abort (message in err). */
struct nv_json_visitor {
  int (*begin)(void *ud, char kind, const char *at);   /* 'o'/'a'; at: the bracket */
  int (*end)(void *ud, char kind, const char *after); /* after: just past it */
  int (*key)(void *ud, const char *s, size_t n);
  int (*scalar)(void *ud, const struct nv_json_value *v);
  void *ud;
};
int nv_json_walk(struct nv_json_parser *p, const char *s, size_t n, const struct nv_json_visitor *v,
                 char *err, size_t errsz);

/* nv_json_sniff: the layout of a document from a bounded prefix, fed in
 * chunks (no allocation, fixed state). It scans structure only (strings,
 * escapes, bracket depth) — validity is left to the parser:
 *   '[' ... ']' alone                        -> array
 *   one value per line, or anything else     -> NDJSON (lines judged alone)
 *   objects or arrays not one per line ({..}{..}, pretty-printed objects
 *   in sequence)                             -> values
 *   one top-level object: if its largest member value (in bytes) is an
 *   array of at least two objects -> object with records_path = that key;
 *   else -> values (the object is one record).
 * A first object holding a line break inside a string (a broken first
 * line) is NDJSON, the one layout that recovers line by line.
 * A prefix cut inside the first value decides from what it saw: a top-level
 * array is an array, an object picks its main array among the members seen
 * (the one being read when the prefix ends counts with its bytes so far). */
#define NV_JSON_KEY_MAX 256
struct nv_json_sniff {
  enum nv_json_format format; /* the answer, once done (or after _end) */
  char records_path[NV_JSON_KEY_MAX];
  size_t records_path_len;
  int done;
  /* scanner state, private */
  uint64_t pos, first_at, first_end, cand_start, best_span, other_span;
  uint32_t narrays; /* members of the top-level object that are arrays of objects */
  unsigned depth;
  int phase, in_str, esc, first, multiline, nl_after, keypos, expect_elem, member, cand, cand_objs, cand_elems;
  char key[NV_JSON_KEY_MAX], cand_key[NV_JSON_KEY_MAX];
  size_t key_len, cand_key_len;
  int key_over, cand_key_over;
};
void nv_json_sniff_init(struct nv_json_sniff *s);
/* Returns 1 once the layout is known (no more input needed), else 0. */
int nv_json_sniff_feed(struct nv_json_sniff *s, const char *buf, size_t n);
/* End of the prefix; eof: it was the whole input. Decides. */
void nv_json_sniff_end(struct nv_json_sniff *s, int eof);

/* The JSON reader's score (reader.h) for the first n bytes of a file (the
 * whole file when eof): 90 when they parse as JSON in the layout they sniff
 * as (more valid records than bad ones; all valid when hint < 0, a name
 * saying another format), 60 for a {/[ start in a file named for JSON
 * (hint > 0), else 0. */
int nv_json_sniff_score(const unsigned char *buf, size_t n, int eof, int hint);

#endif
