/* repl.c - the interactive loop: readline editing and persistent history
 * (~/.nvlua_history) on a terminal, plain stdin otherwise; multi-line input
 * (an incomplete chunk keeps reading), `=expr` and bare expressions print
 * their values through nv.pretty, errors print a traceback and the loop
 * goes on. A global `nv` table loads nv.* modules on first use; help()
 * prints nv.help's overview or a module's docs (nv.docs), and Tab completes
 * against the live state through nv.help.matches.
 *
 * Trap: readline's completion hook takes no context argument, so the
 * lua_State the REPL runs on is kept in `completion_state` (the only
 * file-scope variable): set when nv_repl starts on a terminal and cleared
 * when it returns. Readline itself is process-global and the REPL runs on
 * the main thread only. The hook never raises: the Lua work runs under
 * lua_pcall, and the results are copied into malloc'd strings after it,
 * with lua_rawgeti/lua_tolstring on values known to be strings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include <lauxlib.h>
#include <lua.h>

#include "nvlua.h"
#include "paths.h"

#define PROMPT1 "nv> "
#define PROMPT2 "nv>> "
#define EOFMARK "<eof>"
#define NV_MAX_LINE (1 << 20)

struct repl {
  int tty;
  char history[4096];
};

/* Returns a malloc'd line without its newline, or NULL at end of input. */
static char *read_line(struct repl *r, const char *prompt) {
  if (r->tty) return readline(prompt);
  fputs(prompt, stdout);
  fflush(stdout);
  size_t cap = 256, n = 0;
  char *buf = malloc(cap);
  if (buf == NULL) return NULL;
  int c;
  while ((c = getchar()) != EOF && c != '\n') {
    if (n + 1 >= cap) {
      if (cap >= NV_MAX_LINE) break;
      char *nb = realloc(buf, cap * 2);
      if (nb == NULL) break;
      buf = nb;
      cap *= 2;
    }
    buf[n++] = (char)c;
  }
  if (c == EOF && n == 0) {
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  return buf;
}

static int incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    size_t lmark = sizeof(EOFMARK) - 1;
    if (lmsg >= lmark && strcmp(msg + lmsg - lmark, EOFMARK) == 0) {
      lua_pop(L, 1);
      return 1;
    }
  }
  return 0;
}

/* Compiles the buffer on top (a string) as "return <buf>" first. Leaves
 * the function (or an error message) in place of the string. */
static int compile(lua_State *L) {
  size_t n;
  const char *src = lua_tolstring(L, -1, &n);
  const char *body = src;
  if (n > 0 && src[0] == '=') body = src + 1; /* Lua 5.1 style "=expr" */
  const char *ret = lua_pushfstring(L, "return %s;", body);
  int status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
  if (status == LUA_OK) {
    lua_remove(L, -2); /* the "return" text */
    lua_remove(L, -2); /* the source */
    return LUA_OK;
  }
  lua_pop(L, 2); /* error and "return" text */
  status = luaL_loadbuffer(L, src, n, "=stdin");
  lua_remove(L, -2);
  return status;
}

static void print_results(lua_State *L, int base) {
  int n = lua_gettop(L) - base;
  if (n == 0) return;
  lua_getglobal(L, "require");
  lua_pushstring(L, "nv.pretty");
  if (nv_pcall(L, 1, 1) != LUA_OK || !lua_istable(L, -1)) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
    return;
  }
  lua_getfield(L, -1, "print");
  lua_remove(L, -2);
  lua_insert(L, base + 1);
  if (nv_pcall(L, n, 0) != LUA_OK) {
    fprintf(stderr, "error printing results: %s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
}

static lua_State *completion_state;

/* Protected: pushes nv.help.matches(word). */
static int completion_matches(lua_State *L) {
  const char *word = lua_touserdata(L, 1);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "nv.help");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "matches");
  lua_pushstring(L, word);
  lua_call(L, 1, 1);
  if (!lua_istable(L, -1)) lua_pushnil(L);
  return 1;
}

static void free_matches(char **m, size_t n) {
  for (size_t i = 0; i < n; i++) free(m[i]);
  free(m);
}

/* readline's attempted-completion hook: a NULL-terminated malloc'd array
 * (readline frees it), or NULL for no completion. */
static char **repl_complete(const char *text, int start, int end) {
  (void)start;
  (void)end;
  rl_attempted_completion_over = 1; /* never fall back to file names */
  rl_completion_append_character = '\0';
  lua_State *L = completion_state;
  if (L == NULL || !lua_checkstack(L, 4)) return NULL;
  int top = lua_gettop(L);
  lua_pushcfunction(L, completion_matches);
  lua_pushlightuserdata(L, (void *)text);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
    lua_settop(L, top);
    return NULL;
  }
  size_t n = (size_t)lua_rawlen(L, -1);
  char **m = n > 0 && n < 100000 ? calloc(n + 1, sizeof *m) : NULL;
  if (m == NULL) {
    lua_settop(L, top);
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    size_t len = 0;
    const char *s = NULL;
    if (lua_rawgeti(L, -1, (lua_Integer)i + 1) == LUA_TSTRING) s = lua_tolstring(L, -1, &len);
    m[i] = s ? malloc(len + 1) : NULL;
    if (m[i] == NULL) {
      free_matches(m, i);
      lua_settop(L, top);
      return NULL;
    }
    memcpy(m[i], s, len + 1);
    lua_pop(L, 1);
  }
  lua_settop(L, top);
  return m;
}

static const char nv_global[] =
    "nv = setmetatable({}, {__index = function(t, k)\n"
    "  local ok, m = pcall(require, 'nv.' .. k)\n"
    "  if not ok then error(m, 2) end\n"
    "  rawset(t, k, m); return m end})\n"
    "help = function(...) return require('nv.help').help(...) end\n";

void nv_repl(lua_State *L) {
  struct repl r;
  memset(&r, 0, sizeof r);
  r.tty = isatty(STDIN_FILENO);
  const char *home = getenv("HOME");
  if (r.tty) {
    if (home && nv_paths_join(r.history, sizeof r.history, home, ".nvlua_history")) {
      stifle_history(2000);
      read_history(r.history); /* a missing file is not an error */
    }
    rl_readline_name = "nvlua";
    rl_basic_word_break_characters = " \t\n\"\\'`@$><=;|&{}()[]+-*/%^~,#";
    rl_attempted_completion_function = repl_complete;
    completion_state = L;
  }
  if (luaL_dostring(L, nv_global) != LUA_OK) lua_pop(L, 1);
  printf("nvlua %s (%s) - nv.* modules load on use, e.g. nv.log, nv.store; help() for more; Ctrl-D exits\n",
         NVLUA_VERSION, LUA_RELEASE);
  for (;;) {
    int base = lua_gettop(L);
    char *line = read_line(&r, PROMPT1);
    if (line == NULL) break;
    lua_pushstring(L, line);
    free(line);
    int status;
    for (;;) {
      lua_pushvalue(L, -1);
      status = compile(L);
      if (!incomplete(L, status)) break;
      char *more = read_line(&r, PROMPT2);
      if (more == NULL) {
        lua_pushliteral(L, "incomplete statement at end of input");
        status = LUA_ERRSYNTAX;
        break;
      }
      lua_pushstring(L, "\n");
      lua_pushstring(L, more);
      free(more);
      lua_concat(L, 3);
    }
    if (r.tty) {
      const char *text = lua_tostring(L, base + 1);
      if (text && *text) add_history(text);
    }
    if (status == LUA_OK) {
      lua_remove(L, base + 1); /* the source text */
      status = nv_pcall(L, 0, LUA_MULTRET);
      if (status == LUA_OK) print_results(L, base);
    }
    if (status != LUA_OK) {
      const char *msg = lua_tostring(L, -1);
      fprintf(stderr, "%s\n", msg ? msg : "(error object is not a string)");
      fflush(stderr);
    }
    lua_settop(L, base);
  }
  putchar('\n');
  fflush(stdout);
  if (r.tty) {
    rl_attempted_completion_function = NULL;
    completion_state = NULL;
    if (r.history[0]) write_history(r.history);
  }
}
