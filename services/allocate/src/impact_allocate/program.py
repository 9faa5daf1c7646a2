"""A small binary program in matrix form, shared by the minimax and Bayesian models.

``minimise objective · z  s.t.  rows · z <= rhs`` with ``z = [x_0 .. x_{n-1}, t]``:
``x`` binary (one per candidate, named ``x_<index>`` in the solver, never by id) and an
optional continuous ``t >= 0`` (the minimax regret). Rows are dense: the models have a
handful of rows (budget, minimum worst return, one per scenario), so ``n x 5`` floats.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class BinaryProgram:
    """``min objective·z`` s.t. ``rows·z <= rhs``; ``has_t`` adds the continuous ``t >= 0``."""

    objective: FloatArray
    rows: FloatArray
    rhs: FloatArray
    n_binary: int
    has_t: bool = False

    @property
    def scale(self) -> float:
        """Magnitude used to turn relative tolerances into absolute ones."""
        return 1.0 + float(np.max(np.abs(self.rhs), initial=0.0))

    def with_row(self, row: FloatArray, bound: float) -> BinaryProgram:
        """The same program with one more ``row · z <= bound``."""
        return replace(self, rows=np.vstack([self.rows, row]), rhs=np.append(self.rhs, bound))

    def with_objective(self, objective: FloatArray) -> BinaryProgram:
        return replace(self, objective=objective)

    def pad(self, x_coefficients: FloatArray) -> FloatArray:
        """A full ``z`` coefficient vector from coefficients on ``x`` only (t gets 0)."""
        return np.append(x_coefficients, 0.0) if self.has_t else np.asarray(x_coefficients)

    def best_t(self, x: FloatArray) -> float:
        """The smallest feasible ``t`` for the binary part ``x`` (0 without ``t``)."""
        if not self.has_t:
            return 0.0
        t_column = self.rows[:, -1]
        needs = (self.rows[:, :-1] @ x - self.rhs)[t_column < 0] / -t_column[t_column < 0]
        return max(0.0, float(np.max(needs, initial=0.0)))

    def full(self, x: FloatArray) -> FloatArray:
        """``z`` for ``x`` with ``t`` at its best value."""
        return np.append(x, self.best_t(x)) if self.has_t else np.asarray(x, dtype=float)

    def violation(self, z: FloatArray, tol: float) -> float:
        """Total excess over the right-hand sides beyond ``tol`` (0 means feasible)."""
        excess = self.rows @ z - self.rhs
        return float(np.sum(excess[excess > tol]))

    def value(self, x: FloatArray, tol: float) -> float | None:
        """Objective of ``x`` with its best ``t``; ``None`` if ``x`` is infeasible."""
        z = self.full(x)
        if self.violation(z, tol) > 0:
            return None
        return float(self.objective @ z)
