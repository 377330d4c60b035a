#!/usr/bin/env python3
"""Fault tests of `cubec serve --db redshift://...` (the PostgreSQL client with Redshift's SQL) on
the Redshift stand-in: a PostgreSQL cluster of the script's own whose database reads strings as
Redshift does (`standard_conforming_strings = off`), while requests flow.

    python3 scripts/redshift_serve.py CUBEC_BINARY

Runs scripts/engine_faults.py's four faults: every process of the cluster frozen (SIGSTOP) past
the query timeout, cubec's backends terminated from the server's side, the cluster stopped
(immediate) and started again, a table dropped. No Redshift cluster is reachable from here: what
this proves is the client's and the server's side of those faults through a `redshift://` URL.

Exits 1 on a failed check, printing the server log.
"""
import os, signal, subprocess, sys, tempfile

import engine_faults
from serve_helpers import Cluster
from warehouse_serve import failures


class Postmaster:
    """The cluster's processes as one, for SIGSTOP/SIGCONT: the postmaster and every backend
    (freezing the postmaster alone would leave open connections answering)."""

    def __init__(self, data):
        self.data = data

    def send_signal(self, sig):
        pid = int(open(os.path.join(self.data, "postmaster.pid")).readline())
        children = subprocess.run(["pgrep", "-P", str(pid)], stdout=subprocess.PIPE, text=True).stdout.split()
        for p in [pid, *map(int, children)]:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass


class RedshiftStandin:
    name = "redshift"

    def __init__(self, work):
        self.cluster = Cluster(work, "standin")
        self.cluster.start()
        self.cluster.psql("CREATE DATABASE demo")
        self.cluster.psql("ALTER DATABASE demo SET standard_conforming_strings = off")
        self.cluster.psql("ALTER DATABASE demo SET escape_string_warning = off")
        self.proc = Postmaster(os.path.join(self.cluster.dir, "data"))

    def url(self):
        return f"redshift://cubec@127.0.0.1:{self.cluster.port}/demo?sslmode=disable"

    def start(self):
        self.cluster.start()

    def kill(self):
        try:
            self.proc.send_signal(signal.SIGCONT)
            self.cluster.stop("immediate")
        except Exception:  # noqa: BLE001 - already stopped
            pass

    def kill_connections(self):
        return self.cluster.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'demo' "
                                 "AND pid <> pg_backend_pid()").stdout.split()

    def drop(self, table):
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.cluster.port), "-U", "cubec", "-d", "demo", "-Atc",
                        f"DROP TABLE {table}"], check=True, stdout=subprocess.DEVNULL)


def main():
    work = tempfile.mkdtemp(prefix="cubec-redshift-serve.")
    os.chmod(work, 0o755)  # the postgres user must reach its cluster folder inside
    engine_faults.run(RedshiftStandin(work), work)
    if failures:
        sys.exit(f"{len(failures)} check(s) failed")
    print("all Redshift (stand-in) serve checks passed")


if __name__ == "__main__":
    main()
