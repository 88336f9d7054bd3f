#!/usr/bin/env python3
"""Slow and concurrent HTTP clients against a server on 127.0.0.1:PORT, for
server_spec.lua (stdlib only).

  slow_clients.py PORT SLOW BURST SECONDS

Opens SLOW connections that send one header line every 2 s and never end
their headers (from source addresses 127.0.0.2 .. 127.0.0.9, so that the
probing client 127.0.0.1 is a different client), then BURST concurrent
complete GET /health requests that read nothing back and keep their
connections open (from 127.0.1.1 .. 127.0.1.16), and for SECONDS
measures GET /health from 127.0.0.1 once every 0.25 s. After that it closes
every connection and measures /health for 3 s more.

Prints one JSON object: {"during": [latency or null, ...], "after": [...],
"slow_cut": n, "slow_held": n} — latencies in seconds (null: no answer within
2 s); slow_cut: slow connections the server ended; slow_held: still open.
"""
import json
import socket
import sys
import threading
import time

HOST = "127.0.0.1"


def health(port):
    t0 = time.monotonic()
    try:
        with socket.create_connection((HOST, port), timeout=2) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            if data.startswith(b"HTTP/1.1 200"):
                return time.monotonic() - t0
    except OSError:
        pass
    return None


def open_slow(port, n):
    socks = []
    for i in range(n):
        s = socket.socket()
        try:
            s.bind(("127.0.0.%d" % (2 + i % 8), 0))
            s.settimeout(2)
            s.connect((HOST, port))
            s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n")
            socks.append(s)
        except OSError:
            s.close()
    return socks


def burst(port, n):
    out = []
    def one(i):
        try:
            s = socket.create_connection((HOST, port), timeout=5,
                                         source_address=("127.0.1.%d" % (1 + i % 16), 0))
            s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
            out.append(s)
        except OSError:
            pass
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def alive(s):
    try:
        s.setblocking(False)
        return s.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def main():
    port, nslow, nburst, secs = (int(a) for a in sys.argv[1:5])
    slow = open_slow(port, nslow)
    held = burst(port, nburst)
    during = []
    t_end = time.monotonic() + secs
    next_line = time.monotonic() + 2
    while time.monotonic() < t_end:
        during.append(health(port))
        if time.monotonic() >= next_line:
            next_line += 2
            for s in slow:
                try:
                    s.settimeout(0.2)
                    s.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass
        time.sleep(0.25)
    cut = sum(1 for s in slow if not alive(s))
    for s in slow + held:
        s.close()
    after = []
    t_end = time.monotonic() + 3
    while time.monotonic() < t_end:
        after.append(health(port))
        time.sleep(0.25)
    print(json.dumps({"during": during, "after": after, "slow_cut": cut,
                      "slow_held": len(slow) - cut, "slow_opened": len(slow)}))


if __name__ == "__main__":
    main()
