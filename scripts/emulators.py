#!/usr/bin/env python3
"""Starts the warehouse emulators the tests run against, and prints their URLs.

  python3 scripts/emulators.py snowflake PORT   fakesnow's server: Snowflake's login and query
                                                HTTP API, the one the official connectors speak
  python3 scripts/emulators.py bigquery PORT    bqemulator: BigQuery's REST API v2

Each runs in the foreground until killed. bqemulator loads DuckDB's spatial extension when it
starts, which downloads it from the internet; offline that fails and stops the emulator. cubec
never uses GEOGRAPHY, so that one method is replaced here at import time (the package itself is
not edited).
"""
import sys


def snowflake(port):
    import uvicorn

    import fakesnow.server

    uvicorn.run(fakesnow.server.app, host="127.0.0.1", port=port, log_level="warning")


def bigquery(port):
    from bqemulator.storage import engine

    engine_classes = [c for c in vars(engine).values() if isinstance(c, type) and hasattr(c, "_load_spatial")]
    if not engine_classes:
        sys.exit("bqemulator no longer has _load_spatial: update scripts/emulators.py")
    for cls in engine_classes:
        cls._load_spatial = lambda self: None

    from bqemulator.cli import main

    main(["start", "--rest-port", str(port), "--grpc-port", "0", "--project", "cubec-test",
          "--log-level", "warning"], standalone_mode=True)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("snowflake", "bigquery"):
        sys.exit(__doc__)
    {"snowflake": snowflake, "bigquery": bigquery}[sys.argv[1]](int(sys.argv[2]))
