#!/usr/bin/env python3
"""The query cache and queue of a real `cubec serve` process on PostgreSQL, with real clients.

    python3 scripts/cache_serve.py CUBEC_BINARY POSTGRES_URL

Writes a small model over tables of its own, starts `cubec serve` against the database, and
checks, counting executions on the database's side (a sequence each cube's SQL advances when
it starts, and `pg_stat_activity`):

  1. a burst of 50 identical requests from 10 concurrent clients runs the query once, and every
     client gets the same rows;
  2. a query that runs 15 s (`pg_sleep`) answers curl with `{"error": "Continue wait"}` first,
     and Cube's JavaScript client (tests/e2e/continue_wait.mjs, from the e2e step's
     node_modules) gets its rows through its own Continue wait retries;
  3. `refresh_key: every: 10 second` gives cached rows before 10 s have passed and the new
     rows after; a `sql` refresh key gives new rows once the source moved it; `renewQuery`
     always runs the query;
  4. with a 4 s query timeout, a runaway query is cancelled on the database: the polling
     client gets 504, and no backend is left sleeping.

Exits 1 on the first failed check, printing the server log.
"""
import json, os, subprocess, sys, tempfile, threading, time
import urllib.error, urllib.request

from serve_helpers import LoggedProcess, free_port, token

BIN = os.path.abspath(sys.argv[1])
DB = sys.argv[2]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = "cache-secret"
AUTH = token(SECRET, {})
TAG = f"cubec_cache_{os.getpid()}"
WORK = tempfile.mkdtemp(prefix="cubec-cache.")
servers = []


def psql(sql):
    out = subprocess.run(["psql", DB, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return out.stdout.strip()


def runs(seq):
    return int(psql(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {TAG}_{seq}"))


def fail(what, detail=""):
    print(f"FAIL {what}" + (f"\n     {detail}" if detail else ""))
    for s in servers:
        print(f"== server log ({s.name}):")
        print(s.text())
    sys.exit(1)


def check(ok, what, detail=""):
    if not ok:
        fail(what, detail)
    print(f"ok   {what}")


MODEL = f"""cubes:
  - name: burst
    sql: "SELECT 7 AS x, nextval('{TAG}_burst') AS run, pg_sleep(1) AS nap"
    refresh_key: {{immutable: true}}
    measures:
      - {{name: total, type: sum, sql: x}}
  - name: slow_curl
    sql: "SELECT 3 AS x, nextval('{TAG}_slow') AS run, pg_sleep(15) AS nap"
    refresh_key: {{immutable: true}}
    measures:
      - {{name: total, type: sum, sql: x}}
  - name: slow_js
    sql: "SELECT 4 AS x, nextval('{TAG}_slow') AS run, pg_sleep(15) AS nap"
    refresh_key: {{immutable: true}}
    measures:
      - {{name: total, type: sum, sql: x}}
  - name: runaway
    sql: "SELECT 1 AS x, pg_sleep(60) AS {TAG}_nap"
    measures:
      - {{name: total, type: sum, sql: x}}
  - name: ticking
    sql: "WITH r AS MATERIALIZED (SELECT nextval('{TAG}_ticking') AS run) SELECT v, run FROM {TAG}_src, r"
    refresh_key:
      every: 10 second
    measures:
      - {{name: total, type: sum, sql: v}}
  - name: keyed
    sql_table: {TAG}_src
    refresh_key:
      sql: SELECT max(v) FROM {TAG}_src
      every: 1 second
    measures:
      - {{name: total, type: sum, sql: v}}
"""


class Server(LoggedProcess):
    def __init__(self, name, *flags):
        self.name, self.port = name, free_port()
        super().__init__([BIN, "serve", "--model", os.path.join(WORK, "model"), "--db", DB, "--host", "127.0.0.1",
                          "--port", str(self.port), "--watch-interval", "0", *flags],
                         open(os.path.join(WORK, f"{name}.log"), "w+"), env=dict(os.environ, CUBEC_API_SECRET=SECRET))
        servers.append(self)
        self.api = f"http://127.0.0.1:{self.port}/cubejs-api/v1"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status == 200:
                    return
            except Exception:
                time.sleep(0.1)
        fail(f"{name}: cubec serve did not become ready")

    def load(self, query, request_id=None):
        body = json.dumps({"query": query}).encode()
        headers = {"Authorization": AUTH, "Content-Type": "application/json"}
        if request_id:
            headers["x-request-id"] = request_id
        req = urllib.request.Request(self.api + "/load", data=body, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def rows(self, query):
        """Polls through Continue wait, as a client does, until the rows come."""
        for _ in range(100):
            status, body = self.load(query)
            if status == 200 and body.get("error") == "Continue wait":
                continue
            if status != 200:
                fail(f"{self.name}: {json.dumps(query)} answered {status}", json.dumps(body))
            return body
        fail(f"{self.name}: no rows after 100 polls")



def main():
    os.makedirs(os.path.join(WORK, "model"))
    with open(os.path.join(WORK, "model", "cache.yml"), "w") as f:
        f.write(MODEL)
    for seq in ("burst", "slow", "ticking"):
        psql(f"DROP SEQUENCE IF EXISTS {TAG}_{seq}; CREATE SEQUENCE {TAG}_{seq}")
    psql(f"DROP TABLE IF EXISTS {TAG}_src; CREATE TABLE {TAG}_src (v int); INSERT INTO {TAG}_src VALUES (1), (2)")
    server = Server("serve")

    # 1. A burst: 10 clients, 5 requests each, all at once.
    answers, threads = [], []
    burst = {"measures": ["burst.total"]}

    def client():
        for _ in range(5):
            answers.append(server.rows(burst)["data"])

    threads = [threading.Thread(target=client) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    check(len(answers) == 50 and all(a == [{"burst.total": "7"}] for a in answers),
          "a burst of 50 requests from 10 clients: every client got the same rows", str(answers[:3]))
    check(runs("burst") == 1, "a burst of 50 identical requests reached PostgreSQL as one query",
          f"the sequence says {runs('burst')} runs")

    # 2. A 15 s query: curl sees Continue wait first; Cube's client waits through its retries.
    curl_query, js_query = {"measures": ["slow_curl.total"]}, {"measures": ["slow_js.total"]}
    started = time.time()
    out = subprocess.run(["curl", "-s", "-H", f"Authorization: {AUTH}", "-G", server.api + "/load",
                          "--data-urlencode", "query=" + json.dumps(curl_query)], stdout=subprocess.PIPE, text=True)
    waited = time.time() - started
    check(json.loads(out.stdout or "null") == {"error": "Continue wait"} and waited < 8,
          f"curl on a 15 s query: `Continue wait` first, after {waited:.1f} s", out.stdout[:200])
    node = subprocess.run(["node", os.path.join(ROOT, "tests/e2e/continue_wait.mjs"), "--api", server.api, "--token",
                           AUTH, "--query", json.dumps(js_query), "--expect",
                           json.dumps([{"slow_js.total": "4"}])], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, cwd=os.path.join(ROOT, "tests/e2e"))
    print("     " + node.stdout.strip())
    check(node.returncode == 0, "Cube's JavaScript client got the 15 s query's rows through Continue wait")
    body = server.rows(curl_query)
    check(body["data"] == [{"slow_curl.total": "3"}], "curl's query, asked again, has its rows",
          json.dumps(body)[:200])
    check(runs("slow") == 2, "each 15 s query ran once (the polls joined it)", f"{runs('slow')} runs")

    # 3. Refresh keys: `every: 10 second`, a `sql` key, renewQuery.
    ticking = {"measures": ["ticking.total"]}
    first = server.rows(ticking)
    psql(f"INSERT INTO {TAG}_src VALUES (10)")
    second = server.rows(ticking)
    same_bucket = first["lastRefreshTime"] == second["lastRefreshTime"]
    check(second["data"] == first["data"] or not same_bucket,
          "every: 10 second: cached rows before the interval passed", f"{first['data']} then {second['data']}")
    time.sleep(10.5)
    third = server.rows(ticking)
    check(third["data"] == [{"ticking.total": "13"}], "every: 10 second: new rows once it passed", str(third["data"]))
    before = runs("ticking")
    renewed = server.rows({**ticking, "renewQuery": True})
    check(renewed["data"] == [{"ticking.total": "13"}] and runs("ticking") == before + 1,
          "renewQuery ran the query on the database", f"{runs('ticking')} runs, was {before}")

    keyed = {"measures": ["keyed.total"]}
    check(server.rows(keyed)["data"] == [{"keyed.total": "13"}], "a sql refresh key: the rows")
    psql(f"INSERT INTO {TAG}_src VALUES (100)")
    time.sleep(1.2)
    check(server.rows(keyed)["data"] == [{"keyed.total": "113"}],
          "a sql refresh key: new rows on the next request once the source moved it")

    # 4. A runaway query past a 4 s timeout.
    short = Server("short-timeout", "--query-timeout", "4", "--continue-wait", "1")
    started = time.time()
    statuses = []
    while time.time() - started < 20:
        status, body = short.load({"measures": ["runaway.total"]}, request_id="runaway-span-1")
        statuses.append(status if body.get("error") != "Continue wait" else "wait")
        if status != 200:
            break
    took = time.time() - started
    check(statuses[0] == "wait" and statuses[-1] == 504 and took < 8,
          f"a runaway query: Continue wait, then 504 after {took:.1f} s", str(statuses))
    time.sleep(0.5)
    sleeping = psql(f"SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%{TAG}_nap%' "
                    "AND pid <> pg_backend_pid()")
    check(sleeping == "0", "the runaway statement was cancelled on the database", f"{sleeping} still running")


try:
    main()
finally:
    for s in servers:
        s.stop()
    for seq in ("burst", "slow", "ticking"):
        subprocess.run(["psql", DB, "-X", "-q", "-c", f"DROP SEQUENCE IF EXISTS {TAG}_{seq}"], capture_output=True)
    subprocess.run(["psql", DB, "-X", "-q", "-c", f"DROP TABLE IF EXISTS {TAG}_src"], capture_output=True)
print("== cache: all checks passed")
