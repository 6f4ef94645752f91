"""``python -m bench [read-path|decide|audit|purge|all]``: run the benchmarks and print their tables.

Figures are written to ``bench/out/`` (read_path.json, decide_vs_casbin.json, audit_trail.json, purge.json).
``all`` runs the read path, decide and the audit trail; the purge (100,000 clients) only when named.
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("which", nargs="?", default="all", choices=("all", "read-path", "decide", "audit", "purge"))
    parser.add_argument("--engines", default="sqlite,postgresql",
                        help="read path: comma-separated engines (sqlite, postgresql)")
    parser.add_argument("--seconds", type=float, default=10.0, help="read path: seconds per measured wrk run")
    parser.add_argument("--warmup", type=float, default=3.0, help="read path: seconds of warm-up before each run")
    parser.add_argument("--clients", type=int, default=None,
                        help="read path: clients to seed (2,000); purge: clients to generate (100,000)")
    parser.add_argument("--entries", type=int, default=10, help="purge: entries per client")
    parser.add_argument("--batch-size", type=int, default=500, help="purge: the purge's batch size")
    parser.add_argument("--content-size", type=int, default=500, help="purge: characters per generated note")
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
    parser.add_argument("--appends-baseline", default=None, metavar="REVISION",
                        help="audit: also measure appends on a trail migrated only to this revision (e.g. 0006when)")
    parser.add_argument("--keep", action="store_true", help="read path: keep the temporary folders")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    if args.which in ("all", "read-path"):
        from bench import read_path

        read_path.main(read_path.Options(
            engines=tuple(e.strip() for e in args.engines.split(",") if e.strip()),
            concurrencies=tuple(int(c) for c in args.concurrency.split(",")),
            seconds=args.seconds, warmup_seconds=args.warmup, clients=args.clients or 2_000, requests=args.requests,
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
            threads=args.threads, events=args.events, scale_schema=args.scale_schema,
            appends_baseline=args.appends_baseline))
    if args.which == "purge":
        from bench import purge

        purge.main(purge.Options(
            engines=tuple(e.strip() for e in args.engines.split(",") if e.strip()),
            clients=args.clients or 100_000, entries=args.entries, batch_size=args.batch_size,
            content_size=args.content_size, keep=args.keep))
    print(f"\npython -m bench {args.which}: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
