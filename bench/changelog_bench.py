"""The orchestrator's changelog: bytes and CPU time written per batch, whole-run (decision
0005) vs incremental (decision 0040), at 1,000 to 100,000 initiatives.

Run: ``uv run python -m bench.changelog_bench`` (no broker). A run is fed through a
``RunStore`` until half its initiatives are measured and evaluated; then one batch of 500
pilot results (250 ``measure_completed`` + 250 ``evaluate_completed``) is handled and its
changelog written both ways: format 1 is the whole state's JSON, zlib level 1, once per
batch; format 2 is every part the batch touched (``changelog.touched``), each encoded
once. Restore: the whole run read back from its records. Writes
``bench/results/changelog.json``.
"""

from __future__ import annotations

import gzip
import time
import zlib
from typing import Any

from impact_orchestrator.changelog import encode_part, every_part, record_key
from impact_orchestrator.changelog_restore import restore_runs
from impact_orchestrator.run_state import RunState
from impact_orchestrator.store import RunStore

from bench.orchestrator_state_bench import _evaluated, _manifest, _measured
from bench.results import sizes_main

SIZES = (1_000, 10_000, 100_000)
BATCH = 500
METHOD = (
    "One run per size through impact_orchestrator.store.RunStore, half its initiatives "
    "measured and evaluated, then a batch of 500 pilot results. Per batch: bytes of the "
    "changelog records (key + value) and CPU seconds (time.process_time) to encode them; "
    "format 1 = zlib(level 1) of the whole RunState JSON once per batch (decision 0005), "
    "format 2 = every part the batch touched (decision 0040), raw and gzipped together "
    "as the producer's batch compression does (format 1 is already zlib). Best of 3. "
    "Restore: CPU seconds to rebuild the run from its records (format 2: one record per part)."
)


def _results(ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
    return [
        *(("measure_completed", _measured(i, "pilot")) for i in ids),
        *(("evaluate_completed", _evaluated(i)) for i in ids),
    ]


def _timed(action: Any) -> tuple[Any, float]:
    start = time.process_time()
    value = action()
    return value, time.process_time() - start


def _best(action: Any, repeat: int = 3) -> tuple[Any, float]:
    """The value and the best CPU time of ``repeat`` calls."""
    timings = [_timed(action) for _ in range(repeat)]
    return timings[0][0], min(t for _, t in timings)


def bench(n: int) -> dict[str, Any]:
    ids = [f"i{k:06d}" for k in range(n)]
    store = RunStore()
    store.handle("manifest_submitted", _manifest(n), 0, now=0.0)
    for event, value in _results(ids[: n // 2]):
        store.handle(event, value, 0, now=1.0)
    store.take_parts("bench")
    store.commit()
    state = store.states["bench"]
    parts: set[tuple[str, ...]] = set()
    for event, value in _results(ids[n // 2 : n // 2 + BATCH // 2]):
        store.handle(event, value, 0, now=1.0)
        parts |= store.take_parts("bench")

    whole, whole_s = _best(lambda: zlib.compress(state.to_json().encode(), 1))

    def incremental() -> list[bytes]:
        return [record_key("bench", p).encode() + (encode_part(state, p) or b"") for p in parts]

    written, incremental_s = _best(incremental)
    on_wire = len(gzip.compress(b"".join(written)))  # the producer gzips a batch together
    records = [encode_part(state, p) for p in every_part(state)]
    restored, restore_s = _timed(lambda: restore_runs(r for r in records if r is not None))
    assert restored.states["bench"] == state
    _, restore_whole_s = _timed(lambda: RunState.from_json(zlib.decompress(whole)))
    store.commit()
    return {
        "initiatives": n,
        "format1_bytes_per_batch": len(whole) + len(b"bench"),
        "format1_ms_per_batch": round(whole_s * 1e3, 1),
        "format2_bytes_per_batch": sum(map(len, written)),
        "format2_gzip_bytes_per_batch": on_wire,
        "format2_records_per_batch": len(parts),
        "format2_ms_per_batch": round(incremental_s * 1e3, 1),
        "format1_restore_s": round(restore_whole_s, 2),
        "format2_restore_s": round(restore_s, 2),
        "format2_records_per_run": len(records),
    }


def main() -> None:
    sizes_main("changelog", METHOD, __doc__ or "", SIZES, bench)


if __name__ == "__main__":
    main()
