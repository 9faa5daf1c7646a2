"""All subsets of a few items whose total weight stays within a limit, built in numpy.

Each subset is stored once, as its parent subset plus one item, so the table holds the
total weight and the summed deviation vector of every subset and can list its members.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

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
    items: IntArray, weight: FloatArray, deviation: FloatArray, limit: float, cap: int
) -> SubsetTable:
    """Every subset of ``items`` with ``Σ weight <= limit`` (weights must be >= 0).

    ``deviation`` has one column per item (indexed like ``weight``); raises
    ``TooManySubsets`` when more than ``cap`` subsets qualify.
    """
    parents = [np.array([-1])]
    added = [np.array([-1])]
    total_weight = np.zeros(1)
    total_deviation = np.zeros((deviation.shape[0], 1))
    for j in items:
        keep = np.flatnonzero(total_weight + weight[j] <= limit)
        if keep.size == 0:
            continue
        if total_weight.size + keep.size > cap:
            raise TooManySubsets(f"more than {cap} subsets within weight {limit:g}")
        new_weight = total_weight[keep] + weight[j]
        new_deviation = total_deviation[:, keep] + deviation[:, j : j + 1]
        parents.append(keep)
        added.append(np.full(keep.size, j))
        total_weight = np.concatenate([total_weight, new_weight])
        total_deviation = np.hstack([total_deviation, new_deviation])
    return SubsetTable(
        total_weight,
        total_deviation,
        np.concatenate(parents).astype(np.int64),
        np.concatenate(added).astype(np.int64),
    )
