"""Scheduled jobs: work the gateway does on its own clock, once across all its instances.

Several stateless instances may serve one PostgreSQL, and each runs the same scheduler (APScheduler's
``BackgroundScheduler``, started by ``gateway serve``). What keeps a run from happening on every
instance is a lease in the database, not the scheduler: a row per job in ``job_lease``
(:mod:`gateway.jobs.lease`), taken with one conditional ``UPDATE`` (or, the first time, an ``INSERT``
whose primary key lets one of two racing instances win). Whoever holds an unexpired lease runs; the
others find it held and do nothing. A holder that crashes leaves a lease that expires after the
job's ``lease`` time. A table rather than PostgreSQL's advisory locks: it works the same on SQLite,
and it tells an operator when each job last ran and how that went (``gateway jobs list``).

A scheduled run also refuses to start within half a period of the last start anywhere, so that N
instances firing the same minute make one run, not N runs one after the other. ``gateway jobs run``
ignores that spacing (the operator wants it now) but not the lease.

Every run is decided by ``covenant.decide`` for the local administrator (``job.run``, purpose
``covenant_administration``) and recorded as a ``job.run`` event, refusals and failures included,
with one exception: a scheduled run that found nothing to do records nothing, so that a job that
runs every minute does not fill the trail with its idleness (the lease row still says it ran).

A job is a :class:`gateway.jobs.job.Job`: a name, a schedule, and a function of the runtime and a
:class:`gateway.transaction.Transaction` that returns counts (nothing done: all zero). Jobs are listed
in :data:`gateway.jobs.registry.JOBS`; a domain defines its own in its ``jobs.py``.
"""
