#!/usr/bin/env python3
"""A stand-in for the platform's REST API, for the busted specs.

    platform_api.py --port-file PORT_FILE --log REQUESTS.jsonl [--plan PLAN.json]

Listens on 127.0.0.1 (port 0: the kernel picks one) and writes the port to
PORT_FILE once it is accepting. Every request is appended to the JSON-lines
log as {method, path, headers (lowercased names), body_b64, raw_is_gzip
(the body on the wire starts with the gzip magic), body (the body
after gunzip, when it is text), json (when it decodes), idempotency_key,
duplicate (this key was seen before), time}.

Misbehaviour on demand, two ways:

* PLAN.json (re-read on every request to /api/…) is a JSON array of actions
  consumed one per request, first to last; when it is empty the server
  answers 200 {"status": "received", "record_count": N}. An action is an
  object with any of:
    status       (int)    response status
    body         (any)    response body (a string is sent as is, else JSON)
    retry_after  (str|int) Retry-After header
    sleep        (float)  seconds to wait before answering (slow server)
    drop         (bool)   close the connection without answering
    gzip         (bool)   gzip the response body
    echo_auth    (bool)   answer with the Authorization header in the body

* Fixed paths for nv.http unit tests:
    /echo          200 with the request as JSON (method, path, headers, body)
    /status/NNN    status NNN, body "status NNN"
    /gzip          a gzip-encoded JSON body
    /slow?s=SEC    answers after SEC seconds
    /hold?file=F   answers once the file F exists (at most 10 minutes): a
                   request that lasts exactly as long as a test wants
    /big?n=BYTES   a body of BYTES 'x'
    /retry-after?n=K&after=SEC  429 with Retry-After: SEC for the first K
                   requests carrying the same X-Test-Id header, then 200
    /drop          closes the connection without answering
"""
import argparse
import base64
import gzip
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOCK = threading.Lock()
SEEN_KEYS = set()
COUNTERS = {}


def next_action(plan_path):
    """Pops the first action of the plan file (atomically rewritten)."""
    if not plan_path or not os.path.exists(plan_path):
        return None
    with open(plan_path, "r", encoding="utf-8") as f:
        try:
            plan = json.load(f)
        except ValueError:
            return None
    if not isinstance(plan, list) or not plan:
        return None
    action = plan.pop(0)
    tmp = plan_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(plan, f)
    os.replace(tmp, plan_path)
    return action


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "platform-api-test/1"

    def log_message(self, fmt, *args):  # quiet: the JSONL log is the record
        pass

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        data = raw
        if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
            try:
                data = gzip.decompress(raw)
            except OSError:
                data = b""
        return raw, data

    def _record(self, raw, data):
        rec = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body_b64": base64.b64encode(raw).decode("ascii"),
            "raw_is_gzip": raw[:2] == b"\x1f\x8b",
            "time": time.time(),
        }
        try:
            rec["body"] = data.decode("utf-8")
            rec["json"] = json.loads(rec["body"]) if rec["body"] else None
        except (UnicodeDecodeError, ValueError):
            pass
        key = self.headers.get("Idempotency-Key")
        rec["idempotency_key"] = key
        with LOCK:
            rec["duplicate"] = key is not None and key in SEEN_KEYS
            if key is not None:
                SEEN_KEYS.add(key)
            with open(self.server.log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
        return rec

    def _send(self, status, body, headers=None, gz=False):
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            headers = dict(headers or {})
            headers.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode("utf-8")
        if gz:
            body = gzip.compress(body)
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        if gz:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass

    def _handle(self):
        raw, data = self._read_body()
        rec = self._record(raw, data)
        url = urlparse(self.path)
        q = parse_qs(url.query)
        p = url.path
        if p == "/echo":
            return self._send(200, {"method": self.command, "path": self.path,
                                    "headers": rec["headers"], "body": rec.get("body")})
        if p.startswith("/status/"):
            code = int(p.rsplit("/", 1)[1])
            return self._send(code, "status %d" % code, {"Content-Type": "text/plain"})
        if p == "/gzip":
            return self._send(200, {"compressed": True}, gz=True)
        if p == "/slow":
            time.sleep(float(q.get("s", ["1"])[0]))
            return self._send(200, "slow", {"Content-Type": "text/plain"})
        if p == "/hold":
            release, until = q.get("file", [""])[0], time.time() + 600
            while release and not os.path.exists(release) and time.time() < until:
                time.sleep(0.05)
            return self._send(200, "released", {"Content-Type": "text/plain"})
        if p == "/big":
            return self._send(200, "x" * int(q.get("n", ["0"])[0]), {"Content-Type": "text/plain"})
        if p == "/drop":
            return self._drop()
        if p == "/retry-after":
            tid = self.headers.get("X-Test-Id", "")
            with LOCK:
                COUNTERS[tid] = COUNTERS.get(tid, 0) + 1
                seen = COUNTERS[tid]
            if seen <= int(q.get("n", ["1"])[0]):
                return self._send(429, {"error": "slow down"},
                                  {"Retry-After": q.get("after", ["1"])[0]})
            return self._send(200, {"ok": True, "attempt": seen})

        action = next_action(self.server.plan_path) or {}
        if action.get("sleep"):
            time.sleep(float(action["sleep"]))
        if action.get("drop"):
            return self._drop()
        status = int(action.get("status", 200))
        headers = {}
        if "retry_after" in action:
            headers["Retry-After"] = action["retry_after"]
        body = action.get("body")
        if action.get("echo_auth"):  # a careless platform echoing the key
            body = {"error": "rejected", "authorization": self.headers.get("Authorization")}
        if body is None:
            if status < 300:
                payload = rec.get("json") or {}
                md = payload.get("metadata") or {}
                count = sum(len(md.get(k) or []) for k in ("sources", "tables", "columns"))
                body = {"status": "received", "record_count": count,
                        "idempotency_key": rec["idempotency_key"], "duplicate": rec["duplicate"]}
            else:
                body = {"error": "status %d" % status}
        return self._send(status, body, headers, gz=bool(action.get("gzip")))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--plan")
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.log_path = a.log
    srv.plan_path = a.plan
    tmp = a.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
