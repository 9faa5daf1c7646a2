"""Minimax-regret allocation at scale: wall time, CPU, peak RSS, status and gap per
instance family and size (``impact_allocate.instances.FAMILIES``).

Run: ``uv run python -m bench.allocate_bench [--sizes 1000 10000 30000 100000]
[--families cents ties ...] [--time-limit 120] [--plain-up-to 1000]``.
Each (family, size) runs in its own process, so its peak RSS is its own; CPU counts that
process and its CBC children. The load average is read before each run (the machine is
shared). ``near_ties`` (``instances.HARD``) is built to defeat the exact path: it shows
the deadline at work. With ``--plain-up-to N`` the plain CBC MILP also runs on the
``project`` family (the first generator, budget 30 %) up to ``N`` initiatives.
Writes ``bench/results/allocate.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

from impact_allocate.instances import FAMILIES, HARD, random_candidates
from impact_allocate.solve import Method, solve_minimax

from bench.machine import ROOT, machine
from bench.results import markdown_table, write_result

METHOD = (
    "bench/allocate_bench.py: solve_minimax (fast path unless noted) on seeded instances of "
    "each family, seed 1, one process per run; wall = time.perf_counter around the solve; "
    "CPU = user + system of the process and its CBC children (getrusage); peak RSS = "
    "ru_maxrss of the process (CBC children reported apart); load = 1-minute load average "
    "just before the run."
)
HEADERS = ["family", "n", "method", "wall s", "CPU s", "peak RSS MB", "status", "gap",
           "objective", "load"]  # fmt: skip


def measure(family: str, n: int, limit: float, method: Method = "fast") -> dict[str, Any]:
    """Solve one instance in this process and report what it cost."""
    if family == "project":
        candidates = random_candidates(n, 1)
        budget = float(candidates.cost.sum() * 0.3)
    else:
        made = {**FAMILIES, **HARD}[family](n, 1)
        candidates, budget = made.candidates, made.budget
    load = os.getloadavg()[0]
    cpu_before = _cpu()
    started = time.perf_counter()
    portfolio = solve_minimax(candidates, budget, None, method, limit)
    wall = time.perf_counter() - started
    return {
        "family": family,
        "n": n,
        "method": method,
        "time_limit_s": limit,
        "wall_s": round(wall, 3),
        "cpu_s": round(_cpu() - cpu_before, 3),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "cbc_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024,
        "status": portfolio.status,
        "gap": portfolio.mip_gap,
        "objective": portfolio.objective,
        "selected": len(portfolio.selected),
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_isolated(family: str, n: int, limit: float, method: Method) -> dict[str, Any]:
    """``measure`` in a fresh interpreter (its own peak RSS)."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.allocate_bench", "--one", family, str(n), str(limit), method],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    row: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return row


def table_row(row: dict[str, Any]) -> list[str]:
    gap = "-" if row["gap"] is None else f"{row['gap']:.2g}"
    objective = "-" if row["objective"] is None else f"{row['objective']:.6f}"
    rss = max(row["peak_rss_mb"], row["cbc_peak_rss_mb"])
    return [
        row["family"],
        f"{row['n']:,}",
        row["method"],
        f"{row['wall_s']:.2f}",
        f"{row['cpu_s']:.2f}",
        str(rss),
        row["status"],
        gap,
        objective,
        f"{row['load_before']:.1f}",
    ]


def benchmark(
    sizes: list[int], families: list[str], limit: float, plain_up_to: int = 0
) -> list[dict[str, Any]]:
    started = machine()
    runs: list[tuple[str, int, Method]] = [(f, n, "fast") for n in sizes for f in families]
    runs += [("project", n, "fast") for n in sizes if n <= plain_up_to]
    runs += [("project", n, "plain") for n in sizes if n <= plain_up_to]
    rows = []
    for family, n, method in runs:
        row = run_isolated(family, n, limit, method)
        print(markdown_table(HEADERS, [table_row(row)]).splitlines()[-1], flush=True)
        rows.append(row)
    print(markdown_table(HEADERS, [table_row(row) for row in rows]))
    path = write_result("allocate", METHOD, {"rows": rows}, started)
    print(f"wrote {path}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 30000, 100000])
    choices = [*FAMILIES, *HARD]
    parser.add_argument("--families", nargs="+", default=choices, choices=choices)
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--plain-up-to", type=int, default=0)
    parser.add_argument("--one", nargs=4, metavar=("FAMILY", "N", "LIMIT", "METHOD"))
    args = parser.parse_args()
    if args.one:
        family, n, limit, method = args.one
        print(json.dumps(measure(family, int(n), float(limit), method)))
        return
    benchmark(args.sizes, args.families, args.time_limit, args.plain_up_to)


if __name__ == "__main__":
    main()
