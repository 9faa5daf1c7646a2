"""Embedded mode, the stage handlers and the runtime's failure routing import no Kafka
(docs/interfaces.md): a notebook can run a manifest without aiokafka being loaded."""

from __future__ import annotations

import subprocess
import sys

PURE = [
    "impact_orchestrator",
    "impact_orchestrator.executor",
    "impact_measure.handler",
    "impact_evaluate.handler",
    "impact_allocate.handler",
    "impact_runtime",
    "impact_runtime.stage",
]


def test_embedded_mode_and_the_stage_handlers_import_no_kafka() -> None:
    code = f"import sys\nfor m in {PURE!r}: __import__(m)\n"
    code += "print(sorted(m for m in sys.modules if m.split('.')[0] == 'aiokafka'))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
