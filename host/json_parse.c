/* json_parse.c - stub, replaced by its implementation. */
typedef int nv_json_parse_placeholder;
