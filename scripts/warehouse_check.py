#!/usr/bin/env python3
"""Checks cubec's Snowflake and BigQuery SQL by running it, since neither warehouse is reachable.

For every case under tests/cases/ that carries expected rows (and no relative date range, whose
"now" the CLI does not fix), this compiles the case with `cubec sql --inline` and:
  - runs the Snowflake SQL on fakesnow (a Snowflake emulator on DuckDB) over the model's fixtures;
  - transpiles the BigQuery SQL to DuckDB with sqlglot and runs it on DuckDB over the fixtures;
then compares the rows, in Cube's shape, with the case's expected rows.

What this proves: the SQL shapes cubec emits for these dialects (time-zone conversion, truncation,
Monday weeks, LIKE escaping, casts, joins) compute the right answers under those emulations.
What it does not: that the real warehouses accept every construct (fakesnow and sqlglot are
approximations), nor parameter binding (values are inlined here; binding is proven on DuckDB and
PostgreSQL by tests/exec.rs).

Usage: python3 scripts/warehouse_check.py path/to/cubec
"""
import glob
import json
import os
import subprocess
import sys

import duckdb
import sqlglot
import yaml

from case_rows import expected_rows, shaped


def load_fixtures(execute, fixtures):
    for name, t in fixtures["tables"].items():
        cols = ", ".join(f'"{c}" {ty}' for c, ty in t["columns"].items())
        execute(f'CREATE OR REPLACE TABLE "{name}" ({cols})')
        for row in t.get("rows", []):
            vals = []
            for v in row:
                if v is None:
                    vals.append("NULL")
                elif isinstance(v, bool):
                    vals.append("TRUE" if v else "FALSE")
                elif isinstance(v, (int, float)):
                    vals.append(str(v))
                else:
                    vals.append("'" + str(v).replace("'", "''") + "'")
            execute(f'INSERT INTO "{name}" VALUES ({", ".join(vals)})')


# Where an emulator, not cubec, differs from the warehouse. Each entry says why.
EMULATION_GAPS = {
    # BigQuery's LIKE treats `\%` and `\_` as literal characters (the escaping cubec relies on);
    # DuckDB's LIKE, which sqlglot's transpiled SQL runs on, has no default escape character.
    ("tests/cases/filters/contains_wildcards.yml", "bigquery"),
    ("tests/cases/filters/quotes_and_wildcards_contains.yml", "bigquery"),
    ("tests/cases/filters/underscore_is_literal.yml", "bigquery"),
}


def main():
    cubec = sys.argv[1]
    import fakesnow

    failures, checked = [], 0
    cases = sorted(glob.glob("tests/cases/**/*.yml", recursive=True))
    by_model = {}
    for path in cases:
        case = yaml.safe_load(open(path))
        if case.get("expect_error") or "expect" not in case or "relative" in path:
            continue
        by_model.setdefault(case["model"], []).append((path, case))
    with fakesnow.patch():
        import snowflake.connector

        for model, items in sorted(by_model.items()):
            fixtures = yaml.safe_load(open(f"tests/fixtures/rows/{model}.yml"))
            sf = snowflake.connector.connect(database="cubec", schema="public")
            sf_cur = sf.cursor()
            load_fixtures(sf_cur.execute, fixtures)
            bq = duckdb.connect()
            bq.execute("SET TimeZone = 'UTC'")
            load_fixtures(bq.execute, fixtures)
            for path, case in items:
                q = json.dumps(case["query"])
                for dialect in ["snowflake", "bigquery"]:
                    if (path, dialect) in EMULATION_GAPS:
                        continue
                    # A warehouse where Cube answers otherwise has its own rows.
                    want = expected_rows(case.get("expect_by_dialect", {}).get(dialect, case["expect"]))
                    # Access-policy cases run as their caller.
                    context = ["--security-context", json.dumps(case["security_context"])] if "security_context" in case else []
                    out = subprocess.run(
                        [cubec, "sql", "--model", f"tests/models/{model}", "--query", q, "--dialect", dialect, "--inline", "--format", "json", *context],
                        capture_output=True, text=True,
                    )
                    if out.returncode != 0:
                        failures.append(f"{path} [{dialect}]: cubec failed: {out.stderr.strip()[:300]}")
                        continue
                    compiled = json.loads(out.stdout)
                    try:
                        if dialect == "snowflake":
                            sf_cur.execute(compiled["sql"])
                            cols = [d[0] for d in sf_cur.description]
                            rows = sf_cur.fetchall()
                        else:
                            sql = sqlglot.transpile(compiled["sql"], read="bigquery", write="duckdb")[0]
                            res = bq.execute(sql)
                            cols = [d[0] for d in res.description]
                            rows = res.fetchall()
                    except Exception as e:  # noqa: BLE001 - report any engine error as a failure
                        failures.append(f"{path} [{dialect}]: {type(e).__name__}: {str(e)[:300]}")
                        continue
                    got = shaped(cols, rows, compiled["aliasNameToMember"])
                    checked += 1
                    if got != want:
                        failures.append(f"{path} [{dialect}]: rows differ\n  want {want}\n  got  {got}")
    for f in failures:
        print("FAIL", f)
    print(f"{checked - len([f for f in failures if 'rows differ' in f])} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
