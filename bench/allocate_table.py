"""Runs ``bench/allocate_bench.py`` (owned by the allocate work) and keeps its table."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

from bench.machine import ROOT, machine
from bench.results import write_result

SCRIPT = ROOT / "bench" / "allocate_bench.py"
METHOD = (
    "bench/allocate_bench.py with its defaults, run as a subprocess: minimax-regret solve "
    "times of the fast path (reduced-cost fixing) vs the plain CBC MILP on random "
    "initiatives, budget 30 % of total cost; its stdout table is kept verbatim."
)


def parse_table(text: str) -> list[dict[str, str]]:
    """Rows of an aligned table: the first non-empty line is the header, whose names may
    hold single spaces (``fast s``); columns are two or more spaces apart there."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = re.split(r"\s{2,}", lines[0])
    rows = [line.split() for line in lines[1:]]
    return [dict(zip(header, cells, strict=True)) for cells in rows if len(cells) == len(header)]


def benchmark(extra_args: list[str] | None = None) -> dict[str, Any]:
    started = machine()
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), *(extra_args or [])],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    print(completed.stdout, end="")
    if completed.returncode != 0:
        print(completed.stderr, file=sys.stderr, end="")
    results = {
        "returncode": completed.returncode,
        "stdout": completed.stdout,
        "rows": parse_table(completed.stdout),
    }
    path = write_result("allocate", METHOD, results, started)
    print(f"wrote {path}")
    return results


if __name__ == "__main__":
    benchmark(sys.argv[1:])
