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
HALF_CAP = 6_000_000
#: Largest number of candidate pairs checked per pass, and per numpy chunk.
PAIR_CAP = 200_000_000
CHUNK = 2_000_000
#: Largest number of tied portfolios returned.
TIE_CAP = 20_000
#: Items flippable in the first pass (the gap then doubles).
FIRST_CORE = 24
#: Factor by which the gap grows after a pass that found no portfolio.
GROWTH = 1.5


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
                gap *= GROWTH
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
    owner, start, stop, by_key = _segments(left, right, caps, multipliers)
    counts = stop - start
    if int(counts.sum()) > PAIR_CAP:
        raise TooManySubsets(f"{int(counts.sum())} candidate pairs")
    ends = np.cumsum(counts)
    found_left, found_right = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    first = 0
    while first < owner.size:
        last = int(np.searchsorted(ends, ends[first] - counts[first] + CHUNK, side="right"))
        chunk = np.arange(first, min(max(last, first + 1), owner.size))
        segment = np.repeat(chunk, counts[chunk])
        offsets = np.arange(segment.size) - np.repeat(ends[chunk] - counts[chunk], counts[chunk])
        a = owner[segment]
        b = by_key[start[segment] + offsets]
        within = np.all(left.deviation[:, a] + right.deviation[:, b] <= caps[:, None], axis=0)
        found_left.append(a[within])
        found_right.append(b[within])
        first = int(chunk[-1]) + 1
    return np.concatenate(found_left), np.concatenate(found_right)


def _windows(
    left: SubsetTable, right: SubsetTable, caps: FloatArray, multipliers: FloatArray
) -> list[tuple[int, int, float]]:
    """(candidate pairs, row, lower bound) for each row usable as a join key, best first.

    ``ũ·deviation >= 0`` and ``deviation <= caps`` give ``deviation_k >= low_k``."""
    moving = np.any(left.deviation != 0, axis=1) | np.any(right.deviation != 0, axis=1)
    bounded = np.where(moving, caps, 0.0)  # a row that never moves contributes nothing
    windows = []
    for k in np.flatnonzero((multipliers > 1e-12) & moving):
        others = float(multipliers @ bounded - multipliers[k] * bounded[k])
        low = -others / multipliers[k]
        sorted_right = np.sort(right.deviation[k])
        start = np.searchsorted(sorted_right, low - left.deviation[k], side="left")
        stop = np.searchsorted(sorted_right, caps[k] - left.deviation[k], side="right")
        windows.append((int(np.maximum(stop - start, 0).sum()), int(k), low))
    return sorted(windows)


def _segments(
    left: SubsetTable, right: SubsetTable, caps: FloatArray, multipliers: FloatArray
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Candidate partners as segments ``by_key[start:stop]`` of each ``owner`` (a left index).

    Right subsets are keyed by (cell of the first join row, rank on the second join row),
    with cells as wide as the first row's window, so a left subset meets at most two
    cells, each a contiguous key range."""
    windows = _windows(left, right, caps, multipliers)
    if not windows:  # no row moves: every pair matches
        every = np.arange(left.size, dtype=np.int64)
        full = np.full(left.size, right.size, dtype=np.int64)
        return every, np.zeros(left.size, np.int64), full, np.arange(right.size, dtype=np.int64)
    (_, row1, low1), (_, row2, low2) = windows[0], windows[min(1, len(windows) - 1)]
    width = max(float(caps[row1] - low1), 1e-12)
    origin = float(right.deviation[row1].min())
    cells = np.floor((right.deviation[row1] - origin) / width).astype(np.int64)
    by_value = np.argsort(right.deviation[row2], kind="stable")
    rank = np.empty(right.size, dtype=np.int64)
    rank[by_value] = np.arange(right.size)
    keys = cells * right.size + rank
    by_key = np.argsort(keys, kind="stable")
    sorted_keys = keys[by_key]
    sorted_second = right.deviation[row2][by_value]
    first_rank = np.searchsorted(sorted_second, low2 - left.deviation[row2], side="left")
    end_rank = np.searchsorted(sorted_second, caps[row2] - left.deviation[row2], side="right")
    lowest = np.floor((low1 - left.deviation[row1] - origin) / width).astype(np.int64)
    highest = np.floor((caps[row1] - left.deviation[row1] - origin) / width).astype(np.int64)
    owner_parts, starts, stops = [], [], []
    for shift in range(3):
        cell = lowest + shift
        use = np.flatnonzero((cell <= highest) & (end_rank > first_rank))
        start = np.searchsorted(sorted_keys, cell[use] * right.size + first_rank[use])
        stop = np.searchsorted(sorted_keys, cell[use] * right.size + end_rank[use])
        owner_parts.append(use)
        starts.append(start)
        stops.append(stop)
    return (
        np.concatenate(owner_parts).astype(np.int64),
        np.concatenate(starts).astype(np.int64),
        np.concatenate(stops).astype(np.int64),
        by_key.astype(np.int64),
    )


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
