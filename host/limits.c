/* limits.c - resource limits for a sandboxed run (nv.limits; the sandbox
 * turns them on):
 *  - memory: a counting allocator caps the Lua heap, and RLIMIT_DATA caps
 *    the process's data (malloc, anonymous mmap, thread stacks: what the
 *    readers, the profiler and the libraries allocate) at the same budget
 *    on top of what the process held when the limit was set;
 *  - CPU: an instruction-count hook raises at the limit in Lua code, and
 *    RLIMIT_CPU covers C calls that do not come back to Lua (a backtracking
 *    string.find, a long reader call): its soft limit (limit + 1 s) sends
 *    SIGXCPU, whose handler makes the hook raise at the next Lua
 *    instruction; the handler is installed with SA_RESETHAND, so a second
 *    SIGXCPU a second later (the process is still inside C) ends the
 *    process by the signal; the hard limit (limit + 3 s) is the kernel's
 *    SIGKILL backstop;
 *  - wall clock: the same hook raises once the run has lasted the limit;
 *    a run blocked in C is ended by its supervisor (supervisor.c);
 *  - report(line): a line to the supervisor of a sandboxed run, which
 *    prints the failure result and finishes the run row when the process
 *    ends without its result (a limit's signal, SIGKILL).
 * State: one struct nv_limits owned by main(), reached through the
 * allocator's ud and a registry light userdata. The only C global is the
 * SIGXCPU handler's (a handler reaches nothing else): the state whose hook
 * it sets, written before the handler is installed. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "nvlua.h"

/* AddressSanitizer maps terabytes of shadow memory as writable private
 * mappings, which RLIMIT_DATA counts: sanitized builds bound the Lua heap
 * only (usage().data_limit tells which). */
#if defined(__SANITIZE_ADDRESS__)
#define NV_DATA_RLIMIT 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NV_DATA_RLIMIT 0
#endif
#endif
#ifndef NV_DATA_RLIMIT
#define NV_DATA_RLIMIT 1
#endif

#define LIMITS_KEY "nv.limits.state"
#define HOOK_EVERY 100000
#define CPU_GRACE 1      /* s after the limit: SIGXCPU */
#define CPU_HARD_GRACE 3 /* s after the limit: SIGKILL */

static lua_State *volatile xcpu_state;

void *nv_limits_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  struct nv_limits *lim = ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    lim->used -= old;
    return NULL;
  }
  if (lim->max_bytes && nsize > old && lim->used - old + nsize > lim->max_bytes) {
    lim->refused++;
    return NULL; /* Lua raises "not enough memory" */
  }
  void *p = realloc(ptr, nsize);
  if (p == NULL) {
    lim->refused++;
    return NULL;
  }
  lim->used = lim->used - old + nsize;
  if (lim->used > lim->peak) lim->peak = lim->used;
  return p;
}

static struct nv_limits *get_limits(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LIMITS_KEY);
  struct nv_limits *lim = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return lim;
}

void nv_limits_attach(lua_State *L, struct nv_limits *lim) {
  lua_pushlightuserdata(L, lim);
  lua_setfield(L, LUA_REGISTRYINDEX, LIMITS_KEY);
}

static double cpu_used(void) { return (double)clock() / CLOCKS_PER_SEC; }

static double mono_now(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Raises once at each limit (the CPU one also after SIGXCPU: the handler
 * sets a count of 1, and the soft limit is past the limit); the run's own
 * failure path then has until the second SIGXCPU (the wall-clock limit:
 * the supervisor's SIGKILL) to record the failure. */
static void limit_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  struct nv_limits *lim = get_limits(L);
  if (lim == NULL) return;
  char msg[80];
  if (lim->cpu_seconds > 0 && !lim->cpu_fired && cpu_used() > lim->cpu_seconds) {
    lim->cpu_fired = 1;
    snprintf(msg, sizeof msg, "sandbox: CPU limit of %g s exceeded", lim->cpu_seconds);
  } else if (lim->wall_seconds > 0 && !lim->wall_fired && mono_now() - lim->wall_start > lim->wall_seconds) {
    lim->wall_fired = 1;
    snprintf(msg, sizeof msg, "sandbox: wall-clock limit of %g s exceeded", lim->wall_seconds);
  } else {
    return;
  }
  lua_sethook(L, limit_hook, LUA_MASKCOUNT, HOOK_EVERY);
  lua_pushstring(L, msg); /* no position: the message is the same wherever it fires */
  lua_error(L);
}

/* lua_sethook "can be called asynchronously (e.g. during a signal)"
 * (ldebug.c). SA_RESETHAND: the next SIGXCPU ends the process. */
static void on_xcpu(int sig) {
  (void)sig;
  lua_State *L = xcpu_state;
  if (L) lua_sethook(L, limit_hook, LUA_MASKCOUNT, 1);
}

/* the hook runs while a CPU or a wall-clock limit is set */
static void update_hook(lua_State *L, struct nv_limits *lim) {
  if (lim->cpu_seconds > 0 || lim->wall_seconds > 0) lua_sethook(L, limit_hook, LUA_MASKCOUNT, HOOK_EVERY);
  else lua_sethook(L, NULL, 0, 0);
}

static int set_cpu_rlimit(lua_State *L, double seconds) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_CPU, &rl) != 0) return luaL_error(L, "getrlimit(RLIMIT_CPU): %s", strerror(errno));
  if (seconds <= 0) {
    rl.rlim_cur = rl.rlim_max;
  } else {
    rlim_t soft = (rlim_t)ceil(seconds) + CPU_GRACE, hard = (rlim_t)ceil(seconds) + CPU_HARD_GRACE;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < hard) hard = rl.rlim_max;
    if (soft > hard) soft = hard;
    rl.rlim_cur = soft;
    rl.rlim_max = hard;
  }
  if (setrlimit(RLIMIT_CPU, &rl) != 0) return luaL_error(L, "setrlimit(RLIMIT_CPU): %s", strerror(errno));
  return 0;
}

/* The process's data segment now (VmData of /proc/self/status), or 0. */
static size_t data_now(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL) return 0;
  char line[256];
  unsigned long kb = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmData: %lu kB", &kb) == 1) break;
  if (fclose(f) != 0) return 0;
  return (size_t)kb * 1024;
}

/* set_memory(bytes | 0 for none) */
static int l_set_memory(lua_State *L) {
  struct nv_limits *lim = get_limits(L);
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 0, 1, "must be >= 0");
  if (lim == NULL) return luaL_error(L, "this state has no limits allocator");
  lim->max_bytes = (size_t)n;
  if (!NV_DATA_RLIMIT) return 0;
  struct rlimit rl;
  if (getrlimit(RLIMIT_DATA, &rl) != 0) return luaL_error(L, "getrlimit(RLIMIT_DATA): %s", strerror(errno));
  if (n == 0) {
    rl.rlim_cur = rl.rlim_max;
  } else {
    /* once per process: a second call keeps the first base */
    if (lim->data_base == 0) lim->data_base = data_now();
    rlim_t want = (rlim_t)lim->data_base + (rlim_t)n;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) want = rl.rlim_max;
    rl.rlim_cur = want;
  }
  if (setrlimit(RLIMIT_DATA, &rl) != 0) return luaL_error(L, "setrlimit(RLIMIT_DATA): %s", strerror(errno));
  return 0;
}

/* set_cpu(seconds | 0 for none): CPU time of the whole process */
static int l_set_cpu(lua_State *L) {
  struct nv_limits *lim = get_limits(L);
  lua_Number s = luaL_checknumber(L, 1);
  luaL_argcheck(L, s >= 0 && s < 1e9, 1, "must be >= 0");
  if (lim == NULL) return luaL_error(L, "this state has no limits allocator");
  lim->cpu_seconds = s;
  if (s > 0) {
    lua_pushthread(L); /* the main thread: set_cpu runs on it */
    xcpu_state = lua_tothread(L, -1);
    lua_pop(L, 1);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_xcpu;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGXCPU, &sa, NULL) != 0) return luaL_error(L, "sigaction(SIGXCPU): %s", strerror(errno));
  }
  update_hook(L, lim);
  return set_cpu_rlimit(L, s);
}

/* set_wall(seconds | 0 for none): elapsed time since the first call */
static int l_set_wall(lua_State *L) {
  struct nv_limits *lim = get_limits(L);
  lua_Number s = luaL_checknumber(L, 1);
  luaL_argcheck(L, s >= 0 && s < 1e9, 1, "must be >= 0");
  if (lim == NULL) return luaL_error(L, "this state has no limits allocator");
  if (lim->wall_start == 0) lim->wall_start = mono_now();
  lim->wall_seconds = s;
  update_hook(L, lim);
  return 0;
}

/* report(line) -> true | false (no supervisor) | nil, message, "io" */
static int l_report(lua_State *L) {
  size_t len;
  const char *line = luaL_checklstring(L, 1, &len);
  luaL_argcheck(L, memchr(line, '\n', len) == NULL, 1, "one line (no newline)");
  struct nv_limits *lim = get_limits(L);
  if (lim == NULL || lim->report_fd < 0) {
    lua_pushboolean(L, 0);
    return 1;
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addlstring(&b, line, len);
  luaL_addchar(&b, '\n');
  luaL_pushresult(&b);
  const char *p = lua_tolstring(L, -1, &len);
  while (len > 0) {
    ssize_t w = write(lim->report_fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      lua_pushnil(L);
      lua_pushfstring(L, "cannot report to the supervisor: %s", strerror(errno));
      lua_pushliteral(L, "io");
      return 3;
    }
    p += w;
    len -= (size_t)w;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* usage() -> {used=, peak=, max=, refused=, cpu=, cpu_limit=, wall=,
 * wall_limit=, data_base=, data_limit= (whether C allocations are bounded
 * too), supervised= (whether a supervisor watches this process)} */
static int l_usage(lua_State *L) {
  struct nv_limits *lim = get_limits(L);
  lua_createtable(L, 0, 11);
  if (lim) {
    lua_pushinteger(L, (lua_Integer)lim->used);
    lua_setfield(L, -2, "used");
    lua_pushinteger(L, (lua_Integer)lim->peak);
    lua_setfield(L, -2, "peak");
    lua_pushinteger(L, (lua_Integer)lim->max_bytes);
    lua_setfield(L, -2, "max");
    lua_pushinteger(L, (lua_Integer)lim->refused);
    lua_setfield(L, -2, "refused");
    lua_pushnumber(L, lim->cpu_seconds);
    lua_setfield(L, -2, "cpu_limit");
    lua_pushnumber(L, lim->wall_seconds);
    lua_setfield(L, -2, "wall_limit");
    lua_pushnumber(L, lim->wall_start > 0 ? mono_now() - lim->wall_start : 0);
    lua_setfield(L, -2, "wall");
    lua_pushboolean(L, lim->report_fd >= 0);
    lua_setfield(L, -2, "supervised");
    lua_pushinteger(L, (lua_Integer)lim->data_base);
    lua_setfield(L, -2, "data_base");
  }
  lua_pushboolean(L, NV_DATA_RLIMIT);
  lua_setfield(L, -2, "data_limit");
  lua_pushnumber(L, cpu_used());
  lua_setfield(L, -2, "cpu");
  return 1;
}

static const luaL_Reg funcs[] = {
    {"set_memory", l_set_memory}, {"set_cpu", l_set_cpu}, {"set_wall", l_set_wall},
    {"report", l_report},         {"usage", l_usage},     {NULL, NULL}};

int luaopen_nv_limits(lua_State *L) {
  luaL_newlib(L, funcs);
  return 1;
}
