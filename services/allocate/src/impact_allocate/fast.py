"""Structure-aware exact solving under a deadline.

First choice: enumerate every portfolio within the Lagrangian gap of the LP bound
(``impact_allocate.meet``), which also yields all tied portfolios, so tie-breaking needs
no further solve; where the gap is too wide, branch on the LP's fractional items first
(``impact_allocate.tree``). When that still fails (e.g. thousands of items with zero
reduced cost), CBC solves the core: every item whose Lagrangian weight exceeds the
incumbent's gap keeps its ``x0`` value (it does in every portfolio at least as good as the
incumbent), the rest is CBC's, warm-started from the incumbent, until the deadline.

Whatever stops the search, the result carries the best portfolio seen and a proven lower
bound: the Lagrangian bound, raised by every enumeration pass that found nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from impact_allocate.backends import INFEASIBLE, OPTIMAL, TIME_LIMIT, MilpResult, solve_milp
from impact_allocate.deadline import Deadline
from impact_allocate.lagrange import Columns, Lagrangian, lagrangian
from impact_allocate.lp import LpFailed
from impact_allocate.meet import Found
from impact_allocate.program import BinaryProgram, FloatArray
from impact_allocate.tiebreak import tie_tolerance
from impact_allocate.tree import branch_and_bound

#: Lightest items tried, one by one, when repairing ``x0`` into a feasible portfolio.
REPAIR_ITEMS = 400


@dataclass(frozen=True)
class Solved:
    """A solve: the outcome, a proven lower bound, and how far tie-breaking got."""

    result: MilpResult
    bound: float | None = None  # no portfolio has a smaller value
    fixed: dict[int, int] = field(default_factory=dict)  # hold for every tied portfolio
    tie_broken: bool = False  # ``result.x`` is already the preferred tied portfolio


def solve_plain(program: BinaryProgram, deadline: Deadline, threads: int = 1) -> Solved:
    """The reference path: the full MILP handed to CBC as is."""
    return Solved(solve_milp(program, {}, deadline, threads=threads))


def solve_fast(
    program: BinaryProgram,
    deadline: Deadline,
    starts: Sequence[FloatArray] = (),
    prefer: tuple[FloatArray, FloatArray] | None = None,
) -> Solved:
    """The same proven optimum as ``solve_plain`` and, given ``prefer`` = (median, cost),
    the portfolio ``break_ties`` prefers (without ``prefer``: any optimal one); else the
    best found by the deadline, with a proven bound."""
    columns = Columns.of(program)
    started = time.monotonic()
    try:
        bound = lagrangian(program, None, columns)
    except LpFailed:
        return solve_plain(program, deadline)
    if bound is None:
        return Solved(MilpResult(INFEASIBLE, None, None))
    n = program.n_binary
    ties = prefer is not None
    rows = prefer if prefer is not None else (np.zeros(n), np.zeros(n))
    incumbent = best_start(program, [*starts, repair(program, bound)])
    lp_seconds = time.monotonic() - started
    outcome = branch_and_bound(program, bound, columns, rows, deadline, incumbent, ties, lp_seconds)
    if outcome.proven:
        if outcome.value is None:
            return Solved(MilpResult(INFEASIBLE, None, None), bound=np.inf)
        result = MilpResult(OPTIMAL, outcome.x, outcome.value)
        return Solved(result, outcome.value, tie_broken=ties)
    found = Found(outcome.value, outcome.x, outcome.bound, False)
    if deadline.passed():
        return _stopped(found)
    return solve_core(program, bound, found, deadline)


def solve_core(
    program: BinaryProgram, bound: Lagrangian, found: Found, deadline: Deadline
) -> Solved:
    """CBC on the items the incumbent's gap leaves free, the others at ``x0``."""
    fixed: dict[int, int] = {}
    if found.value is not None:
        gap = found.value + tie_tolerance(program, found.value) - bound.lmin
        slack = 1e-9 * (1.0 + abs(bound.lmin) + program.scale)
        heavy = np.flatnonzero(bound.weight > gap + slack)
        fixed = dict(zip(heavy.tolist(), bound.x0[heavy].astype(int).tolist(), strict=True))
    core = solve_milp(program, fixed, deadline, warm_start=found.x)
    kept_incumbent = found.value is None or (
        core.objective is not None
        and core.objective <= found.value + tie_tolerance(program, found.value)
    )
    if core.status == OPTIMAL and core.objective is not None and kept_incumbent:
        return Solved(core, core.objective, fixed)
    if core.status == INFEASIBLE and found.value is None:
        return Solved(core, np.inf)
    if core.objective is not None and (found.value is None or core.objective < found.value):
        found = Found(core.objective, core.x, found.bound, False)
    return _stopped(found)


def _stopped(found: Found) -> Solved:
    """The deadline (or a numerical doubt) ended the search: best seen, proven bound."""
    return Solved(MilpResult(TIME_LIMIT, found.x, found.value), found.bound)


def best_start(
    program: BinaryProgram, starts: Sequence[FloatArray | None]
) -> tuple[float, FloatArray] | None:
    """The feasible start with the lowest value (first wins ties)."""
    tol = 1e-9 * program.scale
    best: tuple[float, FloatArray] | None = None
    for x in starts:
        value = None if x is None else program.value(x, tol)
        if x is not None and value is not None and (best is None or value < best[0]):
            best = (value, x)
    return best


def repair(program: BinaryProgram, bound: Lagrangian) -> FloatArray:
    """``x0`` made feasible and then better by flipping its lightest items one at a time
    (a flip is kept when it lowers the violation, or keeps it and lowers the value)."""
    n = program.n_binary
    x = bound.x0.copy()
    tol = 1e-9 * program.scale
    activity = program.rows[:, :n] @ x
    linear = float(program.objective[:n] @ x)
    current = _score(program, activity, linear, tol)
    lightest = np.argsort(bound.weight, kind="stable")[:REPAIR_ITEMS]
    for j in lightest.tolist():
        sign = 1.0 - 2.0 * x[j]
        trial_activity = activity + sign * program.rows[:, j]
        trial_linear = linear + sign * float(program.objective[j])
        trial = _score(program, trial_activity, trial_linear, tol)
        if trial < current:
            x[j] = 1.0 - x[j]
            activity, linear, current = trial_activity, trial_linear, trial
    return x


def _score(
    program: BinaryProgram, activity: FloatArray, linear: float, tol: float
) -> tuple[float, float]:
    """(violation, objective) so that feasibility is compared first, then the objective."""
    t = 0.0
    excess = activity - program.rhs
    if program.has_t:
        t_column = program.rows[:, -1]
        needs = excess[t_column < 0] / -t_column[t_column < 0]
        t = max(0.0, float(np.max(needs, initial=0.0)))
        excess = excess + t_column * t
        linear += float(program.objective[-1]) * t
    return (float(np.sum(excess[excess > tol])), linear)
