#!/usr/bin/env python3
"""A Databricks EMULATOR for the busted specs — no Databricks is reachable
from the test machines, so this stands in for just the endpoints nvlua uses.
It is not Databricks: the SQL runs on SQLite after a few translations.

    databricks_emulator.py --port-file PORT_FILE --token TOKEN
                           --warehouse-id ID [--data-dir DIR]

Listens on 127.0.0.1 (port 0: the kernel picks one) and writes the port to
PORT_FILE once it is accepting. Every request must carry
`Authorization: Bearer TOKEN`, else 401 (the token is never echoed).

SQL Statement Execution API (request/response shapes as documented):
  POST /api/2.0/sql/statements            {warehouse_id, statement,
        parameters: [{name, value?, type?}], wait_timeout, on_wait_timeout,
        disposition, format}
  GET  /api/2.0/sql/statements/{id}
  GET  /api/2.0/sql/statements/{id}/result/chunks/{n}
  POST /api/2.0/sql/statements/{id}/cancel
  Responses: {statement_id, status: {state, error?: {error_code, message},
  sql_state?}, manifest: {format, schema: {column_count, columns: [{name,
  position, type_name, type_text}]}, total_chunk_count, total_row_count,
  chunks, truncated}, result: {chunk_index, row_offset, row_count,
  data_array (every value a string or null), next_chunk_index?,
  next_chunk_internal_link?}}.

Unity Catalog REST API (2.1), paginated with max_results / page_token /
next_page_token:
  GET /api/2.1/unity-catalog/catalogs
  GET /api/2.1/unity-catalog/schemas?catalog_name=
  GET /api/2.1/unity-catalog/tables?catalog_name=&schema_name=

The SQL dialect understood (what nvlua and the specs send):
  `backquoted` identifiers; three-part names catalog.schema.table (each
  catalog.schema is one SQLite database ATTACHed as "catalog.schema");
  CREATE CATALOG [IF NOT EXISTS] c; CREATE SCHEMA [IF NOT EXISTS] c.s;
  CREATE TABLE [IF NOT EXISTS] c.s.t (col TYPE [NOT NULL] [COMMENT '…'],
  …, [PRIMARY KEY (…)]) [USING DELTA] [COMMENT '…'];
  ALTER TABLE c.s.t ADD COLUMN[S] col TYPE; SHOW TABLES IN c.s;
  DESCRIBE [TABLE] c.s.t; named parameter markers :name; anything else is
  passed to SQLite after those rewrites. Databricks types (STRING, BIGINT,
  INT, DOUBLE, BOOLEAN, TIMESTAMP, DECIMAL(p,s), …) are kept in a catalog
  of our own so results and Unity Catalog report them.

Emulator-only controls (not part of any Databricks API), under /_emulator:
  POST /_emulator/config  JSON merged into the behaviour settings:
      pending_polls   (int)  statements stay PENDING/RUNNING for this many
                             GETs before they run (0: run at once)
      chunk_rows      (int)  rows per result chunk (default 1000)
      page_size       (int)  Unity Catalog page size cap (default 100)
      empty_pages     (bool) insert an empty page with a next_page_token
                             before each real page after the first
      external_links  (bool) answer with EXTERNAL_LINKS instead of rows
      fail_status     (int)  answer the next statement POST with this HTTP
                             status (then forgotten)
      clear_requests  (bool) empty the request log
  GET  /_emulator/requests  the request log [{method, path, query, body}]
                             (Authorization headers are not recorded)
"""
import argparse
import json
import os
import re
import sqlite3
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOCK = threading.RLock()

IDENT = r'(?:`(?:[^`]|``)+`|[A-Za-z_][A-Za-z0-9_]*)'
NAME3 = re.compile(r'(' + IDENT + r')\s*\.\s*(' + IDENT + r')\s*\.\s*(' + IDENT + r')')
NAME2 = re.compile(r'^\s*(' + IDENT + r')\s*\.\s*(' + IDENT + r')\s*$')

TYPE_NAMES = {
    "STRING": "STRING", "VARCHAR": "STRING", "CHAR": "STRING",
    "BIGINT": "LONG", "LONG": "LONG", "INT": "INT", "INTEGER": "INT",
    "SMALLINT": "SHORT", "SHORT": "SHORT", "TINYINT": "BYTE", "BYTE": "BYTE",
    "DOUBLE": "DOUBLE", "FLOAT": "FLOAT", "REAL": "FLOAT", "DECIMAL": "DECIMAL",
    "BOOLEAN": "BOOLEAN", "TIMESTAMP": "TIMESTAMP", "TIMESTAMP_NTZ": "TIMESTAMP_NTZ",
    "DATE": "DATE", "BINARY": "BINARY", "ARRAY": "ARRAY", "MAP": "MAP", "STRUCT": "STRUCT",
}


class SqlError(Exception):
    def __init__(self, cls, message, sql_state):
        super().__init__(message)
        self.cls, self.message, self.sql_state = cls, message, sql_state


def unquote(ident):
    if ident.startswith("`"):
        return ident[1:-1].replace("``", "`")
    return ident


def type_name(type_text):
    base = re.match(r"[A-Za-z_]+", type_text or "STRING").group(0).upper()
    return TYPE_NAMES.get(base, "STRING")


def sqlite_type(type_text):
    t = type_name(type_text)
    if t in ("LONG", "INT", "SHORT", "BYTE", "BOOLEAN"):
        return "INTEGER"
    if t in ("DOUBLE", "FLOAT", "DECIMAL"):
        return "REAL"
    return "TEXT"


def split_code(sql):
    """[(is_code, text)]: string literals ('…', "…") kept apart from code."""
    out, i, start, n = [], 0, 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"":
            if i > start:
                out.append((True, sql[start:i]))
            j = i + 1
            while j < n:
                if sql[j] == "\\":
                    j += 2
                    continue
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            out.append((False, sql[i:j + 1]))
            i = start = j + 1
        else:
            i += 1
    if start < n:
        out.append((True, sql[start:]))
    return out


def split_top(text, sep=","):
    parts, depth, cur = [], 0, []
    for is_code, seg in split_code(text):
        if not is_code:
            cur.append(seg)
            continue
        for ch in seg:
            if ch in "(<":
                depth += 1
            elif ch in ")>":
                depth -= 1
            if ch == sep and depth == 0:
                parts.append("".join(cur))
                cur = []
            else:
                cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def sql_string(lit):
    return lit[1:-1].replace("''", "'").replace("\\'", "'")


class Emulator:
    def __init__(self, data_dir, warehouse_id):
        self.data_dir = data_dir
        self.warehouse_id = warehouse_id
        self.db = sqlite3.connect(os.path.join(data_dir, "main.db"), check_same_thread=False)
        self.db.isolation_level = None
        self.db.execute("CREATE TABLE IF NOT EXISTS emu_catalogs (name TEXT PRIMARY KEY, comment TEXT)")
        self.db.execute("CREATE TABLE IF NOT EXISTS emu_schemas (catalog TEXT, name TEXT, comment TEXT,"
                        " PRIMARY KEY (catalog, name))")
        self.db.execute("CREATE TABLE IF NOT EXISTS emu_tables (catalog TEXT, schema TEXT, name TEXT,"
                        " comment TEXT, format TEXT, PRIMARY KEY (catalog, schema, name))")
        self.db.execute("CREATE TABLE IF NOT EXISTS emu_columns (catalog TEXT, schema TEXT, tbl TEXT,"
                        " name TEXT, type_text TEXT, nullable INTEGER, comment TEXT, position INTEGER,"
                        " PRIMARY KEY (catalog, schema, tbl, name))")
        self.statements = {}
        self.settings = {"pending_polls": 0, "chunk_rows": 1000, "page_size": 100,
                         "empty_pages": False, "external_links": False, "fail_status": None}
        self.requests = []
        for cat, sch in self.db.execute("SELECT catalog, name FROM emu_schemas").fetchall():
            self.attach(cat, sch)

    # ---- catalog bookkeeping -------------------------------------------
    def attach(self, cat, sch):
        alias = cat + "." + sch
        have = [r[1] for r in self.db.execute("PRAGMA database_list")]
        if alias not in have:
            path = os.path.join(self.data_dir, re.sub(r"[^A-Za-z0-9_.-]", "_", alias) + ".db")
            self.db.execute("ATTACH DATABASE ? AS " + self.q(alias), (path,))

    @staticmethod
    def q(ident):
        return '"' + ident.replace('"', '""') + '"'

    def require_schema(self, cat, sch):
        if not self.db.execute("SELECT 1 FROM emu_schemas WHERE catalog = ? AND name = ?",
                               (cat, sch)).fetchone():
            raise SqlError("SCHEMA_NOT_FOUND", "The schema `%s`.`%s` cannot be found." % (cat, sch), "42704")

    def require_table(self, cat, sch, tbl):
        if not self.db.execute("SELECT 1 FROM emu_tables WHERE catalog = ? AND schema = ? AND name = ?",
                               (cat, sch, tbl)).fetchone():
            raise SqlError("TABLE_OR_VIEW_NOT_FOUND",
                           "The table or view `%s`.`%s`.`%s` cannot be found." % (cat, sch, tbl), "42P01")

    def column_types(self, sql):
        """column name -> type_text for the tables a statement names."""
        types = {}
        for m in NAME3.finditer(sql):
            cat, sch, tbl = (unquote(m.group(i)) for i in (1, 2, 3))
            for name, tt in self.db.execute("SELECT name, type_text FROM emu_columns WHERE catalog = ?"
                                            " AND schema = ? AND tbl = ?", (cat, sch, tbl)):
                types.setdefault(name, tt)
        return types

    # ---- SQL translation -----------------------------------------------
    def translate(self, sql):
        out = []
        for is_code, seg in split_code(sql):
            if is_code:
                seg = NAME3.sub(lambda m: self.q(unquote(m.group(1)) + "." + unquote(m.group(2))) + "."
                                + self.q(unquote(m.group(3))), seg)
                seg = re.sub(r"`((?:[^`]|``)+)`", lambda m: self.q(m.group(1).replace("``", "`")), seg)
            out.append(seg)
        return "".join(out)

    def parse_name3(self, text):
        m = NAME3.match(text.strip())
        if not m or m.end() != len(text.strip()):
            raise SqlError("REQUIRES_SINGLE_PART_NAMESPACE",
                           "The emulator needs three-part names catalog.schema.table, got %s" % text, "42K05")
        return tuple(unquote(m.group(i)) for i in (1, 2, 3))

    def parse_coldef(self, text):
        m = re.match(r"(" + IDENT + r")\s+(.*)$", text, re.S)
        if not m:
            raise SqlError("PARSE_SYNTAX_ERROR", "Syntax error at or near '%s'" % text, "42601")
        name, rest = unquote(m.group(1)), m.group(2)
        comment = None
        cm = re.search(r"\s+COMMENT\s+('(?:[^'\\]|\\.|'')*')\s*$", rest, re.I)
        if cm:
            comment = sql_string(cm.group(1))
            rest = rest[:cm.start()]
        not_null = bool(re.search(r"\bNOT\s+NULL\b", rest, re.I))
        type_text = re.sub(r"\bNOT\s+NULL\b", "", rest, flags=re.I).strip()
        return name, type_text, not_null, comment

    def create_table(self, sql):
        m = re.match(r"\s*CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?(.+?)\s*\((.*)\)\s*(.*)$", sql, re.I | re.S)
        if not m:
            raise SqlError("PARSE_SYNTAX_ERROR", "Syntax error in CREATE TABLE", "42601")
        cat, sch, tbl = self.parse_name3(m.group(2))
        tail = m.group(4)
        fmt = "DELTA"
        um = re.search(r"\bUSING\s+([A-Za-z]+)", tail, re.I)
        if um:
            fmt = um.group(1).upper()
        tcomment = None
        tm = re.search(r"\bCOMMENT\s+('(?:[^'\\]|\\.|'')*')", tail, re.I)
        if tm:
            tcomment = sql_string(tm.group(1))
        self.require_schema(cat, sch)
        if self.db.execute("SELECT 1 FROM emu_tables WHERE catalog = ? AND schema = ? AND name = ?",
                           (cat, sch, tbl)).fetchone():
            if m.group(1):
                return
            raise SqlError("TABLE_OR_VIEW_ALREADY_EXISTS",
                           "Cannot create table or view `%s`.`%s`.`%s` because it already exists." % (cat, sch, tbl),
                           "42P07")
        cols, keys = [], None
        for part in split_top(m.group(3)):
            pk = re.match(r"(?:CONSTRAINT\s+" + IDENT + r"\s+)?PRIMARY\s+KEY\s*\((.*)\)\s*$", part, re.I | re.S)
            if pk:
                keys = [unquote(k.strip()) for k in pk.group(1).split(",")]
                continue
            cols.append(self.parse_coldef(part))
        defs = ["%s %s%s" % (self.q(n), sqlite_type(t), " NOT NULL" if nn else "") for n, t, nn, _ in cols]
        if keys:  # Delta keeps key constraints informational; duplicates are allowed
            pass
        self.db.execute("CREATE TABLE %s.%s (%s)" % (self.q(cat + "." + sch), self.q(tbl), ", ".join(defs)))
        self.db.execute("INSERT INTO emu_tables VALUES (?, ?, ?, ?, ?)", (cat, sch, tbl, tcomment, fmt))
        for i, (n, t, nn, c) in enumerate(cols):
            self.db.execute("INSERT INTO emu_columns VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (cat, sch, tbl, n, t, 0 if nn else 1, c, i))

    def alter_table(self, sql):
        m = re.match(r"\s*ALTER\s+TABLE\s+(.+?)\s+ADD\s+COLUMNS?\s+(.*)$", sql, re.I | re.S)
        if not m:
            raise SqlError("PARSE_SYNTAX_ERROR", "The emulator only supports ALTER TABLE … ADD COLUMN", "42601")
        cat, sch, tbl = self.parse_name3(m.group(1))
        self.require_table(cat, sch, tbl)
        body = m.group(2).strip()
        if body.startswith("(") and body.endswith(")"):
            body = body[1:-1]
        pos = self.db.execute("SELECT COUNT(*) FROM emu_columns WHERE catalog = ? AND schema = ? AND tbl = ?",
                              (cat, sch, tbl)).fetchone()[0]
        for part in split_top(body):
            n, t, nn, c = self.parse_coldef(part)
            if nn:
                raise SqlError("DELTA_NOT_NULL_CONSTRAINT_VIOLATED",
                               "Cannot add a NOT NULL column to an existing Delta table", "42000")
            self.db.execute("ALTER TABLE %s.%s ADD COLUMN %s %s" % (self.q(cat + "." + sch), self.q(tbl),
                                                                    self.q(n), sqlite_type(t)))
            self.db.execute("INSERT INTO emu_columns VALUES (?, ?, ?, ?, ?, 1, ?, ?)", (cat, sch, tbl, n, t, c, pos))
            pos += 1

    # ---- statements ----------------------------------------------------
    def bind(self, params):
        out = {}
        for p in params or []:
            name, ptype = p.get("name"), (p.get("type") or "STRING").upper()
            if not name:
                raise SqlError("INVALID_PARAMETER_MARKER_VALUE", "Every parameter needs a name", "22023")
            v = p.get("value")
            if v is None:
                out[name] = None
                continue
            if not isinstance(v, str):
                raise SqlError("INVALID_PARAMETER_MARKER_VALUE",
                               "Parameter %s: the value must be a string" % name, "22023")
            t = type_name(ptype)
            try:
                if t in ("LONG", "INT", "SHORT", "BYTE"):
                    out[name] = int(v)
                elif t in ("DOUBLE", "FLOAT", "DECIMAL"):
                    out[name] = float(v)
                elif t == "BOOLEAN":
                    if v.lower() not in ("true", "false"):
                        raise ValueError(v)
                    out[name] = 1 if v.lower() == "true" else 0
                elif t == "TIMESTAMP":
                    if not re.match(r"^\d{4}-\d\d-\d\d([ T]\d\d:\d\d(:\d\d(\.\d{1,6})?)?)?(Z|[+-]\d\d:?\d\d)?$", v):
                        raise ValueError(v)
                    out[name] = v
                else:
                    out[name] = v
            except ValueError:
                raise SqlError("INVALID_PARAMETER_MARKER_VALUE",
                               "Parameter %s: cannot cast '%s' to %s" % (name, v, ptype), "22018")
        return out

    def run_sql(self, sql, params):
        """-> (columns [(name, type_text)], rows [[python values]])"""
        s = sql.strip().rstrip(";").strip()
        up = s.upper()
        bound = self.bind(params)
        m = re.match(r"CREATE\s+CATALOG\s+(IF\s+NOT\s+EXISTS\s+)?(" + IDENT + r")(?:\s+COMMENT\s+('.*'))?$",
                     s, re.I | re.S)
        if m:
            self.db.execute("INSERT OR IGNORE INTO emu_catalogs VALUES (?, ?)",
                            (unquote(m.group(2)), m.group(3) and sql_string(m.group(3))))
            return [], []
        m = re.match(r"CREATE\s+(?:SCHEMA|DATABASE)\s+(IF\s+NOT\s+EXISTS\s+)?(.+?)(?:\s+COMMENT\s+('.*'))?$",
                     s, re.I | re.S)
        if m:
            nm = NAME2.match(m.group(2))
            if not nm:
                raise SqlError("PARSE_SYNTAX_ERROR", "The emulator needs catalog.schema in CREATE SCHEMA", "42601")
            cat, sch = unquote(nm.group(1)), unquote(nm.group(2))
            exists = self.db.execute("SELECT 1 FROM emu_schemas WHERE catalog = ? AND name = ?",
                                     (cat, sch)).fetchone()
            if exists and not m.group(1):
                raise SqlError("SCHEMA_ALREADY_EXISTS", "Cannot create schema `%s` because it already exists." % sch,
                               "42P06")
            if not exists:
                self.db.execute("INSERT OR IGNORE INTO emu_catalogs VALUES (?, NULL)", (cat,))
                self.db.execute("INSERT INTO emu_schemas VALUES (?, ?, ?)",
                                (cat, sch, m.group(3) and sql_string(m.group(3))))
                self.attach(cat, sch)
            return [], []
        if re.match(r"CREATE\s+TABLE\b", up):
            self.create_table(s)
            return [], []
        if re.match(r"ALTER\s+TABLE\b", up):
            self.alter_table(s)
            return [], []
        m = re.match(r"SHOW\s+TABLES\s+(?:IN|FROM)\s+(.+)$", s, re.I)
        if m:
            nm = NAME2.match(m.group(1))
            if not nm:
                raise SqlError("PARSE_SYNTAX_ERROR", "The emulator needs SHOW TABLES IN catalog.schema", "42601")
            cat, sch = unquote(nm.group(1)), unquote(nm.group(2))
            self.require_schema(cat, sch)
            rows = [[sch, r[0], False] for r in self.db.execute(
                "SELECT name FROM emu_tables WHERE catalog = ? AND schema = ? ORDER BY name", (cat, sch))]
            return [("database", "string"), ("tableName", "string"), ("isTemporary", "boolean")], rows
        m = re.match(r"DESC(?:RIBE)?\s+(?:TABLE\s+)?(.+)$", s, re.I)
        if m:
            cat, sch, tbl = self.parse_name3(m.group(1))
            self.require_table(cat, sch, tbl)
            rows = [[n, t.lower(), c] for n, t, c in self.db.execute(
                "SELECT name, type_text, comment FROM emu_columns WHERE catalog = ? AND schema = ? AND tbl = ?"
                " ORDER BY position", (cat, sch, tbl))]
            return [("col_name", "string"), ("data_type", "string"), ("comment", "string")], rows
        if re.match(r"(BEGIN|START\s+TRANSACTION|COMMIT|ROLLBACK)\b", up):
            raise SqlError("UNSUPPORTED_FEATURE",
                           "Multi-statement transactions are not supported by this warehouse", "0A000")
        if re.search(r"\bUSING\s+DELTA\b", up):
            raise SqlError("PARSE_SYNTAX_ERROR", "Unexpected USING DELTA", "42601")
        types = self.column_types(s)
        try:
            cur = self.db.execute(self.translate(s), bound)
        except sqlite3.Error as e:
            msg = str(e)
            if "no such table" in msg:
                raise SqlError("TABLE_OR_VIEW_NOT_FOUND", "The table or view cannot be found (%s)." % msg, "42P01")
            if "syntax error" in msg:
                raise SqlError("PARSE_SYNTAX_ERROR", "Syntax error (%s)." % msg, "42601")
            if "NOT NULL constraint" in msg:
                raise SqlError("DELTA_NOT_NULL_CONSTRAINT_VIOLATED", "NOT NULL constraint violated (%s)." % msg,
                               "23502")
            if "no such column" in msg:
                raise SqlError("UNRESOLVED_COLUMN", "A column cannot be resolved (%s)." % msg, "42703")
            if "binding" in msg or "supply a value" in msg:
                raise SqlError("UNBOUND_SQL_PARAMETER", "Found an unbound parameter (%s)." % msg, "42P02")
            raise SqlError("INTERNAL_ERROR", msg, "XX000")
        if cur.description is None:
            return [], []
        rows = [list(r) for r in cur.fetchall()]
        cols = []
        for i, d in enumerate(cur.description):
            tt = types.get(d[0])
            if tt is None:
                sample = next((r[i] for r in rows if r[i] is not None), None)
                tt = "bigint" if isinstance(sample, int) else "double" if isinstance(sample, float) else "string"
            cols.append((d[0], tt.lower()))
        return cols, rows

    @staticmethod
    def text(value, type_text):
        if value is None:
            return None
        t = type_name(type_text)
        if t == "BOOLEAN":
            return "true" if value in (1, True, "true") else "false"
        if t in ("LONG", "INT", "SHORT", "BYTE") and isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    def execute(self, req):
        sid = str(uuid.uuid4())
        st = {"id": sid, "req": req, "polls_left": int(self.settings.get("pending_polls") or 0), "response": None}
        self.statements[sid] = st
        if st["polls_left"] > 0:
            return {"statement_id": sid, "status": {"state": "PENDING"}}
        self.finish(st)
        return st["response"]

    def finish(self, st):
        req = st["req"]
        try:
            cols, rows = self.run_sql(req.get("statement") or "", req.get("parameters"))
        except SqlError as e:
            st["response"] = {"statement_id": st["id"], "status": {
                "state": "FAILED", "sql_state": e.sql_state,
                "error": {"error_code": "BAD_REQUEST",
                          "message": "[%s] %s SQLSTATE: %s" % (e.cls, e.message, e.sql_state)}}}
            return
        data = [[self.text(v, cols[i][1]) for i, v in enumerate(r)] for r in rows]
        size = max(1, int(self.settings.get("chunk_rows") or 1000))
        chunks = [data[i:i + size] for i in range(0, len(data), size)] or [[]]
        st["chunks"] = chunks
        manifest = {
            "format": "JSON_ARRAY",
            "schema": {"column_count": len(cols), "columns": [
                {"name": n, "position": i, "type_name": type_name(t), "type_text": t.upper()}
                for i, (n, t) in enumerate(cols)]},
            "total_chunk_count": len(chunks), "total_row_count": len(data), "truncated": False,
            "chunks": [{"chunk_index": i, "row_offset": sum(len(c) for c in chunks[:i]), "row_count": len(c)}
                       for i, c in enumerate(chunks)],
        }
        resp = {"statement_id": st["id"], "status": {"state": "SUCCEEDED"}, "manifest": manifest}
        if cols:
            resp["result"] = self.chunk(st, 0)
        st["response"] = resp

    def chunk(self, st, i):
        chunks = st["chunks"]
        if self.settings.get("external_links"):
            return {"external_links": [{"chunk_index": i, "row_offset": 0, "row_count": len(chunks[i]),
                                        "external_link": "https://example.invalid/chunk/%d?sig=secret" % i,
                                        "expiration": "2099-01-01T00:00:00Z"}]}
        out = {"chunk_index": i, "row_offset": sum(len(c) for c in chunks[:i]), "row_count": len(chunks[i]),
               "data_array": chunks[i]}
        if i + 1 < len(chunks):
            out["next_chunk_index"] = i + 1
            out["next_chunk_internal_link"] = "/api/2.0/sql/statements/%s/result/chunks/%d" % (st["id"], i + 1)
        return out

    def poll(self, sid):
        st = self.statements.get(sid)
        if not st:
            return None
        if st["response"] is None:
            st["polls_left"] -= 1
            if st["polls_left"] > 0:
                return {"statement_id": sid, "status": {"state": "RUNNING"}}
            self.finish(st)
        return st["response"]

    # ---- Unity Catalog -------------------------------------------------
    def page(self, items, key, query):
        try:
            maxr = int((query.get("max_results") or ["0"])[0])
        except ValueError:
            return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "max_results must be an integer"}
        if maxr < 0:
            return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "max_results must be >= 0"}
        cap = int(self.settings.get("page_size") or 100)
        size = min(maxr, cap) if maxr > 0 else cap
        token = (query.get("page_token") or [""])[0]
        empty = False
        if token:
            m = re.match(r"^(e?)o(\d+)$", token)
            if not m:
                return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "invalid page_token"}
            start, empty = int(m.group(2)), bool(m.group(1))
        else:
            start = 0
        if self.settings.get("empty_pages") and start > 0 and not empty:
            return 200, {key: [], "next_page_token": "eo%d" % start}
        body = {key: items[start:start + size]}
        if start + size < len(items):
            body["next_page_token"] = "o%d" % (start + size)
        return 200, body

    def uc_catalogs(self):
        return [{"name": n, "comment": c, "catalog_type": "MANAGED_CATALOG", "owner": "emulator",
                 "full_name": n} for n, c in self.db.execute("SELECT name, comment FROM emu_catalogs ORDER BY name")]

    def uc_schemas(self, cat):
        return [{"name": n, "catalog_name": cat, "full_name": cat + "." + n, "comment": c, "owner": "emulator"}
                for n, c in self.db.execute("SELECT name, comment FROM emu_schemas WHERE catalog = ? ORDER BY name",
                                            (cat,))]

    def uc_tables(self, cat, sch):
        out = []
        for n, c, fmt in self.db.execute("SELECT name, comment, format FROM emu_tables WHERE catalog = ? AND"
                                         " schema = ? ORDER BY name", (cat, sch)).fetchall():
            cols = []
            for cn, tt, nullable, cc, pos in self.db.execute(
                    "SELECT name, type_text, nullable, comment, position FROM emu_columns WHERE catalog = ? AND"
                    " schema = ? AND tbl = ? ORDER BY position", (cat, sch, n)):
                col = {"name": cn, "type_text": tt.lower(), "type_name": type_name(tt), "position": pos,
                       "nullable": bool(nullable),
                       "type_json": json.dumps({"name": cn, "type": tt.lower(), "nullable": bool(nullable),
                                                "metadata": {}})}
                dm = re.match(r"DECIMAL\((\d+),\s*(\d+)\)", tt, re.I)
                if dm:
                    col["type_precision"], col["type_scale"] = int(dm.group(1)), int(dm.group(2))
                if cc is not None:
                    col["comment"] = cc
                cols.append(col)
            t = {"name": n, "catalog_name": cat, "schema_name": sch, "full_name": "%s.%s.%s" % (cat, sch, n),
                 "table_type": "MANAGED", "data_source_format": fmt, "columns": cols, "owner": "emulator",
                 "created_at": 1700000000000, "updated_at": 1700000500000,
                 "storage_location": "s3://emulator/%s/%s/%s" % (cat, sch, n)}
            if c is not None:
                t["comment"] = c
            out.append(t)
        return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    emu = None
    token = None

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if not raw:
            return {}
        return json.loads(raw)

    def handle_any(self, method):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        try:
            body = self.body_json() if method == "POST" else None
        except ValueError:
            return self.reply(400, {"error_code": "MALFORMED_REQUEST", "message": "Invalid JSON in request body"})
        emu = self.emu
        with LOCK:
            if not url.path.startswith("/_emulator/"):
                emu.requests.append({"method": method, "path": url.path, "query": query, "body": body})
            if url.path.startswith("/_emulator/"):
                if url.path == "/_emulator/config" and method == "POST":
                    body = dict(body or {})
                    if body.pop("clear_requests", False):
                        emu.requests = []
                    emu.settings.update(body)
                    return self.reply(200, emu.settings)
                if url.path == "/_emulator/requests":
                    return self.reply(200, emu.requests)
                return self.reply(404, {"error_code": "NOT_FOUND", "message": "no such emulator control"})
            if self.headers.get("Authorization") != "Bearer " + self.token:
                return self.reply(401, {"error_code": "UNAUTHENTICATED",
                                        "message": "Credential was not sent or was of an unsupported type"
                                        " for this API."})
            p = url.path
            if p == "/api/2.0/sql/statements" and method == "POST":
                fs = emu.settings.get("fail_status")
                if fs:
                    emu.settings["fail_status"] = None
                    return self.reply(int(fs), {"error_code": "TEMPORARILY_UNAVAILABLE",
                                                "message": "The service is temporarily unavailable"})
                if not isinstance(body, dict) or not body.get("statement"):
                    return self.reply(400, {"error_code": "INVALID_PARAMETER_VALUE",
                                            "message": "statement is required"})
                if body.get("warehouse_id") != emu.warehouse_id:
                    return self.reply(404, {"error_code": "RESOURCE_DOES_NOT_EXIST",
                                            "message": "Warehouse %s does not exist" % body.get("warehouse_id")})
                if body.get("disposition", "INLINE") not in ("INLINE", "EXTERNAL_LINKS") or \
                        body.get("format", "JSON_ARRAY") not in ("JSON_ARRAY", "ARROW_STREAM", "CSV"):
                    return self.reply(400, {"error_code": "INVALID_PARAMETER_VALUE",
                                            "message": "invalid disposition or format"})
                wt = body.get("wait_timeout", "10s")
                m = re.match(r"^(\d+)s$", str(wt))
                if not m or not (int(m.group(1)) == 0 or 5 <= int(m.group(1)) <= 50):
                    return self.reply(400, {"error_code": "INVALID_PARAMETER_VALUE",
                                            "message": "wait_timeout must be 0s or between 5s and 50s"})
                return self.reply(200, emu.execute(body))
            m = re.match(r"^/api/2\.0/sql/statements/([^/]+)(?:/(cancel|result/chunks/(\d+)))?$", p)
            if m:
                sid, action, idx = m.group(1), m.group(2), m.group(3)
                st = emu.statements.get(sid)
                if not st:
                    return self.reply(404, {"error_code": "NOT_FOUND", "message": "statement %s not found" % sid})
                if action == "cancel" and method == "POST":
                    if st["response"] is None:
                        st["response"] = {"statement_id": sid, "status": {"state": "CANCELED"}}
                    return self.reply(200, {})
                if idx is not None and method == "GET":
                    if st["response"] is None or "chunks" not in st or int(idx) >= len(st["chunks"]):
                        return self.reply(404, {"error_code": "NOT_FOUND", "message": "no such chunk"})
                    return self.reply(200, emu.chunk(st, int(idx)))
                if action is None and method == "GET":
                    return self.reply(200, emu.poll(sid))
            if method == "GET" and p == "/api/2.1/unity-catalog/catalogs":
                return self.reply(*emu.page(emu.uc_catalogs(), "catalogs", query))
            if method == "GET" and p == "/api/2.1/unity-catalog/schemas":
                cat = (query.get("catalog_name") or [""])[0]
                if not cat:
                    return self.reply(400, {"error_code": "INVALID_PARAMETER_VALUE",
                                            "message": "catalog_name is required"})
                if not emu.db.execute("SELECT 1 FROM emu_catalogs WHERE name = ?", (cat,)).fetchone():
                    return self.reply(404, {"error_code": "CATALOG_DOES_NOT_EXIST",
                                            "message": "Catalog '%s' does not exist." % cat})
                return self.reply(*emu.page(emu.uc_schemas(cat), "schemas", query))
            if method == "GET" and p == "/api/2.1/unity-catalog/tables":
                cat, sch = (query.get("catalog_name") or [""])[0], (query.get("schema_name") or [""])[0]
                if not cat or not sch:
                    return self.reply(400, {"error_code": "INVALID_PARAMETER_VALUE",
                                            "message": "catalog_name and schema_name are required"})
                if not emu.db.execute("SELECT 1 FROM emu_schemas WHERE catalog = ? AND name = ?",
                                      (cat, sch)).fetchone():
                    return self.reply(404, {"error_code": "SCHEMA_DOES_NOT_EXIST",
                                            "message": "Schema '%s.%s' does not exist." % (cat, sch)})
                return self.reply(*emu.page(emu.uc_tables(cat, sch), "tables", query))
            return self.reply(404, {"error_code": "ENDPOINT_NOT_FOUND",
                                    "message": "No API found for '%s %s'" % (method, p)})

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--warehouse-id", required=True)
    ap.add_argument("--data-dir", default=None)
    a = ap.parse_args()
    data_dir = a.data_dir or os.path.dirname(os.path.abspath(a.port_file))
    os.makedirs(data_dir, exist_ok=True)
    Handler.emu = Emulator(data_dir, a.warehouse_id)
    Handler.token = a.token
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
