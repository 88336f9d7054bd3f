/* supervisor.h - the parent of a sandboxed run (supervisor.c). */
#ifndef NVLUA_SUPERVISOR_H
#define NVLUA_SUPERVISOR_H

#include <stddef.h>

struct nv_supervised {
  int done;            /* the child said its result is on stdout */
  int lost;            /* it ended without its result: reason says why */
  int code;            /* the exit code for the whole run */
  char *run_info;      /* the child's last "run" report (malloc'd JSON) or NULL */
  double cpu_seconds, wall_seconds, memory_mb; /* the limits it reported (0: none) */
  char reason[256];    /* why it ended without a result (when lost) */
};

/* Forks. In the child returns 0 with *report_fd the pipe to write reports
 * to (close-on-exec); in the parent returns 1 once the child has ended,
 * out filled; -1 (err written) when the child could not be started. */
int nv_supervise(int *report_fd, struct nv_supervised *out, char *err, size_t errsz);

#endif
