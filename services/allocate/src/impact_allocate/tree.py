"""Branch and bound around the enumeration (``impact_allocate.meet``).

When one enumeration cannot close the gap between the Lagrangian bound and the optimum
(its subset tables would not fit: e.g. one initiative that costs 40 % of the budget sits
half-taken in the LP), the LP's most influential fractional item is fixed both ways.
Each side gets its own, tighter Lagrangian bound and its own enumeration; sides whose
bound exceeds the incumbent plus the tie tolerance are dropped. Nodes are taken lowest
bound first. Every proven node hands over its near-optimal portfolios, and the ranking
picks among all of them, so tie-breaking is the same as with one enumeration.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import numpy as np

from impact_allocate.deadline import Deadline
from impact_allocate.lagrange import Columns, Lagrangian, lagrangian
from impact_allocate.meet import groups, near_optimal
from impact_allocate.program import BinaryProgram, FloatArray
from impact_allocate.ranking import Near, preferred
from impact_allocate.tiebreak import tie_tolerance

#: Nodes enumerated at most before giving the rest to CBC (or the deadline).
MAX_NODES = 48
#: After this many nodes, stop branching unless the lowest open bound has closed at least
#: ``PROGRESS`` of the root gap (branching on near-identical items barely moves it).
STALL_NODES = 8
PROGRESS = 0.05


@dataclass(frozen=True)
class Outcome:
    """The best portfolio found, a proven lower bound, and whether it is optimal."""

    value: float | None
    x: FloatArray | None
    bound: float
    proven: bool  # optimal (and tie-broken when ``ties``), or infeasible if ``value`` is None


def branch_and_bound(
    program: BinaryProgram,
    root: Lagrangian,
    columns: Columns,
    prefer: tuple[FloatArray, FloatArray],
    deadline: Deadline,
    incumbent: tuple[float, FloatArray] | None,
    ties: bool,
    lp_seconds: float = 0.0,
) -> Outcome:
    """Enumerate node by node until every node is proven or dropped (or time is up).
    ``lp_seconds`` (how long the root LP took) keeps branching from starting two LPs
    that cannot end before the deadline."""

    def tolerance(value: float) -> float:
        return tie_tolerance(program, value) if ties else 0.0

    group = groups(root.extended, prefer)
    queue: list[tuple[float, int, dict[int, int], Lagrangian]] = [(root.lmin, 0, {}, root)]
    nears: list[Near] = []
    counter, nodes = 0, 0
    while queue:
        floor, _, fixed, bound = queue[0]
        if incumbent is not None and floor > incumbent[0] + tolerance(incumbent[0]):
            heapq.heappop(queue)
            continue
        if deadline.passed() or nodes >= MAX_NODES or _stalled(nodes, root, floor, incumbent):
            break
        heapq.heappop(queue)
        nodes += 1
        found = near_optimal(program, bound, prefer, deadline, incumbent, ties, group)
        if found.value is not None and (incumbent is None or found.value < incumbent[0]):
            assert found.x is not None
            incumbent = (found.value, found.x)
        if found.proven:
            if found.near is not None:
                nears.append(found.near)
            continue
        floor = max(floor, found.bound)
        item = _branch_item(bound)
        if item is None or deadline.left() < 3.0 * lp_seconds:
            counter += 1
            heapq.heappush(queue, (floor, counter, fixed, bound))
            break
        for side in (0, 1):
            child_fixed = {**fixed, item: side}
            started = time.monotonic()
            child = lagrangian(program, child_fixed, columns)
            lp_seconds = max(lp_seconds, time.monotonic() - started)
            if child is not None:
                counter += 1
                heapq.heappush(queue, (max(floor, child.lmin), counter, child_fixed, child))
    if queue:  # stopped early: the bound is the lowest open node's
        lowest = min(entry[0] for entry in queue)
        if incumbent is None:
            return Outcome(None, None, lowest, False)
        return Outcome(incumbent[0], incumbent[1], min(lowest, incumbent[0]), False)
    if incumbent is None:
        return Outcome(None, None, np.inf, True)
    if not ties:
        return Outcome(incumbent[0], incumbent[1], incumbent[0], True)
    if not nears:  # the incumbent was never re-found by its node: numerically on an edge
        return Outcome(incumbent[0], incumbent[1], incumbent[0], False)
    value, x = preferred(program, nears)
    return Outcome(value, x, value, True)


def _stalled(
    nodes: int, root: Lagrangian, floor: float, incumbent: tuple[float, FloatArray] | None
) -> bool:
    """Has branching stopped paying (see ``STALL_NODES``)?"""
    if nodes < STALL_NODES or incumbent is None:
        return False
    return floor - root.lmin < PROGRESS * (incumbent[0] - root.lmin)


def _branch_item(bound: Lagrangian) -> int | None:
    """The free item, fractional in the LP, that moves the weighted rows the most."""
    free = np.isfinite(bound.weight)
    fractional = free & (bound.x_lp > 1e-6) & (bound.x_lp < 1 - 1e-6)
    pool = fractional if fractional.any() else free
    if not pool.any():
        return None
    magnitude = bound.multipliers @ np.abs(bound.extended)
    return int(np.argmax(np.where(pool, magnitude, -np.inf)))
