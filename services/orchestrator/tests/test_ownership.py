"""Run ownership is a pure function of run_id: Java's murmur2 partition, computed by us."""

from __future__ import annotations

import random
import string
import zlib

import pytest
from aiokafka.partitioner import DefaultPartitioner
from impact_contracts import ConfigError
from impact_orchestrator.changelog import record_key
from impact_orchestrator.ownership import (
    changelog_changed,
    misplaced,
    murmur2,
    owner_partition,
    ownership_count,
    place,
    run_of_record_key,
)

# org.apache.kafka.common.utils.UtilsTest#testMurmur2
JAVA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@pytest.mark.parametrize(("data", "expected"), JAVA_MURMUR2.items())
def test_murmur2_matches_the_java_client(data: bytes, expected: int) -> None:
    assert murmur2(data) == expected


@pytest.mark.parametrize("partitions", [1, 2, 3, 6, 12, 50])
def test_owner_is_the_partition_aiokafka_and_java_give_the_key_run_id(partitions: int) -> None:
    """So our services, keying run events by run_id, produce straight to the owner."""
    rng = random.Random(partitions)
    default = DefaultPartitioner()
    ids = ["".join(rng.choices(string.printable, k=rng.randint(0, 40))) for _ in range(3000)]
    ids += [f"run-{i}" for i in range(1000)] + ["é-ünïcode-run"]
    everything = list(range(partitions))
    for run_id in ids:
        expected = default(run_id.encode(), everything, everything)
        assert owner_partition(run_id, partitions) == expected, run_id


def test_librdkafkas_default_partition_differs_for_most_run_ids() -> None:
    """Why ownership cannot be left to the producer: CRC32 and murmur2 disagree."""
    ids = [f"run-{i}" for i in range(600)]
    differ = [r for r in ids if zlib.crc32(r.encode()) % 6 != owner_partition(r, 6)]
    assert len(differ) == 479


def test_placement() -> None:
    run_id = "run-7"
    owner = owner_partition(run_id, 6)
    other = (owner + 1) % 6
    assert place(run_id, owner, 6, None) == place(run_id, owner, 6, f"{other}:3")
    assert place(run_id, owner, 6, None).here
    assert place(run_id, other, 6, None).here is False
    assert place(run_id, other, 6, None).owner == owner
    assert place(run_id, other, 6, None).problem is None
    twice = place(run_id, other, 6, "4:17")
    assert twice.problem == (
        f"forwarded to partition {other} (from partition:offset 4:17), but run 'run-7' is "
        f"owned by partition {owner} of 6: orchestrator replicas disagree on the partition count"
    )
    with pytest.raises(ValueError, match="partitions: must be >= 1, got 0"):
        owner_partition(run_id, 0)


def test_ownership_follows_the_changelog_once_it_exists() -> None:
    assert ownership_count({"a": 6, "b": 6}, "log", None) == 6
    assert ownership_count({"a": 12, "b": 6}, "log", 6) == 6  # inputs grew past it


def test_a_new_changelog_needs_inputs_of_one_partition_count() -> None:
    with pytest.raises(ConfigError, match="differ in partition count: a=12, b=6"):
        ownership_count({"a": 12, "b": 6}, "log", None)


def test_an_input_with_fewer_partitions_than_the_changelog_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        ownership_count({"a": 12, "b": 4}, "log", 6)
    assert str(info.value).startswith(
        "orchestrator input topics ['b'] have fewer partitions than the changelog log (6)"
    )
    assert "Scaling past the partition count" in str(info.value)


def test_an_event_on_a_partition_past_the_changelogs_is_forwarded_to_its_owner() -> None:
    run_id = next(r for r in (f"run-{i}" for i in range(100)) if owner_partition(r, 12) >= 6)
    placement = place(run_id, owner_partition(run_id, 12), 6, None)
    assert (placement.here, placement.owner) == (False, owner_partition(run_id, 6))


def _records(run_ids: list[str], partitions: int) -> list[tuple[int, bytes | None]]:
    """Every record key of ``run_ids`` on its owner partition under ``partitions``."""
    return [
        (owner_partition(r, partitions), record_key(r, part).encode())
        for r in run_ids
        for part in [("header",), ("manifest",), ("pilot", "i-1"), ("key", "x:y")]
    ]


def test_a_changelog_written_with_its_count_has_nothing_misplaced() -> None:
    runs = [f"run-{i}" for i in range(200)]
    assert misplaced(_records(runs, 6), 6) is None


def test_a_grown_changelog_has_its_runs_misplaced() -> None:
    """6 -> 12: about half the runs' keys map to another partition; the first is named."""
    runs = [f"run-{i}" for i in range(200)]
    found = misplaced(_records(runs, 6), 12)
    assert found is not None
    run_id, stored, owner = found
    assert stored == owner_partition(run_id, 6) != owner == owner_partition(run_id, 12)
    moved = {r for r in runs if owner_partition(r, 6) != owner_partition(r, 12)}
    assert 60 < len(moved) < 140 and run_id in moved


def test_a_run_whose_partition_is_unchanged_is_not_misplaced() -> None:
    """Growth strands only the runs whose key maps elsewhere: the others are fine."""
    kept = next(
        f"r{i}" for i in range(100) if owner_partition(f"r{i}", 6) == owner_partition(f"r{i}", 12)
    )
    assert misplaced(_records([kept], 6), 12) is None


def test_a_foreign_partitioner_is_found() -> None:
    """A record written with librdkafka's CRC32 default instead of murmur2."""
    run_id = next(
        f"r{i}"
        for i in range(100)
        if zlib.crc32(f"r{i}".encode()) % 6 != owner_partition(f"r{i}", 6)
    )
    assert misplaced([(zlib.crc32(run_id.encode()) % 6, run_id.encode())], 6) is not None


@pytest.mark.parametrize("key", [None, b"", b'["unterminated', b"[]", b"[1]", b"\xff\xfe"])
def test_an_unreadable_key_is_left_to_quarantining(key: bytes | None) -> None:
    assert run_of_record_key(key) is None
    assert misplaced([(5, key)], 6) is None


def test_record_keys_name_their_run() -> None:
    assert run_of_record_key(b"run-1") == "run-1"
    assert run_of_record_key(record_key("run-1", ("pilot", "i")).encode()) == "run-1"


def test_the_refusal_is_one_line_naming_the_topic_counts_and_the_procedure() -> None:
    message = changelog_changed(
        "impact.orchestrator.changelog", "has 12 partitions, this orchestrator started with 6"
    )
    assert "\n" not in message
    assert message.startswith("changelog impact.orchestrator.changelog has 12 partitions, ")
    assert "docs/deployment.md, 'Scaling past the partition count'" in message
