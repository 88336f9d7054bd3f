/* cores.c - how many processors this process may actually use: the
 * online processors, narrowed by its CPU affinity mask (taskset, cpusets)
 * and by a CPU bandwidth quota of its cgroup (a container's --cpus, a
 * Kubernetes limit; cgroup v2 cpu.max or v1 cpu.cfs_quota_us /
 * cpu.cfs_period_us, the tightest along the path to the root), rounded up. */
#define _GNU_SOURCE
#include "cores.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads the first line of path into buf; 0 when it cannot. */
static int read_line(const char *path, char *buf, size_t n) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  int ok = fgets(buf, (int)n, f) != NULL;
  fclose(f);
  if (ok) buf[strcspn(buf, "\n")] = '\0';
  return ok;
}

/* A decimal integer at *s (leading blanks allowed); *s moves past it. */
static int parse_ll(const char **s, long long *v) {
  char *end;
  errno = 0;
  long long x = strtoll(*s, &end, 10);
  if (end == *s || errno != 0) return 0;
  *s = end;
  *v = x;
  return 1;
}

/* ceil(quota / period) when both are positive, else 0 (no limit). */
static long quota_cpus(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return 0;
  long long n = quota / period + (quota % period != 0);
  return n > 0 && n < 1 << 20 ? (long)n : 0;
}

/* The limit in one cgroup directory, v2 then v1; 0 when none. */
static long dir_limit(const char *dir, int v2) {
  char path[4096 + 64], line[128];
  long long q = 0, p = 0;
  if (v2) {
    if (snprintf(path, sizeof path, "%s/cpu.max", dir) >= (int)sizeof path) return 0;
    if (!read_line(path, line, sizeof line)) return 0;
    if (strncmp(line, "max", 3) == 0) return 0;
    const char *c = line;
    if (!parse_ll(&c, &q) || !parse_ll(&c, &p)) return 0;
    return quota_cpus(q, p);
  }
  if (snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir) >= (int)sizeof path) return 0;
  const char *c = line;
  if (!read_line(path, line, sizeof line) || !parse_ll(&c, &q)) return 0;
  if (snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir) >= (int)sizeof path) return 0;
  c = line;
  if (!read_line(path, line, sizeof line) || !parse_ll(&c, &p)) return 0;
  return quota_cpus(q, p);
}

/* The tightest limit from base/rel up to base itself; 0 when none. */
static long path_limit(const char *base, const char *rel, int v2) {
  char dir[4096];
  if (snprintf(dir, sizeof dir, "%s%s", base, rel) >= (int)sizeof dir) return 0;
  size_t stop = strlen(base);
  long best = 0;
  for (;;) {
    long n = dir_limit(dir, v2);
    if (n > 0 && (best == 0 || n < best)) best = n;
    char *slash = strrchr(dir, '/');
    if (!slash || (size_t)(slash - dir) < stop) break;
    *slash = '\0';
  }
  return best;
}

long nv_cgroup_cpu_limit(const char *root, const char *proc_cgroup) {
  FILE *f = fopen(proc_cgroup, "r");
  if (!f) return 0;
  char line[4096], base[4096 + 32];
  long best = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    /* hierarchy-id:controllers:path */
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c1 = *c2 = '\0';
    const char *ctrls = c1 + 1, *rel = c2 + 1;
    long n = 0;
    if (strcmp(line, "0") == 0 && *ctrls == '\0') { /* v2: unified, or mounted at root */
      if (snprintf(base, sizeof base, "%s/unified", root) < (int)sizeof base) n = path_limit(base, rel, 1);
      if (n == 0) n = path_limit(root, rel, 1);
    } else {
      int has_cpu = 0;
      char list[4096];
      if (snprintf(list, sizeof list, "%s", ctrls) >= (int)sizeof list) continue;
      for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (strcmp(t, "cpu") == 0) has_cpu = 1;
      if (!has_cpu) continue;
      const char *dirs[] = {"cpu", "cpu,cpuacct", "cpuacct,cpu"};
      for (size_t i = 0; i < sizeof dirs / sizeof *dirs && n == 0; i++)
        if (snprintf(base, sizeof base, "%s/%s", root, dirs[i]) < (int)sizeof base)
          n = path_limit(base, rel, 0);
    }
    if (n > 0 && (best == 0 || n < best)) best = n;
  }
  fclose(f);
  return best;
}

void nv_cores(struct nv_cores *c) {
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  c->online = online > 0 ? online : 1;
  cpu_set_t set;
  CPU_ZERO(&set);
  c->affinity = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
  c->quota = nv_cgroup_cpu_limit("/sys/fs/cgroup", "/proc/self/cgroup");
  long n = c->online;
  if (c->affinity > 0 && c->affinity < n) n = c->affinity;
  if (c->quota > 0 && c->quota < n) n = c->quota;
  c->available = n;
}
