/* taskpool.c - see taskpool.h. One mutex guards the batch: its tasks are
 * coarse (a column chunk, a column of a batch), so claiming under a lock
 * costs nothing measurable and keeps the code obviously right. */
#include "taskpool.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#define STACK_BYTES ((size_t)1 << 20) /* tasks keep small frames */

struct nv_pool {
  pthread_mutex_t mu;
  pthread_cond_t work, done;
  pthread_t threads[NV_POOL_MAX_THREADS];
  unsigned nthreads; /* started, besides the caller */
  unsigned long gen; /* batch number; workers wait for a new one */
  int stop;
  /* the current batch */
  nv_pool_fn fn;
  void *ud;
  size_t ntasks, next, running;
};

/* Claims and runs tasks of the current batch until none is left; called
 * and returns with the lock held. */
static void drain(struct nv_pool *p, unsigned worker) {
  while (p->next < p->ntasks) {
    size_t task = p->next++;
    p->running++;
    nv_pool_fn fn = p->fn;
    void *ud = p->ud;
    pthread_mutex_unlock(&p->mu);
    fn(ud, task, worker);
    pthread_mutex_lock(&p->mu);
    if (--p->running == 0 && p->next >= p->ntasks) pthread_cond_broadcast(&p->done);
  }
}

struct start {
  struct nv_pool *pool;
  unsigned worker;
};

static void *worker_main(void *arg) {
  struct nv_pool *p = ((struct start *)arg)->pool;
  unsigned worker = ((struct start *)arg)->worker;
  free(arg);
  pthread_mutex_lock(&p->mu);
  unsigned long seen = p->gen;
  for (;;) {
    while (!p->stop && p->gen == seen) pthread_cond_wait(&p->work, &p->mu);
    if (p->stop) break;
    seen = p->gen;
    drain(p, worker);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

struct nv_pool *nv_pool_new(unsigned nthreads) {
  struct nv_pool *p = calloc(1, sizeof *p);
  if (p == NULL) return NULL;
  if (pthread_mutex_init(&p->mu, NULL) != 0) goto fail_mu;
  if (pthread_cond_init(&p->work, NULL) != 0) goto fail_work;
  if (pthread_cond_init(&p->done, NULL) != 0) goto fail_done;
  if (nthreads > NV_POOL_MAX_THREADS) nthreads = NV_POOL_MAX_THREADS;
  if (nthreads <= 1) return p;
  pthread_attr_t attr;
  int have_attr = pthread_attr_init(&attr) == 0;
  if (have_attr) (void)pthread_attr_setstacksize(&attr, STACK_BYTES);
  sigset_t all, old;
  sigfillset(&all);
  int masked = pthread_sigmask(SIG_SETMASK, &all, &old) == 0; /* inherited by the threads */
  for (unsigned i = 1; i < nthreads; i++) {
    struct start *s = malloc(sizeof *s);
    if (s == NULL) break;
    s->pool = p;
    s->worker = i;
    if (pthread_create(&p->threads[p->nthreads], have_attr ? &attr : NULL, worker_main, s) != 0) {
      free(s);
      break; /* fewer threads: still correct */
    }
    p->nthreads++;
  }
  if (masked) (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (have_attr) (void)pthread_attr_destroy(&attr);
  return p;
fail_done:
  pthread_cond_destroy(&p->work);
fail_work:
  pthread_mutex_destroy(&p->mu);
fail_mu:
  free(p);
  return NULL;
}

void nv_pool_free(struct nv_pool *p) {
  if (p == NULL) return;
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->mu);
  for (unsigned i = 0; i < p->nthreads; i++) (void)pthread_join(p->threads[i], NULL);
  pthread_cond_destroy(&p->done);
  pthread_cond_destroy(&p->work);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

unsigned nv_pool_size(const struct nv_pool *p) { return p->nthreads + 1; }

void nv_pool_run(struct nv_pool *p, size_t ntasks, nv_pool_fn fn, void *ud) {
  if (ntasks == 0) return;
  if (p->nthreads == 0 || ntasks == 1) { /* no hand-off to pay for */
    for (size_t t = 0; t < ntasks; t++) fn(ud, t, 0);
    return;
  }
  pthread_mutex_lock(&p->mu);
  p->fn = fn;
  p->ud = ud;
  p->ntasks = ntasks;
  p->next = 0;
  p->running = 0;
  p->gen++;
  pthread_cond_broadcast(&p->work);
  drain(p, 0);
  while (p->running > 0) pthread_cond_wait(&p->done, &p->mu);
  p->fn = NULL;
  p->ud = NULL;
  p->ntasks = 0;
  pthread_mutex_unlock(&p->mu);
}
