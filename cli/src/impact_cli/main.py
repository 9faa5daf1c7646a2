"""impact: publish manifests, follow runs, run embedded, and start the local stack.

Connection settings come from --bootstrap/--registry, else the environment
(KAFKA_BOOTSTRAP_SERVERS, SCHEMA_REGISTRY_URL), else the stack that impact up started
from this checkout. Library warnings go to a log file (IMPACT_CLI_LOG, default
var/stack/logs/cli.log), not to the terminal.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from impact_cli import (
    follow,
    history,
    lifecycle,
    manifest_commands,
    measure,
    pilots,
    report_command,
    stack_commands,
    status_command,
)
from impact_cli.logs import quiet_libraries

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_show_locals=False)


@app.callback()
def _configure(
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            envvar="IMPACT_STACK_DIR",
            help="Where impact up keeps the local stack's state, logs and broker data "
            "(default: var/stack in the checkout).",
        ),
    ] = None,
) -> None:
    if home is not None:
        os.environ["IMPACT_STACK_DIR"] = str(home.expanduser().resolve())
    quiet_libraries()


# Registered in the order ``impact --help`` lists them.
app.command()(manifest_commands.check)
app.command()(manifest_commands.publish)
app.command()(follow.tail)
app.command()(manifest_commands.run)
app.command()(stack_commands.ui)
app.command("report")(report_command.report)
app.command("status")(status_command.status)
app.command("measure")(measure.measure)
history.register(app)
app.command("pilots")(pilots.pilots)
lifecycle.register(app)
for command in (stack_commands.up, stack_commands.down, stack_commands.demo):
    app.command()(command)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
