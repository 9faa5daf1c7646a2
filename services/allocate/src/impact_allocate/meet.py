"""Exact solving by enumerating every portfolio within the Lagrangian gap (meet in the middle).

A portfolio with value ``<= T`` flips (relative to ``x0``, see ``impact_allocate.lagrange``)
only items of weight ``<= G = T - lmin``, with total weight ``<= G``. The flippable items
are split in two halves; each half's light subsets are listed (``impact_allocate.subsets``)
and pairs are matched (``impact_allocate.join``): every row ``k`` of the extended matrix
must end at most at its cap (``objective <= T``, ``regret_s <= T``, budget, minimum worst
return), and ``ũ·deviation = Σ weight >= 0`` bounds each deviation from below.

``G`` grows from a small value until the best portfolio found, plus the tie tolerance, is
within ``T``: then every optimal and every tied portfolio has been seen. A pass that finds
nothing proves the optimum exceeds its ``T``: that is the lower bound kept when a size cap
or the deadline stops the search.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from impact_allocate.deadline import Deadline, TimeUp, check
from impact_allocate.join import matching_pairs
from impact_allocate.lagrange import Lagrangian
from impact_allocate.meet_bounds import largest_value, portfolio_values, row_caps, row_lows
from impact_allocate.program import BinaryProgram, FloatArray
from impact_allocate.ranking import Near, Tied, TooManyTies, shortlist
from impact_allocate.subsets import (
    IntArray,
    TooManySubsets,
    count_light_subsets,
    light_subsets,
)
from impact_allocate.tiebreak import tie_tolerance

#: Bytes for both halves' subset tables together (sets the per-half subset cap).
TABLE_BYTES = 150_000_000
#: Largest number of candidate pairs per pass, and per block checked at once.
PAIR_CAP = 20_000_000
CHUNK = 1_000_000
#: Largest number of near-optimal portfolios kept during a pass.
KEEP_CAP = 2_000_000
#: Items flippable in the first pass.
FIRST_CORE = 24
#: Factor by which the gap grows after a pass that found no portfolio.
GROWTH = 1.5


@dataclass(frozen=True)
class Found:
    """What the enumeration established: the best portfolio seen and a proven bound."""

    value: float | None  # best value seen (None: none seen)
    x: FloatArray | None  # that portfolio
    bound: float  # no portfolio (agreeing with the branch's fixings) has a smaller value
    proven: bool  # value is optimal, or (value None) proven infeasible
    near: Near | None = None  # when proven: every portfolio that may be tied with the optimum


@dataclass(frozen=True)
class _Space:
    """The flip space of one Lagrangian. Rows of ``deviation`` (signed by the flip
    direction): 0 the weight, 1..m the extended rows, then median and cost."""

    program: BinaryProgram
    bound: Lagrangian
    deviation: FloatArray  # rows x n
    base: FloatArray  # the same rows at x0 (weight 0)
    group: IntArray  # items with equal group ids are interchangeable
    slack: float

    @property
    def dims(self) -> int:
        """Rows the join checks: the weight and the extended rows."""
        return 1 + self.bound.extended.shape[0]


def near_optimal(
    program: BinaryProgram,
    bound: Lagrangian,
    prefer: tuple[FloatArray, FloatArray],
    deadline: Deadline | None = None,
    incumbent: tuple[float, FloatArray] | None = None,
    ties: bool = True,
    group: IntArray | None = None,
) -> Found:
    """The optimum and its tied portfolios (only one optimal portfolio unless ``ties``),
    or the best seen and a proven bound when a size cap or the deadline stops the search."""
    tolerance = tie_tolerance if ties else _no_tolerance
    space = _space(program, bound, prefer, group)
    order = np.argsort(bound.weight, kind="stable")
    order = order[np.isfinite(bound.weight[order])]  # items fixed by branching never flip
    sorted_weight = bound.weight[order]
    total_weight = float(sorted_weight.sum())
    first = float(sorted_weight[min(FIRST_CORE, order.size - 1)]) if order.size else 0.0
    gap = max(first, space.slack)
    lower = bound.lmin
    best = incumbent
    try:
        while True:
            check(deadline)
            conclusive = False  # the pass must see the incumbent
            if best is not None:
                enough = best[0] + tolerance(program, best[0]) + space.slack - bound.lmin
                conclusive, gap = gap >= enough, max(min(gap, enough), space.slack)
            complete = gap >= total_weight  # every subset is enumerated
            target = bound.lmin + gap
            if complete:
                target = max(target, largest_value(program))
            tied = _pass(space, order, gap, target, deadline, tolerance)
            if tied is None:
                if best is not None and (complete or conclusive):
                    if _holds(bound, best[1]):
                        return _stuck(best, target)
                    return Found(None, None, target, True)  # nothing here beats the incumbent
                if complete:
                    return Found(None, None, np.inf, True)
                lower = max(lower, target)
                gap *= GROWTH
                continue
            value = float(tied.values.min())
            x = tied.portfolio(int(np.argmin(tied.values)), bound.x0)
            needed = value + tolerance(program, value)
            if complete or needed <= target:
                near = shortlist(program, tied, bound.x0) if ties else None
                return Found(value, x, value, True, near)
            if best is None or value < best[0]:
                best = (value, x)
            gap = max(needed - bound.lmin, gap * 1.0001)
    except (TooManySubsets, TooManyTies, TimeUp):
        pass
    if best is None:
        return Found(None, None, lower, False)
    return Found(best[0], best[1], min(lower, best[0]), False)


def _no_tolerance(program: BinaryProgram, value: float) -> float:
    return 0.0


def _holds(bound: Lagrangian, x: FloatArray) -> bool:
    """Does ``x`` agree with the items this bound keeps fixed (weight ``inf``)?"""
    fixed = ~np.isfinite(bound.weight)
    return bool(np.all(x[fixed] == bound.x0[fixed]))


def _stuck(best: tuple[float, FloatArray], target: float) -> Found:
    """A pass that had to see the incumbent missed it (numerically on an edge): no proof."""
    return Found(best[0], best[1], min(best[0], target), False)


def groups(extended: FloatArray, prefer: tuple[FloatArray, FloatArray]) -> IntArray:
    """Group ids: items with equal columns and equal median and cost are interchangeable."""
    _, group = np.unique(np.vstack([extended, *prefer]).T, axis=0, return_inverse=True)
    return np.asarray(group.ravel(), dtype=np.int64)


def _space(
    program: BinaryProgram,
    bound: Lagrangian,
    prefer: tuple[FloatArray, FloatArray],
    group: IntArray | None,
) -> _Space:
    rows = np.vstack([bound.extended, *prefer])
    group = groups(bound.extended, prefer) if group is None else group
    slack = 1e-9 * (1.0 + abs(bound.lmin) + program.scale)
    deviation = np.vstack([bound.weight, rows * bound.flip_direction])
    base = np.append(0.0, rows @ bound.x0)
    return _Space(program, bound, deviation, base, group, slack)


def _halves(space: _Space, flippable: IntArray) -> tuple[list[IntArray], IntArray]:
    """Split ``flippable`` (ascending weight) in two halves of about equal subset counts.

    Identical items stay together, in the order that holds the smallest ids: ascending
    where flipping adds an item, descending where it removes one; ``follows`` chains them.
    """
    follows = np.full(space.group.size, -1, dtype=np.int64)
    units: dict[int, list[int]] = {}
    for j in flippable.tolist():
        units.setdefault(int(space.group[j]), []).append(j)
    halves: list[list[int]] = [[], []]
    sizes = [0.0, 0.0]
    for members in units.values():
        if space.bound.x0[members[0]] == 1.0:
            members = members[::-1]
        for before, after in itertools.pairwise(members):
            follows[after] = before
        side = int(sizes[1] < sizes[0])
        halves[side].extend(members)
        sizes[side] += float(np.log2(len(members) + 1))
    return [np.array(h, dtype=np.int64) for h in halves], follows


def _pass(
    space: _Space,
    order: IntArray,
    gap: float,
    target: float,
    deadline: Deadline | None,
    tolerance: Callable[[BinaryProgram, float], float] = tie_tolerance,
) -> Tied | None:
    """Every portfolio flipping weight ``<= gap`` with value ``<= target`` near the best."""
    program, bound = space.program, space.bound
    gap += space.slack
    flippable = order[bound.weight[order] <= gap]
    halves, follows = _halves(space, flippable)
    cap = TABLE_BYTES // (16 * (space.deviation.shape[0] + 3))
    counts = [count_light_subsets(half, bound.weight, gap, follows) for half in halves]
    if max(low for low, _ in counts) > cap:  # fail before building tables that cannot fit
        raise TooManySubsets(f"more than {cap} subsets within weight {gap:g}")
    left, right = (
        light_subsets(h, bound.weight, space.deviation, gap, cap, follows, deadline, int(high))
        for h, (_, high) in zip(halves, counts, strict=True)
    )
    dims = space.dims
    caps = np.append(gap, row_caps(program, space.base[1:dims], target, space.slack))
    low = np.append(-space.slack, row_lows(left, right, caps[1:], bound.multipliers, dims))
    kept: list[tuple[IntArray, IntArray, FloatArray]] = []
    stored, limit = 0, target
    pairs = matching_pairs(
        left.deviation[:dims], right.deviation[:dims], caps, low, CHUNK, PAIR_CAP
    )
    for a, b in pairs:
        check(deadline)
        activity = space.base[1:dims, None] + left.deviation[1:dims, a] + right.deviation[1:dims, b]
        values = portfolio_values(program, activity, space.slack)
        good = values <= limit
        if good.any():
            kept.append((a[good], b[good], values[good]))
            stored += int(good.sum())
            low_value = float(values[good].min())
            limit = min(limit, low_value + tolerance(program, low_value))
        if stored > KEEP_CAP:
            kept, stored = _prune(kept, limit)
            if stored > KEEP_CAP:
                raise TooManySubsets(f"more than {KEEP_CAP} tied portfolios")
    kept, stored = _prune(kept, limit)
    if stored == 0:
        return None
    a, b, values = (np.concatenate(part) for part in zip(*kept, strict=True))
    totals = space.base[dims:, None] + left.deviation[dims:, a] + right.deviation[dims:, b]
    return Tied(values, totals[0], totals[1], (left, right), (a, b))


def _prune(
    kept: list[tuple[IntArray, IntArray, FloatArray]], limit: float
) -> tuple[list[tuple[IntArray, IntArray, FloatArray]], int]:
    pruned = [(a[v <= limit], b[v <= limit], v[v <= limit]) for a, b, v in kept]
    pruned = [part for part in pruned if part[2].size]
    return pruned, sum(part[2].size for part in pruned)
