"""structlog, configured once: key-value events, JSON outside the demo, ids only.

Log events carry ids and codes (request id, staff id, client pseudonym), never a name, a BSN,
content or a raw IP address. The standard library's loggers (uvicorn, SQLAlchemy, Alembic,
APScheduler) are routed through the same processors.
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(*, console: bool, level: str = "INFO") -> None:
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    renderer = structlog.dev.ConsoleRenderer(colors=False) if console else structlog.processors.JSONRenderer()
    structlog.configure(
        # filter_by_level first: a disabled level costs nothing further. Only for structlog's own
        # events: a standard-library record (uvicorn's) has passed its logger's level already and
        # reaches the formatter without a logger, which filter_by_level cannot take.
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=[
        structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "alembic"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
    # WeasyPrint reports every rendering step at INFO; a letter's own line (letter_rendered) is enough.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    # "Running job ..." every minute says nothing the lease table does not; the jobs log their own work.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
