"""Serve one app for the read-path benchmark, in a process of its own.

    python -m bench.serve gateway --port 8123 --config '{"home": ..., "database_url": ..., "public_url": ...}'
    python -m bench.serve plain   --port 8124 --config '{"database_url": ...}'

``gateway`` builds the Runtime in this process from the settings given (as ``gateway serve`` does:
migrations, the service start in the trail) and serves ``gateway.main.create_app(runtime)``. Its
public URL (and so the OAuth issuer, the ``aud`` partner systems sign their assertions for) is the
one given, and the access tokens it issues live ``oauth_token_ttl_seconds`` (default here: 3600, the
most the gateway allows), so that tokens fetched before a run outlive it;
``plain`` serves the unprotected baseline of :mod:`bench.plain_app`. Both with uvicorn, one worker,
uvloop and httptools, no access log, log level warning.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serve")
    parser.add_argument("app", choices=("gateway", "plain"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--config", required=True, help="JSON: home, database_url, keystore_url, keys_dir, "
                                                         "public_url, issuer, oauth_token_ttl_seconds")
    args = parser.parse_args(argv)
    config = json.loads(args.config)
    os.umask(0o077)

    import uvicorn

    from gateway.logging import configure_logging

    configure_logging(console=False, level="WARNING")
    if args.app == "gateway":
        from gateway.config import Settings
        from gateway.main import create_app
        from gateway.operations import start_service
        from gateway.runtime import Runtime

        settings = Settings(_env_file=None, mode="demo", home=Path(config["home"]),
                            database_url=config["database_url"], keystore_url=config["keystore_url"],
                            keys_dir=Path(config["keys_dir"]), public_url=config["public_url"],
                            issuer=config.get("issuer") or "",
                            oauth_token_ttl_seconds=config.get("oauth_token_ttl_seconds", 3600),
                            # The read path is measured, not the limit: the limiter still counts every
                            # request (its cost is in the figures) but never says no.
                            rate_limit=config.get("rate_limit", "100000000/minute"),
                            log_format="json", log_level="WARNING")
        runtime = Runtime.build(settings)
        start_service(runtime, verb="bench")
        app = create_app(runtime)
    else:
        from bench.plain_app import create_plain_app

        runtime = None
        app = create_plain_app(config["database_url"])

    try:
        uvicorn.run(app, host="127.0.0.1", port=args.port, workers=1, loop="uvloop", http="httptools",
                    access_log=False, log_level="warning", log_config=None, server_header=False,
                    lifespan="off")
    finally:
        if runtime is not None:
            runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
