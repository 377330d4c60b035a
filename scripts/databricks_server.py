#!/usr/bin/env python3
"""The subset of Databricks' SQL Statement Execution API (2.0) that cubec's client uses, in front
of a local Spark engine (PyPI's pyspark on the JDK), for tests: no Databricks workspace is
reachable from here, so the SQL runs on Spark's engine, which Databricks SQL warehouses run, and
only this front is ours.

  POST /api/2.0/sql/statements                 statement, warehouse_id, catalog, schema,
                                               parameters [{name, value}], wait_timeout,
                                               on_wait_timeout; INLINE JSON_ARRAY results only
  GET  /api/2.0/sql/statements/{id}            status, manifest, first chunk
  GET  /api/2.0/sql/statements/{id}/result/chunks/{n}
  POST /api/2.0/sql/statements/{id}/cancel
  GET  /api/2.0/sql/warehouses/{id}            {"id", "state": "RUNNING"}

Bearer token auth (one token, given with --token), named parameters bound by Spark itself
(`spark.sql(text, args)`, values as strings), results in chunks of --chunk-rows rows, a
statement cancelled through its Spark job group. A statement runs in a session of its own with
the request's schema as the current database, as a Databricks statement is sessionless.

What it does not cover (Databricks does): OAuth and other credentials, EXTERNAL_LINKS and
ARROW_STREAM results, byte limits, row_limit, Unity Catalog (the catalog field is ignored),
Delta (Spark's own parquet tables here: `CREATE OR REPLACE TABLE` is run as DROP then CREATE,
which Delta does atomically), warehouse start-up, rate limits, statements kept past the run.

Usage: python3 scripts/databricks_server.py PORT --token TOKEN [--warehouse ID] [--chunk-rows N]
                                            [--data DIR] [--schema NAME]...
"""
import argparse
import datetime
import decimal
import json
import os
import re
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ["TZ"] = "UTC"  # pyspark turns TIMESTAMP values into the process's local time

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import types as T  # noqa: E402

TYPE_NAMES = [(T.StringType, "STRING"), (T.IntegerType, "INT"), (T.LongType, "LONG"), (T.ShortType, "SHORT"),
              (T.ByteType, "BYTE"), (T.DoubleType, "DOUBLE"), (T.FloatType, "FLOAT"), (T.DecimalType, "DECIMAL"),
              (T.BooleanType, "BOOLEAN"), (T.TimestampNTZType, "TIMESTAMP_NTZ"), (T.TimestampType, "TIMESTAMP"),
              (T.DateType, "DATE"), (T.BinaryType, "BINARY"), (T.NullType, "NULL")]
REPLACE = re.compile(r"^\s*CREATE\s+OR\s+REPLACE\s+TABLE\s+([`\w.]+)", re.I)


def type_name(dt):
    for cls, name in TYPE_NAMES:
        if isinstance(dt, cls):
            return name
    return dt.typeName().upper()


def text(v):
    """A value as the JSON_ARRAY format writes it: every value a string (or null)."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime.datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return format(v, "f")
    if isinstance(v, float):
        return repr(v)
    return str(v)


class Statement:
    def __init__(self, sid):
        self.id, self.state, self.error, self.columns, self.rows = sid, "PENDING", None, [], []
        self.done = threading.Event()


class Api:
    def __init__(self, spark, chunk_rows):
        self.spark, self.chunk_rows = spark, chunk_rows
        self.statements, self.lock = {}, threading.Lock()

    def run(self, st, sql, schema, params):
        session = self.spark.newSession()
        sc = self.spark.sparkContext
        sc.setJobGroup(st.id, "cubec statement", interruptOnCancel=True)
        try:
            if schema:
                session.catalog.setCurrentDatabase(schema)
            m = REPLACE.match(sql)
            if m:
                session.sql(f"DROP TABLE IF EXISTS {m.group(1)}")
                sql = "CREATE TABLE" + sql[m.end(0) - len(m.group(1)) - 1:]
            df = session.sql(sql, args=params or None)
            st.columns = [{"name": f.name, "type_name": type_name(f.dataType), "type_text": f.dataType.simpleString(),
                           "position": i} for i, f in enumerate(df.schema.fields)]
            st.rows = [[text(v) for v in r] for r in df.collect()]
            st.state = "SUCCEEDED" if st.state != "CANCELED" else "CANCELED"
        except Exception as e:  # noqa: BLE001 - any engine error fails the statement
            if st.state != "CANCELED":
                st.state = "FAILED"
                message = str(e).strip().splitlines()[0][:2000] if str(e).strip() else type(e).__name__
                st.error = {"error_code": "BAD_REQUEST", "message": message}
        finally:
            sc.setJobGroup(None, None)
            st.done.set()

    def body(self, st):
        out = {"statement_id": st.id, "status": {"state": st.state}}
        if st.error:
            out["status"]["error"] = st.error
        if st.state == "SUCCEEDED":
            chunks = max(1, -(-len(st.rows) // self.chunk_rows))
            out["manifest"] = {"format": "JSON_ARRAY", "schema": {"column_count": len(st.columns),
                                                                  "columns": st.columns},
                               "total_chunk_count": chunks, "total_row_count": len(st.rows), "truncated": False}
            out["result"] = self.chunk(st, 0)
        return out

    def chunk(self, st, n):
        rows = st.rows[n * self.chunk_rows:(n + 1) * self.chunk_rows]
        out = {"chunk_index": n, "row_offset": n * self.chunk_rows, "row_count": len(rows)}
        if rows:
            out["data_array"] = rows
        if (n + 1) * self.chunk_rows < len(st.rows):
            out["next_chunk_index"] = n + 1
            out["next_chunk_internal_link"] = f"/api/2.0/sql/statements/{st.id}/result/chunks/{n + 1}"
        return out


def seconds(wait):
    m = re.fullmatch(r"(\d+)s", wait or "10s")
    return int(m.group(1)) if m else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        if self.headers.get("Authorization") == f"Bearer {self.server.token}":
            return True
        self.reply(401, {"error_code": "UNAUTHENTICATED", "message": "Invalid access token."})
        return False

    def statement(self, sid):
        st = self.server.api.statements.get(sid)
        if st is None:
            self.reply(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Statement {sid} not found."})
        return st

    def do_GET(self):
        if not self.authorized():
            return
        parts = self.path.split("?")[0].strip("/").split("/")
        api = self.server.api
        if parts[:4] == ["api", "2.0", "sql", "warehouses"] and len(parts) == 5:
            if parts[4] != self.server.warehouse:
                return self.reply(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "No such warehouse."})
            return self.reply(200, {"id": parts[4], "state": "RUNNING"})
        if parts[:4] == ["api", "2.0", "sql", "statements"] and len(parts) == 5:
            st = self.statement(parts[4])
            return st and self.reply(200, api.body(st))
        if parts[:4] == ["api", "2.0", "sql", "statements"] and len(parts) == 8 and parts[5:7] == ["result", "chunks"]:
            st = self.statement(parts[4])
            if st and st.state == "SUCCEEDED" and parts[7].isdigit():
                return self.reply(200, api.chunk(st, int(parts[7])))
            return st and self.reply(400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "No such chunk."})
        self.reply(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": self.path})

    def do_POST(self):
        if not self.authorized():
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            req = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self.reply(400, {"error_code": "MALFORMED_REQUEST", "message": "The body is not JSON."})
        parts = self.path.split("?")[0].strip("/").split("/")
        api = self.server.api
        if parts == ["api", "2.0", "sql", "statements"]:
            if req.get("warehouse_id") != self.server.warehouse:
                return self.reply(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "No such warehouse."})
            if req.get("disposition", "INLINE") != "INLINE" or req.get("format", "JSON_ARRAY") != "JSON_ARRAY":
                return self.reply(400, {"error_code": "INVALID_PARAMETER_VALUE",
                                        "message": "This front serves INLINE JSON_ARRAY results only."})
            wait = seconds(req.get("wait_timeout"))
            if wait is None or not (wait == 0 or 5 <= wait <= 50):
                return self.reply(400, {"error_code": "INVALID_PARAMETER_VALUE",
                                        "message": "wait_timeout must be 0s or between 5s and 50s."})
            params = {p["name"]: p.get("value") for p in req.get("parameters") or []}
            st = Statement(str(uuid.uuid4()))
            with api.lock:
                api.statements[st.id] = st
            st.state = "RUNNING"
            threading.Thread(target=api.run, args=(st, req.get("statement", ""), req.get("schema"), params),
                             daemon=True).start()
            st.done.wait(wait)
            if not st.done.is_set() and req.get("on_wait_timeout") == "CANCEL":
                st.state = "CANCELED"
                self.server.api.spark.sparkContext.cancelJobGroup(st.id)
            return self.reply(200, api.body(st))
        if parts[:4] == ["api", "2.0", "sql", "statements"] and len(parts) == 6 and parts[5] == "cancel":
            st = self.statement(parts[4])
            if st:
                if not st.done.is_set():
                    st.state = "CANCELED"
                    api.spark.sparkContext.cancelJobGroup(st.id)
                self.reply(200, {})
            return
        self.reply(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": self.path})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("--token", required=True)
    p.add_argument("--warehouse", default="cubec-test")
    p.add_argument("--chunk-rows", type=int, default=1000)
    p.add_argument("--data", help="keep tables here across restarts (a Derby metastore); in memory without")
    p.add_argument("--schema", action="append", default=[], help="a schema to create at start")
    a = p.parse_args()
    builder = (SparkSession.builder.master("local[2]").appName("cubec-databricks-front")
               .config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2").config("spark.driver.host", "127.0.0.1")
               .config("spark.driver.bindAddress", "127.0.0.1").config("spark.sql.ansi.enabled", "true"))
    if a.data:
        os.makedirs(a.data, exist_ok=True)
        builder = (builder.enableHiveSupport().config("spark.sql.warehouse.dir", os.path.join(a.data, "warehouse"))
                   .config("javax.jdo.option.ConnectionURL",
                           f"jdbc:derby:;databaseName={os.path.join(a.data, 'metastore_db')};create=true")
                   # Derby writes its derby.log in its home: the data folder, not the working directory.
                   .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={a.data}"))
    else:
        builder = builder.config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="cubec-spark-warehouse-"))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    for name in a.schema:
        spark.sql(f"CREATE SCHEMA IF NOT EXISTS `{name}`")
    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    server.daemon_threads = True
    server.api, server.token, server.warehouse = Api(spark, a.chunk_rows), a.token, a.warehouse
    print(f"databricks front (Spark {spark.version}) on 127.0.0.1:{a.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
