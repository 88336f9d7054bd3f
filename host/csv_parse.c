/* csv_parse.c - stub, replaced by its implementation. */
typedef int nv_csv_parse_placeholder;
