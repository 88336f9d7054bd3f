/* taskpool.h - a fixed set of OS threads that run batches of independent
 * C tasks (no Lua): the readers use it to profile the columns of one row
 * group or one batch of records on every core. The caller's thread is
 * worker 0 and takes tasks too; nv_pool_run returns when all are done, so
 * a task may use the caller's memory freely.
 *
 * A task must not touch a lua_State or raise; results travel in the
 * caller's structures (one slot per task or per worker). */
#ifndef NV_TASKPOOL_H
#define NV_TASKPOOL_H

#include <stddef.h>

#define NV_POOL_MAX_THREADS 64

struct nv_pool;

/* fn(ud, task, worker): task in [0, ntasks), worker in [0, nv_pool_size). */
typedef void (*nv_pool_fn)(void *ud, size_t task, unsigned worker);

/* A pool of up to nthreads workers (the caller included; 1..64). Threads
 * the system refuses are not an error: the pool has fewer (at least the
 * caller). NULL only when out of memory. Worker threads block signals, so
 * SIGTERM/SIGINT reach the caller's thread. */
struct nv_pool *nv_pool_new(unsigned nthreads);
/* Stops and joins the threads; NULL is ignored. */
void nv_pool_free(struct nv_pool *pool);
unsigned nv_pool_size(const struct nv_pool *pool);

/* Runs tasks 0..ntasks-1 (claimed in that order; put the biggest first)
 * on all workers and waits for them. Not reentrant. */
void nv_pool_run(struct nv_pool *pool, size_t ntasks, nv_pool_fn fn, void *ud);

#endif
