#!/usr/bin/env python3
"""Latency of each MCP tool call over stdio (`cubec mcp`) and over HTTP (`/mcp` of `cubec
serve`), on the KPI library with the embedded DuckDB. A bare JSON-RPC client (one line per
message on stdio; keep-alive POSTs over HTTP), so the figures are cubec's, not a client SDK's.

    python3 scripts/mcp_bench.py CUBEC_BINARY [CALLS]

Prints, per tool and transport, the median and 95th percentile of CALLS calls (default 200)
after 5 warm-up calls. Query results come from the result cache after the first call, as they
do for a dashboard's or an agent's repeated questions.
"""
import http.client, json, os, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_helpers import free_port, token  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
CALLS = int(sys.argv[2]) if len(sys.argv) > 2 else 200
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = "mcp-bench"
Q = {"measures": ["referrals.referral_conversion_rate"], "dimensions": ["referrals.channel"]}
CALLS_BY_TOOL = [
    ("search_members", {"query": "referral conversion rate"}),
    ("describe", {"names": ["referrals", "referrals.referral_conversion_rate"]}),
    ("dimension_values", {"dimension": "referrals.channel"}),
    ("query", {"query": Q}),
    ("compile", {"query": Q}),
    ("explain_empty", {"query": {**Q, "filters": [{"member": "referrals.channel", "operator": "equals", "values": ["emial"]}]}}),
]


def call_body(i, name, args):
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": name, "arguments": args}}


def stats(samples):
    ms = sorted(s * 1000 for s in samples)
    return statistics.median(ms), ms[int(len(ms) * 0.95) - 1]


def bench_stdio():
    p = subprocess.Popen([BIN, "mcp", "--model", "metrics"], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, bufsize=1)

    def send(msg, wait=True):
        p.stdin.write(json.dumps(msg) + "\n")
        p.stdin.flush()
        if wait:
            answer = json.loads(p.stdout.readline())
            if "error" in answer or answer.get("result", {}).get("isError"):
                raise SystemExit(f"stdio: {answer}")
            return answer

    send({"jsonrpc": "2.0", "id": 0, "method": "initialize",
          "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}})
    send({"jsonrpc": "2.0", "method": "notifications/initialized"}, wait=False)
    out, n = {}, 1
    for name, args in CALLS_BY_TOOL:
        samples = []
        for k in range(CALLS + 5):
            started = time.perf_counter()
            send(call_body(n, name, args))
            if k >= 5:
                samples.append(time.perf_counter() - started)
            n += 1
        out[name] = stats(samples)
    p.stdin.close()
    p.wait(10)
    return out


def bench_http():
    port = free_port()
    server = subprocess.Popen([BIN, "serve", "--model", "metrics", "--port", str(port)], cwd=ROOT,
                              env={**os.environ, "CUBEC_API_SECRET": SECRET, "RUST_LOG": "warn"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/livez")
                c.getresponse().read()
                break
            except OSError:
                time.sleep(0.2)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": "Bearer " + token(SECRET, {}), "Content-Type": "application/json",
                   "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
        out, n = {}, 1
        for name, args in CALLS_BY_TOOL:
            samples = []
            for k in range(CALLS + 5):
                started = time.perf_counter()
                conn.request("POST", "/mcp", json.dumps(call_body(n, name, args)), headers)
                r = conn.getresponse()
                answer = json.loads(r.read())
                if r.status != 200 or "error" in answer or answer.get("result", {}).get("isError"):
                    raise SystemExit(f"http: {r.status} {answer}")
                if k >= 5:
                    samples.append(time.perf_counter() - started)
                n += 1
            out[name] = stats(samples)
        return out
    finally:
        server.terminate()
        server.wait(15)


def main():
    stdio, http_ = bench_stdio(), bench_http()
    print(f"{CALLS} calls per tool after 5 warm-up calls; milliseconds")
    print(f"| tool | stdio p50 | stdio p95 | HTTP p50 | HTTP p95 |")
    print("|---|---:|---:|---:|---:|")
    for name, _ in CALLS_BY_TOOL:
        a, b = stdio[name], http_[name]
        print(f"| `{name}` | {a[0]:.2f} | {a[1]:.2f} | {b[0]:.2f} | {b[1]:.2f} |")


if __name__ == "__main__":
    main()
