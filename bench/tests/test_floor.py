"""The floor arithmetic of the end-to-end benchmark."""

from __future__ import annotations

import os
import time

from bench.floor import cores, floor_row, process_cpu_s


def test_floor_is_cpu_over_cores_and_the_ratio_is_wall_over_floor() -> None:
    assert floor_row(12.0, 20.0, 2) == {
        "wall_s": 12.0,
        "cpu_s": 20.0,
        "floor_s": 10.0,
        "wall_over_floor": 1.2,
    }


def test_cores_is_the_affinity_count() -> None:
    assert cores() == len(os.sched_getaffinity(0))


def test_process_cpu_grows_with_work() -> None:
    before = process_cpu_s(os.getpid())
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    assert process_cpu_s(os.getpid()) - before >= 0.1
