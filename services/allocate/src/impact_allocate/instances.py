"""Seeded random portfolios: the instances the solver tests and the benchmark share.

``random_candidates`` is the project's first generator (its stream is fixed: tests rely on
it). ``FAMILIES`` adds the structure it lacks, each ``family(n, seed) -> Instance``:

- ``cents``: an independent family: costs and returns rounded to cents, budget
  36 % of the total cost, confidence U(0.3, 0.95), worst returns often negative;
- ``ties``: 40 distinct initiatives with small integer data, each repeated ``n / 40``
  times: many identical initiatives and many exactly tied portfolios;
- ``heavy``: Pareto costs (a few initiatives cost a large share of the budget), returns
  growing with cost;
- ``clustered``: confidences in three tight clusters (0.40, 0.65, 0.90), as the evaluate
  stage's per-model scores give;
- ``dominant``: ``cents`` plus one initiative costing 40 % of the (same) budget whose
  best case is half of everything else's and whose worst case is a large loss;
- ``tight`` / ``loose``: ``cents`` with budgets of 1 % and 99 % of the total cost.

``HARD["near_ties"]`` is ``ties`` with every number moved by up to 0.01 %.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from impact_contracts import EvaluateResult

from impact_allocate.problem import Candidates, build_candidates, effective_returns
from impact_allocate.program import FloatArray


def random_candidates(n: int, seed: int) -> Candidates:
    """``n`` initiatives with normal medians, asymmetric best/worst spreads, random
    confidences in [0.2, 0.95] and costs in [1, 10]; the same ``seed`` gives the same set."""
    rng = np.random.default_rng(seed)
    median = rng.normal(10, 5, n)
    half = np.abs(rng.normal(5, 2, n))
    return build_candidates(
        [
            EvaluateResult(
                initiative_id=f"init-{i}",
                confidence=float(rng.uniform(0.2, 0.95)),
                cost=float(rng.uniform(1, 10)),
                return_best=float(median[i] + half[i]),
                return_median=float(median[i]),
                return_worst=float(median[i] - 1.3 * half[i]),
                model_type="experiment",
                sample_size=100,
            )
            for i in range(n)
        ]
    )


@dataclass(frozen=True)
class Instance:
    """Candidates (ids ``c000000`` .. in sorted order) and a budget."""

    candidates: Candidates
    confidence: FloatArray
    best: FloatArray
    budget: float

    def events(self) -> list[dict[str, Any]]:
        """The initiatives as ``EvaluateResult`` dicts (the component's input)."""
        c = self.candidates
        return [
            {
                "initiative_id": c.ids[i],
                "confidence": float(self.confidence[i]),
                "cost": float(c.cost[i]),
                "return_best": float(self.best[i]),
                "return_median": float(c.median[i]),
                "return_worst": float(c.worst[i]),
                "model_type": "experiment",
                "sample_size": 100,
            }
            for i in range(c.size)
        ]


def instance(
    cost: FloatArray,
    best: FloatArray,
    median: FloatArray,
    worst: FloatArray,
    confidence: FloatArray,
    share: float,
    budget: float | None = None,
) -> Instance:
    """An ``Instance`` from arrays, budget ``share`` of the total cost unless given (no
    per-item validation: the generators keep ``worst <= median <= best``, ``cost > 0``
    and ``confidence`` in [0, 1])."""
    ids = tuple(f"c{i:06d}" for i in range(cost.size))
    effective = effective_returns(confidence, best, median, worst)
    candidates = Candidates(ids, cost, median, worst, effective)
    budget = round(float(cost.sum()) * share, 2) if budget is None else budget
    return Instance(candidates, confidence, best, budget)


def _cents(values: Any) -> Any:
    """Rounded to cents (arrays or plain numbers)."""
    return np.round(values, 2)


def _spread_returns(rng: np.random.Generator, median: FloatArray, half: FloatArray) -> tuple:
    best = _cents(median + half * rng.uniform(0.5, 1.5, median.size))
    worst = _cents(median - half * rng.uniform(1.0, 2.0, median.size))
    return best, _cents(median), worst


def cents(n: int, seed: int, share: float = 0.36) -> Instance:
    rng = np.random.default_rng([seed, 1])
    cost = np.maximum(_cents(rng.uniform(1, 50, n)), 0.01)
    median = rng.normal(8, 6, n)
    half = np.abs(rng.normal(4, 2, n))
    best, median, worst = _spread_returns(rng, median, half)
    return instance(cost, best, median, worst, rng.uniform(0.3, 0.95, n), share)


def ties(n: int, seed: int) -> Instance:
    rng = np.random.default_rng([seed, 2])
    kinds = 40
    cost = rng.integers(1, 21, kinds).astype(float)
    median = rng.integers(-2, 15, kinds).astype(float)
    worst = median - rng.integers(0, 10, kinds).astype(float)
    best = median + rng.integers(0, 10, kinds).astype(float)
    confidence = rng.choice([0.5, 0.7, 0.9], kinds)
    kind = np.sort(rng.integers(0, kinds, n))
    return instance(cost[kind], best[kind], median[kind], worst[kind], confidence[kind], 0.36)


def near_ties(n: int, seed: int) -> Instance:
    """``ties`` with every number moved by up to 0.01 %: no two initiatives are identical,
    so nothing can be grouped, yet thousands are almost interchangeable (a hard case)."""
    base = ties(n, seed)
    rng = np.random.default_rng([seed, 5])
    c = base.candidates

    def jitter(values: FloatArray) -> FloatArray:
        return values * (1.0 + rng.uniform(-1e-4, 1e-4, values.size))

    worst = jitter(c.worst)
    median = np.maximum(jitter(c.median), worst)
    best = np.maximum(jitter(base.best), median)
    return instance(jitter(c.cost), best, median, worst, base.confidence, 0.36)


def heavy(n: int, seed: int) -> Instance:
    rng = np.random.default_rng([seed, 3])
    cost = np.maximum(_cents(5.0 * (1.0 + rng.pareto(1.2, n))), 0.01)
    scale = cost**0.7
    median = scale * rng.normal(1.0, 0.8, n)
    half = scale * np.abs(rng.normal(0.6, 0.3, n))
    best, median, worst = _spread_returns(rng, median, half)
    return instance(cost, best, median, worst, rng.uniform(0.3, 0.95, n), 0.36)


def clustered(n: int, seed: int) -> Instance:
    rng = np.random.default_rng([seed, 4])
    cost = np.maximum(_cents(rng.uniform(1, 50, n)), 0.01)
    median = rng.normal(8, 6, n)
    half = np.abs(rng.normal(4, 2, n))
    best, median, worst = _spread_returns(rng, median, half)
    centre = rng.choice([0.40, 0.65, 0.90], n)
    confidence = np.clip(centre + rng.normal(0, 0.005, n), 0.0, 1.0)
    return instance(cost, best, median, worst, confidence, 0.36)


def dominant(n: int, seed: int) -> Instance:
    base = cents(n - 1, seed)
    c = base.candidates
    cost = np.append(c.cost, _cents(0.4 * base.budget))
    best = np.append(base.best, _cents(0.5 * float(np.abs(base.best).sum())))
    median = np.append(c.median, _cents(0.1 * float(np.abs(c.median).sum())))
    worst = np.append(c.worst, _cents(-0.2 * float(np.abs(c.median).sum())))
    confidence = np.append(base.confidence, 0.6)
    return instance(cost, best, median, worst, confidence, 0.0, budget=base.budget)


def tight(n: int, seed: int) -> Instance:
    return cents(n, seed, share=0.01)


def loose(n: int, seed: int) -> Instance:
    return cents(n, seed, share=0.99)


FAMILIES: dict[str, Callable[[int, int], Instance]] = {
    "cents": cents,
    "ties": ties,
    "heavy": heavy,
    "clustered": clustered,
    "dominant": dominant,
    "tight": tight,
    "loose": loose,
}
#: Instances built to be hard for the exact path (deadline tests, not the benchmark table).
HARD: dict[str, Callable[[int, int], Instance]] = {"near_ties": near_ties}
