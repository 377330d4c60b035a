#!/usr/bin/env python3
"""What the SQL API costs over the REST API for the same question, and what introspection costs.

    python scripts/sqlapi_bench.py CUBEC_BINARY [DATABASE_URL] [RUNS]

Run with a Python that has psycopg (scripts/requirements-sqlapi.txt). Starts `cubec serve
--model metrics --sql-port` (on DATABASE_URL, default the embedded DuckDB) and prints, for each
question, the median wall time of RUNS round trips through psycopg and through /v1/load
(urllib, one connection per request), and the time of a new session's first catalog query
(which builds the session's catalog) and of the next ones.
"""
import json, os, statistics, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_helpers import free_port, token  # noqa: E402

import psycopg  # noqa: E402

BIN = sys.argv[1]
DB = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
RUNS = int(sys.argv[3]) if len(sys.argv) > 3 else 30
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET, PASSWORD = "bench-secret", "bench-password"
HTTP, SQL = free_port(), free_port()

QUESTIONS = [
    ("count by channel",
     "SELECT acquisition_channel, MEASURE(count) FROM users GROUP BY 1",
     {"measures": ["users.count"], "dimensions": ["users.acquisition_channel"]}),
    ("view rate, filtered",
     "SELECT acquisition_channel, MEASURE(active_referrer_rate) FROM referral_kpis WHERE signed_up_at >= '2023-01-01' GROUP BY 1",
     {"measures": ["referral_kpis.active_referrer_rate"], "dimensions": ["referral_kpis.acquisition_channel"],
      "filters": [{"member": "referral_kpis.signed_up_at", "operator": "afterOrOnDate", "values": ["2023-01-01"]}]}),
    ("month over month (3 stages)",
     "SELECT DATE_TRUNC('month', sent_at), MEASURE(count), MEASURE(count_prior_month) FROM referrals "
     "WHERE sent_at >= '2024-01-01' AND sent_at < '2024-07-01' GROUP BY 1",
     {"measures": ["referrals.count", "referrals.count_prior_month"],
      "timeDimensions": [{"dimension": "referrals.sent_at", "granularity": "month", "dateRange": ["2024-01-01", "2024-06-30"]}]}),
]

if DB:
    subprocess.run([BIN, "load-data", "--model", "metrics", "--db", DB], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
env = dict(os.environ, CUBEC_API_SECRET=SECRET, CUBEJS_SQL_USER="bench", CUBEJS_SQL_PASSWORD=PASSWORD)
args = [BIN, "serve", "--model", "metrics", "--host", "127.0.0.1", "--port", str(HTTP), "--sql-port", str(SQL)]
if DB:
    args += ["--db", DB]
log = tempfile.TemporaryFile()
server = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=log)
try:
    for _ in range(300):
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{HTTP}/readyz", timeout=1).status == 200:
                break
        except Exception:
            time.sleep(0.1)
    dsn = f"postgresql://bench:{PASSWORD}@127.0.0.1:{SQL}/cube"
    auth = token(SECRET, {})

    def rest(q):
        req = urllib.request.Request(f"http://127.0.0.1:{HTTP}/cubejs-api/v1/load", data=json.dumps({"query": q}).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": auth})
        return json.load(urllib.request.urlopen(req))["data"]

    def median_ms(f):
        f()
        times = []
        for _ in range(RUNS):
            t = time.perf_counter()
            f()
            times.append((time.perf_counter() - t) * 1e3)
        return statistics.median(times)

    print(f"engine: {DB.split(':')[0] if DB else 'embedded DuckDB'}; median of {RUNS} runs, ms")
    print("| question | SQL API (psycopg) | /v1/load (urllib) |")
    print("|---|---|---|")
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name, sql, q in QUESTIONS:
            s = median_ms(lambda: conn.execute(sql).fetchall())
            r = median_ms(lambda: rest(q))
            print(f"| {name} | {s:.1f} | {r:.1f} |")
        s = median_ms(lambda: conn.execute("SELECT 1").fetchall())
        print(f"| `SELECT 1` (the session's DuckDB) | {s:.1f} | |")
        s = median_ms(lambda: conn.execute("SELECT sum(n) FROM (SELECT plan, COUNT(*) AS n FROM users GROUP BY 1) q").fetchall())
        print(f"| post-processing over a semantic subquery | {s:.1f} | |")
    firsts, nexts = [], []
    for _ in range(max(5, RUNS // 3)):
        with psycopg.connect(dsn, autocommit=True) as c:
            t = time.perf_counter()
            c.execute("SELECT relname FROM pg_catalog.pg_class").fetchall()
            firsts.append((time.perf_counter() - t) * 1e3)
            t = time.perf_counter()
            c.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'referral_kpis'").fetchall()
            nexts.append((time.perf_counter() - t) * 1e3)
    print(f"| a session's first catalog query (builds its catalog) | {statistics.median(firsts):.1f} | |")
    print(f"| a later catalog query | {statistics.median(nexts):.1f} | |")
    t = time.perf_counter()
    for _ in range(RUNS):
        psycopg.connect(dsn).close()
    print(f"| connect (SCRAM-SHA-256, 4096 iterations) and close | {(time.perf_counter() - t) * 1e3 / RUNS:.1f} | |")
finally:
    server.terminate()
    server.wait(10)
