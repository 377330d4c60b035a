#!/usr/bin/env python3
"""Checks `cubec schema` with the reference JSON Schema validator (python-jsonschema):
every model file under metrics/ and tests/models/ must validate, and broken ones must not.

    python scripts/schema_check.py path/to/cubec
"""
import glob, json, os, subprocess, sys

import jsonschema
import yaml


class Loader(yaml.SafeLoader):
    """YAML as cubec reads it: `2024-01-01` stays a string (no timestamp type)."""


Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

SKIP = {"data", "tests", "queries", "macros"}


def model_files(root):
    for path in sorted(glob.glob(os.path.join(root, "**", "*.y*ml"), recursive=True)):
        parts = os.path.relpath(path, root).split(os.sep)
        if len(parts) > 1 and parts[0] in SKIP:
            continue
        yield path


def main():
    schema = json.loads(subprocess.check_output([sys.argv[1], "schema"]))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    files = list(model_files("metrics"))
    for d in sorted(glob.glob("tests/models/*/")):
        files.extend(model_files(d))
    failures = 0
    for path in files:
        with open(path, encoding="utf-8-sig") as f:
            doc = yaml.load(f, Loader=Loader)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        for e in errors[:5]:
            failures += 1
            print(f"FAIL {path}: {'/'.join(map(str, e.path))}: {e.message}")
    # The schema has teeth: an unknown key, a wrong type and a bad enum value are refused.
    broken = [
        {"cubes": [{"name": "t", "sql_table": "t", "measurez": []}]},
        {"cubes": [{"name": "t", "sql_table": "t", "public": "yes"}]},
        {"cubes": [{"name": "t", "sql_table": "t", "measures": [{"name": "c", "type": "median"}]}]},
        {"cubes": [{"name": "t", "sql_table": "t", "joins": [{"name": "u", "relationship": "many", "sql": "x"}]}]},
        {"views": [{"name": "v", "cubes": [{"includes": "*"}]}]},
        {"cubes": [{"name": "t", "sql_table": "t", "access_policy": [{"role": "admin"}]}]},
        {"cubes": [{"name": "t", "sql_table": "t", "access_policy": [{"group": "g", "row_level": {"allow_all": False}}]}]},
    ]
    for doc in broken:
        if validator.is_valid(doc):
            failures += 1
            print(f"FAIL the schema accepts a broken model: {json.dumps(doc)}")
    print(f"schema check: {len(files)} model files valid, {len(broken)} broken models refused; {failures} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
