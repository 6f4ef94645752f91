"""The ``gateway`` command: set up the demo, serve, mint a local token, seal and verify the trail, rotate keys,
run the scheduled jobs.

Output meant for scripts goes to standard output; logs go to standard error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Sequence

import structlog
from pydantic import ValidationError

from covenant import CovenantError
from gateway.config import Settings
from gateway.errors import GatewayError
from gateway.logging import configure_logging
from gateway.runtime import Runtime
from gateway.vault import VaultError

log = structlog.get_logger("gateway.cli")


def _runtime(settings: Settings) -> Runtime:
    return Runtime.build(settings)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.demo import seed_demo

    with _runtime(settings) as runtime:
        ids = seed_demo(runtime)
    if args.json:
        print(json.dumps(ids.as_json(), indent=2))
    else:
        print(f"Demo ready in {settings.home}/ (covenant {runtime.covenant.label}).")
        for name, staff_id in ids.staff.items():
            print(f"  {name:16} {staff_id}")
        print(f"  demo client      {ids.clients[0]}")
        print("Mint a token with: gateway token --staff <id>")
    return 0


def _day(value: str) -> dt.date:
    """``--today``: an ISO date (argparse answers exit 2 with this message otherwise)."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--today is not a date YYYY-MM-DD: {value!r}") from None


def _at_least_one(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError("--batch-size must be at least 1")
    return int(value)


def _unfinished(run, *, held: str, failed: str, done: bool = True) -> int | None:
    """A job run by hand that did not happen (another instance holds its lease) or failed: say so on
    standard error and answer exit 1; ``None`` when it ran."""
    from gateway.jobs.service import ERROR, HELD

    if run.outcome == HELD:
        print(f"gateway: {held}", file=sys.stderr)
        return 1
    if run.outcome == ERROR or not done:
        print(f"gateway: {failed}; see the log and the trail (job.run, outcome error)", file=sys.stderr)
        return 1
    return None


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.operations import start_service
    from gateway.regions import DEFAULT, build_runtimes, create_gateway_app

    host = args.host or settings.host
    port = args.port or settings.port
    if settings.demo and not _loopback(host):
        print("gateway: demo mode serves on this machine only (127.0.0.1 or ::1); "
              "set GATEWAY_MODE=production to listen elsewhere", file=sys.stderr)
        return 2
    # Every region's own runtime (gateway.regions): the default's, and each of GATEWAY_REGIONS.
    runtimes = build_runtimes(settings)
    lacking = [region for region, runtime in runtimes.items() if runtime.versions.at(runtime.clock()) is None]
    if lacking:
        # Fail closed: without a version every party approved there is nothing to decide by (art. 16).
        for runtime in runtimes.values():
            runtime.close()
        print(f"gateway: no covenant version is in force{'' if lacking == [DEFAULT] else ' in ' + ', '.join(lacking)}"
              ": propose one (gateway covenant propose FILE) and have every party approve it (gateway covenant "
              "approve); see gateway covenant status", file=sys.stderr)
        return 2
    schedulers = []
    try:
        for region, runtime in runtimes.items():
            start_service(runtime)
            if settings.scheduler:
                from gateway.jobs.scheduler import start_scheduler

                schedulers.append(start_scheduler(runtime))
            log.info("serving", region=region, host=host, port=port, covenant=runtime.covenant.label,
                     scheduler=settings.scheduler)
        # One process: on SQLite exactly one process may write the audit trail (see DESIGN.md).
        uvicorn.run(create_gateway_app(runtimes), host=host, port=port, log_config=None, access_log=False,
                    server_header=False)
    finally:
        from gateway.jobs.scheduler import stop_scheduler

        for scheduler in schedulers:
            stop_scheduler(scheduler)
        for runtime in runtimes.values():
            runtime.close()
    return 0


def _refused(exc: GatewayError) -> int:
    print(f"gateway: refused: {exc.detail}", file=sys.stderr)
    return 1


def _moment(value: str) -> dt.datetime:
    """``--effective-from``: an ISO 8601 moment with its UTC offset."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"--effective-from is not an ISO moment with its offset "
                                         f"(2026-12-01T00:00:00+01:00): {value!r}")
    return moment.astimezone(dt.UTC)


def cmd_covenant(settings: Settings, args: argparse.Namespace) -> int:
    """``gateway covenant propose|approve|status|diff|keys``: covenant versions every party signs (art. 16).

    A refusal (an invalid document, a forged or reused signature, a key of another party ...) answers
    exit 1 with the reason on standard error; it is in the trail and changed nothing."""
    from gateway.covenants import service

    verb = args.covenant_verb
    with _runtime(settings) as runtime:
        try:
            if verb == "propose":
                state = service.propose(runtime, args.file, effective_from=args.effective_from)
                print(f"proposed {state.label} (digest {state.digest}); awaiting approval by: "
                      f"{', '.join(state.missing)}")
            elif verb == "approve":
                if (args.key is None) == (args.signature is None):
                    print("gateway: approve takes --key PRIVATE_KEY_FILE or --signature BASE64", file=sys.stderr)
                    return 2
                done = service.approve(runtime, args.version, party=args.party, signature=args.signature,
                                       private_key_file=args.key)
                if done.effective_at is not None:
                    print(f"{done.party} approved {done.version} (key {done.key_id}); every party has approved: "
                          f"in force from {done.effective_at.isoformat()}")
                else:
                    print(f"{done.party} approved {done.version} (key {done.key_id}); still to approve: "
                          f"{', '.join(done.missing)}")
            elif verb == "status":
                states = service.status(runtime)
                if args.json:
                    print(json.dumps([s.as_json() for s in states], indent=2))
                for state in [] if args.json else states:
                    since = f" since {state.effective_at.isoformat()}" if state.effective_at else ""
                    print(f"{state.label}  {state.state}{since}  digest {state.digest[:16]}")
                    for approval in state.approvals:
                        print(f"    approved by {approval['party']} ({approval['key_id']}) at {approval['approved_at']}")
                    if state.missing:
                        print(f"    missing: {', '.join(state.missing)}")
                if not states and not args.json:
                    print("no covenant version proposed yet")
            elif verb == "diff":
                sys.stdout.write(service.diff(runtime, args.first, args.second))
            elif verb == "keys" and args.keys_verb == "add":
                key_id = service.add_key(runtime, args.party, args.public_key_file)
                print(f"registered {key_id} for {args.party}")
            elif verb == "keys" and args.keys_verb == "list":
                keys = service.list_keys(runtime)
                if args.json:
                    print(json.dumps(keys, indent=2))
                for key in [] if args.json else keys:
                    revoked = f"  revoked {key['revoked_at']}" if key["revoked_at"] else ""
                    print(f"{key['key_id']}  {key['party']}  registered {key['registered_at']}{revoked}")
            elif verb == "keys" and args.keys_verb == "revoke":
                service.revoke_key(runtime, args.key_id)
                print(f"revoked {args.key_id}")
        except GatewayError as exc:
            return _refused(exc)
    return 0


def cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.operations import issue_token

    try:
        staff_id = uuid.UUID(args.staff)
    except ValueError:
        print("gateway: --staff takes a staff member's id (a UUID)", file=sys.stderr)
        return 2
    with _runtime(settings) as runtime:
        print(issue_token(runtime, staff_id=staff_id, ttl_seconds=args.ttl))
    return 0


def cmd_audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.operations import verify_trail

    witness = None
    if args.checkpoints:
        try:
            witness = json.loads(Path(args.checkpoints).read_text())
        except OSError as exc:
            print(f"gateway: cannot read {args.checkpoints}: {exc.strerror}", file=sys.stderr)
            return 2
        except ValueError:
            print(f"gateway: {args.checkpoints} is not JSON", file=sys.stderr)
            return 2
    with _runtime(settings) as runtime:
        report = verify_trail(runtime, witness=witness)
    print(report.describe())
    return 0 if report.ok else 1


def cmd_audit_seal(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.operations import seal_now

    with _runtime(settings) as runtime:
        checkpoint = seal_now(runtime)
    if checkpoint is None:
        print("nothing to seal: no event since the last checkpoint")
    else:
        print(f"sealed {checkpoint.tree_size} events: root {checkpoint.root_hash.hex()} (key {checkpoint.key_id})")
    return 0


def cmd_audit_checkpoints(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.operations import export_checkpoints

    with _runtime(settings) as runtime:
        document = export_checkpoints(runtime)
    text = json.dumps(document, indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text)
        print(f"{len(document['checkpoints'])} checkpoints written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_audit_prove(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.operations import prove_event

    try:
        event_id = uuid.UUID(args.event_id)
    except ValueError:
        print("gateway: EVENT_ID is an audit event's id (a UUID)", file=sys.stderr)
        return 2
    with _runtime(settings) as runtime:
        proof = prove_event(runtime, event_id=event_id)
    print(json.dumps(proof, indent=2))
    return 0


def cmd_audit_consistency(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.operations import prove_consistency

    with _runtime(settings) as runtime:
        proof = prove_consistency(runtime, first=args.first_size, second=args.second_size)
    print(json.dumps(proof, indent=2))
    return 0


def cmd_keys_rotate(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.operations import rotate_keys

    with _runtime(settings) as runtime:
        report = rotate_keys(runtime)
    print(f"new key-encryption key {report.new_kek}: {report.rewrapped} data keys rewrapped, "
          f"{len(report.destroyed)} old key-encryption key(s) destroyed")
    return 0


def cmd_keys_rotate_signing(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.operations import rotate_signing_keys

    with _runtime(settings) as runtime:
        kid, destroyed = rotate_signing_keys(runtime)
    print(f"new token-signing key {kid}; the previous one verifies for a day more; "
          f"{len(destroyed)} key(s) past that destroyed")
    return 0


def cmd_partners_add(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.operations import register_partner

    jwks = None
    if args.jwks:
        try:
            jwks = Path(args.jwks).read_text()
        except OSError as exc:
            print(f"gateway: cannot read {args.jwks}: {exc.strerror}", file=sys.stderr)
            return 2
    with _runtime(settings) as runtime:
        registration = register_partner(runtime, party=args.party, name=args.name, jwks=jwks,
                                        client_id=args.client_id, scopes=args.scopes.split() if args.scopes else None)
    result = {"client_id": registration.client_id, "party": registration.party,
              "token_endpoint_auth_method": registration.auth_method, "scopes": registration.scopes}
    if registration.secret:
        result["client_secret"] = registration.secret
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"registered {registration.client_id} for {registration.party} ({registration.auth_method})")
        if registration.secret:
            print(f"client secret (shown once, store it in the partner system): {registration.secret}")
    return 0


def cmd_partners_list(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.operations import list_partners

    with _runtime(settings) as runtime:
        rows = list_partners(runtime)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            state = "active" if row["active"] else "switched off"
            print(f"{row['client_id']:40} {row['party']:28} {row['auth_method']:20} {state}")
    return 0


def cmd_partners_deactivate(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.operations import deactivate_partner

    with _runtime(settings) as runtime:
        deactivate_partner(runtime, client_id=args.client_id)
    print(f"{args.client_id} switched off; its tokens are refused from now on")
    return 0


def cmd_staff_email(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.operations import set_staff_email

    if (args.address is None) == (not args.clear):
        print("gateway: give an ADDRESS, or --clear to remove the staff member's address", file=sys.stderr)
        return 2
    with _runtime(settings) as runtime:
        staff_id = set_staff_email(runtime, staff=args.staff, address=None if args.clear else args.address)
    print(f"staff member {staff_id}: deadline notices " + ("are not mailed" if args.clear else "are mailed there"))
    return 0


def cmd_jobs_list(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.jobs.service import list_jobs

    with _runtime(settings) as runtime:
        rows = list_jobs(runtime)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            last = (f"last started {row['last_started']}, {row['last_outcome'] or 'running'}"
                    if row["last_started"] else "never run")
            held = f"; held by {row['held_by']} until {row['held_until']}" if row["held_by"] else ""
            print(f"{row['name']:24} {row['schedule']:20} {last}{held}")
    return 0


def cmd_jobs_run(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.jobs.service import find_job, run_job

    with _runtime(settings) as runtime:
        run = run_job(runtime, find_job(args.name), manual=True)
    counts = ", ".join(f"{name} {count}" for name, count in run.counts.items()) or "nothing to do"
    if (code := _unfinished(run, held=f"{run.job} not run: another instance holds its lease",
                            failed=f"{run.job} failed")) is not None:
        return code
    print(f"{run.job}: {run.outcome} ({counts})")
    return 0


def cmd_deadlines(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.jobs.service import run_job
    from gateway.rights.jobs import deadlines_job

    with _runtime(settings) as runtime:
        run = run_job(runtime, deadlines_job(args.today), manual=True)
    counts = ", ".join(f"{name} {count}" for name, count in run.counts.items() if count) or "nothing to do"
    held = "deadlines not run: another instance is running the pass (it holds the lease)"
    if (code := _unfinished(run, held=held, failed="the deadlines pass failed")) is not None:
        return code
    print(f"deadlines: {run.outcome} ({counts})")
    return 0


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.jobs.service import run_job
    from gateway.retention.jobs import purge_job

    reports = []
    with _runtime(settings) as runtime:
        run = run_job(runtime, purge_job(today=args.today, dry_run=args.dry_run, batch_size=args.batch_size,
                                         sink=reports.append), manual=True)
    if (code := _unfinished(run, held="purge not run: another instance is running it (it holds the lease)",
                            failed="the purge failed", done=bool(reports))) is not None:
        return code
    report = reports[0]
    if args.dry_run:
        for pseudonym in report.pseudonyms:
            print(pseudonym)
        print(f"dry run as of {report.today.isoformat()}: {report.clients_destroyed} client(s) would be destroyed "
              f"({report.entries_destroyed} entries), {report.clients_held} held; nothing was changed",
              file=sys.stderr)
    else:
        print(f"purge as of {report.today.isoformat()}: {report.clients_destroyed} client(s) destroyed "
              f"({report.entries_destroyed} entries, {report.resumed} finished from an earlier run) in "
              f"{report.batches} batch(es); {report.clients_held} held")
    return 0


def _write(text: str, output: str | None, what: str) -> None:
    if output:
        Path(output).write_text(text)
        print(f"{what} written to {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def cmd_register(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.register.document import to_markdown
    from gateway.register.service import export_register_as_administrator

    with _runtime(settings) as runtime:
        register = export_register_as_administrator(runtime, export_format=args.format)
    text = to_markdown(register) if args.format == "markdown" else json.dumps(register, indent=2, ensure_ascii=False) + "\n"
    _write(text, args.output, "the processing register")
    return 0


def cmd_report_monthly(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.reports.service import monthly_report_as_administrator, to_markdown

    with _runtime(settings) as runtime:
        report = monthly_report_as_administrator(runtime, month=args.month, export_format=args.format)
    text = to_markdown(report) if args.format == "markdown" else json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    _write(text, args.output, "the monthly report")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description="The covenant gateway.")
    verbs = parser.add_subparsers(dest="verb", required=True)

    demo = verbs.add_parser("demo", help="set up the embedded default with the demo region (idempotent)")
    demo.add_argument("--json", action="store_true", help="print the demo's ids as JSON")
    demo.set_defaults(handler=cmd_demo)

    serve = verbs.add_parser("serve", help="apply migrations and serve the HTTP API")
    serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port to listen on (default 8000)")
    serve.set_defaults(handler=cmd_serve)

    token = verbs.add_parser("token", help="mint a bearer token for a staff member, locally")
    token.add_argument("--staff", required=True, metavar="STAFF_ID")
    token.add_argument("--ttl", type=int, default=None, metavar="SECONDS", help="lifetime (default 3600)")
    token.set_defaults(handler=cmd_token)

    audit = verbs.add_parser("audit", help="the audit trail").add_subparsers(dest="audit_verb", required=True)
    verify = audit.add_parser("verify", help="verify the hash chain and the signed checkpoints; exit 1 naming "
                                             "the first bad event or checkpoint")
    verify.add_argument("--checkpoints", metavar="FILE", default=None,
                        help="also hold the trail against a witness's checkpoints (from gateway audit checkpoints)")
    verify.set_defaults(handler=cmd_audit_verify)
    audit.add_parser("seal", help="sign a checkpoint over the events since the last one").set_defaults(
        handler=cmd_audit_seal)
    export = audit.add_parser("checkpoints", help="the signed checkpoints and public key, as JSON for witnesses")
    export.add_argument("--out", metavar="FILE", default=None, help="write to FILE instead of standard output")
    export.set_defaults(handler=cmd_audit_checkpoints)
    prove = audit.add_parser("prove", help="an inclusion proof of one event in the latest checkpoint (JSON)")
    prove.add_argument("event_id", metavar="EVENT_ID")
    prove.set_defaults(handler=cmd_audit_prove)
    consistency = audit.add_parser("consistency", help="a consistency proof that the checkpoint of SECOND_SIZE "
                                                       "events extends the one of FIRST_SIZE (JSON)")
    consistency.add_argument("first_size", metavar="FIRST_SIZE", type=int)
    consistency.add_argument("second_size", metavar="SECOND_SIZE", type=int)
    consistency.set_defaults(handler=cmd_audit_consistency)

    keys = verbs.add_parser("keys", help="the key folder").add_subparsers(dest="keys_verb", required=True)
    keys.add_parser("rotate", help="new key-encryption key; rewrap every data key").set_defaults(
        handler=cmd_keys_rotate)
    keys.add_parser("rotate-signing", help="new token-signing key; the old one verifies a day more").set_defaults(
        handler=cmd_keys_rotate_signing)

    partners = verbs.add_parser("partners", help="partner systems (OAuth clients)").add_subparsers(
        dest="partners_verb", required=True)
    add = partners.add_parser("add", help="register a party's system; prints its client id (and secret)")
    add.add_argument("--party", required=True, help="the covenant party the system belongs to")
    add.add_argument("--name", required=True, help="what the system is called, e.g. 'Shelter registration'")
    add.add_argument("--jwks", metavar="FILE", help="the system's public JSON Web Key Set (private_key_jwt); "
                                                    "without it the system gets a client secret")
    add.add_argument("--client-id", default=None, help="choose the client id (default: generated)")
    add.add_argument("--scopes", default=None, help="space-separated scopes its tokens may carry (default: all)")
    add.add_argument("--json", action="store_true", help="print the registration as JSON")
    add.set_defaults(handler=cmd_partners_add)
    listing = partners.add_parser("list", help="the registered systems")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_partners_list)
    off = partners.add_parser("deactivate", help="switch a system off; its tokens stop working at once")
    off.add_argument("client_id")
    off.set_defaults(handler=cmd_partners_deactivate)

    staff = verbs.add_parser("staff", help="the parties' staff").add_subparsers(dest="staff_verb", required=True)
    email = staff.add_parser("email", help="set or clear where a staff member's deadline notices are mailed")
    email.add_argument("staff", metavar="STAFF", help="the staff member's id or handle")
    email.add_argument("address", metavar="ADDRESS", nargs="?")
    email.add_argument("--clear", action="store_true", help="mail nothing to this staff member")
    email.set_defaults(handler=cmd_staff_email)

    jobs = verbs.add_parser("jobs", help="the scheduled jobs").add_subparsers(dest="jobs_verb", required=True)
    listing = jobs.add_parser("list", help="each job, its schedule, and its last run")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_jobs_list)
    run = jobs.add_parser("run", help="run one job once now (exit 1 when another instance holds it)")
    run.add_argument("name", metavar="NAME", help="a job's name, as gateway jobs list shows it")
    run.set_defaults(handler=cmd_jobs_run)

    deadlines = verbs.add_parser("deadlines", help="send the reminders and escalations due today, once each "
                                                   "(exit 1 when another instance is running the pass)")
    deadlines.add_argument("--today", type=_day, default=None, metavar="YYYY-MM-DD",
                           help="as of this date (default: today in the covenant's time zone)")
    deadlines.set_defaults(handler=cmd_deadlines)

    purge = verbs.add_parser("purge", help="destroy every client whose retention term has ended (art. 9.3) "
                                           "(exit 1 when another instance is running the purge)")
    purge.add_argument("--dry-run", action="store_true",
                       help="print the pseudonyms that would be destroyed, and counts; destroy nothing")
    purge.add_argument("--today", type=_day, default=None, metavar="YYYY-MM-DD",
                       help="as of this date (default: today in the covenant's time zone)")
    purge.add_argument("--batch-size", type=_at_least_one, default=500, metavar="N",
                       help="clients per batch (default 500)")
    purge.set_defaults(handler=cmd_purge)
    _covenant_parser(verbs)

    register = verbs.add_parser("register", help="the processing register (art. 15, GDPR art. 30) of the covenant "
                                                 "in force")
    register.add_argument("--format", choices=("markdown", "json"), default="markdown")
    register.add_argument("--output", metavar="FILE", help="write to FILE instead of standard output")
    register.set_defaults(handler=cmd_register)

    report = verbs.add_parser("report", help="reports to the coordination point").add_subparsers(
        dest="report_verb", required=True)
    monthly = report.add_parser("monthly", help="the monthly progress report (Instrument 2): counts per party "
                                                "and status, small counts suppressed")
    monthly.add_argument("--month", required=True, metavar="YYYY-MM")
    monthly.add_argument("--format", choices=("markdown", "json"), default="markdown")
    monthly.add_argument("--output", metavar="FILE", help="write to FILE instead of standard output")
    monthly.set_defaults(handler=cmd_report_monthly)
    _region_option(parser, top=True)
    return parser


def _region_option(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``--region ID`` before the verb or after it, on every verb: the region administered (the
    default region's when absent; see gateway.regions). ``gateway serve`` serves every region."""
    parser.add_argument("--region", metavar="ID", default=None if top else argparse.SUPPRESS,
                        help="the region (covenant) to administer, one of GATEWAY_REGIONS (default: the default one)")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in {id(sub): sub for sub in action.choices.values()}.values():
                _region_option(sub)


def _covenant_parser(verbs) -> None:
    covenant = verbs.add_parser("covenant", help="covenant versions that every party signs (art. 16)")
    covenant.set_defaults(handler=cmd_covenant)
    sub = covenant.add_subparsers(dest="covenant_verb", required=True)
    propose = sub.add_parser("propose", help="propose a new version from a covenant document")
    propose.add_argument("file", metavar="FILE")
    propose.add_argument("--effective-from", type=_moment, default=None,
                         help="not in force before this moment (ISO 8601 with offset), even once all approved")
    approve = sub.add_parser("approve", help="a party approves a version with its signing key")
    approve.add_argument("version", metavar="VERSION", help="the version (e.g. 2) or its label (demo-region@2)")
    approve.add_argument("--party", required=True)
    approve.add_argument("--key", metavar="PRIVATE_KEY_FILE", help="sign here with this Ed25519 key (PEM)")
    approve.add_argument("--signature", metavar="BASE64", help="a signature made elsewhere")
    status = sub.add_parser("status", help="the versions, who approved, who is missing, which is in force")
    status.add_argument("--json", action="store_true")
    diff = sub.add_parser("diff", help="unified diff of two versions' canonical documents")
    diff.add_argument("first", metavar="A")
    diff.add_argument("second", metavar="B")
    keys = sub.add_parser("keys", help="the parties' approval keys").add_subparsers(dest="keys_verb", required=True)
    add = keys.add_parser("add", help="register a party's Ed25519 public key; prints its fingerprint")
    add.add_argument("party", metavar="PARTY")
    add.add_argument("public_key_file", metavar="PUBLIC_KEY_FILE")
    listing = keys.add_parser("list", help="the registered keys, revoked ones included")
    listing.add_argument("--json", action="store_true")
    revoke = keys.add_parser("revoke", help="revoke a key: it approves nothing from now on")
    revoke.add_argument("key_id", metavar="KEY_ID")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.umask(0o077)  # databases, key files and their journals: for the gateway's user only
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"gateway: configuration refused: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    configure_logging(console=settings.console_logs, level=settings.log_level)
    from gateway.regions import DEFAULT, RegionError, settings_for

    if args.region not in (None, DEFAULT) and args.handler is cmd_serve:
        print("gateway: gateway serve serves every region; --region is for administering one", file=sys.stderr)
        return 2
    try:
        settings = settings_for(settings, args.region)
    except RegionError as exc:
        print(f"gateway: configuration refused: {exc}", file=sys.stderr)
        return 2
    try:
        return args.handler(settings, args)
    except CovenantError as exc:
        print(f"gateway: the covenant document is invalid: {exc}", file=sys.stderr)
        return 2
    except VaultError as exc:
        print(f"gateway: key problem: {exc}", file=sys.stderr)
        return 2
    except GatewayError as exc:
        print(f"gateway: refused: {exc.detail}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
