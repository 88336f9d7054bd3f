/* test_json_parse.c - stub until implemented. */
int main(void) { return 0; }
