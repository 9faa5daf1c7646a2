"""``load_manifest``: read, resolve and validate a manifest, reporting every problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from impact_orchestrator.manifest.errors import ErrorCollector, ManifestError
from impact_orchestrator.manifest.files import DataRoot
from impact_orchestrator.manifest.measure_config import load_measure_config
from impact_orchestrator.manifest.model import InitiativeSpec, Manifest
from impact_orchestrator.manifest.stages import (
    STAGE_SECTIONS,
    Registries,
    StageConfig,
    default_registries,
    load_stage,
)

DEFAULT_SCALE_SAMPLE_SIZE = 5000
DEFAULT_MAX_WORKERS = 4


class _InitiativeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    initiative_id: str = Field(min_length=1)
    cost_to_scale: float = Field(gt=0)
    measure_config: Any


class _ManifestFile(BaseModel):
    """The keys a user writes, with the original names."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    budget: float = Field(gt=0)
    scale_sample_size: int = Field(default=DEFAULT_SCALE_SAMPLE_SIZE, ge=30)
    max_workers: int = Field(default=DEFAULT_MAX_WORKERS, ge=1)
    storage_url: str | None = None
    deadline: float | None = Field(default=None, gt=0)
    deadline_policy: Literal["fail", "proceed"] = "proceed"
    seed: int | None = None
    MEASURE: Any = None
    EVALUATE: Any = None
    ALLOCATE: Any = None
    INITIATIVES: list[_InitiativeEntry] = Field(min_length=1)


def load_manifest(
    path: str | Path,
    data_root: str | Path | None = None,
    *,
    registries: Registries | None = None,
) -> Manifest:
    """Load ``path`` into a validated :class:`Manifest`.

    Arguments:
        path: the manifest YAML file.
        data_root: every path the manifest (or a file it names) uses must stay inside it;
            default: the manifest's directory.
        registries: component registries to check stage sections against; default: the
            installed measure/evaluate/allocate packages.

    Raises:
        ManifestError: when anything is invalid; ``.errors`` lists each problem as
            ``<file>: <key path>: <reason>``.
    """
    manifest_path = Path(path).resolve()
    root_dir = Path(data_root).resolve() if data_root is not None else manifest_path.parent
    errors = ErrorCollector()
    files = DataRoot(root_dir, errors)
    name = files.display(manifest_path)
    if not manifest_path.is_file():
        raise ManifestError([f"{path}: file not found"])
    raw = files.load_mapping(manifest_path)
    errors.raise_if_any()
    run = _validate_run_level(raw, name, errors)
    registries = registries or default_registries()
    stages = {
        section: load_stage(
            section,
            raw.get(section),
            named_by=manifest_path,
            root=files,
            registry=registries.for_section(section),
        )
        for section in STAGE_SECTIONS
    }
    initiatives = _load_initiatives(raw.get("INITIATIVES"), manifest_path, files)
    errors.raise_if_any()
    assert run is not None and initiatives is not None
    try:
        return Manifest(
            budget=run.budget,
            scale_sample_size=run.scale_sample_size,
            max_workers=run.max_workers,
            storage_url=run.storage_url,
            deadline_s=run.deadline,
            deadline_policy=run.deadline_policy,
            seed=run.seed,
            measure=_required(stages["MEASURE"]),
            evaluate=_required(stages["EVALUATE"]),
            allocate=_required(stages["ALLOCATE"]),
            initiatives=initiatives,
            source=str(manifest_path),
        )
    except ValidationError as exc:  # a limit of the manifest_submitted contract
        errors.add_validation(name, (), exc)
        errors.raise_if_any()
        raise


def _validate_run_level(raw: dict[str, Any], name: str, errors: ErrorCollector) -> Any:
    try:
        return _ManifestFile.model_validate(raw)
    except ValidationError as exc:
        errors.add_validation(name, (), exc)
        return None


def _load_initiatives(
    entries: Any, manifest_path: Path, files: DataRoot
) -> list[InitiativeSpec] | None:
    """Inline each initiative's measure config and reject duplicate ids."""
    if not isinstance(entries, list):
        return None  # the run-level validation already reported it
    name = files.display(manifest_path)
    specs: list[InitiativeSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        initiative_id = entry.get("initiative_id")
        if isinstance(initiative_id, str) and initiative_id:
            if initiative_id in seen:
                key = f"INITIATIVES[{index}].initiative_id"
                files.errors.add(name, key, f"duplicate {initiative_id!r}")
            seen.add(initiative_id)
        if "measure_config" not in entry:
            continue
        config = load_measure_config(
            entry["measure_config"],
            named_by=manifest_path,
            key=("INITIATIVES", index, "measure_config"),
            root=files,
        )
        if config is not None and not files.errors.errors:
            specs.append(
                InitiativeSpec(
                    initiative_id=entry["initiative_id"],
                    cost_to_scale=entry["cost_to_scale"],
                    measure_config=config,
                )
            )
    return specs


def _required(stage: StageConfig | None) -> StageConfig:
    assert stage is not None
    return stage
