#!/usr/bin/env python3
"""Seeds the fuzz corpora from the test suite (run from the repository root):
queries from tests/cases and metrics/queries, model files from tests/models, tests/errors and
metrics, and `sql` strings from those models. Files are named by content hash, so re-running
adds only what is new."""
import glob, hashlib, json, os, re, sys

import yaml

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

def put(target, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

queries = []
for path in sorted(glob.glob("tests/cases/**/*.yml", recursive=True)):
    with open(path) as f:
        case = yaml.safe_load(f)
    if isinstance(case, dict) and "query" in case:
        queries.append(case["query"])
for path in sorted(glob.glob("metrics/queries/*.json")):
    with open(path) as f:
        queries.append(json.load(f))
for q in queries:
    data = json.dumps(q).encode()
    put("query_parser", data)
    put("compile", data)

models = sorted(glob.glob("tests/models/**/*.yml", recursive=True) + glob.glob("tests/errors/**/*.yml", recursive=True)
                + glob.glob("metrics/*.yml"))
for path in models:
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 64 * 1024:
        put("yaml_loader", data)
    for sql in re.findall(rb"sql: (.+)", data):
        put("reference_parser", sql.strip().strip(b'"'))
print(f"{len(queries)} queries, {len(models)} model files", file=sys.stderr)
