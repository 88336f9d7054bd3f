/* test_instream.c - stub until implemented. */
int main(void) { return 0; }
