/* http.c - the `nv.http` module: HTTP(S) requests through libcurl's easy
 * interface, with retries (exponential backoff with jitter, Retry-After
 * honoured), gzip request bodies, gzip responses, bounded response bodies
 * and error messages that never show credentials.
 *
 *   request{method=, url=, headers=, body=, gzip=, timeout=, connect_timeout=,
 *           retries=, retry_base=, retry_max=, max_body=, ca_bundle=, verify=,
 *           bearer=, follow=, aws_sigv4=, userpwd=, aws_session_token=,
 *           range=, output=, truncate=, connect_to=}
 *     -> {status=, headers={lowercased name = value}, body=, attempts=,
 *         elapsed=, url=} | nil, message, code
 *
 *   aws_sigv4 = "aws:amz:REGION:s3" signs with libcurl's SigV4 using
 *   userpwd = "KEY:SECRET"; it adds x-amz-content-sha256 (the empty-body
 *   hash, or UNSIGNED-PAYLOAD with a body) unless given, and
 *   aws_session_token adds x-amz-security-token. Every header given is
 *   signed. range = "bytes=0-1023" sends a Range header. connect_to =
 *   "HOST:PORT:HOST2:PORT2" (or a list) as curl's --connect-to.
 *
 *   output = path streams a 2xx body to that file instead of memory, at most
 *   max_body bytes (default unlimited with output): more is an error
 *   ("too_large"), or with truncate = true the transfer stops there and the
 *   response has truncated = true. The response then has bytes= (written),
 *   truncated=, path=, and body holds only a non-2xx response's body (first
 *   64 KiB). The file exists after the call only if a 2xx response came.
 *   get(url [, opts])              -> as request, method GET
 *   post_json(url, value [, opts]) -> as request, plus .json (decoded body)
 *
 * An HTTP response of any status is a response (the caller decides); nil,
 * message, code is for transfers that produced none. code is one of
 * "connect", "timeout", "resolve", "tls", "network", "too_large", "url",
 * "nomem", "io" (the output file), "curl". Misuse (unknown option, bad type, a header value with a
 * line break) raises.
 *
 * Uses: libcurl (transfer, TLS, proxies from the usual environment
 * variables), zlib (gzip request bodies), nv.log (mask for messages,
 * add_secret for bearer tokens, the userpwd secret and session tokens).
 *
 * Invariants: every C resource of a call lives in one "nv.http.Call"
 * userdata on the Lua stack, so any raise frees it through __gc; close is
 * idempotent. libcurl callbacks never touch Lua: they record overflow or
 * out-of-memory in the call and the caller reports after
 * curl_easy_perform() returns. Module state (the curl_global_init
 * reference and the nv.log table) is held in upvalues; no C globals. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <lauxlib.h>
#include <lua.h>
#include <zlib.h>

#include "luax.h"
#include "nvlua.h"

#define STATE_MT "nv.http.State"
#define CALL_MT "nv.http.Call"
#define UP_STATE lua_upvalueindex(1)
#define UP_LOG lua_upvalueindex(2)

#define DEFAULT_MAX_BODY ((lua_Integer)64 * 1024 * 1024)
#define MAX_HEADER_BYTES ((size_t)256 * 1024)
#define MAX_RETRIES 20
#define MAX_HEADER_NAME 128
#define MAX_ERROR_BODY ((size_t)64 * 1024)
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct state {
  int curl_ready; /* curl_global_init succeeded; cleanup owed */
};

struct buf {
  char *p;
  size_t n, cap;
};

struct call {
  CURL *easy;
  struct curl_slist *headers;
  struct curl_slist *connect_to;
  unsigned char *gz; /* gzip'd request body */
  size_t gzn;
  struct buf body, hdr; /* hdr: the last response's header block */
  size_t max_body;
  int body_too_big, hdr_too_big, oom; /* recorded by the callbacks */
  FILE *out;             /* output= file, or NULL (body kept in memory) */
  size_t written;        /* bytes of a 2xx body written to out */
  int capped, trunc_ok;  /* max_body reached; stopping there is success */
  int io_errno;          /* a failed write to out */
  char errbuf[CURL_ERROR_SIZE];
};

/* ---- buffers and the call handle ------------------------------------- */

/* Appends s[0..n) to b unless the result would exceed limit.
 * Returns 0, or -1 (out of memory), or -2 (limit). */
static int buf_add(struct buf *b, const char *s, size_t n, size_t limit) {
  if (n > limit || b->n > limit - n) return -2;
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + n) cap = cap > SIZE_MAX / 2 ? b->n + n : cap * 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) return -1;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  return 0;
}

static void buf_free(struct buf *b) {
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}

static void call_close(struct call *c) {
  if (c->easy) {
    curl_easy_cleanup(c->easy);
    c->easy = NULL;
  }
  if (c->headers) {
    curl_slist_free_all(c->headers);
    c->headers = NULL;
  }
  if (c->connect_to) {
    curl_slist_free_all(c->connect_to);
    c->connect_to = NULL;
  }
  if (c->out) {
    fclose(c->out); /* only reached on error paths; the result is moot */
    c->out = NULL;
  }
  free(c->gz);
  c->gz = NULL;
  c->gzn = 0;
  buf_free(&c->body);
  buf_free(&c->hdr);
}

static int call_gc(lua_State *L) {
  call_close(luaL_checkudata(L, 1, CALL_MT));
  return 0;
}

static struct call *new_call(lua_State *L) {
  struct call *c = nv_newudata(L, sizeof *c, CALL_MT);
  return c;
}

/* ---- libcurl callbacks: record, never raise -------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
  struct call *c = ud;
  if (nmemb != 0 && size > SIZE_MAX / nmemb) {
    c->body_too_big = 1;
    return 0;
  }
  size_t n = size * nmemb;
  if (c->out) {
    long status = 0;
    if (curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) status = 0;
    if (status < 200 || status > 299) { /* keep the start of an error body */
      size_t room = MAX_ERROR_BODY - c->body.n;
      if (buf_add(&c->body, data, n < room ? n : room, MAX_ERROR_BODY) == -1) c->oom = 1;
      return c->oom ? 0 : n;
    }
    size_t room = c->max_body - c->written, take = n < room ? n : room;
    if (take > 0 && fwrite(data, 1, take, c->out) != take) {
      c->io_errno = errno ? errno : EIO;
      return 0;
    }
    c->written += take;
    if (take < n) {
      c->capped = 1;
      if (!c->trunc_ok) c->body_too_big = 1;
      return 0;
    }
    return n;
  }
  int rc = buf_add(&c->body, data, n, c->max_body);
  if (rc == -2) c->body_too_big = 1;
  if (rc == -1) c->oom = 1;
  return rc == 0 ? n : 0;
}

/* One header line at a time; a status line starts a new block (after a
 * redirect, a 100 Continue or a proxy CONNECT), so only the final
 * response's headers remain. */
static size_t on_header(char *data, size_t size, size_t nitems, void *ud) {
  struct call *c = ud;
  if (nitems != 0 && size > SIZE_MAX / nitems) {
    c->hdr_too_big = 1;
    return 0;
  }
  size_t n = size * nitems;
  if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) c->hdr.n = 0;
  int rc = buf_add(&c->hdr, data, n, MAX_HEADER_BYTES);
  if (rc == -2) c->hdr_too_big = 1;
  if (rc == -1) c->oom = 1;
  return rc == 0 ? n : 0;
}

/* ---- header block parsing -------------------------------------------- */

/* Calls fn for every "name: value" line of p[0..n) with the name and the
 * value trimmed of blanks; the status line and malformed lines are
 * skipped. Stops early when fn returns non-zero, and returns that. */
typedef int (*header_fn)(const char *name, size_t nn, const char *value,
                         size_t vn, void *ud);

static int each_header(const char *p, size_t n, header_fn fn, void *ud) {
  size_t i = 0;
  while (i < n) {
    size_t start = i;
    while (i < n && p[i] != '\n') i++;
    size_t end = i;
    if (i < n) i++; /* past '\n' */
    if (end > start && p[end - 1] == '\r') end--;
    const char *line = p + start;
    size_t len = end - start;
    if (len == 0 || (len >= 5 && memcmp(line, "HTTP/", 5) == 0)) continue;
    const char *colon = memchr(line, ':', len);
    if (colon == NULL || colon == line) continue;
    size_t nn = (size_t)(colon - line);
    int bad = 0;
    for (size_t k = 0; k < nn; k++)
      if (line[k] == ' ' || line[k] == '\t') bad = 1;
    if (bad) continue; /* obsolete line folding or garbage */
    const char *v = colon + 1;
    size_t vn = len - nn - 1;
    while (vn > 0 && (*v == ' ' || *v == '\t')) v++, vn--;
    while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t')) vn--;
    int rc = fn(line, nn, v, vn, ud);
    if (rc) return rc;
  }
  return 0;
}

struct find_ctx {
  const char *want;
  const char *v;
  size_t vn;
};

static int find_one(const char *name, size_t nn, const char *value, size_t vn,
                    void *ud) {
  struct find_ctx *f = ud;
  if (strlen(f->want) == nn && strncasecmp(name, f->want, nn) == 0) {
    f->v = value;
    f->vn = vn;
    return 1;
  }
  return 0;
}

/* Retry-After of the last response in seconds (delta-seconds or an
 * HTTP-date), or -1 when absent or unreadable. */
static double retry_after(const struct call *c) {
  struct find_ctx f = {"retry-after", NULL, 0};
  if (!each_header(c->hdr.p, c->hdr.n, find_one, &f) || f.vn == 0) return -1;
  char tmp[64];
  if (f.vn >= sizeof tmp) return -1;
  memcpy(tmp, f.v, f.vn);
  tmp[f.vn] = '\0';
  int digits = 1;
  for (size_t i = 0; i < f.vn; i++)
    if (!isdigit((unsigned char)tmp[i])) digits = 0;
  if (digits) {
    if (f.vn > 9) return 1e9;
    return (double)strtol(tmp, NULL, 10);
  }
  time_t when = curl_getdate(tmp, NULL);
  if (when == (time_t)-1) return -1;
  double d = difftime(when, time(NULL));
  return d < 0 ? 0 : d;
}

struct table_ctx {
  lua_State *L;
};

/* Sets t[lower(name)] = value, joining repeated headers with ", ".
 * Names longer than MAX_HEADER_NAME are dropped. */
static int add_to_table(const char *name, size_t nn, const char *value,
                        size_t vn, void *ud) {
  lua_State *L = ((struct table_ctx *)ud)->L;
  char low[MAX_HEADER_NAME];
  if (nn > sizeof low) return 0;
  for (size_t k = 0; k < nn; k++) low[k] = (char)tolower((unsigned char)name[k]);
  lua_pushlstring(L, low, nn);
  lua_pushvalue(L, -1);
  if (lua_rawget(L, -3) == LUA_TSTRING) {
    lua_pushliteral(L, ", ");
    lua_pushlstring(L, value, vn);
    lua_concat(L, 3);
  } else {
    lua_pop(L, 1);
    lua_pushlstring(L, value, vn);
  }
  lua_rawset(L, -3);
  return 0;
}

/* ---- helpers ----------------------------------------------------------- */

static double monotonic(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_for(double seconds) {
  if (!(seconds > 0)) return;
  struct timespec req, rem;
  req.tv_sec = (time_t)seconds;
  req.tv_nsec = (long)((seconds - (double)req.tv_sec) * 1e9);
  if (req.tv_nsec >= 1000000000L) req.tv_nsec = 999999999L;
  while (nanosleep(&req, &rem) != 0 && errno == EINTR) req = rem;
}

/* A uniform value in [0, 1) from the kernel CSPRNG (0.5 if unavailable). */
static double jitter(void) {
  unsigned int r;
  if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) return 0.5;
  return (double)r / 4294967296.0;
}

/* Equal-jitter exponential backoff: half of base*2^(attempt-1) fixed, the
 * other half random; capped. */
static double backoff(double base, int attempt, double cap) {
  double d = base * ldexp(1.0, attempt - 1 > 30 ? 30 : attempt - 1);
  if (d > cap) d = cap;
  return d / 2 + jitter() * d / 2;
}

static int retryable_status(long status) {
  return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

static int retryable_code(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return 1;
    default:
      return 0;
  }
}

static const char *code_name(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
      return "connect";
    case CURLE_OPERATION_TIMEDOUT:
      return "timeout";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return "resolve";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_USE_SSL_FAILED:
      return "tls";
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_WEIRD_SERVER_REPLY:
      return "network";
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return "url";
    case CURLE_OUT_OF_MEMORY:
      return "nomem";
    default:
      return "curl";
  }
}

/* Pushes url with its password and every query value replaced by "***"
 * and any fragment dropped. */
static void push_safe_url(lua_State *L, const char *url) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  const char *p = url;
  const char *scheme = strstr(p, "://");
  if (scheme) {
    luaL_addlstring(&b, p, (size_t)(scheme + 3 - p));
    p = scheme + 3;
    size_t alen = strcspn(p, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
      if (p[i] == '@') at = p + i;
    if (at) {
      const char *colon = memchr(p, ':', (size_t)(at - p));
      if (colon) {
        luaL_addlstring(&b, p, (size_t)(colon - p));
        luaL_addstring(&b, ":***");
        p = at;
      }
    }
  }
  size_t plen = strcspn(p, "?#");
  luaL_addlstring(&b, p, plen);
  p += plen;
  if (*p == '?') {
    p++;
    luaL_addchar(&b, '?');
    size_t qlen = strcspn(p, "#");
    const char *end = p + qlen;
    while (p < end) {
      const char *amp = memchr(p, '&', (size_t)(end - p));
      const char *stop = amp ? amp : end;
      const char *eq = memchr(p, '=', (size_t)(stop - p));
      if (eq) {
        luaL_addlstring(&b, p, (size_t)(eq - p));
        luaL_addstring(&b, "=***");
      } else {
        luaL_addlstring(&b, p, (size_t)(stop - p));
      }
      if (amp) luaL_addchar(&b, '&');
      p = amp ? amp + 1 : end;
    }
  }
  luaL_pushresult(&b);
}

/* Replaces the string on top with nv.log.mask(it). */
static void mask_top(lua_State *L) {
  if (lua_getfield(L, UP_LOG, "mask") != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return;
  }
  lua_insert(L, -2);
  lua_call(L, 1, 1);
}

static void add_secret(lua_State *L, int idx) {
  if (lua_getfield(L, UP_LOG, "add_secret") != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return;
  }
  lua_pushvalue(L, idx);
  lua_call(L, 1, 0);
}

/* nil, "<METHOD> <safe url>: <cause> (after N attempts)", code */
static int push_failure(lua_State *L, const char *method, const char *url,
                        const char *cause, int attempts, const char *code) {
  luaL_pushfail(L);
  push_safe_url(L, url);
  mask_top(L); /* the URL alone: a masked value must not swallow the ':' */
  lua_pushfstring(L, "%s %s: %s (after %d attempt%s)", method, lua_tostring(L, -1),
                  cause, attempts, attempts == 1 ? "" : "s");
  lua_remove(L, -2);
  lua_pushstring(L, code);
  return 3;
}

/* gzip src into c->gz. Returns 0, or -1 (out of memory / zlib error). */
static int gzip_body(struct call *c, const char *src, size_t n) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (n > UINT_MAX / 2) return -1;
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return -1;
  uLong bound = deflateBound(&zs, (uLong)n);
  if (bound > UINT_MAX) {
    deflateEnd(&zs);
    return -1;
  }
  c->gz = malloc(bound);
  if (c->gz == NULL) {
    deflateEnd(&zs);
    return -1;
  }
  zs.next_in = (Bytef *)(uintptr_t)src; /* zlib does not write to it */
  zs.avail_in = (uInt)n;
  zs.next_out = c->gz;
  zs.avail_out = (uInt)bound;
  int rc = deflate(&zs, Z_FINISH);
  c->gzn = (size_t)zs.total_out;
  if (deflateEnd(&zs) != Z_OK || rc != Z_STREAM_END) return -1;
  return 0;
}

/* ---- options ----------------------------------------------------------- */

static const char *const option_names[] = {
    "method",     "url",     "headers",   "body",   "gzip",   "timeout",
    "connect_timeout", "retries", "retry_base", "retry_max", "max_body",
    "ca_bundle",  "verify",  "bearer",    "follow", "aws_sigv4", "userpwd",
    "aws_session_token", "range", "output", "truncate", "connect_to", NULL};

static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE",
                                      "HEAD", NULL};

/* The option's value left on the stack (so strings stay anchored);
 * returns its type, raising when it is neither nil nor `type`. */
static int get_opt(lua_State *L, int t, const char *name, int type) {
  int ty = lua_getfield(L, t, name);
  if (ty != LUA_TNIL && ty != type)
    luaL_error(L, "nv.http.request: option '%s' must be a %s, got %s", name,
               lua_typename(L, type), luaL_typename(L, -1));
  return ty;
}

static double opt_number(lua_State *L, int t, const char *name, double def,
                         double lo, double hi) {
  if (get_opt(L, t, name, LUA_TNUMBER) == LUA_TNIL) return def;
  double v = lua_tonumber(L, -1);
  if (!(v >= lo && v <= hi))
    luaL_error(L, "nv.http.request: option '%s' must be between %f and %f", name, lo, hi);
  return v;
}

static int opt_bool(lua_State *L, int t, const char *name, int def) {
  if (get_opt(L, t, name, LUA_TBOOLEAN) == LUA_TNIL) return def;
  return lua_toboolean(L, -1);
}

static const char *opt_string(lua_State *L, int t, const char *name, size_t *len) {
  if (get_opt(L, t, name, LUA_TSTRING) == LUA_TNIL) {
    if (len) *len = 0;
    return NULL;
  }
  return lua_tolstring(L, -1, len);
}

static int has_line_break(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0') return 1;
  return 0;
}

/* Appends "name: value" to c->headers; returns 0 or -1 (out of memory). */
static int add_header(lua_State *L, struct call *c, const char *line) {
  (void)L;
  struct curl_slist *l = curl_slist_append(c->headers, line);
  if (l == NULL) return -1;
  c->headers = l;
  return 0;
}

/* Adds the header fmt (one %s) with value, when value is given; 1 when out
 * of memory. */
static int add_header_value(lua_State *L, struct call *c, const char *fmt, const char *value) {
  if (value == NULL) return 0;
  lua_pushfstring(L, fmt, value);
  int rc = add_header(L, c, lua_tostring(L, -1));
  lua_pop(L, 1);
  return rc != 0;
}

/* ---- request ----------------------------------------------------------- */

#define SETOPT(opt, val)                                  \
  do {                                                    \
    CURLcode e_ = curl_easy_setopt(c->easy, opt, val);    \
    if (e_ != CURLE_OK) {                                 \
      setopt_rc = e_;                                     \
      setopt_name = #opt;                                 \
      goto setopt_failed;                                 \
    }                                                     \
  } while (0)

/* request(opts) with opts at index 1 */
static int request_core(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkstack(L, 40, "nv.http.request");
  nv_check_keys(L, 1, option_names, "nv.http.request");

  const char *method = "GET";
  if (get_opt(L, 1, "method", LUA_TSTRING) != LUA_TNIL) {
    const char *m = lua_tostring(L, -1);
    int ok = 0;
    for (int i = 0; methods[i]; i++)
      if (strcmp(m, methods[i]) == 0) method = methods[i], ok = 1;
    if (!ok)
      return luaL_error(L, "nv.http.request: unknown method '%s' (GET, POST, PUT, PATCH, DELETE, HEAD)", m);
  }
  const char *url = opt_string(L, 1, "url", NULL);
  if (url == NULL) return luaL_error(L, "nv.http.request: option 'url' is required");
  size_t body_len;
  const char *body = opt_string(L, 1, "body", &body_len);
  if (body && strcmp(method, "HEAD") == 0)
    return luaL_error(L, "nv.http.request: a HEAD request has no body");
  int gzip = opt_bool(L, 1, "gzip", 0);
  double timeout = opt_number(L, 1, "timeout", 60, 0.001, 86400);
  double connect_timeout = opt_number(L, 1, "connect_timeout", 10, 0.001, 86400);
  int retries = (int)opt_number(L, 1, "retries", 3, 0, MAX_RETRIES);
  double retry_base = opt_number(L, 1, "retry_base", 0.5, 0, 3600);
  double retry_max = opt_number(L, 1, "retry_max", 30, 0, 3600);
  double max_body = opt_number(L, 1, "max_body", (double)DEFAULT_MAX_BODY, 0, (double)SIZE_MAX / 2);
  const char *ca_bundle = opt_string(L, 1, "ca_bundle", NULL);
  int verify = opt_bool(L, 1, "verify", 1);
  int follow = opt_bool(L, 1, "follow", 0);
  size_t bearer_len;
  const char *bearer = opt_string(L, 1, "bearer", &bearer_len);
  int bearer_idx = lua_gettop(L);
  if (bearer) {
    if (bearer_len == 0 || has_line_break(bearer, bearer_len))
      return luaL_error(L, "nv.http.request: option 'bearer' must be a non-empty single-line token");
    add_secret(L, bearer_idx);
  }
  size_t userpwd_len;
  const char *userpwd = opt_string(L, 1, "userpwd", &userpwd_len);
  if (userpwd) {
    const char *colon = memchr(userpwd, ':', userpwd_len);
    if (colon == NULL || has_line_break(userpwd, userpwd_len))
      return luaL_error(L, "nv.http.request: option 'userpwd' must be 'user:password' on one line");
    lua_pushlstring(L, colon + 1, userpwd_len - (size_t)(colon + 1 - userpwd));
    add_secret(L, lua_gettop(L));
    lua_pop(L, 1);
  }
  const char *sigv4 = opt_string(L, 1, "aws_sigv4", NULL);
  if (sigv4 && !userpwd)
    return luaL_error(L, "nv.http.request: option 'aws_sigv4' needs 'userpwd' (KEY:SECRET)");
  size_t token_len;
  const char *token = opt_string(L, 1, "aws_session_token", &token_len);
  if (token) {
    if (token_len == 0 || has_line_break(token, token_len))
      return luaL_error(L, "nv.http.request: option 'aws_session_token' must be a non-empty single-line token");
    add_secret(L, lua_gettop(L));
  }
  size_t range_len;
  const char *range = opt_string(L, 1, "range", &range_len);
  if (range && (range_len == 0 || has_line_break(range, range_len)))
    return luaL_error(L, "nv.http.request: option 'range' must be a single-line range such as 'bytes=0-1023'");
  const char *output = opt_string(L, 1, "output", NULL);
  int trunc_ok = opt_bool(L, 1, "truncate", 0);
  lua_getfield(L, 1, "max_body");
  if (output && lua_isnil(L, -1)) max_body = (double)(SIZE_MAX / 2); /* files: no cap unless asked */
  lua_pop(L, 1);
  int ct_type = lua_getfield(L, 1, "connect_to");
  int ct_idx = lua_gettop(L);
  if (ct_type != LUA_TNIL && ct_type != LUA_TSTRING && ct_type != LUA_TTABLE)
    return luaL_error(L, "nv.http.request: option 'connect_to' must be a string or a list of strings");
  int headers_type = get_opt(L, 1, "headers", LUA_TTABLE);
  int headers_idx = lua_gettop(L);

  struct call *c = new_call(L); /* anchored from here on */
  c->max_body = (size_t)max_body;
  c->trunc_ok = trunc_ok;
  c->easy = curl_easy_init();
  if (c->easy == NULL) {
    call_close(c);
    return push_failure(L, method, url, "cannot create a curl handle", 0, "nomem");
  }

  int has_type = 0, has_sha = 0, oom = 0;
  if (headers_type == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, headers_idx) != 0) {
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "nv.http.request: headers must map names to strings");
      size_t nn, vn;
      const char *name = lua_tolstring(L, -2, &nn);
      const char *value = lua_tolstring(L, -1, &vn);
      if (nn == 0 || has_line_break(name, nn) || memchr(name, ':', nn) || memchr(name, ' ', nn))
        return luaL_error(L, "nv.http.request: invalid header name '%s'", name);
      if (has_line_break(value, vn))
        return luaL_error(L, "nv.http.request: header '%s' contains a line break", name);
      if (strcasecmp(name, "content-type") == 0) has_type = 1;
      if (strcasecmp(name, "x-amz-content-sha256") == 0) has_sha = 1;
      /* "Name;" sends a header with an empty value; "Name:" would remove it */
      lua_pushfstring(L, vn ? "%s: %s" : "%s;", name, value);
      if (add_header(L, c, lua_tostring(L, -1)) != 0) oom = 1;
      lua_pop(L, 2);
    }
  }
  if (add_header_value(L, c, "Authorization: Bearer %s", bearer)) oom = 1;
  if (sigv4 && !has_sha) {
    const char *h = body ? "x-amz-content-sha256: UNSIGNED-PAYLOAD" : "x-amz-content-sha256: " EMPTY_SHA256;
    if (add_header(L, c, h) != 0) oom = 1;
  }
  if (add_header_value(L, c, "x-amz-security-token: %s", token)) oom = 1;
  if (add_header_value(L, c, "Range: %s", range)) oom = 1;
  if (ct_type == LUA_TSTRING || ct_type == LUA_TTABLE) {
    lua_Integer n = ct_type == LUA_TSTRING ? 1 : (lua_Integer)lua_rawlen(L, ct_idx);
    for (lua_Integer i = 1; i <= n; i++) {
      if (ct_type == LUA_TTABLE) lua_rawgeti(L, ct_idx, i);
      else lua_pushvalue(L, ct_idx);
      if (lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "nv.http.request: option 'connect_to' must be a string or a list of strings");
      struct curl_slist *l = curl_slist_append(c->connect_to, lua_tostring(L, -1));
      if (l == NULL) oom = 1;
      else c->connect_to = l;
      lua_pop(L, 1);
    }
  }
  if (body) {
    if (!has_type && add_header(L, c, "Content-Type: application/octet-stream") != 0) oom = 1;
    if (add_header(L, c, "Expect:") != 0) oom = 1; /* no 100-continue round trip */
    if (gzip) {
      if (add_header(L, c, "Content-Encoding: gzip") != 0) oom = 1;
      if (gzip_body(c, body, body_len) != 0) oom = 1;
    }
  }
  if (oom) {
    call_close(c);
    return push_failure(L, method, url, "out of memory preparing the request", 0, "nomem");
  }

  CURLcode setopt_rc = CURLE_OK;
  const char *setopt_name = NULL;
  if (output) {
    c->out = fopen(output, "wb");
    if (c->out == NULL) {
      lua_pushfstring(L, "cannot open output file %s: %s", output, strerror(errno));
      const char *cause = lua_tostring(L, -1);
      int n = push_failure(L, method, url, cause, 0, "io");
      call_close(c);
      return n;
    }
  }
  SETOPT(CURLOPT_URL, url);
  SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
  SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  SETOPT(CURLOPT_NOSIGNAL, 1L);
  SETOPT(CURLOPT_ERRORBUFFER, c->errbuf);
  SETOPT(CURLOPT_WRITEFUNCTION, on_body);
  SETOPT(CURLOPT_WRITEDATA, c);
  SETOPT(CURLOPT_HEADERFUNCTION, on_header);
  SETOPT(CURLOPT_HEADERDATA, c);
  SETOPT(CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
  SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)(connect_timeout * 1000));
  SETOPT(CURLOPT_USERAGENT, "nvlua/" NVLUA_VERSION);
  SETOPT(CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
  SETOPT(CURLOPT_MAXREDIRS, 5L);
  SETOPT(CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
  SETOPT(CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
  if (ca_bundle) SETOPT(CURLOPT_CAINFO, ca_bundle);
  if (gzip) SETOPT(CURLOPT_ACCEPT_ENCODING, "gzip");
  if (c->headers) SETOPT(CURLOPT_HTTPHEADER, c->headers);
  if (c->connect_to) SETOPT(CURLOPT_CONNECT_TO, c->connect_to);
  if (userpwd) SETOPT(CURLOPT_USERPWD, userpwd);
  if (sigv4) SETOPT(CURLOPT_AWS_SIGV4, sigv4);
  if (strcmp(method, "HEAD") == 0) {
    SETOPT(CURLOPT_NOBODY, 1L);
  } else if (strcmp(method, "GET") != 0) {
    SETOPT(CURLOPT_CUSTOMREQUEST, method);
  }
  if (body) {
    const char *data = gzip ? (const char *)c->gz : body;
    size_t n = gzip ? c->gzn : body_len;
    SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
    SETOPT(CURLOPT_POSTFIELDS, data); /* not copied: data outlives the call */
  }

  double t0 = monotonic();
  int attempt = 0;
  CURLcode rc;
  long status = 0;
  for (;;) {
    attempt++;
    c->body.n = c->hdr.n = 0;
    c->body_too_big = c->hdr_too_big = c->oom = 0;
    c->written = 0;
    c->capped = c->io_errno = 0;
    c->errbuf[0] = '\0';
    status = 0;
    if (c->out && attempt > 1 &&
        (fflush(c->out) != 0 || ftruncate(fileno(c->out), 0) != 0 || fseek(c->out, 0, SEEK_SET) != 0)) {
      c->io_errno = errno ? errno : EIO;
      rc = CURLE_WRITE_ERROR;
      break;
    }
    rc = curl_easy_perform(c->easy);
    if (rc == CURLE_WRITE_ERROR && c->capped && c->trunc_ok && !c->io_errno) rc = CURLE_OK;
    if (rc == CURLE_OK && curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
      status = 0;
    int again = rc == CURLE_OK ? retryable_status(status)
                               : retryable_code(rc) && !c->body_too_big && !c->hdr_too_big && !c->oom;
    if (!again || attempt > retries) break;
    double delay = backoff(retry_base, attempt, retry_max);
    double ra = rc == CURLE_OK ? retry_after(c) : -1;
    if (ra >= 0) delay = ra < retry_max ? ra : retry_max;
    sleep_for(delay);
  }
  double elapsed = monotonic() - t0;
  if (c->out) {
    if (fclose(c->out) != 0 && !c->io_errno) c->io_errno = errno ? errno : EIO;
    c->out = NULL;
    if (rc != CURLE_OK || c->io_errno || status < 200 || status > 299) remove(output);
  }
  if (c->io_errno) {
    lua_pushfstring(L, "cannot write %s: %s", output, strerror(c->io_errno));
    const char *cause = lua_tostring(L, -1);
    int n = push_failure(L, method, url, cause, attempt, "io");
    call_close(c);
    return n;
  }

  if (rc != CURLE_OK) {
    char cause[256];
    const char *code = code_name(rc);
    if (c->body_too_big) {
      snprintf(cause, sizeof cause, "response body larger than %zu bytes", c->max_body);
      code = "too_large";
    } else if (c->hdr_too_big) {
      snprintf(cause, sizeof cause, "response headers larger than %zu bytes", MAX_HEADER_BYTES);
      code = "too_large";
    } else if (c->oom) {
      snprintf(cause, sizeof cause, "out of memory reading the response");
      code = "nomem";
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
      snprintf(cause, sizeof cause, "timed out after %g s", timeout);
    } else if (strcmp(code, "tls") == 0 && c->errbuf[0]) {
      snprintf(cause, sizeof cause, "%s", c->errbuf);
    } else {
      snprintf(cause, sizeof cause, "%s", curl_easy_strerror(rc));
    }
    call_close(c);
    return push_failure(L, method, url, cause, attempt, code);
  }

  lua_createtable(L, 0, 6);
  lua_pushinteger(L, (lua_Integer)status);
  lua_setfield(L, -2, "status");
  lua_newtable(L);
  struct table_ctx tc = {L};
  each_header(c->hdr.p, c->hdr.n, add_to_table, &tc);
  lua_setfield(L, -2, "headers");
  lua_pushlstring(L, c->body.p ? c->body.p : "", c->body.n);
  lua_setfield(L, -2, "body");
  lua_pushinteger(L, attempt);
  lua_setfield(L, -2, "attempts");
  lua_pushnumber(L, elapsed);
  lua_setfield(L, -2, "elapsed");
  push_safe_url(L, url);
  mask_top(L);
  lua_setfield(L, -2, "url");
  if (output) {
    lua_pushinteger(L, (lua_Integer)c->written);
    lua_setfield(L, -2, "bytes");
    lua_pushboolean(L, c->capped);
    lua_setfield(L, -2, "truncated");
    lua_pushstring(L, output);
    lua_setfield(L, -2, "path");
  }
  call_close(c);
  return 1;

setopt_failed:
  lua_pushfstring(L, "cannot set %s: %s", setopt_name, curl_easy_strerror(setopt_rc));
  {
    const char *cause = lua_tostring(L, -1);
    int n = push_failure(L, method, url, cause, 0, code_name(setopt_rc));
    call_close(c);
    if (output) remove(output);
    return n;
  }
}

static int l_request(lua_State *L) {
  lua_settop(L, 1);
  return request_core(L);
}

/* Copies the optional options table at idx into a new table on top. */
static void copy_opts(lua_State *L, int idx) {
  lua_newtable(L);
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
}

/* get(url [, opts]) */
static int l_get(lua_State *L) {
  luaL_checkstring(L, 1);
  copy_opts(L, 2);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "url");
  lua_pushliteral(L, "GET");
  lua_setfield(L, -2, "method");
  lua_replace(L, 1);
  lua_settop(L, 1);
  return request_core(L);
}

static void require_json(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "nv.json");
  lua_call(L, 1, 1);
}

/* post_json(url, table_or_json_text [, opts]): Content-Type and Accept
 * default to application/json; the response gets .json when its body
 * decodes. */
static int l_post_json(lua_State *L) {
  luaL_checkstring(L, 1);
  int t = lua_type(L, 2);
  luaL_argexpected(L, t == LUA_TTABLE || t == LUA_TSTRING, 2, "table or string");
  lua_settop(L, 3);
  copy_opts(L, 3); /* 4 */
  if (t == LUA_TTABLE) {
    require_json(L);
    lua_getfield(L, -1, "encode");
    lua_pushvalue(L, 2);
    lua_call(L, 1, 1);
    lua_remove(L, -2);
  } else {
    lua_pushvalue(L, 2);
  }
  lua_setfield(L, 4, "body");
  lua_pushvalue(L, 1);
  lua_setfield(L, 4, "url");
  lua_pushliteral(L, "POST");
  lua_setfield(L, 4, "method");
  lua_getfield(L, 4, "headers");
  copy_opts(L, lua_gettop(L)); /* 6: copy of headers */
  int has_type = 0, has_accept = 0;
  lua_pushnil(L);
  while (lua_next(L, 6) != 0) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      if (strcasecmp(lua_tostring(L, -1), "content-type") == 0) has_type = 1;
      if (strcasecmp(lua_tostring(L, -1), "accept") == 0) has_accept = 1;
    }
  }
  if (!has_type) {
    lua_pushliteral(L, "application/json");
    lua_setfield(L, 6, "Content-Type");
  }
  if (!has_accept) {
    lua_pushliteral(L, "application/json");
    lua_setfield(L, 6, "Accept");
  }
  lua_setfield(L, 4, "headers");
  lua_settop(L, 4);
  lua_replace(L, 1);
  lua_settop(L, 1);
  int n = request_core(L);
  if (n == 1 && lua_istable(L, -1)) {
    int resp = lua_gettop(L);
    require_json(L);
    lua_getfield(L, -1, "decode");
    lua_getfield(L, resp, "body");
    lua_call(L, 1, 1);
    if (!lua_isnil(L, -1)) lua_setfield(L, resp, "json");
    lua_settop(L, resp);
  }
  return n;
}

static int state_gc(lua_State *L) {
  struct state *st = luaL_checkudata(L, 1, STATE_MT);
  if (st->curl_ready) {
    st->curl_ready = 0;
    curl_global_cleanup();
  }
  return 0;
}

static const luaL_Reg funcs[] = {
    {"request", l_request}, {"get", l_get}, {"post_json", l_post_json}, {NULL, NULL}};

static const luaL_Reg call_meta[] = {{"__gc", call_gc}, {"__close", call_gc}, {NULL, NULL}};

static const luaL_Reg state_meta[] = {{"__gc", state_gc}, {NULL, NULL}};

int luaopen_nv_http(lua_State *L) {
  luaL_requiref(L, "nv.log", luaopen_nv_log, 0); /* upvalue 2 */
  struct state *st = lua_newuserdatauv(L, sizeof *st, 0); /* upvalue 1 */
  st->curl_ready = 0;
  nv_createmeta(L, STATE_MT, state_meta, NULL);
  luaL_setmetatable(L, STATE_MT);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return luaL_error(L, "nv.http: cannot initialise libcurl");
  st->curl_ready = 1;
  nv_createmeta(L, CALL_MT, call_meta, NULL);

  luaL_newlibtable(L, funcs);
  lua_pushvalue(L, -2);
  lua_pushvalue(L, -4);
  luaL_setfuncs(L, funcs, 2);
  lua_pushstring(L, curl_version());
  lua_setfield(L, -2, "curl_version");
  return 1;
}
