"""Benchmarks of the covenant gateway: numbers, not pass/fail.

* :mod:`bench.read_path`: the protected read over HTTP (token check, decision, decrypt, audit append,
  commit), with tokens the running gateway issued to registered partner systems (JWT-bearer grant),
  against the same FastAPI + SQLAlchemy read with no protection, on SQLite and PostgreSQL; and
  (:mod:`bench.token_check`) what checking the token costs in it.
* :mod:`bench.decide_vs_casbin`: ``covenant.decide()`` against pycasbin's ``enforce()`` answering the
  same question over 10,000 care-team links.

``python -m bench`` runs both; see ``bench/README.md``.
"""
