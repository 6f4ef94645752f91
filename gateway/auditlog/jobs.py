"""The trail's scheduled job: seal every minute what was appended since the last checkpoint.

The run records its ``job.run`` event before it seals (the job's ``survey``), so the checkpoint it
signs covers that event too; the next run then finds nothing new and stays silent. (Were the event
recorded after sealing, each run would leave one event behind for the next run to seal, and the
job would never fall silent.)
"""

from __future__ import annotations

import datetime as dt

from audit import seal as audit_seal
from gateway.auditlog.sealing import seal_trail
from gateway.jobs.job import Counts, Job


def _unsealed(runtime) -> Counts:
    with runtime.engine.connect() as conn:
        return {"unsealed": audit_seal.unsealed(conn)}


def _seal(runtime, tx) -> Counts:
    checkpoint = seal_trail(runtime, now=tx.now)
    return {"tree_size": checkpoint.tree_size} if checkpoint else {}


SEAL = Job(name="audit.seal", description="seal the audit trail: a signed checkpoint over the new events",
           work=_seal, survey=_unsealed, every=dt.timedelta(minutes=1), lease=dt.timedelta(minutes=10))
