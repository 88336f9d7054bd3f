/* instream.c - stub */
typedef int nv_instream_placeholder;
