"""Connection options shared by the commands that talk to a broker, and the ``Bus`` they
give: --bootstrap/--registry, else the environment, else the stack ``impact up`` started."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from impact_cli import stack
from impact_cli.common import errors

Bootstrap = Annotated[
    str | None,
    typer.Option("--bootstrap", envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap servers."),
]
Registry = Annotated[
    str | None,
    typer.Option("--registry", envvar="SCHEMA_REGISTRY_URL", help="Schema registry URL."),
]
Prefix = Annotated[
    str, typer.Option("--prefix", envvar="IMPACT_TOPIC_PREFIX", help="Topic prefix.")
]


def bus(bootstrap: str | None, registry: str | None, prefix: str) -> Any:
    """The ``Bus`` for these options; exit 2 with one line when no broker is known."""
    from impact_observe.bus import Bus

    if bootstrap is None or registry is None:
        state = stack.StackState.load(stack.project_root())
        if state is None:
            errors.print(
                "[red]no broker given[/]: pass --bootstrap/--registry, set "
                "KAFKA_BOOTSTRAP_SERVERS/SCHEMA_REGISTRY_URL, or run `impact up`"
            )
            raise typer.Exit(2)
        bootstrap = bootstrap or state.bootstrap
        registry = registry or state.registry_url
    return Bus(bootstrap, registry, prefix)
