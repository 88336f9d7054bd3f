/* xmllist.h - object-store listing and error documents (pure C, expat).
 *
 * Reads the three XML documents an object store answers a listing with:
 *   S3 ListObjectsV2   <ListBucketResult> … <Contents><Key/><Size/>
 *                      <LastModified/><ETag/></Contents> … <IsTruncated/>
 *                      <NextContinuationToken/>
 *   Azure List Blobs   <EnumerationResults> <Blobs><Blob><Name/><Properties>
 *                      <Content-Length/><Last-Modified/><Etag/></Properties>
 *                      </Blob></Blobs> <NextMarker/>
 *   either's error     <Error><Code/><Message/></Error>
 * into one flat result. Untrusted input: every text field is bounded
 * (NV_XMLLIST_MAX_TEXT), the entry count is bounded (NV_XMLLIST_MAX_ENTRIES),
 * DOCTYPEs (and with them entity expansion) are refused. */
#ifndef NV_XMLLIST_H
#define NV_XMLLIST_H

#include <stddef.h>
#include <stdint.h>

#define NV_XMLLIST_MAX_TEXT 8192
#define NV_XMLLIST_MAX_ENTRIES 100000

enum nv_xmllist_kind { NV_XMLLIST_S3 = 1, NV_XMLLIST_AZURE, NV_XMLLIST_ERROR };

struct nv_xmllist_entry {
  char *key; /* NUL-terminated; key_len excludes the NUL */
  size_t key_len;
  char *etag; /* NULL when absent */
  size_t etag_len;
  int64_t size;  /* -1 when absent or unreadable */
  int64_t mtime; /* epoch seconds, INT64_MIN when absent or unreadable */
};

struct nv_xmllist {
  int kind;
  struct nv_xmllist_entry *items;
  size_t n, cap;
  char *next; /* continuation token or NextMarker; NULL when none */
  size_t next_len;
  int truncated; /* S3 IsTruncated; Azure: a non-empty NextMarker */
  char *code, *message; /* <Error> fields, NULL when absent */
};

void nv_xmllist_init(struct nv_xmllist *l);
void nv_xmllist_free(struct nv_xmllist *l);

/* Parses xml[0..n) into l (initialised by the caller). Returns 0, or -1 with
 * a message in err (malformed XML, an unknown root element, a DOCTYPE, a
 * field or entry count over its bound, out of memory). On -1 l may hold a
 * partial result; free it either way. */
int nv_xmllist_parse(struct nv_xmllist *l, const char *xml, size_t n, char *err, size_t errsz);

/* Epoch seconds of an ISO 8601 UTC time ("2009-10-12T17:50:30.000Z") or an
 * RFC 1123 date ("Mon, 27 Jan 2014 22:18:24 GMT"); -1 with *ok = 0 when
 * neither. */
int64_t nv_xmllist_time(const char *s, size_t n, int *ok);

#endif
