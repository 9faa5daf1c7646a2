"""All subsets of a few items whose total weight stays within a limit, built in numpy.

Each subset is stored once, as its parent subset plus one item, so the table holds the
total weight and the summed deviation vector of every subset and can list its members.
Identical items (``follows``) are taken in one canonical order only: a subset may hold the
next copy only if it holds the previous one, so ``k`` copies give ``k + 1`` subsets, not
``2^k``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from impact_allocate.deadline import Deadline, check
from impact_allocate.program import FloatArray

IntArray = NDArray[np.int64]


class TooManySubsets(Exception):
    """The enumeration would exceed its size cap."""


@dataclass(frozen=True)
class SubsetTable:
    """Subset ``k``: ``weight[k]``, ``deviation[:, k]``, members via ``parent``/``item``."""

    weight: FloatArray
    deviation: FloatArray  # rows x subsets
    parent: IntArray  # -1 for the empty subset
    item: IntArray  # the item added to ``parent`` (-1 for the empty subset)

    @property
    def size(self) -> int:
        return int(self.weight.size)

    def members(self, k: int) -> list[int]:
        found = []
        while k > 0:
            found.append(int(self.item[k]))
            k = int(self.parent[k])
        return found


def light_subsets(
    items: IntArray,
    weight: FloatArray,
    deviation: FloatArray,
    limit: float,
    cap: int,
    follows: IntArray | None = None,
    deadline: Deadline | None = None,
    expected: int = 1024,
) -> SubsetTable:
    """Every subset of ``items`` (in that order) with ``Σ weight <= limit`` (weights >= 0).

    ``deviation`` has one column per item (indexed like ``weight``). ``follows[j] = p``
    (``p`` processed just before ``j``) admits ``j`` only into subsets that hold ``p``;
    ``-1`` admits it anywhere. Raises ``TooManySubsets`` past ``cap`` subsets and
    ``TimeUp`` past the deadline. ``expected`` sizes the first allocation (memory not
    written to is never touched, so an overestimate costs nothing).
    """
    rows = deviation.shape[0]
    capacity = max(1, min(cap, expected))
    total_weight = np.zeros(capacity)
    total_deviation = np.zeros((rows, capacity))
    parent = np.full(capacity, -1, dtype=np.int64)
    added = np.full(capacity, -1, dtype=np.int64)
    size = 1
    for j in items:
        check(deadline)
        before = -1 if follows is None else int(follows[j])
        fits = total_weight[:size] + weight[j] <= limit
        if before >= 0:
            fits &= added[:size] == before
        keep = np.flatnonzero(fits)
        if keep.size == 0:
            continue
        end = size + keep.size
        if end > cap:
            raise TooManySubsets(f"more than {cap} subsets within weight {limit:g}")
        if end > capacity:
            capacity = min(cap, max(2 * capacity, end))
            total_weight = _grow(total_weight, capacity)
            total_deviation = _grow(total_deviation, capacity)
            parent, added = _grow(parent, capacity), _grow(added, capacity)
        total_weight[size:end] = total_weight[keep] + weight[j]
        total_deviation[:, size:end] = total_deviation[:, keep] + deviation[:, j : j + 1]
        parent[size:end] = keep
        added[size:end] = j
        size = end
    return SubsetTable(total_weight[:size], total_deviation[:, :size], parent[:size], added[:size])


def _grow(array: np.ndarray, capacity: int) -> np.ndarray:
    grown = np.empty((*array.shape[:-1], capacity), dtype=array.dtype)
    grown[..., : array.shape[-1]] = array
    return grown


def count_light_subsets(
    items: IntArray,
    weight: FloatArray,
    limit: float,
    follows: IntArray | None = None,
    bins: int = 1024,
) -> tuple[float, float]:
    """Lower and upper bounds on the number of subsets ``light_subsets`` would list.

    Weights in units of ``limit / bins``, rounded up (every subset that fits after
    rounding up fits before it) and down (every subset that fits before rounding down
    fits after it); both counts by dynamic programming over the ``bins + 1`` totals.
    """
    if limit <= 0:
        zero = float(2 ** sum(1 for j in items if weight[j] <= 0))
        return zero, zero
    units = np.asarray([weight[j] for j in items]) / limit * bins
    return (
        _count(items, np.ceil(units).astype(int), follows, bins),
        _count(items, np.floor(units).astype(int), follows, bins),
    )


def _count(items: IntArray, steps: IntArray, follows: IntArray | None, bins: int) -> float:
    counts = np.zeros(bins + 1)
    counts[0] = 1.0
    chain = np.zeros(bins + 1)  # subsets that hold the previous item (for ``follows``)
    for j, step in zip(items.tolist(), steps.tolist(), strict=True):
        if step > bins:
            continue
        source = chain if follows is not None and follows[j] >= 0 else counts
        added = np.zeros(bins + 1)
        added[step:] = source[: bins + 1 - step]
        counts = counts + added
        chain = added
    return float(counts.sum())
