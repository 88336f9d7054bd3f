/* httpd.c - the `nv.httpd` module: a small HTTP/1.1 server over
 * libmicrohttpd in external-polling mode, so request handlers run on the
 * calling Lua thread, inside srv:poll().
 *
 *   listen{bind = "127.0.0.1", port = 8080, max_body = 1048576,
 *          max_connections = 256, per_ip_connections = 32, timeout = 30,
 *          header_timeout = 10, body_timeout = 60}
 *                                   -> srv | nil, message, kind, errno
 *     (kind "busy" for EADDRINUSE, "permission" for EACCES, ...)
 *     timeout: seconds a connection may stay silent (idle); header_timeout:
 *     seconds from accepting a connection (or from the end of its previous
 *     request) until its request headers are complete, however slowly
 *     they trickle in; body_timeout: seconds from the headers to the end
 *     of the body. A connection past its deadline is shut down (a slow
 *     client cannot hold a slot); while 3/4 of max_connections are open,
 *     headers get at most 1 s. per_ip_connections: connections one
 *     client address may hold at once (more are refused at accept).
 *   srv:on_request(function(req) return status, headers, body end)
 *     req = {method=, path=, query={name = value}, headers={lowercased name
 *            = value}, body=, remote="ADDR"}
 *   srv:poll(timeout_ms)            -> number of requests answered; returns
 *                                      once one was answered or timeout_ms
 *                                      passed
 *   srv:port()                      -> the bound port (the actual one when
 *                                      0 was asked)
 *   srv:stats()                     -> {connections = open now, cut = shut
 *                                      down past a deadline so far}
 *   srv:close()                     idempotent; also __gc and __close
 *   secure_equal(a, b)              -> boolean, in time independent of
 *                                      where a and b differ
 *
 * A request body is accumulated in C up to max_body bytes; a larger one is
 * answered 413 in C (at once when Content-Length announces it), without
 * calling the handler. The handler runs under lua_pcall; an error, or a
 * malformed return, is logged (nv.log, module "nvlua.httpd") and answered
 * 500 with a generic message.
 *
 * Uses: libmicrohttpd (sockets, HTTP parsing), nv.log (nv_log_emit).
 *
 * Invariants: libmicrohttpd callbacks never raise. The access callback
 * runs Lua only through lua_pcall of a C function (dispatch), so a raise
 * unwinds to that pcall, never across libmicrohttpd's frames; before the
 * pcall it only pushes values into stack slots reserved by poll.
 * Per-request C memory (struct request) is owned by the connection and
 * freed in the completion callback. Per-connection C memory (struct conn,
 * the deadline) is linked into the server's list when libmicrohttpd
 * reports the connection started and unlinked and freed when it reports
 * it closed (also during MHD_stop_daemon); deadlines are enforced between
 * MHD_run_wait calls with shutdown(2) on the socket, which libmicrohttpd
 * then sees as the peer closing (it still owns and closes the fd). The daemon is stopped only outside
 * MHD_run_wait: close() from inside a handler is deferred to the end of
 * poll. No C globals: the server state lives in the "nv.httpd.Server"
 * userdata, the handler in its user value. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <microhttpd.h>

#include "luax.h"
#include "nvlua.h"

#define SERVER_MT "nv.httpd.Server"
#define LOG_MODULE "nvlua.httpd"
#define DEFAULT_MAX_BODY ((lua_Integer)1024 * 1024)
#define HARD_MAX_BODY ((lua_Integer)1024 * 1024 * 1024)
#define DEFAULT_MAX_CONNECTIONS 256
#define DEFAULT_PER_IP_CONNECTIONS 32
#define DEFAULT_TIMEOUT 30
#define DEFAULT_HEADER_TIMEOUT 10
#define DEFAULT_BODY_TIMEOUT 60
#define MAX_POLL_MS 3600000

static const char json_type[] = "application/json";
static const char body_500[] = "{\"error\":\"internal server error\"}";
static const char body_no_handler[] = "{\"error\":\"no request handler\"}";

/* One accepted connection and its deadline (see the file header). */
enum phase { WAIT_HEADERS, WAIT_BODY, ANSWERING };

struct conn {
  struct conn *prev, *next;
  int fd;
  enum phase phase;
  double since_ms; /* CLOCK_MONOTONIC ms when the phase began */
  int cut;         /* shut down already */
};

struct server {
  struct MHD_Daemon *daemon; /* NULL: closed */
  size_t max_body;
  uint16_t port;
  double header_ms, body_ms;
  lua_Integer max_conns;
  struct conn *conns; /* open connections */
  lua_Integer nconns, ncut;
  /* valid only while poll runs: */
  lua_State *L;
  int handler_idx; /* absolute stack index of the handler, 0 if none */
  int in_poll;
  int close_pending;
  int answered;
};

struct request {
  char *body;
  size_t len, cap;
  int too_large;
};

static double now_ms(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ---- connection deadlines (no Lua here) ---- */

static struct conn *conn_of(struct MHD_Connection *mc) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

static void set_phase(struct MHD_Connection *mc, enum phase p) {
  struct conn *c = conn_of(mc);
  if (c) {
    c->phase = p;
    c->since_ms = now_ms();
  }
}

static void conn_cut(struct server *srv, struct conn *c) {
  if (c->cut) return;
  c->cut = 1;
  srv->ncut++;
  /* the peer sees the connection end; libmicrohttpd sees end of input */
  (void)shutdown(c->fd, SHUT_RDWR); /* fails only for a socket already gone */
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
  struct server *srv = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci == NULL) return;
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) { /* cannot track its deadline: do not keep it */
      (void)shutdown(ci->connect_fd, SHUT_RDWR);
      return;
    }
    c->fd = ci->connect_fd;
    c->phase = WAIT_HEADERS;
    c->since_ms = now_ms();
    c->next = srv->conns;
    if (srv->conns) srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    *socket_context = c;
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    struct conn *c = *socket_context;
    if (c == NULL) return;
    if (c->prev) c->prev->next = c->next; else srv->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    srv->nconns--;
    free(c);
    *socket_context = NULL;
  }
}

/* Shuts down the connections past their deadline; returns the ms until
 * the next deadline (capped at cap_ms). While three quarters of the
 * connection slots are taken, a connection gets at most PRESSURE_MS for
 * its headers: a client that sends a request at once is not affected,
 * one trickling headers (or idling between requests) makes room. */
#define PRESSURE_MS 1000.0
static double sweep(struct server *srv, double cap_ms) {
  double now = now_ms(), next = cap_ms;
  int pressure = srv->nconns * 4 >= srv->max_conns * 3;
  double header_ms = pressure && srv->header_ms > PRESSURE_MS ? PRESSURE_MS : srv->header_ms;
  for (struct conn *c = srv->conns; c; c = c->next) {
    if (c->cut || c->phase == ANSWERING) continue;
    double deadline = c->since_ms + (c->phase == WAIT_HEADERS ? header_ms : srv->body_ms);
    if (now >= deadline) {
      conn_cut(srv, c);
    } else if (deadline - now < next) {
      next = deadline - now;
    }
  }
  return next;
}

static void free_conns(struct server *srv) {
  while (srv->conns) { /* MHD_stop_daemon reports them closed; never left on glibc builds */
    struct conn *c = srv->conns;
    srv->conns = c->next;
    free(c);
  }
  srv->nconns = 0;
}

/* ---- per-request body accumulation (no Lua here) ---- */

static int request_append(struct request *r, size_t limit, const char *p, size_t n) {
  if (r->too_large) return 1;
  if (n > limit || r->len > limit - n) {
    r->too_large = 1;
    return 1;
  }
  if (r->len + n > r->cap) {
    size_t cap = r->cap ? r->cap : 4096;
    while (cap < r->len + n) cap = cap > limit / 2 ? limit : cap * 2;
    char *nb = realloc(r->body, cap);
    if (nb == NULL) return 0;
    r->body = nb;
    r->cap = cap;
  }
  memcpy(r->body + r->len, p, n);
  r->len += n;
  return 1;
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe) {
  (void)toe;
  (void)cls;
  set_phase(conn, WAIT_HEADERS); /* the next request on this connection */
  struct request *r = *con_cls;
  if (r) {
    free(r->body);
    free(r);
    *con_cls = NULL;
  }
}

/* Queues a response from a C buffer (copied). Never touches Lua. */
static enum MHD_Result queue_plain(struct MHD_Connection *conn, unsigned status, const char *body,
                                   size_t n) {
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(n, (void *)body, MHD_RESPMEM_MUST_COPY);
  if (resp == NULL) return MHD_NO;
  if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, json_type) != MHD_YES) {
    MHD_destroy_response(resp);
    return MHD_NO;
  }
  enum MHD_Result ret = MHD_queue_response(conn, status, resp);
  MHD_destroy_response(resp);
  return ret;
}

static enum MHD_Result queue_413(struct MHD_Connection *conn, size_t limit) {
  char msg[128];
  int n = snprintf(msg, sizeof msg, "{\"error\":\"request body too large (limit %zu bytes)\"}", limit);
  if (n < 0 || (size_t)n >= sizeof msg) return MHD_NO;
  return queue_plain(conn, MHD_HTTP_CONTENT_TOO_LARGE, msg, (size_t)n);
}

/* ---- dispatch: runs under lua_pcall, may raise ---- */

struct dispatch_args {
  struct server *srv;
  struct MHD_Connection *conn;
  const char *method, *url;
  struct request *req;
  enum MHD_Result result;
};

/* Collected name/value pairs of one kind; pointers into MHD's connection. */
struct pairs {
  const char **kv; /* 2 * n entries */
  size_t *len;     /* 2 * n lengths */
  size_t n, cap;
};

static enum MHD_Result collect_pair(void *cls, enum MHD_ValueKind kind, const char *key,
                                    size_t key_size, const char *value, size_t value_size) {
  (void)kind;
  struct pairs *p = cls;
  if (p->n >= p->cap) return MHD_NO;
  p->kv[2 * p->n] = key;
  p->len[2 * p->n] = key_size;
  p->kv[2 * p->n + 1] = value ? value : "";
  p->len[2 * p->n + 1] = value ? value_size : 0;
  p->n++;
  return MHD_YES;
}

/* Pushes a table of the connection's values of one kind. Header names are
 * lowercased; repeated names are joined with ", ". */
static void push_values(lua_State *L, struct MHD_Connection *conn, enum MHD_ValueKind kind,
                        int lower) {
  int total = MHD_get_connection_values_n(conn, kind, NULL, NULL);
  size_t cap = total > 0 ? (size_t)total : 0;
  lua_createtable(L, 0, (int)cap);
  if (cap == 0) return;
  if (cap > SIZE_MAX / (2 * sizeof(size_t) + 2 * sizeof(char *))) luaL_error(L, "too many values");
  /* scratch space anchored in Lua: a raise frees it */
  char *mem = lua_newuserdatauv(L, cap * 2 * (sizeof(char *) + sizeof(size_t)), 0);
  struct pairs p = {(const char **)(void *)mem, (size_t *)(void *)(mem + cap * 2 * sizeof(char *)),
                    0, cap};
  MHD_get_connection_values_n(conn, kind, collect_pair, &p);
  for (size_t i = 0; i < p.n; i++) {
    const char *k = p.kv[2 * i];
    size_t kn = p.len[2 * i];
    if (lower) {
      luaL_Buffer b;
      char *dst = luaL_buffinitsize(L, &b, kn ? kn : 1);
      for (size_t j = 0; j < kn; j++) {
        char c = k[j];
        dst[j] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
      }
      luaL_pushresultsize(&b, kn);
    } else {
      lua_pushlstring(L, k, kn);
    }
    lua_pushvalue(L, -1);
    if (lua_rawget(L, -4) == LUA_TSTRING && lower) { /* repeated header */
      lua_pushliteral(L, ", ");
      lua_pushlstring(L, p.kv[2 * i + 1], p.len[2 * i + 1]);
      lua_concat(L, 3);
    } else {
      lua_pop(L, 1);
      lua_pushlstring(L, p.kv[2 * i + 1], p.len[2 * i + 1]);
    }
    lua_rawset(L, -4);
  }
  lua_pop(L, 1); /* scratch */
}

static void push_remote(lua_State *L, struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  char buf[INET6_ADDRSTRLEN] = "";
  if (ci && ci->client_addr) {
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
      const struct sockaddr_in *in = (const void *)sa;
      if (inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf) == NULL) buf[0] = '\0';
    } else if (sa->sa_family == AF_INET6) {
      const struct sockaddr_in6 *in6 = (const void *)sa;
      if (inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf) == NULL) buf[0] = '\0';
    }
  }
  lua_pushstring(L, buf);
}

static int has_line_break(const char *s, size_t n) {
  return memchr(s, '\r', n) != NULL || memchr(s, '\n', n) != NULL || memchr(s, '\0', n) != NULL;
}

/* dispatch(handler, args): builds req, calls the handler, queues its
 * response. Everything that can raise happens before the MHD response
 * exists; after that only non-allocating Lua calls are made. */
static int dispatch(lua_State *L) {
  struct dispatch_args *a = lua_touserdata(L, 2);
  lua_settop(L, 1);
  lua_createtable(L, 0, 6);
  lua_pushstring(L, a->method);
  lua_setfield(L, -2, "method");
  lua_pushstring(L, a->url);
  lua_setfield(L, -2, "path");
  push_values(L, a->conn, MHD_GET_ARGUMENT_KIND, 0);
  lua_setfield(L, -2, "query");
  push_values(L, a->conn, MHD_HEADER_KIND, 1);
  lua_setfield(L, -2, "headers");
  lua_pushlstring(L, a->req->body ? a->req->body : "", a->req->len);
  lua_setfield(L, -2, "body");
  push_remote(L, a->conn);
  lua_setfield(L, -2, "remote");
  lua_call(L, 1, 3); /* handler(req) -> status (1), headers (2), body (3) */

  int isnum = 0;
  lua_Integer status = lua_tointegerx(L, 1, &isnum);
  if (!isnum || status < 100 || status > 599)
    return luaL_error(L, "request handler returned status %s (expected an integer 100-599)",
                      luaL_tolstring(L, 1, NULL));
  if (!lua_isnoneornil(L, 2) && !lua_istable(L, 2))
    return luaL_error(L, "request handler returned headers of type %s (expected a table)",
                      luaL_typename(L, 2));
  if (!lua_isnoneornil(L, 3) && lua_type(L, 3) != LUA_TSTRING)
    return luaL_error(L, "request handler returned a body of type %s (expected a string)",
                      luaL_typename(L, 3));
  /* headers -> a flat sequence of checked strings at index 4 */
  lua_newtable(L);
  lua_Integer nh = 0;
  if (lua_istable(L, 2)) {
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      if (lua_type(L, -2) != LUA_TSTRING)
        return luaL_error(L, "request handler returned a header name of type %s",
                          luaL_typename(L, -2));
      if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
        return luaL_error(L, "request handler returned header '%s' of type %s",
                          lua_tostring(L, -2), luaL_typename(L, -1));
      size_t kn, vn;
      const char *k = lua_tolstring(L, -2, &kn);
      lua_pushvalue(L, -1);
      const char *v = lua_tolstring(L, -1, &vn); /* a copy: the key stays intact for lua_next */
      if (kn == 0 || has_line_break(k, kn) || memchr(k, ':', kn) || has_line_break(v, vn))
        return luaL_error(L, "request handler returned an invalid header '%s'", k);
      lua_pushvalue(L, -3);
      lua_rawseti(L, 4, ++nh);
      lua_rawseti(L, 4, ++nh);
      lua_pop(L, 1);
    }
  }
  size_t blen = 0;
  const char *body = lua_type(L, 3) == LUA_TSTRING ? lua_tolstring(L, 3, &blen) : "";

  /* no raise from here on */
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(blen, (void *)body, MHD_RESPMEM_MUST_COPY);
  if (resp == NULL) {
    a->result = MHD_NO;
    return 0;
  }
  int ok = 1;
  for (lua_Integer i = 1; ok && i + 1 <= nh; i += 2) {
    lua_rawgeti(L, 4, i);
    lua_rawgeti(L, 4, i + 1);
    ok = MHD_add_response_header(resp, lua_tostring(L, -2), lua_tostring(L, -1)) == MHD_YES;
    lua_pop(L, 2);
  }
  a->result = ok ? MHD_queue_response(a->conn, (unsigned)status, resp) : MHD_NO;
  MHD_destroy_response(resp);
  if (!ok) {
    /* queue nothing: report it after the response is gone */
    return luaL_error(L, "libmicrohttpd refused a response header");
  }
  return 0;
}

static int report_error(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  lua_pushfstring(L, "request handler failed: %s", msg ? msg : "(error object is not a string)");
  nv_log_emit(L, NV_ERROR, LOG_MODULE, lua_tostring(L, -1));
  return 0;
}

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Called from libmicrohttpd; must not raise (see the file header). */
static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls) {
  (void)version;
  struct server *srv = cls;
  struct request *r = *con_cls;
  if (r == NULL) { /* first call: headers only */
    r = calloc(1, sizeof *r);
    if (r == NULL) return MHD_NO;
    *con_cls = r;
    set_phase(conn, WAIT_BODY);
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
      char *end;
      errno = 0;
      unsigned long long n = strtoull(cl, &end, 10);
      if (errno == ERANGE || n > (unsigned long long)srv->max_body) {
        r->too_large = 1;
        srv->answered++;
        set_phase(conn, ANSWERING);
        return queue_413(conn, srv->max_body);
      }
    }
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    if (!request_append(r, srv->max_body, upload_data, *upload_data_size)) return MHD_NO;
    *upload_data_size = 0;
    return MHD_YES;
  }
  srv->answered++;
  set_phase(conn, ANSWERING); /* the idle timeout governs a slow reader */
  if (r->too_large) return queue_413(conn, srv->max_body);
  lua_State *L = srv->L;
  if (L == NULL || srv->handler_idx == 0)
    return queue_plain(conn, MHD_HTTP_NOT_FOUND, body_no_handler, sizeof body_no_handler - 1);
  struct dispatch_args a = {srv, conn, method, url, r, MHD_NO};
  /* stack space was reserved by poll: these pushes cannot fail */
  lua_pushcfunction(L, traceback);
  lua_pushcfunction(L, dispatch);
  lua_pushvalue(L, srv->handler_idx);
  lua_pushlightuserdata(L, &a);
  int status = lua_pcall(L, 2, 0, -4);
  if (status == LUA_OK) {
    lua_pop(L, 1); /* traceback */
    return a.result;
  }
  lua_pushcfunction(L, report_error);
  lua_insert(L, -2);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) lua_pop(L, 1);
  lua_pop(L, 1); /* traceback */
  return queue_plain(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, body_500, sizeof body_500 - 1);
}

/* ---- the Lua side ---- */

static struct server *check_server(lua_State *L) {
  return luaL_checkudata(L, 1, SERVER_MT);
}

static struct server *check_open(lua_State *L) {
  struct server *srv = check_server(L);
  if (srv->daemon == NULL || srv->close_pending) luaL_error(L, "attempt to use a closed server");
  return srv;
}

static void stop(struct server *srv) {
  if (srv->daemon) {
    MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
    free_conns(srv);
  }
}

/* close(), __gc, __close: idempotent; deferred while poll runs */
static int l_close(lua_State *L) {
  struct server *srv = check_server(L);
  if (srv->in_poll) {
    srv->close_pending = 1;
  } else {
    stop(srv);
  }
  return 0;
}

static int l_gc(lua_State *L) {
  struct server *srv = check_server(L);
  stop(srv); /* a server under poll is on the stack: never collected then */
  return 0;
}

static int l_on_request(lua_State *L) {
  check_open(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 2);
  lua_setiuservalue(L, 1, 1);
  return 0;
}

static int l_port(lua_State *L) {
  struct server *srv = check_open(L);
  lua_pushinteger(L, srv->port);
  return 1;
}

/* poll(timeout_ms) -> answered */
static int l_poll(lua_State *L) {
  struct server *srv = check_open(L);
  lua_Integer timeout = luaL_optinteger(L, 2, 0);
  luaL_argcheck(L, timeout >= 0 && timeout <= MAX_POLL_MS, 2, "between 0 and 3600000 ms");
  if (srv->in_poll) return luaL_error(L, "srv:poll called from inside a request handler");
  lua_settop(L, 2);
  lua_getiuservalue(L, 1, 1);
  luaL_checkstack(L, 16, "httpd poll");
  srv->L = L;
  srv->handler_idx = lua_isfunction(L, 3) ? 3 : 0;
  srv->in_poll = 1;
  srv->answered = 0;
  double deadline = now_ms() + (double)timeout;
  int failed = 0;
  for (;;) {
    double left = deadline - now_ms();
    if (left < 0) left = 0;
    left = sweep(srv, left);
    if (MHD_run_wait(srv->daemon, (int32_t)left) != MHD_YES) {
      failed = 1;
      break;
    }
    if (srv->answered > 0 || srv->close_pending || now_ms() >= deadline) break;
  }
  srv->in_poll = 0;
  srv->L = NULL;
  srv->handler_idx = 0;
  if (srv->close_pending) stop(srv);
  if (failed) return luaL_error(L, "libmicrohttpd: MHD_run_wait failed");
  lua_pushinteger(L, srv->answered);
  return 1;
}

static int l_stats(lua_State *L) {
  struct server *srv = check_open(L);
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, srv->nconns);
  lua_setfield(L, -2, "connections");
  lua_pushinteger(L, srv->ncut);
  lua_setfield(L, -2, "cut");
  return 1;
}

/* nil, "msg[: strerror]", kind, errno (0 when libmicrohttpd set none: "io") */
static int fail(lua_State *L, const char *msg, int err) {
  if (err) {
    lua_pushfstring(L, "%s: %s", msg, strerror(err));
  } else {
    lua_pushstring(L, msg);
  }
  return nv_push_fail_code(L, lua_tostring(L, -1), nv_errno_kind(err), err);
}

static lua_Integer opt_int_field(lua_State *L, const char *key, lua_Integer def, lua_Integer lo,
                                 lua_Integer hi) {
  lua_getfield(L, 1, key);
  lua_Integer v = def;
  if (!lua_isnil(L, -1)) {
    int isnum;
    v = lua_tointegerx(L, -1, &isnum);
    if (!isnum || v < lo || v > hi)
      luaL_error(L, "listen: '%s' must be an integer between %I and %I", key, lo, hi);
  }
  lua_pop(L, 1);
  return v;
}

static const char *const listen_keys[] = {
    "bind",    "port",           "max_body",     "max_connections", "per_ip_connections",
    "timeout", "header_timeout", "body_timeout", NULL};

/* listen{bind=, port=, max_body=, max_connections=, per_ip_connections=,
 *        timeout=, header_timeout=, body_timeout=} */
static int l_listen(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  nv_check_keys(L, 1, listen_keys, "listen");
  lua_getfield(L, 1, "bind");
  const char *bind = luaL_optstring(L, -1, "127.0.0.1");
  lua_Integer port = opt_int_field(L, "port", 8080, 0, 65535);
  lua_Integer max_body = opt_int_field(L, "max_body", DEFAULT_MAX_BODY, 0, HARD_MAX_BODY);
  lua_Integer max_conn = opt_int_field(L, "max_connections", DEFAULT_MAX_CONNECTIONS, 1, 10000);
  lua_Integer per_ip = opt_int_field(L, "per_ip_connections", DEFAULT_PER_IP_CONNECTIONS, 1, 10000);
  lua_Integer timeout = opt_int_field(L, "timeout", DEFAULT_TIMEOUT, 1, 86400);
  lua_Integer header_timeout = opt_int_field(L, "header_timeout", DEFAULT_HEADER_TIMEOUT, 1, 86400);
  lua_Integer body_timeout = opt_int_field(L, "body_timeout", DEFAULT_BODY_TIMEOUT, 1, 86400);

  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
  const struct sockaddr *sa;
  unsigned flags = MHD_USE_AUTO;
  memset(&in4, 0, sizeof in4);
  memset(&in6, 0, sizeof in6);
  if (inet_pton(AF_INET, bind, &in4.sin_addr) == 1) {
    in4.sin_family = AF_INET;
    in4.sin_port = htons((uint16_t)port);
    sa = (const struct sockaddr *)&in4;
  } else if (inet_pton(AF_INET6, bind, &in6.sin6_addr) == 1) {
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons((uint16_t)port);
    sa = (const struct sockaddr *)&in6;
    flags |= MHD_USE_IPv6;
  } else {
    return luaL_error(L, "listen: 'bind' must be a numeric IPv4 or IPv6 address, got '%s'", bind);
  }

  struct server *srv = lua_newuserdatauv(L, sizeof *srv, 1);
  memset(srv, 0, sizeof *srv);
  luaL_setmetatable(L, SERVER_MT);
  srv->max_body = (size_t)max_body;
  srv->header_ms = (double)header_timeout * 1000.0;
  srv->body_ms = (double)body_timeout * 1000.0;
  srv->max_conns = max_conn;
  errno = 0;
  srv->daemon = MHD_start_daemon(
      flags, (uint16_t)port, NULL, NULL, on_access, srv, MHD_OPTION_SOCK_ADDR, sa,
      MHD_OPTION_NOTIFY_COMPLETED, request_completed, (void *)srv, MHD_OPTION_NOTIFY_CONNECTION,
      on_connection, (void *)srv, MHD_OPTION_CONNECTION_LIMIT, (unsigned)max_conn,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)per_ip, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)timeout, MHD_OPTION_END);
  if (srv->daemon == NULL) {
    int e = errno;
    lua_pushfstring(L, "cannot listen on %s:%d", bind, (int)port);
    return fail(L, lua_tostring(L, -1), e);
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
  srv->port = di ? di->port : (uint16_t)port;
  return 1;
}

/* secure_equal(a, b): compares every byte of b whatever the contents */
static int l_secure_equal(lua_State *L) {
  size_t an, bn;
  const unsigned char *a = (const unsigned char *)luaL_checklstring(L, 1, &an);
  const unsigned char *b = (const unsigned char *)luaL_checklstring(L, 2, &bn);
  volatile unsigned char diff = (unsigned char)(an != bn);
  for (size_t i = 0; i < bn; i++) diff |= (unsigned char)(b[i] ^ (i < an ? a[i] : 0));
  lua_pushboolean(L, diff == 0);
  return 1;
}

static const luaL_Reg funcs[] = {
    {"listen", l_listen}, {"secure_equal", l_secure_equal}, {NULL, NULL}};

static const luaL_Reg methods[] = {{"on_request", l_on_request}, {"poll", l_poll},
                                   {"port", l_port},             {"close", l_close},
                                   {"stats", l_stats},
                                   {NULL, NULL}};

static const luaL_Reg metamethods[] = {{"__index", NULL}, {"__gc", l_gc}, {"__close", l_close},
                                       {NULL, NULL}};

int luaopen_nv_httpd(lua_State *L) {
  luaL_requiref(L, "nv.log", luaopen_nv_log, 0); /* the logger nv_log_emit writes through */
  lua_pop(L, 1);
  nv_createmeta(L, SERVER_MT, metamethods, methods);
  luaL_newlib(L, funcs);
  return 1;
}
