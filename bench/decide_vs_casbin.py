"""``covenant.decide()`` against pycasbin's ``enforce()``, answering the same question.

The question: is staff member S linked to client C, and may S's party read category K? With
10,000 care-team links between staff of the demo covenant's parties and clients.

* The gateway: look S's link to C up in a dict of the 10,000 links (what the gateway's facts query
  yields: the latest link, or none) and call ``covenant.decide(subject, Action.RECORD_READ,
  Resource(client=ClientFacts(C), category=K, link=link), context)``, where the context (covenant in
  force, purpose, moment) is the request's, built once as the gateway builds it once per request.
  Look-up and decision are timed together.
* pycasbin, with the model of ``research/PERF-SECURITY.md`` §3.1: ``r = sub, obj, cat, act``;
  ``p = party, cat, act`` (the covenant's read/write matrix for the demo parties); ``g`` staff ->
  party; ``g2`` staff -> client (the links); loaded in bulk from a generated policy file.

Both answer the same sequence of requests (mixed: allowed, not linked, linked but the wrong
category); first every answer is compared, and the benchmark stops on any mismatch. Target: decide()
at least 100x faster. Each is timed
over several passes; the best pass counts (as with timeit), the median is reported alongside.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from covenant import Action, ClientFacts, Context, LinkFacts, Resource, Role, Subject, decide, load_covenant
from policies import DEMO_REGION, MODEL_COVENANT

COVENANTS = {"demo": DEMO_REGION, "model": MODEL_COVENANT}

from bench.common import load_note, machine, table, write_json

TARGET = 100.0

CASBIN_MODEL = """\
[request_definition]
r = sub, obj, cat, act

[policy_definition]
p = party, cat, act

[role_definition]
g = _, _
g2 = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.party) && g2(r.sub, r.obj) && r.cat == p.cat && r.act == p.act
"""

# share of each kind of request in the sequence
MIX = (("allowed", 0.5), ("not_linked", 0.25), ("wrong_category", 0.25))


def build_world(links: int, rng: random.Random, *, staff_count: int = 1_000, client_count: int = 4_000,
                covenant_name: str = "demo"):
    covenant = load_covenant(COVENANTS[covenant_name])
    parties = sorted(covenant.parties)
    now = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
    staff = {}
    for n in range(staff_count):
        party = parties[n % len(parties)]
        kind = covenant.parties[party].kind
        roles = frozenset({Role.CLIENT_MANAGER}) if kind == "shelter" else frozenset({Role.STAFF})
        staff_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        staff[staff_id] = Subject(id=staff_id, party=party, roles=roles, active=True,
                                  scopes=frozenset({"records:read", "records:write"}))
    clients = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(client_count)]
    staff_ids = list(staff)
    table_: dict[tuple[str, str], LinkFacts] = {}
    while len(table_) < links:
        pair = (rng.choice(staff_ids), rng.choice(clients))
        if pair not in table_:
            since = now - dt.timedelta(days=rng.randint(1, 700))
            table_[pair] = LinkFacts(id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), since=since)
    return covenant, now, staff, clients, table_


def build_requests(count: int, rng: random.Random, covenant, staff, clients, links) -> list[tuple[str, str, str, str]]:
    """(kind, S, C, K) requests in a shuffled mix."""
    linked = list(links)
    categories = sorted(covenant.categories)
    readable = {s: covenant.party_kind_of(subject.party).read for s, subject in staff.items()}
    staff_ids = list(staff)
    requests = []
    for kind, share in MIX:
        for _ in range(int(count * share)):
            if kind == "allowed":
                s, c = rng.choice(linked)
                k = rng.choice(sorted(readable[s]))
            elif kind == "not_linked":
                while True:
                    s, c = rng.choice(staff_ids), rng.choice(clients)
                    if (s, c) not in links:
                        break
                k = rng.choice(sorted(readable[s]))
            else:
                while True:
                    s, c = rng.choice(linked)
                    unreadable = [cat for cat in categories if cat not in readable[s]]
                    if unreadable:
                        break
                k = rng.choice(unreadable)
            requests.append((kind, s, c, k))
    rng.shuffle(requests)
    return requests


def casbin_policy_lines(covenant, staff, links) -> list[str]:
    lines = []
    for code, party in sorted(covenant.parties.items()):
        kind = covenant.party_kinds[party.kind]
        lines += [f"p, {code}, {category}, read" for category in sorted(kind.read)]
        lines += [f"p, {code}, {category}, write" for category in sorted(kind.write)]
    lines += [f"g, {staff_id}, {subject.party}" for staff_id, subject in staff.items()]
    lines += [f"g2, {s}, {c}" for s, c in links]
    return lines


def load_casbin(folder: Path, lines: list[str]):
    import casbin

    model_path = folder / "model.conf"
    policy_path = folder / "policy.csv"
    model_path.write_text(CASBIN_MODEL)
    policy_path.write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    enforcer = casbin.Enforcer(str(model_path), str(policy_path))
    return enforcer, time.perf_counter() - started


def _gateway_pass(requests, staff, links, covenant, now) -> tuple[float, list[bool]]:
    get_link = links.get
    read = Action.RECORD_READ
    context = Context(covenant=covenant, purpose="wellbeing", now=now)
    answers = []
    append = answers.append
    started = time.perf_counter()
    for _, s, c, k in requests:
        append(decide(staff[s], read, Resource(client=ClientFacts(id=c), category=k, link=get_link((s, c))),
                      context).allowed)
    return time.perf_counter() - started, answers


def _decide_only_pass(prebuilt) -> float:
    read = Action.RECORD_READ
    started = time.perf_counter()
    for subject, resource, context in prebuilt:
        decide(subject, read, resource, context)
    return time.perf_counter() - started


def _casbin_pass(requests, enforcer) -> tuple[float, list[bool]]:
    enforce = enforcer.enforce
    answers = []
    append = answers.append
    started = time.perf_counter()
    for _, s, c, k in requests:
        append(enforce(s, c, k, "read"))
    return time.perf_counter() - started, answers


def main(*, links: int = 10_000, requests: int = 6_000, gateway_passes: int = 7, casbin_passes: int = 3,
         covenant_name: str = "demo",
         seed: int = 20261123, log=print) -> dict[str, Any]:
    rng = random.Random(seed)
    log(f"decide() vs pycasbin enforce(), {links:,} links, the {covenant_name} covenant ({load_note()}):")
    covenant, now, staff, clients, link_table = build_world(links, rng, covenant_name=covenant_name)
    sequence = build_requests(requests, rng, covenant, staff, clients, link_table)
    lines = casbin_policy_lines(covenant, staff, link_table)
    p_rules = sum(1 for line in lines if line.startswith("p,"))
    with tempfile.TemporaryDirectory(prefix="bench-casbin-") as folder:
        enforcer, load_s = load_casbin(Path(folder), lines)
    log(f"  pycasbin loaded {p_rules} p rules, {len(staff):,} g and {links:,} g2 lines in {load_s:.2f} s")

    gc.collect()
    # The check pass: both answer every request; any difference stops the benchmark.
    gateway_first, gateway_answers = _gateway_pass(sequence, staff, link_table, covenant, now)
    casbin_first, casbin_answers = _casbin_pass(sequence, enforcer)
    expected = [kind == "allowed" for kind, *_ in sequence]
    mismatches = [{"request": i, "kind": sequence[i][0], "staff": sequence[i][1], "client": sequence[i][2],
                   "category": sequence[i][3], "decide": g, "casbin": c}
                  for i, (g, c) in enumerate(zip(gateway_answers, casbin_answers)) if g != c]
    off_expectation = sum(1 for g, e in zip(gateway_answers, expected) if g != e)
    document: dict[str, Any] = {
        "benchmark": "decide_vs_casbin", "machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "covenant": covenant.label, "parties": len(covenant.parties),
        "links": links, "staff": len(staff), "clients": len(clients), "p_rules": p_rules,
        "requests": len(sequence),
        "mix": {kind: sum(1 for r in sequence if r[0] == kind) for kind, _ in MIX},
        "casbin_version": _casbin_version(), "casbin_load_seconds": round(load_s, 3),
        "mismatches": len(mismatches), "mismatch_examples": mismatches[:10],
        "decide_differs_from_construction": off_expectation,
    }
    if mismatches or off_expectation:
        write_json(f"decide_vs_casbin_{covenant_name}.json", document)
        log(f"  MISMATCH: {len(mismatches)} requests answered differently "
            f"(and {off_expectation} differ from how the sequence was built); first: {mismatches[:3]}")
        raise SystemExit("decide() and casbin disagree; benchmark stopped")
    allowed = sum(gateway_answers)
    log(f"  identical answers on all {len(sequence):,} requests ({allowed:,} allowed, "
        f"{len(sequence) - allowed:,} refused)")

    gateway_times = [gateway_first]
    for _ in range(gateway_passes - 1):
        gateway_times.append(_gateway_pass(sequence, staff, link_table, covenant, now)[0])
    casbin_times = [casbin_first]
    for _ in range(casbin_passes - 1):
        casbin_times.append(_casbin_pass(sequence, enforcer)[0])
    # Best of several passes (as timeit does) for both: the least disturbed by whatever else runs.
    gateway_s, casbin_s = min(gateway_times), min(casbin_times)

    # For information: decide() alone, with the facts (Resource, Context) built before the clock starts.
    context = Context(covenant=covenant, purpose="wellbeing", now=now)
    prebuilt = [(staff[s], Resource(client=ClientFacts(id=c), category=k, link=link_table.get((s, c))), context)
                for _, s, c, k in sequence]
    decide_only_s = min(_decide_only_pass(prebuilt) for _ in range(gateway_passes))

    per_kind = {}
    for kind, _ in MIX:
        subset = [r for r in sequence if r[0] == kind]
        g = min(_gateway_pass(subset, staff, link_table, covenant, now)[0] for _ in range(gateway_passes))
        c = min(_casbin_pass(subset, enforcer)[0] for _ in range(2))
        per_kind[kind] = {"requests": len(subset), "decide_us": g / len(subset) * 1e6,
                          "casbin_us": c / len(subset) * 1e6, "ratio": c / g}

    n = len(sequence)
    ratio = casbin_s / gateway_s
    document.update({
        "statistic": "best of the passes (median alongside)",
        "decide": {"ops_per_s": n / gateway_s, "us_per_call": gateway_s / n * 1e6,
                   "median_us_per_call": statistics.median(gateway_times) / n * 1e6, "passes": len(gateway_times),
                   "pass_seconds": [round(t, 4) for t in gateway_times]},
        "decide_only_prebuilt_facts": {"ops_per_s": n / decide_only_s, "us_per_call": decide_only_s / n * 1e6},
        "casbin": {"ops_per_s": n / casbin_s, "us_per_call": casbin_s / n * 1e6,
                   "median_us_per_call": statistics.median(casbin_times) / n * 1e6, "passes": len(casbin_times),
                   "pass_seconds": [round(t, 4) for t in casbin_times]},
        "ratio": ratio, "ratio_of_medians": statistics.median(casbin_times) / statistics.median(gateway_times),
        "target": TARGET, "target_met": ratio >= TARGET,
        "per_kind": per_kind,
    })
    log("")
    log(table(["check", "ops/s", "us per call", "median us", "passes"],
              [["decide() + link look-up + facts", document["decide"]["ops_per_s"], document["decide"]["us_per_call"],
                document["decide"]["median_us_per_call"], len(gateway_times)],
               ["casbin enforce()", document["casbin"]["ops_per_s"], document["casbin"]["us_per_call"],
                document["casbin"]["median_us_per_call"], len(casbin_times)],
               ["(decide() alone, facts prebuilt)", document["decide_only_prebuilt_facts"]["ops_per_s"],
                document["decide_only_prebuilt_facts"]["us_per_call"], "", len(gateway_times)]]))
    log("")
    log(table(["requests", "count", "decide us", "casbin us", "casbin/decide"],
              [[kind, v["requests"], v["decide_us"], v["casbin_us"], f"{v['ratio']:.0f}x"]
               for kind, v in per_kind.items()]))
    log("")
    log(f"decide() is {ratio:,.0f}x faster than pycasbin (best passes; {document['ratio_of_medians']:,.0f}x on "
        f"medians); target >= {TARGET:.0f}x: " + ("MET" if ratio >= TARGET else "MISSED"))
    path = write_json(f"decide_vs_casbin_{covenant_name}.json", document)
    log(f"Figures written to bench/out/{path.name}. They vary from run to run: compare within one run.")
    return document


def _casbin_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("casbin")
    except Exception:
        return None
