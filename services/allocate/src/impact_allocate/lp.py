"""The LP relaxation of a ``BinaryProgram`` by sifting: HiGHS on a small working set.

The relaxation has a handful of rows and up to 10^5 columns, and at its optimum almost
every binary sits at a bound fixed by the sign of its reduced cost ``d_j = c_j + u·A_j``.
So: guess the row duals ``u`` from a sample of columns, keep the columns with the
smallest ``|d_j|`` free, pin the others at the bound their sign asks for, solve that small
LP, and add back every pinned column whose reduced cost (under the new duals) has the
wrong sign, until none has. The restricted optimum is then the full optimum (every column
is dual feasible). Any ``u >= 0`` gives a valid Lagrangian bound (``lagrange.py``), so the
duals only need to be good, not exact; the loop still ends at the exact optimum.

The continuous ``t`` (the regret) is left free here, not ``>= 0``: when the LP can meet
every scenario optimum at once, ``t >= 0`` binds and its duals are all zero, a bound that
says nothing about which items may flip. With ``t`` free the duals sum to one and weigh
the scenarios; the bound stays valid for ``t >= 0`` (``impact_allocate.lagrange``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from impact_allocate.program import BinaryProgram, FloatArray

#: Columns solved directly (no sifting) up to this size.
DIRECT = 4_000
#: Free columns in the first restricted LP (and columns sampled to guess the duals).
WORKING = 2_000
#: Rounds of adding wrongly pinned columns before solving the full LP instead.
ROUNDS = 12


class LpFailed(Exception):
    """HiGHS could not solve the relaxation (numerical trouble); callers use CBC instead."""


@dataclass(frozen=True)
class Relaxation:
    """LP optimum: binaries ``x`` in [0, 1], row duals ``u >= 0`` and the objective."""

    x: FloatArray
    duals: FloatArray
    objective: float


def relax(program: BinaryProgram, fixed: Mapping[int, int] | None = None) -> Relaxation | None:
    """The LP optimum with the ``fixed`` binaries pinned, or ``None`` when infeasible."""
    n = program.n_binary
    pinned_by_branch = np.zeros(n, dtype=bool)
    pinned = np.zeros(n)
    for index, value in (fixed or {}).items():
        pinned_by_branch[index], pinned[index] = True, float(value)
    if n - int(pinned_by_branch.sum()) <= DIRECT:
        return _solve(program, np.flatnonzero(~pinned_by_branch), pinned)
    duals = _guess_duals(program)
    reduced = _reduced(program, duals) if duals is not None else np.zeros(n)
    free = np.zeros(n, dtype=bool)
    free[_closest(reduced, pinned_by_branch, WORKING)] = True
    for _ in range(ROUNDS):
        trial = np.where(pinned_by_branch, pinned, np.where(free, 0.0, (reduced < 0) * 1.0))
        solved = _solve(program, np.flatnonzero(free), trial)
        if solved is None:  # pinned too much at 1 (or 0): widen the working set
            free[_closest(reduced, pinned_by_branch, 4 * int(free.sum()))] = True
            if free.sum() * 2 > n:
                break
            continue
        reduced = _reduced(program, solved.duals)
        tol = 1e-9 * (1.0 + np.abs(program.objective[:n]))
        wrong = ~free & ~pinned_by_branch
        wrong &= ((trial == 1.0) & (reduced > tol)) | ((trial == 0.0) & (reduced < -tol))
        if not wrong.any():
            return solved
        free |= wrong
    return _solve(program, np.flatnonzero(~pinned_by_branch), pinned)


def _closest(reduced: FloatArray, excluded: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` columns (not ``excluded``) with the smallest ``|reduced|``."""
    ranked = np.argsort(np.where(excluded, np.inf, np.abs(reduced)), kind="stable")
    return ranked[: min(count, int((~excluded).sum()))]


def _reduced(program: BinaryProgram, duals: FloatArray) -> FloatArray:
    n = program.n_binary
    return np.asarray(program.objective[:n] + duals @ program.rows[:, :n])


def _guess_duals(program: BinaryProgram) -> FloatArray | None:
    """Duals of the LP on an evenly spread sample of columns with proportionally scaled
    right-hand sides (the duals are intensive, so they roughly match the full LP's)."""
    n = program.n_binary
    sample = np.linspace(0, n - 1, WORKING).astype(np.int64)
    scaled = BinaryProgram(
        np.append(program.objective[sample], program.objective[n:]),
        np.hstack([program.rows[:, sample], program.rows[:, n:]]),
        program.rhs * (WORKING / n),
        WORKING,
        program.has_t,
    )
    solved = _solve(scaled, np.arange(WORKING), np.zeros(WORKING))
    return None if solved is None else solved.duals


def _solve(program: BinaryProgram, free: np.ndarray, pinned: FloatArray) -> Relaxation | None:
    """HiGHS on the ``free`` columns (plus ``t``), the others fixed at ``pinned``."""
    n = program.n_binary
    columns = np.append(free, n) if program.has_t else free
    bounds = np.zeros((columns.size, 2))
    bounds[:, 1] = 1.0
    if program.has_t:  # t free: see the module docstring
        bounds[-1] = (-np.inf, np.inf)
    rhs = program.rhs - program.rows[:, :n] @ pinned
    if columns.size == 0:  # everything pinned: feasible or not, no duals to learn
        if np.any(rhs < -1e-9 * program.scale):
            return None
        return Relaxation(pinned, np.zeros(rhs.size), float(program.objective[:n] @ pinned))
    lp = {"c": program.objective[columns], "A_ub": program.rows[:, columns], "b_ub": rhs}
    result = linprog(**lp, bounds=bounds, method="highs-ds", options={"presolve": False})
    if result.status not in (0, 2):  # numerical trouble: once more with presolve
        result = linprog(**lp, bounds=bounds, method="highs")
    if result.status == 2:
        return None
    if result.status != 0:
        raise LpFailed(f"HiGHS: {result.message}")
    x = pinned.copy()
    x[free] = result.x[: free.size]
    duals = np.maximum(-np.asarray(result.ineqlin.marginals, dtype=float), 0.0)
    objective = float(result.fun) + float(program.objective[:n] @ pinned)
    return Relaxation(np.clip(x, 0.0, 1.0), duals, objective)
