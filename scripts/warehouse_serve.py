#!/usr/bin/env python3
"""Fault tests of `cubec serve` on the Snowflake and BigQuery emulators, while requests flow.

    python3 scripts/warehouse_serve.py CUBEC_BINARY SNOWFLAKE_PYTHON BIGQUERY_PYTHON

For each warehouse, starts its emulator (scripts/emulators.py) on a port of its own, copies the
KPI library's demo data into it (`cubec load-data`), starts `cubec serve --db <emulator>` and
sends /v1/load requests from two threads while it:

  1. freezes the emulator (SIGSTOP: connections open, nothing answers) for longer than the
     query timeout: answers must be 504 (timeout) or 503, never later than the timeout plus a
     second, and 200 again soon after SIGCONT;
  2. kills the emulator: answers must be 503 (unavailable) and /readyz 503;
  3. starts a fresh emulator on the same port (its data is gone): a query on a missing table is
     the warehouse rejecting the statement, 400 with the warehouse's message; after
     `load-data` again, answers are 200 with DuckDB's rows (a Snowflake session the old
     emulator issued is unknown to the new one, so this also proves the client logs in again).

Every answer is one of those statuses; the server must never panic. Exits 1 on a failed check,
printing the server log.
"""
import json, os, signal, subprocess, sys, tempfile, threading, time
import urllib.error, urllib.request

from serve_helpers import free_port, token

BIN = os.path.abspath(sys.argv[1])
# scripts/mysql_serve.py imports the helpers below with the binary alone.
PYTHONS = dict(zip(("snowflake", "bigquery"), sys.argv[2:4]))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = "warehouse-secret"
TIMEOUT = 3.0
QUERY = json.load(open(os.path.join(ROOT, "metrics/queries/referral_kpis_by_channel.json")))
failures = []


def check(ok, what, detail=""):
    print(("ok   " if ok else "FAIL ") + what + (f"\n     {detail}" if detail and not ok else ""), flush=True)
    if not ok:
        failures.append(what)


def url_for(kind, port):
    if kind == "snowflake":
        return f"snowflake://cubec:emulator@emulator/demo/public?host=127.0.0.1&port={port}&protocol=http"
    return f"bigquery://cubec-test/demo?endpoint=http://127.0.0.1:{port}"


def wait_port(port, seconds=60):
    import socket
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def start_emulator(kind, port, log):
    p = subprocess.Popen([PYTHONS[kind], os.path.join(ROOT, "scripts/emulators.py"), kind, str(port)],
                         stdout=log, stderr=subprocess.STDOUT)
    if not wait_port(port):
        sys.exit(f"the {kind} emulator did not start")
    return p


def load_data(db):
    subprocess.run([BIN, "load-data", "--model", os.path.join(ROOT, "metrics"), "--db", db], check=True,
                   stdout=subprocess.DEVNULL)


def request(port, path, body=None):
    """(status, JSON body or text, seconds taken)."""
    headers = {"Authorization": token(SECRET, {"sub": "t"}), "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers)
    started = time.time()
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read().decode()
            status = r.status
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        status = e.code
    except Exception as e:  # noqa: BLE001 - a dropped connection is a failure to report
        return 0, str(e), time.time() - started
    try:
        return status, json.loads(text), time.time() - started
    except ValueError:
        return status, text, time.time() - started


class Load:
    """Two threads sending /v1/load; records (time, status, seconds)."""

    def __init__(self, port):
        self.port, self.stop, self.answers = port, False, []
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(2)]
        for t in self.threads:
            t.start()

    def run(self):
        while not self.stop:
            status, _, took = request(self.port, "/cubejs-api/v1/load", {"query": QUERY})
            self.answers.append((time.time(), status, took))
            time.sleep(0.05)

    def since(self, t):
        return [a for a in self.answers if a[0] >= t]

    def end(self):
        self.stop = True
        for t in self.threads:
            t.join(60)


def wait_for(port, want, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        status, body, _ = request(port, "/cubejs-api/v1/load", {"query": QUERY})
        if status == want:
            return True, body
        time.sleep(0.2)
    return False, body


def run(kind, work, expected):
    emu_port, port = free_port(), free_port()
    emu_log = open(os.path.join(work, f"{kind}-emulator.log"), "w")
    emulator = start_emulator(kind, emu_port, emu_log)
    db = url_for(kind, emu_port)
    load_data(db)
    serve_log = open(os.path.join(work, f"{kind}-serve.log"), "w")
    server = subprocess.Popen([BIN, "serve", "--model", os.path.join(ROOT, "metrics"), "--db", db, "--host", "127.0.0.1",
                               "--port", str(port), "--query-timeout", str(TIMEOUT),
                               # The warehouse path under faults: no cached answers, no Continue wait.
                               "--cache-size", "0", "--continue-wait", "0"],
                              env={**os.environ, "CUBEC_API_SECRET": SECRET}, stdout=serve_log, stderr=subprocess.STDOUT)
    try:
        ok, body = wait_for(port, 200, 30)
        check(ok, f"{kind}: /v1/load answers 200 through the emulator")
        rows = sorted(json.dumps(r, sort_keys=True) for r in body.get("data", [])) if ok else []
        check(rows == expected, f"{kind}: the rows are the embedded DuckDB's", f"{rows[:2]} vs {expected[:2]}")

        load = Load(port)
        time.sleep(1)
        frozen = time.time()
        emulator.send_signal(signal.SIGSTOP)
        time.sleep(TIMEOUT + 3)
        emulator.send_signal(signal.SIGCONT)
        thawed = time.time()
        time.sleep(TIMEOUT + 3)
        during = [a for a in load.since(frozen) if a[0] < thawed + TIMEOUT + 1]
        check(any(s in (503, 504) for _, s, _ in during), f"{kind}: a frozen warehouse gives 504/503 answers",
              str(sorted({s for _, s, _ in during})))
        check(all(s in (200, 503, 504) for _, s, _ in during), f"{kind}: only 200/503/504 while frozen",
              str(sorted({s for _, s, _ in during})))
        slowest = max((took for _, _, took in during), default=0)
        # The timeout, then at most 0.5 s for the cancel and 0.5 s for the worker (CANCEL_GRACE).
        check(slowest <= TIMEOUT + 2.0, f"{kind}: no answer waits past the timeout ({slowest:.1f} s)")
        after = [s for t, s, _ in load.since(thawed + TIMEOUT + 1)]
        check(bool(after) and after[-1] == 200, f"{kind}: answers are 200 again after the thaw", str(after[-5:]))

        killed = time.time()
        emulator.kill()
        emulator.wait()
        time.sleep(TIMEOUT + 2)
        down = [s for t, s, _ in load.since(killed + 0.5)]
        check(bool(down) and all(s == 503 for s in down[-3:]), f"{kind}: a dead warehouse gives 503", str(down[-5:]))
        status, _, _ = request(port, "/readyz")
        check(status == 503, f"{kind}: /readyz is 503 while the warehouse is down", str(status))
        load.end()

        emulator = start_emulator(kind, emu_port, emu_log)
        ok, body = wait_for(port, 400, 30)
        check(ok, f"{kind}: a statement on a missing table is 400", str(body)[:300])
        check(ok and "error" in body and "cubec:emulator" not in json.dumps(body),
              f"{kind}: the 400 carries the warehouse's message and no credentials", str(body)[:300])
        load_data(db)
        ok, body = wait_for(port, 200, 30)
        rows = sorted(json.dumps(r, sort_keys=True) for r in body.get("data", [])) if ok else []
        check(ok and rows == expected, f"{kind}: 200 with the same rows after the warehouse came back")
        status, _, _ = request(port, "/readyz")
        check(status == 200, f"{kind}: /readyz is 200 again", str(status))
        check(server.poll() is None, f"{kind}: the server is still running")
    finally:
        server.terminate()
        server.wait(10)
        emulator.kill()
        serve_log.close()
        log = open(os.path.join(work, f"{kind}-serve.log")).read()
        check("panicked" not in log, f"{kind}: the server never panicked")
        if failures:
            print(f"== {kind} server log:\n{log[-4000:]}")


def main():
    work = tempfile.mkdtemp(prefix="cubec-warehouse-serve.")
    out = subprocess.run([BIN, "query", "--model", os.path.join(ROOT, "metrics"), "--query",
                          os.path.join(ROOT, "metrics/queries/referral_kpis_by_channel.json"), "--format", "json"],
                         check=True, stdout=subprocess.PIPE).stdout
    expected = sorted(json.dumps(r, sort_keys=True) for r in json.loads(out)["data"])
    for kind in ("snowflake", "bigquery"):
        run(kind, work, expected)
    if failures:
        sys.exit(f"{len(failures)} check(s) failed")
    print("all warehouse serve checks passed")


if __name__ == "__main__":
    main()
