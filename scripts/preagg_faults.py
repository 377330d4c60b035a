#!/usr/bin/env python3
"""Pre-aggregations under faults, with real processes on a PostgreSQL cluster of the script's own.

    python3 scripts/preagg_faults.py CUBEC_BINARY

The model reads an `events` table through a cube whose SQL sleeps `knobs.sleep_s` seconds
(so a build can be caught midway) and has two rollups: `daily` (by day, partitioned by month,
kept in PostgreSQL: `external: false`) and `monthly` (by month, in the embedded store). Their
refresh key is `max(id)`: a new row makes every partition stale. The expected rows are always
PostgreSQL's own, read with psql. Four faults, and each time no answer may have wrong or
missing rows:

  1. `cubec preagg build` killed (SIGKILL) after its first partition: the previous tables keep
     serving, the manifest names only tables that exist, and a new build finishes the rest.
  2. The model changes while `cubec serve --refresh-worker` answers: the new rollup structure
     is never served from the old tables; the worker builds it and answers move to it.
  3. PostgreSQL restarted while the worker rebuilds: answers stay right or are 503, and the
     worker finishes after; then, with PostgreSQL stopped, the embedded store's rollup answers.
  4. Two servers with refresh workers on one database at once: each partition of the shared
     rollup is built once.
  5. Cube's Orchestration API (`/v1/pre-aggregations/jobs`) asked to build while the server's
     own worker builds the same rollups: every job ends `done`, each partition is built once,
     and the answers read the rollups with PostgreSQL's rows.

Exits 1 on the first failed check, printing the logs involved.
"""
import json, os, shutil, signal, subprocess, sys, tempfile, threading, time
import urllib.error, urllib.request

from serve_helpers import Cluster, LoggedProcess, free_port, token

BIN = os.path.abspath(sys.argv[1])
SECRET = "preagg-fault-secret"
AUTH = token(SECRET, {"sub": "preagg"})
WORK = tempfile.mkdtemp(prefix="cubec-preagg-fault.")
os.chmod(WORK, 0o755)
MODEL = os.path.join(WORK, "model")
failures = []

MODEL_YML = """cubes:
  - name: events
    sql: "SELECT e.* FROM events e CROSS JOIN (SELECT pg_sleep((SELECT sleep_s FROM knobs))) AS slow"
    measures:
      - {name: count, type: count}
      - {name: total, type: sum, sql: amount}
      - {name: top, type: max, sql: amount}
    dimensions:
      - {name: id, sql: id, type: number, primary_key: true}
      - {name: kind, sql: kind, type: string}
      - {name: ts, sql: ts, type: time}
    pre_aggregations:
      - name: daily
        measures: [count, total]
        dimensions: [kind]
        time_dimension: ts
        granularity: day
        partition_granularity: month
        external: false
        refresh_key: {sql: "SELECT max(id) FROM events"}
      - name: monthly
        measures: [MONTHLY_MEASURES]
        dimensions: [kind]
        time_dimension: ts
        granularity: month
        external: true
        refresh_key: {sql: "SELECT max(id) FROM events"}
"""

# By month over the whole range: `monthly` (the smaller) answers.
Q_MONTHS = {"measures": ["events.count", "events.total"], "dimensions": ["events.kind"],
            "timeDimensions": [{"dimension": "events.ts", "granularity": "month",
                                "dateRange": ["2024-01-01", "2024-06-30"]}]}
# By day in February: only `daily` has days.
Q_DAYS = {"measures": ["events.count", "events.total"], "dimensions": ["events.kind"],
          "timeDimensions": [{"dimension": "events.ts", "granularity": "day",
                              "dateRange": ["2024-02-01", "2024-02-29"]}]}


def check(ok, what, detail=""):
    print(("ok   " if ok else "FAIL ") + what + (f"\n     {detail}" if detail and not ok else ""), flush=True)
    if not ok:
        failures.append(what)


def write_model(monthly_measures="count, total"):
    os.makedirs(MODEL, exist_ok=True)
    # Written whole under another name, then renamed: the watcher never reads half a file.
    tmp = os.path.join(WORK, "events.yml.tmp")
    with open(tmp, "w") as f:
        f.write(MODEL_YML.replace("MONTHLY_MEASURES", monthly_measures))
    os.replace(tmp, os.path.join(MODEL, "events.yml"))


def expected(pg, grain, start, end):
    """PostgreSQL's own answer: {(kind, bucket): (count, total)}."""
    out = pg.psql(f"SELECT kind, to_char(date_trunc('{grain}', ts), 'YYYY-MM-DD'), count(*), sum(amount) FROM events "
                  f"WHERE ts >= '{start}' AND ts < '{end}' GROUP BY 1, 2").stdout.decode()
    rows = {}
    for line in out.strip().splitlines():
        kind, bucket, count, total = line.split("|")
        rows[(kind, bucket)] = (int(count), float(total))
    return rows


def months(pg):
    return expected(pg, "month", "2024-01-01", "2024-07-01")


def days(pg):
    return expected(pg, "day", "2024-02-01", "2024-03-01")


def answer_rows(body, grain):
    rows = {}
    for r in body.get("data", []):
        bucket = r[f"events.ts.{grain}"][:10]
        rows[(r["events.kind"], bucket)] = (int(r["events.count"]), float(r["events.total"]))
    return rows


def cubec(*args, **kw):
    return subprocess.run([BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


class Server(LoggedProcess):
    def __init__(self, pg, name, *extra):
        self.port = free_port()
        env = dict(os.environ, CUBEC_API_SECRET=SECRET)
        super().__init__([BIN, "serve", "--model", MODEL, "--db", pg.url(), "--port", str(self.port),
                          "--log-format", "json", "--query-timeout", "10", "--cache-size", "0",
                          "--continue-wait", "0", "--preagg-dir", os.path.join(WORK, f"store-{name}"), *extra],
                         open(os.path.join(WORK, f"serve-{name}.log"), "w+"), env=env)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.base + "/livez", timeout=1)
                return
            except Exception:
                time.sleep(0.1)
        raise SystemExit("cubec serve did not start:\n" + self.text())

    def load(self, query):
        url = self.base + "/cubejs-api/v1/load?query=" + urllib.request.quote(json.dumps(query))
        req = urllib.request.Request(url, headers={"Authorization": AUTH})
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")
        except Exception as e:
            return -1, {"error": str(e)}

    def built(self, rollup=None):
        """(rollup, partition) of every `pre-aggregation built` event in the log."""
        out = []
        for line in self.text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            f = event.get("fields", event)
            if f.get("message") == "pre-aggregation built" and (rollup is None or f.get("rollup") == rollup):
                out.append((f.get("rollup"), f.get("partition")))
        return out


def wait_for(what, within, probe):
    deadline = time.time() + within
    last = None
    while time.time() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.3)
    check(False, what, f"not within {within} s (last: {last})")
    return None


def used(body):
    return list(body.get("usedPreAggregations", {}).values())


class Watch:
    """Threads asking `queries` over and over; every 200 answer must hold one of the row sets
    `allowed()` gives at that moment; other statuses are counted."""

    def __init__(self, server, queries):
        self.server, self.queries = server, queries
        self.allowed = {}
        self.lock = threading.Lock()
        self.wrong, self.statuses, self.stop = [], {}, False
        self.threads = [threading.Thread(target=self.run, args=(q,), daemon=True) for q in queries]

    def allow(self, name, rows):
        with self.lock:
            self.allowed.setdefault(name, []).append(rows)

    def run(self, name):
        query, grain = self.queries[name]
        while not self.stop:
            status, body = self.server.load(query)
            with self.lock:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if status == 200 and answer_rows(body, grain) not in self.allowed.get(name, []):
                    self.wrong.append((name, used(body), answer_rows(body, grain)))
            time.sleep(0.05)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop = True
        for t in self.threads:
            t.join(30)


def manifest_tables(pg, schema):
    out = pg.psql(f"SELECT table_name FROM {schema}.cubec_preagg_manifest WHERE table_name IS NOT NULL "
                  f"AND table_name <> ''").stdout.decode()
    return [t for t in out.split() if t]


def table_exists(pg, schema, table):
    out = pg.psql(f"SELECT count(*) FROM information_schema.tables WHERE table_schema = '{schema}' "
                  f"AND table_name = '{table}'").stdout.decode().strip()
    return out == "1"


def killed_build(pg):
    """1. A build killed after its first partition."""
    schema = "fault_kill"
    common = ["--model", MODEL, "--db", pg.url(), "--preagg-dir", os.path.join(WORK, "store-cli"),
              "--schema", schema, "--name", "daily"]
    r = cubec("preagg", "build", *common)
    check(r.returncode == 0, "a first build of every partition", r.stdout)
    before = days(pg)
    pg.psql("UPDATE knobs SET sleep_s = 1.5; INSERT INTO events VALUES (100001, 'a', 5, '2024-06-15 12:00')")
    proc = subprocess.Popen([BIN, "preagg", "build", *common], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    first = proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    check(first.startswith("built events.daily"), "the build was killed after its first partition", first)
    pg.psql("UPDATE knobs SET sleep_s = 0")
    tables = manifest_tables(pg, schema)
    check(len(tables) == 6 and all(table_exists(pg, schema, t) for t in tables),
          "the manifest names six partitions, every one a table that exists", str(tables))
    r = cubec("query", "--model", MODEL, "--db", pg.url(), "--preagg-dir", os.path.join(WORK, "store-cli"),
              "--preagg-schema", schema, "--format", "json", "--explain", "--query", json.dumps(Q_DAYS))
    text = r.stdout
    check(r.returncode == 0 and "-- pre-aggregation: events.daily" in text,
          "February by day is still answered from the rollup after the kill", text[-2000:])
    body = json.loads(text[text.index("\n{") + 1:]) if "\n{" in text else {}
    check(answer_rows(body, "day") == before, "with February's rows")
    r = cubec("preagg", "build", *common)
    check(r.returncode == 0, "a new build after the kill succeeds", r.stdout)
    r = cubec("preagg", "list", *common)
    check("6/6 partitions built" in r.stdout, "every partition is built", r.stdout)


def model_change(pg):
    """2. The model changes under a serving worker."""
    server = Server(pg, "change", "--refresh-worker", "--refresh-interval", "1", "--watch-interval", "0.5",
                    "--preagg-schema", "fault_change")
    try:
        first = wait_for("the worker builds the monthly rollup", 60,
                         lambda: (lambda b: used(b)[0]["targetTableName"] if used(b) else None)(server.load(Q_MONTHS)[1]))
        watch = Watch(server, {"months": (Q_MONTHS, "month"), "days": (Q_DAYS, "day")})
        watch.allow("months", months(pg))
        watch.allow("days", days(pg))
        with watch:
            time.sleep(1)
            write_model("count, total, top")
            moved = wait_for("answers move to the new structure's table", 60,
                             lambda: (lambda b: used(b) and used(b)[0]["targetTableName"] != first)(server.load(Q_MONTHS)[1]))
            time.sleep(1)
        check(not watch.wrong, "no wrong rows while the model changed", str(watch.wrong[:3]))
        check(set(watch.statuses) == {200}, "every answer was 200", str(watch.statuses))
        status, body = server.load({"measures": ["events.top"], "timeDimensions": [
            {"dimension": "events.ts", "granularity": "month", "dateRange": ["2024-01-01", "2024-06-30"]}]})
        check(status == 200 and [u["preAggregationId"] for u in used(body)] == ["events.monthly"],
              "the new measure is answered from the new table", json.dumps(body)[:500])
        if moved is None or failures:
            print(server.text()[-4000:])
    finally:
        server.stop()


def restart_during_refresh(pg):
    """3. PostgreSQL restarted while the worker rebuilds."""
    server = Server(pg, "restart", "--refresh-worker", "--refresh-interval", "1", "--preagg-schema", "fault_restart")
    try:
        wait_for("the worker builds both rollups", 60,
                 lambda: used(server.load(Q_MONTHS)[1]) and used(server.load(Q_DAYS)[1]))
        watch = Watch(server, {"months": (Q_MONTHS, "month"), "days": (Q_DAYS, "day")})
        watch.allow("months", months(pg))
        watch.allow("days", days(pg))
        with watch:
            pg.psql("UPDATE knobs SET sleep_s = 1; INSERT INTO events VALUES (100002, 'b', 7, '2024-03-03 03:00')")
            watch.allow("months", months(pg))
            watch.allow("days", days(pg))
            time.sleep(2.5)  # the worker has seen the new key and is building
            pg.restart()
            pg.psql("UPDATE knobs SET sleep_s = 0")
            new_months = months(pg)
            wait_for("the rebuilt rollup answers with the new row after the restart", 90,
                     lambda: (lambda s, b: s == 200 and used(b) and answer_rows(b, "month") == new_months)(
                         *server.load(Q_MONTHS)))
        check(not watch.wrong, "no wrong rows through the restart", str(watch.wrong[:3]))
        check(set(watch.statuses) <= {200, 503}, "answers were 200, or 503 while the database was away",
              str(watch.statuses))
        # With PostgreSQL stopped, the embedded store still answers; the source's rollup cannot.
        pg.stop()
        try:
            status, body = server.load(Q_MONTHS)
            check(status == 200 and used(body) and answer_rows(body, "month") == new_months,
                  "with PostgreSQL down, the embedded store's rollup answers", f"{status} {json.dumps(body)[:300]}")
            status, body = server.load(Q_DAYS)
            check(status == 503, "with PostgreSQL down, a rollup kept in PostgreSQL is 503", f"{status}")
        finally:
            pg.start()
        # The restart hit a build: its failure is logged, and the previous tables kept serving.
        failed = [l for l in server.text().splitlines() if "failed" in l and "pre-aggregation" in l]
        check(bool(failed), "the restart interrupted a build (its failure is in the log)")
        print(f"     answers: {watch.statuses}; failed builds logged: {len(failed)}", flush=True)
        if failures:
            print(server.text()[-4000:])
    finally:
        server.stop()


def two_workers(pg):
    """4. Two refresh workers on one database."""
    args = ["--refresh-worker", "--refresh-interval", "1", "--preagg-schema", "fault_two"]
    a, b = Server(pg, "worker-a", *args), Server(pg, "worker-b", *args)
    try:
        for s in (a, b):
            wait_for("both servers answer from the shared daily rollup", 60, lambda: used(s.load(Q_DAYS)[1]))
        time.sleep(3)  # a few more refresh rounds
        shared = a.built("events.daily") + b.built("events.daily")
        partitions = [p for _, p in shared]
        check(len(partitions) == 6 and len(set(partitions)) == 6, "each of the six partitions was built once",
              str(sorted(partitions)))
        for s in (a, b):
            status, body = s.load(Q_DAYS)
            check(status == 200 and answer_rows(body, "day") == days(pg), "both answer with February's rows")
    finally:
        a.stop()
        b.stop()


def jobs(server, body):
    req = urllib.request.Request(server.base + "/cubejs-api/v1/pre-aggregations/jobs", data=json.dumps(body).encode(),
                                 headers={"Authorization": AUTH, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def jobs_with_worker(pg):
    """5. The Orchestration API and the refresh worker at once."""
    pg.psql("UPDATE knobs SET sleep_s = 0.5")
    s = Server(pg, "jobs", "--refresh-worker", "--refresh-interval", "1", "--preagg-schema", "fault_jobs",
               "--api-scopes", "meta,data,jobs")
    try:
        selector = {"contexts": [{"securityContext": {}}], "timezones": ["UTC"], "cubes": ["events"]}
        status, tokens = jobs(s, {"action": "post", "selector": selector})
        check(status == 200 and isinstance(tokens, list) and len(tokens) == 7,
              "a token per partition: six months of daily, one monthly", f"{status} {tokens}")
        if status != 200:
            return

        def settled():
            st, body = jobs(s, {"action": "get", "tokens": tokens, "resType": "object"})
            states = [j.get("status") for j in body.values()] if st == 200 else []
            return body if states and all(x not in ("scheduled", "processing") for x in states) else None

        body = wait_for("every job finishes", 120, settled) or {}
        check(all(j.get("status") == "done" for j in body.values()), "every job is done",
              json.dumps(body)[:2000])
        for q, grain, rows in ((Q_DAYS, "day", days(pg)), (Q_MONTHS, "month", months(pg))):
            status, answer = s.load(q)
            check(status == 200 and used(answer) and answer_rows(answer, grain) == rows,
                  f"the {grain} query reads a rollup with PostgreSQL's rows", f"{status} {used(answer)}")
        time.sleep(2)  # another worker round: nothing left to build
        partitions = [p for _, p in s.built("events.daily")]
        check(len(partitions) == 6 and len(set(partitions)) == 6,
              "each daily partition built once by the worker and the jobs together", str(sorted(partitions)))
    finally:
        s.stop()
        pg.psql("UPDATE knobs SET sleep_s = 0")


def main():
    pg = Cluster(WORK, "pg")
    pg.start()
    try:
        pg.psql("CREATE TABLE knobs (sleep_s float); INSERT INTO knobs VALUES (0); "
                "CREATE TABLE events (id int primary key, kind text, amount numeric, ts timestamp); "
                "INSERT INTO events SELECT i, (ARRAY['a','b','c'])[1 + i % 3], (i * 7) % 101, "
                "timestamp '2024-01-01' + (i * interval '151 seconds') FROM generate_series(1, 100000) i")
        write_model()
        for step in (killed_build, model_change, restart_during_refresh, two_workers, jobs_with_worker):
            started = time.time()
            step(pg)
            print(f"     ({step.__name__}: {time.time() - started:.1f} s)", flush=True)
            if failures:
                break
    finally:
        pg.destroy()
        if not failures:
            shutil.rmtree(WORK, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed; logs under {WORK}")
        sys.exit(1)
    print("pre-aggregation faults: all checks passed")


if __name__ == "__main__":
    main()
