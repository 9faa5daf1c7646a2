"""The validated, fully inlined manifest and its ``manifest_submitted`` payload."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from impact_contracts import InitiativeSpec, ManifestSubmitted

__all__ = ["InitiativeSpec", "Manifest", "no_cyclic_gc"]

#: per-initiative keys of the value model, in the payload only when set (the unit too)
VALUE_KEYS = ("outcome_unit", "value_per_unit", "units_at_scale", "horizon")


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Manifests hold no reference cycles, but the cyclic collector rescans every live
    container while millions are created: loading 100,000 initiatives is ~2x faster
    without it (reference counting still frees everything)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Manifest(ManifestSubmitted):
    """A validated run: run-level settings, one component per stage, the initiatives.

    It is the ``manifest_submitted`` contract itself, so what ``publish`` sends and what
    the orchestrator accepts are checked by the same rules.
    """

    def without_cache(self) -> Manifest:
        """This manifest with the measure result cache off (``--no-cache``): the
        ``MEASURE`` kwarg ``cache: false`` (docs/measure.md, "Result cache")."""
        kwargs = {**self.measure.kwargs, "cache": False}
        return self.model_copy(
            update={"measure": self.measure.model_copy(update={"kwargs": kwargs})}
        )

    def to_event_payload(self) -> dict[str, Any]:
        """The ``manifest_submitted`` payload (after the envelope), JSON fields as dicts.

        Measure configs are shared, not copied (100,000 deep copies take seconds): treat
        the payload as read-only, like the frozen manifest."""
        with no_cyclic_gc():
            payload = self.model_dump(exclude={"initiatives"}, exclude_none=False)
            for optional in ("unit", "name"):
                if payload[optional] is None:
                    del payload[optional]
            payload["initiatives"] = [
                {
                    "initiative_id": spec.initiative_id,
                    "cost_to_scale": spec.cost_to_scale,
                    "measure_config": spec.measure_config,
                    **{k: getattr(spec, k) for k in VALUE_KEYS if getattr(spec, k) is not None},
                }
                for spec in self.initiatives
            ]
            return payload
