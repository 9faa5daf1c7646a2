"""This project's variant in ``bench.peer_hops_bench``: a real ``impact_runtime.Service``.

Run as ``python -m bench.peer_echo_service json|avro [thread]`` with the usual ``IMPACT_*``
env vars (``IMPACT_PROCESSING_GUARANTEE`` picks at_least_once or exactly_once). It answers
each ``measure_requested`` with a ``measure_completed`` for the same initiative (the result
of ``impact_schemas.examples``), through the JSON codec or the production Avro codec and
registry. The handler is synchronous and returns at once, so it runs on the event loop
(marked ``on_event_loop``, as the evaluate service's handler is); ``thread`` runs it in a
worker thread, the default for a synchronous handler (measure, allocate). A runtime
without that option (a baseline) always uses the worker thread.
"""

from __future__ import annotations

import sys

from impact_runtime import (
    Incoming,
    JsonCodec,
    Outgoing,
    Service,
    ServiceSettings,
    on_event_loop,
    run_service,
)
from impact_schemas.examples import example

ENVELOPE = ("schema_version", "run_id", "event_id", "causation_id", "produced_at")
RESULT = {k: v for k, v in example("measure_completed").items() if k not in ENVELOPE}


def echo(incoming: Incoming) -> list[Outgoing]:
    """The measure_completed of the requested initiative and phase."""
    value = {**RESULT, "initiative_id": incoming.value["initiative_id"]}
    value["phase"] = incoming.value["phase"]
    return [Outgoing("measure_completed", incoming.value["run_id"], value)]


def main() -> None:
    codec = JsonCodec() if sys.argv[1] == "json" else None  # None: Avro + registry
    handle = echo if sys.argv[2:] == ["thread"] else on_event_loop(echo)
    service = Service(ServiceSettings(), ["measure_requested"], handle, codec=codec)
    service.output_events = ("measure_completed",)
    run_service(service)


if __name__ == "__main__":
    main()
