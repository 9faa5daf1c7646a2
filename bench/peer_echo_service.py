"""This project's variant in ``bench.peer_hops_bench``: a real ``impact_runtime.Service``.

Run as ``python -m bench.peer_echo_service json|avro [async]`` with the usual ``IMPACT_*`` env vars
(``IMPACT_PROCESSING_GUARANTEE`` picks at_least_once or exactly_once). It answers each
``measure_requested`` with a ``measure_completed`` for the same initiative (the result of
``impact_schemas.examples``), through the JSON codec or the production Avro codec and
registry. The handler is synchronous, as the stage services' are (the runtime runs it in a
worker thread); ``async`` makes it a coroutine.
"""

from __future__ import annotations

import sys

from impact_runtime import Incoming, JsonCodec, Outgoing, Service, ServiceSettings, run_service
from impact_schemas.examples import example

ENVELOPE = ("schema_version", "run_id", "event_id", "causation_id", "produced_at")
RESULT = {k: v for k, v in example("measure_completed").items() if k not in ENVELOPE}


def echo(incoming: Incoming) -> list[Outgoing]:
    """The measure_completed of the requested initiative and phase."""
    value = {**RESULT, "initiative_id": incoming.value["initiative_id"]}
    value["phase"] = incoming.value["phase"]
    return [Outgoing("measure_completed", incoming.value["run_id"], value)]


async def echo_async(incoming: Incoming) -> list[Outgoing]:
    """``echo`` as a coroutine: the runtime runs it on the event loop, not in a thread."""
    return echo(incoming)


def main() -> None:
    codec = JsonCodec() if sys.argv[1] == "json" else None  # None: Avro + registry
    handler = echo_async if sys.argv[2:] == ["async"] else echo
    settings = ServiceSettings()
    run_service(
        Service(
            settings, ["measure_requested"], handler, codec=codec, outputs=["measure_completed"]
        )
    )


if __name__ == "__main__":
    main()
