#!/usr/bin/env python3
"""Pushdown on 4 million rows: SQL API statements that are not one semantic query, against the
same questions written by hand against PostgreSQL (figures in BENCHMARKS.md; not run by CI).

    python3 scripts/pushdown_bench.py CUBEC_BINARY POSTGRES_URL [REPS]

Needs psycopg (scripts/requirements-sqlapi.txt). Creates `pa_bench_orders` (4,000,000 rows) and
`pa_bench_customers` as scripts/preagg_bench.py does, unless they are there; starts `cubec
serve --sql-port` with the result cache off (every statement runs on PostgreSQL); then:

1. each statement REPS times (7) through the SQL API and its hand-written twin REPS times
   directly on PostgreSQL, alternating; reports both medians and their ratio, and checks that
   the rows are equal;
2. a 50,000-row pushdown result 40 times in a row, reading the server's resident memory
   (VmRSS) after each: the first, the largest and the last reading.
"""
import os, statistics, subprocess, sys, tempfile, time
from decimal import Decimal

import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_helpers import free_port  # noqa: E402
import preagg_bench  # noqa: E402  (the data and the model's cubes)

BIN, DB = os.path.abspath(sys.argv[1]), sys.argv[2]
REPS = int(sys.argv[3]) if len(sys.argv) > 3 else 7
WORK = tempfile.mkdtemp(prefix="cubec-pushdown-bench.")

MODEL = preagg_bench.MODEL.replace("ROLLUPS\n", "") + """views:
  - name: orders_by_region
    cubes:
      - join_path: orders
        includes: [count, revenue, avg_amount, status, channel]
      - join_path: orders.customers
        includes: [region, segment]
"""

# (name, through the SQL API, by hand on PostgreSQL)
CASES = [
    ("CASE group key, ratio of measures",
     "SELECT CASE WHEN channel IN ('web', 'ios', 'android') THEN 'digital' ELSE 'other' END AS kind, "
     "MEASURE(revenue) / MEASURE(count) AS aov FROM orders GROUP BY 1",
     "SELECT CASE WHEN channel IN ('web', 'ios', 'android') THEN 'digital' ELSE 'other' END AS kind, "
     "SUM(amount) / COUNT(*) AS aov FROM pa_bench_orders GROUP BY 1"),
    ("ROLLUP (status, channel)",
     "SELECT status, channel, MEASURE(revenue) AS r FROM orders GROUP BY ROLLUP (status, channel)",
     "SELECT status, channel, SUM(amount) AS r FROM pa_bench_orders GROUP BY ROLLUP (status, channel)"),
    ("running total by month (window)",
     "SELECT DATE_TRUNC('month', created_at) AS m, MEASURE(revenue) AS r, SUM(MEASURE(revenue)) OVER "
     "(ORDER BY DATE_TRUNC('month', created_at)) AS running FROM orders GROUP BY 1 ORDER BY 1",
     "SELECT DATE_TRUNC('month', created_at) AS m, SUM(amount) AS r, SUM(SUM(amount)) OVER "
     "(ORDER BY DATE_TRUNC('month', created_at)) AS running FROM pa_bench_orders GROUP BY 1 ORDER BY 1"),
    ("view with a join, ROLLUP of an average",
     "SELECT region, MEASURE(avg_amount) * 1.0 AS a FROM orders_by_region GROUP BY ROLLUP (region)",
     "SELECT c.region, AVG(o.amount) * 1.0 AS a FROM pa_bench_orders o LEFT JOIN pa_bench_customers c "
     "ON o.customer_id = c.id GROUP BY ROLLUP (c.region)"),
]


def norm(rows):
    out = []
    for r in rows:
        out.append(tuple(round(float(v), 6) if isinstance(v, (int, float, Decimal)) else v for v in r))
    return sorted(out, key=repr)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    with psycopg.connect(DB, autocommit=True) as c:
        c.execute(preagg_bench.DATA)
    os.makedirs(os.path.join(WORK, "model"))
    with open(os.path.join(WORK, "model", "model.yml"), "w") as f:
        f.write(MODEL)
    http, sql = free_port(), free_port()
    env = dict(os.environ, CUBEC_API_SECRET="pushdown-bench", CUBEJS_SQL_USER="bench", CUBEJS_SQL_PASSWORD="bench")
    server = subprocess.Popen(
        [BIN, "serve", "--model", os.path.join(WORK, "model"), "--db", DB, "--host", "127.0.0.1", "--port", str(http),
         "--sql-port", str(sql), "--cache-size", "0", "--query-timeout", "120"],
        env=env, stdout=open(os.path.join(WORK, "serve.log"), "w"), stderr=subprocess.STDOUT)
    dsn = f"postgresql://bench:bench@127.0.0.1:{sql}/cube"
    try:
        for _ in range(300):
            try:
                psycopg.connect(dsn).close()
                break
            except psycopg.OperationalError:
                time.sleep(0.1)
        print(f"| statement | SQL API median (ms) | by hand on PostgreSQL (ms) | ratio |")
        print("|---|---:|---:|---:|")
        with psycopg.connect(dsn, autocommit=True) as api, psycopg.connect(DB, autocommit=True) as pg:
            for name, through_api, by_hand in CASES:
                a_times, p_times = [], []
                a_rows = p_rows = None
                for _ in range(REPS):
                    t = time.perf_counter()
                    a_rows = api.execute(through_api).fetchall()
                    a_times.append((time.perf_counter() - t) * 1000)
                    t = time.perf_counter()
                    p_rows = pg.execute(by_hand).fetchall()
                    p_times.append((time.perf_counter() - t) * 1000)
                if norm(a_rows) != norm(p_rows):
                    sys.exit(f"{name}: rows differ\n{a_rows[:5]}\n{p_rows[:5]}")
                a, p = statistics.median(a_times), statistics.median(p_times)
                print(f"| {name} ({len(a_rows)} rows) | {a:.1f} | {p:.1f} | {a / p:.2f} |")
            big = ("SELECT channel, country || '-' || status AS k, created_at FROM orders "
                   "WHERE channel || '' <> 'x' LIMIT 50000")
            readings = []
            for _ in range(40):
                rows = api.execute(big).fetchall()
                assert len(rows) == 50000, len(rows)
                readings.append(rss_kb(server.pid))
            print(f"\n50,000-row pushdown result x 40: server RSS first {readings[0] / 1024:.1f} MB, "
                  f"largest {max(readings) / 1024:.1f} MB, last {readings[-1] / 1024:.1f} MB")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
