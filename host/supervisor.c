#define _GNU_SOURCE /* pipe2 */
/* supervisor.c - a sandboxed run (`nvlua --sandbox …`) runs in a child
 * process; the parent only watches it, so a run ended by a limit still
 * tells the truth:
 *  - the child reports over a pipe (nv.limits.report, the fd in struct
 *    nv_limits): "limits CPU WALL MEMORY_MB" when the limits are set,
 *    "run JSON" once the run is known (its run row, the store to finish it
 *    in, the result's identity), "done" once its result is on stdout;
 *  - the parent enforces the wall-clock limit (SIGKILL WALL_GRACE s after
 *    the limit, when the child's own hook did not end it), forwards
 *    SIGTERM/SIGINT/SIGHUP, and when the child ends without "done" tells
 *    main() why (signal, CPU or wall-clock limit, exit status) so that the
 *    failure result is printed and the run row finished (nv.job.finish_lost);
 *  - the child dies with the parent (PR_SET_PDEATHSIG) and dumps no core
 *    (RLIMIT_CORE 0: a core file would hold the run's secrets).
 * The parent holds no Lua state while the child runs, and no globals: the
 * signals it forwards come through a signalfd. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "supervisor.h"

#define WALL_GRACE 3            /* s after the wall-clock limit: SIGKILL */
#define MAX_LINE (8u << 20)     /* a longer report line is dropped */
#define TICK_MS 250

static double mono(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct reader {
  char *buf;
  size_t len, cap;
  int overflow; /* dropping the rest of an overlong line */
};

/* handles one complete report line */
static void on_line(struct nv_supervised *out, double *deadline, char *line, size_t len) {
  line[len] = '\0';
  if (strcmp(line, "done") == 0) {
    out->done = 1;
  } else if (strncmp(line, "limits ", 7) == 0) {
    double cpu = 0, wall = 0, mem = 0;
    if (sscanf(line + 7, "%lf %lf %lf", &cpu, &wall, &mem) == 3) {
      out->cpu_seconds = cpu;
      out->wall_seconds = wall;
      out->memory_mb = mem;
      /* from the first report (the child's clock starts at its first set_wall) */
      if (*deadline == 0 && wall > 0) *deadline = mono() + wall + WALL_GRACE;
    }
  } else if (strncmp(line, "run ", 4) == 0) {
    char *copy = malloc(len - 3);
    if (copy) {
      memcpy(copy, line + 4, len - 3);
      free(out->run_info);
      out->run_info = copy;
    }
  }
}

/* reads what is available; returns 0 at EOF or error, 2 when nothing is
 * (a non-blocking fd), 1 otherwise */
static int pump(int fd, struct reader *r, struct nv_supervised *out, double *deadline) {
  char chunk[65536];
  ssize_t n = read(fd, chunk, sizeof chunk);
  if (n < 0) return errno == EINTR ? 1 : errno == EAGAIN ? 2 : 0;
  if (n == 0) return 0;
  for (ssize_t i = 0; i < n; i++) {
    char c = chunk[i];
    if (c == '\n') {
      if (!r->overflow && r->buf) on_line(out, deadline, r->buf, r->len);
      r->len = 0;
      r->overflow = 0;
      continue;
    }
    if (r->overflow) continue;
    if (r->len + 2 > r->cap) {
      size_t ncap = r->cap ? r->cap * 2 : 4096;
      char *nb = ncap <= MAX_LINE ? realloc(r->buf, ncap) : NULL;
      if (nb == NULL) {
        r->overflow = 1;
        r->len = 0;
        continue;
      }
      r->buf = nb;
      r->cap = ncap;
    }
    r->buf[r->len++] = c;
  }
  return 1;
}

static void describe(struct nv_supervised *out, int status, const struct rusage *ru, int wall_killed) {
  double cpu = (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 + (double)ru->ru_stime.tv_sec +
               ru->ru_stime.tv_usec / 1e6;
  if (wall_killed) {
    snprintf(out->reason, sizeof out->reason, "sandbox: wall-clock limit of %g s exceeded", out->wall_seconds);
  } else if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    if (out->cpu_seconds > 0 && (sig == SIGXCPU || (sig == SIGKILL && cpu >= out->cpu_seconds))) {
      snprintf(out->reason, sizeof out->reason, "sandbox: CPU limit of %g s exceeded", out->cpu_seconds);
    } else if (out->memory_mb > 0 && (sig == SIGABRT || sig == SIGSEGV || sig == SIGBUS || sig == SIGKILL)) {
      snprintf(out->reason, sizeof out->reason,
               "sandbox: the job was killed by signal %d (%s) under a memory limit of %g MiB", sig,
               strsignal(sig), out->memory_mb);
    } else {
      snprintf(out->reason, sizeof out->reason, "sandbox: the job was killed by signal %d (%s)", sig,
               strsignal(sig));
    }
  } else {
    snprintf(out->reason, sizeof out->reason, "sandbox: the job ended without a result (exit status %d)",
             WEXITSTATUS(status));
  }
}

/* the parent's loop: returns once the child has been reaped */
static void watch(pid_t pid, int rfd, int sfd, struct nv_supervised *out) {
  struct reader r = {NULL, 0, 0, 0};
  double deadline = 0;
  int open_pipe = 1, wall_killed = 0, status = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  for (;;) {
    pid_t w = wait4(pid, &status, WNOHANG, &ru);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) {
      status = 0;
      break;
    }
    if (deadline > 0 && !wall_killed && mono() >= deadline) {
      wall_killed = 1;
      (void)kill(pid, SIGKILL);
    }
    struct pollfd fds[2] = {{open_pipe ? rfd : -1, POLLIN, 0}, {sfd, POLLIN, 0}};
    int n = poll(fds, 2, TICK_MS);
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    if (open_pipe && fds[0].revents) open_pipe = pump(rfd, &r, out, &deadline) != 0;
    if (fds[1].revents & POLLIN) { /* fds[1] is the signalfd either way */
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) (void)kill(pid, (int)si.ssi_signo);
    }
  }
  /* what the child wrote before it ended */
  int fl = fcntl(rfd, F_GETFL);
  if (open_pipe && fl >= 0 && fcntl(rfd, F_SETFL, fl | O_NONBLOCK) == 0)
    while (pump(rfd, &r, out, &deadline) == 1) {
    }
  free(r.buf);
  if (WIFEXITED(status)) out->code = WEXITSTATUS(status);
  else out->code = 1;
  /* lost: ended by a signal, or before its run's result was out (a run
   * that never started - usage errors, --help, a plain script - passes
   * its exit status on) */
  if (!out->done && (wall_killed || WIFSIGNALED(status) || out->run_info)) {
    describe(out, status, &ru, wall_killed);
    out->lost = 1;
    out->code = 1;
  } else if (wall_killed || WIFSIGNALED(status)) {
    out->code = 1;
  }
}

int nv_supervise(int *report_fd, struct nv_supervised *out, char *err, size_t errsz) {
  memset(out, 0, sizeof *out);
  *report_fd = -1;
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    snprintf(err, errsz, "cannot create the supervisor's pipe: %s", strerror(errno));
    return -1;
  }
  sigset_t fwd, old;
  sigemptyset(&fwd);
  sigaddset(&fwd, SIGTERM);
  sigaddset(&fwd, SIGINT);
  sigaddset(&fwd, SIGHUP);
  if (sigprocmask(SIG_BLOCK, &fwd, &old) != 0) {
    snprintf(err, errsz, "cannot block signals: %s", strerror(errno));
    close(p[0]);
    close(p[1]);
    return -1;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(err, errsz, "cannot fork the sandboxed run: %s", strerror(errno));
    (void)sigprocmask(SIG_SETMASK, &old, NULL);
    close(p[0]);
    close(p[1]);
    return -1;
  }
  if (pid == 0) {
    close(p[0]);
    if (sigprocmask(SIG_SETMASK, &old, NULL) != 0) _exit(1);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(1);
    /* no core file (SIGXCPU dumps core by default): it would hold the
     * run's secrets */
    struct rlimit nocore = {0, 0};
    if (setrlimit(RLIMIT_CORE, &nocore) != 0) _exit(1);
    *report_fd = p[1];
    return 0;
  }
  close(p[1]);
  int sfd = signalfd(-1, &fwd, SFD_CLOEXEC);
  if (sfd < 0) fprintf(stderr, "nvlua: supervisor: signalfd: %s (signals are not forwarded)\n", strerror(errno));
  watch(pid, p[0], sfd, out);
  close(p[0]);
  if (sfd >= 0) close(sfd);
  (void)sigprocmask(SIG_SETMASK, &old, NULL);
  return 1;
}
