#!/usr/bin/env python3
"""`cubec serve` configured the Cube way: environment variables, Cube's CUBEJS_* names, `.env`.

    python3 scripts/config_serve.py CUBEC_BINARY POSTGRES_URL

Checks the precedence flag > environment > .env > default with `--print-config` (secrets
masked), then runs two deployments against PostgreSQL (whose tables `load-data` filled): one
described only by CUBEJS_* variables, one only by a `.env` file. Each must answer /v1/load.
Exits 1 on the first failure.
"""
import json, os, subprocess, sys, tempfile, time, urllib.parse, urllib.request

from serve_helpers import free_port, token

BIN = os.path.abspath(sys.argv[1])
PG = urllib.parse.urlparse(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METRICS = os.path.join(ROOT, "metrics")
failures = []
BASE_ENV = {k: v for k, v in os.environ.items() if not (k.startswith("CUBEC_") or k.startswith("CUBEJS_") or k == "PORT")}


def check(ok, what, detail=""):
    print(("ok   " if ok else "FAIL ") + what + (f"\n     {detail}" if detail and not ok else ""), flush=True)
    if not ok:
        failures.append(what)


def print_config(cwd, env, *flags):
    r = subprocess.run([BIN, "serve", "--print-config", *flags], cwd=cwd, env={**BASE_ENV, **env},
                       capture_output=True, text=True)
    rows = {}
    for line in r.stdout.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2:
            value, _, source = parts[1].rpartition(" (")
            rows[parts[0]] = (value.strip(), source.rstrip(")"))
    return r, rows


def deploy(label, cwd, env, port, secret):
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([BIN, "serve"], cwd=cwd, env={**BASE_ENV, **env}, stdout=log, stderr=log)
    try:
        q = urllib.parse.quote(json.dumps({"measures": ["users.count"]}))
        req = urllib.request.Request(f"http://127.0.0.1:{port}/cubejs-api/v1/load?query={q}",
                                     headers={"Authorization": token(secret, {"sub": "config"})})
        body = None
        for _ in range(300):
            try:
                body = json.load(urllib.request.urlopen(req, timeout=5))
                break
            except Exception:
                time.sleep(0.1)
        ok = body is not None and int(body["data"][0]["users.count"]) > 0
        log.seek(0)
        check(ok, f"{label}: /v1/load answers from PostgreSQL", log.read().decode(errors="replace")[-800:])
    finally:
        proc.terminate()
        proc.wait(10)


def main():
    work = tempfile.mkdtemp(prefix="cubec-config.")
    # Precedence, shown by --print-config.
    open(os.path.join(work, ".env"), "w").write(f"CUBEC_PORT=1111\nCUBEJS_API_SECRET=from-dotenv\nCUBEC_MODEL={METRICS}\n")
    _, rows = print_config(work, {"CUBEC_PORT": "2222"}, "--port", "3333")
    check(rows.get("port") == ("3333", "flag"), "a flag wins over the environment and .env", str(rows.get("port")))
    _, rows = print_config(work, {"CUBEC_PORT": "2222"})
    check(rows.get("port") == ("2222", "env CUBEC_PORT"), "the environment wins over .env", str(rows.get("port")))
    _, rows = print_config(work, {})
    check(rows.get("port") == ("1111", ".env CUBEC_PORT"), ".env wins over the default", str(rows.get("port")))
    check(rows.get("api_secret") == ("***", ".env CUBEJS_API_SECRET"), "the secret is masked", str(rows.get("api_secret")))
    os.remove(os.path.join(work, ".env"))
    _, rows = print_config(work, {"PORT": "5555", "CUBEJS_DB_TYPE": "postgres", "CUBEJS_DB_HOST": "db.internal",
                                  "CUBEJS_DB_USER": "cube", "CUBEJS_DB_PASS": "hunter2", "CUBEJS_DB_NAME": "analytics",
                                  "CUBEJS_DB_SSL": "true"})
    check(rows.get("port") == ("5555", "Cube's env PORT"), "Cube's PORT is read", str(rows.get("port")))
    db = rows.get("db", ("", ""))
    check(db[0] == "postgres://cube:***@db.internal:5432/analytics?sslmode=require" and "CUBEJS" in db[1],
          "CUBEJS_DB_* make the database URL, password masked, SSL required", str(db))
    _, rows = print_config(work, {})
    check(rows.get("port") == ("4000", "default"), "the default when nothing is set", str(rows.get("port")))
    for kind, url in (("mysql", "mysql://cube:***@db.internal:3306/analytics?ssl-mode=REQUIRED"),
                      ("redshift", "redshift://cube:***@db.internal:5439/analytics?sslmode=require")):
        _, rows = print_config(work, {"CUBEJS_DB_TYPE": kind, "CUBEJS_DB_HOST": "db.internal", "CUBEJS_DB_USER": "cube",
                                      "CUBEJS_DB_PASS": "hunter2", "CUBEJS_DB_NAME": "analytics", "CUBEJS_DB_SSL": "true"})
        db = rows.get("db", ("", ""))
        check(db[0] == url, f"CUBEJS_DB_TYPE={kind} makes its URL with its default port", str(db))
    r, _ = print_config(work, {"CUBEJS_DB_TYPE": "oracle"})
    check(r.returncode == 2 and "oracle" in r.stderr, "an unsupported CUBEJS_DB_TYPE is refused", r.stderr)
    # The query cache and queue: Cube's timeout (`10m` is its own default's spelling), our size.
    _, rows = print_config(work, {"CUBEJS_DB_QUERY_TIMEOUT": "2m", "CUBEC_CACHE_SIZE": "64MB"})
    check(rows.get("query_timeout") == ("120s", "Cube's env CUBEJS_DB_QUERY_TIMEOUT"), "CUBEJS_DB_QUERY_TIMEOUT is read",
          str(rows.get("query_timeout")))
    check(rows.get("cache_size") == ("64000000", "env CUBEC_CACHE_SIZE"), "the cache's size from the environment",
          str(rows.get("cache_size")))
    _, rows = print_config(work, {})
    check(rows.get("query_timeout") == ("600s", "default") and rows.get("continue_wait") == ("5s", "default"),
          "Cube's defaults: a 10 minute query timeout, Continue wait after 5 s",
          f"{rows.get('query_timeout')} {rows.get('continue_wait')}")
    r, _ = print_config(work, {"CUBEJS_CACHE_AND_QUEUE_DRIVER": "redis"})
    check(r.returncode == 2 and "memory" in r.stderr, "a cache driver other than memory is refused", r.stderr)
    r, _ = print_config(work, {}, "--cache-size", "lots")
    check(r.returncode == 2 and "256MiB" in r.stderr, "a bad cache size is refused with an example", r.stderr)
    # Pre-aggregations: Cube's variables for the worker, its zones, rollup-only mode and the schema.
    _, rows = print_config(work, {"CUBEJS_REFRESH_WORKER": "true", "CUBEJS_ROLLUP_ONLY": "true",
                                  "CUBEJS_SCHEDULED_REFRESH_TIMEZONES": "UTC,Asia/Tokyo",
                                  "CUBEJS_PRE_AGGREGATIONS_SCHEMA": "team_rollups"})
    check(rows.get("refresh_worker") == ("true", "Cube's env CUBEJS_REFRESH_WORKER")
          and rows.get("rollup_only") == ("true", "Cube's env CUBEJS_ROLLUP_ONLY")
          and rows.get("refresh_timezones", ("",))[0] == "UTC,Asia/Tokyo"
          and rows.get("preagg_schema", ("",))[0] == "team_rollups",
          "Cube's refresh worker, rollup-only, time zone and schema variables are read",
          str({k: rows.get(k) for k in ("refresh_worker", "rollup_only", "refresh_timezones", "preagg_schema")}))
    _, rows = print_config(work, {})
    check(rows.get("preagg_schema") == ("prod_pre_aggregations", "default") and rows.get("refresh_worker") == ("false", "default"),
          "Cube's default rollup schema, and no worker unless asked", str(rows.get("preagg_schema")))
    _, rows = print_config(work, {"CUBEJS_DEFAULT_API_SCOPES": "meta,data,jobs"})
    check(rows.get("api_scopes") == ("meta,data,jobs", "env CUBEJS_DEFAULT_API_SCOPES"),
          "Cube's API scopes variable is read", str(rows.get("api_scopes")))
    _, rows = print_config(work, {})
    check(rows.get("api_scopes") == ("meta,data,graphql,sql", "default"),
          "Cube's default API scopes leave out jobs", str(rows.get("api_scopes")))
    r, _ = print_config(work, {"CUBEJS_DEFAULT_API_SCOPES": "meta,dta"})
    check(r.returncode != 0 and "`dta` is not an API scope" in r.stderr, "an unknown API scope is refused", r.stderr)
    r, _ = print_config(work, {"CUBEJS_SCHEDULED_REFRESH_TIMEZONES": "Mars/Base"})
    check(r.returncode == 2 and "Mars/Base" in r.stderr, "an unknown refresh time zone is refused", r.stderr)

    # Deployments: only Cube's variables; only a .env file.
    cube_env = {"CUBEJS_DB_TYPE": "postgres", "CUBEJS_DB_HOST": PG.hostname, "CUBEJS_DB_PORT": str(PG.port or 5432),
                "CUBEJS_DB_NAME": PG.path.lstrip("/") or "postgres", "CUBEJS_DB_USER": PG.username or "postgres",
                "CUBEJS_API_SECRET": "cube-secret", "CUBEJS_SCHEMA_PATH": METRICS}
    port = free_port()
    deploy("CUBEJS_* variables only", work, {**cube_env, "PORT": str(port)}, port, "cube-secret")
    port = free_port()
    open(os.path.join(work, ".env"), "w").write("".join(f"{k}={v}\n" for k, v in {**cube_env, "PORT": str(port)}.items()))
    deploy(".env file only", work, {}, port, "cube-secret")


main()
print("\nconfig checks passed" if not failures else f"\n{len(failures)} config check(s) failed")
sys.exit(1 if failures else 0)
