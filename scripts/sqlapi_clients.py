#!/usr/bin/env python3
"""The SQL API with real PostgreSQL clients against a real `cubec serve` process.

    python scripts/sqlapi_clients.py CUBEC_BINARY DATABASE_URL

Run with a Python that has psycopg, SQLAlchemy and pandas (scripts/requirements-sqlapi.txt).
Starts `cubec serve --model metrics --db DATABASE_URL --sql-port P` and checks:
- psql: \\dt, \\d, \\l and a MEASURE() query;
- psycopg (text and binary results, server-side parameters, named prepared statements);
- SQLAlchemy's inspector and pandas.read_sql;
- node-pg (simple and prepared; tests/e2e/sqlapi_pg.mjs, after `npm ci` in tests/e2e);
- pgjdbc (Debian's libpostgresql-jdbc-java; tests/jdbc/SqlApiCheck.java), when installed;
- psqlODBC (Debian's odbc-postgresql with unixODBC, from pyodbc), what Tableau and Excel use over
  ODBC: SQLTables, SQLColumns, queries read through cursors (DECLARE ... WITH HOLD, FETCH, CLOSE,
  proved by the driver's own log) and server-side prepared statements with parameters;
- every MEASURE() query's rows equal /v1/load's rows for the same question;
- bad input under a small concurrent load: wrong passwords, unknown tables and columns,
  queries that cannot be rewritten, oversized statements, garbage bytes, clients that vanish
  mid-startup and mid-query, a refused __user switch: each gets a PostgreSQL error and the
  load's queries all succeed.
Exits non-zero on the first mismatch, printing the server log.
"""
import glob, json, os, shutil, socket, subprocess, sys, tempfile, threading, time, urllib.request
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_helpers import free_port, token  # noqa: E402

import psycopg  # noqa: E402
import pyodbc  # noqa: E402
import pandas  # noqa: E402
import sqlalchemy  # noqa: E402

BIN, DB_URL = sys.argv[1], sys.argv[2]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = tempfile.mkdtemp(prefix="cubec-sqlapi-")
SECRET = "sqlapi-" + os.urandom(8).hex()
PASSWORD, VIEWER_PASSWORD = "bi-" + os.urandom(6).hex(), "viewer-" + os.urandom(6).hex()
HTTP, SQL = free_port(), free_port()
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def log_and_exit():
    print("== server log (tail):")
    with open(os.path.join(WORK, "serve.log")) as f:
        print("".join(f.readlines()[-60:]))
    sys.exit(1)


subprocess.run([BIN, "load-data", "--model", "metrics", "--db", DB_URL], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
users = {"users": [
    {"name": "bi", "password": PASSWORD, "superuser": True},
    {"name": "viewer", "password": VIEWER_PASSWORD, "securityContext": {"team": "growth"}},
]}
with open(os.path.join(WORK, "users.json"), "w") as f:
    json.dump(users, f)
env = dict(os.environ, CUBEC_API_SECRET=SECRET, CUBEC_SQL_USERS=os.path.join(WORK, "users.json"))
# TLS for clients that ask (sslmode=require), with a throwaway self-signed certificate.
CERT, KEY = os.path.join(WORK, "server.crt"), os.path.join(WORK, "server.key")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", KEY, "-out", CERT, "-days", "1",
                "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)


def start(http, sql, *extra, log="serve.log"):
    proc = subprocess.Popen(
        [BIN, "serve", "--model", "metrics", "--db", DB_URL, "--host", "127.0.0.1", "--port", str(http), "--sql-port", str(sql), *extra],
        cwd=ROOT, env=env, stdout=open(os.path.join(WORK, log), "w"), stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{http}/readyz", timeout=1).status == 200:
                socket.create_connection(("127.0.0.1", sql), 1).close()
                return proc
        except Exception:
            time.sleep(0.1)
    print("cubec serve did not start"); log_and_exit()


server = start(HTTP, SQL, "--sql-tls-cert", CERT, "--sql-tls-key", KEY)
try:

    DSN = f"postgresql://bi:{PASSWORD}@127.0.0.1:{SQL}/cube"

    def rest(query):
        req = urllib.request.Request(
            f"http://127.0.0.1:{HTTP}/cubejs-api/v1/load", data=json.dumps({"query": query}).encode(),
            headers={"Content-Type": "application/json", "Authorization": token(SECRET, {})})
        return json.load(urllib.request.urlopen(req, timeout=60))["data"]

    def norm(v):
        """A value as /v1/load writes it."""
        if v is None:
            return None
        if isinstance(v, bool):
            return v
        if hasattr(v, "strftime"):
            return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}"
        if isinstance(v, (int, float, Decimal)):
            return Decimal(str(v))
        s = str(v)
        try:
            return Decimal(s)
        except Exception:
            return s

    def same_rows(sql_rows, rest_rows, keys):
        want = sorted([[norm(r.get(k)) for k in keys] for r in rest_rows], key=repr)
        got = sorted([[norm(v) for v in row] for row in sql_rows], key=repr)
        if len(want) != len(got):
            return False
        for a, b in zip(want, got):
            for x, y in zip(a, b):
                if isinstance(x, Decimal) and isinstance(y, Decimal):
                    if abs(x - y) > Decimal("1e-9") * max(abs(x), abs(y), Decimal(1)):
                        return False
                elif x != y:
                    return False
        return bool(want)

    # Each: SQL, parameters, the /v1/load query asking the same question, its members in SQL column order.
    QUESTIONS = [
        ("SELECT acquisition_channel, MEASURE(active_referrer_rate) FROM referral_kpis WHERE signed_up_at >= '2023-01-01' GROUP BY 1 ORDER BY 2 DESC", None,
         {"measures": ["referral_kpis.active_referrer_rate"], "dimensions": ["referral_kpis.acquisition_channel"],
          "filters": [{"member": "referral_kpis.signed_up_at", "operator": "afterOrOnDate", "values": ["2023-01-01"]}]},
         ["referral_kpis.acquisition_channel", "referral_kpis.active_referrer_rate"]),
        ("SELECT channel, MEASURE(count), MEASURE(conversions), MEASURE(referral_conversion_rate) FROM referrals WHERE channel = %s GROUP BY 1", ("email",),
         {"measures": ["referrals.count", "referrals.conversions", "referrals.referral_conversion_rate"], "dimensions": ["referrals.channel"],
          "filters": [{"member": "referrals.channel", "operator": "equals", "values": ["email"]}]},
         ["referrals.channel", "referrals.count", "referrals.conversions", "referrals.referral_conversion_rate"]),
        ("SELECT DATE_TRUNC('month', sent_at) AS m, MEASURE(count), MEASURE(count_prior_month) FROM referrals WHERE sent_at >= %s AND sent_at < %s GROUP BY 1", ("2024-01-01", "2024-07-01"),
         {"measures": ["referrals.count", "referrals.count_prior_month"],
          "timeDimensions": [{"dimension": "referrals.sent_at", "granularity": "month", "dateRange": ["2024-01-01", "2024-06-30"]}]},
         ["referrals.sent_at.month", "referrals.count", "referrals.count_prior_month"]),
        ("SELECT plan, COUNT(*), SUM(referrals_by_active_users) FROM users WHERE acquisition_channel IN ('paid', 'organic') GROUP BY 1", None,
         {"measures": ["users.count", "users.referrals_by_active_users"], "dimensions": ["users.plan"],
          "filters": [{"member": "users.acquisition_channel", "operator": "equals", "values": ["paid", "organic"]}]},
         ["users.plan", "users.count", "users.referrals_by_active_users"]),
        ("SELECT account_source, MEASURE(mrr) FROM revenue GROUP BY 1 HAVING MEASURE(mrr) > %s", (0,),
         {"measures": ["revenue.mrr"], "dimensions": ["revenue.account_source"],
          "filters": [{"member": "revenue.mrr", "operator": "gt", "values": ["0"]}]},
         ["revenue.account_source", "revenue.mrr"]),
        ("SELECT u.is_icp, MEASURE(r.count) FROM referrals r JOIN users u ON r.__cubeJoinField = u.__cubeJoinField GROUP BY 1", None,
         {"measures": ["referrals.count"], "dimensions": ["users.is_icp"]}, ["users.is_icp", "referrals.count"]),
    ]

    # --- psql ---
    if shutil.which("psql"):
        penv = dict(os.environ, PGPASSWORD=PASSWORD)
        def psql(*args):
            return subprocess.run(["psql", f"postgresql://bi@127.0.0.1:{SQL}/cube", "-X", "-v", "ON_ERROR_STOP=1", *args],
                                  env=penv, capture_output=True, text=True, timeout=60)
        r = psql("-c", "\\dt")
        check(r.returncode == 0 and "referral_kpis" in r.stdout and "| table |" in r.stdout, f"psql \\dt: {r.stdout[:300]} {r.stderr}")
        r = psql("-c", "\\d referral_kpis")
        check(r.returncode == 0 and "active_referrer_rate" in r.stdout and "timestamp without time zone" in r.stdout,
              f"psql \\d referral_kpis: {r.stdout[:300]} {r.stderr}")
        for command in ("\\d+ referral_kpis", "\\dn", "\\df"):
            r = psql("-c", command)
            check(r.returncode == 0, f"psql {command}: {r.stderr}")
        r = psql("-c", "\\l")
        check(r.returncode == 0 and "cube" in r.stdout, f"psql \\l: {r.stderr}")
        r = psql("-At", "-F", ",", "-c", QUESTIONS[0][0])
        rows = [line.split(",") for line in r.stdout.strip().splitlines()]
        check(r.returncode == 0 and same_rows(rows, rest(QUESTIONS[0][2]), QUESTIONS[0][3]), f"psql MEASURE rows: {r.stdout} {r.stderr}")
        print("== psql: \\dt, \\d, \\d+, \\dn, \\df, \\l and a MEASURE() query")
    else:
        check(False, "psql is not installed")

    # --- psycopg: text and binary, client- and server-side parameters, prepared ---
    with psycopg.connect(DSN, autocommit=True) as conn:
        for binary in (False, True):
            for sql, params, q, keys in QUESTIONS:
                with conn.cursor(binary=binary) as cur:
                    cur.execute(sql, params, prepare=bool(params))
                    check(same_rows(cur.fetchall(), rest(q), keys), f"psycopg (binary={binary}) rows differ from /v1/load: {sql}")
        with conn.cursor() as cur:
            cur.execute("SELECT DATE_TRUNC('month', signed_up_at) m, COUNT(*) FROM users GROUP BY 1 ORDER BY 1 LIMIT 1")
            types = [d.type_code for d in cur.description]
            check(types == [1114, 20], f"result types {types}")
        # Pipelining (what Npgsql does): several statements before one Sync; after an error the
        # server discards the rest up to the Sync, as PostgreSQL does, and the connection goes on.
        with conn.pipeline():
            cursors = [conn.execute(QUESTIONS[i][0], QUESTIONS[i][1]) for i in (0, 3, 4)]
        for i, cur in zip((0, 3, 4), cursors):
            check(same_rows(cur.fetchall(), rest(QUESTIONS[i][2]), QUESTIONS[i][3]), f"pipelined rows of {QUESTIONS[i][0]}")
        try:
            with conn.pipeline():
                conn.execute("SELECT nope FROM users")
                conn.execute("SELECT COUNT(*) FROM users")
            check(False, "a pipelined error was not reported")
        except psycopg.errors.UndefinedColumn:
            pass
        except psycopg.Error as e:
            check(False, f"a pipelined error: {e.sqlstate} {e!r}")
        check(conn.execute("SELECT COUNT(*) FROM users").fetchone()[0] > 0, "the connection after a pipelined error")
    print(f"== psycopg {psycopg.__version__}: {len(QUESTIONS)} questions x text/binary equal /v1/load's rows; pipelines")

    # --- SQLAlchemy inspector and pandas ---
    engine = sqlalchemy.create_engine(f"postgresql+psycopg://bi:{PASSWORD}@127.0.0.1:{SQL}/cube")
    insp = sqlalchemy.inspect(engine)
    tables = insp.get_table_names()
    check("referral_kpis" in tables and "users" in tables, f"inspector tables {tables}")
    cols = {c["name"]: str(c["type"]) for c in insp.get_columns("referral_kpis")}
    check(cols.get("active_referrer_rate") == "NUMERIC" and cols.get("signed_up_at") == "TIMESTAMP" and cols.get("acquisition_channel") == "TEXT",
          f"inspector columns {cols}")
    frame = pandas.read_sql(sqlalchemy.text(QUESTIONS[3][0]), engine)
    check(same_rows(frame.itertuples(index=False, name=None), rest(QUESTIONS[3][2]), QUESTIONS[3][3]), "pandas.read_sql rows")
    engine.dispose()
    print(f"== SQLAlchemy {sqlalchemy.__version__} inspector ({len(tables)} tables) and pandas {pandas.__version__}")

    # --- node-pg ---
    node_dir = os.path.join(ROOT, "tests", "e2e")
    if shutil.which("node") and os.path.isdir(os.path.join(node_dir, "node_modules", "pg")):
        r = subprocess.run(["node", os.path.join(node_dir, "sqlapi_pg.mjs"), str(SQL), PASSWORD], capture_output=True, text=True, timeout=120)
        if check(r.returncode == 0, f"node-pg: {r.stdout} {r.stderr}"):
            out = json.loads(r.stdout)
            q = QUESTIONS[1]
            check(same_rows(out["prepared"], rest(q[2]), q[3]), f"node-pg prepared rows {out['prepared']}")
            check(same_rows(out["simple"], rest(QUESTIONS[0][2]), QUESTIONS[0][3]), f"node-pg simple rows {out['simple']}")
            check(out["error"] == "42P01", f"node-pg error code {out['error']}")
            print("== node-pg: simple and prepared queries, an error, the connection kept")
    else:
        check(False, "node-pg is not installed (npm ci in tests/e2e)")

    # --- pgjdbc ---
    jar = "/usr/share/java/postgresql.jar"
    if os.path.exists(jar) and shutil.which("javac"):
        classes = os.path.join(WORK, "classes")
        os.makedirs(classes)
        subprocess.run(["javac", "-d", classes, os.path.join(ROOT, "tests", "jdbc", "SqlApiCheck.java")], check=True)
        r = subprocess.run(["java", "-cp", f"{classes}:{jar}", "SqlApiCheck", f"jdbc:postgresql://127.0.0.1:{SQL}/cube", "bi", PASSWORD],
                           capture_output=True, text=True, timeout=120)
        if check(r.returncode == 0, f"pgjdbc: {r.stdout} {r.stderr}"):
            out = json.loads(r.stdout)
            check("referral_kpis" in out["tables"], f"pgjdbc getTables {out['tables'][:5]}")
            check(out["columns"].get("active_referrer_rate") == "numeric", f"pgjdbc getColumns {out['columns']}")
            q = QUESTIONS[1]
            check(same_rows(out["prepared"], rest(q[2]), q[3]), f"pgjdbc prepared rows {out['prepared']}")
            print("== pgjdbc: getTables, getColumns, a prepared statement")
    else:
        check(False, "pgjdbc is not installed (Debian's libpostgresql-jdbc-java and a JDK)")

    # --- psqlODBC (Tableau, Excel and other ODBC clients), through pyodbc ---
    if "PostgreSQL Unicode" in pyodbc.drivers():
        # The driver's communication log (CommLog) goes to /tmp/psqlodbc_<program>_<user><pid>.log.
        base = (f"Driver={{PostgreSQL Unicode}};Servername=127.0.0.1;Port={SQL};Database=cube;Username=bi;"
                f"Password={PASSWORD};CommLog=1")
        # Cursors: the driver declares one per query and fetches 2 rows at a time.
        with pyodbc.connect(base + ";UseDeclareFetch=1;Fetch=2", autocommit=True) as conn:
            cur = conn.cursor()
            tables = [r.table_name for r in cur.tables(tableType="TABLE")]
            check("referral_kpis" in tables and "referrals" in tables, f"psqlODBC SQLTables: {tables[:5]}")
            columns = {r.column_name: r.type_name for r in cur.columns(table="referral_kpis")}
            check(columns.get("active_referrer_rate") == "numeric" and columns.get("signed_up_at") == "timestamp",
                  f"psqlODBC SQLColumns: {list(columns.items())[:6]}")
            for q in QUESTIONS:
                sql = q[0].replace("%s", "?")
                rows = cur.execute(sql, *q[1]).fetchall() if q[1] else cur.execute(sql).fetchall()
                check(same_rows([list(r) for r in rows], rest(q[2]), q[3]), f"psqlODBC rows differ from /v1/load: {sql}")
            # A pushdown statement (ROLLUP) read through the same cursors: its subtotal is the sum.
            rows = cur.execute("SELECT channel, MEASURE(count) * 2 AS twice FROM referrals GROUP BY ROLLUP (channel)").fetchall()
            by_channel = {r[0]: int(r[1]) for r in rows}
            per_channel = {r["referrals.channel"]: 2 * int(r["referrals.count"])
                           for r in rest({"measures": ["referrals.count"], "dimensions": ["referrals.channel"]})}
            check(by_channel.pop(None, None) == sum(per_channel.values()) and by_channel == per_channel,
                  f"psqlODBC ROLLUP through cursors: {rows}")
        sent = ""
        for name in glob.glob(f"/tmp/psqlodbc_*{os.getpid()}.log"):
            with open(name, errors="replace") as f:
                sent += f.read()
            os.remove(name)
        check("cursor with hold for" in sent and "fetch 2 in" in sent and "close \"SQL_CUR" in sent,
              "psqlODBC did not read through cursors (its log shows no declare/fetch/close)")
        # Server-side prepared statements with a parameter, inside a transaction.
        with pyodbc.connect(base + ";UseDeclareFetch=0", autocommit=False) as conn:
            q = QUESTIONS[1]
            rows = conn.cursor().execute(q[0].replace("%s", "?"), *q[1]).fetchall()
            check(same_rows([list(r) for r in rows], rest(q[2]), q[3]), f"psqlODBC prepared rows: {rows}")
            conn.commit()
        print(f"== psqlODBC (pyodbc {pyodbc.version}): SQLTables, SQLColumns, {len(QUESTIONS)} questions and a "
              "ROLLUP through DECLARE/FETCH cursors, a prepared statement")
    else:
        check(False, "psqlODBC is not installed (Debian's odbc-postgresql and unixodbc)")

    # --- TLS, and the other password methods ---
    with psycopg.connect(DSN + "?sslmode=require", autocommit=True) as c:
        check(c.pgconn.ssl_in_use and c.execute("SELECT COUNT(*) FROM users").fetchone()[0] > 0, "a query over TLS")
    with psycopg.connect(DSN + "?sslmode=disable", autocommit=True) as c:
        check(not c.pgconn.ssl_in_use and c.execute("SELECT 1").fetchone()[0] == 1, "a query without TLS")
    for method in ("md5", "cleartext"):
        h, q = free_port(), free_port()
        # The cleartext server also has a session cap of 2 and a 3 s query timeout.
        extra = ["--sql-max-sessions", "2", "--query-timeout", "3"] if method == "cleartext" else []
        other = start(h, q, "--sql-auth", method, *extra, log=f"serve-{method}.log")
        viewer = f"postgresql://viewer:{VIEWER_PASSWORD}@127.0.0.1:{q}/cube"
        try:
            with psycopg.connect(viewer, autocommit=True) as c:
                check(c.execute("SELECT COUNT(*) FROM users").fetchone()[0] > 0, f"{method} login")
            try:
                psycopg.connect(f"postgresql://viewer:wrong@127.0.0.1:{q}/cube").close()
                check(False, f"{method}: a wrong password was accepted")
            except psycopg.OperationalError as e:
                check("password authentication failed" in str(e).lower(), f"{method} wrong password: {e}")
            if method == "cleartext":
                first, second = psycopg.connect(viewer, autocommit=True), psycopg.connect(viewer, autocommit=True)
                try:
                    psycopg.connect(viewer).close()
                    check(False, "a third session over --sql-max-sessions 2 was accepted")
                except psycopg.OperationalError as e:
                    check("too many sessions" in str(e), f"session cap: {e}")
                # A query on the session's DuckDB too big to finish is interrupted at the query
                # timeout, one too big to return is refused at the row maximum; the session goes on.
                t = time.time()
                try:
                    first.execute("SELECT sum(hash(i)) FROM generate_series(1, 100000000000) AS t(i)").fetchall()
                    check(False, "a query over 10^11 rows finished")
                except psycopg.Error as e:
                    check(e.sqlstate == "57014" and time.time() - t < 20, f"catalog query timeout: {e.sqlstate} {e}")
                try:
                    first.execute("SELECT a.attname FROM pg_attribute a, pg_attribute b").fetchall()
                    check(False, "a result over the row maximum was returned")
                except psycopg.Error as e:
                    check(e.sqlstate == "54000", f"catalog row maximum: {e.sqlstate} {e}")
                check(first.execute("SELECT 1").fetchone()[0] == 1, "the session works after its refused queries")
                first.close()
                time.sleep(0.2)
                with psycopg.connect(viewer, autocommit=True) as c:
                    check(c.execute("SELECT 1").fetchone()[0] == 1, "a session once one is free again")
                second.close()
        finally:
            other.terminate()
            other.wait(10)
    print("== TLS (sslmode=require and disable), SCRAM-SHA-256, MD5 and cleartext passwords, the session cap, "
          "catalog queries past the timeout and the row maximum")

    # --- bad input under a small concurrent load ---
    stop = threading.Event()
    load_errors, load_count = [], [0]

    def load():
        try:
            with psycopg.connect(DSN, autocommit=True) as c:
                while not stop.is_set():
                    c.execute(QUESTIONS[3][0]).fetchall()
                    load_count[0] += 1
        except Exception as e:  # noqa: BLE001
            load_errors.append(repr(e))

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()

    def expect_error(sql, code, dsn=DSN):
        try:
            with psycopg.connect(dsn, autocommit=True) as c:
                c.execute(sql).fetchall()
            return check(False, f"no error for {sql[:80]}")
        except psycopg.Error as e:
            return check(e.sqlstate == code, f"{sql[:80]}: SQLSTATE {e.sqlstate}, expected {code} ({e})")

    try:
        psycopg.connect(f"postgresql://bi:wrong@127.0.0.1:{SQL}/cube").close()
        check(False, "a wrong password was accepted")
    except psycopg.OperationalError as e:
        # (pgwire's SCRAM failure names the SCRAM user name, which libpq leaves empty.)
        check("password authentication failed" in str(e).lower(), f"wrong password: {e}")
    try:
        psycopg.connect(f"postgresql://nobody:x@127.0.0.1:{SQL}/cube").close()
        check(False, "an unknown user was accepted")
    except psycopg.OperationalError:
        pass
    expect_error("SELECT MEASURE(count) FROM no_such_table", "42P01")
    expect_error("SELECT nope FROM users", "42703")
    expect_error("SELECT plan, pg_read_file('/etc/passwd') FROM users GROUP BY 1", "42883")
    expect_error("SELECT MEASURE(count) FROM users WHERE plan IN (" + ",".join(["'x'"] * 300000) + ")", "54000")
    expect_error("SELECT MEASURE(count) FROM users WHERE __user = 'bi'",
                 "42501", f"postgresql://viewer:{VIEWER_PASSWORD}@127.0.0.1:{SQL}/cube")
    for payload in [b"\x00\x00\x00\x08\x04\xd2\x16\x2f", b"garbage that is not a startup packet" * 10, b"\x00\x00\x00\x04",
                    b"\x00\x00\x00\x10\x00\x03\x00\x00user\x00bi\x00\x00"]:
        s = socket.create_connection(("127.0.0.1", SQL), 5)
        s.sendall(payload)
        s.settimeout(2)
        try:
            s.recv(1024)
        except Exception:  # noqa: BLE001
            pass
        s.close()
    # Clients that vanish mid-query: one while its rows are being written (a big result), one
    # during a query with parameters. The server must not die (SIGPIPE) nor stop serving.
    for _ in range(5):
        c = psycopg.connect(DSN, autocommit=True)
        c.pgconn.send_query(b"SELECT * FROM referrals")
        c.pgconn.flush()
        s = socket.socket(fileno=os.dup(c.fileno()))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
        c.pgconn.finish()
    c = psycopg.connect(DSN, autocommit=True)
    dup = socket.socket(fileno=os.dup(c.fileno()))
    def doomed():
        try:
            c.execute(QUESTIONS[2][0], QUESTIONS[2][1])
        except Exception:  # noqa: BLE001 (the connection is cut under it)
            pass
    th = threading.Thread(target=doomed, daemon=True)
    th.start()
    time.sleep(0.05)
    dup.shutdown(socket.SHUT_RDWR)
    dup.close()
    th.join(5)
    time.sleep(1)
    stop.set()
    for t in threads:
        t.join(60)
    check(not load_errors, f"queries under load failed: {load_errors}")
    check(load_count[0] > 0, "the load ran no queries")
    with psycopg.connect(DSN, autocommit=True) as c:
        check(c.execute("SELECT COUNT(*) FROM users").fetchone()[0] > 0, "the server serves after the bad input")
    check(server.poll() is None, "the server exited")
    print(f"== bad input under load: {load_count[0]} concurrent queries succeeded, every bad input got its error")
except Exception as e:  # noqa: BLE001 (report it with the server's log)
    import traceback
    traceback.print_exc()
    failures.append(f"the client script stopped: {e!r}")
finally:
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()

if failures:
    print(f"== {len(failures)} SQL API client check(s) failed")
    log_and_exit()
shutil.rmtree(WORK, ignore_errors=True)
print("== SQL API clients: all checks passed")
