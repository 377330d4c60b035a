#!/usr/bin/env python3
"""A dashboard on 4 million rows: the source against its rollups (figures in BENCHMARKS.md; not
run by CI).

    python3 scripts/preagg_bench.py CUBEC_BINARY POSTGRES_URL [REPS]

Creates `pa_bench_orders` (4,000,000 rows over two years) and `pa_bench_customers` (50,000) in
the database unless they are there, then for each of three models (no rollups; the same rollups
in PostgreSQL, `external: false`; and in the embedded store, `external: true`):

1. builds the rollups with `cubec preagg build` and reports each rollup's build time;
2. starts `cubec serve` with the result cache off (`--cache-size 0`: every request runs, on
   the source or the rollup) and sends the dashboard's 20 queries REPS times each (10), one at
   a time, through /v1/load; reports the median and p95 per query, and checks that the rows
   are the source's and that each query was answered from a rollup.
"""
import json, os, re, shutil, statistics, subprocess, sys, tempfile, time
import urllib.request

from serve_helpers import free_port, token

BIN, DB = os.path.abspath(sys.argv[1]), sys.argv[2]
REPS = int(sys.argv[3]) if len(sys.argv) > 3 else 10
SECRET = "preagg-bench-secret"
AUTH = token(SECRET, {})
WORK = tempfile.mkdtemp(prefix="cubec-preagg-bench.")

DATA = """
CREATE TABLE IF NOT EXISTS pa_bench_customers AS
  SELECT i AS id, (ARRAY['north','south','east','west','central'])[1 + i % 5] AS region,
         (ARRAY['consumer','smb','enterprise','public'])[1 + (i / 7) % 4] AS segment
  FROM generate_series(1, 50000) i;
CREATE TABLE IF NOT EXISTS pa_bench_orders AS
  SELECT i AS id, 1 + (i * 7919) % 50000 AS customer_id,
         (ARRAY['paid','open','refunded','shipped','cancelled'])[1 + (i * 31) % 5] AS status,
         (ARRAY['web','ios','android','partner','store','phone'])[1 + (i * 17) % 6] AS channel,
         'C' || lpad(((i * 13) % 20)::text, 2, '0') AS country,
         round(((i * 37) % 50000) / 100.0, 2) AS amount,
         timestamp '2023-01-01' + (i * interval '15.7 seconds') AS created_at
  FROM generate_series(1::bigint, 4000000) i;
ANALYZE pa_bench_orders; ANALYZE pa_bench_customers;
"""

MODEL = """cubes:
  - name: orders
    sql_table: pa_bench_orders
    joins:
      - name: customers
        sql: "{CUBE}.customer_id = {customers.id}"
        relationship: many_to_one
    measures:
      - {name: count, type: count}
      - {name: revenue, type: sum, sql: amount}
      - {name: avg_amount, type: avg, sql: amount}
      - {name: largest, type: max, sql: amount}
    dimensions:
      - {name: id, sql: id, type: number, primary_key: true}
      - {name: status, sql: status, type: string}
      - {name: channel, sql: channel, type: string}
      - {name: country, sql: country, type: string}
      - {name: created_at, sql: created_at, type: time}
    segments:
      - {name: paid, sql: "{CUBE}.status = 'paid'"}
ROLLUPS
  - name: customers
    sql_table: pa_bench_customers
    measures:
      - {name: count, type: count}
    dimensions:
      - {name: id, sql: id, type: number, primary_key: true}
      - {name: region, sql: region, type: string}
      - {name: segment, sql: segment, type: string}
"""

ROLLUPS = """    pre_aggregations:
      - name: by_day
        measures: [count, revenue, avg_amount, largest]
        dimensions: [status, channel]
        segments: [paid]
        time_dimension: created_at
        granularity: day
        partition_granularity: month
        external: EXTERNAL
      - name: by_month
        measures: [count, revenue, avg_amount]
        dimensions: [status, channel, country]
        time_dimension: created_at
        granularity: month
        external: EXTERNAL
      - name: by_month_customers
        measures: [count, revenue]
        dimensions: [customers.region, customers.segment]
        time_dimension: created_at
        granularity: month
        external: EXTERNAL
"""


def td(g, rng=None):
    t = {"dimension": "orders.created_at", "granularity": g}
    if rng:
        t["dateRange"] = rng
    return [t]


DASHBOARD = [
    ("totals", {"measures": ["orders.count", "orders.revenue"]}),
    ("by status", {"measures": ["orders.count", "orders.revenue"], "dimensions": ["orders.status"]}),
    ("by channel", {"measures": ["orders.count"], "dimensions": ["orders.channel"]}),
    ("by country", {"measures": ["orders.revenue"], "dimensions": ["orders.country"]}),
    ("revenue by month", {"measures": ["orders.revenue"], "timeDimensions": td("month")}),
    ("count by quarter", {"measures": ["orders.count"], "timeDimensions": td("quarter")}),
    ("last 90 days by day", {"measures": ["orders.count", "orders.revenue"],
                             "timeDimensions": td("day", ["2024-10-03", "2024-12-31"])}),
    ("2024 by week", {"measures": ["orders.count"], "timeDimensions": td("week", ["2024-01-01", "2024-12-29"])}),
    ("status by month", {"measures": ["orders.count"], "dimensions": ["orders.status"], "timeDimensions": td("month")}),
    ("channel by month", {"measures": ["orders.revenue"], "dimensions": ["orders.channel"],
                          "timeDimensions": td("month")}),
    ("avg by channel", {"measures": ["orders.avg_amount"], "dimensions": ["orders.channel"]}),
    ("largest by status", {"measures": ["orders.largest"], "dimensions": ["orders.status"]}),
    ("paid by month", {"measures": ["orders.count", "orders.revenue"], "segments": ["orders.paid"],
                       "timeDimensions": td("month")}),
    ("web by country", {"measures": ["orders.count"], "dimensions": ["orders.country"],
                        "filters": [{"member": "orders.channel", "operator": "equals", "values": ["web"]}]}),
    ("top 5 countries", {"measures": ["orders.revenue"], "dimensions": ["orders.country"],
                         "order": {"orders.revenue": "desc"}, "limit": 5}),
    ("revenue by region", {"measures": ["orders.revenue"], "dimensions": ["customers.region"]}),
    ("segment by month", {"measures": ["orders.count"], "dimensions": ["customers.segment"],
                          "timeDimensions": td("month")}),
    ("2024 by year", {"measures": ["orders.count", "orders.revenue"],
                      "timeDimensions": td("year", ["2024-01-01", "2024-12-31"])}),
    ("Q2 2024 by status", {"measures": ["orders.revenue"], "dimensions": ["orders.status"],
                           "timeDimensions": td("month", ["2024-04-01", "2024-06-30"])}),
    ("status x channel", {"measures": ["orders.count"], "dimensions": ["orders.status", "orders.channel"]}),
]


def psql(sql):
    return subprocess.run(["psql", DB, "-v", "ON_ERROR_STOP=1", "-Atq", "-c", sql], check=True,
                          capture_output=True, text=True).stdout


def model_dir(name, external):
    d = os.path.join(WORK, name)
    os.makedirs(d)
    rollups = "" if external is None else ROLLUPS.replace("EXTERNAL", "true" if external else "false")
    open(os.path.join(d, "model.yml"), "w").write(MODEL.replace("ROLLUPS\n", rollups))
    return d


def build(model, store, schema):
    started = time.time()
    out = subprocess.run([BIN, "preagg", "build", "--model", model, "--db", DB, "--preagg-dir", store,
                          "--schema", schema, "--force"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stdout + out.stderr)
    per = {}
    for line in out.stdout.splitlines():
        m = re.match(r"built (\S+) \S+ \S+: (\d+) rows in (\d+) ms", line)
        if m:
            name, rows, ms = m.group(1), int(m.group(2)), int(m.group(3))
            r, t, parts = per.get(name, (0, 0, 0))
            per[name] = (r + rows, t + ms, parts + 1)
    return per, time.time() - started


def serve(model, store, schema):
    port = free_port()
    proc = subprocess.Popen([BIN, "serve", "--model", model, "--db", DB, "--port", str(port), "--watch-interval", "0",
                             "--cache-size", "0", "--preagg-dir", store, "--preagg-schema", schema],
                            env=dict(os.environ, CUBEC_API_SECRET=SECRET, RUST_LOG="warn"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
            break
        except Exception:
            time.sleep(0.1)
    time.sleep(0.5)
    return proc, port


def load(port, query):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/cubejs-api/v1/load",
                                 data=json.dumps({"query": query}).encode(),
                                 headers={"Authorization": AUTH, "Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(req, timeout=300) as r:
        body = json.loads(r.read())
    return (time.perf_counter() - started) * 1e3, body


def rows(body):
    def norm(v):
        try:
            return f"{float(v):.6g}"
        except (TypeError, ValueError):
            return v
    return sorted(tuple(sorted((k, norm(v)) for k, v in r.items())) for r in body["data"])


def measure(port, reps):
    out = {}
    for name, q in DASHBOARD:
        load(port, q)  # warm
        times, body = [], None
        for _ in range(reps):
            ms, body = load(port, q)
            times.append(ms)
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        out[name] = (statistics.median(times), p95, body)
    return out


def main():
    psql(DATA)
    n = psql("SELECT count(*) FROM pa_bench_orders").strip()
    print(f"pa_bench_orders: {n} rows; {REPS} timed requests per query after one warm-up")
    results, builds = {}, {}
    for name, external in (("source", None), ("external_false", False), ("external_true", True)):
        model = model_dir(name, external)
        store, schema = os.path.join(WORK, f"store-{name}"), f"pa_bench_{name}"
        if external is not None:
            psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            builds[name] = build(model, store, schema)
        proc, port = serve(model, store, schema)
        try:
            results[name] = measure(port, REPS)
        finally:
            proc.terminate()
            proc.wait()
    print("\nBuilds (cubec preagg build --force): rows, partitions, build time summed over partitions")
    for name, (per, wall) in builds.items():
        print(f"  {name}: {wall:.1f} s wall")
        for rollup, (r, ms, parts) in per.items():
            print(f"    {rollup}: {r} rows, {parts} partition(s), {ms / 1e3:.1f} s")
    print(f"\n| query | source p50 / p95 ms | external: false p50 / p95 ms | external: true p50 / p95 ms | speed-up (p50, false / true) | rollup |")
    print("|---|---|---|---|---|---|")
    bad = []
    for name, _ in DASHBOARD:
        s, f, t = results["source"][name], results["external_false"][name], results["external_true"][name]
        used = [u["preAggregationId"] for u in t[2].get("usedPreAggregations", {}).values()]
        used_f = [u["preAggregationId"] for u in f[2].get("usedPreAggregations", {}).values()]
        if rows(s[2]) != rows(f[2]) or rows(s[2]) != rows(t[2]):
            bad.append(f"{name}: rows differ")
        if not used or not used_f:
            bad.append(f"{name}: not answered from a rollup")
        print(f"| {name} | {s[0]:.1f} / {s[1]:.1f} | {f[0]:.1f} / {f[1]:.1f} | {t[0]:.2f} / {t[1]:.2f} "
              f"| {s[0] / f[0]:.0f}x / {s[0] / t[0]:.0f}x | {', '.join(used)} |")
    med = lambda k, i: statistics.median(results[k][n][i] for n, _ in DASHBOARD)
    print(f"\nmedian of the medians: source {med('source', 0):.1f} ms, external: false {med('external_false', 0):.1f} ms, "
          f"external: true {med('external_true', 0):.2f} ms")
    shutil.rmtree(WORK, ignore_errors=True)
    if bad:
        sys.exit("\n".join(bad))


if __name__ == "__main__":
    main()
