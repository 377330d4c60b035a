#!/usr/bin/env python3
"""An agent's session through an independent MCP client (the Python SDK from PyPI, `mcp`),
against `cubec serve` on PostgreSQL (`/mcp`, Streamable HTTP, with a Cube token) and `cubec mcp`
on stdio, both on the KPI library of metrics/.

    VENV/bin/python scripts/mcp_agent.py CUBEC_BINARY POSTGRES_URL

The client lists the tools, then answers five referral questions as an agent goes: search for
the metric, describe it, look up filter values, query; each answer must hold the rows
`cubec query --format json` gives for the same query on the same database. Then an error an
agent can fix (a misspelt member comes back as a tool error with a suggestion), no token (401)
and the same session over stdio. Exits 1 on the first failed check.
"""
import asyncio, json, os, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_helpers import LoggedProcess, free_port, token  # noqa: E402

import httpx2  # noqa: E402  (the SDK's own HTTP client)
from mcp import Client, StdioServerParameters  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
DB = sys.argv[2]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = "mcp-agent-secret"
TOOLS = ["search_members", "describe", "dimension_values", "query", "compile", "explain_empty"]
failures = []


def check(ok, what, detail=""):
    print(("ok   " if ok else "FAIL ") + what + (f"\n     {detail}" if detail and not ok else ""), flush=True)
    if not ok:
        failures.append(what)


def cli_rows(query):
    """`cubec query`'s rows for the query: the reference an agent's answer must match."""
    out = subprocess.run([BIN, "query", "--model", "metrics", "--db", DB, "--format", "json", "--query", json.dumps(query)],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    body = json.loads(out)
    return [normalize(r) for r in body["data"]]


def normalize(row):
    """A row as {member: value}, numbers rounded (the CLI gives strings, the tool numbers)."""
    out = {}
    for k, v in row.items():
        try:
            v = round(float(v), 6)
        except (TypeError, ValueError):
            pass
        out[k] = v
    return out


def tool_rows(result):
    """The `query` tool's rows as {column: value} dicts."""
    s = result.structured_content
    names = [c["name"] for c in s["columns"]]
    return [normalize(dict(zip(names, r))) for r in s["rows"]]


def same(tool, cli):
    """The tool's columns are the query's; the CLI also repeats a time dimension without its
    granularity (Cube's shape), which the tool leaves out."""
    return len(tool) == len(cli) and all(all(c.get(k) == v for k, v in t.items()) for t, c in zip(tool, cli))


async def first_measure(c, words):
    r = await c.call_tool("search_members", {"query": words, "kind": "measure", "limit": 5})
    matches = r.structured_content["matches"]
    return matches[0] if matches else None


async def time_dimension_of(c, cube):
    """The first time dimension of a cube or view, from `describe`."""
    d = await c.call_tool("describe", {"names": [cube]})
    for m in d.structured_content["items"][0]["members"]:
        if m["kind"] == "dimension" and m["type"] == "time":
            return m["name"]
    return None


async def agent_session(c, label):
    tools = await c.list_tools()
    names = [t.name for t in tools.tools]
    check(names == TOOLS, f"{label}: the six tools, in order", str(names))
    check(all(t.annotations and t.annotations.read_only_hint for t in tools.tools), f"{label}: every tool is read-only")

    # 1. "What is our referral conversion rate?"
    m = await first_measure(c, "referral conversion rate")
    check(m and m["name"].endswith("referral_conversion_rate"), f"{label}: search finds the referral conversion rate", str(m))
    d = await c.call_tool("describe", {"names": [m["name"]]})
    check(d.structured_content["items"][0].get("format") == "percent", f"{label}: describe says it is a percent")
    q = {"measures": [m["name"]]}
    r = await c.call_tool("query", {"query": q})
    check(same(tool_rows(r), cli_rows(q)), f"{label}: the referral conversion rate is cubec query's", f"{tool_rows(r)} vs {cli_rows(q)}")

    # 2. "How many referrals were sent by email, per channel?"
    m = await first_measure(c, "referrals sent")
    check(m and m["name"].endswith("count"), f"{label}: search finds referrals sent", str(m))
    v = await c.call_tool("dimension_values", {"dimension": "referrals.channel"})
    values = [x["value"] for x in v.structured_content["values"]]
    check("email" in values and not v.structured_content["truncated"], f"{label}: the channels, with counts", str(values))
    q = {"measures": ["referrals.count"], "dimensions": ["referrals.channel"], "order": {"referrals.count": "desc"}}
    r = await c.call_tool("query", {"query": q})
    counts = {x["value"]: x["count"] for x in v.structured_content["values"]}
    check(same(tool_rows(r), cli_rows(q)) and all(counts[row["referrals.channel"]] == row["referrals.count"] for row in tool_rows(r)),
          f"{label}: referrals per channel match cubec query and the value counts")

    # 3. "What was the referral rate each quarter of 2024?"
    m = await first_measure(c, "referral rate")
    check(m and m["name"].endswith(".referral_rate"), f"{label}: search finds the referral rate", str(m))
    td = await time_dimension_of(c, m["in"])
    check(td is not None, f"{label}: describe gives the time dimension to group by", str(td))
    q = {"measures": [m["name"]], "timeDimensions": [{"dimension": td, "granularity": "quarter", "dateRange": ["2024-01-01", "2024-12-31"]}],
         "order": {td: "asc"}}
    r = await c.call_tool("query", {"query": q})
    check(same(tool_rows(r), cli_rows(q)) and tool_rows(r), f"{label}: the referral rate by quarter is cubec query's")

    # 4. "How long does a referred user take to convert after first clicking a referral link?"
    m = await first_measure(c, "first referral conversion time")
    check(m and m["name"] == "referred_conversions.first_referral_conversion_days", f"{label}: search finds the first referral conversion time", str(m))
    q = {"measures": [m["name"]]}
    r = await c.call_tool("query", {"query": q})
    check(same(tool_rows(r), cli_rows(q)), f"{label}: the first referral conversion time is cubec query's")

    # 5. "How many inbound leads did we get each month?"
    m = await first_measure(c, "inbound lead volume")
    check(m and m["name"] == "leads.inbound_leads", f"{label}: search finds the inbound lead volume", str(m))
    td = await time_dimension_of(c, "leads")
    q = {"measures": [m["name"]], "timeDimensions": [{"dimension": td, "granularity": "month"}], "order": {td: "asc"}}
    r = await c.call_tool("query", {"query": q})
    check(same(tool_rows(r), cli_rows(q)) and len(tool_rows(r)) > 1, f"{label}: inbound leads by month are cubec query's")

    # An error an agent can fix.
    r = await c.call_tool("query", {"query": {"measures": ["referrals.referal_conversion_rate"]}})
    text = " ".join(b.text for b in r.content if getattr(b, "text", None))
    check(r.is_error and "referrals.referral_conversion_rate" in text, f"{label}: a misspelt member is a tool error with a suggestion", text)


async def over_http(url):
    headers = {"Authorization": "Bearer " + token(SECRET, {})}
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
        async with Client(streamable_http_client(url, http_client=http)) as c:
            check(c.server_info is not None and c.server_info.name == "cubec", f"http: server info ({c.protocol_version})")
            await agent_session(c, "http")
    async with httpx2.AsyncClient(timeout=30) as http:
        r = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
                            headers={"Accept": "application/json, text/event-stream"})
        check(r.status_code == 401 and r.headers.get("www-authenticate", "").startswith("Bearer"),
              "http: no token is 401 with WWW-Authenticate", str(r.status_code))


async def over_stdio():
    params = StdioServerParameters(command=BIN, args=["mcp", "--model", "metrics", "--db", DB], cwd=ROOT,
                                   env={**os.environ, "RUST_LOG": "warn"})
    async with Client(params, mode="legacy") as c:
        check(c.protocol_version == "2025-11-25", f"stdio: the initialize handshake ({c.protocol_version})")
        await agent_session(c, "stdio")


def main():
    subprocess.run([BIN, "load-data", "--model", "metrics", "--db", DB], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    port = free_port()
    log = tempfile.TemporaryFile("w+")
    server = LoggedProcess([BIN, "serve", "--model", "metrics", "--db", DB, "--port", str(port)], log, cwd=ROOT,
                           env={**os.environ, "CUBEC_API_SECRET": SECRET})
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                import urllib.request
                urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=1)
                break
            except Exception:
                time.sleep(0.2)
        asyncio.run(over_http(f"http://127.0.0.1:{port}/mcp"))
        asyncio.run(over_stdio())
    finally:
        server.stop()
        if failures:
            print(server.text()[-4000:])
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("MCP agent session: all checks passed")


if __name__ == "__main__":
    main()
