"""Delivering a batch: its outputs and offsets to Kafka, by the processing guarantee, and
everything exactly-once needs, in one place.

- ``guarantees``: one class per guarantee (a transaction per batch, or acks then commit);
- ``membership``: the group generation a batch was fetched in, confirmed before commit;
- ``fencing``: the one path that judges a fenced producer (replay, wait out, or fatal);
- ``departures``: fencing the transactional ids of members that left the group;
- ``watch``: a stalled delivery marks Kafka down; a stop cancels a long one;
- ``clients``: the consumer and producer, delivery and recovery after a failed delivery.
"""

from impact_runtime.delivery.clients import RECOVERY_TIMEOUT_S, KafkaClients
from impact_runtime.delivery.fencing import AbortedInOutage, Fencing
from impact_runtime.delivery.guarantees import (
    AtLeastOnceDelivery,
    Delivery,
    ExactlyOnceDelivery,
    Offsets,
    Progress,
)
from impact_runtime.delivery.membership import NO_GENERATION, GroupMembership, LostOwnership

__all__ = [
    "NO_GENERATION",
    "RECOVERY_TIMEOUT_S",
    "AbortedInOutage",
    "AtLeastOnceDelivery",
    "Delivery",
    "ExactlyOnceDelivery",
    "Fencing",
    "GroupMembership",
    "KafkaClients",
    "LostOwnership",
    "Offsets",
    "Progress",
]
