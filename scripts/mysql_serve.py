#!/usr/bin/env python3
"""Fault tests of `cubec serve` on MySQL (a MariaDB server of the script's own), while requests flow.

    python3 scripts/mysql_serve.py CUBEC_BINARY

Starts mariadbd on a free port with its own data folder, copies the KPI library's demo data into
it (`cubec load-data`), starts `cubec serve --db mysql://...` with a 3 s query timeout and runs
scripts/engine_faults.py's four faults: the server frozen past the timeout, cubec's connections
KILLed from the server's side, the server SIGKILLed and restarted, a table dropped.

Exits 1 on a failed check, printing the server log.
"""
import subprocess, sys, tempfile

import engine_faults
from serve_helpers import free_port, wait_until
from warehouse_serve import failures


class MariaDb:
    """A mariadbd on 127.0.0.1 with a data folder of its own; root over its socket."""

    name = "mysql"

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
        ping = ["mariadb-admin", "--no-defaults", f"--socket={self.dir}/sock", "-uroot", "ping"]
        wait_until(lambda: subprocess.run(ping, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0,
                   60, "mariadbd", f"{self.dir}/err.log")

    def root(self, sql):
        return subprocess.run(["mariadb", "--no-defaults", f"--socket={self.dir}/sock", "-uroot", "-N", "-e", sql],
                              check=True, stdout=subprocess.PIPE, text=True).stdout

    def url(self):
        return f"mysql://cubec:cubec@127.0.0.1:{self.port}/demo?ssl-mode=disabled"

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def kill_connections(self):
        ids = self.root("SELECT id FROM information_schema.processlist WHERE user = 'cubec'").split()
        for i in ids:
            subprocess.run(["mariadb", "--no-defaults", f"--socket={self.dir}/sock", "-uroot", "-e", f"KILL {i}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return ids

    def drop(self, table):
        self.root(f"DROP TABLE demo.{table}")


def main():
    work = tempfile.mkdtemp(prefix="cubec-mysql-serve.")
    engine_faults.run(MariaDb(work), work)
    if failures:
        sys.exit(f"{len(failures)} check(s) failed")
    print("all MySQL serve checks passed")


if __name__ == "__main__":
    main()
