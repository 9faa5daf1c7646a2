"""Where a consumed event belongs: the owner of a run is the input partition
``ownership.owner_partition(run_id)``; an event read on another partition (a producer with
another partitioner, key or explicit partition) is forwarded there unchanged."""

from __future__ import annotations

import structlog
from impact_runtime import Incoming

from impact_orchestrator.outputs import FORWARDED_FROM, Forward, Reject
from impact_orchestrator.ownership import place

log = structlog.get_logger("impact_orchestrator")


def elsewhere(msg: Incoming, run_id: str, partition_count: int) -> Forward | Reject | None:
    """The output that sends ``msg`` to its run's owner partition (or dead-letters it
    when it cannot get there); ``None`` when this partition owns the run."""
    forwarded = msg.headers.get(FORWARDED_FROM)
    placement = place(run_id, msg.partition, partition_count, forwarded)
    if placement.here:
        return None
    log.info("forwarded_to_owner", run_id=run_id, event_name=msg.event, to=placement.owner)
    return Reject(placement.problem) if placement.problem else Forward(placement.owner)
