#!/usr/bin/env python3
"""Benchmarks of the query cache (figures in BENCHMARKS.md; not run by CI).

    python3 scripts/cache_bench.py CUBEC_BINARY POSTGRES_URL [SOAK_SECONDS]

The database must hold the KPI library's demo data (`cubec load-data --model metrics --db URL`).

1. Latency through /v1/load of the README's KPI query, with wrk (-t2 -c4, 10 s each): answered
   from the cache, and with `cache=no-cache` (every request runs on PostgreSQL).
2. Memory under a soak of distinct queries: four threads send queries that never repeat (500
   rows each) for SOAK_SECONDS (60) against a server with a 16 MiB cache, then the same against
   one with the cache off; the server's RSS (VmRSS) and `cubec_cache_bytes` every 5 s.
"""
import json, os, re, subprocess, sys, tempfile, threading, time
import urllib.parse, urllib.request

from serve_helpers import free_port, token

BIN, DB = os.path.abspath(sys.argv[1]), sys.argv[2]
SOAK = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = "bench-secret"
AUTH = token(SECRET, {})
KPI = json.load(open(os.path.join(ROOT, "metrics/queries/referral_kpis_by_channel.json")))


def start(*flags):
    port = free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([BIN, "serve", "--model", os.path.join(ROOT, "metrics"), "--db", DB, "--host", "127.0.0.1",
                             "--port", str(port), "--watch-interval", "0", *flags],
                            env=dict(os.environ, CUBEC_API_SECRET=SECRET, RUST_LOG="warn"), stdout=log,
                            stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
            return proc, port
        except Exception:
            time.sleep(0.1)
    sys.exit("the server did not start")


def load(port, query):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/cubejs-api/v1/load",
                                 data=json.dumps({"query": query}).encode(),
                                 headers={"Authorization": AUTH, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024


def cache_bytes(port):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": AUTH})
    text = urllib.request.urlopen(req).read().decode()
    m = re.search(r"^cubec_cache_bytes (\d+)", text, re.M)
    return int(m.group(1)) if m else 0


def wrk(port, extra=""):
    url = f"http://127.0.0.1:{port}/cubejs-api/v1/load?query={urllib.parse.quote(json.dumps(KPI))}{extra}"
    out = subprocess.run(["wrk", "-t2", "-c4", "-d10s", "--latency", "-H", f"Authorization: {AUTH}", url],
                         stdout=subprocess.PIPE, text=True).stdout
    pct = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.M))
    rps = re.search(r"Requests/sec:\s+(\S+)", out).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return pct, rps, non2xx.group(1) if non2xx else "0"


def latency():
    proc, port = start()
    try:
        load(port, KPI)
        for label, extra in (("cached", ""), ("cache=no-cache (PostgreSQL every time)", "&cache=no-cache")):
            pct, rps, bad = wrk(port, extra)
            print(f"{label}: p50 {pct.get('50')}, p90 {pct.get('90')}, p99 {pct.get('99')}, {rps} req/s, "
                  f"{bad} non-2xx")
    finally:
        proc.terminate()
        proc.wait()


def soak(size):
    proc, port = start("--cache-size", size)
    counter, stop, errors = [0], [False], []
    lock = threading.Lock()

    def work():
        while not stop[0]:
            with lock:
                counter[0] += 1
                k = counter[0]
            q = {"measures": ["users.count"], "dimensions": ["users.account_id", "users.plan"], "limit": 500,
                 "filters": [{"member": "users.account_id", "operator": "gt", "values": [str(k % 300)]},
                             {"member": "users.plan", "operator": "notEquals", "values": [f"none-{k}"]}]}
            try:
                load(port, q)
            except Exception as e:
                errors.append(str(e))

    threads = [threading.Thread(target=work) for _ in range(4)]
    samples = [(0, rss_mb(proc.pid), cache_bytes(port), 0)]
    started = time.time()
    for t in threads:
        t.start()
    try:
        while time.time() - started < SOAK:
            time.sleep(5)
            samples.append((round(time.time() - started), rss_mb(proc.pid), cache_bytes(port), counter[0]))
    finally:
        stop[0] = True
        for t in threads:
            t.join()
        proc.terminate()
        proc.wait()
    print(f"--cache-size {size}: {counter[0]} distinct queries, {len(errors)} errors")
    print("  s    RSS MB   cache MB   queries")
    for s, rss, cb, n in samples:
        print(f"  {s:<4} {rss:7.1f}   {cb / 1048576:7.2f}   {n}")


latency()
soak("16MiB")
soak("0")
