/* workers.c - the `nv.workers` module: run a Lua function over many inputs
 * on a bounded pool of OS threads, one fresh lua_State per thread (built by
 * runtime.c, so each has its own nv.log, store connections and limits).
 * Only strings cross between states: inputs are copied into C memory before
 * the threads start, outputs are copied back after they finish.
 *
 *   workers.map("module.function", { input1, input2, ... }, nthreads)
 *     -> { {ok = true, value = out} | {ok = false, error = msg}, ... }
 * The function receives one input string and must return a string. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "cores.h"
#include "nvlua.h"

#define MAX_THREADS 64

struct item {
  char *in;
  size_t in_len;
  char *out; /* result or error message, malloc'd by the worker */
  size_t out_len;
  int ok;
};

struct pool {
  pthread_mutex_t mu;
  size_t next, n;
  struct item *items;
  char module[128], func[128];
  char *argv0;
};

static char *dup_bytes(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

static void set_result(struct item *it, int ok, const char *s, size_t n) {
  it->ok = ok;
  it->out = dup_bytes(s, n);
  it->out_len = it->out ? n : 0;
}

struct call {
  struct pool *pool;
  struct item *it;
};

/* runs inside the worker's state, protected */
static int run_one(lua_State *L) {
  struct call *c = lua_touserdata(L, 1);
  lua_getglobal(L, "require");
  lua_pushstring(L, c->pool->module);
  lua_call(L, 1, 1);
  lua_getfield(L, -1, c->pool->func);
  if (!lua_isfunction(L, -1))
    return luaL_error(L, "%s.%s is not a function", c->pool->module, c->pool->func);
  lua_pushlstring(L, c->it->in, c->it->in_len);
  lua_call(L, 1, 1);
  size_t n;
  const char *s = lua_tolstring(L, -1, &n);
  if (s == NULL) return luaL_error(L, "%s.%s returned a %s, not a string", c->pool->module,
                                   c->pool->func, luaL_typename(L, -1));
  set_result(c->it, 1, s, n);
  if (c->it->out == NULL) return luaL_error(L, "not enough memory for the result");
  return 0;
}

static void *worker_main(void *arg) {
  struct pool *pool = arg;
  for (;;) {
    pthread_mutex_lock(&pool->mu);
    size_t i = pool->next < pool->n ? pool->next++ : pool->n;
    pthread_mutex_unlock(&pool->mu);
    if (i >= pool->n) break;
    struct item *it = &pool->items[i];
    struct nv_limits limits = {0};
    char err[512];
    lua_State *L = nv_runtime_new(pool->argv0, 0, &limits, err, sizeof err);
    if (L == NULL) {
      set_result(it, 0, err, strlen(err));
      continue;
    }
    struct call c = {pool, it};
    lua_pushcfunction(L, run_one);
    lua_pushlightuserdata(L, &c);
    if (nv_pcall(L, 1, 0) != LUA_OK && it->out == NULL) {
      size_t n;
      const char *msg = lua_tolstring(L, -1, &n);
      if (msg == NULL) msg = "(error object is not a string)", n = strlen(msg);
      set_result(it, 0, msg, n);
    }
    lua_close(L);
  }
  return NULL;
}

static void free_items(struct item *items, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(items[i].in);
    free(items[i].out);
  }
  free(items);
}

/* Owns the pool's C memory for the duration of map() (freed by __gc too). */
struct guard {
  struct item *items;
  size_t n;
};

static int guard_gc(lua_State *L) {
  struct guard *g = lua_touserdata(L, 1);
  if (g->items) free_items(g->items, g->n);
  g->items = NULL;
  return 0;
}

static int l_map(lua_State *L) {
  const char *target = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer nthreads = luaL_optinteger(L, 3, 2);
  luaL_argcheck(L, nthreads >= 1 && nthreads <= MAX_THREADS, 3, "between 1 and 64");
  const char *dot = strrchr(target, '.');
  luaL_argcheck(L, dot && dot != target && strlen(dot + 1) < 128 && (size_t)(dot - target) < 128, 1,
                "expected 'module.function'");
  size_t n = lua_rawlen(L, 2);
  struct guard *g = lua_newuserdatauv(L, sizeof *g, 0);
  g->items = NULL;
  g->n = 0;
  lua_newtable(L);
  lua_pushcfunction(L, guard_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  if (n > 0) {
    g->items = calloc(n, sizeof *g->items);
    if (g->items == NULL) return luaL_error(L, "not enough memory");
    g->n = n;
  }
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, 2, (lua_Integer)i + 1);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (s == NULL) return luaL_error(L, "input %d is not a string", (int)i + 1);
    g->items[i].in = dup_bytes(s, len);
    if (g->items[i].in == NULL) return luaL_error(L, "not enough memory");
    g->items[i].in_len = len;
    lua_pop(L, 1);
  }
  struct pool pool;
  memset(&pool, 0, sizeof pool);
  memcpy(pool.module, target, (size_t)(dot - target));
  memcpy(pool.func, dot + 1, strlen(dot + 1));
  pool.items = g->items;
  pool.n = n;
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, "nv.host");
  lua_getfield(L, -1, "exe");
  char exe[4096] = "nvlua";
  if (lua_isstring(L, -1)) {
    size_t elen;
    const char *e = lua_tolstring(L, -1, &elen);
    if (elen < sizeof exe) memcpy(exe, e, elen + 1);
  }
  lua_pop(L, 3);
  pool.argv0 = exe;
  if (pthread_mutex_init(&pool.mu, NULL) != 0) return luaL_error(L, "cannot create a mutex");
  size_t nt = (size_t)nthreads < n ? (size_t)nthreads : n;
  pthread_t th[MAX_THREADS];
  size_t started = 0;
  for (; started < nt; started++)
    if (pthread_create(&th[started], NULL, worker_main, &pool) != 0) break;
  if (started == 0 && n > 0) worker_main(&pool); /* no thread: run here */
  for (size_t i = 0; i < started; i++) pthread_join(th[i], NULL);
  pthread_mutex_destroy(&pool.mu);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    struct item *it = &g->items[i];
    lua_createtable(L, 0, 2);
    lua_pushboolean(L, it->ok);
    lua_setfield(L, -2, "ok");
    if (it->out)
      lua_pushlstring(L, it->out, it->out_len);
    else
      lua_pushliteral(L, "worker produced no result (out of memory)");
    lua_setfield(L, -2, it->ok ? "value" : "error");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* ncpu() -> the processors this process may use (affinity and cgroup
 * quota applied), {online =, affinity =, quota =} (0: none / unknown) */
static int l_ncpu(lua_State *L) {
  struct nv_cores c;
  nv_cores(&c);
  lua_pushinteger(L, c.available);
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, c.online);
  lua_setfield(L, -2, "online");
  lua_pushinteger(L, c.affinity);
  lua_setfield(L, -2, "affinity");
  lua_pushinteger(L, c.quota);
  lua_setfield(L, -2, "quota");
  return 2;
}

/* cgroup_cpu_limit(root, proc_cgroup) -> whole CPUs of the tightest quota, 0 when none */
static int l_cgroup_cpu_limit(lua_State *L) {
  const char *root = luaL_checkstring(L, 1), *proc = luaL_checkstring(L, 2);
  lua_pushinteger(L, nv_cgroup_cpu_limit(root, proc));
  return 1;
}

static const luaL_Reg funcs[] = {
    {"map", l_map}, {"ncpu", l_ncpu}, {"cgroup_cpu_limit", l_cgroup_cpu_limit}, {NULL, NULL}};

int luaopen_nv_workers(lua_State *L) {
  luaL_newlib(L, funcs);
  return 1;
}
