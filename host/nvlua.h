/* nvlua.h - the C modules the host preloads, and the services C code shares. */
#ifndef NVLUA_H
#define NVLUA_H

#include <lua.h>

int luaopen_nv_log(lua_State *L);
int luaopen_nv_sys(lua_State *L);
int luaopen_nv_store_sqlite(lua_State *L);
int luaopen_nv_pg(lua_State *L);
int luaopen_nv_mysql(lua_State *L);
int luaopen_nv_odbc(lua_State *L);
int luaopen_nv_fs(lua_State *L);
int luaopen_nv_profile(lua_State *L);
int luaopen_nv_csv(lua_State *L);
int luaopen_nv_jsonfile(lua_State *L);
int luaopen_nv_parquet(lua_State *L);
int luaopen_nv_http(lua_State *L);
int luaopen_nv_xlsx(lua_State *L);
int luaopen_nv_objstore(lua_State *L);
int luaopen_nv_httpd(lua_State *L);
int luaopen_nv_proc(lua_State *L);
int luaopen_nv_readers(lua_State *L);

/* nv.profile: the engine inside a "nv.Profile" userdata at idx (raises if
 * idx is not an open profile), and a new empty one pushed on the stack. */
struct nv_profiler;
struct nv_profiler *nv_profile_check(lua_State *L, int idx);
/* The profiler of the nv.Profile at idx, or NULL if it is not one or is closed. */
struct nv_profiler *nv_profile_test(lua_State *L, int idx);
struct nv_profiler *nv_profile_push_new(lua_State *L);

enum nv_log_level { NV_DEBUG = 10, NV_INFO = 20, NV_WARNING = 30, NV_ERROR = 40 };

/* Logs one line through the state's logger (masking applied). Never raises;
 * usable from any C module holding L. */
void nv_log_emit(lua_State *L, int level, const char *module, const char *msg);

/* Resource limits (limits.c): the allocator's ud, owned by main(). */
struct nv_limits {
  size_t used, peak, max_bytes; /* max_bytes 0: no cap */
  size_t refused;
  double cpu_seconds;           /* 0: no limit */
  int cpu_fired;                /* the CPU-limit error was raised once */
  size_t data_base;             /* VmData when the memory limit was first set */
  double wall_seconds;          /* 0: no limit */
  double wall_start;            /* CLOCK_MONOTONIC when it was first set */
  int wall_fired;
  int report_fd;                /* the supervisor's pipe (supervisor.c), or -1 */
};
void *nv_limits_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
void nv_limits_attach(lua_State *L, struct nv_limits *lim);
int luaopen_nv_limits(lua_State *L);
int luaopen_nv_workers(lua_State *L);

/* Builds the state: standard libraries, preloaded nv.* and cjson modules,
 * package.path from the resolved roots. Returns NULL on failure, with a
 * message written to err. */
lua_State *nv_runtime_new(const char *argv0, int no_env, struct nv_limits *lim, char *err,
                          size_t errsz);

/* The interactive loop; returns when input ends. */
void nv_repl(lua_State *L);

/* lua_pcall with a traceback message handler; on error leaves the message. */
int nv_pcall(lua_State *L, int nargs, int nresults);

#endif
