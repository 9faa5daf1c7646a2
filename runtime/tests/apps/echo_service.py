"""A tiny service for process-level tests: doubles ``x`` from measure_requested.

Configured by the usual env vars (``IMPACT_*``, ``KAFKA_BOOTSTRAP_SERVERS``). When
``ECHO_HANG_ON_X`` is set, handling that ``x`` writes ``ECHO_HANG_MARKER`` and hangs,
so a test can SIGKILL the process after it consumed but before it produced.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from impact_runtime import (
    Incoming,
    JsonCodec,
    Outgoing,
    Output,
    Service,
    ServiceSettings,
    run_service,
)


def handle(incoming: Incoming) -> list[Output]:
    """Double ``x``; hang on the configured value."""
    x = incoming.value["x"]
    if str(x) == os.environ.get("ECHO_HANG_ON_X"):
        Path(os.environ["ECHO_HANG_MARKER"]).write_text(str(x))
        time.sleep(3600)
    value = {"initiative_id": incoming.value["initiative_id"], "doubled": 2 * x}
    return [Outgoing("measure_completed", incoming.value["run_id"], value)]


def main() -> None:
    settings = ServiceSettings()
    run_service(Service(settings, ["measure_requested"], handle, codec=JsonCodec()))


if __name__ == "__main__":
    main()
