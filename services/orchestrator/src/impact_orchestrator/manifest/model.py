"""The validated, fully inlined manifest and its ``manifest_submitted`` payload."""

from __future__ import annotations

from typing import Any

from impact_contracts import InitiativeSpec, ManifestSubmitted

__all__ = ["InitiativeSpec", "Manifest"]


class Manifest(ManifestSubmitted):
    """A validated run: run-level settings, one component per stage, the initiatives.

    It is the ``manifest_submitted`` contract itself, so what ``publish`` sends and what
    the orchestrator accepts are checked by the same rules.
    """

    def to_event_payload(self) -> dict[str, Any]:
        """The ``manifest_submitted`` payload (after the envelope), JSON fields as dicts."""
        return self.model_dump()
