"""The catalog ALLOCATE components register in; filled by ``impact_allocate.component``."""

from __future__ import annotations

from impact_contracts import ComponentCatalog

ALLOCATE_COMPONENTS = ComponentCatalog("allocate")
