"""Hold every packet of an NFQUEUE queue for D ms, then accept it (run inside a namespace).

Usage: python nfq_delay.py QUEUE_NUM CONTROL_FILE
CONTROL_FILE holds the delay in ms (re-read when it changes). SIGTERM accepts what is held and exits.
Single-threaded: select() on the queue's netlink socket with the next release time as timeout.
"""
from __future__ import annotations

import collections
import os
import select
import signal
import socket
import sys
import time

from netfilterqueue import NetfilterQueue


def main() -> int:
    qnum, ctl = int(sys.argv[1]), sys.argv[2]
    state = {"delay": 0.0, "mtime": None, "stop": False}
    held: collections.deque = collections.deque()

    def reload() -> None:
        try:
            m = os.stat(ctl).st_mtime_ns
        except OSError:
            return
        if m != state["mtime"]:
            state["mtime"] = m
            try:
                state["delay"] = float(open(ctl).read().strip() or 0) / 1000.0
            except ValueError:
                pass

    def cb(pkt) -> None:
        if state["delay"] <= 0:
            pkt.accept()
        else:
            held.append((time.monotonic() + state["delay"], pkt))

    def stop(*_a) -> None:
        state["stop"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    nfq = NetfilterQueue()
    nfq.bind(qnum, cb, max_len=65536)
    sock = socket.fromfd(nfq.get_fd(), socket.AF_UNIX, socket.SOCK_STREAM)
    print("ready", flush=True)
    try:
        while not state["stop"]:
            reload()
            now = time.monotonic()
            timeout = max(0.0, held[0][0] - now) if held else 0.2
            try:
                ready, _, _ = select.select([sock], [], [], timeout)
            except InterruptedError:
                continue
            if ready:
                nfq.run(block=False)
            now = time.monotonic()
            while held and held[0][0] <= now:
                held.popleft()[1].accept()
    finally:
        while held:
            held.popleft()[1].accept()
        nfq.unbind()
        sock.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
