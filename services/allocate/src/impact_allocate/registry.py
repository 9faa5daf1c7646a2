"""The registry ALLOCATE components register in; filled by ``impact_allocate.component``."""

from __future__ import annotations

from impact_contracts import ComponentRegistry

ALLOCATE_COMPONENTS = ComponentRegistry("allocate")
