/* fuzz_parquet.c - libFuzzer target for the Parquet layers: the input is a
 * file image read through the footer decoder and, when that succeeds,
 * every column chunk's pages; it is also read as one column chunk of a
 * column whose type, levels and codec come from its first bytes, and as a
 * page header. Must never crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "readers/parquet_meta.h"
#include "readers/parquet_pages.h"

static int count(void *ud, const struct nv_pq_value *v, int def, int rep) {
  uint64_t *n = ud;
  if (v && v->s && v->n) *n += v->s[v->n - 1];
  *n += (uint64_t)(def + rep);
  return ++n[1] > 200000 ? 1 : 0; /* bound the work per input */
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  struct nv_pq_source src;
  char err[NV_PQ_ERRSZ];
  uint64_t acc[2] = {0, 0};
  if (nv_pq_source_mem(&src, d, n) != 0) return 0;
  struct nv_pq_meta m;
  if (nv_pq_meta_read(&m, &src, err, sizeof err) == 0) {
    char buf[256];
    for (size_t c = 0; c < m.ncolumns; c++) {
      nv_pq_logical_name(&m, &m.columns[c], buf, sizeof buf);
      nv_pq_data_type(&m, &m.columns[c], buf, sizeof buf);
    }
    for (size_t g = 0; g < m.nrow_groups && g < 4; g++)
      for (size_t c = 0; c < m.ncolumns && c < 16; c++) {
        struct nv_pq_chunk_reader *r = nv_pq_chunk_open(&src, &m.columns[c], &m.row_groups[g].chunks[c]);
        if (r == NULL) continue;
        acc[1] = 0;
        (void)nv_pq_chunk_read(r, count, acc);
        nv_pq_chunk_free(r);
      }
    nv_pq_meta_free(&m);
  }
  if (n >= 4) { /* the rest as one column chunk */
    struct nv_pq_column col;
    struct nv_pq_chunk ch;
    memset(&col, 0, sizeof col);
    memset(&ch, 0, sizeof ch);
    col.type = d[0] % NV_PQ_NTYPES;
    col.type_length = 1 + d[1] % 20;
    col.max_def = d[1] >> 6;
    col.max_rep = (d[1] >> 4) & 3;
    if (col.max_rep > col.max_def) col.max_rep = col.max_def;
    col.nlevels = col.max_def;
    for (int k = 0; k < col.nlevels; k++) col.level_rep[k] = k < col.max_rep ? NV_PQ_REPEATED : NV_PQ_OPTIONAL;
    ch.has_meta = 1;
    ch.codec = d[2] % NV_PQ_NCODECS;
    ch.num_values = d[3] * 7;
    ch.data_page_offset = 4;
    ch.dictionary_page_offset = -1;
    ch.total_compressed = (int64_t)n - 4;
    struct nv_pq_chunk_reader *r = nv_pq_chunk_open(&src, &col, &ch);
    if (r) {
      acc[1] = 0;
      (void)nv_pq_chunk_read(r, count, acc);
      nv_pq_chunk_free(r);
    }
    struct nv_pq_page_header h;
    (void)nv_pq_page_header(&h, d + 4, n - 4, err, sizeof err);
  }
  nv_pq_source_close(&src);
  return (int)(acc[0] & 0);
}
