"""The allocate benchmark as ``make bench`` runs it (``bench/allocate_bench.py``), and a
reader for its Markdown rows."""

from __future__ import annotations

import re
import sys
from typing import Any

from impact_allocate.instances import FAMILIES, HARD

from bench import allocate_bench


def parse_table(text: str) -> list[dict[str, str]]:
    """Rows of an aligned table: the first non-empty line is the header, whose names may
    hold single spaces (``fast s``); columns are two or more spaces apart there."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = re.split(r"\s{2,}", lines[0])
    rows = [line.split() for line in lines[1:]]
    return [dict(zip(header, cells, strict=True)) for cells in rows if len(cells) == len(header)]


def benchmark(sizes: list[int] | None = None) -> list[dict[str, Any]]:
    """Every family (and the hard one) at 1,000 to 100,000 initiatives, 120 s limit; the
    plain CBC MILP on the project generator up to 1,000."""
    sizes = sizes or [1000, 10000, 30000, 100000]
    return allocate_bench.benchmark(sizes, [*FAMILIES, *HARD], 120.0, plain_up_to=1000)


if __name__ == "__main__":
    benchmark([int(size) for size in sys.argv[1:]] or None)
