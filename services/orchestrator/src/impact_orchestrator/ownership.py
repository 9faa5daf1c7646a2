"""Which partition owns a run: a pure function of its ``run_id``, whoever produced the event.

``owner_partition(run_id, n) = toPositive(murmur2(run_id)) % n``: the partition Java's and
aiokafka's default partitioner give the key ``run_id``, computed here so that ownership
does not depend on the producer's client (librdkafka's default is CRC32), its key or an
explicit partition. An event read on another partition is forwarded to the owner
(decision 0010).

``n`` is the changelog's partition count, fixed when it is created: the input topics may
grow past it (an operator adding partitions for more replicas), and an event read on an
input partition ``>= n`` is forwarded to its owner like any other misplaced event
(decision 0079). The changelog itself never grows: ``misplaced`` finds a record that
does not sit on its run's owner partition under the changelog's current count (it grew,
or another partitioner wrote it), and the orchestrator then refuses to run (decision 0079).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from impact_contracts import ConfigError

SCALING = "docs/deployment.md, 'Scaling past the partition count'"

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's ``Utils.murmur2``: the signed 32-bit MurmurHash2 of ``data``."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = data[length - length % 4 :]
    if tail:
        for index in range(len(tail) - 1, -1, -1):
            h ^= tail[index] << (8 * index)
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def owner_partition(run_id: str, partitions: int) -> int:
    """The input partition whose replica owns ``run_id`` (and whose changelog holds it)."""
    if partitions < 1:
        raise ValueError(f"partitions: must be >= 1, got {partitions}")
    return (murmur2(run_id.encode()) & 0x7FFFFFFF) % partitions


def ownership_count(inputs: dict[str, int], changelog: str, found: int | None) -> int:
    """The partition count run ownership is computed with: the changelog's (``found``, or
    the inputs' when it does not exist yet and is about to be created with it).

    Raises:
        ConfigError: a changelog is to be created while the inputs differ in partition
            count, or an input has fewer partitions than the existing changelog.
    """
    listed = ", ".join(f"{t}={n}" for t, n in sorted(inputs.items()))
    if found is None:
        if len(set(inputs.values())) != 1:
            raise ConfigError(f"orchestrator input topics differ in partition count: {listed}")
        return next(iter(inputs.values()))
    if fewer := sorted(t for t, n in inputs.items() if n < found):
        raise ConfigError(
            f"orchestrator input topics {fewer} have fewer partitions than the changelog "
            f"{changelog} ({found}), which fixes run ownership and must never change: "
            f"{listed}; grow the inputs to at least {found} ({SCALING})"
        )
    return found


def changelog_changed(changelog: str, problem: str) -> str:
    """The one-line refusal when the changelog's partitioning changed (decision 0079)."""
    return (
        f"changelog {changelog} {problem}: its partition count changed (it grew: never "
        f"alter it) or another partitioner wrote it; the runs it holds are stranded, so this "
        f"orchestrator refuses to run; repair: {SCALING}"
    )


def run_of_record_key(key: bytes | None) -> str | None:
    """The run a changelog record key names (``run_id`` or ``["<run_id>", ...]``), or
    ``None`` when it cannot be read (a corrupt key: quarantining's business, not ours)."""
    try:
        text = (key or b"").decode("utf-8")
        if not text.startswith("["):
            return text or None
        first = json.loads(text)[0]
    except (ValueError, IndexError, TypeError, KeyError):
        return None
    return first if isinstance(first, str) and first else None


def misplaced(
    records: Iterable[tuple[int, bytes | None]], partitions: int
) -> tuple[str, int, int] | None:
    """The first (run, stored partition, owner partition) of ``records`` (partition, key)
    whose key's run is not owned by the partition it is stored on, under ``partitions``;
    ``None`` when every readable key is where the producer's partitioner puts it."""
    owners: dict[str, int] = {}  # a run has many records: murmur2 once per run
    for partition, key in records:
        run_id = run_of_record_key(key)
        if run_id is None:
            continue
        owner = owners.get(run_id)
        if owner is None:
            owner = owners[run_id] = owner_partition(run_id, partitions)
        if owner != partition:
            return run_id, partition, owner
    return None


@dataclass(frozen=True)
class Placement:
    """Where an event read on ``partition`` belongs."""

    owner: int
    here: bool
    problem: str | None = None  # set when it cannot be forwarded (it already was once)


def place(run_id: str, partition: int, partitions: int, forwarded_from: str | None) -> Placement:
    """Handle here, forward to the owner, or (a record forwarded before that is still not on
    its owner: replicas disagree on the partition count) reject it."""
    owner = owner_partition(run_id, partitions)
    if partition == owner:
        return Placement(owner, here=True)
    if forwarded_from is not None:
        problem = (
            f"forwarded to partition {partition} (from partition:offset {forwarded_from}), "
            f"but run {run_id!r} is owned by partition {owner} of {partitions}: "
            "orchestrator replicas disagree on the partition count"
        )
        return Placement(owner, here=False, problem=problem)
    return Placement(owner, here=False)
