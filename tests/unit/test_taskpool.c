/* test_taskpool.c - the reader's task pool: every task of every batch runs
 * exactly once, on a worker index in range, and nv_pool_run returns only
 * after all of them; many short batches (the lost-wakeup case), a pool of
 * one (no threads), the 64-thread cap. (Profiler columns fed on threads:
 * test_profiler.c.) */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../host/taskpool.h"
#include "check.h"

struct count {
  _Atomic unsigned *hits; /* per task */
  _Atomic unsigned bad_worker;
  unsigned nworkers;
  _Atomic unsigned long sum;
};

static void count_task(void *ud, size_t task, unsigned worker) {
  struct count *c = ud;
  c->hits[task]++;
  if (worker >= c->nworkers) c->bad_worker++;
  /* a little work so that tasks overlap */
  unsigned long x = task;
  for (int i = 0; i < 200; i++) x = x * 6364136223846793005UL + 1442695040888963407UL;
  c->sum += x & 1;
}

static void run_batches(unsigned threads, size_t batches, size_t ntasks) {
  struct nv_pool *p = nv_pool_new(threads);
  CHECK(p != NULL);
  if (!p) return;
  CHECK(nv_pool_size(p) >= 1 && nv_pool_size(p) <= (threads ? (threads > 64 ? 64 : threads) : 1));
  _Atomic unsigned *hits = calloc(ntasks ? ntasks : 1, sizeof *hits);
  struct count c = {hits, 0, nv_pool_size(p), 0};
  for (size_t b = 0; b < batches; b++) {
    for (size_t t = 0; t < ntasks; t++) hits[t] = 0;
    nv_pool_run(p, ntasks, count_task, &c);
    for (size_t t = 0; t < ntasks; t++) CHECK(hits[t] == 1); /* all done, once, before return */
  }
  CHECK(c.bad_worker == 0);
  free(hits);
  nv_pool_free(p);
}

int main(void) {
  run_batches(1, 100, 17);
  run_batches(2, 20000, 3); /* many short batches */
  run_batches(4, 2000, 64);
  run_batches(3, 1000, 1);
  run_batches(2, 10, 0);
  run_batches(200, 5, 500); /* capped at 64 */
  nv_pool_free(NULL);

  return CHECK_DONE();
}
