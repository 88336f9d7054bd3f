/* json_sniff.c - nv_json_sniff (json_parse.h): the layout of a JSON
 * document from a bounded prefix. A byte-at-a-time scanner of structure
 * only — strings, escapes, bracket depth, and at depth 1 of a top-level
 * object its member keys and the extent of each member value — with fixed
 * state and no allocation; validity is left to the parser. Uses only libc. */
#include <stdint.h>
#include <string.h>

#include "json_parse.h"

static int is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

enum { S_START, S_FIRST, S_AFTER, S_DONE };

void nv_json_sniff_init(struct nv_json_sniff *s) {
  memset(s, 0, sizeof *s);
  s->format = NV_JSON_NDJSON;
}

static void sniff_decide(struct nv_json_sniff *s, enum nv_json_format f) {
  s->format = f;
  s->done = 1;
  s->phase = S_DONE;
}

/* A member value of the top-level object ends (or the prefix does) at
 * byte `end`: the largest array of objects, how many there are, and the
 * largest other value. */
static void sniff_member_end(struct nv_json_sniff *s, uint64_t end) {
  uint64_t span = end - s->cand_start;
  if (s->cand && s->cand_objs && s->cand_elems >= 2 && !s->cand_key_over) {
    s->narrays++;
    if (span > s->best_span) {
      s->best_span = span;
      memcpy(s->records_path, s->cand_key, s->cand_key_len);
      s->records_path_len = s->cand_key_len;
    }
  } else if (span > s->other_span) {
    s->other_span = span;
  }
  s->member = s->cand = 0;
}

/* A top-level object: records from its main array — the only member that
 * is an array of objects, and larger than any other member — or else
 * (several such arrays: several tables, none of them "the" records) itself
 * the record. */
static void sniff_object(struct nv_json_sniff *s) {
  if (s->member) sniff_member_end(s, s->pos);
  if (s->narrays == 1 && s->best_span > s->other_span) sniff_decide(s, NV_JSON_OBJECT);
  else {
    s->records_path_len = 0;
    sniff_decide(s, NV_JSON_VALUES);
  }
}

/* One byte of the first value; 1 when it ended (a scalar's end byte is
 * not part of it and is looked at again). */
static int sniff_byte(struct nv_json_sniff *s, unsigned char ch) {
  if (ch == '\n' && s->in_str && s->first == '{') {
    /* never valid JSON: a broken first line, which only NDJSON survives */
    sniff_decide(s, NV_JSON_NDJSON);
    return 0;
  }
  if (ch == '\n' && s->depth > 0) s->multiline = 1;
  if (s->in_str) {
    if (s->esc) s->esc = 0;
    else if (ch == '\\') s->esc = 1;
    else if (ch == '"') {
      s->in_str = 0;
      if (s->depth == 0) return 2;
      return 0;
    }
    if (s->keypos == 2) { /* inside a member key of the top-level object */
      if (s->key_len < sizeof s->key) s->key[s->key_len++] = (char)ch;
      else s->key_over = 1;
    }
    return 0;
  }
  if (s->depth == 0 && s->first != '{' && s->first != '[' && s->first != '"') {
    if (is_ws(ch) || ch == ',' || ch == '{' || ch == '[' || ch == '}' || ch == ']') return 1;
    return 0;
  }
  if (s->depth == 1 && s->first == '{') {
    if (ch == '"' && s->keypos == 1) {
      s->keypos = 2;
      s->key_len = 0;
      s->key_over = 0;
      s->in_str = 1;
      return 0;
    }
    if (ch == ':') {
      s->keypos = 3; /* a member value comes */
      return 0;
    }
    if (ch == ',' || ch == '}') {
      if (s->member) sniff_member_end(s, s->pos);
      s->keypos = 1;
      if (ch == ',') return 0;
    }
    if (s->keypos == 3 && !is_ws(ch)) {
      s->keypos = 0;
      s->member = 1;
      s->cand_start = s->pos;
      if (ch == '[') {
        s->cand = 1;
        s->cand_objs = 1;
        s->cand_elems = 0;
        s->expect_elem = 1;
        memcpy(s->cand_key, s->key, s->key_len);
        s->cand_key_len = s->key_len;
        s->cand_key_over = s->key_over;
      }
    }
  } else if (s->depth == 2 && s->cand && !is_ws(ch)) {
    if (s->expect_elem && ch != ']') {
      s->cand_elems++;
      if (ch != '{') s->cand_objs = 0;
      s->expect_elem = 0;
    } else if (ch == ',') {
      s->expect_elem = 1;
    }
  }
  if (ch == '"') {
    s->in_str = 1;
  } else if (ch == '{' || ch == '[') {
    s->depth++;
    if (s->depth == 1 && ch == '{') s->keypos = 1;
  } else if (ch == '}' || ch == ']') {
    if (s->depth == 0) return 1; /* stray: let the parser say so */
    s->depth--;
    if (s->depth == 0) return 2;
  }
  return 0;
}

int nv_json_sniff_feed(struct nv_json_sniff *s, const char *buf, size_t n) {
  size_t i = 0;
  while (i < n && !s->done) {
    unsigned char ch = (unsigned char)buf[i];
    if (s->phase == S_START) {
      if ((s->pos < 3 && ch == (unsigned char)"\xEF\xBB\xBF"[s->pos]) || is_ws(ch)) {
        i++;
        s->pos++;
        continue;
      }
      s->first = ch;
      s->first_at = s->pos;
      s->phase = S_FIRST;
    }
    if (s->phase == S_AFTER) {
      if (ch == '\n') s->nl_after = 1;
      if (is_ws(ch)) {
        i++;
        s->pos++;
        continue;
      }
      /* a second top-level value: one per line is NDJSON; so is anything
       * but objects or arrays in sequence (each line is then judged alone) */
      int seq = (s->first == '{' || s->first == '[') && (ch == '{' || ch == '[');
      sniff_decide(s, seq && (s->multiline || !s->nl_after) ? NV_JSON_VALUES : NV_JSON_NDJSON);
      break;
    }
    int end = sniff_byte(s, ch);
    if (end == 0) {
      i++;
      s->pos++;
      if (s->first == '[' && (s->multiline || s->pos - s->first_at > 65536)) {
        sniff_decide(s, NV_JSON_ARRAY); /* not one array per line */
        break;
      }
      continue;
    }
    if (end == 2) { /* this byte ends the value */
      i++;
      s->pos++;
    }
    s->first_end = s->pos;
    s->phase = S_AFTER;
  }
  return s->done;
}

void nv_json_sniff_end(struct nv_json_sniff *s, int eof) {
  (void)eof; /* a prefix cut after the first value decides as the whole input would */
  if (s->done) return;
  if (s->phase == S_START) {
    sniff_decide(s, NV_JSON_NDJSON);
    return;
  }
  if (s->first == '[') sniff_decide(s, NV_JSON_ARRAY);
  else if (s->first == '{') sniff_object(s);
  else sniff_decide(s, NV_JSON_NDJSON);
}

/* ---- the JSON reader's sniff score (reader.h) ------------------------- */

struct proof {
  uint64_t good;
};

static int proof_record(void *ud, const struct nv_json_record *r) {
  (void)r;
  ((struct proof *)ud)->good++;
  return 0;
}

/* Whether buf[0..n) (the whole file when eof) reads as JSON in the layout
 * it sniffs as: no fatal error, and more valid records than bad ones — all
 * of them valid for a file named .csv. A prefix that ends inside its first
 * record (one object larger than the block) proves nothing against JSON,
 * except for a .csv name. Returns 0 when out of memory (not JSON: the CSV
 * reader then says what it finds). */
static int proves_json(const unsigned char *buf, size_t n, int eof, int hint) {
  struct nv_json_sniff sn;
  nv_json_sniff_init(&sn);
  nv_json_sniff_feed(&sn, (const char *)buf, n);
  nv_json_sniff_end(&sn, eof);
  struct nv_json_config cfg = {sn.format, 0, 0, 0, 0, sn.records_path, sn.records_path_len};
  struct proof pr = {0};
  struct nv_json_handler h = {proof_record, NULL, &pr};
  struct nv_json_parser *p = nv_json_new(&cfg, &h);
  if (p == NULL) return 0;
  size_t used;
  int rc = nv_json_feed(p, (const char *)buf, n, &used);
  if (rc != NV_JSON_FAIL && eof) rc = nv_json_finish(p);
  uint64_t bad = nv_json_stats(p)->bad_records;
  nv_json_free(p);
  if (rc == NV_JSON_FAIL) return 0;
  if (hint < 0) return pr.good > 0 && bad == 0;
  if (pr.good == 0 && bad == 0) return !eof;
  return pr.good > bad;
}

int nv_json_sniff_score(const unsigned char *buf, size_t n, int eof, int hint) {
  if (memchr(buf, 0, n) != NULL) return 0;
  size_t i = 0;
  if (n >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF) i = 3;
  while (i < n && is_ws(buf[i])) i++;
  if (i == n || (buf[i] != '{' && buf[i] != '[')) return 0;
  if (proves_json(buf, n, eof, hint)) return 90;
  return hint > 0 ? 60 : 0; /* named .json: JSON that does not parse is still JSON to report on */
}
