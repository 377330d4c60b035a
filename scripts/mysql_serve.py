#!/usr/bin/env python3
"""Fault tests of `cubec serve` on MySQL (a MariaDB server of the script's own), while requests flow.

    python3 scripts/mysql_serve.py CUBEC_BINARY

Starts mariadbd on a free port with its own data folder, copies the KPI library's demo data into
it (`cubec load-data`), starts `cubec serve --db mysql://...` with a 3 s query timeout and sends
/v1/load requests from two threads (scripts/warehouse_serve.py's helpers) while it:

  1. freezes the server (SIGSTOP) past the query timeout: answers are 504 or 503, none later than
     the timeout plus 2 s, and 200 again after SIGCONT;
  2. kills every connection cubec holds (KILL from the server's side): answers are 200 again at
     once, the pool drops the dead connections;
  3. restarts the server (SIGKILL, then a new mariadbd on the same folder and port): answers are
     503 while it is down, /readyz 503, then 200 with DuckDB's rows;
  4. drops a table the model reads: 400 with MySQL's message and no credentials, then 200 after
     `load-data`.

Exits 1 on a failed check, printing the server log.
"""
import json, os, shutil, signal, subprocess, sys, tempfile, time

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


class MariaDb:
    """A mariadbd on 127.0.0.1 with a data folder of its own; root over its socket."""

    def __init__(self, work):
        self.dir, self.port, self.proc = work, free_port(), None
        subprocess.run(["mariadb-install-db", "--no-defaults", "--user=root", f"--datadir={work}/data",
                        "--skip-test-db"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.start()
        self.root("CREATE DATABASE demo; CREATE USER 'cubec'@'127.0.0.1' IDENTIFIED BY 'cubec';"
                  " GRANT ALL ON *.* TO 'cubec'@'127.0.0.1';")

    def start(self):
        self.proc = subprocess.Popen(
            ["mariadbd", "--no-defaults", "--user=root", f"--datadir={self.dir}/data", f"--socket={self.dir}/sock",
             f"--pid-file={self.dir}/pid", f"--log-error={self.dir}/err.log", "--bind-address=127.0.0.1",
             f"--port={self.port}", "--skip-name-resolve", "--skip-log-bin", "--default-time-zone=+00:00",
             "--innodb-buffer-pool-size=32M", "--innodb-flush-log-at-trx-commit=0"])
        deadline = time.time() + 60
        while time.time() < deadline:
            if subprocess.run(["mariadb-admin", "--no-defaults", f"--socket={self.dir}/sock", "-uroot", "ping"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
                return
            time.sleep(0.3)
        sys.exit("mariadbd did not start:\n" + open(f"{self.dir}/err.log").read()[-2000:])

    def root(self, sql):
        return subprocess.run(["mariadb", "--no-defaults", f"--socket={self.dir}/sock", "-uroot", "-N", "-e", sql],
                              check=True, stdout=subprocess.PIPE, text=True).stdout

    def url(self):
        return f"mysql://cubec:cubec@127.0.0.1:{self.port}/demo?ssl-mode=disabled"

    def kill(self):
        self.proc.kill()
        self.proc.wait()


def main():
    work = tempfile.mkdtemp(prefix="cubec-mysql-serve.")
    out = subprocess.run([BIN, "query", "--model", os.path.join(ROOT, "metrics"), "--query", QUERY_FILE,
                          "--format", "json"], check=True, stdout=subprocess.PIPE).stdout
    expected = rows_of(json.loads(out))
    my = MariaDb(work)
    load_data(my.url())
    port = free_port()
    serve_log = open(os.path.join(work, "serve.log"), "w")
    server = subprocess.Popen([BIN, "serve", "--model", os.path.join(ROOT, "metrics"), "--db", my.url(), "--host",
                               "127.0.0.1", "--port", str(port), "--query-timeout", str(TIMEOUT),
                               "--cache-size", "0", "--continue-wait", "0"],
                              env={**os.environ, "CUBEC_API_SECRET": SECRET}, stdout=serve_log, stderr=subprocess.STDOUT)
    try:
        ok, body = wait_for(port, 200, 30)
        rows = rows_of(body) if ok else []
        check(ok and rows == expected, "mysql: /v1/load answers 200 with the embedded DuckDB's rows", str(body)[:300])

        load = Load(port)
        time.sleep(1)
        frozen = time.time()
        my.proc.send_signal(signal.SIGSTOP)
        time.sleep(TIMEOUT + 3)
        my.proc.send_signal(signal.SIGCONT)
        thawed = time.time()
        time.sleep(TIMEOUT + 3)
        during = [a for a in load.since(frozen) if a[0] < thawed + TIMEOUT + 1]
        statuses = str(sorted({s for _, s, _ in during}))
        check(any(s in (503, 504) for _, s, _ in during), "mysql: a frozen server gives 504/503 answers", statuses)
        check(all(s in (200, 503, 504) for _, s, _ in during), "mysql: only 200/503/504 while frozen", statuses)
        slowest = max((took for _, _, took in during), default=0)
        check(slowest <= TIMEOUT + 2.0, f"mysql: no answer waits past the timeout ({slowest:.1f} s)")
        after = [s for t, s, _ in load.since(thawed + TIMEOUT + 1)]
        check(bool(after) and after[-1] == 200, "mysql: answers are 200 again after the thaw", str(after[-5:]))

        ids = my.root("SELECT id FROM information_schema.processlist WHERE user = 'cubec'").split()
        killed = time.time()
        for i in ids:
            subprocess.run(["mariadb", "--no-defaults", f"--socket={my.dir}/sock", "-uroot", "-e", f"KILL {i}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)
        later = [s for t, s, _ in load.since(killed + 1)]
        check(bool(ids), f"mysql: cubec held connections to kill ({len(ids)})")
        check(bool(later) and all(s == 200 for s in later), "mysql: 200 right after its connections were killed",
              str(later[-5:]))

        down_at = time.time()
        my.kill()
        time.sleep(TIMEOUT + 2)
        down = [s for t, s, _ in load.since(down_at + 0.5)]
        check(bool(down) and all(s == 503 for s in down[-3:]), "mysql: a stopped server gives 503", str(down[-5:]))
        status, _, _ = request(port, "/readyz")
        check(status == 503, "mysql: /readyz is 503 while the server is down", str(status))
        my.start()
        ok, body = wait_for(port, 200, 30)
        rows = rows_of(body) if ok else []
        check(ok and rows == expected, "mysql: 200 with the same rows after the restart")
        load.end()

        my.root("DROP TABLE demo.referral_messages")
        ok, body = wait_for(port, 400, 30)
        check(ok and "referral_messages" in json.dumps(body) and "cubec:cubec" not in json.dumps(body),
              "mysql: a missing table is 400 with MySQL's message and no credentials", str(body)[:300])
        load_data(my.url())
        ok, _ = wait_for(port, 200, 30)
        check(ok, "mysql: 200 again after load-data")
        check(server.poll() is None, "mysql: the server is still running")
    finally:
        server.terminate()
        server.wait(10)
        my.kill()
        serve_log.close()
        log = open(os.path.join(work, "serve.log")).read()
        check("panicked" not in log, "mysql: the server never panicked")
        if failures:
            print(f"== server log:\n{log[-4000:]}")
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        sys.exit(f"{len(failures)} check(s) failed")
    print("all MySQL serve checks passed")


if __name__ == "__main__":
    main()
