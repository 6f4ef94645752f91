"""Benchmarks of the covenant gateway: numbers, not pass/fail.

* :mod:`bench.read_path`: the protected read over HTTP (token check, decision, decrypt, audit append,
  commit) against the same FastAPI + SQLAlchemy read with no protection, on SQLite and PostgreSQL.
* :mod:`bench.decide_vs_casbin`: ``covenant.decide()`` against pycasbin's ``enforce()`` answering the
  same question over 10,000 care-team links.

``python -m bench`` runs both; see ``bench/README.md``.
"""
