#!/usr/bin/env python3
"""A ClickHouse HTTP interface in front of chDB (PyPI's chdb-core: the ClickHouse 26.x engine
in-process), for tests. No current ClickHouse server is packaged for this machine (Debian's is
from 2018 and predates DateTime64), so the SQL runs on the real engine and only this front is ours.

What it speaks, as ClickHouse's HTTP interface does for cubec's client (src/exec/clickhouse.rs):
  GET /ping and GET /             -> "Ok.\n"
  POST /?database=..&session_id=..&query_id=..&default_format=..&param_pN=..&<setting>=..
      body: one SQL statement. Settings in the URL are applied with SET on the handle that runs
      it; `param_*` values, in ClickHouse's escaped (TSV) form, go to chDB as they came.
      `session_id`: one handle per session, so temporary tables live as long as the session.
      Errors answer 4xx/5xx with X-ClickHouse-Exception-Code and ClickHouse's message as text.
  KILL QUERY WHERE query_id = '<id>': stops the query sent with that query_id (chDB's KILL
      QUERY on system.processes; each query carries its id in the log_comment setting, since
      chDB takes no query_id of its own).

What it does not cover (real ClickHouse does): users, passwords beyond one optional shared one,
RBAC and quotas; HTTPS and compression; mid-stream exceptions (results are buffered, as with
wait_end_of_query=1); progress headers; sessions that expire; ClickHouse's exact HTTP status per
error code (approximated below).

Usage: python3 scripts/clickhouse_server.py PORT [--data DIR] [--password SECRET] [--database NAME]...
"""
import argparse
import re
import tempfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import chdb

# URL parameters that are not settings.
NOT_SETTINGS = {"query", "database", "session_id", "session_timeout", "session_check", "query_id",
                "default_format", "wait_end_of_query", "user", "password"}
KILL = re.compile(r"^\s*KILL\s+QUERY\s+WHERE\s+query_id\s*=\s*'([0-9A-Za-z-]+)'\s*(SYNC|ASYNC)?\s*$", re.I)
MARK = "cubec-test-front query_id="
# ClickHouse error codes and the HTTP status its server answers them with (approximately).
STATUS = {62: 400, 47: 400, 43: 400, 42: 400, 46: 400, 53: 400, 36: 400, 386: 400, 457: 400, 456: 400,
          60: 404, 81: 404, 516: 401, 159: 500, 394: 500}


class Engine:
    def __init__(self, path):
        self.path = path
        self.sessions = {}
        self.lock = threading.Lock()
        self.local = threading.local()

    def handle(self, session):
        """The session's handle (with the lock that keeps it to one query at a time), or this
        thread's own for requests without a session."""
        if not session:
            if not hasattr(self.local, "conn"):
                self.local.conn = (chdb.connect(self.path), threading.Lock())
            return self.local.conn
        with self.lock:
            if session not in self.sessions:
                self.sessions[session] = (chdb.connect(self.path), threading.Lock())
            return self.sessions[session]


def setting_literal(value):
    return value if re.fullmatch(r"-?\d+(\.\d+)?", value) else "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Type", "text/plain; charset=UTF-8" if status != 200 else "application/json")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path in ("/", "/ping"):
            self.reply(200, "Ok.\n")
        else:
            self.reply(404, "There is no handle " + path + "\n")

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        args = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
        sql = (args.get("query", "") + "\n" + body).strip() if "query" in args else body
        password = self.server.password
        given = self.headers.get("X-ClickHouse-Key") or args.get("password") or ""
        if password is not None and given != password:
            user = self.headers.get("X-ClickHouse-User") or args.get("user") or "default"
            return self.fail(f"Code: 516. DB::Exception: {user}: Authentication failed: password is incorrect, "
                             "or there is no user with such name. (AUTHENTICATION_FAILED)")
        kill = KILL.match(sql)
        if kill:
            sql = f"KILL QUERY WHERE Settings['log_comment'] = '{MARK}{kill.group(1)}' ASYNC"
        # chDB takes no query_id: the query carries it as its log_comment, which system.processes shows.
        args["log_comment"] = MARK + args.get("query_id", "")
        # Values stay in the escaped form they arrive in: chDB parses them as the server does.
        params = {k[len("param_"):]: v for k, v in args.items() if k.startswith("param_")}
        conn, lock = self.server.engine.handle(args.get("session_id"))
        with lock:
            try:
                for name, value in args.items():
                    if name not in NOT_SETTINGS and not name.startswith("param_"):
                        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                            return self.fail(f"Code: 115. DB::Exception: Unknown setting '{name}'. (UNKNOWN_SETTING)")
                        conn.query(f"SET {name} = {setting_literal(value)}")
                conn.query(f"USE `{args.get('database') or 'default'}`")
                fmt = args.get("default_format", "TabSeparated")
                result = conn.query(sql, fmt, params=params) if params else conn.query(sql, fmt)
                data = result.bytes() if hasattr(result, "bytes") else bytes(result or b"")
            except Exception as e:  # noqa: BLE001 - every engine error is an HTTP error answer
                return self.fail(str(e))
        self.reply(200, data or b"")

    def fail(self, message):
        m = re.search(r"Code: (\d+)\.", message)
        code = int(m.group(1)) if m else 1002
        self.reply(STATUS.get(code, 500), message.strip() + "\n", [("X-ClickHouse-Exception-Code", str(code))])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("--data", help="the data directory (kept across restarts); a new temporary one without")
    p.add_argument("--password", help="the password every request must carry (any user name)")
    p.add_argument("--database", action="append", default=[], help="a database to create at start")
    a = p.parse_args()
    engine = Engine(a.data or tempfile.mkdtemp(prefix="cubec-clickhouse-"))
    setup = chdb.connect(engine.path)
    for name in a.database:
        setup.query(f"CREATE DATABASE IF NOT EXISTS `{name}`")
    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    server.daemon_threads = True
    server.engine, server.password = engine, a.password
    print(f"clickhouse front (chDB {chdb.__version__}) on 127.0.0.1:{a.port}, data in {engine.path}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
