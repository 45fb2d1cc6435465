#!/usr/bin/env python3
"""loop_client.py: sends exactly N keep-alive GET requests over C connections (one request in
flight per connection, or DEPTH pipelined) and checks every answer is 200 "Hello, World!"
(with --any-body: any 200 with a Content-Length, as httpapi-echo's JSON).
For profiling, where a fixed request count matters more than speed (bench/profile.sh).
An https:// URL is served over TLS (Python's ssl module; the certificate is not checked, so
a throw-away self-signed one works), the handshakes done before the first request.

  loop_client.py [--requests N] [--connections C] [--depth D] [--any-body] http[s]://127.0.0.1:PORT/
"""
import argparse
import selectors
import socket
import ssl
import sys
import time
from urllib.parse import urlsplit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--depth", type=int, default=1)
    ap.add_argument("--any-body", action="store_true")
    a = ap.parse_args()
    u = urlsplit(a.url)
    tls = u.scheme == "https"
    host, port, path = u.hostname, u.port or (443 if tls else 80), u.path or "/"
    context = None
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()

    sel = selectors.DefaultSelector()
    state = {}
    to_send = a.requests
    for _ in range(min(a.connections, a.requests)):
        s = socket.create_connection((host, port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if context:
            s = context.wrap_socket(s, server_hostname=host)  # handshakes while blocking
        s.setblocking(False)
        state[s] = {"buf": b"", "inflight": 0}
        sel.register(s, selectors.EVENT_READ)

    def send_batch(s):
        nonlocal to_send
        n = min(a.depth, to_send)
        if n:
            s.sendall(request * n)  # small; the socket buffer takes it
            to_send -= n
            state[s]["inflight"] += n

    t0 = time.monotonic()
    for s in list(state):
        send_batch(s)
    done = 0
    while done < a.requests:
        events = sel.select(timeout=60)
        if not events:
            sys.exit(f"loop_client: no answer for 60 s ({done} of {a.requests} done)")
        for key, _ in events:
            s = key.fileobj
            st = state[s]
            try:
                data = s.recv(65536)
                while context and s.pending():
                    data += s.recv(65536)
            except ssl.SSLWantReadError:  # a record with no data (a TLS 1.3 ticket)
                continue
            if not data:
                sys.exit("loop_client: server closed a connection")
            st["buf"] += data
            while True:
                end = st["buf"].find(b"\r\n\r\n")
                if end < 0:
                    break
                head = st["buf"][:end].decode("latin-1")
                length = 0
                for line in head.split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if len(st["buf"]) < end + 4 + length:
                    break
                body = st["buf"][end + 4:end + 4 + length]
                st["buf"] = st["buf"][end + 4 + length:]
                if not head.startswith("HTTP/1.1 200") or (body != b"Hello, World!" and not a.any_body):
                    sys.exit(f"loop_client: unexpected answer {head.splitlines()[0]!r} {body!r}")
                done += 1
                st["inflight"] -= 1
            if st["inflight"] == 0:
                send_batch(s)
    elapsed = time.monotonic() - t0
    for s in state:
        s.close()
    print(f"loop_client: {done} requests in {elapsed:.2f}s ({done / elapsed:.0f} req/s)")
    return 0 if done == a.requests else 1


if __name__ == "__main__":
    sys.exit(main())
