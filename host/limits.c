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
 *    instruction; a second SIGXCPU a second later means the process is
 *    still inside C: the handler writes the message and _exits(1); the
 *    hard limit (limit + 3 s) is the kernel's SIGKILL backstop.
 * State: one struct nv_limits owned by main(), reached through the
 * allocator's ud and a registry light userdata. The only C globals are the
 * SIGXCPU handler's (a handler reaches nothing else): the state to hook,
 * a signal counter and the preformatted message, all set before the
 * handler is installed. */
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
static volatile sig_atomic_t xcpu_signals;
static char xcpu_message[96];
static volatile size_t xcpu_message_len;

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

/* Raises once at the limit (or after SIGXCPU); the run's own failure path
 * then has until the second SIGXCPU to record the failure. */
static void cpu_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  struct nv_limits *lim = get_limits(L);
  if (lim == NULL || lim->cpu_seconds <= 0 || lim->cpu_fired) return;
  if (xcpu_signals > 0 || cpu_used() > lim->cpu_seconds) {
    lim->cpu_fired = 1;
    lua_sethook(L, cpu_hook, LUA_MASKCOUNT, HOOK_EVERY);
    char msg[80];
    snprintf(msg, sizeof msg, "sandbox: CPU limit of %g s exceeded", lim->cpu_seconds);
    lua_pushstring(L, msg); /* no position: the message is the same wherever it fires */
    lua_error(L);
  }
}

/* lua_sethook "can be called asynchronously (e.g. during a signal)"
 * (ldebug.c); write and _exit are async-signal-safe. */
static void on_xcpu(int sig) {
  (void)sig;
  if (xcpu_signals < 8) xcpu_signals++;
  if (xcpu_signals == 1) {
    lua_State *L = xcpu_state;
    if (L) lua_sethook(L, cpu_hook, LUA_MASKCOUNT, 1);
    return;
  }
  ssize_t w = write(STDERR_FILENO, xcpu_message, xcpu_message_len);
  (void)w;
  _exit(1);
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
    int len = snprintf(xcpu_message, sizeof xcpu_message, "nvlua: sandbox: CPU limit of %g s exceeded\n", s);
    xcpu_message_len = len > 0 && (size_t)len < sizeof xcpu_message ? (size_t)len : 0;
    lua_pushthread(L); /* the main thread: set_cpu runs on it */
    xcpu_state = lua_tothread(L, -1);
    lua_pop(L, 1);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_xcpu;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGXCPU, &sa, NULL) != 0) return luaL_error(L, "sigaction(SIGXCPU): %s", strerror(errno));
    lua_sethook(L, cpu_hook, LUA_MASKCOUNT, HOOK_EVERY);
  } else {
    lua_sethook(L, NULL, 0, 0);
  }
  return set_cpu_rlimit(L, s);
}

/* usage() -> {used=, peak=, max=, refused=, cpu=, cpu_limit=, data_base=,
 * data_limit= (whether C allocations are bounded too)} */
static int l_usage(lua_State *L) {
  struct nv_limits *lim = get_limits(L);
  lua_createtable(L, 0, 8);
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
    {"set_memory", l_set_memory}, {"set_cpu", l_set_cpu}, {"usage", l_usage}, {NULL, NULL}};

int luaopen_nv_limits(lua_State *L) {
  luaL_newlib(L, funcs);
  return 1;
}
