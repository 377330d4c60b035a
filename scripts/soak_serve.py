#!/usr/bin/env python3
"""A soak of `cubec serve` on PostgreSQL: 60 s of mixed /v1/load, /v1/sql and /v1/meta under wrk.

    python3 scripts/soak_serve.py CUBEC_BINARY POSTGRES_URL [SECONDS]

The database must hold the KPI library's demo data (`cubec load-data`). Passes when every answer
is 2xx (wrk reports any other) with no socket error and the server's resident memory over the last 10 s is within 10 %
(and 16 MB) of the first 10 s. Prints the figures BENCHMARKS.md quotes.
"""
import json, os, subprocess, sys, tempfile, threading, time, urllib.request

from serve_helpers import free_port, token

BIN = os.path.abspath(sys.argv[1])
DB = sys.argv[2]
SECONDS = int(sys.argv[3]) if len(sys.argv) > 3 else 60
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = "soak-secret"


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


port = free_port()
work = tempfile.mkdtemp(prefix="cubec-soak.")
log = open(os.path.join(work, "serve.log"), "w+")
proc = subprocess.Popen([BIN, "serve", "--model", "metrics", "--db", DB, "--port", str(port), "--watch-interval", "0",
                         "--max-concurrent-queries", "4"], cwd=ROOT, env=dict(os.environ, CUBEC_API_SECRET=SECRET, RUST_LOG="warn"),
                        stdout=log, stderr=subprocess.STDOUT)
try:
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
            break
        except Exception:
            time.sleep(0.1)
    queries = [json.load(open(os.path.join(ROOT, "metrics/queries", f))) for f in sorted(os.listdir(os.path.join(ROOT, "metrics/queries")))]
    queries.append({"measures": ["users.count"], "dimensions": ["users.acquisition_channel"]})
    lua = os.path.join(work, "mix.lua")
    paths = []
    for q in queries:
        quoted = urllib.request.quote(json.dumps(q))
        paths += [f"/cubejs-api/v1/load?query={quoted}", f"/cubejs-api/v1/sql?query={quoted}"]
    paths.append("/cubejs-api/v1/meta")
    with open(lua, "w") as f:
        f.write('local paths = {' + ",".join(json.dumps(p) for p in paths) + '}\n')
        f.write('local i = 0\nwrk.headers["Authorization"] = "' + token(SECRET, {"sub": "soak"}) + '"\n')
        f.write('request = function() i = i + 1; return wrk.format("GET", paths[(i % #paths) + 1]) end\n')
    samples = []
    stop = False

    def sample():
        while not stop:
            samples.append((time.time(), rss_kb(proc.pid)))
            time.sleep(1)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    started = time.time()
    out = subprocess.run(["wrk", "-t2", "-c8", f"-d{SECONDS}s", "--latency", "-s", lua, f"http://127.0.0.1:{port}"],
                         capture_output=True, text=True).stdout
    stop = True
    t.join(3)
finally:
    proc.terminate()
    proc.wait(15)
print(out)
non2xx = 0
errors = 0
for line in out.splitlines():
    line = line.strip()
    if line.startswith("Non-2xx or 3xx responses:"):
        non2xx = int(line.split(":")[1])
    if line.startswith("Socket errors:"):
        errors = sum(int(part.split()[-1]) for part in line.split(":", 1)[1].split(","))
first = [kb for t, kb in samples if t - started < 10]
last = [kb for t, kb in samples if t - started > SECONDS - 10]
avg = lambda xs: sum(xs) / max(len(xs), 1)
growth = avg(last) - avg(first)
print(f"resident memory: first 10 s {avg(first) / 1024:.1f} MB, last 10 s {avg(last) / 1024:.1f} MB, growth {growth / 1024:+.1f} MB")
ok = non2xx == 0 and errors == 0 and growth <= max(0.10 * avg(first), 16 * 1024)
log.seek(0)
if "panicked" in log.read():
    ok = False
    print("the server panicked")
print("soak passed" if ok else f"soak FAILED: {non2xx} non-2xx answers, {errors} socket errors, growth {growth / 1024:.1f} MB")
sys.exit(0 if ok else 1)
