/* test_instream.c - plain, gzip (incl. multi-member) and zstd files read
 * back byte-exact in small chunks; truncated and corrupt data and missing
 * files give messages naming the path and the cause. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "../../host/readers/instream.h"
#include "check.h"

#define N 300000

static char data[N];
static char got[N + 16];

static void write_file(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (!f) return;
  CHECK(fwrite(p, 1, n, f) == n);
  CHECK(fclose(f) == 0);
}

static size_t gzip_bytes(const char *in, size_t n, unsigned char *out, size_t cap) {
  z_stream z;
  memset(&z, 0, sizeof z);
  CHECK(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  z.next_in = (unsigned char *)in;
  z.avail_in = (uInt)n;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END);
  size_t len = cap - z.avail_out;
  deflateEnd(&z);
  return len;
}

/* Reads the whole stream in chunks of `chunk`; returns bytes or -1. */
static long read_all(struct nv_instream *s, size_t chunk) {
  size_t total = 0;
  for (;;) {
    size_t want = chunk;
    if (total + want > sizeof got) want = sizeof got - total;
    long r = nv_instream_read(s, got + total, want);
    if (r < 0) return -1;
    if (r == 0) return (long)total;
    total += (size_t)r;
    if (total == sizeof got) return (long)total;
  }
}

int main(void) {
  char dir[] = "/tmp/nvlua-instream.XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[256], err[256];
  for (size_t i = 0; i < N; i++) data[i] = (char)("abc,123\n"[i % 8] + (i % 97 == 0));

  /* plain */
  snprintf(path, sizeof path, "%s/plain.csv", dir);
  write_file(path, data, N);
  struct nv_instream *s = nv_instream_open(path, NV_COMP_AUTO, err, sizeof err);
  CHECK(s != NULL);
  CHECK(nv_instream_compression(s) == NV_COMP_NONE);
  CHECK(read_all(s, 4093) == N && memcmp(got, data, N) == 0);
  CHECK(nv_instream_bytes(s) == N);
  CHECK(nv_instream_close(s) == 0);

  /* gzip, two members concatenated */
  size_t cap = N + 1024;
  unsigned char *gz = malloc(2 * cap);
  CHECK(gz != NULL);
  size_t a = gzip_bytes(data, N / 2, gz, cap);
  size_t b = gzip_bytes(data + N / 2, N - N / 2, gz + a, cap);
  snprintf(path, sizeof path, "%s/data.csv.gz", dir);
  write_file(path, gz, a + b);
  s = nv_instream_open(path, NV_COMP_AUTO, err, sizeof err);
  CHECK(s != NULL && nv_instream_compression(s) == NV_COMP_GZIP);
  CHECK(read_all(s, 1000) == N && memcmp(got, data, N) == 0);
  CHECK(nv_instream_raw_bytes(s) == a + b);
  CHECK(nv_instream_close(s) == 0);

  /* truncated gzip */
  write_file(path, gz, a / 2);
  s = nv_instream_open(path, NV_COMP_AUTO, err, sizeof err);
  CHECK(s != NULL);
  CHECK(read_all(s, 65536) == -1);
  char want[512];
  snprintf(want, sizeof want, "%s: truncated gzip data (unexpected end of file)", path);
  CHECK_STR(nv_instream_error(s), want);
  CHECK(nv_instream_read(s, got, 10) == -1); /* stays failed */
  CHECK(nv_instream_close(s) == 0);

  /* corrupt gzip */
  gz[20] ^= 0xff;
  gz[21] ^= 0xff;
  write_file(path, gz, a);
  s = nv_instream_open(path, NV_COMP_AUTO, err, sizeof err);
  CHECK(s != NULL);
  CHECK(read_all(s, 65536) == -1);
  CHECK(strstr(nv_instream_error(s), "corrupt gzip data") != NULL);
  CHECK(nv_instream_close(s) == 0);
  free(gz);

  /* zstd */
  size_t zcap = ZSTD_compressBound(N);
  char *zs = malloc(zcap);
  CHECK(zs != NULL);
  size_t zn = ZSTD_compress(zs, zcap, data, N, 3);
  CHECK(!ZSTD_isError(zn));
  snprintf(path, sizeof path, "%s/data.csv.zst", dir);
  write_file(path, zs, zn);
  s = nv_instream_open(path, NV_COMP_AUTO, err, sizeof err);
  CHECK(s != NULL && nv_instream_compression(s) == NV_COMP_ZSTD);
  CHECK(read_all(s, 777) == N && memcmp(got, data, N) == 0);
  CHECK(nv_instream_close(s) == 0);

  /* truncated zstd */
  write_file(path, zs, zn / 2);
  s = nv_instream_open(path, NV_COMP_AUTO, err, sizeof err);
  CHECK(s != NULL);
  CHECK(read_all(s, 4096) == -1);
  snprintf(want, sizeof want, "%s: truncated zstd data (unexpected end of file)", path);
  CHECK_STR(nv_instream_error(s), want);
  CHECK(nv_instream_close(s) == 0);
  free(zs);

  /* forced NONE reads compressed bytes verbatim */
  s = nv_instream_open(path, NV_COMP_NONE, err, sizeof err);
  CHECK(s != NULL && read_all(s, 100) == (long)(zn / 2));
  CHECK(nv_instream_close(s) == 0);

  /* missing file */
  snprintf(path, sizeof path, "%s/missing.csv", dir);
  CHECK(nv_instream_open(path, NV_COMP_AUTO, err, sizeof err) == NULL);
  snprintf(want, sizeof want, "cannot open %s: No such file or directory", path);
  CHECK_STR(err, want);

  /* empty file */
  snprintf(path, sizeof path, "%s/empty.csv", dir);
  write_file(path, "", 0);
  s = nv_instream_open(path, NV_COMP_AUTO, err, sizeof err);
  CHECK(s != NULL && read_all(s, 10) == 0);
  CHECK(nv_instream_close(s) == 0);

  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0);
  return CHECK_DONE();
}
