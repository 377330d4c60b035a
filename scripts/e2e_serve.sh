#!/usr/bin/env bash
# End-to-end test of `cubec serve` with Cube's JavaScript client, against a real database
# (PostgreSQL, or the Snowflake and BigQuery emulators).
#   scripts/e2e_serve.sh CUBEC_BINARY DATABASE_URL
# Copies metrics/data into the database, records each saved query's rows on the embedded DuckDB,
# starts the server on a free loopback port, and runs tests/e2e/client.mjs (npm's
# @cubejs-client/core) against it. Exits non-zero on any mismatch; the server log is printed then.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$1"
DB_URL="$2"

WORK="$(mktemp -d /tmp/cubec-e2e.XXXXXX)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== e2e: copying metrics/data into the database"
"$BIN" load-data --model metrics --db "$DB_URL" >/dev/null

echo "== e2e: expected rows from the embedded DuckDB"
mkdir -p "$WORK/expected"
for q in metrics/queries/*.json; do
  name="$(basename "$q" .json)"
  cp "$q" "$WORK/expected/$name.query.json"
  "$BIN" query --model metrics --query "$q" --format json >"$WORK/expected/$name.rows.json"
done

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
CUBEC_API_SECRET="$SECRET" "$BIN" serve --model metrics --db "$DB_URL" --host 127.0.0.1 --port "$PORT" \
  >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
python3 - "$PORT" <<'PY'
import sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/readyz"
for _ in range(300):
    try:
        if urllib.request.urlopen(url, timeout=1).status == 200:
            sys.exit(0)
    except Exception:
        time.sleep(0.1)
sys.exit("cubec serve did not become ready in 30 s")
PY

echo "== e2e: npm ci (Cube's JavaScript client)"
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
echo "== e2e: @cubejs-client/core against cubec serve on 127.0.0.1:$PORT ($(echo "$DB_URL" | cut -d: -f1))"
if ! node tests/e2e/client.mjs --api "http://127.0.0.1:$PORT/cubejs-api/v1" --secret "$SECRET" \
  --expected "$WORK/expected" --data metrics/data; then
  echo "== server log:"; cat "$WORK/serve.log"
  exit 1
fi
