"""The Python API for notebooks and scripts: measure a DataFrame in one call, build a
portfolio from a list of dicts or a DataFrame, run it embedded, get DataFrames back.

    from impact_orchestrator import api
    result = api.measure(frame, "experiment", outcome_column="y", treatment_column="t")
    run = api.run(api.portfolio(initiatives, budget=100))
    api.reports(run)

A portfolio is an ordinary manifest mapping: ``run_embedded`` runs it as is, and with
its data in ``s3``/``sql`` sources the same mapping, saved as YAML, runs on Kafka;
``stage`` writes its DataFrames where the services read them first.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from impact_orchestrator.embedded import run_embedded
from impact_orchestrator.history import RunHistory


def frame_source(frame: pd.DataFrame) -> dict[str, Any]:
    """A ``DATA.SOURCE`` reading ``frame`` (the ``dataframe`` source, this process only)."""
    from impact_measure.api import put_frame

    return {"type": "dataframe", "CONFIG": {"name": put_frame(frame)}}


def measure_config(
    data: pd.DataFrame | Mapping[str, Any],
    model: str,
    scale_data: pd.DataFrame | Mapping[str, Any] | None = None,
    **params: Any,
) -> dict[str, Any]:
    """A measure config: ``data`` (a DataFrame or a ``DATA.SOURCE`` mapping), ``model``
    and its PARAMS; ``scale_data`` names the scale phase's data."""

    def source(value: pd.DataFrame | Mapping[str, Any]) -> dict[str, Any]:
        return frame_source(value) if isinstance(value, pd.DataFrame) else dict(value)

    config: dict[str, Any] = {
        "DATA": {"SOURCE": source(data)},
        "MEASUREMENT": {"MODEL": model, "PARAMS": params},
    }
    if scale_data is not None:
        config["SCALE"] = {"DATA": {"SOURCE": source(scale_data)}}
    return config


def measure(frame: pd.DataFrame, model: str = "experiment", **params: Any) -> pd.Series:
    """Measure ``frame`` with ``model`` (PARAMS as keyword arguments): the result as a
    Series (``effect_estimate``, ``ci_lower``, ``ci_upper``, ``p_value``, ...).

    Raises:
        ConfigError: a bad parameter or column, with its key path.
        ComponentError: the data cannot support an estimate.
    """
    from impact_measure.api import Measure

    event = {"initiative_id": "frame", "measure_config": measure_config(frame, model, **params)}
    return pd.Series(Measure(cache=False).execute(event))


def portfolio(
    initiatives: Iterable[Mapping[str, Any]] | pd.DataFrame, *, budget: float, **run_level: Any
) -> dict[str, Any]:
    """A manifest mapping from rows of ``initiative_id``, ``cost_to_scale`` and either
    ``measure_config`` or ``data`` (a DataFrame or a ``DATA.SOURCE`` mapping) + ``model``
    (+ ``scale_data``) + any other keys as the model's PARAMS."""
    rows = initiatives.to_dict("records") if isinstance(initiatives, pd.DataFrame) else initiatives
    entries = []
    for row in rows:
        fields = dict(row)
        entry = {
            "initiative_id": fields.pop("initiative_id"),
            "cost_to_scale": fields.pop("cost_to_scale"),
        }
        if "measure_config" in fields:
            entry["measure_config"] = fields.pop("measure_config")
        else:
            data, model = fields.pop("data"), fields.pop("model", "experiment")
            entry["measure_config"] = measure_config(data, model, **fields)
        entries.append(entry)
    return {"budget": budget, **run_level, "INITIATIVES": entries}


def run(
    manifest: Any,
    *,
    on: str = "embedded",
    bootstrap: str | None = None,
    registry: str | None = None,
    prefix: str | None = None,
    data_root: str | Path | None = None,
    staging: str | Path | None = None,
    timeout_s: float = 600.0,
    history: str | Path | bool = True,
    **options: Any,
) -> dict[str, Any]:
    """Run a manifest (a path, a mapping or a ``Manifest``); the ``run_completed`` payload
    with its ``run_id``.

    ``on="embedded"``: ``run_embedded`` with a progress bar on a terminal or in a notebook;
    the run is recorded in the local run history (``history``: ``True`` for the default
    folder, ``impact_orchestrator.history``, a folder, or ``False`` for none), where
    ``impact report RUN_ID --html``, ``impact compare`` and the dashboard find it.
    ``on="kafka"``: stage the DataFrames (:func:`stage`, to ``staging``), validate and
    check the data against the services' ``data_root`` (default ``IMPACT_DATA_ROOT``) as
    ``impact publish`` does, publish to ``bootstrap``/``registry``/``prefix`` (default
    ``KAFKA_BOOTSTRAP_SERVERS``/``SCHEMA_REGISTRY_URL``/``IMPACT_TOPIC_PREFIX``) and wait
    up to ``timeout_s`` for the run to complete. Nothing is published if a check fails.

    Raises:
        ConfigError: the manifest or its data fail the checks (one line per problem).
        TimeoutError: no ``run_completed`` within ``timeout_s``.
    """
    if on == "embedded":
        if history is not False:
            options["history"] = RunHistory(None if history is True else history)
        run_id = options.pop("run_id", None) or str(uuid.uuid4())
        return {"run_id": run_id, **run_embedded(manifest, run_id=run_id, **options)}
    if on != "kafka":
        raise ValueError(f"on: must be 'embedded' or 'kafka', got {on!r}")
    from impact_orchestrator.data_check import check_data
    from impact_orchestrator.manifest import Manifest, ManifestError, load_manifest

    root = Path(data_root or os.environ.get("IMPACT_DATA_ROOT") or Path.cwd()).resolve()
    if isinstance(manifest, Mapping):
        manifest = stage(manifest, staging or (root / STAGING_FOLDER if data_root else None))
    loaded = manifest if isinstance(manifest, Manifest) else load_manifest(manifest, root)
    problems = check_data(loaded, data_root=root)
    if problems:
        raise ManifestError(problems)
    connection = (
        bootstrap or os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
        registry or os.environ.get("SCHEMA_REGISTRY_URL"),
        prefix or os.environ.get("IMPACT_TOPIC_PREFIX", "impact."),
    )
    payload = loaded.to_event_payload()
    return _blocking(_run_on_kafka(payload, options.get("run_id"), *connection, timeout_s))


async def _run_on_kafka(
    payload: dict[str, Any],
    run_id: str | None,
    bootstrap: str | None,
    registry: str | None,
    prefix: str,
    timeout_s: float,
) -> dict[str, Any]:
    from impact_contracts import ConfigError
    from impact_observe.bus import Bus  # the Kafka client of the CLI and the dashboard

    if bootstrap is None or registry is None:
        raise ConfigError(
            "on='kafka': pass bootstrap= and registry= or set KAFKA_BOOTSTRAP_SERVERS and "
            "SCHEMA_REGISTRY_URL"
        )
    bus = Bus(bootstrap, registry, prefix)
    run_id = await bus.publish_manifest(payload, run_id)
    async for _name, value in bus.follow(run_id, ["run_completed"], timeout_s=timeout_s):
        return dict(value)
    raise TimeoutError(f"run {run_id} did not complete within {timeout_s:.0f} s")


def _blocking(coroutine: Any) -> Any:
    """Run ``coroutine`` to its end, also from a running event loop (Jupyter)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


#: Where ``stage`` writes DataFrames for the services: ``s3://bucket/prefix`` or a folder.
STAGING_ENV = "IMPACT_STAGING_URL"
#: The staging folder under the data root when no staging URL is set.
STAGING_FOLDER = "impact-staging"
_SOURCE_PATHS = (("DATA", "SOURCE"), ("SCALE", "DATA", "SOURCE"))


def stage(manifest: Mapping[str, Any], to: str | Path | None = None) -> dict[str, Any]:
    """The manifest with every ``dataframe`` source written once as Parquet where every
    measure replica can read it, and rewritten to a ``file`` or ``s3`` source: what
    ``impact publish`` (or ``Bus.publish_manifest``) needs to run DataFrames on Kafka.

    ``to``: ``s3://bucket/prefix`` or a folder inside the services' data root; default
    ``IMPACT_STAGING_URL``, else ``$IMPACT_DATA_ROOT/impact-staging``. Names are the
    frames' content hashes (``df-<hash>.parquet``): re-staging the same data writes
    nothing new and gives the same manifest. The input mapping is not changed.

    Raises:
        ConfigError: a ``dataframe`` source names no frame of this process, or there is
            no staging location.
    """
    import copy

    staged = copy.deepcopy(dict(manifest))
    target: str | None = None
    for entry in staged.get("INITIATIVES") or []:
        config = entry.get("measure_config") if isinstance(entry, dict) else None
        for path in _SOURCE_PATHS:
            node: Any = config
            for key in path:
                node = node.get(key) if isinstance(node, dict) else None
            if not isinstance(node, dict) or node.get("type") != "dataframe":
                continue
            target = target or _staging_target(to)
            node.update(_staged_source(str((node.get("CONFIG") or {}).get("name")), target))
    return staged


def _staging_target(to: str | Path | None) -> str:
    from impact_contracts import ConfigError

    if to is not None:
        return str(to)
    if os.environ.get(STAGING_ENV):
        return os.environ[STAGING_ENV]
    if os.environ.get("IMPACT_DATA_ROOT"):
        return str(Path(os.environ["IMPACT_DATA_ROOT"]) / STAGING_FOLDER)
    raise ConfigError(
        f"dataframe sources on Kafka: set {STAGING_ENV}=s3://bucket/prefix or IMPACT_DATA_ROOT "
        "(the data root the services read, e.g. `impact up --data-root DIR`), or pass to="
    )


def _staged_source(name: str, target: str) -> dict[str, Any]:
    """Write frame ``name`` as ``<target>/<name>.parquet`` unless it is there; its source."""
    import io

    from impact_contracts import ConfigError
    from impact_measure.api import get_frame

    frame = get_frame(name)
    if frame is None:
        raise ConfigError(f"DATA.SOURCE.CONFIG.name: no DataFrame {name!r} in this process")
    file_name = f"{name}.parquet"
    if target.startswith("s3://"):
        from impact_measure.api import S3Location, s3_client

        url = f"{target.rstrip('/')}/{file_name}"
        where = S3Location.parse(url)
        client = s3_client()
        try:
            client.head_object(Bucket=where.bucket, Key=where.key)
        except client.exceptions.ClientError:
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            client.put_object(Bucket=where.bucket, Key=where.key, Body=buffer.getvalue())
        return {"type": "s3", "CONFIG": {"url": url}}
    folder = Path(target).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name
    if not path.is_file():
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        frame.to_parquet(partial, index=False)
        partial.replace(path)
    return {"type": "file", "CONFIG": {"path": str(path)}}


def reports(result: Mapping[str, Any]) -> pd.DataFrame:
    """The outcome report, one row per selected initiative."""
    return pd.DataFrame(result.get("reports", []))


def pilots(result: Mapping[str, Any]) -> pd.DataFrame:
    """Every pilot estimate, selected or not."""
    return pd.DataFrame(result.get("pilots", []))


def failures(result: Mapping[str, Any]) -> pd.DataFrame:
    """The initiatives that failed, with stage and reason."""
    return pd.DataFrame(result.get("failures", []))
