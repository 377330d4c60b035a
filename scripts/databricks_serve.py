#!/usr/bin/env python3
"""Fault tests of `cubec serve` on Databricks (the SQL Statement Execution API front of
scripts/databricks_server.py over a local Spark, one of the script's own), while requests flow.

    python3 scripts/databricks_serve.py CUBEC_BINARY SPARK_PYTHON

SPARK_PYTHON is a Python with pyspark installed. Starts the front on a free port with its tables
kept in a folder of its own (a Derby metastore, so they outlive a restart), copies the KPI
library's demo data into it (`cubec load-data`), starts `cubec serve --db databricks://...` with
a 3 s query timeout and runs scripts/engine_faults.py's faults: the front frozen past the timeout,
SIGKILLed and restarted on the same tables, a table dropped. (The API is sessionless: there are
no connections to kill from the server's side.)

Exits 1 on a failed check, printing the server log.
"""
import json, os, subprocess, sys, tempfile, time, urllib.request

import engine_faults
from serve_helpers import free_port, wait_until
from warehouse_serve import ROOT, failures

PYTHON = sys.argv[2] if len(sys.argv) > 2 else sys.exit(__doc__)
TOKEN = "dapi-cubec-faults"


class DatabricksFront:
    name = "databricks"

    def __init__(self, work):
        self.dir, self.port, self.proc = work, free_port(), None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.dir, "front.log"), "a")
        self.proc = subprocess.Popen([PYTHON, os.path.join(ROOT, "scripts/databricks_server.py"), str(self.port),
                                      "--token", TOKEN, "--data", os.path.join(self.dir, "spark"), "--schema", "demo"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/2.0/sql/warehouses/cubec-test",
                                     headers={"Authorization": f"Bearer {TOKEN}"})
        wait_until(lambda: urllib.request.urlopen(req, timeout=1).read(), 180, "the Databricks front",
                   os.path.join(self.dir, "front.log"))

    def url(self):
        return f"databricks://token:{TOKEN}@127.0.0.1/cubec-test?protocol=http&port={self.port}&schema=demo"

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        time.sleep(1)  # the JVM leaves when its Python driver's pipe closes

    def kill_connections(self):
        return None

    def drop(self, table):
        body = json.dumps({"statement": f"DROP TABLE demo.{table}", "warehouse_id": "cubec-test",
                           "wait_timeout": "30s"}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/2.0/sql/statements", data=body,
                                     headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        state = json.loads(urllib.request.urlopen(req, timeout=60).read())["status"]["state"]
        if state != "SUCCEEDED":
            sys.exit(f"DROP TABLE demo.{table}: {state}")


def main():
    work = tempfile.mkdtemp(prefix="cubec-databricks-serve.")
    engine_faults.run(DatabricksFront(work), work)
    if failures:
        sys.exit(f"{len(failures)} check(s) failed")
    print("all Databricks serve checks passed")


if __name__ == "__main__":
    main()
