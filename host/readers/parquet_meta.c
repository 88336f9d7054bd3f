/* parquet_meta.c - the FileMetaData model (see parquet_meta.h): footer
 * location and bounds, hand-decoded Thrift structs (parquet.thrift field
 * ids), the schema tree flattened to leaves, type names. Uses
 * parquet_thrift.c and POSIX open/pread/fstat. */
#include "parquet_meta.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parquet_thrift.h"

/* ---- sources ---------------------------------------------------------- */

struct file_src {
  int fd;
};

/* n bytes at offset off of fd, or -1 with the cause in err */
static int pread_full(int fd, void *buf, size_t n, uint64_t off, char *err, size_t errsz) {
  size_t done = 0;
  while (done < n) {
    if (off + done > (uint64_t)INT64_MAX) {
      snprintf(err, errsz, "offset out of range");
      return -1;
    }
    ssize_t got = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      snprintf(err, errsz, "read error: %s", strerror(errno));
      return -1;
    }
    if (got == 0) {
      snprintf(err, errsz, "unexpected end of file");
      return -1;
    }
    done += (size_t)got;
  }
  return 0;
}

static int file_read_at(void *ud, uint64_t off, void *buf, size_t n, char *err, size_t errsz) {
  const struct file_src *f = ud;
  return pread_full(f->fd, buf, n, off, err, errsz);
}

static int file_close(void *ud) {
  struct file_src *f = ud;
  int rc = close(f->fd);
  free(f);
  return rc == 0 ? 0 : -1;
}

int nv_pq_source_file(struct nv_pq_source *src, const char *path, char *err, size_t errsz) {
  memset(src, 0, sizeof *src);
  struct file_src *f = malloc(sizeof *f);
  if (f == NULL) {
    snprintf(err, errsz, "out of memory");
    return -1;
  }
  f->fd = open(path, O_RDONLY);
  if (f->fd < 0) {
    snprintf(err, errsz, "%s", strerror(errno));
    free(f);
    return -1;
  }
  struct stat st;
  if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(err, errsz, "%s", S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
    close(f->fd);
    free(f);
    return -1;
  }
  src->read_at = file_read_at;
  src->close = file_close;
  src->ud = f;
  src->size = (uint64_t)st.st_size;
  return 0;
}

struct mem_src {
  const uint8_t *p;
  size_t n;
};

/* The memory image: ud points at the image, size is its length. */
static int image_read_at(void *ud, uint64_t off, void *buf, size_t n, char *err, size_t errsz) {
  const struct mem_src *m = ud;
  if (off > m->n || n > m->n - off) {
    snprintf(err, errsz, "unexpected end of file");
    return -1;
  }
  if (n) memcpy(buf, m->p + off, n);
  return 0;
}

static int image_close(void *ud) {
  free(ud);
  return 0;
}

int nv_pq_source_mem(struct nv_pq_source *src, const void *buf, size_t n) {
  memset(src, 0, sizeof *src);
  struct mem_src *m = malloc(sizeof *m);
  if (m == NULL) return -1;
  src->size = n;
  m->p = buf;
  m->n = n;
  src->read_at = image_read_at;
  src->close = image_close;
  src->ud = m;
  return 0;
}

/* A sparse copy: r[i] = {object offset, length, offset in the local file}. */
struct range_src {
  int fd;
  size_t n;
  uint64_t r[][3];
};

static int range_read_at(void *ud, uint64_t off, void *buf, size_t n, char *err, size_t errsz) {
  const struct range_src *rs = ud;
  uint8_t *out = buf;
  size_t i = 0;
  while (n > 0) {
    while (i < rs->n && rs->r[i][0] + rs->r[i][1] <= off) i++;
    if (i == rs->n || rs->r[i][0] > off) {
      uint64_t gap_end = i < rs->n ? rs->r[i][0] : off + n;
      if (gap_end > off + n) gap_end = off + n;
      snprintf(err, errsz, "bytes %llu-%llu of the object were not fetched (footer-first copy)",
               (unsigned long long)off, (unsigned long long)(gap_end - 1));
      return -1;
    }
    uint64_t in = off - rs->r[i][0], left = rs->r[i][1] - in;
    size_t take = left < n ? (size_t)left : n;
    if (pread_full(rs->fd, out, take, rs->r[i][2] + in, err, errsz) != 0) return -1;
    out += take;
    off += take;
    n -= take;
  }
  return 0;
}

static int range_close(void *ud) {
  struct range_src *rs = ud;
  int rc = close(rs->fd);
  free(rs);
  return rc == 0 ? 0 : -1;
}

int nv_pq_source_ranges(struct nv_pq_source *src, const char *path, uint64_t size,
                        const uint64_t (*ranges)[2], size_t n, char *err, size_t errsz) {
  memset(src, 0, sizeof *src);
  if (n == 0 || n > NV_PQ_MAX_RANGES) {
    snprintf(err, errsz, "between 1 and %d byte ranges expected, got %zu", NV_PQ_MAX_RANGES, n);
    return -1;
  }
  uint64_t total = 0, prev_end = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t off = ranges[i][0], len = ranges[i][1];
    if (len == 0 || off < prev_end || off > size || len > size - off) {
      snprintf(err, errsz, "byte range %zu (offset %llu, %llu bytes) is empty, unsorted, overlapping or "
               "outside the %llu-byte object", i + 1, (unsigned long long)off, (unsigned long long)len,
               (unsigned long long)size);
      return -1;
    }
    prev_end = off + len;
    total += len;
  }
  struct range_src *rs = malloc(sizeof *rs + n * sizeof rs->r[0]);
  if (rs == NULL) {
    snprintf(err, errsz, "out of memory");
    return -1;
  }
  rs->n = n;
  for (size_t i = 0, at = 0; i < n; at += ranges[i][1], i++) {
    rs->r[i][0] = ranges[i][0];
    rs->r[i][1] = ranges[i][1];
    rs->r[i][2] = at;
  }
  rs->fd = open(path, O_RDONLY);
  if (rs->fd < 0) {
    snprintf(err, errsz, "%s", strerror(errno));
    free(rs);
    return -1;
  }
  struct stat st;
  int bad = fstat(rs->fd, &st) != 0;
  if (bad) snprintf(err, errsz, "%s", strerror(errno));
  else if ((bad = !S_ISREG(st.st_mode))) snprintf(err, errsz, "not a regular file");
  else if ((bad = (uint64_t)st.st_size != total))
    snprintf(err, errsz, "the local copy has %llu bytes, the byte ranges %llu",
             (unsigned long long)st.st_size, (unsigned long long)total);
  if (bad) {
    close(rs->fd);
    free(rs);
    return -1;
  }
  src->read_at = range_read_at;
  src->close = range_close;
  src->ud = rs;
  src->size = size;
  src->no_head = !(ranges[0][0] == 0 && ranges[0][1] >= 4);
  return 0;
}

int nv_pq_source_close(struct nv_pq_source *src) {
  int rc = 0;
  if (src->close) rc = src->close(src->ud);
  src->close = NULL;
  src->ud = NULL;
  return rc;
}

/* ---- names -------------------------------------------------------------- */

static const char *const type_names[] = {"BOOLEAN", "INT32",  "INT64",      "INT96",
                                         "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
static const char *const codec_names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                          "BROTLI",       "LZ4",    "ZSTD", "LZ4_RAW"};
static const char *const encoding_names[] = {
    "PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED", "DELTA_BINARY_PACKED",
    "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY", "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};

const char *nv_pq_type_name(int t) { return t >= 0 && t < NV_PQ_NTYPES ? type_names[t] : "UNKNOWN"; }
const char *nv_pq_codec_name(int c) { return c >= 0 && c < NV_PQ_NCODECS ? codec_names[c] : "UNKNOWN"; }
const char *nv_pq_encoding_name(int e) {
  return e >= 0 && e < NV_PQ_NENCODINGS ? encoding_names[e] : "UNKNOWN";
}

/* ---- decoding ----------------------------------------------------------- */

#define FIELDS(t, last, ty, id) for (int16_t last = 0, id = 0; nv_thrift_field(t, &last, &ty, &id);)

static int rd_time_unit(struct nv_thrift *t, int *unit) {
  int ty;
  if (!nv_thrift_struct_begin(t)) return 0;
  FIELDS(t, last, ty, id) {
    if (id >= 1 && id <= 3) *unit = id;
    if (!nv_thrift_skip(t, ty)) return 0;
  }
  return nv_thrift_struct_end(t);
}

static int rd_logical(struct nv_thrift *t, struct nv_pq_node *nd) {
  int ty;
  if (!nv_thrift_struct_begin(t)) return 0;
  FIELDS(t, last, ty, id) {
    if (ty != NV_TT_STRUCT) {
      if (!nv_thrift_skip(t, ty)) return 0;
      continue;
    }
    nd->logical = id;
    if (id == NV_PQ_LT_DECIMAL || id == NV_PQ_LT_TIME || id == NV_PQ_LT_TIMESTAMP ||
        id == NV_PQ_LT_INTEGER) {
      if (!nv_thrift_struct_begin(t)) return 0;
      int fty;
      FIELDS(t, l2, fty, fid) {
        int32_t v;
        int b;
        if (id == NV_PQ_LT_DECIMAL && (fid == 1 || fid == 2)) {
          if (!nv_thrift_i32(t, fty, &v)) return 0;
          if (fid == 1) nd->scale = v;
          else nd->precision = v;
        } else if ((id == NV_PQ_LT_TIME || id == NV_PQ_LT_TIMESTAMP) && fid == 1) {
          if (!nv_thrift_bool(t, fty, &b)) return 0;
          nd->utc = b;
        } else if ((id == NV_PQ_LT_TIME || id == NV_PQ_LT_TIMESTAMP) && fid == 2 &&
                   fty == NV_TT_STRUCT) {
          if (!rd_time_unit(t, &nd->unit)) return 0;
        } else if (id == NV_PQ_LT_INTEGER && fid == 1) {
          if (!nv_thrift_i32(t, fty, &v)) return 0;
          nd->bit_width = v;
        } else if (id == NV_PQ_LT_INTEGER && fid == 2) {
          if (!nv_thrift_bool(t, fty, &b)) return 0;
          nd->is_signed = b;
        } else if (!nv_thrift_skip(t, fty)) {
          return 0;
        }
      }
      if (!nv_thrift_struct_end(t)) return 0;
    } else if (!nv_thrift_skip(t, ty)) {
      return 0;
    }
  }
  return nv_thrift_struct_end(t);
}

static int rd_schema_element(struct nv_thrift *t, struct nv_pq_node *nd) {
  int ty;
  int has_name = 0;
  memset(nd, 0, sizeof *nd);
  nd->type = -1;
  nd->converted = -1;
  nd->parent = -1;
  if (!nv_thrift_struct_begin(t)) return 0;
  FIELDS(t, last, ty, id) {
    int32_t v;
    switch (id) {
    case 1:
      if (!nv_thrift_i32(t, ty, &v)) return 0;
      if (v < 0 || v >= NV_PQ_NTYPES) return nv_thrift_fail(t, "unknown physical type");
      nd->type = v;
      break;
    case 2:
      if (!nv_thrift_i32(t, ty, &nd->type_length)) return 0;
      break;
    case 3:
      if (!nv_thrift_i32(t, ty, &v)) return 0;
      if (v < 0 || v > 2) return nv_thrift_fail(t, "unknown repetition type");
      nd->repetition = v;
      break;
    case 4:
      if (!nv_thrift_binary(t, ty, &nd->name.p, &nd->name.n)) return 0;
      has_name = 1;
      break;
    case 5:
      if (!nv_thrift_i32(t, ty, &nd->num_children)) return 0;
      if (nd->num_children < 0) return nv_thrift_fail(t, "negative num_children");
      break;
    case 6:
      if (!nv_thrift_i32(t, ty, &v)) return 0;
      nd->converted = v;
      break;
    case 7:
      if (!nv_thrift_i32(t, ty, &nd->scale)) return 0;
      break;
    case 8:
      if (!nv_thrift_i32(t, ty, &nd->precision)) return 0;
      break;
    case 10:
      if (ty != NV_TT_STRUCT) return nv_thrift_fail(t, "bad logicalType");
      if (!rd_logical(t, nd)) return 0;
      break;
    default:
      if (!nv_thrift_skip(t, ty)) return 0;
    }
  }
  if (!has_name && !t->err) return nv_thrift_fail(t, "schema element without a name");
  return nv_thrift_struct_end(t);
}

static int rd_stats(struct nv_thrift *t, struct nv_pq_stats *s) {
  int ty;
  struct nv_pq_bytes omin = {0}, omax = {0};
  int has_omin = 0, has_omax = 0;
  if (!nv_thrift_struct_begin(t)) return 0;
  FIELDS(t, last, ty, id) {
    switch (id) {
    case 1:
      if (!nv_thrift_binary(t, ty, &omax.p, &omax.n)) return 0;
      has_omax = 1;
      break;
    case 2:
      if (!nv_thrift_binary(t, ty, &omin.p, &omin.n)) return 0;
      has_omin = 1;
      break;
    case 3:
      if (!nv_thrift_i64(t, ty, &s->null_count)) return 0;
      s->has_null_count = 1;
      break;
    case 4:
      if (!nv_thrift_i64(t, ty, &s->distinct_count)) return 0;
      s->has_distinct = 1;
      break;
    case 5:
      if (!nv_thrift_binary(t, ty, &s->max.p, &s->max.n)) return 0;
      s->has_max = 1;
      break;
    case 6:
      if (!nv_thrift_binary(t, ty, &s->min.p, &s->min.n)) return 0;
      s->has_min = 1;
      break;
    default:
      if (!nv_thrift_skip(t, ty)) return 0;
    }
  }
  if (!s->has_min && !s->has_max && (has_omin || has_omax)) {
    s->legacy = 1;
    s->min = omin;
    s->max = omax;
    s->has_min = has_omin;
    s->has_max = has_omax;
  }
  return nv_thrift_struct_end(t);
}

static int rd_column_meta(struct nv_thrift *t, struct nv_pq_chunk *c) {
  int ty, e;
  uint32_t n;
  if (!nv_thrift_struct_begin(t)) return 0;
  c->has_meta = 1;
  FIELDS(t, last, ty, id) {
    int32_t v;
    switch (id) {
    case 1:
      if (!nv_thrift_i32(t, ty, &v)) return 0;
      if (v < 0 || v >= NV_PQ_NTYPES) return nv_thrift_fail(t, "unknown physical type");
      c->type = v;
      break;
    case 2:
      if (!nv_thrift_list(t, ty, &e, &n)) return 0;
      for (uint32_t i = 0; i < n; i++) {
        if (!nv_thrift_i32(t, e, &v)) return 0;
        c->encodings |= (v >= 0 && v < NV_PQ_NENCODINGS) ? 1u << v : 1u << 31;
      }
      if (!nv_thrift_list_end(t)) return 0;
      break;
    case 4:
      if (!nv_thrift_i32(t, ty, &v)) return 0;
      c->codec = v;
      break;
    case 5:
      if (!nv_thrift_i64(t, ty, &c->num_values)) return 0;
      break;
    case 6:
      if (!nv_thrift_i64(t, ty, &c->total_uncompressed)) return 0;
      break;
    case 7:
      if (!nv_thrift_i64(t, ty, &c->total_compressed)) return 0;
      break;
    case 9:
      if (!nv_thrift_i64(t, ty, &c->data_page_offset)) return 0;
      break;
    case 11:
      if (!nv_thrift_i64(t, ty, &c->dictionary_page_offset)) return 0;
      break;
    case 12:
      if (ty != NV_TT_STRUCT) return nv_thrift_fail(t, "bad statistics");
      if (!rd_stats(t, &c->st)) return 0;
      break;
    default:
      if (!nv_thrift_skip(t, ty)) return 0;
    }
  }
  return nv_thrift_struct_end(t);
}

static int rd_chunk(struct nv_thrift *t, struct nv_pq_chunk *c) {
  int ty;
  memset(c, 0, sizeof *c);
  c->data_page_offset = -1;
  c->dictionary_page_offset = -1;
  c->type = -1;
  if (!nv_thrift_struct_begin(t)) return 0;
  FIELDS(t, last, ty, id) {
    if (id == 1 && ty == NV_TT_BINARY) {
      c->external = 1;
      if (!nv_thrift_skip(t, ty)) return 0;
    } else if (id == 3 && ty == NV_TT_STRUCT) {
      if (!rd_column_meta(t, c)) return 0;
    } else if (!nv_thrift_skip(t, ty)) {
      return 0;
    }
  }
  return nv_thrift_struct_end(t);
}

/* Row groups: the chunk arrays are allocated here and owned by m. */
/* Opens a list of structs (field type ty) and allocates its *n elements of
 * size bytes, zeroed; NULL with t failed (`bad`, a static message, when the
 * elements are not structs; "out of memory"). */
static void *struct_list(struct nv_thrift *t, int ty, const char *bad, uint32_t *n, size_t size) {
  int e;
  if (!nv_thrift_list(t, ty, &e, n)) return NULL;
  if (e != NV_TT_STRUCT) return nv_thrift_fail(t, bad), NULL;
  void *p = calloc(*n ? *n : 1, size);
  if (p == NULL) nv_thrift_fail(t, "out of memory");
  return p;
}

static int rd_row_group(struct nv_thrift *t, struct nv_pq_meta *m, struct nv_pq_row_group *g) {
  int ty;
  uint32_t n;
  int seen_columns = 0;
  if (!nv_thrift_struct_begin(t)) return 0;
  FIELDS(t, last, ty, id) {
    if (id == 1) {
      if (seen_columns++) return nv_thrift_fail(t, "duplicate column chunk list");
      g->chunks = struct_list(t, ty, "bad column chunk list", &n, sizeof *g->chunks);
      if (g->chunks == NULL) return 0;
      if (n != m->ncolumns)
        return nv_thrift_fail(t, "row group's column count differs from the schema's leaves");
      for (uint32_t i = 0; i < n; i++)
        if (!rd_chunk(t, &g->chunks[i])) return 0;
      if (!nv_thrift_list_end(t)) return 0;
    } else if (id == 2) {
      if (!nv_thrift_i64(t, ty, &g->total_byte_size)) return 0;
    } else if (id == 3) {
      if (!nv_thrift_i64(t, ty, &g->num_rows)) return 0;
    } else if (!nv_thrift_skip(t, ty)) {
      return 0;
    }
  }
  if (!seen_columns && !t->err) return nv_thrift_fail(t, "row group without columns");
  if (g->num_rows < 0 && !t->err) return nv_thrift_fail(t, "negative row count");
  return nv_thrift_struct_end(t);
}

static int rd_kv(struct nv_thrift *t, struct nv_pq_kv *kv) {
  int ty;
  memset(kv, 0, sizeof *kv);
  if (!nv_thrift_struct_begin(t)) return 0;
  FIELDS(t, last, ty, id) {
    if (id == 1) {
      if (!nv_thrift_binary(t, ty, &kv->key.p, &kv->key.n)) return 0;
    } else if (id == 2) {
      if (!nv_thrift_binary(t, ty, &kv->value.p, &kv->value.n)) return 0;
      kv->has_value = 1;
    } else if (!nv_thrift_skip(t, ty)) {
      return 0;
    }
  }
  return nv_thrift_struct_end(t);
}

/* Walks the schema list (depth-first, children counted) into leaves. */
static int build_columns(struct nv_pq_meta *m, char *err, size_t errsz) {
  if (m->nnodes == 0) {
    snprintf(err, errsz, "empty schema");
    return -1;
  }
  size_t nleaves = 0;
  for (size_t i = 1; i < m->nnodes; i++)
    if (m->nodes[i].num_children == 0) nleaves++;
  m->columns = calloc(nleaves ? nleaves : 1, sizeof *m->columns);
  if (m->columns == NULL) {
    snprintf(err, errsz, "out of memory");
    return -1;
  }
  /* stack of open groups: node index and children still expected */
  int stack[NV_PQ_MAX_DEPTH + 1];
  int32_t left[NV_PQ_MAX_DEPTH + 1];
  int sp = 0;
  stack[0] = 0;
  left[0] = m->nodes[0].num_children;
  m->nodes[0].repetition = NV_PQ_REQUIRED;
  if ((size_t)m->nodes[0].num_children > m->nnodes - 1) {
    snprintf(err, errsz, "schema element '%.*s' claims %ld children, more than remain",
             (int)(m->nodes[0].name.n > 64 ? 64 : m->nodes[0].name.n),
             (const char *)m->nodes[0].name.p, (long)m->nodes[0].num_children);
    return -1;
  }
  size_t i = 1;
  for (; i < m->nnodes; i++) {
    while (sp >= 0 && left[sp] == 0) sp--;
    if (sp < 0) break;
    struct nv_pq_node *nd = &m->nodes[i];
    nd->parent = stack[sp];
    left[sp]--;
    if (nd->num_children > 0) {
      if (sp + 1 >= NV_PQ_MAX_DEPTH) {
        snprintf(err, errsz, "schema nesting deeper than %d", NV_PQ_MAX_DEPTH);
        return -1;
      }
      if ((size_t)nd->num_children > m->nnodes - i - 1) {
        snprintf(err, errsz, "schema element '%.*s' claims %ld children, more than remain",
                 (int)(nd->name.n > 64 ? 64 : nd->name.n), (const char *)nd->name.p,
                 (long)nd->num_children);
        return -1;
      }
      sp++;
      stack[sp] = (int)i;
      left[sp] = nd->num_children;
      continue;
    }
    if (nd->type < 0) {
      snprintf(err, errsz, "schema leaf '%.*s' has no physical type",
               (int)(nd->name.n > 64 ? 64 : nd->name.n), (const char *)nd->name.p);
      return -1;
    }
    struct nv_pq_column *c = &m->columns[m->ncolumns];
    c->node = (int)i;
    c->type = nd->type;
    c->type_length = nd->type_length;
    if (c->type == NV_PQ_FIXED && (c->type_length <= 0 || c->type_length > (1 << 24))) {
      snprintf(err, errsz, "column '%.*s': bad FIXED_LEN_BYTE_ARRAY length %ld",
               (int)(nd->name.n > 64 ? 64 : nd->name.n), (const char *)nd->name.p,
               (long)c->type_length);
      return -1;
    }
    /* the path from the top: nodes along the stack, then the leaf */
    size_t len = 0;
    int chain[NV_PQ_MAX_DEPTH + 1], nchain = 0;
    for (int k = 1; k <= sp; k++) chain[nchain++] = stack[k];
    chain[nchain++] = (int)i;
    for (int k = 0; k < nchain; k++) len += m->nodes[chain[k]].name.n + 1;
    c->path = malloc(len ? len : 1);
    if (c->path == NULL) {
      snprintf(err, errsz, "out of memory");
      return -1;
    }
    m->ncolumns++;
    size_t o = 0;
    for (int k = 0; k < nchain; k++) {
      const struct nv_pq_node *x = &m->nodes[chain[k]];
      if (k) c->path[o++] = '.';
      memcpy(c->path + o, x->name.p, x->name.n);
      o += x->name.n;
      if (x->repetition != NV_PQ_REQUIRED) {
        c->level_rep[c->nlevels++] = (uint8_t)x->repetition;
        c->max_def++;
        if (x->repetition == NV_PQ_REPEATED) c->max_rep++;
      }
    }
    c->path[o] = '\0';
    c->path_len = o;
  }
  while (sp >= 0 && left[sp] == 0) sp--;
  if (sp >= 0 || i != m->nnodes) {
    snprintf(err, errsz, "schema tree does not match its child counts");
    return -1;
  }
  return 0;
}

void nv_pq_meta_free(struct nv_pq_meta *m) {
  for (size_t i = 0; i < m->ncolumns; i++) free(m->columns[i].path);
  free(m->columns);
  for (size_t i = 0; i < m->nrow_groups; i++) free(m->row_groups[i].chunks);
  free(m->row_groups);
  free(m->kv);
  free(m->nodes);
  free(m->footer);
  memset(m, 0, sizeof *m);
}

static int parse_file_meta(struct nv_pq_meta *m, struct nv_thrift *t, char *err, size_t errsz) {
  int ty;
  uint32_t n;
  int have_schema = 0, have_rg = 0;
  /* the schema comes first (field 2) in every writer we know, but row
   * groups need the leaf count: decode row groups in a second pass. */
  const uint8_t *rg_at = NULL;
  int rg_type = 0;
  if (!nv_thrift_struct_begin(t)) goto thrift;
  FIELDS(t, last, ty, id) {
    switch (id) {
    case 1:
      if (!nv_thrift_i32(t, ty, &m->version)) goto thrift;
      break;
    case 2:
      if (have_schema++) return nv_thrift_fail(t, "duplicate schema"), -1;
      m->nodes = struct_list(t, ty, "bad schema list", &n, sizeof *m->nodes);
      if (m->nodes == NULL) goto thrift;
      for (uint32_t i = 0; i < n; i++) {
        if (!rd_schema_element(t, &m->nodes[i])) goto thrift;
        m->nnodes++;
      }
      if (!nv_thrift_list_end(t)) goto thrift;
      break;
    case 3:
      if (!nv_thrift_i64(t, ty, &m->num_rows)) goto thrift;
      break;
    case 4:
      if (have_rg++) {
        nv_thrift_fail(t, "duplicate row group list");
        goto thrift;
      }
      rg_at = t->p;
      rg_type = ty;
      if (!nv_thrift_skip(t, ty)) goto thrift;
      break;
    case 5:
      if (m->kv) {
        nv_thrift_fail(t, "duplicate key-value list");
        goto thrift;
      }
      m->kv = struct_list(t, ty, "bad key-value list", &n, sizeof *m->kv);
      if (m->kv == NULL) goto thrift;
      for (uint32_t i = 0; i < n; i++) {
        if (!rd_kv(t, &m->kv[i])) goto thrift;
        m->nkv++;
      }
      if (!nv_thrift_list_end(t)) goto thrift;
      break;
    case 6:
      if (!nv_thrift_binary(t, ty, &m->created_by.p, &m->created_by.n)) goto thrift;
      m->has_created_by = 1;
      break;
    default:
      if (!nv_thrift_skip(t, ty)) goto thrift;
    }
  }
  if (t->err) goto thrift;
  nv_thrift_struct_end(t);
  if (!have_schema) {
    snprintf(err, errsz, "FileMetaData has no schema");
    return -1;
  }
  if (m->num_rows < 0) {
    snprintf(err, errsz, "negative row count");
    return -1;
  }
  if (build_columns(m, err, errsz) != 0) return -1;
  if (rg_at) {
    struct nv_thrift rt = *t;
    rt.p = rg_at;
    rt.depth = 1;
    rt.err = NULL;
    m->row_groups = struct_list(&rt, rg_type, "bad row group list", &n, sizeof *m->row_groups);
    if (m->row_groups == NULL) goto rthrift;
    for (uint32_t i = 0; i < n; i++) {
      m->nrow_groups++;
      if (!rd_row_group(&rt, m, &m->row_groups[i])) goto rthrift;
    }
    return 0;
  rthrift:
    snprintf(err, errsz, "corrupt footer (row group %zu): %s", m->nrow_groups, rt.err);
    return -1;
  }
  return 0;
thrift:
  snprintf(err, errsz, "corrupt footer: %s", t->err ? t->err : "bad FileMetaData");
  return -1;
}

int nv_pq_meta_parse(struct nv_pq_meta *m, const void *buf, size_t n, char *err, size_t errsz) {
  memset(m, 0, sizeof *m);
  m->footer = malloc(n ? n : 1);
  if (m->footer == NULL) {
    snprintf(err, errsz, "out of memory");
    return -1;
  }
  if (n) memcpy(m->footer, buf, n);
  m->footer_len = n;
  struct nv_thrift t;
  nv_thrift_init(&t, m->footer, n);
  if (parse_file_meta(m, &t, err, errsz) != 0) {
    nv_pq_meta_free(m);
    return -1;
  }
  return 0;
}

int nv_pq_meta_read(struct nv_pq_meta *m, const struct nv_pq_source *src, char *err,
                    size_t errsz) {
  memset(m, 0, sizeof *m);
  uint8_t tail[8], head[4];
  char ioerr[128];
  if (src->size < 12) {
    snprintf(err, errsz, "not a Parquet file (only %llu bytes)", (unsigned long long)src->size);
    return -1;
  }
  if (src->no_head) memcpy(head, "PAR1", 4);
  if ((!src->no_head && src->read_at(src->ud, 0, head, 4, ioerr, sizeof ioerr) != 0) ||
      src->read_at(src->ud, src->size - 8, tail, 8, ioerr, sizeof ioerr) != 0) {
    snprintf(err, errsz, "%s", ioerr);
    return -1;
  }
  if (memcmp(tail + 4, "PARE", 4) == 0) {
    snprintf(err, errsz, "encrypted Parquet footer (PARE) is not supported");
    return -1;
  }
  if (memcmp(head, "PAR1", 4) != 0 || memcmp(tail + 4, "PAR1", 4) != 0) {
    snprintf(err, errsz, "not a Parquet file (bad magic bytes)");
    return -1;
  }
  uint32_t len = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 |
                 (uint32_t)tail[3] << 24;
  if ((uint64_t)len > src->size - 12) {
    snprintf(err, errsz, "corrupt footer length %lu (file has %llu bytes)", (unsigned long)len,
             (unsigned long long)src->size);
    return -1;
  }
  if (len > NV_PQ_MAX_FOOTER) {
    snprintf(err, errsz, "footer of %lu bytes exceeds the %lu-byte limit", (unsigned long)len,
             (unsigned long)NV_PQ_MAX_FOOTER);
    return -1;
  }
  uint8_t *buf = malloc(len ? len : 1);
  if (buf == NULL) {
    snprintf(err, errsz, "out of memory");
    return -1;
  }
  if (src->read_at(src->ud, src->size - 8 - len, buf, len, ioerr, sizeof ioerr) != 0) {
    free(buf);
    snprintf(err, errsz, "%s", ioerr);
    return -1;
  }
  int rc = nv_pq_meta_parse(m, buf, len, err, errsz);
  free(buf);
  if (rc != 0) return -1;
  m->file_size = src->size;
  /* chunks must lie inside the data area [4, size - 8 - len) */
  uint64_t data_end = src->size - 8 - len;
  for (size_t g = 0; g < m->nrow_groups; g++)
    for (size_t c = 0; c < m->ncolumns; c++) {
      const struct nv_pq_chunk *ch = &m->row_groups[g].chunks[c];
      if (!ch->has_meta || ch->external) continue;
      int64_t start = ch->data_page_offset;
      if (ch->dictionary_page_offset > 0 && ch->dictionary_page_offset < start)
        start = ch->dictionary_page_offset;
      if (start < 4 || ch->total_compressed < 0 || (uint64_t)start > data_end ||
          (uint64_t)ch->total_compressed > data_end - (uint64_t)start) {
        snprintf(err, errsz,
                 "column chunk '%s' in row group %zu points outside the file (offset %lld, %lld bytes)",
                 m->columns[c].path, g, (long long)start, (long long)ch->total_compressed);
        nv_pq_meta_free(m);
        return -1;
      }
    }
  return 0;
}

/* ---- type names --------------------------------------------------------- */

static const char *unit_name(int u) { return u == NV_PQ_MILLIS ? "ms" : u == NV_PQ_NANOS ? "ns" : "us"; }

void nv_pq_logical_name(const struct nv_pq_meta *m, const struct nv_pq_column *c, char *buf,
                        size_t n) {
  const struct nv_pq_node *nd = &m->nodes[c->node];
  buf[0] = '\0';
  switch (nd->logical) {
  case NV_PQ_LT_STRING: snprintf(buf, n, "string"); return;
  case NV_PQ_LT_ENUM: snprintf(buf, n, "enum"); return;
  case NV_PQ_LT_DECIMAL: snprintf(buf, n, "decimal(%ld,%ld)", (long)nd->precision, (long)nd->scale); return;
  case NV_PQ_LT_DATE: snprintf(buf, n, "date"); return;
  case NV_PQ_LT_TIME: snprintf(buf, n, "time[%s%s]", unit_name(nd->unit), nd->utc ? ", UTC" : ""); return;
  case NV_PQ_LT_TIMESTAMP:
    snprintf(buf, n, "timestamp[%s%s]", unit_name(nd->unit), nd->utc ? ", UTC" : "");
    return;
  case NV_PQ_LT_INTEGER:
    snprintf(buf, n, "%sint%d", nd->is_signed ? "" : "u", nd->bit_width);
    return;
  case NV_PQ_LT_UNKNOWN: snprintf(buf, n, "null"); return;
  case NV_PQ_LT_JSON: snprintf(buf, n, "json"); return;
  case NV_PQ_LT_BSON: snprintf(buf, n, "bson"); return;
  case NV_PQ_LT_UUID: snprintf(buf, n, "uuid"); return;
  case NV_PQ_LT_FLOAT16: snprintf(buf, n, "float16"); return;
  case NV_PQ_LT_VARIANT: snprintf(buf, n, "variant"); return;
  case NV_PQ_LT_GEOMETRY: snprintf(buf, n, "geometry"); return;
  case NV_PQ_LT_GEOGRAPHY: snprintf(buf, n, "geography"); return;
  default: break;
  }
  switch (nd->converted) {
  case NV_PQ_CT_UTF8: snprintf(buf, n, "string"); break;
  case NV_PQ_CT_ENUM: snprintf(buf, n, "enum"); break;
  case NV_PQ_CT_DECIMAL: snprintf(buf, n, "decimal(%ld,%ld)", (long)nd->precision, (long)nd->scale); break;
  case NV_PQ_CT_DATE: snprintf(buf, n, "date"); break;
  case NV_PQ_CT_TIME_MILLIS: snprintf(buf, n, "time[ms, UTC]"); break;
  case NV_PQ_CT_TIME_MICROS: snprintf(buf, n, "time[us, UTC]"); break;
  case NV_PQ_CT_TIMESTAMP_MILLIS: snprintf(buf, n, "timestamp[ms, UTC]"); break;
  case NV_PQ_CT_TIMESTAMP_MICROS: snprintf(buf, n, "timestamp[us, UTC]"); break;
  case NV_PQ_CT_UINT_8: snprintf(buf, n, "uint8"); break;
  case NV_PQ_CT_UINT_16: snprintf(buf, n, "uint16"); break;
  case NV_PQ_CT_UINT_32: snprintf(buf, n, "uint32"); break;
  case NV_PQ_CT_UINT_64: snprintf(buf, n, "uint64"); break;
  case NV_PQ_CT_INT_8: snprintf(buf, n, "int8"); break;
  case NV_PQ_CT_INT_16: snprintf(buf, n, "int16"); break;
  case NV_PQ_CT_INT_32: snprintf(buf, n, "int32"); break;
  case NV_PQ_CT_INT_64: snprintf(buf, n, "int64"); break;
  case NV_PQ_CT_JSON: snprintf(buf, n, "json"); break;
  case NV_PQ_CT_BSON: snprintf(buf, n, "bson"); break;
  case NV_PQ_CT_INTERVAL: snprintf(buf, n, "interval"); break;
  default: break;
  }
}

static const char *scalar_type(const struct nv_pq_meta *m, const struct nv_pq_column *c) {
  const struct nv_pq_node *nd = &m->nodes[c->node];
  switch (nd->logical) {
  case NV_PQ_LT_STRING: case NV_PQ_LT_ENUM: return "string";
  case NV_PQ_LT_DECIMAL: return "decimal";
  case NV_PQ_LT_DATE: return "date";
  case NV_PQ_LT_TIME: return "time";
  case NV_PQ_LT_TIMESTAMP: return "timestamp";
  case NV_PQ_LT_INTEGER: return "integer";
  case NV_PQ_LT_JSON: return "json";
  case NV_PQ_LT_UUID: return "uuid";
  case NV_PQ_LT_FLOAT16: return "decimal";
  case NV_PQ_LT_BSON: case NV_PQ_LT_VARIANT: case NV_PQ_LT_GEOMETRY: case NV_PQ_LT_GEOGRAPHY:
    return "binary";
  default: break;
  }
  switch (nd->converted) {
  case NV_PQ_CT_UTF8: case NV_PQ_CT_ENUM: return "string";
  case NV_PQ_CT_DECIMAL: return "decimal";
  case NV_PQ_CT_DATE: return "date";
  case NV_PQ_CT_TIME_MILLIS: case NV_PQ_CT_TIME_MICROS: return "time";
  case NV_PQ_CT_TIMESTAMP_MILLIS: case NV_PQ_CT_TIMESTAMP_MICROS: return "timestamp";
  case NV_PQ_CT_JSON: return "json";
  case NV_PQ_CT_BSON: case NV_PQ_CT_INTERVAL: return "binary";
  default: break;
  }
  if (c->type >= NV_PQ_INT32 && c->type <= NV_PQ_INT64 && nd->converted >= NV_PQ_CT_UINT_8 &&
      nd->converted <= NV_PQ_CT_INT_64)
    return "integer";
  switch (c->type) {
  case NV_PQ_BOOLEAN: return "boolean";
  case NV_PQ_INT32: case NV_PQ_INT64: return "integer";
  case NV_PQ_INT96: return "timestamp";
  case NV_PQ_FLOAT: case NV_PQ_DOUBLE: return "decimal";
  default: return "binary";
  }
}

void nv_pq_data_type(const struct nv_pq_meta *m, const struct nv_pq_column *c, char *buf,
                     size_t n) {
  const char *s = scalar_type(m, c);
  if (c->max_rep == 0) {
    snprintf(buf, n, "%s", s);
    return;
  }
  int o = 0;
  for (int i = 0; i < c->max_rep && o >= 0 && (size_t)o < n; i++)
    o += snprintf(buf + o, n - (size_t)o, "array<");
  if (o >= 0 && (size_t)o < n) o += snprintf(buf + o, n - (size_t)o, "%s", s);
  for (int i = 0; i < c->max_rep && o >= 0 && (size_t)o < n; i++)
    o += snprintf(buf + o, n - (size_t)o, ">");
}

/* ---- page headers ------------------------------------------------------- */

static int rd_data_page_header(struct nv_thrift *t, struct nv_pq_page_header *h, int v2) {
  int ty;
  if (!nv_thrift_struct_begin(t)) return 0;
  FIELDS(t, last, ty, id) {
    int32_t v;
    int b;
    if (ty == NV_TT_TRUE || ty == NV_TT_FALSE) {
      if (!nv_thrift_bool(t, ty, &b)) return 0;
      if (v2 && id == 7) h->is_compressed = b;
      continue;
    }
    if (ty != NV_TT_I32 && ty != NV_TT_I16 && ty != NV_TT_I8 && ty != NV_TT_I64) {
      if (!nv_thrift_skip(t, ty)) return 0;
      continue;
    }
    if (!nv_thrift_i32(t, ty, &v)) return 0;
    if (!v2) {
      if (id == 1) h->num_values = v;
      else if (id == 2) h->encoding = v;
      else if (id == 3) h->def_encoding = v;
      else if (id == 4) h->rep_encoding = v;
    } else {
      if (id == 1) h->num_values = v;
      else if (id == 2) h->num_nulls = v;
      else if (id == 3) h->num_rows = v;
      else if (id == 4) h->encoding = v;
      else if (id == 5) h->def_length = v;
      else if (id == 6) h->rep_length = v;
    }
  }
  return nv_thrift_struct_end(t);
}

static int rd_dict_page_header(struct nv_thrift *t, struct nv_pq_page_header *h) {
  int ty;
  if (!nv_thrift_struct_begin(t)) return 0;
  FIELDS(t, last, ty, id) {
    if (id == 1) {
      if (!nv_thrift_i32(t, ty, &h->num_values)) return 0;
    } else if (id == 2) {
      if (!nv_thrift_i32(t, ty, &h->encoding)) return 0;
    } else if (!nv_thrift_skip(t, ty)) {
      return 0;
    }
  }
  return nv_thrift_struct_end(t);
}

long nv_pq_page_header(struct nv_pq_page_header *h, const void *buf, size_t n, char *err,
                       size_t errsz) {
  struct nv_thrift t;
  int ty;
  int has_type = 0;
  memset(h, 0, sizeof *h);
  h->is_compressed = 1;
  h->uncompressed_size = h->compressed_size = -1;
  nv_thrift_init(&t, buf, n);
  if (!nv_thrift_struct_begin(&t)) goto fail;
  FIELDS(&t, last, ty, id) {
    switch (id) {
    case 1:
      if (!nv_thrift_i32(&t, ty, &h->type)) goto fail;
      has_type = 1;
      break;
    case 2:
      if (!nv_thrift_i32(&t, ty, &h->uncompressed_size)) goto fail;
      break;
    case 3:
      if (!nv_thrift_i32(&t, ty, &h->compressed_size)) goto fail;
      break;
    case 5:
      if (ty != NV_TT_STRUCT || !rd_data_page_header(&t, h, 0)) goto fail;
      h->has_data = 1;
      break;
    case 7:
      if (ty != NV_TT_STRUCT || !rd_dict_page_header(&t, h)) goto fail;
      h->has_dict = 1;
      break;
    case 8:
      if (ty != NV_TT_STRUCT || !rd_data_page_header(&t, h, 1)) goto fail;
      h->has_v2 = 1;
      break;
    default:
      if (!nv_thrift_skip(&t, ty)) goto fail;
    }
  }
  if (t.err) goto fail;
  if (!has_type || h->uncompressed_size < 0 || h->compressed_size < 0) {
    snprintf(err, errsz, "corrupt page header (missing type or sizes)");
    return -1;
  }
  if ((h->type == NV_PQ_DATA_PAGE && !h->has_data) ||
      (h->type == NV_PQ_DATA_PAGE_V2 && !h->has_v2) ||
      (h->type == NV_PQ_DICTIONARY_PAGE && !h->has_dict)) {
    snprintf(err, errsz, "corrupt page header (type %ld without its header)", (long)h->type);
    return -1;
  }
  if (h->num_values < 0 || h->num_nulls < 0 || h->def_length < 0 || h->rep_length < 0) {
    snprintf(err, errsz, "corrupt page header (negative count)");
    return -1;
  }
  return (long)(t.p - (const uint8_t *)buf);
fail:
  if (t.err && strcmp(t.err, "truncated Thrift data") == 0) return 0;
  if (t.err && strstr(t.err, "runs past the end")) return 0;
  if (t.err && strstr(t.err, "exceeds the data")) return 0;
  snprintf(err, errsz, "corrupt page header: %s", t.err ? t.err : "bad structure");
  return -1;
}

/* ---- the Parquet reader's sniff score (reader.h) ----------------------- */

int nv_pq_sniff_score(const unsigned char *buf, size_t n, int eof, int hint) {
  (void)eof;
  (void)hint;
  return n >= 4 && memcmp(buf, "PAR1", 4) == 0 ? 100 : 0;
}
