"""Exact solving by enumerating every portfolio within the Lagrangian gap (meet in the middle).

A portfolio with value ``<= T`` flips (relative to ``x0``, see ``impact_allocate.lagrange``)
only items of weight ``<= G = T - lmin``, with total weight ``<= G``. The flippable items
are split in two halves; each half's light subsets are listed (``impact_allocate.subsets``)
and pairs are matched on one row: every row ``k`` of the extended matrix must end at most
at its cap (``objective <= T``, ``regret_s <= T``, budget, minimum worst return), and
``ũ·deviation = Σ weight >= 0`` then bounds each deviation from below, so one sorted row
gives a narrow window of partners. Candidate pairs are checked exactly.

``G`` grows from a small value until the best portfolio found, plus the tie tolerance, is
within ``T``: then every optimal and every tied portfolio has been seen. Sizes are capped;
past a cap the caller falls back to the CBC path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from impact_allocate.lagrange import Lagrangian
from impact_allocate.program import BinaryProgram, FloatArray
from impact_allocate.subsets import IntArray, SubsetTable, TooManySubsets, light_subsets
from impact_allocate.tiebreak import tie_tolerance

#: Largest number of light subsets per half.
HALF_CAP = 3_000_000
#: Largest number of candidate pairs checked per pass, and per numpy chunk.
PAIR_CAP = 200_000_000
CHUNK = 2_000_000
#: Largest number of tied portfolios returned.
TIE_CAP = 20_000
#: Items flippable in the first pass (the gap then doubles).
FIRST_CORE = 24


@dataclass(frozen=True)
class NearOptimal:
    """The optimum and every portfolio within the tie tolerance of it (rows of ``x``)."""

    value: float | None  # None: proven infeasible
    x: FloatArray  # portfolios x n, 0/1
    values: FloatArray


def near_optimal(program: BinaryProgram, bound: Lagrangian) -> NearOptimal | None:
    """All portfolios tied with the optimum; ``None`` when a size cap is reached."""
    order = np.argsort(bound.weight, kind="stable")
    sorted_weight = bound.weight[order]
    slack = 1e-9 * (1.0 + abs(bound.lmin) + program.scale)
    gap = max(float(sorted_weight[min(FIRST_CORE, order.size - 1)]), slack)
    try:
        while True:
            complete = gap >= float(sorted_weight.sum())  # every subset is enumerated
            target = (
                max(bound.lmin + gap, _largest_value(program)) if complete else bound.lmin + gap
            )
            found = _pass(program, bound, order, gap, target, slack)
            if found is None:
                if complete:
                    return NearOptimal(None, np.zeros((0, program.n_binary)), np.zeros(0))
                gap *= 2.0
                continue
            values, portfolios = found
            best = float(values.min())
            needed = best + tie_tolerance(program, best)
            if complete or needed <= bound.lmin + gap:
                tied = values <= needed
                if int(tied.sum()) > TIE_CAP:
                    return None
                return NearOptimal(best, portfolios(np.flatnonzero(tied)), values[tied])
            gap = max(needed - bound.lmin, gap * 1.0001)
    except TooManySubsets:
        return None


def _largest_value(program: BinaryProgram) -> float:
    """An upper bound on the value of any portfolio."""
    n = program.n_binary
    largest = float(np.abs(program.objective[:n]).sum())
    if program.has_t:
        weight = -program.rows[:, -1]
        regret = weight > 0
        reach = np.abs(program.rows[regret, :n]).sum(axis=1) + np.abs(program.rhs[regret])
        largest += float(program.objective[-1]) * float(np.max(reach / weight[regret], initial=0))
    return largest + 1.0


def _pass(
    program: BinaryProgram,
    bound: Lagrangian,
    order: IntArray,
    gap: float,
    target: float,
    slack: float,
) -> tuple[FloatArray, _Portfolios] | None:
    """Portfolios flipping weight ``<= gap`` with value ``<= target``, or ``None``."""
    gap += slack
    flippable = order[bound.weight[order] <= gap]
    deviation = bound.extended * bound.flip_direction
    halves = [
        light_subsets(flippable[side::2], bound.weight, deviation, gap, HALF_CAP) for side in (0, 1)
    ]
    base = bound.extended @ bound.x0
    caps = _caps(program, base, target, slack)
    left, right = halves
    pairs = _matching_pairs(left, right, caps, bound.multipliers)
    if pairs[0].size == 0:
        return None
    values = _values(
        program, base[:, None] + left.deviation[:, pairs[0]] + right.deviation[:, pairs[1]], slack
    )
    feasible = np.flatnonzero(values <= target)
    if feasible.size == 0:
        return None
    chosen = (pairs[0][feasible], pairs[1][feasible])
    return values[feasible], _Portfolios(bound.x0, halves, chosen)


class _Portfolios:
    """Rebuild selected portfolios from their two half subsets."""

    def __init__(
        self, x0: FloatArray, halves: list[SubsetTable], pairs: tuple[IntArray, IntArray]
    ) -> None:
        self.x0, self.halves, self.pairs = x0, halves, pairs

    def __call__(self, which: IntArray) -> FloatArray:
        out = np.tile(self.x0, (which.size, 1))
        for row, k in enumerate(which):
            for half, pair in zip(self.halves, self.pairs, strict=True):
                members = half.members(int(pair[k]))
                out[row, members] = 1.0 - out[row, members]
        return out


def _caps(program: BinaryProgram, base: FloatArray, target: float, slack: float) -> FloatArray:
    """Largest deviation of each extended row for a portfolio of value ``<= target``."""
    limit = np.append(target, program.rhs)
    if program.has_t:  # value = objective_t * t, so t <= target / objective_t
        t_max = target / float(program.objective[-1])
        limit[1:] += -program.rows[:, -1] * t_max
    return limit - base + slack


def _matching_pairs(
    left: SubsetTable, right: SubsetTable, caps: FloatArray, multipliers: FloatArray
) -> tuple[IntArray, IntArray]:
    """Pairs whose summed deviation is within ``caps`` on every row."""
    moving = np.any(left.deviation != 0, axis=1) | np.any(right.deviation != 0, axis=1)
    bounded = np.where(moving, caps, 0.0)  # a row that never moves contributes nothing
    candidates = [k for k in range(caps.size) if multipliers[k] > 1e-12 and moving[k]]
    windows = []
    for k in candidates:
        others = float(multipliers @ bounded - multipliers[k] * bounded[k])
        low = -others / multipliers[k]
        sorted_right = np.sort(right.deviation[k])
        start = np.searchsorted(sorted_right, low - left.deviation[k], side="left")
        stop = np.searchsorted(sorted_right, caps[k] - left.deviation[k], side="right")
        windows.append((int(np.maximum(stop - start, 0).sum()), k, low))
    if not windows:  # no row moves: every pair matches
        windows.append((left.size * right.size, 0, -np.inf))
    total, row, low = min(windows)
    if total > PAIR_CAP:
        raise TooManySubsets(f"{total} candidate pairs")
    by_row = np.argsort(right.deviation[row], kind="stable")
    sorted_right = right.deviation[row][by_row]
    start = np.searchsorted(sorted_right, low - left.deviation[row], side="left")
    stop = np.maximum(
        np.searchsorted(sorted_right, caps[row] - left.deviation[row], "right"), start
    )
    found_left, found_right = [], []
    counts = stop - start
    ends = np.cumsum(counts)
    first = 0
    while first < left.size:
        last = int(np.searchsorted(ends, ends[first] - counts[first] + CHUNK, side="right"))
        last = max(last, first + 1)
        chunk = np.arange(first, min(last, left.size))
        a = np.repeat(chunk, counts[chunk])
        offsets = np.arange(a.size) - np.repeat(
            np.cumsum(counts[chunk]) - counts[chunk], counts[chunk]
        )
        b = by_row[start[a] + offsets]
        within = np.all(left.deviation[:, a] + right.deviation[:, b] <= caps[:, None], axis=0)
        found_left.append(a[within])
        found_right.append(b[within])
        first = int(chunk[-1]) + 1
    return np.concatenate(found_left), np.concatenate(found_right)


def _values(program: BinaryProgram, activity: FloatArray, slack: float) -> FloatArray:
    """Exact values of portfolios given their extended-row activities (inf if infeasible)."""
    rows = activity[1:] - program.rhs[:, None]
    value = activity[0].copy()
    if program.has_t:
        weight = -program.rows[:, -1]
        regret = weight > 0
        t = np.maximum(0.0, np.max(rows[regret] / weight[regret, None], axis=0, initial=0.0))
        rows = rows[~regret]
        value = value + float(program.objective[-1]) * t
    feasible = np.all(rows <= slack, axis=0)
    return np.where(feasible, value, np.inf)
