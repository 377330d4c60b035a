#!/usr/bin/env python3
"""Fault tests of `cubec serve` on ClickHouse (chDB's engine behind scripts/clickhouse_server.py,
a front of the script's own), while requests flow.

    python3 scripts/clickhouse_serve.py CUBEC_BINARY CHDB_PYTHON

CHDB_PYTHON is a Python with chdb-core installed. Starts the front on a free port with its own
data folder and a password, copies the KPI library's demo data into it (`cubec load-data`), starts
`cubec serve --db clickhouse://...` with a 3 s query timeout and runs scripts/engine_faults.py's
faults: the server frozen past the timeout, SIGKILLed and restarted on the same data, a table
dropped. (ClickHouse's HTTP interface holds no sessions for cubec's queries, so there are no
connections to kill from the server's side: a restart is what cuts them.)

Exits 1 on a failed check, printing the server log.
"""
import os, subprocess, sys, tempfile, urllib.request

import engine_faults
from serve_helpers import free_port, wait_until
from warehouse_serve import ROOT, failures

PYTHON = sys.argv[2] if len(sys.argv) > 2 else sys.exit(__doc__)


class ClickHouseFront:
    name = "clickhouse"

    def __init__(self, work):
        self.dir, self.port, self.proc = work, free_port(), None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.dir, "front.log"), "a")
        self.proc = subprocess.Popen([PYTHON, os.path.join(ROOT, "scripts/clickhouse_server.py"), str(self.port),
                                      "--data", os.path.join(self.dir, "data"), "--password", "cubec",
                                      "--database", "demo"], stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(lambda: urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ping", timeout=1).read(), 60,
                   "the ClickHouse front", os.path.join(self.dir, "front.log"))

    def url(self):
        return f"clickhouse://cubec:cubec@127.0.0.1:{self.port}/demo"

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def kill_connections(self):
        return None

    def drop(self, table):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/", data=f"DROP TABLE demo.{table}".encode(),
                                     headers={"X-ClickHouse-User": "cubec", "X-ClickHouse-Key": "cubec"})
        urllib.request.urlopen(req, timeout=30).read()


def main():
    work = tempfile.mkdtemp(prefix="cubec-clickhouse-serve.")
    engine_faults.run(ClickHouseFront(work), work)
    if failures:
        sys.exit(f"{len(failures)} check(s) failed")
    print("all ClickHouse serve checks passed")


if __name__ == "__main__":
    main()
