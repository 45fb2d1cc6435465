#!/usr/bin/env python3
"""Idle keep-alive connections for bench/idle.sh.

Opens COUNT connections to HOST:PORT, sends one GET on each and reads its whole answer
(status 200, Content-Length body), so that every connection is a keep-alive connection the
server has served and now holds idle. At most --in-flight connections are being opened at a
time. Source addresses rotate over 127.0.0.2, 127.0.0.3, ... one per --per-source
connections, so that a large COUNT does not run out of local ports.

Protocol with the caller: prints "idle N SECONDS" on stdout once all N are idle, then waits
for a line on stdin; then checks every connection is still open (no EOF, no reset), prints
"open N" and closes them all. Exits 1 if a connection failed or got a wrong answer.
"""
import argparse
import errno
import selectors
import socket
import sys
import time

IP_BIND_ADDRESS_NO_PORT = 24  # linux/in.h: the port is chosen at connect(), per 4-tuple


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("count", type=int)
    parser.add_argument("--path", default="/")
    parser.add_argument("--in-flight", type=int, default=200)
    # The kernel's search for a free port slows down as a source's ports fill up.
    parser.add_argument("--per-source", type=int, default=8000)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds for all of them")
    return parser.parse_args()


def answer_complete(data):
    """True once `data` holds a whole 200 answer; raises ValueError on any other answer."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return False
    head = data[:end].decode("latin-1").split("\r\n")
    if not head[0].startswith("HTTP/1.1 200 "):
        raise ValueError("answer: %r" % head[0])
    length = None
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
        if name.strip().lower() == "connection" and "close" in value.lower():
            raise ValueError("the server closes the connection after the answer")
    if length is None:
        raise ValueError("answer without Content-Length")
    return len(data) >= end + 4 + length


def open_idle(args):
    request = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: bench-idle\r\n\r\n"
               % (args.path, args.host, args.port)).encode()
    sel = selectors.DefaultSelector()
    idle = []
    received = {}
    started = 0
    deadline = time.monotonic() + args.timeout

    def start(index):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        sock.bind(("127.0.0.%d" % (2 + index // args.per_source), 0))
        sock.setblocking(False)
        err = sock.connect_ex((args.host, args.port))
        if err not in (0, errno.EINPROGRESS):
            raise OSError(err, "connect #%d: %s" % (index, errno.errorcode.get(err, err)))
        sel.register(sock, selectors.EVENT_WRITE)
        received[sock] = b""

    while len(idle) < args.count:
        while started < args.count and len(received) < args.in_flight:
            start(started)
            started += 1
        if time.monotonic() > deadline:
            raise TimeoutError("%d of %d idle after %.0f s" % (len(idle), args.count, args.timeout))
        for key, events in sel.select(timeout=1.0):
            sock = key.fileobj
            if events & selectors.EVENT_WRITE:
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise OSError(err, "connect: %s" % errno.errorcode.get(err, err))
                sock.send(request)  # a few dozen bytes into an empty socket buffer
                sel.modify(sock, selectors.EVENT_READ)
                continue
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed a connection before answering")
            received[sock] += chunk
            if answer_complete(received[sock]):
                sel.unregister(sock)
                del received[sock]
                idle.append(sock)
    sel.close()
    return idle


def still_open(socks):
    alive = 0
    for sock in socks:
        try:
            if sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                continue  # EOF: the server closed it
        except BlockingIOError:
            pass
        except OSError:
            continue
        alive += 1
    return alive


def main():
    args = parse_args()
    began = time.monotonic()
    try:
        socks = open_idle(args)
    except (OSError, ValueError, TimeoutError) as error:
        print("idle_client: %s" % error, file=sys.stderr)
        return 1
    print("idle %d %.1f" % (len(socks), time.monotonic() - began), flush=True)
    sys.stdin.readline()
    alive = still_open(socks)
    print("open %d" % alive, flush=True)
    for sock in socks:
        sock.close()
    return 0 if alive == len(socks) else 1


if __name__ == "__main__":
    sys.exit(main())
