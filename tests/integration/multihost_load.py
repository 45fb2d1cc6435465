#!/usr/bin/env python3
"""The steady load of test_multihost.py, run inside the client's network namespace: THREADS
threads each send GET requests one after the other, a new connection each, for SECONDS
seconds, and one JSON document on stdout says what happened to every request:
{"requests": [[t, status, app, remote, proxied_by, error], ...]} with t the request's start
on CLOCK_MONOTONIC (seconds, the same clock in every namespace, so the test can compare it
with its own marks), status 0 and error set when the request failed (refused, reset, closed
early)."""

import argparse
import http.client
import json
import threading
import time


def run(host, port, path, seconds, threads, pause):
    results = []
    lock = threading.Lock()
    start = time.monotonic()

    def worker(index):
        n = 0
        while time.monotonic() - start < seconds:
            n += 1
            row = [round(time.monotonic(), 3), 0, None, None, None, None]
            try:
                c = http.client.HTTPConnection(host, port, timeout=10)
                c.request("GET", f"{path}{index}-{n}", headers={"Connection": "close"})
                r = c.getresponse()
                body = r.read()
                row[1] = r.status
                if r.status == 200:
                    answer = json.loads(body)
                    row[2:5] = [answer.get("app"), answer.get("remote"), answer.get("proxied_by")]
                c.close()
            except (OSError, http.client.HTTPException, ValueError) as e:
                row[5] = f"{type(e).__name__}: {e}"
            with lock:
                results.append(row)
            time.sleep(pause)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sorted(results)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--path", default="/app/")
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--pause", type=float, default=0.005)
    a = p.parse_args()
    print(json.dumps({"requests": run(a.host, a.port, a.path, a.seconds, a.threads, a.pause)}))


if __name__ == "__main__":
    main()
