/* cores.h - the processors this process may use (cores.c). */
#ifndef NV_CORES_H
#define NV_CORES_H

struct nv_cores {
  long online;    /* sysconf(_SC_NPROCESSORS_ONLN), at least 1 */
  long affinity;  /* CPUs in the affinity mask; 0 when unknown */
  long quota;     /* ceil(cgroup quota / period); 0 when none */
  long available; /* the least of those known: what a pool should use */
};

void nv_cores(struct nv_cores *c);

/* The tightest CPU quota (in whole CPUs, rounded up) of the cgroups that
 * proc_cgroup (a /proc/PID/cgroup file) names under the cgroup filesystem
 * mounted at root; 0 when there is none or it cannot be read. */
long nv_cgroup_cpu_limit(const char *root, const char *proc_cgroup);

#endif
