#!/usr/bin/env python3
"""Helpers for bench/run.sh.

  stats.py measure --out RUN.json --scenario NAME --round N --pids PID[,PID...] -- COMMAND...
      Runs one wrk (or h2load) command, reads utime+stime of the server-side processes from
      /proc/PID/stat before and after it, parses wrk's output, checks for errors and writes
      one JSON record to RUN.json. Prints wrk's output and a one-line summary. Exit status 0,
      or 3 when other work on the machine took more than --noisy-percent (default 20) of
      CPUs 0-1 during the run (the caller may run it again).

  stats.py report RUNS.jsonl
      Prints the markdown results table: median and (min-max) over rounds per scenario, and
      the per-round ratios (a)/(c), (a)/(b), (e)/(b), (f)/(c), (h)/(g), (l)/(a) and (m)/(a).

  stats.py tls RUNS.jsonl
      The same table for bench/tls.sh's scenarios, with its ratios (a)/(c), (a)/(b),
      (na)/(nb), (fa)/(fb) against the targets of issue 12.

  stats.py h2 RUNS.jsonl
      The same table for bench/h2.sh's scenarios (h2load), with its ratios (a)/(c), (a)/(b),
      (e)/(b) over TLS against the targets of issue 13, and the same for h2c prior knowledge.

  stats.py workers RUNS.jsonl
      The table of bench/workers.sh: per kind of work (scenarios KIND-1w, KIND-2w), req/s,
      p99 and server CPU with 1 and 2 workers, and the per-round ratio 2 workers / 1 worker.

  stats.py files RUNS.jsonl
      The table of bench/files.sh: per file size and server (scenarios "SERVER SIZE"), req/s,
      MB/s, p99, server CPU, and the per-round ratio to nginx in req/s.

  stats.py cputicks PID...
      Sum of utime+stime (clock ticks) of the given processes.
"""
import json
import os
import re
import statistics
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    """utime + stime of a whole process (all its threads), in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()  # fields from 3 (state) on
    return int(fields[11]) + int(fields[12])      # fields 14 and 15 of proc(5)


def sum_ticks(pids):
    return sum(cpu_ticks(p) for p in pids)


def context_switches(pids):
    """Voluntary + involuntary context switches of all threads of the given processes."""
    total = 0
    for pid in pids:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/status") as f:
                    for line in f:
                        if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                            total += int(line.split()[1])
            except FileNotFoundError:
                pass  # a thread that just ended
    return total


def busy_ticks(cpus):
    """Busy (non-idle, non-iowait) ticks of the given CPUs since boot, from /proc/stat."""
    total = 0
    with open("/proc/stat") as f:
        for line in f:
            name, *values = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
                v = [int(x) for x in values]
                # user nice system idle iowait irq softirq steal (guest is inside user)
                total += v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
    return total


def wait_quiet(argv):
    """wait_quiet MAX_SECONDS THRESHOLD_PERCENT: waits until CPUs 0 and 1 are together less
    than THRESHOLD% busy over one second (the servers being idle, that is other work on the
    machine). Prints the last busy percentage; exit status 1 if it never got quiet."""
    max_s, threshold = float(argv[0]), float(argv[1])
    deadline = time.monotonic() + max_s
    while True:
        b0 = busy_ticks({0, 1})
        time.sleep(1.0)
        busy = (busy_ticks({0, 1}) - b0) * 100.0 / CLK_TCK
        if busy < threshold:
            print(f"{busy:.0f}")
            return 0
        if time.monotonic() > deadline:
            print(f"{busy:.0f}")
            return 1


UNITS_US = {"us": 1.0, "ms": 1000.0, "s": 1_000_000.0, "m": 60_000_000.0}


def to_us(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"cannot read latency {text!r}")
    return float(m.group(1)) * UNITS_US[m.group(2)]


def parse_wrk(output):
    """The numbers run.sh reports, from wrk 4.x text output (run with --latency)."""
    r = {}
    m = re.search(r"^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m),", output, re.M)
    r["requests"] = int(m.group(1)) if m else 0
    r["wrk_seconds"] = to_us(m.group(2) + m.group(3)) / 1e6 if m else 0.0
    m = re.search(r"^Requests/sec:\s*([0-9.]+)", output, re.M)
    r["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"^\s*99(?:\.000)?%\s+(\S+)", output, re.M)
    r["p99_us"] = to_us(m.group(1)) if m else None
    m = re.search(r"^\s*50(?:\.000)?%\s+(\S+)", output, re.M)
    r["p50_us"] = to_us(m.group(1)) if m else None
    m = re.search(r"^Transfer/sec:\s*([0-9.]+)([KMGT]?B)", output, re.M)
    r["bytes_per_s"] = (float(m.group(1)) * 1024 ** "BKMGT".index(m.group(2)[0])
                        if m else 0.0)
    m = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    r["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    r["socket_errors"] = {k: int(v) for k, v in zip(("connect", "read", "write", "timeout"),
                                                        m.groups())} if m else {}
    return r


def parse_h2load(output):
    """The same numbers from h2load's (nghttp2 1.52) text output. h2load prints no latency
    percentiles: p99 stays None (the tables show "-"); its mean time per request is mean_us.
    Requests that failed, errored or timed out count as socket errors (an invalid run)."""
    r = {}
    m = re.search(r"^finished in ([0-9.]+)(us|ms|s|m), ([0-9.]+) req/s, ([0-9.]+)([KMGT]?B)/s",
                  output, re.M)
    r["wrk_seconds"] = to_us(m.group(1) + m.group(2)) / 1e6 if m else 0.0
    r["rps"] = float(m.group(3)) if m else 0.0
    r["bytes_per_s"] = (float(m.group(4)) * 1024 ** "BKMGT".index(m.group(5)[0]) if m else 0.0)
    m = re.search(r"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", output, re.M)
    r["requests"] = int(m.group(4)) if m else 0
    r["socket_errors"] = ({"failed": int(m.group(5)), "errored": int(m.group(6)),
                           "timeout": int(m.group(7))} if m else {})
    m = re.search(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", output, re.M)
    r["non2xx"] = int(m.group(3)) + int(m.group(4)) if m else 0
    r["p99_us"] = None
    m = re.search(r"^time for request:\s+\S+\s+\S+\s+(\S+)", output, re.M)
    r["mean_us"] = to_us(m.group(1)) if m else None
    r["p50_us"] = None
    return r


def measure(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="stats.py measure")
    ap.add_argument("--out", required=True)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--round", type=int, required=True)
    ap.add_argument("--pids", required=True)
    ap.add_argument("--noisy-percent", type=float, default=20.0)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    command = a.command[1:] if a.command and a.command[0] == "--" else a.command
    pids = [int(p) for p in a.pids.split(",") if p]

    before = sum_ticks(pids)
    switches_before = context_switches(pids)
    busy_before = busy_ticks({0, 1})
    t0 = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output, _ = proc.communicate()
    elapsed = time.monotonic() - t0
    after = sum_ticks(pids)
    switches_after = context_switches(pids)
    busy_after = busy_ticks({0, 1})
    # communicate() reaped the child; its rusage is in the children totals.
    ru = os.times()
    sys.stdout.write(output)

    h2load = "h2load" in command  # the words of its command line (after taskset's)
    r = parse_h2load(output) if h2load else parse_wrk(output)
    r.update(scenario=a.scenario, round=a.round, command=" ".join(command),
             server_ticks=after - before, elapsed=elapsed,
             client_cpu_s=ru.children_user + ru.children_system)
    r["server_cpu_us_per_req"] = ((after - before) * 1e6 / CLK_TCK / r["requests"]
                                  if r["requests"] else None)
    r["server_switches_per_req"] = ((switches_after - switches_before) / r["requests"]
                                    if r["requests"] else None)
    r["server_cpu_util"] = (after - before) / CLK_TCK / elapsed if elapsed else None
    r["client_cpu_util"] = r["client_cpu_s"] / elapsed if elapsed else None
    # CPU time on CPUs 0-1 used by anything but the servers and wrk: other work on the machine
    # competing with the benchmark (and this script's own small share).
    other = (busy_after - busy_before) / CLK_TCK - (after - before) / CLK_TCK - r["client_cpu_s"]
    r["other_cpu_util"] = max(other, 0.0) / elapsed if elapsed else None
    r["pipelined"] = "pipeline.lua" in r["command"]
    problems = []
    if proc.returncode != 0:
        problems.append(f"{'h2load' if h2load else 'wrk'} exit status {proc.returncode}")
    if r["requests"] == 0:
        problems.append("no requests completed")
    if r["non2xx"]:
        problems.append(f"{r['non2xx']} non-2xx/3xx responses")
    bad = {k: v for k, v in r["socket_errors"].items() if v}
    if bad:
        problems.append("socket errors " + ", ".join(f"{k} {v}" for k, v in bad.items()))
    r["valid"] = not problems
    r["problems"] = problems
    r["noisy"] = (r["other_cpu_util"] or 0) * 100 > a.noisy_percent
    with open(a.out, "w") as f:
        f.write(json.dumps(r) + "\n")
    cpu = r["server_cpu_us_per_req"]
    print(f"  -> {a.scenario} round {a.round}: {r['rps']:.0f} req/s, "
          f"p99 {fmt_latency(r['p99_us'])}, server CPU "
          f"{cpu:.2f} us/req ({r['server_cpu_util'] * 100:.0f}% of a core, "
          f"{r['server_switches_per_req']:.2f} context switches/req), client CPU "
          f"{r['client_cpu_util'] * 100:.0f}%, other load {r['other_cpu_util'] * 100:.0f}%"
          if cpu is not None else "  -> no requests")
    if problems:
        print(f"  !! INVALID RUN ({a.scenario} round {a.round}): " + "; ".join(problems))
    if r["noisy"]:
        print(f"  !! noisy: other work used {r['other_cpu_util'] * 100:.0f}% of a CPU meanwhile")
        return 3
    return 0


def fmt_latency(us):
    if us is None:
        return "-"
    if us >= 1000:
        return f"{us / 1000:.2f} ms"
    return f"{us:.0f} us"


def spread(values, fmt):
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1:
        return fmt(med)
    return f"{fmt(med)} ({fmt(min(values))}–{fmt(max(values))})"


SCENARIO_TITLES = {
    "a": "(a) httpapid → httpapi-hello",
    "b": "(b) nginx `return 200`",
    "c": "(c) nginx → upstream_hello (unix, keepalive)",
    "e": "(e) httpapid response cache hit",
    "f": "(f) httpapid → httpapi-echo, no tuning flags",
    "l": "(l) = (a) with the access log on (W3C, server-wide)",
    "m": "(m) = (l) with the metrics URL set, scraped once a second",
}


# bench/tls.sh's scenarios, and its ratios with the targets of issue 12 (numerator, denominator,
# the least ratio of req/s that meets the target).
TLS_TITLES = {
    "a": "(a) HTTPS keep-alive: httpapid → httpapi-hello",
    "b": "(b) HTTPS keep-alive: nginx `return 200`",
    "c": "(c) HTTPS keep-alive: nginx → upstream_hello (unix, keepalive)",
    "na": "(na) new TLS connection per request: httpapid → httpapi-hello (handshakes/s)",
    "nb": "(nb) new TLS connection per request: nginx `return 200` (handshakes/s)",
    "fa": "(fa) 1 MiB file over TLS: httpapid → httpapi-files",
    "fb": "(fb) 1 MiB file over TLS: nginx",
}
TLS_RATIOS = (("a", "c", 2.0), ("a", "b", 0.75), ("na", "nb", 0.9), ("fa", "fb", 0.9))

# bench/h2.sh's scenarios (h2load -c 50 -m 10) and its ratios with the targets of issue 13;
# the h2c ones are reported against the same marks, for information.
H2_TITLES = {
    "a": "(a) h2 (TLS): httpapid → httpapi-hello",
    "b": "(b) h2 (TLS): nginx `return 200`",
    "c": "(c) h2 (TLS): nginx → HTTP/1.1 proxy → upstream_hello (unix, keepalive)",
    "e": "(e) h2 (TLS): httpapid response cache hit",
    "ca": "(ca) h2c prior knowledge: httpapid → httpapi-hello",
    "cb": "(cb) h2c prior knowledge: nginx `return 200`",
    "cc": "(cc) h2c prior knowledge: nginx → HTTP/1.1 proxy → upstream_hello",
    "ce": "(ce) h2c prior knowledge: httpapid response cache hit",
}
H2_RATIOS = (("a", "c", 2.0), ("a", "b", 0.75), ("e", "b", 1.0),
             ("ca", "cc", 2.0), ("ca", "cb", 0.75), ("ce", "cb", 1.0))


def title(name):
    base, _, depth = name.partition("-p")
    titles = (H2_TITLES if os.environ.get("H2_REPORT") else
              TLS_TITLES if os.environ.get("TLS_REPORT") else SCENARIO_TITLES)
    t = titles.get(base, base)
    if base == "c" and os.environ.get("C_KEEPALIVE"):
        t = t.replace("keepalive)", f"keepalive {os.environ['C_KEEPALIVE']})")
    return f"(d) {t}, pipelined ×{depth}" if depth else t


def report(argv, pairs=(("a", "c"), ("a", "b"), ("e", "b"), ("f", "c"), ("h", "g"), ("l", "a"),
                        ("m", "a")),
           targets=None):
    path = argv[0]
    runs = [json.loads(line) for line in open(path) if line.strip()]
    order = []
    for r in runs:
        if r["scenario"] not in order:
            order.append(r["scenario"])
    by = {s: [r for r in runs if r["scenario"] == s] for s in order}
    rounds = sorted({r["round"] for r in runs})

    out = []
    out.append("| scenario | req/s | p99 latency | server CPU µs/req | server ctx switches/req | server CPU | client CPU | other load | valid runs |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in order:
        ok = [r for r in by[s] if r["valid"]]
        pipelined = any(r.get("pipelined") for r in by[s])
        out.append("| {} | {} | {} | {} | {} | {} | {} | {} | {}/{} |".format(
            title(s),
            spread([r["rps"] for r in ok], lambda v: f"{v:,.0f}"),
            "n/a ¹" if pipelined else
            spread([r["p99_us"] for r in ok if r["p99_us"] is not None], fmt_latency),
            spread([r["server_cpu_us_per_req"] for r in ok], lambda v: f"{v:.2f}"),
            spread([r["server_switches_per_req"] for r in ok if r.get("server_switches_per_req") is not None],
                   lambda v: f"{v:.2f}"),
            spread([r["server_cpu_util"] * 100 for r in ok], lambda v: f"{v:.0f}%"),
            spread([r["client_cpu_util"] * 100 for r in ok], lambda v: f"{v:.0f}%"),
            spread([r.get("other_cpu_util", 0) * 100 for r in ok], lambda v: f"{v:.0f}%"),
            len(ok), len(by[s])))
    out.append("")
    out.append("Server CPU is the server side's utime+stime over the run as a share of one core "
               "(it is pinned to CPU 0, so 100% is the ceiling); context switches are the server "
               "processes' voluntary + involuntary ones (/proc/PID/task/*/status) per request; client CPU is wrk's (CPU 1); "
               "other load is CPU time on CPUs 0-1 used by neither (other work on the machine). "
               "¹ wrk 4.1 corrects latencies for coordinated omission assuming one request in "
               "flight per connection, which is wrong with pipelining (its percentiles then come "
               "out as 0 or meaningless), so no p99 is reported for pipelined runs.")
    out.append("")
    clean = [r for r in runs if r["valid"] and not r.get("noisy")]
    if noisy_count := sum(1 for r in runs if r.get("noisy") and r["valid"]):
        out.append(f"Undisturbed runs only ({len(clean)} of {len(runs)}; other load ≤ 20%), "
                   "req/s and server CPU µs/req, median (min–max):")
        out.append("")
        for sc in order:
            c = [r for r in clean if r["scenario"] == sc]
            if c:
                out.append(f"- {title(sc)}: {spread([r['rps'] for r in c], lambda v: f'{v:,.0f}')} req/s, "
                           f"{spread([r['server_cpu_us_per_req'] for r in c], lambda v: f'{v:.2f}')} µs/req "
                           f"({len(c)} run{'s' if len(c) > 1 else ''})")
            else:
                out.append(f"- {title(sc)}: none")
        out.append("")
    out.append("Ratios are taken per round (same round, back-to-back runs), then median (min–max) over rounds.")
    out.append("")
    if targets:
        out.append("| ratio | req/s | server CPU µs/req | target (req/s) | met |")
        out.append("|---|---:|---:|---:|---|")
    else:
        out.append("| ratio | req/s | server CPU µs/req |")
        out.append("|---|---:|---:|")

    def ratios(num, den, key):
        vals = []
        for rnd in rounds:
            x = [r for r in by.get(num, []) if r["round"] == rnd and r["valid"]]
            y = [r for r in by.get(den, []) if r["round"] == rnd and r["valid"]]
            if x and y and x[0][key] and y[0][key]:
                vals.append(x[0][key] / y[0][key])
        return vals

    def ratio(num, den, key):
        return spread(ratios(num, den, key), lambda v: f"{v:.2f}×")

    suffixes = sorted({s.partition("-p")[1] + s.partition("-p")[2] for s in order})
    for suffix in suffixes:
        label = f", pipelined ×{suffix[2:]}" if suffix else ""
        for num, den in pairs:
            num_s, den_s = num + suffix, den + suffix
            if num_s in by and den_s in by:
                row = (f"| ({num})/({den}){label} | {ratio(num_s, den_s, 'rps')} | "
                       f"{ratio(num_s, den_s, 'server_cpu_us_per_req')} |")
                if targets:
                    vals = ratios(num_s, den_s, "rps")
                    med = statistics.median(vals) if vals else None
                    met = ("-" if med is None else
                           "**yes**" if min(vals) >= targets[(num, den)] else
                           "median yes, not every round" if med >= targets[(num, den)] else
                           "**no**")
                    row += f" ≥ {targets[(num, den)]:.2f}× | {met} |"
                out.append(row)
    if targets:
        # On two CPUs wrk (one core) may saturate before the server does (client CPU ~100%):
        # then req/s compares the client, and what the server can do per CPU second is the
        # measure. Requests per server CPU second, per round, as the same ratios.
        out.append("")
        out.append("Requests per second of server CPU (1 / server CPU µs per request), per round: "
                   "the servers' capacity, which is what compares them when wrk is the bottleneck "
                   "(client CPU near 100%):")
        out.append("")
        out.append("| ratio | requests per server CPU second | target | met |")
        out.append("|---|---:|---:|---|")
        for num, den in pairs:
            inv = [1 / v for v in ratios(num, den, "server_cpu_us_per_req")]
            if not inv:
                continue
            t = targets[(num, den)]
            met = ("**yes**" if min(inv) >= t else
                   "median yes, not every round" if statistics.median(inv) >= t else "**no**")
            out.append(f"| ({num})/({den}) | {spread(inv, lambda v: f'{v:.2f}×')} | ≥ {t:.2f}× | {met} |")
    noisy = [r for r in runs if r.get("noisy") and r["valid"]]
    if noisy:
        out.append("")
        out.append("Runs during which other work on the machine used more than 20% of a CPU "
                   "(kept above; each was run once more first while the retry budget lasted):")
        for r in noisy:
            out.append(f"- {r['scenario']} round {r['round']}: other load "
                       f"{r['other_cpu_util'] * 100:.0f}%")
    invalid = [r for r in runs if not r["valid"]]
    if invalid:
        out.append("")
        out.append("Invalid runs (excluded above):")
        for r in invalid:
            out.append(f"- {r['scenario']} round {r['round']}: {'; '.join(r['problems'])}")
    print("\n".join(out))
    return 0


def workers_report(argv):
    runs = [json.loads(line) for line in open(argv[0]) if line.strip()]
    kinds = []
    for r in runs:
        kind = r["scenario"].rsplit("-", 1)[0]
        if kind not in kinds:
            kinds.append(kind)
    valid = [r for r in runs if r["valid"]]

    def runs_of(kind, workers):
        return [r for r in valid if r["scenario"] == f"{kind}-{workers}w"]

    def ratio(kind):
        vals = []
        for rnd in sorted({r["round"] for r in runs}):
            one = [r["rps"] for r in runs_of(kind, 1) if r["round"] == rnd]
            two = [r["rps"] for r in runs_of(kind, 2) if r["round"] == rnd]
            if one and two:
                vals.append(two[0] / one[0])
        return spread(vals, lambda v: f"{v:.2f}×")

    out = ["| work per request | workers | req/s | p99 latency | CPU: httpapid + workers | "
           "CPU: wrk | other load | 2 workers / 1 (req/s, per round) | valid runs |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for kind in kinds:
        for workers in (1, 2):
            ok = runs_of(kind, workers)
            out.append("| {} | {} | {} | {} | {} | {} | {} | {} | {}/{} |".format(
                kind, workers,
                spread([r["rps"] for r in ok], lambda v: f"{v:,.0f}"),
                spread([r["p99_us"] for r in ok if r["p99_us"] is not None], fmt_latency),
                spread([r["server_cpu_util"] * 100 for r in ok], lambda v: f"{v:.0f}%"),
                spread([r["client_cpu_util"] * 100 for r in ok], lambda v: f"{v:.0f}%"),
                spread([r.get("other_cpu_util", 0) * 100 for r in ok], lambda v: f"{v:.0f}%"),
                ratio(kind) if workers == 2 else "",
                len(ok), len([r for r in runs if r["scenario"] == f"{kind}-{workers}w"])))
    out.append("")
    out.append("Median (min–max) over rounds. CPU is utime+stime over the run as a share of one "
               "CPU (200% = both CPUs); other load is CPU time used by anything else on the "
               "machine meanwhile.")
    invalid = [r for r in runs if not r["valid"]]
    for r in invalid:
        out.append(f"- invalid, left out: {r['scenario']} round {r['round']}: "
                   f"{'; '.join(r['problems'])}")
    print("\n".join(out))
    return 0


def files_report(argv):
    """The table of bench/files.sh: scenarios "SERVER SIZE"; per size and server req/s, MB/s
    (wrk's Transfer/sec), p99 and server CPU per request, and the ratio to nginx in req/s
    taken per round."""
    runs = [json.loads(line) for line in open(argv[0]) if line.strip()]
    sizes, servers = [], []
    for r in runs:
        server, size = r["scenario"].rsplit(" ", 1)
        if size not in sizes:
            sizes.append(size)
        if server not in servers:
            servers.append(server)
    valid = [r for r in runs if r["valid"]]

    def of(server, size):
        return [r for r in valid if r["scenario"] == f"{server} {size}"]

    def ratio(server, size):
        vals = []
        for rnd in sorted({r["round"] for r in runs}):
            x = [r["rps"] for r in of(server, size) if r["round"] == rnd]
            y = [r["rps"] for r in of("nginx", size) if r["round"] == rnd]
            if x and y and y[0]:
                vals.append(x[0] / y[0])
        if not vals:
            return "-"
        return f"**{statistics.median(vals):.2f}×** [{min(vals):.2f}..{max(vals):.2f}]"

    out = ["| file | server | req/s | MB/s | p99 latency | server CPU µs/req | server CPU | "
           "÷ nginx (req/s, per round) | valid runs |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for size in sizes:
        for server in servers:
            ok = of(server, size)
            out.append("| {} | {} | {} | {} | {} | {} | {} | {} | {}/{} |".format(
                size, server,
                spread([r["rps"] for r in ok], lambda v: f"{v:,.0f}"),
                spread([r.get("bytes_per_s", 0) / 1e6 for r in ok], lambda v: f"{v:,.0f}"),
                spread([r["p99_us"] for r in ok if r["p99_us"] is not None], fmt_latency),
                spread([r["server_cpu_us_per_req"] for r in ok], lambda v: f"{v:,.1f}"),
                spread([r["server_cpu_util"] * 100 for r in ok], lambda v: f"{v:.0f}%"),
                "" if server == "nginx" else ratio(server, size),
                len(ok), len([r for r in runs if r["scenario"] == f"{server} {size}"])))
    out.append("")
    out.append("Median (min–max) over rounds; the ratio is median [min..max] of the per-round "
               "ratios. MB/s is 10^6 bytes per second of responses, headers included (wrk's "
               "Transfer/sec). Server CPU is utime+stime of the server side (nginx master and "
               "worker; httpapid and httpapi-files) as a share of one core: it is pinned to "
               "CPU 0, so 100% is the ceiling.")
    noisy = [r for r in valid if r.get("noisy")]
    for r in noisy:
        out.append(f"- disturbed: {r['scenario']} round {r['round']}: other work used "
                   f"{r['other_cpu_util'] * 100:.0f}% of a CPU meanwhile")
    for r in runs:
        if not r["valid"]:
            out.append(f"- invalid, left out: {r['scenario']} round {r['round']}: "
                       f"{'; '.join(r['problems'])}")
    print("\n".join(out))
    return 0


def short_function(text):
    """'N (P%)  file:function [object]' -> a readable function name."""
    text = text.strip()
    text = re.sub(r"\s*\[[^\]]*\]\s*$", "", text)           # [object]
    text = re.sub(r"\s*\[clone [^\]]*\]\s*$", "", text)     # [clone .constprop.0]
    file, _, fn = text.partition(":") if not text.startswith("???:") else ("", "", text[4:])
    if not fn:
        fn, file = file, ""
    fn = fn.strip()
    fn = fn.replace("std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >",
                    "std::string")
    fn = fn.replace("std::basic_string_view<char, std::char_traits<char> >", "std::string_view")
    # drop the trailing argument list (balanced parentheses at the end)
    if fn.endswith(")") or fn.endswith(") const"):
        end = fn.rfind(")")
        depth = 0
        for i in range(end, -1, -1):
            depth += fn[i] == ")"
            depth -= fn[i] == "("
            if depth == 0:
                fn = fn[:i] + fn[end + 1:]
                break
    fn = fn.replace("httpapi::daemon::", "").replace("httpapi::", "")
    if len(fn) > 110:
        fn = fn[:107] + "..."
    base = os.path.basename(file) if file and not file.startswith("./") else ""
    return f"{fn}" + (f"  ({base})" if base and base not in ("std_function.h",) else "")


def callgrind_top(argv):
    """callgrind-top ANNOTATE_OUTPUT REQUESTS TOP self|incl: the listing as Ir per request."""
    path, requests, top = argv[0], int(argv[1]), int(argv[2])
    inclusive = len(argv) > 3 and argv[3] == "incl"
    total = None
    rows = []
    for line in open(path):
        m = re.match(r"^\s*([0-9,]+)\s+\(\s*([0-9.]+)%\)\s+(.*)$", line)
        if not m:
            continue
        cost = int(m.group(1).replace(",", ""))
        what = m.group(3)
        if what.startswith("PROGRAM TOTALS"):
            total = cost
            continue
        rows.append((cost, what))
    # One function's code may be listed under several source files (inlined headers): merge.
    # Self costs split by file add up; inclusive ones each cover the whole call: take the max.
    merged = {}
    for cost, what in rows:
        # Functions that were on the stack when counters were zeroed show the whole total:
        # main, the event loop and libc's start-up frames. They say nothing; skip them.
        if total and cost >= total * 0.999:
            continue
        name = short_function(what)
        key = re.sub(r"  \([^)]*\)$", "", name)
        cost0, name0 = merged.get(key, (0, name))
        merged[key] = ((max(cost0, cost) if inclusive else cost0 + cost),
                       name0 if cost0 >= cost else name)
    shown = 0
    print(f"{'Ir/request':>10}  {'share':>6}  function")
    for cost, name in sorted(merged.values(), key=lambda x: -x[0]):
        print(f"{cost / requests:10,.0f}  {cost * 100.0 / total:5.1f}%  {name}")
        shown += 1
        if shown == top:
            break
    return 0


# The C library's allocation entry points; operator new and the containers reach them too.
ALLOCATORS = ("malloc", "calloc", "realloc", "aligned_alloc", "posix_memalign", "memalign")


def callgrind_calls(argv):
    """callgrind-calls CALLGRIND_OUT REQUESTS: calls of malloc (all allocators) and free per
    request, read from the call records (cfn=/calls=) of a callgrind output file, where
    callgrind_annotate only shows costs. Calls from inside an allocator (realloc's own malloc)
    are left out, so each allocation a program asks for counts once."""
    path, requests = argv[0], int(argv[1])
    names = {}       # compressed "(id)" -> function name
    current = None   # the calling function of the records that follow
    callee = None
    counts = {}

    def name_of(spec):
        m = re.match(r"^\((\d+)\)(?:\s+(.*))?$", spec.strip())
        if not m:
            return spec.strip()
        if m.group(2):
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), spec.strip())

    for line in open(path, errors="replace"):
        if line.startswith("fn="):
            current = name_of(line[3:])
            callee = None
        elif line.startswith("cfn="):
            callee = name_of(line[4:])
        elif line.startswith("calls=") and callee is not None:
            calls = int(line[6:].split()[0])
            base = callee.split("'")[0]
            caller = (current or "").split("'")[0]
            if caller not in ALLOCATORS + ("free",):
                counts[base] = counts.get(base, 0) + calls
    allocations = sum(counts.get(n, 0) for n in ALLOCATORS)
    print(f"allocations (malloc, calloc, realloc, ...) per request: {allocations / requests:.2f}")
    print(f"free per request: {counts.get('free', 0) / requests:.2f}")
    return 0


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    cmd, rest = sys.argv[1], sys.argv[2:]
    if cmd == "measure":
        return measure(rest)
    if cmd == "report":
        return report(rest)
    if cmd == "tls":
        os.environ["TLS_REPORT"] = "1"
        return report(rest, pairs=[(n, d) for n, d, _ in TLS_RATIOS],
                      targets={(n, d): t for n, d, t in TLS_RATIOS})
    if cmd == "h2":
        os.environ["H2_REPORT"] = "1"
        return report(rest, pairs=[(n, d) for n, d, _ in H2_RATIOS],
                      targets={(n, d): t for n, d, t in H2_RATIOS})
    if cmd == "workers":
        return workers_report(rest)
    if cmd == "files":
        return files_report(rest)
    if cmd == "callgrind-top":
        return callgrind_top(rest)
    if cmd == "callgrind-calls":
        return callgrind_calls(rest)
    if cmd == "wait-quiet":
        return wait_quiet(rest)
    if cmd == "cputicks":
        print(sum_ticks([int(p) for p in rest]))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
