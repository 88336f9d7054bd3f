/* reader.h - the one contract every file reader implements, and the one
 * list of them (readers.c).
 *
 * A reader is a descriptor: its format name, the other names open() takes
 * for it, the file extensions that name it, a sniff function scoring a
 * file's first bytes, and the Lua function that opens a file. The object
 * open returns answers the same methods whatever the format:
 *
 *   r:tables()                          -> { {name=, ...}, ... }
 *   r:profile_into(p [, table] [, {max_rows=, max_bytes=, progress=fn,
 *                  progress_bytes=, threads=, ...}]) -> stats | nil, msg, stats
 *     threads (1..64, default 1): how many threads may feed p; a reader
 *     that uses them gives the profile one thread gives (Parquet: the column
 *     chunks of a row group, CSV: the columns of a batch; JSON and xlsx
 *     read on one)
 *   r:rows([table,] [n])                -> iterator over the first n rows
 *   r:info()                            -> {format=, path=, ...}
 *   r:close()
 *
 * `table` is a name from tables() (nil: the first). Adding a format is one
 * reader file defining a `const struct nv_reader nv_reader_<name>` (its
 * module is loaded through the descriptor: no preload, no nvlua.h entry),
 * its name in readers.c's list, and the file in CMakeLists.txt. */
#ifndef NV_READER_H
#define NV_READER_H

#include <stddef.h>

#include <lua.h>

/* Bytes a sniffer is shown (fewer when the file is shorter: then eof). */
#define NV_SNIFF_BYTES 65536

/* hint: 1 when the file's name has one of this reader's extensions, -1
 * when it has another reader's, 0 otherwise. Returns 0 (not this format)
 * to 100 (proof, e.g. magic bytes); 50 and above is a claim, below it a
 * fallback (text reads as CSV). Pure: no I/O, no allocation that outlives it. */
typedef int (*nv_sniff_fn)(const unsigned char *buf, size_t n, int eof, int hint);

struct nv_reader {
  const char *name;                /* the format: "csv", "json", ... */
  const char *const *aliases;      /* other names open() accepts, NULL-terminated */
  const char *const *extensions;   /* ".csv", ... (lower case; .gz/.zst aside) */
  nv_sniff_fn sniff;
  lua_CFunction open;              /* (path [, opts]) -> reader | nil, msg, code */
  const char *module;              /* the Lua module open belongs to, e.g. "nv.csv" */
  lua_CFunction luaopen;           /* its luaopen (run once before open: metatables) */
};

/* NULL-terminated, in the order sniff ties are broken. */
extern const struct nv_reader *const nv_readers[];

/* The reader named name (or one of its aliases), or NULL. */
const struct nv_reader *nv_readers_find(const char *name);

/* The reader whose extension ends path (compression suffixes aside), or NULL. */
const struct nv_reader *nv_readers_named(const char *path);

/* The best-scoring reader for buf (path may be NULL: no name hints), its
 * score in *score; NULL (score 0) when none claims the bytes at all. */
const struct nv_reader *nv_readers_sniff(const unsigned char *buf, size_t n, int eof,
                                         const char *path, int *score);

/* For the single-table readers' methods: when the argument at idx is a
 * string (or nil with arguments after it) it is the table name — it must
 * be the file's one table, as tables() names it — and is removed, so the
 * reader's own argument order follows. */
void nv_reader_single_table_arg(lua_State *L, int idx, const char *path);

/* The path a reader userdata at idx keeps as its user value 1 ("?" if none). */
const char *nv_reader_uv_path(lua_State *L, int idx);

/* Raises "the reader is busy: ..." when busy (inside its progress callback). */
void nv_reader_check_idle(lua_State *L, int busy);

/* close()'s results: true, or nil, "<path>: error closing the file". */
int nv_reader_push_closed(lua_State *L, int failed, const char *path);

/* Calls the progress function at stack index *fn with bytes, *busy set
 * meanwhile (the reader refuses close and reads); an error in it clears
 * *fn (no further calls). Returns 1 when it returned false (cancel). */
int nv_reader_progress(lua_State *L, int *fn, int *busy, lua_Integer bytes);

/* Pushes tables() of a single-table reader: { {name = <file name without
 * directories, compression and format extensions>} }. */
void nv_reader_push_single_table(lua_State *L, const char *path);

#endif
