/* instream.c - byte source over a local file with transparent gzip (zlib,
 * multi-member) or zstd (libzstd streaming) decompression. See instream.h. */
#include "instream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#define RAW_CHUNK (256 * 1024)

struct nv_instream {
  FILE *f;
  char *path;
  enum nv_compression comp;
  unsigned char *raw; /* compressed input buffer (gzip/zstd) */
  size_t raw_len, raw_pos;
  int raw_eof;
  z_stream z;
  int z_ready, z_member_done;
  ZSTD_DCtx *zd;
  size_t zstd_last; /* last ZSTD_decompressStream hint: 0 = frame complete */
  uint64_t raw_bytes, bytes;
  int failed;
  char err[256];
};

static long fail(struct nv_instream *s, const char *fmt, const char *detail) {
  s->failed = 1;
  snprintf(s->err, sizeof s->err, fmt, s->path, detail);
  return -1;
}

static int fill_raw(struct nv_instream *s) {
  if (s->raw_pos < s->raw_len || s->raw_eof) return 1;
  size_t got = fread(s->raw, 1, RAW_CHUNK, s->f);
  if (got == 0 && ferror(s->f)) return 0;
  if (got < RAW_CHUNK) s->raw_eof = feof(s->f) ? 1 : s->raw_eof;
  if (got == 0) s->raw_eof = 1;
  s->raw_len = got;
  s->raw_pos = 0;
  s->raw_bytes += got;
  return 1;
}

const char *nv_file_kind(unsigned mode) {
  mode_t m = (mode_t)mode;
  if (S_ISREG(m)) return "a regular file";
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISLNK(m)) return "a symbolic link";
  return "not a file";
}

/* Opens path for reading only when it is a regular file. O_NONBLOCK makes
 * the open itself return at once for a FIFO (whose open would otherwise
 * wait for a writer, unkillable by SIGTERM's hook), so a FIFO swapped in
 * after any earlier stat is refused here too; the flag is cleared before
 * reading. Returns the FILE or NULL with err written. */
static FILE *open_regular(const char *path, char *err, size_t errsz) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
    close(fd);
    return NULL;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(err, errsz, "%s is %s, not a regular file", path, nv_file_kind((unsigned)st.st_mode));
    close(fd);
    return NULL;
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
    snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
    close(fd);
    return NULL;
  }
  FILE *f = fdopen(fd, "rb");
  if (f == NULL) {
    snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
    close(fd);
  }
  return f;
}

struct nv_instream *nv_instream_open(const char *path, enum nv_compression comp,
                                     char *err, size_t errsz) {
  struct nv_instream *s = calloc(1, sizeof *s);
  if (s == NULL) {
    snprintf(err, errsz, "%s: out of memory", path);
    return NULL;
  }
  size_t plen = strlen(path);
  s->path = malloc(plen + 1);
  if (s->path == NULL) {
    free(s);
    snprintf(err, errsz, "%s: out of memory", path);
    return NULL;
  }
  memcpy(s->path, path, plen + 1);
  s->f = open_regular(path, err, errsz);
  if (s->f == NULL) {
    free(s->path);
    free(s);
    return NULL;
  }
  if (comp == NV_COMP_AUTO) {
    unsigned char magic[4] = {0};
    size_t got = fread(magic, 1, sizeof magic, s->f);
    if (got == 0 && ferror(s->f)) {
      snprintf(err, errsz, "cannot read %s: %s", path, strerror(errno));
      nv_instream_close(s);
      return NULL;
    }
    if (fseek(s->f, 0, SEEK_SET) != 0) {
      snprintf(err, errsz, "cannot seek %s: %s", path, strerror(errno));
      nv_instream_close(s);
      return NULL;
    }
    if (got >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
      comp = NV_COMP_GZIP;
    else if (got >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
      comp = NV_COMP_ZSTD;
    else
      comp = NV_COMP_NONE;
  }
  s->comp = comp;
  if (comp != NV_COMP_NONE) {
    s->raw = malloc(RAW_CHUNK);
    if (s->raw == NULL) {
      snprintf(err, errsz, "%s: out of memory", path);
      nv_instream_close(s);
      return NULL;
    }
  }
  if (comp == NV_COMP_GZIP) {
    if (inflateInit2(&s->z, 15 + 16) != Z_OK) {
      snprintf(err, errsz, "%s: cannot initialise gzip decoder", path);
      nv_instream_close(s);
      return NULL;
    }
    s->z_ready = 1;
  } else if (comp == NV_COMP_ZSTD) {
    s->zd = ZSTD_createDCtx();
    if (s->zd == NULL) {
      snprintf(err, errsz, "%s: cannot initialise zstd decoder", path);
      nv_instream_close(s);
      return NULL;
    }
    s->zstd_last = 1;
  }
  return s;
}

static long read_plain(struct nv_instream *s, char *buf, size_t n) {
  size_t got = fread(buf, 1, n, s->f);
  if (got == 0 && ferror(s->f)) {
    fail(s, "cannot read %s: %s", strerror(errno));
    return 0;
  }
  s->raw_bytes += got;
  return (long)got;
}

static long read_gzip(struct nv_instream *s, char *buf, size_t n) {
  s->z.next_out = (unsigned char *)buf;
  s->z.avail_out = (uInt)(n > UINT32_MAX ? UINT32_MAX : n);
  while (s->z.avail_out > 0) {
    if (!fill_raw(s)) { fail(s, "cannot read %s: %s", strerror(errno)); return (long)(n - s->z.avail_out); }
    if (s->raw_pos >= s->raw_len) { /* no more compressed input */
      if (!s->z_member_done && s->raw_bytes > 0)
        { fail(s, "%s: %s", "truncated gzip data (unexpected end of file)"); return (long)(n - s->z.avail_out); }
      break;
    }
    if (s->z_member_done) { /* another gzip member follows (concatenated .gz) */
      if (inflateReset(&s->z) != Z_OK) { fail(s, "%s: %s", "gzip decoder reset failed"); return (long)(n - s->z.avail_out); }
      s->z_member_done = 0;
    }
    s->z.next_in = s->raw + s->raw_pos;
    s->z.avail_in = (uInt)(s->raw_len - s->raw_pos);
    int rc = inflate(&s->z, Z_NO_FLUSH);
    s->raw_pos = s->raw_len - s->z.avail_in;
    if (rc == Z_STREAM_END) {
      s->z_member_done = 1;
    } else if (rc == Z_BUF_ERROR) {
      if (s->raw_pos < s->raw_len) break; /* output full */
    } else if (rc != Z_OK) {
      { fail(s, "%s: corrupt gzip data: %s", s->z.msg ? s->z.msg : "inflate error"); return (long)(n - s->z.avail_out); }
    }
  }
  return (long)(n - s->z.avail_out);
}

static long read_zstd(struct nv_instream *s, char *buf, size_t n) {
  ZSTD_outBuffer out = {buf, n, 0};
  while (out.pos < out.size) {
    if (!fill_raw(s)) { fail(s, "cannot read %s: %s", strerror(errno)); return (long)out.pos; }
    if (s->raw_pos >= s->raw_len) {
      if (s->zstd_last != 0) {
        /* the decoder may still hold output for us */
        ZSTD_inBuffer empty = {s->raw, 0, 0};
        size_t before = out.pos;
        size_t rc = ZSTD_decompressStream(s->zd, &out, &empty);
        if (ZSTD_isError(rc)) { fail(s, "%s: corrupt zstd data: %s", ZSTD_getErrorName(rc)); return (long)out.pos; }
        s->zstd_last = rc;
        if (out.pos > before) continue;
        if (rc != 0) { fail(s, "%s: %s", "truncated zstd data (unexpected end of file)"); return (long)out.pos; }
      }
      break;
    }
    ZSTD_inBuffer in = {s->raw, s->raw_len, s->raw_pos};
    size_t rc = ZSTD_decompressStream(s->zd, &out, &in);
    if (ZSTD_isError(rc)) { fail(s, "%s: corrupt zstd data: %s", ZSTD_getErrorName(rc)); return (long)out.pos; }
    s->raw_pos = in.pos;
    s->zstd_last = rc;
  }
  return (long)out.pos;
}

long nv_instream_read(struct nv_instream *s, char *buf, size_t n) {
  if (s->failed) return -1;
  if (n == 0) return 0;
  if (n > (size_t)1 << 30) n = (size_t)1 << 30;
  long got;
  switch (s->comp) {
    case NV_COMP_GZIP: got = read_gzip(s, buf, n); break;
    case NV_COMP_ZSTD: got = read_zstd(s, buf, n); break;
    default: got = read_plain(s, buf, n); break;
  }
  /* data decoded before an error is delivered; the error comes next call */
  if (got == 0 && s->failed) return -1;
  if (got > 0) s->bytes += (uint64_t)got;
  return got;
}

const char *nv_instream_error(const struct nv_instream *s) { return s->failed ? s->err : NULL; }
enum nv_compression nv_instream_compression(const struct nv_instream *s) { return s->comp; }
uint64_t nv_instream_raw_bytes(const struct nv_instream *s) { return s->raw_bytes; }
uint64_t nv_instream_bytes(const struct nv_instream *s) { return s->bytes; }

int nv_instream_close(struct nv_instream *s) {
  if (s == NULL) return 0;
  int rc = 0;
  if (s->z_ready) inflateEnd(&s->z);
  if (s->zd) ZSTD_freeDCtx(s->zd);
  if (s->f && fclose(s->f) != 0) rc = -1;
  free(s->raw);
  free(s->path);
  free(s);
  return rc;
}
