#define _GNU_SOURCE /* pipe2 */
/* proc.c - the `nv.proc` module: child processes without a shell.
 *
 *   spawn{argv = {...}, env = {K = V | false}, replace = bool,
 *         stdout = path, stderr = path, stdin = path, cwd = path,
 *         rlimits = {as = bytes, cpu = seconds}}
 *       -> pid | nil, message, errno
 *     argv[1] is searched in PATH when it has no '/'. env is merged over
 *     the current environment (false removes a variable), or replaces it
 *     with replace = true. stdout/stderr are created or truncated (mode
 *     0644), stdin defaults to /dev/null; relative paths are relative to
 *     the caller's directory, not to cwd. rlimits: the child's address
 *     space (RLIMIT_AS) and CPU time (RLIMIT_CPU: SIGXCPU at `cpu`
 *     seconds, SIGKILL 5 s later) caps, set by the child between fork and
 *     exec, so they hold from the program's first instruction; if that
 *     fails the child never execs and spawn fails ("cannot limit …").
 *     spawn returns once the child has exec'd. In a sanitizer build `as` is not
 *     applied (ASan reserves terabytes of address space):
 *     rlimit_as_supported says which.
 *   poll(pid) -> "running" | "exited", code | "signaled", signo
 *             | nil, message, errno (e.g. not our child, already reaped)
 *   wait(pid) -> as poll, blocking until the child ends
 *   umask(mask) -> the previous mask (this process's file-creation mask,
 *     which children inherit; 0 to 0777)
 *   kill(pid [, sig]) -> true | nil, message, errno; sig is a number or
 *     one of "TERM" (default), "KILL", "INT", "HUP", "USR1", "USR2"
 *   trap{"TERM", "INT", ...} -> trap | nil, message, errno
 *     blocks those signals in the calling thread and receives them through
 *     a signalfd instead: trap:take() -> the name of the next pending one
 *     ("TERM") or nil, never blocking; trap:close() (also __close/__gc)
 *     restores the previous signal mask (so close traps in the reverse
 *     order of their creation). Spawned children start with an empty mask
 *     and default dispositions for the trappable signals.
 *
 * Uses: fork + execve (the child makes only async-signal-safe calls, all
 * prepared before the fork; a close-on-exec pipe reports its failure),
 * waitpid, kill.
 *
 * Invariants: everything built from Lua values (argv, envp and their
 * strings) is Lua-owned memory, anchored on the stack, built before the
 * fork; from the fork to the child's report nothing raises. No C globals. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "luax.h"
#include "nvlua.h"

extern char **environ;

#define MAX_ARGS 4096
#define MAX_ENV 65536
#define CPU_KILL_GRACE 5

#if defined(__SANITIZE_ADDRESS__)
#define AS_SUPPORTED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AS_SUPPORTED 0
#endif
#endif
#ifndef AS_SUPPORTED
#define AS_SUPPORTED 1
#endif

/* nil, "WHAT ARG: strerror", kind (nv_errno_kind), errno */
static int fail_errno(lua_State *L, int err, const char *what, const char *arg) {
  lua_pushfstring(L, "%s %s: %s", what, arg, strerror(err));
  int n = nv_push_fail_errno(L, lua_tostring(L, -1), err);
  lua_remove(L, -n - 1); /* the formatted message, copied by the helper */
  return n;
}

/* Pushes a NULL-terminated char* array (userdata) of the strings in the
 * sequence at idx; the strings stay anchored by that sequence. */
static char **push_strv(lua_State *L, int idx, lua_Integer n) {
  char **v = lua_newuserdatauv(L, sizeof(char *) * ((size_t)n + 1), 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    v[i - 1] = (char *)lua_tostring(L, -1);
    lua_pop(L, 1); /* still referenced by the sequence */
  }
  v[n] = NULL;
  return v;
}

static const char *opt_string_field(lua_State *L, int t, const char *key) {
  lua_getfield(L, t, key);
  const char *s = NULL;
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "spawn: '%s' must be a string", key);
    s = lua_tostring(L, -1);
  }
  lua_pop(L, 1); /* the options table keeps it alive */
  return s;
}

/* Builds the environment sequence (strings "K=V") at the top of the stack. */
static lua_Integer build_env(lua_State *L, int opts, int replace) {
  lua_newtable(L);
  int out = lua_gettop(L);
  lua_getfield(L, opts, "env");
  int env = lua_gettop(L);
  if (!lua_isnil(L, env) && !lua_istable(L, env)) luaL_error(L, "spawn: 'env' must be a table");
  lua_Integer n = 0;
  if (!replace) {
    for (char **e = environ; e && *e; e++) {
      const char *eq = strchr(*e, '=');
      if (eq == NULL) continue;
      if (lua_istable(L, env)) {
        lua_pushlstring(L, *e, (size_t)(eq - *e));
        int overridden = lua_rawget(L, env) != LUA_TNIL;
        lua_pop(L, 1);
        if (overridden) continue;
      }
      if (n >= MAX_ENV) luaL_error(L, "spawn: environment too large");
      lua_pushstring(L, *e);
      lua_rawseti(L, out, ++n);
    }
  }
  if (lua_istable(L, env)) {
    lua_pushnil(L);
    while (lua_next(L, env)) {
      if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "spawn: env names must be strings");
      size_t kn;
      const char *k = lua_tolstring(L, -2, &kn);
      if (kn == 0 || memchr(k, '=', kn) || strlen(k) != kn)
        luaL_error(L, "spawn: invalid environment variable name '%s'", k);
      if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        continue;
      }
      if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
        luaL_error(L, "spawn: env value of '%s' must be a string, a number or false", k);
      if (n >= MAX_ENV) luaL_error(L, "spawn: environment too large");
      lua_pushvalue(L, -2);
      lua_pushliteral(L, "=");
      lua_pushvalue(L, -3);
      lua_concat(L, 3);
      lua_rawseti(L, out, ++n);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1); /* env option */
  return n;
}

/* Raises "spawn: unknown option 'x'" for a key of the table at 1 not in keys. */
static void check_keys(lua_State *L, const char *const keys[]) {
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    lua_pop(L, 1);
    const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    size_t i = 0;
    while (k && keys[i] && strcmp(keys[i], k) != 0) i++;
    if (k == NULL || keys[i] == NULL)
      luaL_error(L, "spawn: unknown option '%s'", k ? k : luaL_typename(L, -1));
  }
}

/* rlimits = {as = bytes, cpu = seconds}: 0 (or absent) means unchanged */
struct limits {
  rlim_t as, cpu;
};

static struct limits check_rlimits(lua_State *L) {
  struct limits lim = {0, 0};
  lua_getfield(L, 1, "rlimits");
  if (!lua_isnil(L, -1)) {
    if (!lua_istable(L, -1)) luaL_error(L, "spawn: 'rlimits' must be a table");
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
      int isnum;
      lua_Integer v = lua_tointegerx(L, -1, &isnum);
      if (k == NULL || (strcmp(k, "as") != 0 && strcmp(k, "cpu") != 0))
        luaL_error(L, "spawn: unknown rlimit '%s' (known: as, cpu)", k ? k : luaL_typename(L, -2));
      if (!isnum || v < 0 || (k[0] == 'c' && v > 100000000))
        luaL_error(L, "spawn: rlimit '%s' must be a non-negative integer", k);
      if (k[0] == 'a') lim.as = (rlim_t)v; else lim.cpu = (rlim_t)v;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  return lim;
}

/* What the child does between fork and exec, all prepared before the
 * fork: it may only make async-signal-safe calls (the parent may have
 * threads; their locks are frozen in the child). */
struct plan {
  char **argv, **envp;
  const char *in, *out, *err, *cwd, *path; /* path: PATH for a bare argv[0] */
  struct limits lim;
  int report; /* close-on-exec pipe: {stage, errno} when the child fails */
};
enum { STAGE_SPAWN = 1, STAGE_LIMIT = 2 };

static void child_fail(const struct plan *p, int stage, int err) {
  int msg[2] = {stage, err};
  ssize_t w = write(p->report, msg, sizeof msg);
  (void)w;
  _exit(127);
}

/* opens path as fd target (relative paths: the caller's directory, as the
 * opens happen before chdir); 0 or an errno */
static int open_as(const char *path, int flags, int target) {
  int fd = open(path, flags | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  if (fd == target) return fcntl(fd, F_SETFD, 0) == 0 ? 0 : errno;
  int rc = dup2(fd, target) < 0 ? errno : 0; /* dup2 clears close-on-exec on target */
  close(fd);
  return rc;
}

static void exec_in_path(const struct plan *p) {
  const char *file = p->argv[0];
  if (strchr(file, '/')) {
    execve(file, p->argv, p->envp);
    return;
  }
  size_t flen = strlen(file);
  int seen_eacces = 0;
  const char *d = p->path;
  for (;;) {
    const char *colon = strchr(d, ':');
    size_t dlen = colon ? (size_t)(colon - d) : strlen(d);
    char buf[4096];
    if (dlen + flen + 2 <= sizeof buf) {
      size_t n = 0;
      if (dlen == 0) { /* an empty entry is the current directory */
        buf[n++] = '.';
      } else {
        memcpy(buf, d, dlen);
        n = dlen;
      }
      buf[n++] = '/';
      memcpy(buf + n, file, flen + 1);
      execve(buf, p->argv, p->envp);
      if (errno == EACCES) seen_eacces = 1;
      else if (errno != ENOENT && errno != ENOTDIR && errno != ENAMETOOLONG) return;
    }
    if (!colon) break;
    d = colon + 1;
  }
  errno = seen_eacces ? EACCES : ENOENT;
}

/* the child: never returns */
static void run_child(const struct plan *p) {
  /* default dispositions for the trappable signals and SIGXFSZ (the host
   * ignores it, main.c); an empty mask right before exec */
  static const int dfl[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGXFSZ, SIGXCPU, SIGPIPE};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof dfl / sizeof dfl[0]; i++)
    if (sigaction(dfl[i], &sa, NULL) != 0) child_fail(p, STAGE_SPAWN, errno);
  int rc = open_as(p->in ? p->in : "/dev/null", O_RDONLY, STDIN_FILENO);
  if (rc == 0 && p->out) rc = open_as(p->out, O_WRONLY | O_CREAT | O_TRUNC, STDOUT_FILENO);
  if (rc == 0 && p->err) rc = open_as(p->err, O_WRONLY | O_CREAT | O_TRUNC, STDERR_FILENO);
  if (rc == 0 && p->cwd && chdir(p->cwd) != 0) rc = errno;
  if (rc != 0) child_fail(p, STAGE_SPAWN, rc);
  /* the limits hold from the new program's first instruction */
  if (p->lim.as && AS_SUPPORTED) {
    struct rlimit rl = {p->lim.as, p->lim.as};
    if (setrlimit(RLIMIT_AS, &rl) != 0) child_fail(p, STAGE_LIMIT, errno);
  }
  if (p->lim.cpu) {
    struct rlimit rl = {p->lim.cpu, p->lim.cpu + CPU_KILL_GRACE};
    if (setrlimit(RLIMIT_CPU, &rl) != 0) child_fail(p, STAGE_LIMIT, errno);
  }
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) child_fail(p, STAGE_SPAWN, errno);
  exec_in_path(p);
  child_fail(p, STAGE_SPAWN, errno);
}

/* forks and execs; returns the pid, or -1 with *stage and *err set. Returns
 * once the child has exec'd (or failed to): the report pipe closes on exec. */
static pid_t start_child(struct plan *p, int *stage, int *err) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    *stage = STAGE_SPAWN;
    *err = errno;
    return -1;
  }
  p->report = pipefd[1];
  /* no handler of this process may run in the child before exec */
  sigset_t all, old;
  sigfillset(&all);
  int mrc = pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = mrc == 0 ? fork() : -1;
  if (pid == 0) run_child(p);
  int fork_err = errno;
  if (mrc == 0) (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(pipefd[1]);
  if (pid < 0) {
    close(pipefd[0]);
    *stage = STAGE_SPAWN;
    *err = mrc ? mrc : fork_err;
    return -1;
  }
  int msg[2];
  ssize_t n;
  do {
    n = read(pipefd[0], msg, sizeof msg);
  } while (n < 0 && errno == EINTR);
  close(pipefd[0]);
  if (n == 0) return pid; /* exec'd */
  if (n != (ssize_t)sizeof msg) {
    msg[0] = STAGE_SPAWN;
    msg[1] = n < 0 ? errno : EIO;
    (void)kill(pid, SIGKILL);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  *stage = msg[0];
  *err = msg[1];
  return -1;
}

static int l_spawn(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  static const char *const keys[] = {"argv",  "env", "replace", "stdout", "stderr",
                                     "stdin", "cwd", "rlimits", NULL};
  check_keys(L, keys);
  /* argv: a copy holding only strings (index 3) */
  if (lua_getfield(L, 1, "argv") != LUA_TTABLE) return luaL_error(L, "spawn: 'argv' must be a table");
  lua_Integer argc = (lua_Integer)lua_rawlen(L, 2);
  if (argc < 1 || argc > MAX_ARGS) return luaL_error(L, "spawn: 'argv' needs 1 to 4096 strings");
  lua_createtable(L, (int)argc, 0);
  for (lua_Integer i = 1; i <= argc; i++) {
    int t = lua_rawgeti(L, 2, i);
    if (t != LUA_TSTRING && t != LUA_TNUMBER) return luaL_error(L, "spawn: argv[%I] must be a string", i);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (strlen(s) != len) return luaL_error(L, "spawn: argv[%I] contains a NUL byte", i);
    lua_rawseti(L, 3, i);
  }
  lua_getfield(L, 1, "replace");
  int replace = lua_toboolean(L, -1);
  lua_pop(L, 1);
  lua_Integer nenv = build_env(L, 1, replace); /* index 4 */
  struct plan p;
  memset(&p, 0, sizeof p);
  p.argv = push_strv(L, 3, argc);         /* index 5 */
  p.envp = push_strv(L, 4, nenv);         /* index 6 */
  p.out = opt_string_field(L, 1, "stdout");
  p.err = opt_string_field(L, 1, "stderr");
  p.in = opt_string_field(L, 1, "stdin");
  p.cwd = opt_string_field(L, 1, "cwd");
  p.lim = check_rlimits(L);
  /* a bare name is searched in this process's PATH (as posix_spawnp) */
  const char *path = getenv("PATH");
  lua_pushstring(L, path ? path : "/bin:/usr/bin"); /* index 7: anchored */
  p.path = lua_tostring(L, -1);

  int stage = 0, err = 0;
  pid_t pid = start_child(&p, &stage, &err);
  if (pid < 0) return fail_errno(L, err, stage == STAGE_LIMIT ? "cannot limit" : "cannot spawn", p.argv[0]);
  lua_pushinteger(L, (lua_Integer)pid);
  return 1;
}

static pid_t check_pid(lua_State *L) {
  lua_Integer pid = luaL_checkinteger(L, 1);
  /* 0 and negatives address process groups (-1: every process) */
  luaL_argcheck(L, pid > 0 && pid == (lua_Integer)(pid_t)pid, 1, "a positive process id");
  return (pid_t)pid;
}

static int push_status(lua_State *L, pid_t pid, int options) {
  int st = 0;
  pid_t r;
  do {
    r = waitpid(pid, &st, options);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    char arg[32];
    int e = errno;
    snprintf(arg, sizeof arg, "%ld", (long)pid);
    return fail_errno(L, e, "cannot wait for process", arg);
  }
  if (r == 0) {
    lua_pushliteral(L, "running");
    return 1;
  }
  if (WIFEXITED(st)) {
    lua_pushliteral(L, "exited");
    lua_pushinteger(L, WEXITSTATUS(st));
  } else if (WIFSIGNALED(st)) {
    lua_pushliteral(L, "signaled");
    lua_pushinteger(L, WTERMSIG(st));
  } else {
    lua_pushliteral(L, "running"); /* stopped/continued: not reported with these options */
    return 1;
  }
  return 2;
}

static int l_poll(lua_State *L) {
  return push_status(L, check_pid(L), WNOHANG);
}

static int l_wait(lua_State *L) {
  return push_status(L, check_pid(L), 0);
}

static const struct {
  const char *name;
  int signo;
} signals[] = {{"TERM", SIGTERM}, {"KILL", SIGKILL}, {"INT", SIGINT},
               {"HUP", SIGHUP},   {"USR1", SIGUSR1}, {"USR2", SIGUSR2}};

#define NSIGNALS (sizeof signals / sizeof signals[0])

/* the signal named by the string at idx ("TERM" or "SIGTERM"); raises */
static int signal_named(lua_State *L, int idx) {
  const char *name = luaL_checkstring(L, idx);
  if (strncmp(name, "SIG", 3) == 0) name += 3;
  for (size_t i = 0; i < NSIGNALS; i++)
    if (strcmp(signals[i].name, name) == 0) return signals[i].signo;
  return luaL_argerror(L, idx, lua_pushfstring(L, "unknown signal '%s'", lua_tostring(L, idx)));
}

static int l_kill(lua_State *L) {
  pid_t pid = check_pid(L);
  int sig = SIGTERM;
  if (lua_type(L, 2) == LUA_TSTRING) {
    sig = signal_named(L, 2);
  } else if (!lua_isnoneornil(L, 2)) {
    lua_Integer s = luaL_checkinteger(L, 2);
    luaL_argcheck(L, s >= 0 && s < 65, 2, "a signal number");
    sig = (int)s;
  }
  if (kill(pid, sig) != 0) {
    char arg[32];
    int e = errno;
    snprintf(arg, sizeof arg, "%ld", (long)pid);
    return fail_errno(L, e, "cannot signal process", arg);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- trap: signals received through a signalfd ---------------------- */

#define TRAP_MT "nv.proc.trap"

struct trap {
  int fd; /* -1 once closed */
  sigset_t old; /* the mask before trap() */
};

static int l_trap(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  sigset_t set;
  sigemptyset(&set);
  lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
  luaL_argcheck(L, n > 0, 1, "one or more signal names");
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    int sig = signal_named(L, -1);
    luaL_argcheck(L, sig != SIGKILL, 1, "KILL cannot be trapped");
    sigaddset(&set, sig);
    lua_pop(L, 1);
  }
  struct trap *t = lua_newuserdatauv(L, sizeof *t, 0);
  t->fd = -1;
  luaL_setmetatable(L, TRAP_MT);
  int rc = pthread_sigmask(SIG_BLOCK, &set, &t->old);
  if (rc != 0) return fail_errno(L, rc, "cannot trap", "signals");
  t->fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (t->fd < 0) {
    int e = errno;
    (void)pthread_sigmask(SIG_SETMASK, &t->old, NULL);
    return fail_errno(L, e, "cannot trap", "signals");
  }
  return 1;
}

static int l_trap_take(lua_State *L) {
  struct trap *t = luaL_checkudata(L, 1, TRAP_MT);
  if (t->fd < 0) return luaL_error(L, "trap is closed");
  struct signalfd_siginfo si;
  ssize_t r;
  do {
    r = read(t->fd, &si, sizeof si);
  } while (r < 0 && errno == EINTR);
  if (r != (ssize_t)sizeof si) {
    if (r < 0 && errno != EAGAIN) return fail_errno(L, errno, "cannot read", "signals");
    lua_pushnil(L);
    return 1;
  }
  for (size_t i = 0; i < NSIGNALS; i++)
    if ((uint32_t)signals[i].signo == si.ssi_signo) {
      lua_pushstring(L, signals[i].name);
      return 1;
    }
  lua_pushinteger(L, (lua_Integer)si.ssi_signo);
  return 1;
}

static int l_trap_close(lua_State *L) {
  struct trap *t = luaL_checkudata(L, 1, TRAP_MT);
  if (t->fd >= 0) {
    (void)close(t->fd); /* nothing to flush: a failed close changes nothing */
    t->fd = -1;
    int rc = pthread_sigmask(SIG_SETMASK, &t->old, NULL);
    if (rc != 0) return fail_errno(L, rc, "cannot restore", "the signal mask");
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_umask(lua_State *L) {
  lua_Integer m = luaL_checkinteger(L, 1);
  luaL_argcheck(L, m >= 0 && m <= 0777, 1, "a mask between 0 and 0777");
  lua_pushinteger(L, (lua_Integer)umask((mode_t)m));
  return 1;
}

static const luaL_Reg trap_methods[] = {{"take", l_trap_take}, {"close", l_trap_close}, {NULL, NULL}};

static const luaL_Reg funcs[] = {{"spawn", l_spawn}, {"poll", l_poll}, {"wait", l_wait},
                                 {"kill", l_kill},   {"trap", l_trap}, {"umask", l_umask},
                                 {NULL, NULL}};

int luaopen_nv_proc(lua_State *L) {
  if (luaL_newmetatable(L, TRAP_MT)) {
    luaL_newlib(L, trap_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_trap_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_trap_close);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  lua_pushboolean(L, AS_SUPPORTED);
  lua_setfield(L, -2, "rlimit_as_supported");
  return 1;
}
