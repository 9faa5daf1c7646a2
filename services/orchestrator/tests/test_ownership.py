"""Run ownership is a pure function of run_id: Java's murmur2 partition, computed by us."""

from __future__ import annotations

import random
import string
import zlib

import pytest
from aiokafka.partitioner import DefaultPartitioner
from impact_contracts import ConfigError
from impact_orchestrator.ownership import murmur2, owner_partition, ownership_count, place

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
