/* profiler.c - stub, replaced by its implementation. */
typedef int nv_profiler_placeholder;
