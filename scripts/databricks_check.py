#!/usr/bin/env python3
"""Runs cubec's Databricks SQL on a local Spark engine (PyPI's pyspark, Java 17), since no
Databricks workspace is reachable.

For every case under tests/cases/ that carries expected rows (and no relative date range, whose
"now" the CLI does not fix), this compiles the case with `cubec sql --dialect databricks --inline`
and runs it with spark.sql over the model's fixture rows (temporary views), then compares the rows,
in Cube's shape, with the case's expected rows.

What this proves: Databricks SQL as cubec writes it (time zones through from_utc_timestamp,
date_trunc, intervals, LIKE, casts, the rolling-window series, joins) computes the right answers
on Spark's SQL engine, which Databricks SQL warehouses run. What it does not: Databricks' own
additions (Photon, Unity Catalog), and parameter binding through the SQL Statement Execution API
(values are inlined here; cubec has no Databricks client yet).

Usage: python3 scripts/databricks_check.py path/to/cubec
"""
import glob
import json
import os
import subprocess
import sys

os.environ["TZ"] = "UTC"  # pyspark turns TIMESTAMP values into the process's local time

import yaml  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402

from case_rows import expected_rows, shaped  # noqa: E402

# Portable fixture types (src/exec/tables.rs) in Spark's words.
SPARK_TYPES = {"text": "STRING", "varchar": "STRING", "integer": "INT", "int": "INT", "bigint": "BIGINT",
               "smallint": "SMALLINT", "boolean": "BOOLEAN", "timestamp": "TIMESTAMP", "timestamptz": "TIMESTAMP",
               "date": "DATE", "double precision": "DOUBLE", "real": "FLOAT", "numeric": "DECIMAL(38, 12)"}


def spark_type(t):
    base = t.split("(")[0].strip().lower()
    if base in ("numeric", "decimal") and "(" in t:
        return "DECIMAL(" + t.split("(", 1)[1]
    return SPARK_TYPES.get(base, t.upper())


def literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'"


def load_fixtures(spark, fixtures):
    for name, t in fixtures["tables"].items():
        cols = list(t["columns"].items())
        select = ", ".join(f"CAST(c{i} AS {spark_type(ty)}) AS `{c}`" for i, (c, ty) in enumerate(cols))
        rows = t.get("rows", [])
        if rows:
            values = ", ".join("(" + ", ".join(literal(v) for v in r) + ")" for r in rows)
            source = f"VALUES {values} AS v({', '.join(f'c{i}' for i in range(len(cols)))})"
            spark.sql(f"CREATE OR REPLACE TEMP VIEW `{name}` AS SELECT {select} FROM {source}")
        else:
            nulls = ", ".join(f"NULL AS c{i}" for i in range(len(cols)))
            spark.sql(f"CREATE OR REPLACE TEMP VIEW `{name}` AS SELECT {select} FROM (SELECT {nulls}) WHERE 1 = 0")


def main():
    cubec = sys.argv[1]
    spark = (SparkSession.builder.master("local[1]").appName("cubec-databricks-check")
             .config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "1").config("spark.driver.host", "127.0.0.1")
             .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    failures, checked = [], 0
    by_model = {}
    for path in sorted(glob.glob("tests/cases/**/*.yml", recursive=True)):
        case = yaml.safe_load(open(path))
        if case.get("expect_error") or "expect" not in case or "relative" in path:
            continue
        by_model.setdefault(case["model"], []).append((path, case))
    for model, items in sorted(by_model.items()):
        fixtures_path = f"tests/fixtures/rows/{model}.yml"
        if not os.path.exists(fixtures_path):
            continue
        load_fixtures(spark, yaml.safe_load(open(fixtures_path)))
        for path, case in items:
            want = expected_rows(case.get("expect_by_dialect", {}).get("databricks", case["expect"]))
            context = ["--security-context", json.dumps(case["security_context"])] if "security_context" in case else []
            out = subprocess.run([cubec, "sql", "--model", f"tests/models/{model}", "--query", json.dumps(case["query"]),
                                  "--dialect", "databricks", "--inline", "--format", "json", *context],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                failures.append(f"{path}: cubec failed: {out.stderr.strip()[:300]}")
                continue
            compiled = json.loads(out.stdout)
            try:
                df = spark.sql(compiled["sql"])
                cols, rows = df.columns, [tuple(r) for r in df.collect()]
            except Exception as e:  # noqa: BLE001 - report any engine error as a failure
                failures.append(f"{path}: {type(e).__name__}: {str(e).splitlines()[0][:300]}")
                continue
            checked += 1
            got = shaped(cols, rows, compiled["aliasNameToMember"])
            if got != want:
                failures.append(f"{path}: rows differ\n  want {want}\n  got  {got}")
    spark.stop()
    for f in failures:
        print("FAIL", f)
    print(f"databricks on Spark {spark.version}: {checked - len([f for f in failures if 'rows differ' in f])} passed, "
          f"{len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
