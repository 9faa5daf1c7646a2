"""Minimax-regret solve times: fast path (reduced-cost fixing) vs the plain CBC MILP.

Run: ``uv run python -m bench.allocate_bench [--sizes 100 1000 10000] [--plain-up-to 1000]``
(run it as a module so ``bench`` imports resolve).
Prints one row per size: seconds for each path, the regret objective, and whether the
objective and the portfolio agree.
"""

from __future__ import annotations

import argparse
import time

from impact_allocate.instances import random_candidates
from impact_allocate.problem import Candidates
from impact_allocate.solve import Method, Portfolio, solve_minimax


def timed(candidates: Candidates, method: Method, limit: float) -> tuple[float, Portfolio]:
    budget = float(candidates.cost.sum() * 0.3)
    started = time.perf_counter()
    portfolio = solve_minimax(candidates, budget, None, method, limit)
    return time.perf_counter() - started, portfolio


def _agree(fast: Portfolio, plain: Portfolio) -> bool:
    """Same objective (relative 1e-7) and the same portfolio."""
    if fast.objective is None or plain.objective is None:
        return False
    close = abs(fast.objective - plain.objective) <= 1e-7 * (1 + abs(plain.objective))
    return close and fast.selected == plain.selected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--plain-up-to", type=int, default=1000)
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"{'n':>6} {'fast s':>8} {'plain s':>8} {'status':>9} {'objective':>16} {'same':>5}")
    for n in args.sizes:
        candidates = random_candidates(n, args.seed)
        fast_s, fast = timed(candidates, "fast", args.time_limit)
        plain_cell, same = "-", "-"
        if n <= args.plain_up_to:
            plain_s, plain = timed(candidates, "plain", args.time_limit)
            plain_cell = f"{plain_s:.2f}"
            same = str(_agree(fast, plain))
        regret = f"{fast.objective:.9f}" if fast.objective is not None else "-"
        print(f"{n:>6} {fast_s:>8.2f} {plain_cell:>8} {fast.status:>9} {regret:>16} {same:>5}")


if __name__ == "__main__":
    main()
