"""Structure-aware exact solving.

First choice: enumerate every portfolio within the Lagrangian gap of the LP bound
(``impact_allocate.meet``), which also yields all tied portfolios, so tie-breaking needs
no further solve. When that enumeration hits its size caps (e.g. many identical items),
fall back to CBC on a reduced core:

1. Solve the LP relaxation: bound ``z_lp`` and reduced costs ``d_j``.
2. Build an incumbent ``z_inc``: the best of the supplied portfolios, the LP solution
   rounded down then filled greedily, and a small "kernel" MILP in which only the 16
   binaries with the smallest |reduced cost| are free and the rest keep their LP values.
3. Reduced-cost fixing: an ``x_j`` at 0 in the LP with ``z_lp + d_j > z_inc + margin`` is 0
   in every optimal (indeed every near-optimal, within ``margin``) portfolio; likewise an
   ``x_j`` at 1 with ``z_lp - d_j > z_inc + margin`` is 1. Fixing them keeps every optimal
   solution, so tie-breaking afterwards still sees all ties.
4. Solve the remaining core exactly with CBC (gap 0). Its optimum is the global optimum; if
   it is not at least as good as the incumbent (numerical trouble) fall back to the full MILP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from impact_allocate.backends import (
    INFEASIBLE,
    OPTIMAL,
    LpRelaxation,
    MilpResult,
    solve_lp,
    solve_milp,
)
from impact_allocate.deadline import Deadline
from impact_allocate.lagrange import lagrangian
from impact_allocate.meet import near_optimal
from impact_allocate.program import BinaryProgram, FloatArray
from impact_allocate.ranking import preferred

#: Relative margin for reduced-cost fixing (absolute margin = FIX_MARGIN * program scale).
FIX_MARGIN = 1e-6
#: Binaries left free in the successive kernel MILPs that improve the incumbent.
KERNEL_SIZES = (16,)


@dataclass(frozen=True)
class Solved:
    """An exact solve: the MILP outcome, the fixings that hold for all optima, the LP bound."""

    result: MilpResult
    fixed: dict[int, int] = field(default_factory=dict)
    lp_bound: float | None = None
    tie_broken: bool = False  # ``result.x`` is already the preferred tied portfolio

    @property
    def core_size(self) -> int:
        return -1 if self.result.x is None else self.result.x.size - len(self.fixed)


def solve_plain(program: BinaryProgram, time_limit_s: float, threads: int = 1) -> Solved:
    """The reference path: the full MILP handed to CBC as is."""
    return Solved(solve_milp(program, {}, time_limit_s, threads=threads))


def solve_fast(
    program: BinaryProgram,
    time_limit_s: float,
    starts: Sequence[FloatArray] = (),
    threads: int = 1,
    prefer: tuple[FloatArray, FloatArray] | None = None,
) -> Solved:
    """Same proven optimum (and, given ``prefer`` = (median, cost), the same tie-broken
    portfolio) as ``solve_plain`` followed by ``break_ties``."""
    bound = lagrangian(program)
    if bound is None:
        return Solved(MilpResult(INFEASIBLE, None, None))
    found = near_optimal(program, bound)
    if found is None:
        return solve_core(program, time_limit_s, starts, threads)
    if found.value is None:
        return Solved(MilpResult(INFEASIBLE, None, None), lp_bound=bound.lmin)
    x = found.x[0] if prefer is None else preferred(program, found.x, found.value, *prefer)
    return Solved(MilpResult(OPTIMAL, x, found.value), lp_bound=bound.lmin, tie_broken=True)


def solve_core(
    program: BinaryProgram,
    time_limit_s: float,
    starts: Sequence[FloatArray] = (),
    threads: int = 1,
) -> Solved:
    """LP bound, incumbent, reduced-cost fixing, then the core MILP with CBC."""
    deadline = Deadline(time_limit_s)
    lp = solve_lp(program)
    if not lp.feasible:
        return Solved(MilpResult(INFEASIBLE, None, None))
    incumbent, value = best_start(program, [*starts, greedy_fill(program, lp.x)])
    for size in KERNEL_SIZES:
        kernel = solve_kernel(program, lp, size, deadline, threads)
        improved, improved_value = best_start(program, [kernel] if kernel is not None else [])
        if improved_value is not None and (value is None or improved_value < value):
            incumbent, value = improved, improved_value
    fixed: dict[int, int] = {}
    if value is not None:
        margin = FIX_MARGIN * (1.0 + abs(value) + abs(lp.objective) + program.scale)
        fixed = fix_by_reduced_cost(lp.x, lp.reduced_costs, lp.objective, value, margin)
    core = solve_milp(program, fixed, deadline.left(), warm_start=incumbent, threads=threads)
    lost = (
        core.status == OPTIMAL
        and core.objective is not None
        and value is not None
        and core.objective > value + FIX_MARGIN * (1.0 + abs(value) + program.scale)
    )
    if lost:  # numerical trouble: the core lost the incumbent; trust the full model instead
        full = solve_milp(program, {}, deadline.left(), threads=threads)
        return Solved(full, {}, lp.objective)
    return Solved(core, fixed, lp.objective)


def solve_kernel(
    program: BinaryProgram,
    lp: LpRelaxation,
    size: int,
    deadline: Deadline,
    threads: int,
) -> FloatArray | None:
    """A feasible portfolio: only the ``size`` smallest-|reduced cost| binaries are free,
    the rest stay at their rounded LP values (a restriction, so any solution is feasible)."""
    free = set(np.argsort(np.abs(lp.reduced_costs), kind="stable")[:size].tolist())
    fixed = {j: int(lp.x[j] > 0.5) for j in range(program.n_binary) if j not in free}
    result = solve_milp(program, fixed, deadline.left(), threads=threads)
    return result.x if result.status == OPTIMAL else None


def fix_by_reduced_cost(
    x_lp: FloatArray, reduced: FloatArray, z_lp: float, z_inc: float, margin: float
) -> dict[int, int]:
    """Indices whose value is the same in every solution within ``margin`` of ``z_inc``."""
    at_zero = (x_lp <= 1e-9) & (z_lp + reduced > z_inc + margin)
    at_one = (x_lp >= 1 - 1e-9) & (z_lp - reduced > z_inc + margin)
    fixed = dict.fromkeys(np.flatnonzero(at_zero).tolist(), 0)
    fixed.update(dict.fromkeys(np.flatnonzero(at_one).tolist(), 1))
    return fixed


def best_start(
    program: BinaryProgram, starts: Sequence[FloatArray]
) -> tuple[FloatArray | None, float | None]:
    """The feasible start with the lowest objective (first wins ties)."""
    tol = 1e-9 * program.scale
    best: tuple[FloatArray | None, float | None] = (None, None)
    for x in starts:
        value = program.value(x, tol)
        if value is not None and (best[1] is None or value < best[1]):
            best = (x, value)
    return best


def greedy_fill(program: BinaryProgram, x_lp: FloatArray) -> FloatArray:
    """Round the LP solution down, then add items (highest LP value first) while that helps.

    An item is added when the portfolio stays feasible and its objective improves, or when
    the portfolio is infeasible (a ``>=`` row short) and the addition reduces the shortfall.
    """
    n = program.n_binary
    x = (x_lp >= 1 - 1e-9).astype(float)
    tol = 1e-9 * program.scale
    activity = program.rows[:, :n] @ x
    linear = float(program.objective[:n] @ x)
    current = _score(program, activity, linear, tol)
    for j in np.argsort(-x_lp, kind="stable"):
        if x[j] == 1.0:
            continue
        trial_activity = activity + program.rows[:, j]
        trial_linear = linear + float(program.objective[j])
        trial = _score(program, trial_activity, trial_linear, tol)
        if trial < current:
            x[j] = 1.0
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
