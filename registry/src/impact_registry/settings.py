"""The two per-subject settings, compatibility level and mode, described once: the registry
logic (``core``) and the routes (``routes``) serve both from these descriptions."""

from __future__ import annotations

from dataclasses import dataclass

from impact_schemas.policy import LEVELS
from impact_schemas.registry.errors import (
    InvalidCompatibilityLevel,
    InvalidMode,
    RegistryError,
    SubjectLevelNotConfigured,
    SubjectModeNotConfigured,
)

from impact_registry.state import RegistryState

MODES = ("READWRITE", "READONLY", "READONLY_OVERRIDE")


@dataclass(frozen=True)
class Setting:
    """One setting: its URL, record and body names, valid values and errors."""

    path: str  # URL path and route-name suffix: /config, /mode
    keytype: str  # record key type in the log
    field: str  # field of its records and of GET and DELETE answers
    body_field: str  # field of a PUT body and of its answer
    noun: str  # in messages: "compatibility level", "mode"
    valid: tuple[str, ...]
    invalid: type[RegistryError]
    not_configured: type[RegistryError]
    #: deleting it for an unknown subject is 40401 (Confluent: level yes, mode no)
    subject_must_exist: bool

    def table(self, state: RegistryState) -> dict[str | None, str]:
        """The configured values by subject (``None``: the global one)."""
        return state.levels if self.keytype == "CONFIG" else state.modes

    def current(self, state: RegistryState, subject: str | None) -> str:
        """The value in force for ``subject`` (its own, else the global one)."""
        return state.level(subject) if self.keytype == "CONFIG" else state.mode(subject)


LEVEL = Setting(
    "config",
    "CONFIG",
    "compatibilityLevel",
    "compatibility",
    "compatibility level",
    LEVELS,
    InvalidCompatibilityLevel,
    SubjectLevelNotConfigured,
    subject_must_exist=True,
)
MODE = Setting(
    "mode",
    "MODE",
    "mode",
    "mode",
    "mode",
    MODES,
    InvalidMode,
    SubjectModeNotConfigured,
    subject_must_exist=False,
)
