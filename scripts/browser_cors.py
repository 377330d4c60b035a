#!/usr/bin/env python3
"""A real browser calls `cubec serve` from another origin (CORS), through Cube's own client.

    python3 scripts/browser_cors.py CUBEC_BINARY

Serves tests/browser/page.html (with @cubejs-client/core bundled for the browser by esbuild
from tests/e2e's node_modules) on one loopback port, starts `cubec serve` on another (the embedded DuckDB),
and loads the page in headless Chromium (Debian's package): with `--cors-origin` naming the
page's origin the page gets rows; without it the browser blocks the call. Exits 1 otherwise.
"""
import functools, http.server, os, shutil, subprocess, sys, tempfile, threading, time
import urllib.parse, urllib.request

from serve_helpers import free_port, token

BIN = os.path.abspath(sys.argv[1])
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = "cors-secret"
failures = []


def serve_api(extra):
    port = free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([BIN, "serve", "--model", "metrics", "--port", str(port), "--watch-interval", "0", *extra],
                            cwd=ROOT, env=dict(os.environ, CUBEC_API_SECRET=SECRET), stdout=log, stderr=log)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=1)
            return proc, port
        except Exception:
            time.sleep(0.1)
    raise SystemExit("cubec serve did not start")


def browse(url):
    profile = tempfile.mkdtemp(prefix="cubec-chromium.")
    try:
        r = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                            "--disable-background-networking", "--disable-component-update", "--disable-sync",
                            f"--user-data-dir={profile}", "--virtual-time-budget=20000", "--dump-dom", url],
                           capture_output=True, text=True, timeout=90)
        return r.stdout
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def main():
    site = tempfile.mkdtemp(prefix="cubec-site.")
    shutil.copy(os.path.join(ROOT, "tests/browser/page.html"), site)
    # Cube's client bundled for the browser as a front end bundles it (esbuild from npm).
    e2e = os.path.join(ROOT, "tests/e2e")
    subprocess.run([os.path.join(e2e, "node_modules/.bin/esbuild"), "browser_entry.js", "--bundle", "--format=iife",
                    "--platform=browser", f"--outfile={site}/client.js", "--log-level=warning"], cwd=e2e, check=True)
    page_port = free_port()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=site)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", page_port), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{page_port}"
    for label, extra, want in [("allowed origin", ["--cors-origin", origin], "ROWS:"),
                               ("no CORS configured", [], "ERROR:")]:
        proc, api_port = serve_api(extra)
        try:
            q = urllib.parse.urlencode({"token": token(SECRET, {"sub": "browser"}), "api": f"http://127.0.0.1:{api_port}/cubejs-api/v1"})
            dom = browse(f"{origin}/page.html?{q}")
            result = dom.split('<pre id="out">', 1)[-1].split("</pre>", 1)[0]
            ok = result.startswith(want) and (want != "ROWS:" or int(result[5:] or 0) > 0)
            print(("ok   " if ok else "FAIL ") + f"{label}: the page shows {result[:120]!r}", flush=True)
            if not ok:
                failures.append(label)
        finally:
            proc.terminate()
            proc.wait(10)
    httpd.shutdown()
    shutil.rmtree(site, ignore_errors=True)


main()
print("\nbrowser CORS checks passed" if not failures else f"\n{len(failures)} browser check(s) failed")
sys.exit(1 if failures else 0)
