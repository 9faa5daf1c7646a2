"""Pairs ``(a, b)`` of left and right subsets with ``left[:, a] + right[:, b] <= caps``.

Each dimension ``k`` also has a lower bound ``low[k]`` that every wanted pair meets
(``-inf`` when none is known), so right subset ``b`` must lie in the box
``[low - left[:, a], caps - left[:, a]]``. Right subsets are indexed on a grid: cells on
up to two dimensions, each cell at least as wide as that dimension's window (so a left
subset meets at most 2 to 3 cells per dimension), and inside a cell sorted by a third
dimension, so each met cell is one contiguous key range. The dimensions are the ones
whose windows are narrowest relative to the spread of the right subsets. Candidates are
then checked exactly, a block of lefts and a chunk of candidates at a time, so memory
stays bounded however many candidates there are. Cells per dimension stay below ``2^19``
and the right table below ``2^22`` subsets, so the int64 keys never overflow.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np

from impact_allocate.program import FloatArray
from impact_allocate.subsets import IntArray, TooManySubsets

#: Cells per grid dimension at most, and largest right table (keys stay below 2^60).
MAX_CELLS = 2**19
MAX_RIGHT = 2**22
#: Left subsets whose partners are looked up at once.
LEFT_BLOCK = 131_072
#: Subsets sampled to choose the dimension sorted inside a cell.
SAMPLE = 4_096


def matching_pairs(
    left: FloatArray,
    right: FloatArray,
    caps: FloatArray,
    low: FloatArray,
    chunk: int,
    pair_cap: int,
) -> Iterator[tuple[IntArray, IntArray]]:
    """Blocks of pairs within ``caps`` on every dimension (rows of ``left``/``right``)."""
    if right.shape[1] > MAX_RIGHT:
        raise TooManySubsets(f"{right.shape[1]} right subsets")
    grid = Grid.build(left, right, caps, low)
    total = 0
    for first in range(0, left.shape[1], LEFT_BLOCK):
        block = left[:, first : first + LEFT_BLOCK]
        owner, start, stop = grid.segments(block)
        counts = stop - start
        total += int(counts.sum())
        if total > pair_cap:
            raise TooManySubsets(f"more than {pair_cap} candidate pairs")
        ends = np.cumsum(counts)
        begins = ends - counts
        for head in range(0, int(ends[-1]) if ends.size else 0, chunk):
            position = np.arange(head, min(int(ends[-1]), head + chunk), dtype=np.int64)
            segment = np.searchsorted(ends, position, side="right")
            a = owner[segment] + first
            b = grid.by_key[start[segment] + position - begins[segment]]
            for k in range(caps.size):  # exact check, dimension by dimension
                keep = left[k, a] + right[k, b] <= caps[k]
                a, b = a[keep], b[keep]
            yield a, b


@dataclass(frozen=True)
class Grid:
    """Right subsets sorted by (cell on ``cell_dims``, rank on ``rank_dim``)."""

    right: FloatArray
    caps: FloatArray
    low: FloatArray
    cell_dims: tuple[int, ...]
    origin: FloatArray  # per cell dimension
    width: FloatArray
    cells: tuple[int, ...]  # cell count per cell dimension
    rank_dim: int
    by_key: IntArray
    sorted_keys: IntArray
    sorted_rank_values: FloatArray

    @staticmethod
    def build(left: FloatArray, right: FloatArray, caps: FloatArray, low: FloatArray) -> Grid:
        size = right.shape[1]
        spread = np.ptp(right, axis=1) if size else np.zeros(caps.size)
        window = caps - low
        ratio = np.where(np.isfinite(low) & (spread > 0), window / np.maximum(spread, 1e-300), 2.0)
        cell_dims = tuple(int(k) for k in np.argsort(ratio, kind="stable")[:2] if ratio[k] < 0.5)
        rest = [k for k in range(caps.size) if k not in cell_dims] or [cell_dims[-1]]
        rank_dim = min(rest, key=lambda k: (_window_pairs(left, right, caps, low, k), k))
        origin = np.array([right[k].min() for k in cell_dims]) if size else np.zeros(0)
        width = np.array(
            [max(float(window[k]), float(spread[k]) / (MAX_CELLS - 2)) for k in cell_dims]
        )
        cell_of = [
            np.floor((right[k] - o) / w).astype(np.int64)
            for k, o, w in zip(cell_dims, origin, width, strict=True)
        ]
        cells = tuple(int(c.max(initial=0)) + 1 for c in cell_of)
        by_value = np.argsort(right[rank_dim], kind="stable")
        rank = np.empty(size, dtype=np.int64)
        rank[by_value] = np.arange(size)
        keys = _key(cell_of, cells, rank, size)
        by_key = np.argsort(keys, kind="stable").astype(np.int64)
        return Grid(
            right,
            caps,
            low,
            cell_dims,
            origin,
            width,
            cells,
            rank_dim,
            by_key,
            keys[by_key],
            right[rank_dim][by_value],
        )

    def segments(self, block: FloatArray) -> tuple[IntArray, IntArray, IntArray]:
        """Candidate partners of each left in ``block``: ``by_key[start:stop]`` for owner."""
        size = self.right.shape[1]
        k = self.rank_dim
        first_rank = _search(self.sorted_rank_values, self.low[k] - block[k], "left")
        end_rank = _search(self.sorted_rank_values, self.caps[k] - block[k], "right")
        ranges = []
        for d, o, w, count in zip(self.cell_dims, self.origin, self.width, self.cells, strict=True):
            lowest = _cell(self.low[d] - block[d], o, w, count)
            highest = _cell(self.caps[d] - block[d], o, w, count)
            ranges.append((lowest, highest))
        owners, starts, stops = [], [], []
        for shifts in _shift_combinations(ranges):
            cell_of = [lowest + s for (lowest, _), s in zip(ranges, shifts, strict=True)]
            use = end_rank > first_rank
            for cell, (_, highest), count in zip(cell_of, ranges, self.cells, strict=True):
                use &= (cell <= highest) & (cell >= 0) & (cell < count)
            chosen = np.flatnonzero(use)
            base = _key(
                [c[chosen] for c in cell_of], self.cells, np.zeros(chosen.size, np.int64), size
            )
            start = _search(self.sorted_keys, base + first_rank[chosen], "left")
            stop = _search(self.sorted_keys, base + end_rank[chosen], "left")
            nonempty = stop > start
            owners.append(chosen[nonempty])
            starts.append(start[nonempty])
            stops.append(stop[nonempty])
        return (
            np.concatenate(owners).astype(np.int64),
            np.concatenate(starts).astype(np.int64),
            np.concatenate(stops).astype(np.int64),
        )


def _search(ordered: np.ndarray, queries: np.ndarray, side: Literal["left", "right"]) -> IntArray:
    """``np.searchsorted`` with the queries sorted first (cache-friendly on big arrays)."""
    order = np.argsort(queries)
    found = np.empty(queries.size, dtype=np.int64)
    found[order] = np.searchsorted(ordered, queries[order], side=side)
    return found


def _key(cell_of: list[IntArray], cells: tuple[int, ...], rank: IntArray, size: int) -> IntArray:
    key = np.zeros_like(rank)
    for cell, count in zip(cell_of, cells, strict=True):
        key = key * count + cell
    return key * size + rank


def _shift_combinations(ranges: list[tuple[IntArray, IntArray]]) -> list[tuple[int, ...]]:
    """Every combination of per-dimension cell offsets some left needs."""
    combos: list[tuple[int, ...]] = [()]
    for lowest, highest in ranges:
        spread = int(np.max(highest - lowest, initial=0))
        combos = [(*c, s) for c in combos for s in range(max(spread, 0) + 1)]
    return combos


def _cell(bound: FloatArray, origin: float, width: float, count: int) -> IntArray:
    """The cell of each bound, clipped to ``[-1, count]`` before the int cast."""
    cells = np.floor((bound - origin) / width)
    return np.clip(np.nan_to_num(cells, nan=-1.0), -1.0, float(count)).astype(np.int64)


def _window_pairs(
    left: FloatArray, right: FloatArray, caps: FloatArray, low: FloatArray, k: int
) -> int:
    """Candidate pairs of a sample when only dimension ``k`` is checked."""
    lefts = left[k, :: max(1, left.shape[1] // SAMPLE)]
    rights = np.sort(right[k, :: max(1, right.shape[1] // (16 * SAMPLE))])
    begin = np.searchsorted(rights, low[k] - lefts, side="left")
    end = np.searchsorted(rights, caps[k] - lefts, side="right")
    return int(np.maximum(end - begin, 0).sum())
