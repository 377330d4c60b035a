#!/usr/bin/env python3
"""Fault tests of `cubec serve` against a PostgreSQL cluster of their own, under load.

    python3 scripts/fault_serve.py CUBEC_BINARY

Starts PostgreSQL (Debian's binaries, as the `postgres` user when run as root), copies the KPI
library's demo data into it, starts `cubec serve` against it and sends a steady stream of
/v1/load requests from four threads while it:

  1. restarts PostgreSQL (pg_ctl restart);
  2. kills the server's backends (pg_terminate_backend);
  3. stops PostgreSQL for 10 s and starts it again;
  4. starts cubec while PostgreSQL is down.

Every answer must be 200, or 503 while the database is away; none may take longer than the
query timeout (plus a second); after the database is back, requests must succeed again within
a few seconds; /readyz must follow the database; the server must never panic. Then TLS: a
second cluster with ssl=on and a self-signed certificate accepts only `hostssl`; cubec connects
with sslmode=require and with verify-full + sslrootcert, and refuses a wrong root with a clear
message. Exits 1 on the first failed check, printing the server log.
"""
import json, os, shutil, subprocess, sys, tempfile, threading, time
import urllib.error, urllib.request

from serve_helpers import Cluster as _Cluster, LoggedProcess, free_port, token

BIN = os.path.abspath(sys.argv[1])
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = "fault-secret"
TIMEOUT = 5.0
WORK = tempfile.mkdtemp(prefix="cubec-fault.")
os.chmod(WORK, 0o755)  # the postgres user must reach its cluster folder inside


def Cluster(name, ssl=False):
    return _Cluster(WORK, name, ssl)
failures = []


def check(ok, what, detail=""):
    print(("ok   " if ok else "FAIL ") + what + (f"\n     {detail}" if detail and not ok else ""), flush=True)
    if not ok:
        failures.append(what)


AUTH = token(SECRET, {"sub": "fault"})
QUERY = json.dumps({"measures": ["users.count"], "dimensions": ["users.acquisition_channel"]})


class Server(LoggedProcess):
    def __init__(self, db_url):
        self.port = free_port()
        env = dict(os.environ, CUBEC_API_SECRET=SECRET)
        super().__init__([BIN, "serve", "--model", "metrics", "--db", db_url, "--port", str(self.port),
                          "--query-timeout", str(TIMEOUT), "--watch-interval", "0",
                          # The database path under faults: no cached answers, no Continue wait.
                          "--cache-size", "0", "--continue-wait", "0"],
                         open(os.path.join(WORK, f"serve-{self.port}.log"), "w+"), cwd=ROOT, env=env)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.base + "/livez", timeout=1)
                return
            except Exception:
                time.sleep(0.1)
        raise SystemExit("cubec serve did not start:\n" + self.text())

    def get(self, path, auth=AUTH):
        req = urllib.request.Request(self.base + path, headers={"Authorization": auth} if auth else {})
        started = time.time()
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT + 5) as r:
                return r.status, time.time() - started
        except urllib.error.HTTPError as e:
            return e.code, time.time() - started
        except Exception:
            return -1, time.time() - started

    def load(self):
        return self.get("/cubejs-api/v1/load?query=" + urllib.request.quote(QUERY))



class Load:
    """Four threads sending /v1/load; every answer is recorded with its time."""

    def __init__(self, server):
        self.server, self.results, self.stop_flag = server, [], False
        self.threads = [threading.Thread(target=self.work, daemon=True) for _ in range(4)]
        for t in self.threads:
            t.start()

    def work(self):
        while not self.stop_flag:
            status, took = self.server.load()
            self.results.append((time.time(), status, took))
            time.sleep(0.02)

    def finish(self):
        self.stop_flag = True
        for t in self.threads:
            t.join(TIMEOUT + 10)
        return self.results


def wait_ok(server, within, what):
    deadline = time.time() + within
    while time.time() < deadline:
        if server.load()[0] == 200:
            return time.time()
        time.sleep(0.1)
    check(False, what, f"no 200 within {within} s")
    return None


def judge(name, results, back_at, recover_within):
    statuses = sorted({s for _, s, _ in results})
    check(set(statuses) <= {200, 503}, f"{name}: only 200 and 503 answers", f"statuses {statuses}")
    slow = max((took for _, _, took in results), default=0)
    check(slow <= TIMEOUT + 1.5, f"{name}: no request took longer than the timeout ({slow:.2f} s)")
    late = [s for t, s, _ in results if back_at and t > back_at + recover_within]
    check(late and all(s == 200 for s in late), f"{name}: all {len(late)} requests {recover_within} s after the "
          f"database was back succeeded", f"{[s for s in late if s != 200][:5]}")
    count = lambda code: sum(1 for _, s, _ in results if s == code)
    print(f"     {name}: {count(200)} x 200, {count(503)} x 503")


def main():
    pg = Cluster("pg")
    pg.start()
    subprocess.run([BIN, "load-data", "--model", "metrics", "--db", pg.url()], cwd=ROOT, check=True, capture_output=True)
    server = Server(pg.url())
    try:
        check(server.get("/readyz", None)[0] == 200, "readyz is 200 with the database up")
        check(server.load()[0] == 200, "a load succeeds before any fault")

        # 1. Restart PostgreSQL under load.
        load = Load(server)
        time.sleep(1)
        pg.restart()
        back = time.time()
        time.sleep(6)
        judge("restart", load.finish(), back, 3)

        # 2. Kill the server's backends.
        load = Load(server)
        time.sleep(1)
        pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                "AND datname = 'postgres' AND backend_type = 'client backend'")
        back = time.time()
        time.sleep(5)
        judge("pg_terminate_backend", load.finish(), back, 3)

        # 3. PostgreSQL away for 10 s.
        load = Load(server)
        time.sleep(1)
        pg.stop()
        time.sleep(2)
        ready_down = server.get("/readyz", None)[0]
        check(ready_down == 503, "readyz is 503 while the database is down", f"got {ready_down}")
        time.sleep(8)
        pg.start()
        back = time.time()
        ok_at = wait_ok(server, 10, "recovery after 10 s away")
        time.sleep(5)
        results = load.finish()
        judge("10 s outage", results, back, 4)
        away = [s for t, s, _ in results if back - 7 < t < back - 1]
        check(away and all(s == 503 for s in away), "while the database was away every answer was 503",
              f"{sorted(set(away))}")
        if ok_at:
            print(f"     first 200 {ok_at - back:.2f} s after PostgreSQL was back")
        check(server.get("/readyz", None)[0] == 200, "readyz is 200 again")
    finally:
        server.stop()
    check("panicked" not in server.text(), "the server never panicked", server.text()[-2000:])

    # 4. cubec starts while PostgreSQL is down.
    pg.stop()
    server = Server(pg.url())
    try:
        check(server.get("/readyz", None)[0] == 503, "started with the database down: readyz 503")
        check(server.load()[0] == 503, "started with the database down: load 503")
        pg.start()
        back = time.time()
        ok_at = wait_ok(server, 10, "a server started during an outage recovers")
        if ok_at:
            print(f"     first 200 {ok_at - back:.2f} s after PostgreSQL came up")
        check(server.get("/readyz", None)[0] == 200, "readyz follows the database up")
    finally:
        server.stop()
    check("panicked" not in server.text(), "the server started during an outage never panicked", server.text()[-2000:])
    pg.destroy()

    # TLS: a cluster that accepts only hostssl.
    tls = Cluster("pg_tls", ssl=True)
    tls.start()
    q = json.dumps({"measures": ["users.count"]})

    def cubec(command, url):
        args = ["load-data"] if command == "load-data" else ["query", "--query", q]
        return subprocess.run([BIN, *args, "--model", "metrics", "--db", url], cwd=ROOT, capture_output=True, text=True)

    r = cubec("load-data", tls.url(query="?sslmode=require"))
    check(r.returncode == 0, "sslmode=require connects (and loads the demo data)", r.stderr[-500:])
    r = cubec("query", tls.url("localhost", f"?sslmode=verify-full&sslrootcert={WORK}/ca.pem"))
    check(r.returncode == 0, "sslmode=verify-full with the right root answers a query", r.stderr[-500:])
    r = cubec("query", tls.url("localhost", f"?sslmode=verify-full&sslrootcert={WORK}/other.pem"))
    check(r.returncode != 0 and ("certificate" in r.stderr.lower() or "unknownissuer" in r.stderr.lower()),
          "verify-full with the wrong root is refused, naming the certificate", r.stderr[-500:])
    r = cubec("query", tls.url(query="?sslmode=disable"))
    check(r.returncode != 0, "sslmode=disable is refused by a hostssl-only server", r.stderr[-300:])
    tls.destroy()


try:
    main()
finally:
    shutil.rmtree(WORK, ignore_errors=True)
print("\nall fault checks passed" if not failures else f"\n{len(failures)} fault check(s) failed")
sys.exit(1 if failures else 0)
