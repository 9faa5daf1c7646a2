"""The enumeration's building blocks against brute force: the pair join (every chunk and
block boundary crossed, extreme scales that overflowed the old int64 keys), the light
subsets with identical items, and the subset-count bounds."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from impact_allocate import join, meet
from impact_allocate.instances import random_candidates
from impact_allocate.join import matching_pairs
from impact_allocate.solve import solve_minimax
from impact_allocate.subsets import count_light_subsets, light_subsets


def brute_pairs(
    left: np.ndarray, right: np.ndarray, caps: np.ndarray, low: np.ndarray
) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """(pairs within caps and lows, pairs within caps)."""
    total = left[:, :, None] + right[:, None, :]
    within_caps = np.all(total <= caps[:, None, None], axis=0)
    within_low = np.all(total >= low[:, None, None], axis=0)

    def as_set(mask: np.ndarray) -> set[tuple[int, int]]:
        return {(int(a), int(b)) for a, b in np.argwhere(mask)}

    return as_set(within_caps & within_low), as_set(within_caps)


def joined(left, right, caps, low, chunk) -> set[tuple[int, int]]:
    found: set[tuple[int, int]] = set()
    for a, b in matching_pairs(left, right, caps, low, chunk, 10**9):
        assert np.all(left[:, a] + right[:, b] <= caps[:, None])
        found |= set(zip(a.tolist(), b.tolist(), strict=True))
    return found


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("chunk", [1, 7, 10**6])
def test_join_finds_every_pair_within_the_box(seed: int, chunk: int, monkeypatch) -> None:
    rng = np.random.default_rng(seed)
    monkeypatch.setattr(join, "LEFT_BLOCK", int(rng.integers(1, 40)))
    dims = int(rng.integers(1, 5))
    scale = 10.0 ** rng.integers(-3, 8, dims)[:, None]
    left = np.round(rng.normal(0, 1, (dims, int(rng.integers(1, 60)))) * scale, 2)
    right = np.round(rng.normal(0, 1, (dims, int(rng.integers(1, 60)))) * scale, 2)
    centre = np.round(rng.normal(0, 1, dims) * scale[:, 0], 2)
    width = np.where(rng.random(dims) < 0.3, 0.0, rng.uniform(0, 2, dims) * scale[:, 0])
    caps, low = centre + width, centre - width
    low[rng.random(dims) < 0.25] = -np.inf  # some dimensions only bounded above
    wanted, allowed = brute_pairs(left, right, caps, low)
    found = joined(left, right, caps, low, chunk)
    assert wanted <= found <= allowed


def test_join_zero_width_window_on_a_huge_range() -> None:
    # a window of width 0 over values spread by 1e7 with 20,000 right subsets: keys built
    # as cell * size + rank with cells floored at width 1e-12 would overflow int64
    rng = np.random.default_rng(0)
    values = np.round(rng.uniform(0, 1e7, 20_000), 2)
    left = np.vstack([-values[:60], np.zeros(60)])
    right = np.vstack([values, np.zeros(values.size)])
    caps = low = np.zeros(2)
    wanted, _ = brute_pairs(left, right, caps, low)
    assert len(wanted) >= 60
    assert joined(left, right, caps, low, 1000) == wanted


def test_tiny_chunks_give_the_same_portfolio(monkeypatch) -> None:
    # chunk offsets are per chunk: offsets from the global cumulative sum would raise
    # IndexError, or wrap silently to a wrong portfolio, once a second chunk is needed
    candidates = random_candidates(200, 4)
    budget = float(candidates.cost.sum() * 0.3)
    reference = solve_minimax(candidates, budget, None, "fast")
    monkeypatch.setattr(meet, "CHUNK", 7)
    monkeypatch.setattr(join, "LEFT_BLOCK", 5)
    again = solve_minimax(candidates, budget, None, "fast")
    assert reference.status == again.status == "Optimal"
    assert (again.objective, again.selected) == (reference.objective, reference.selected)


def all_light(items: list[int], weight: np.ndarray, limit: float) -> set[frozenset[int]]:
    return {
        frozenset(s)
        for r in range(len(items) + 1)
        for s in itertools.combinations(items, r)
        if weight[list(s)].sum() <= limit
    }


@pytest.mark.parametrize("seed", range(15))
def test_light_subsets_and_their_counts(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 12))
    weight = np.round(rng.uniform(0, 1, n), 2)
    deviation = rng.normal(0, 1, (3, n))
    items = np.arange(n)
    limit = float(rng.uniform(0, 2))
    table = light_subsets(items, weight, deviation, limit, 10**6)
    listed = [frozenset(table.members(k)) for k in range(table.size)]
    assert len(listed) == len(set(listed))
    assert set(listed) == all_light(list(range(n)), weight, limit)
    for k, members in enumerate(listed):
        assert table.weight[k] == pytest.approx(weight[list(members)].sum(), abs=1e-12)
        expected = deviation[:, list(members)].sum(axis=1)
        assert table.deviation[:, k] == pytest.approx(expected, abs=1e-12)
    lower, upper = count_light_subsets(items, weight, limit)
    assert lower <= table.size <= upper


def test_identical_items_are_taken_in_one_order_only() -> None:
    # items 1, 2, 3 are copies (each follows the previous): 0..3 copies, not 2^3 subsets
    weight = np.array([0.5, 0.2, 0.2, 0.2])
    follows = np.array([-1, -1, 1, 2])
    table = light_subsets(np.arange(4), weight, np.zeros((1, 4)), 10.0, 100, follows)
    listed = {frozenset(table.members(k)) for k in range(table.size)}
    copies = [frozenset(), {1}, {1, 2}, {1, 2, 3}]
    assert listed == {frozenset(c) for c in copies} | {frozenset(c) | {0} for c in copies}
    assert count_light_subsets(np.arange(4), weight, 10.0, follows) == (8.0, 8.0)
