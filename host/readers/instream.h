/* instream.h - a byte source for readers: a local file, transparently
 * decompressed when it is gzip or zstd (detected from magic bytes, or
 * forced). Reads in caller-sized chunks; never loads a whole file.
 * Pure C (zlib, libzstd). */
#ifndef NV_INSTREAM_H
#define NV_INSTREAM_H

#include <stddef.h>
#include <stdint.h>

enum nv_compression { NV_COMP_AUTO, NV_COMP_NONE, NV_COMP_GZIP, NV_COMP_ZSTD };

struct nv_instream;

/* "a FIFO", "a socket", "a directory", ... for a stat st_mode. */
const char *nv_file_kind(unsigned mode);

/* Opens path; only a regular file is read (a FIFO, socket, device or
 * directory is refused without blocking: "PATH is a FIFO, not a regular
 * file"). On failure returns NULL and writes a message naming the
 * path and the cause into err. */
struct nv_instream *nv_instream_open(const char *path, enum nv_compression comp,
                                     char *err, size_t errsz);

/* Reads up to n decompressed bytes into buf. Returns the count (0 at end)
 * or -1 on error (message in nv_instream_error: I/O error, corrupt or
 * truncated compressed data). */
long nv_instream_read(struct nv_instream *s, char *buf, size_t n);

const char *nv_instream_error(const struct nv_instream *s);
enum nv_compression nv_instream_compression(const struct nv_instream *s);
uint64_t nv_instream_raw_bytes(const struct nv_instream *s); /* compressed bytes consumed */
uint64_t nv_instream_bytes(const struct nv_instream *s);     /* bytes delivered */

/* Closes and frees; returns 0, or -1 if closing the file failed. */
int nv_instream_close(struct nv_instream *s);

#endif
