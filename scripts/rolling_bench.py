#!/usr/bin/env python3
"""Rolling-window queries on a generated dataset: wall time per query, on the embedded DuckDB and
(with a URL) PostgreSQL.

    python3 scripts/rolling_bench.py CUBEC_BINARY [ROWS] [POSTGRES_URL]

Writes a model (one `events` cube: a running total, a trailing 7-day sum and count, a
month-to-date sum) and ROWS rows (default 400,000, deterministic) into a temporary folder, loads
them into PostgreSQL when a URL is given (`cubec load-data`), then runs each query five times
with `cubec query` and prints the median wall time. Compare two builds by running it with each.
"""
import os, random, statistics, subprocess, sys, tempfile, time

BIN = os.path.abspath(sys.argv[1])
ROWS = int(sys.argv[2]) if len(sys.argv) > 2 else 400_000
PG = sys.argv[3] if len(sys.argv) > 3 else None

MODEL = """cubes:
  - name: events
    sql_table: events
    measures:
      - {name: count, type: count}
      - {name: amount, type: sum, sql: amount}
      - {name: running_amount, type: sum, sql: amount, rolling_window: {trailing: unbounded}}
      - {name: amount_7d, type: sum, sql: amount, rolling_window: {trailing: 7 day}}
      - {name: count_7d, type: count, rolling_window: {trailing: 7 day}}
      - {name: amount_mtd, type: sum, sql: amount, rolling_window: {type: to_date, granularity: month}}
      - {name: users_7d, type: count_distinct, sql: user_id, rolling_window: {trailing: 7 day}}
      - {name: amount_prior_year, multi_stage: true, type: sum, sql: "{amount}", time_shift: [{time_dimension: at, interval: 1 year, type: prior}]}
      - {name: amount_yoy, multi_stage: true, type: number, sql: "1.0 * {amount} / NULLIF({amount_prior_year}, 0) - 1"}
      - {name: amount_all_channels, multi_stage: true, type: sum, sql: "{amount}", reduce_by: [channel]}
      - {name: channel_share, multi_stage: true, type: number, sql: "1.0 * {amount} / NULLIF({amount_all_channels}, 0)"}
    dimensions:
      - {name: id, sql: id, type: number, primary_key: true}
      - {name: channel, sql: channel, type: string}
      - name: at
        sql: at
        type: time
        granularities:
          - {name: two_months, interval: 2 months, origin: "2023-01-15"}
"""

QUERIES = {
    "no window: amount by month (the floor)": '{"measures": ["events.amount"], "timeDimensions": [{"dimension": "events.at", "granularity": "month", "dateRange": ["2023-01-01", "2024-12-31"]}]}',
    "running total by month": '{"measures": ["events.running_amount"], "timeDimensions": [{"dimension": "events.at", "granularity": "month", "dateRange": ["2023-01-01", "2024-12-31"]}]}',
    "month to date by day": '{"measures": ["events.amount_mtd"], "timeDimensions": [{"dimension": "events.at", "granularity": "day", "dateRange": ["2024-01-01", "2024-06-30"]}]}',
    "trailing 7 days by week and channel": '{"measures": ["events.amount_7d", "events.count_7d"], "dimensions": ["events.channel"], "timeDimensions": [{"dimension": "events.at", "granularity": "week", "dateRange": ["2024-01-01", "2024-06-30"]}]}',
    "year over year by month (multi-stage)": '{"measures": ["events.amount", "events.amount_prior_year", "events.amount_yoy"], "timeDimensions": [{"dimension": "events.at", "granularity": "month", "dateRange": ["2024-01-01", "2024-12-31"]}]}',
    "channel share by month (multi-stage)": '{"measures": ["events.channel_share"], "dimensions": ["events.channel"], "timeDimensions": [{"dimension": "events.at", "granularity": "month", "dateRange": ["2023-01-01", "2024-12-31"]}]}',
    "amount by 2-month buckets from the 15th": '{"measures": ["events.amount"], "timeDimensions": [{"dimension": "events.at", "granularity": "two_months", "dateRange": ["2023-01-01", "2024-12-31"]}]}',
    "running total by 2-month buckets": '{"measures": ["events.running_amount"], "timeDimensions": [{"dimension": "events.at", "granularity": "two_months", "dateRange": ["2023-01-15", "2024-12-31"]}]}',
    "distinct users, trailing 7 days by week": '{"measures": ["events.users_7d"], "timeDimensions": [{"dimension": "events.at", "granularity": "week", "dateRange": ["2024-01-01", "2024-03-31"]}]}',
}

work = tempfile.mkdtemp(prefix="cubec-rolling.")
os.makedirs(os.path.join(work, "data"))
open(os.path.join(work, "events.yml"), "w").write(MODEL)
rnd = random.Random(7)
start = time.mktime((2023, 1, 1, 0, 0, 0, 0, 0, 0))
with open(os.path.join(work, "data", "events.csv"), "w") as f:
    f.write("id,user_id,channel,amount,at\n")
    for i in range(ROWS):
        t = time.gmtime(start + rnd.random() * 2 * 365 * 86400)
        f.write(f"{i},{rnd.randrange(20000)},{rnd.choice(['email', 'link', 'social', 'partner'])},{rnd.randrange(1, 500)},"
                f"{time.strftime('%Y-%m-%d %H:%M:%S', t)}\n")
targets = [("duckdb", [])]
if PG:
    subprocess.run([BIN, "load-data", "--model", work, "--db", PG], check=True, capture_output=True)
    targets.append(("postgres", ["--db", PG]))
for engine, extra in targets:
    for name, q in QUERIES.items():
        times = []
        for _ in range(5):
            t0 = time.time()
            r = subprocess.run([BIN, "query", "--model", work, "--query", q, "--format", "csv", *extra], capture_output=True, text=True)
            times.append(time.time() - t0)
            if r.returncode != 0:
                sys.exit(f"{engine} {name}: {r.stderr}")
        rows = r.stdout.count("\n") - 1
        print(f"{engine:9} {name:42} {statistics.median(times) * 1000:8.0f} ms  ({rows} rows)", flush=True)
