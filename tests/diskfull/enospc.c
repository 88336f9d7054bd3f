#define _GNU_SOURCE
/* enospc.c - a fault injector for tests (LD_PRELOAD): files opened under a
 * path prefix live on a "disk" that is full after N bytes.
 *
 *   NVLUA_ENOSPC_PREFIX=/abs/dir   files whose absolute path starts with it
 *   NVLUA_ENOSPC_AFTER=N           bytes this process may write to them in
 *                                  all (default 0); then write, pwrite,
 *                                  pwrite64, fallocate, posix_fallocate
 *                                  fail with ENOSPC (a write that crosses
 *                                  the budget is short, as on a real disk;
 *                                  only bytes that grow a file count)
 *
 * open/openat/creat (and their 64 variants) mark the descriptors of such
 * files (and so does the start for inherited ones, e.g. a shell's `>`); fopen/fopen64 of such a file for writing returns a stream whose
 * writes go through the same budget (glibc's stdio calls its internal
 * write, which LD_PRELOAD cannot reach). Everything else passes through.
 * Process-wide state is the point of a preload: the budget and the set of
 * marked descriptors. Tests only; never linked into nvlua. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_FD 65536

static unsigned char marked[MAX_FD];
static long long budget = -1; /* -1: not read yet */

static long long get_budget(void) {
  long long b = __atomic_load_n(&budget, __ATOMIC_SEQ_CST);
  if (b == -1) {
    const char *s = getenv("NVLUA_ENOSPC_AFTER");
    b = s ? atoll(s) : 0;
    if (b < 0) b = 0;
    long long expect = -1;
    if (!__atomic_compare_exchange_n(&budget, &expect, b, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) b = expect;
  }
  return b;
}

/* takes up to n bytes of the budget; returns how many */
static size_t take(size_t n) {
  get_budget();
  for (;;) {
    long long b = __atomic_load_n(&budget, __ATOMIC_SEQ_CST);
    size_t got = (long long)n <= b ? n : (size_t)b;
    if (__atomic_compare_exchange_n(&budget, &b, b - (long long)got, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
      return got;
  }
}

static void give_back(size_t n) { __atomic_add_fetch(&budget, (long long)n, __ATOMIC_SEQ_CST); }

static int under_prefix(int dirfd, const char *path) {
  const char *prefix = getenv("NVLUA_ENOSPC_PREFIX");
  if (prefix == NULL || *prefix == '\0' || path == NULL) return 0;
  size_t plen = strlen(prefix);
  if (path[0] == '/') return strncmp(path, prefix, plen) == 0;
  if (dirfd != AT_FDCWD) return 0;
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) == NULL) return 0;
  char full[8192];
  snprintf(full, sizeof full, "%s/%s", cwd, path);
  return strncmp(full, prefix, plen) == 0;
}

static void mark(int fd, int on) {
  if (fd >= 0 && fd < MAX_FD) __atomic_store_n(&marked[fd], (unsigned char)on, __ATOMIC_SEQ_CST);
}
static int is_marked(int fd) { return fd >= 0 && fd < MAX_FD && __atomic_load_n(&marked[fd], __ATOMIC_SEQ_CST); }

/* the next definition of name (libc's), looked up once */
#define REAL(name)                          \
  static __typeof__(&name) real_##name;     \
  if (!real_##name) real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

static int opened(int fd, int dirfd, const char *path) {
  if (fd >= 0) mark(fd, under_prefix(dirfd, path));
  return fd;
}

int open(const char *path, int flags, ...) {
  REAL(open);
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  return opened(real_open(path, flags, mode), AT_FDCWD, path);
}

int open64(const char *path, int flags, ...) {
  REAL(open64);
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  return opened(real_open64(path, flags, mode), AT_FDCWD, path);
}

int openat(int dirfd, const char *path, int flags, ...) {
  REAL(openat);
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  return opened(real_openat(dirfd, path, flags, mode), dirfd, path);
}

int openat64(int dirfd, const char *path, int flags, ...) {
  REAL(openat64);
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  return opened(real_openat64(dirfd, path, flags, mode), dirfd, path);
}

int creat(const char *path, mode_t mode) { return open(path, O_WRONLY | O_CREAT | O_TRUNC, mode); }
int creat64(const char *path, mode_t mode) { return open64(path, O_WRONLY | O_CREAT | O_TRUNC, mode); }

int close(int fd) {
  REAL(close);
  mark(fd, 0);
  return real_close(fd);
}

int dup2(int fd, int to) {
  REAL(dup2);
  int r = real_dup2(fd, to);
  if (r >= 0) mark(r, is_marked(fd));
  return r;
}

/* A write of n bytes at off (-1: the fd's position, or its end with
 * O_APPEND) to fd: only the bytes that grow the file take space, as on a
 * disk (overwriting a page, or a rollback restoring one, needs none).
 * Returns how many bytes may be written (n, fewer) or -1 with ENOSPC, and
 * in *taken what was taken from the budget. */
static ssize_t allowed(int fd, size_t n, off64_t off, size_t *taken) {
  *taken = 0;
  if (!is_marked(fd) || n == 0) return (ssize_t)n;
  struct stat64 st;
  if (fstat64(fd, &st) != 0 || !S_ISREG(st.st_mode)) return (ssize_t)n;
  if (off < 0) {
    int fl = fcntl(fd, F_GETFL);
    off = (fl >= 0 && (fl & O_APPEND)) ? st.st_size : lseek64(fd, 0, SEEK_CUR);
    if (off < 0) return (ssize_t)n;
  }
  size_t inside = off < st.st_size ? (size_t)(st.st_size - off) : 0; /* bytes overwritten */
  if (inside >= n) return (ssize_t)n;
  size_t got = take(n - inside);
  *taken = got;
  if (inside + got == 0) {
    errno = ENOSPC;
    return -1;
  }
  return (ssize_t)(inside + got);
}

/* returns what a write did not use to the budget */
static void settle(size_t ok, ssize_t w, size_t taken) {
  size_t used = w < 0 ? 0 : (size_t)w;
  size_t unused = ok > used ? ok - used : 0;
  give_back(unused < taken ? unused : taken);
}

ssize_t write(int fd, const void *buf, size_t n) {
  REAL(write);
  size_t taken;
  ssize_t ok = allowed(fd, n, -1, &taken);
  if (ok < 0) return -1;
  ssize_t w = real_write(fd, buf, (size_t)ok);
  settle((size_t)ok, w, taken);
  return w;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
  REAL(pwrite);
  size_t taken;
  ssize_t ok = allowed(fd, n, off, &taken);
  if (ok < 0) return -1;
  ssize_t w = real_pwrite(fd, buf, (size_t)ok, off);
  settle((size_t)ok, w, taken);
  return w;
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off) {
  REAL(pwrite64);
  size_t taken;
  ssize_t ok = allowed(fd, n, off, &taken);
  if (ok < 0) return -1;
  ssize_t w = real_pwrite64(fd, buf, (size_t)ok, off);
  settle((size_t)ok, w, taken);
  return w;
}

static int full_for(int fd, off64_t len) {
  if (!is_marked(fd)) return 0;
  return get_budget() < len;
}

int fallocate(int fd, int mode, off_t off, off_t len) {
  REAL(fallocate);
  if (full_for(fd, len)) {
    errno = ENOSPC;
    return -1;
  }
  return real_fallocate(fd, mode, off, len);
}

int fallocate64(int fd, int mode, off64_t off, off64_t len) {
  REAL(fallocate64);
  if (full_for(fd, len)) {
    errno = ENOSPC;
    return -1;
  }
  return real_fallocate64(fd, mode, off, len);
}

int posix_fallocate(int fd, off_t off, off_t len) {
  REAL(posix_fallocate);
  if (full_for(fd, len)) return ENOSPC;
  return real_posix_fallocate(fd, off, len);
}

int posix_fallocate64(int fd, off64_t off, off64_t len) {
  REAL(posix_fallocate64);
  if (full_for(fd, len)) return ENOSPC;
  return real_posix_fallocate64(fd, off, len);
}

static void replace_std_streams(void);

/* descriptors the process inherited (a shell's `> file`) count too */
__attribute__((constructor)) static void mark_inherited(void) {
  for (int fd = 0; fd < 256; fd++) {
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    mark(fd, under_prefix(AT_FDCWD, target));
  }
  replace_std_streams();
}

/* ---- stdio: a cookie stream over a marked descriptor */

static ssize_t ck_read(void *c, char *buf, size_t n) { return read((int)(intptr_t)c, buf, n); }
static ssize_t ck_write(void *c, const char *buf, size_t n) {
  int fd = (int)(intptr_t)c;
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(fd, buf + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return done > 0 ? (ssize_t)done : -1;
    }
    done += (size_t)w;
  }
  return (ssize_t)done;
}
static int ck_seek(void *c, off64_t *off, int whence) {
  off64_t r = lseek64((int)(intptr_t)c, *off, whence);
  if (r < 0) return -1;
  *off = r;
  return 0;
}
static int ck_close(void *c) { return close((int)(intptr_t)c); }

static FILE *cookie_fopen(const char *path, const char *mode, FILE *(*real)(const char *, const char *)) {
  int writing = strpbrk(mode, "wa+") != NULL;
  if (!writing || !under_prefix(AT_FDCWD, path)) return real(path, mode);
  int flags = strchr(mode, '+') ? O_RDWR : O_WRONLY;
  if (mode[0] == 'w') flags |= O_CREAT | O_TRUNC;
  if (mode[0] == 'a') flags |= O_CREAT | O_APPEND;
  if (strchr(mode, 'x')) flags |= O_EXCL;
  if (strchr(mode, 'e')) flags |= O_CLOEXEC;
  int fd = open(path, flags, 0666);
  if (fd < 0) return NULL;
  cookie_io_functions_t io = {ck_read, ck_write, ck_seek, ck_close};
  FILE *f = fopencookie((void *)(intptr_t)fd, mode, io);
  if (f == NULL) {
    int e = errno;
    close(fd);
    errno = e;
  }
  return f;
}

FILE *fopen(const char *path, const char *mode) {
  REAL(fopen);
  return cookie_fopen(path, mode, real_fopen);
}

FILE *fopen64(const char *path, const char *mode) {
  REAL(fopen64);
  return cookie_fopen(path, mode, real_fopen64);
}

/* stdout/stderr on such a file: cookie streams over the same descriptors
 * (glibc's own streams write with its internal write) */
static void replace_std_streams(void) {
  cookie_io_functions_t io = {ck_read, ck_write, ck_seek, NULL};
  if (is_marked(STDOUT_FILENO)) {
    FILE *f = fopencookie((void *)(intptr_t)STDOUT_FILENO, "w", io);
    if (f) stdout = f;
  }
  if (is_marked(STDERR_FILENO)) {
    FILE *f = fopencookie((void *)(intptr_t)STDERR_FILENO, "w", io);
    if (f) {
      setvbuf(f, NULL, _IONBF, 0);
      stderr = f;
    }
  }
}
