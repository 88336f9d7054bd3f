/* test_profiler.c - stub until implemented. */
int main(void) { return 0; }
