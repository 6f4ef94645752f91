"""Small helpers shared by the benchmarks: where outputs go, tables, a free port."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out"
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL",
                              os.environ.get("GATEWAY_TEST_POSTGRES_URL",
                                             "postgresql+psycopg://postgres@127.0.0.1:5432/test"))


def out_dir() -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    return OUT


def write_json(name: str, document: Any) -> Path:
    path = out_dir() / name
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path


def machine() -> dict[str, Any]:
    return {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()], "code": code_state()}


def code_state() -> dict[str, Any]:
    """Which code was measured: the commit and the files changed since (read-only git commands)."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
            return done.stdout if done.returncode == 0 else None
        except (OSError, subprocess.SubprocessError):
            return None

    status = git("status", "--porcelain", "--untracked-files=no")
    commit = git("rev-parse", "--short", "HEAD")
    return {"commit": commit.strip() if commit else None,
            "modified": [line[3:] for line in status.splitlines() if line.strip()] if status else []}


def load_note() -> str:
    load = os.getloadavg()[0]
    return (f"1-minute load average {load:.2f} on {os.cpu_count()} cores, counting whatever ran in the last "
            "minute (this benchmark's own earlier work too)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain-text table, right-aligned numbers."""
    rows = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths)),
             "  ".join("-" * w for w in widths)]
    for row in rows:
        lines.append("  ".join(cell.rjust(w) if _numeric(cell) else cell.ljust(w) for cell, w in zip(row, widths)))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _numeric(cell: str) -> bool:
    return cell.replace(",", "").replace(".", "").replace("x", "").replace("-", "").isdigit()
