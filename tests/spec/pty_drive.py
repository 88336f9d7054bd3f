#!/usr/bin/env python3
"""Drives a program on a pseudo-terminal (the REPL's readline path, which
plain pipes never reach): pty_drive.py TIMEOUT CMD [ARGS...], with the
keystrokes on stdin. Each chunk of keystrokes (split at the byte 0x01)
is typed after the program has been quiet for a moment; the terminal's
whole output goes to stdout. Exits with the program's status."""
import os
import pty
import select
import sys
import time


def main():
    timeout = float(sys.argv[1])
    argv = sys.argv[2:]
    chunks = sys.stdin.buffer.read().split(b"\x01")
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    out = bytearray()
    deadline = time.monotonic() + timeout

    def drain(quiet):
        # read until nothing arrives for `quiet` seconds (or EOF / deadline)
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], quiet)
            if not r:
                return True
            try:
                data = os.read(fd, 4096)
            except OSError:
                return False
            if not data:
                return False
            out.extend(data)
        return False

    alive = drain(0.5)
    for chunk in chunks:
        if not alive:
            break
        os.write(fd, chunk)
        alive = drain(0.3)
    if alive:
        drain(1.0)
    try:
        os.kill(pid, 9) if time.monotonic() >= deadline else None
    except ProcessLookupError:
        pass
    _, status = os.waitpid(pid, 0)
    sys.stdout.buffer.write(bytes(out))
    sys.stdout.flush()
    sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else 0)


if __name__ == "__main__":
    main()
