#!/usr/bin/env python3
"""The fault flow `cubec serve` goes through on a database server of a script's own, while
/v1/load requests flow from two threads (scripts/warehouse_serve.py's helpers). Used by
scripts/mysql_serve.py (MariaDB), redshift_serve.py (a PostgreSQL stand-in through redshift://),
clickhouse_serve.py (chDB behind its HTTP front) and databricks_serve.py (Spark behind its API
front).

  1. the server frozen (SIGSTOP) past the query timeout: answers are 504 or 503, none later than
     the timeout plus 2 s, and 200 again after SIGCONT;
  2. (where the engine holds connections) every connection cubec holds killed from the server's
     side: answers are 200 again at once, the pool drops the dead connections;
  3. the server restarted (SIGKILL, then a new one on the same data and port): answers are 503
     while it is down, /readyz 503, then 200 with DuckDB's rows;
  4. a table the model reads dropped: 400 with the engine's message and no credentials, then 200
     after `load-data`.

The server object gives: `name`, `proc` (the process to signal), `url()`, `start()`, `kill()`,
`kill_connections()` (the ids killed, or None where the engine holds none), `drop(table)`.
"""
import json, os, shutil, signal, subprocess, time

import warehouse_serve
from serve_helpers import free_port
from warehouse_serve import BIN, ROOT, SECRET, TIMEOUT, Load, check, failures, load_data, request, wait_for

# The KPI query of warehouse_serve.py reads the users cube's correlated subqueries, which take
# MariaDB about 3 s on the demo data without indexes: the weekly outreach query (50 ms) keeps
# requests flowing.
QUERY_FILE = os.path.join(ROOT, "metrics/queries/outreach_by_week.json")
warehouse_serve.QUERY = json.load(open(QUERY_FILE))


def rows_of(body):
    """Rows comparable across engines: numbers to 9 significant digits (MySQL's decimals carry
    30 digits where DuckDB's doubles carry 17)."""
    def value(v):
        try:
            return float(f"{float(v):.9g}")
        except (TypeError, ValueError):
            return v
    return sorted(json.dumps({k: value(v) for k, v in r.items()}, sort_keys=True) for r in body.get("data", []))


def run(db, work):
    """The four faults against `cubec serve --db db.url()`; checks recorded in `failures`."""
    name = db.name
    out = subprocess.run([BIN, "query", "--model", os.path.join(ROOT, "metrics"), "--query", QUERY_FILE,
                          "--format", "json"], check=True, stdout=subprocess.PIPE).stdout
    expected = rows_of(json.loads(out))
    load_data(db.url())
    port = free_port()
    serve_log = open(os.path.join(work, "serve.log"), "w")
    server = subprocess.Popen([BIN, "serve", "--model", os.path.join(ROOT, "metrics"), "--db", db.url(), "--host",
                               "127.0.0.1", "--port", str(port), "--query-timeout", str(TIMEOUT),
                               "--cache-size", "0", "--continue-wait", "0"],
                              env={**os.environ, "CUBEC_API_SECRET": SECRET}, stdout=serve_log, stderr=subprocess.STDOUT)
    try:
        ok, body = wait_for(port, 200, 30)
        rows = rows_of(body) if ok else []
        check(ok and rows == expected, f"{name}: /v1/load answers 200 with the embedded DuckDB's rows", str(body)[:300])

        load = Load(port)
        time.sleep(1)
        frozen = time.time()
        db.proc.send_signal(signal.SIGSTOP)
        time.sleep(TIMEOUT + 3)
        db.proc.send_signal(signal.SIGCONT)
        thawed = time.time()
        time.sleep(TIMEOUT + 3)
        during = [a for a in load.since(frozen) if a[0] < thawed + TIMEOUT + 1]
        statuses = str(sorted({s for _, s, _ in during}))
        check(any(s in (503, 504) for _, s, _ in during), f"{name}: a frozen server gives 504/503 answers", statuses)
        check(all(s in (200, 503, 504) for _, s, _ in during), f"{name}: only 200/503/504 while frozen", statuses)
        slowest = max((took for _, _, took in during), default=0)
        check(slowest <= TIMEOUT + 2.0, f"{name}: no answer waits past the timeout ({slowest:.1f} s)")
        after = [s for t, s, _ in load.since(thawed + TIMEOUT + 1)]
        check(bool(after) and after[-1] == 200, f"{name}: answers are 200 again after the thaw", str(after[-5:]))

        killed = time.time()
        ids = db.kill_connections()
        if ids is not None:
            time.sleep(2)
            later = [s for t, s, _ in load.since(killed + 1)]
            check(bool(ids), f"{name}: cubec held connections to kill ({len(ids)})")
            check(bool(later) and all(s == 200 for s in later),
                  f"{name}: 200 right after its connections were killed", str(later[-5:]))

        down_at = time.time()
        db.kill()
        time.sleep(TIMEOUT + 2)
        down = [s for t, s, _ in load.since(down_at + 0.5)]
        check(bool(down) and all(s == 503 for s in down[-3:]), f"{name}: a stopped server gives 503", str(down[-5:]))
        status, _, _ = request(port, "/readyz")
        check(status == 503, f"{name}: /readyz is 503 while the server is down", str(status))
        db.start()
        ok, body = wait_for(port, 200, 30)
        rows = rows_of(body) if ok else []
        check(ok and rows == expected, f"{name}: 200 with the same rows after the restart")
        load.end()

        db.drop("referral_messages")
        ok, body = wait_for(port, 400, 30)
        check(ok and "referral_messages" in json.dumps(body) and "cubec:cubec" not in json.dumps(body),
              f"{name}: a missing table is 400 with the engine's message and no credentials", str(body)[:300])
        load_data(db.url())
        ok, _ = wait_for(port, 200, 30)
        check(ok, f"{name}: 200 again after load-data")
        check(server.poll() is None, f"{name}: the server is still running")
    finally:
        server.terminate()
        server.wait(10)
        db.kill()
        serve_log.close()
        log = open(os.path.join(work, "serve.log")).read()
        check("panicked" not in log, f"{name}: the server never panicked")
        if failures:
            print(f"== server log:\n{log[-4000:]}")
        shutil.rmtree(work, ignore_errors=True)
