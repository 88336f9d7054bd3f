/* luax.h - the Lua C API helpers every binding shares: the expected-failure
 * triple, unknown-option checks and metatable setup (liolib's createmeta). */
#ifndef NV_LUAX_H
#define NV_LUAX_H

#include <lauxlib.h>
#include <lua.h>

/* Pushes nil, msg, code (the kind: "io", "parse", ...); returns 3. */
int nv_push_fail(lua_State *L, const char *msg, const char *code);

/* The error convention's kind for an errno (README "Errors"): ENOENT and
 * ENOTDIR "notfound", EACCES/EPERM/EROFS "permission", EEXIST/ENOTEMPTY
 * "exists", EWOULDBLOCK/EADDRINUSE "busy", ENOMEM "memory", ETIMEDOUT
 * "timeout", ECONNREFUSED and the other unreachable-peer errnos "connect",
 * EMFILE/ENFILE "limit", EINVAL/ENAMETOOLONG/EISDIR/ELOOP "usage",
 * ENOSYS/EOPNOTSUPP/ENOLCK "unsupported", anything else (EIO, ENOSPC, ...)
 * "io". */
const char *nv_errno_kind(int e);

/* The error convention's kind for a SQLSTATE (PostgreSQL's or ODBC's):
 * class 08, the server going away (57P0x) and the driver manager's IMxxx
 * "connect"; 28 "auth"; 42501 and 25006 (a write in a read-only
 * transaction) "permission"; 57014 "cancelled", or "timeout" when msg
 * (may be NULL) says a statement timeout fired; HYT00/HYT01 "timeout";
 * HY008 "cancelled"; HY009/HY024/HY090 (an invalid argument) "usage"; 40
 * and 55P03 "busy"; 53300 "limit"; 53200 and HY001
 * "memory"; 53100 and 58 "io"; 0A, HYC00 and IM001 "unsupported"; anything
 * else "sql". */
const char *nv_sqlstate_kind(const char *state, const char *msg);

/* Pushes nil, msg, kind, native (errno, a driver's error number); returns 4. */
int nv_push_fail_code(lua_State *L, const char *msg, const char *kind, lua_Integer native);

/* Pushes nil, msg, nv_errno_kind(e), e; returns 4. */
int nv_push_fail_errno(lua_State *L, const char *msg, int e);

/* Replaces the message on the stack top with nil, message, kind, native
 * (a string: a SQLSTATE); returns 4. */
int nv_fail_top_state(lua_State *L, const char *kind, const char *native);

/* Raises "[prefix: ]unknown option 'k'" for a key of the table at idx that
 * is not in the NULL-terminated keys; nil/none passes, another type raises
 * an argument error. prefix may be NULL. */
void nv_check_keys(lua_State *L, int idx, const char *const *keys, const char *prefix);

/* Creates the metatable tname once: its metamethods, and __index = a table
 * of methods when methods is not NULL. Leaves the stack as it was. */
void nv_createmeta(lua_State *L, const char *tname, const luaL_Reg *metamethods,
                   const luaL_Reg *methods);

/* opts[key] (opts at idx, nil/none: def) as an integer in [lo, hi]; raises
 * "option 'key' must be an integer in [lo, hi]" otherwise. */
lua_Integer nv_opt_int(lua_State *L, int idx, const char *key, lua_Integer def, lua_Integer lo,
                       lua_Integer hi);

/* opts[key] when it is a function: left on the stack, its index returned;
 * nil/none: 0 (nothing pushed); another type raises. */
int nv_opt_function(lua_State *L, int idx, const char *key);

/* A zeroed full userdata of size bytes with metatable tname, pushed. */
void *nv_newudata(lua_State *L, size_t size, const char *tname);

#endif
