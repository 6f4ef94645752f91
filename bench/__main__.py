"""``python -m bench [read-path|decide|all]``: run the benchmarks and print their tables.

Figures are written to ``bench/out/`` (read_path.json, decide_vs_casbin.json).
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("which", nargs="?", default="all", choices=("all", "read-path", "decide", "audit"))
    parser.add_argument("--engines", default="sqlite,postgresql",
                        help="read path: comma-separated engines (sqlite, postgresql)")
    parser.add_argument("--seconds", type=float, default=10.0, help="read path: seconds per measured wrk run")
    parser.add_argument("--warmup", type=float, default=3.0, help="read path: seconds of warm-up before each run")
    parser.add_argument("--clients", type=int, default=2_000, help="read path: clients to seed")
    parser.add_argument("--requests", type=int, default=4_000,
                        help="read path: distinct (token, client, entry) triples wrk cycles through")
    parser.add_argument("--concurrency", default="1,16", help="read path: comma-separated wrk connections")
    parser.add_argument("--links", type=int, default=10_000, help="decide: care-team links")
    parser.add_argument("--covenants", default="demo,model",
                        help="decide: the covenants whose parties the links join (demo: 4 parties, model: 12)")
    parser.add_argument("--appends", type=int, default=20_000, help="audit: events appended through the committer")
    parser.add_argument("--threads", type=int, default=8, help="audit: threads appending at once")
    parser.add_argument("--events", type=int, default=10_000_000, help="audit: events generated for the queries")
    parser.add_argument("--scale-schema", default=None,
                        help="audit: keep the generated trail in this PostgreSQL schema and reuse it next time")
    parser.add_argument("--keep", action="store_true", help="read path: keep the temporary folders")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    if args.which in ("all", "read-path"):
        from bench import read_path

        read_path.main(read_path.Options(
            engines=tuple(e.strip() for e in args.engines.split(",") if e.strip()),
            concurrencies=tuple(int(c) for c in args.concurrency.split(",")),
            seconds=args.seconds, warmup_seconds=args.warmup, clients=args.clients, requests=args.requests,
            keep=args.keep))
    if args.which in ("all", "decide"):
        from bench import decide_vs_casbin

        if args.which == "all":
            print()
        for name in args.covenants.split(","):
            decide_vs_casbin.main(links=args.links, covenant_name=name.strip())
            print()
    if args.which in ("all", "audit"):
        from bench import audit_trail

        audit_trail.main(audit_trail.Options(
            engines=tuple(e.strip() for e in args.engines.split(",") if e.strip()), appends=args.appends,
            threads=args.threads, events=args.events, scale_schema=args.scale_schema))
    print(f"\npython -m bench {args.which}: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
