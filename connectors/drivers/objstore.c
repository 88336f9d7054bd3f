/* objstore.c - the `nv.objstore` module: the C primitives nv.s3, nv.azure
 * and nv.remote build on.
 *
 *   parse_list(xml) -> {kind = "s3"|"azure"|"error", entries = {{key=, size=,
 *                       last_modified = epoch, etag=}, …}, next=, truncated=,
 *                       code=, message=} | nil, message
 *   parse_time(s)   -> epoch | nil          (ISO 8601 Z or RFC 1123)
 *   hmac_sha256(key, data) -> 32 raw bytes;  sha256(data) -> 32 raw bytes
 *   hex(s) -> lowercase hex;  base64(s) -> text;  unbase64(text) -> s | nil, message
 *   glob(pattern, rel) -> boolean   (fnmatch on the path, then on its basename,
 *                                    as nv.fs's include/exclude)
 *   trim_partial_line(path) -> bytes kept | nil, message, kind, errno
 *     cuts a prefix-only download after its last '\n' (looks back at most
 *     1 MiB; a file without one is kept whole)
 *
 * Uses: xmllist.c (expat), OpenSSL libcrypto (HMAC, SHA-256, base64).
 * Invariants: the listing lives in a "nv.objstore.List" userdata while the
 * Lua result is built, so a raise (out of memory) frees it through __gc. */
#include <errno.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "luax.h"
#include "nvlua.h"
#include "readers/xmllist.h"

#define LIST_MT "nv.objstore.List"
#define TRIM_WINDOW ((off_t)1 << 20)

static int list_gc(lua_State *L) {
  nv_xmllist_free(luaL_checkudata(L, 1, LIST_MT));
  return 0;
}

static int l_parse_list(lua_State *L) {
  size_t n;
  const char *xml = luaL_checklstring(L, 1, &n);
  struct nv_xmllist *l = lua_newuserdatauv(L, sizeof *l, 0);
  nv_xmllist_init(l);
  luaL_setmetatable(L, LIST_MT);
  char err[256];
  if (nv_xmllist_parse(l, xml, n, err, sizeof err) != 0) {
    nv_xmllist_free(l);
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
  }
  lua_createtable(L, 0, 6);
  static const char *const kinds[] = {"?", "s3", "azure", "error"};
  lua_pushstring(L, kinds[l->kind]);
  lua_setfield(L, -2, "kind");
  lua_createtable(L, (int)(l->n > 100000 ? 100000 : l->n), 0);
  for (size_t i = 0; i < l->n; i++) {
    const struct nv_xmllist_entry *e = &l->items[i];
    lua_createtable(L, 0, 4);
    lua_pushlstring(L, e->key, e->key_len);
    lua_setfield(L, -2, "key");
    if (e->size >= 0) {
      lua_pushinteger(L, (lua_Integer)e->size);
      lua_setfield(L, -2, "size");
    }
    if (e->mtime != INT64_MIN) {
      lua_pushinteger(L, (lua_Integer)e->mtime);
      lua_setfield(L, -2, "last_modified");
    }
    if (e->etag) {
      lua_pushlstring(L, e->etag, e->etag_len);
      lua_setfield(L, -2, "etag");
    }
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "entries");
  if (l->next) {
    lua_pushlstring(L, l->next, l->next_len);
    lua_setfield(L, -2, "next");
  }
  lua_pushboolean(L, l->truncated);
  lua_setfield(L, -2, "truncated");
  if (l->code) {
    lua_pushstring(L, l->code);
    lua_setfield(L, -2, "code");
  }
  if (l->message) {
    lua_pushstring(L, l->message);
    lua_setfield(L, -2, "message");
  }
  nv_xmllist_free(l);
  return 1;
}

static int l_parse_time(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  int ok;
  int64_t t = nv_xmllist_time(s, n, &ok);
  if (!ok) {
    luaL_pushfail(L);
    return 1;
  }
  lua_pushinteger(L, (lua_Integer)t);
  return 1;
}

static int l_hmac_sha256(lua_State *L) {
  size_t kn, dn;
  const char *key = luaL_checklstring(L, 1, &kn);
  const char *data = luaL_checklstring(L, 2, &dn);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int outn = 0;
  if (kn > INT32_MAX) return luaL_error(L, "nv.objstore.hmac_sha256: key too long");
  if (HMAC(EVP_sha256(), key, (int)kn, (const unsigned char *)data, dn, out, &outn) == NULL)
    return luaL_error(L, "nv.objstore.hmac_sha256: HMAC failed");
  lua_pushlstring(L, (const char *)out, outn);
  return 1;
}

static int l_sha256(lua_State *L) {
  size_t n;
  const char *data = luaL_checklstring(L, 1, &n);
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256((const unsigned char *)data, n, out);
  lua_pushlstring(L, (const char *)out, sizeof out);
  return 1;
}

static int l_hex(lua_State *L) {
  size_t n;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
  static const char digits[] = "0123456789abcdef";
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, n * 2);
  for (size_t i = 0; i < n; i++) {
    p[2 * i] = digits[s[i] >> 4];
    p[2 * i + 1] = digits[s[i] & 15];
  }
  luaL_pushresultsize(&b, n * 2);
  return 1;
}

static int l_base64(lua_State *L) {
  size_t n;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
  if (n > (size_t)INT32_MAX / 4 * 3 - 3) return luaL_error(L, "nv.objstore.base64: input too long");
  size_t out = (n + 2) / 3 * 4;
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, out + 1);
  int w = EVP_EncodeBlock((unsigned char *)p, s, (int)n);
  luaL_pushresultsize(&b, (size_t)w);
  return 1;
}

static int l_unbase64(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  if (n % 4 != 0 || n > (size_t)INT32_MAX) {
    luaL_pushfail(L);
    lua_pushliteral(L, "not base64 (length is not a multiple of 4)");
    return 2;
  }
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, n / 4 * 3 + 1);
  int w = EVP_DecodeBlock((unsigned char *)p, (const unsigned char *)s, (int)n);
  if (w < 0) {
    luaL_pushresultsize(&b, 0);
    luaL_pushfail(L);
    lua_pushliteral(L, "not base64");
    return 2;
  }
  /* EVP_DecodeBlock keeps the padding's zero bytes */
  if (n >= 1 && s[n - 1] == '=') w--;
  if (n >= 2 && s[n - 2] == '=') w--;
  luaL_pushresultsize(&b, (size_t)w);
  return 1;
}

static int l_glob(lua_State *L) {
  const char *pat = luaL_checkstring(L, 1);
  const char *rel = luaL_checkstring(L, 2);
  const char *base = strrchr(rel, '/');
  base = base ? base + 1 : rel;
  lua_pushboolean(L, fnmatch(pat, rel, FNM_PATHNAME) == 0 || fnmatch(pat, base, 0) == 0 ||
                         fnmatch(pat, rel, 0) == 0);
  return 1;
}

/* nil, "path: cannot what: strerror", kind, errno */
static int file_fail(lua_State *L, const char *path, const char *what, int e) {
  lua_pushfstring(L, "%s: cannot %s: %s", path, what, strerror(e));
  return nv_push_fail_errno(L, lua_tostring(L, -1), e);
}

static int l_trim_partial_line(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  FILE *f = fopen(path, "rb");
  if (f == NULL) return file_fail(L, path, "open", errno);
  if (fseeko(f, 0, SEEK_END) != 0) {
    int e = errno;
    fclose(f);
    return file_fail(L, path, "seek", e);
  }
  off_t size = ftello(f);
  off_t start = size > TRIM_WINDOW ? size - TRIM_WINDOW : 0;
  if (size < 0 || fseeko(f, start, SEEK_SET) != 0) {
    int e = errno;
    fclose(f);
    return file_fail(L, path, "seek", e);
  }
  luaL_Buffer b;
  size_t want = (size_t)(size - start);
  char *p = luaL_buffinitsize(L, &b, want + 1);
  size_t got = fread(p, 1, want, f);
  int rerr = ferror(f);
  if (fclose(f) != 0 || rerr || got != want) return file_fail(L, path, "read", EIO);
  off_t keep = size;
  for (size_t i = got; i > 0; i--)
    if (p[i - 1] == '\n') {
      keep = start + (off_t)i;
      break;
    }
  luaL_pushresultsize(&b, 0);
  lua_pop(L, 1);
  if (keep != size && truncate(path, keep) != 0) return file_fail(L, path, "truncate", errno);
  lua_pushinteger(L, (lua_Integer)keep);
  return 1;
}

static const luaL_Reg funcs[] = {{"parse_list", l_parse_list},
                                 {"parse_time", l_parse_time},
                                 {"hmac_sha256", l_hmac_sha256},
                                 {"sha256", l_sha256},
                                 {"hex", l_hex},
                                 {"base64", l_base64},
                                 {"unbase64", l_unbase64},
                                 {"glob", l_glob},
                                 {"trim_partial_line", l_trim_partial_line},
                                 {NULL, NULL}};

static const luaL_Reg list_meta[] = {{"__gc", list_gc}, {"__close", list_gc}, {NULL, NULL}};

int luaopen_nv_objstore(lua_State *L) {
  nv_createmeta(L, LIST_MT, list_meta, NULL);
  luaL_newlib(L, funcs);
  return 1;
}
