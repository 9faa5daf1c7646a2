"""Tie-breaking over the enumerated tied portfolios (same rules as ``tiebreak``).

Among portfolios within the tie tolerance of the optimum prefer (1) the higher total
median return, then (2) the lower total cost, then (3) the one holding the smallest
index where they differ. The tolerances are computed exactly as ``tiebreak.break_ties``
computes them on its growing sequence of constrained programs (each added row's bound
enters the program's scale), so both paths pick the same portfolio.

Each enumeration (one per branch of ``impact_allocate.tree``) first keeps a ``Near`` list:
its portfolios within the tie tolerance of its own best value and, among those, within a
looser tolerance of its own best median. Both filters keep every portfolio the global
rules could keep, since the global optimum and best median are at least as good.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from impact_allocate.program import BinaryProgram, FloatArray
from impact_allocate.subsets import IntArray, SubsetTable
from impact_allocate.tiebreak import TIE_TOLERANCE, tie_tolerance

#: Most near-optimal portfolios one enumeration may hand to the ranking.
NEAR_CAP = 200_000


class TooManyTies(Exception):
    """More tied portfolios than the ranking keeps."""


@dataclass(frozen=True)
class Tied:
    """Portfolios ``x0`` with the members of ``halves[0][pairs[0][k]]`` and
    ``halves[1][pairs[1][k]]`` flipped, their values and total median return and cost."""

    values: FloatArray
    medians: FloatArray
    costs: FloatArray
    halves: tuple[SubsetTable, SubsetTable]
    pairs: tuple[IntArray, IntArray]

    def flipped(self, k: int) -> IntArray:
        """Indices where portfolio ``k`` differs from ``x0``, ascending."""
        left, right = self.halves
        members = left.members(int(self.pairs[0][k])) + right.members(int(self.pairs[1][k]))
        return np.array(sorted(members), dtype=np.int64)

    def portfolio(self, k: int, x0: FloatArray) -> FloatArray:
        return _flip(x0, self.flipped(k))


@dataclass(frozen=True)
class Near:
    """Near-optimal portfolios of one enumeration: ``x0`` with ``flips[k]`` flipped."""

    values: FloatArray
    medians: FloatArray
    costs: FloatArray
    x0: FloatArray
    flips: tuple[IntArray, ...]

    def portfolio(self, k: int) -> FloatArray:
        return _flip(self.x0, self.flips[k])


def _flip(x0: FloatArray, flipped: IntArray) -> FloatArray:
    x = np.array(x0, dtype=float)
    x[flipped] = 1.0 - x[flipped]
    return x


def shortlist(program: BinaryProgram, tied: Tied, x0: FloatArray) -> Near:
    """The portfolios of ``tied`` that the global tie-breaking could still prefer."""
    optimum = float(tied.values.min())
    keep = tied.values <= optimum + tie_tolerance(program, optimum)
    best = float(-tied.medians[keep].max())
    keep &= -tied.medians <= best + 10.0 * _tolerance(program.scale + abs(optimum), best)
    chosen = np.flatnonzero(keep)
    if chosen.size > NEAR_CAP:
        raise TooManyTies(f"{chosen.size} tied portfolios")
    return Near(
        tied.values[chosen],
        tied.medians[chosen],
        tied.costs[chosen],
        np.asarray(x0, dtype=float),
        tuple(tied.flipped(int(k)) for k in chosen),
    )


def preferred(program: BinaryProgram, nears: Sequence[Near]) -> tuple[float, FloatArray]:
    """The optimum over ``nears`` and its preferred portfolio."""
    values = np.concatenate([near.values for near in nears])
    medians = np.concatenate([near.medians for near in nears])
    costs = np.concatenate([near.costs for near in nears])
    owner = np.concatenate([np.full(near.values.size, i) for i, near in enumerate(nears)])
    index = np.concatenate([np.arange(near.values.size) for near in nears])
    optimum = float(values.min())
    bound = optimum + _tolerance(program.scale, optimum)
    scale = max(program.scale, 1.0 + abs(bound))
    keep = values <= bound
    for totals in (-medians, costs):  # maximise median, then minimise cost
        best = float(totals[keep].min())
        limit = best + _tolerance(scale, best)
        keep &= totals <= limit
        scale = max(scale, 1.0 + abs(limit))
    finalists = [nears[owner[k]].portfolio(int(index[k])) for k in np.flatnonzero(keep)]
    return optimum, smallest_index_first(finalists)


def _tolerance(scale: float, value: float) -> float:
    """``tiebreak.tie_tolerance`` for a program of the given scale."""
    return TIE_TOLERANCE * (1.0 + abs(value) + scale)


def smallest_index_first(portfolios: Sequence[FloatArray]) -> FloatArray:
    """The portfolio holding the smallest index where two of them differ."""
    best = portfolios[0]
    for x in portfolios[1:]:
        differ = np.flatnonzero(best != x)
        if differ.size and x[differ[0]] == 1.0:
            best = x
    return best
