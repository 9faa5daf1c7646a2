"""Candidates for allocation: eligible initiatives in canonical (sorted id) order.

Sorting by id makes the whole solve independent of the input order: the same set of
initiatives always yields the same matrices, the same CBC run and the same portfolio.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from impact_contracts import EvaluateResult

from impact_allocate.program import FloatArray

#: Scenario order used for every per-scenario array (columns of ``effective``).
SCENARIOS: tuple[str, ...] = ("best", "median", "worst")


@dataclass(frozen=True)
class Candidates:
    """Eligible initiatives as arrays; index ``i`` is LP variable ``x_i``."""

    ids: tuple[str, ...]
    cost: FloatArray
    median: FloatArray
    worst: FloatArray
    effective: FloatArray  # n x 3: R_eff_i,s = c_i R_i,s + (1 - c_i) R_i,worst (c_i = 1 for
    # posterior estimates)

    @property
    def size(self) -> int:
        return len(self.ids)

    def subset(self, keep: Sequence[int]) -> Candidates:
        index = np.asarray(keep, dtype=int)
        return Candidates(
            tuple(self.ids[i] for i in keep),
            self.cost[index],
            self.median[index],
            self.worst[index],
            self.effective[index],
        )


def effective_returns(
    confidence: FloatArray, best: FloatArray, median: FloatArray, worst: FloatArray
) -> FloatArray:
    """Confidence-penalised returns ``c R_s + (1 - c) R_worst``, one column per scenario."""
    c = confidence[:, None]
    raw = np.column_stack([best, median, worst])
    return np.asarray(c * raw + (1.0 - c) * worst[:, None], dtype=float)


def build_candidates(initiatives: Sequence[EvaluateResult]) -> Candidates:
    """Arrays for ``initiatives`` in sorted-id order."""
    ordered = sorted(initiatives, key=lambda item: item.initiative_id)

    def column(name: str) -> FloatArray:
        return np.array([getattr(item, name) for item in ordered], dtype=float)

    worst = column("return_worst")
    median = column("return_median")
    # a posterior already prices the uncertainty the confidence penalty stands in for
    confidence = np.array(
        [1.0 if item.estimates == "posterior" else item.confidence for item in ordered],
        dtype=float,
    )
    effective = effective_returns(confidence, column("return_best"), median, worst)
    return Candidates(
        tuple(item.initiative_id for item in ordered), column("cost"), median, worst, effective
    )
