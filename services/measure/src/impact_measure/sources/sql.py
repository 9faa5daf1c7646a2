"""Source ``sql``: a table or a query in a SQL database (PostgreSQL) through SQLAlchemy.

The connection URL (``postgresql+psycopg://user:password@host/db``) is read from the
environment variable the config names in ``url_env``, or from the secret file named by
``<url_env>_FILE``; the manifest never holds it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar

import pandas as pd
from impact_contracts import ConfigError
from pydantic import Field, model_validator

from impact_measure.config import validate_section
from impact_measure.sources import LoadRequest, register_source
from impact_measure.sources.access import refuse_credentials, secret, short_error, waiting_out
from impact_measure.sources.files import CONFIG_PATH, DateColumns, parse_dates

DEPENDENCY = "sql"
#: SQLSTATE classes and codes that waiting can fix: connection lost, server shutting
#: down or starting, too many connections.
TRANSIENT_SQLSTATES = ("08", "53", "57P01", "57P02", "57P03")
#: Connection errors without a SQLSTATE that waiting cannot fix.
PERMANENT_CONNECT_ERRORS = ("password authentication failed", "does not exist", "no pg_hba")


class SqlConfig(DateColumns):
    """``DATA.SOURCE.CONFIG`` of the sql source: ``table`` (``name`` or ``schema.name``)
    or ``query``, and ``url_env``, the environment variable holding the database URL."""

    url_env: str = Field(default="IMPACT_SQL_URL", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    table: str | None = Field(default=None, min_length=1)
    query: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _table_or_query(self) -> SqlConfig:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of 'table' or 'query'")
        return self

    @property
    def label(self) -> str:
        """How messages name the data: ``sql:sales`` or ``sql:query``."""
        return f"sql:{self.table}" if self.table else "sql:query"


def database_url(cfg: SqlConfig) -> str:
    """The URL in ``$url_env`` (or its ``_FILE``).

    Raises:
        ConfigError: neither is set.
    """
    url = secret(cfg.url_env)
    if not url:
        raise ConfigError(
            f"{CONFIG_PATH}.url_env: {cfg.url_env} is not set in the services' environment "
            f"(set it, or {cfg.url_env}_FILE to a file holding the database URL)"
        )
    return url


@lru_cache(maxsize=16)
def engine_for(url: str) -> Any:
    """One engine per URL; no pool, so a restarted server is reconnected to at once."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    return create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})


def driver_error(exc: BaseException) -> BaseException:
    """The SQLAlchemy error under pandas' ``DatabaseError`` wrapper, else ``exc``."""
    cause = exc.__cause__
    return cause if isinstance(exc, pd.errors.DatabaseError) and cause is not None else exc


def sql_outage(exc: BaseException) -> bool:
    """The database cannot be reached or dropped the connection (not a wrong password)."""
    from sqlalchemy.exc import DBAPIError

    exc = driver_error(exc)
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is not None:
        return str(sqlstate).startswith(TRANSIENT_SQLSTATES)
    from sqlalchemy.exc import InterfaceError, OperationalError

    message = str(exc.orig)
    return isinstance(exc, OperationalError | InterfaceError) and not any(
        text in message for text in PERMANENT_CONNECT_ERRORS
    )


def read_sql(cfg: SqlConfig) -> pd.DataFrame:
    """The table or query result, waiting out an outage.

    Raises:
        ConfigError: a missing table or column, a bad query, refused credentials.
        DependencyUnavailable: the database stayed unreachable.
    """
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    engine = engine_for(database_url(cfg))

    def fetch() -> pd.DataFrame:
        with engine.connect() as connection:
            if cfg.query is not None:
                return pd.read_sql_query(text(cfg.query), connection)
            schema, _, name = str(cfg.table).rpartition(".")
            return pd.read_sql_table(name, connection, schema=schema or None)

    key = "query" if cfg.query is not None else "table"
    try:
        return waiting_out(DEPENDENCY, cfg.label, sql_outage, fetch)
    except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
        error = driver_error(exc)
        reason = short_error(getattr(error, "orig", None) or error)
        raise ConfigError(f"{CONFIG_PATH}.{key}: cannot read {cfg.label}: {reason}") from None
    except ValueError as exc:  # pandas: "Table sales not found"
        raise ConfigError(
            f"{CONFIG_PATH}.{key}: cannot read {cfg.label}: {short_error(exc)}"
        ) from None


@register_source("sql")
class SqlSource:
    """Reads ``CONFIG.table`` or the result of ``CONFIG.query`` from the database at
    ``$<CONFIG.url_env>``; ``CONFIG.date_columns`` are parsed as dates. The scale phase
    reads the table or query named in the config's ``SCALE`` section."""

    draws_scale_sample: ClassVar[bool] = False
    Config: ClassVar[type[SqlConfig]] = SqlConfig

    def load(self, config: dict[str, object], request: LoadRequest) -> pd.DataFrame:
        refuse_credentials(config, CONFIG_PATH)
        cfg = validate_section(SqlConfig, config, CONFIG_PATH)
        return parse_dates(read_sql(cfg), cfg, cfg.label)
