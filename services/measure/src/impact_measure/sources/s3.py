"""Source ``s3``: a CSV or Parquet object in S3-compatible storage (``s3://bucket/key``).

Endpoint, region and credentials come from the services' environment, never from the
config: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` (each also as ``*_FILE``, a
secret file), ``AWS_SESSION_TOKEN``, ``IMPACT_S3_ENDPOINT_URL`` or ``AWS_ENDPOINT_URL``
(MinIO, S3Proxy, Ceph...), ``AWS_REGION``/``AWS_DEFAULT_REGION``.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd
from impact_contracts import ConfigError
from pydantic import Field

from impact_measure.config import Section, validate_section
from impact_measure.sources import LoadRequest, register_source
from impact_measure.sources.access import refuse_credentials, secret, short_error, waiting_out
from impact_measure.sources.files import CONFIG_PATH, TableOptions, read_frame, table_suffix

DEPENDENCY = "s3"
#: S3 error codes that waiting can fix; any other client error is permanent.
TRANSIENT_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling"}
)


class S3Config(TableOptions):
    """``DATA.SOURCE.CONFIG`` of the s3 source: ``url`` plus the file source's options."""

    url: str = Field(pattern=r"^s3://[^/\s]+/\S+$")


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @classmethod
    def parse(cls, url: str) -> S3Location:
        bucket, _, key = url.removeprefix("s3://").partition("/")
        return cls(bucket, key)


def endpoint_url() -> str | None:
    return secret("IMPACT_S3_ENDPOINT_URL") or secret("AWS_ENDPOINT_URL")


#: botocore's DEBUG records carry request headers, whose signature names the access key
#: id: the S3 clients' loggers stay at INFO even when the services log at DEBUG.
QUIET_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3")


def s3_client() -> Any:
    """A boto3 S3 client configured from the environment (a new session: thread-safe).

    Checksums only when the operation requires them: S3-compatible servers (S3Proxy,
    older MinIO) reject the CRC checksums botocore >= 1.36 sends by default.
    """
    import boto3
    from botocore.config import Config

    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    endpoint = endpoint_url()
    config = Config(
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        connect_timeout=5,
        read_timeout=60,
        retries={"max_attempts": 2, "mode": "standard"},
        s3={"addressing_style": "path"} if endpoint else None,
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        aws_access_key_id=secret("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=secret("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=secret("AWS_SESSION_TOKEN"),
        config=config,
    )


def s3_outage(exc: BaseException) -> bool:
    """The server cannot be reached, timed out, or says it is busy or failing (5xx)."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(exc, ConnectionError | HTTPClientError):
        return True
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error.get("Code") in TRANSIENT_CODES or int(status) >= 500
    return False


def s3_reason(exc: BaseException) -> str:
    """``NoSuchKey (The specified key does not exist.)``: the server's code and message."""
    from botocore.exceptions import ClientError, NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return (
            "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or their "
            "*_FILE secret files) in the services' environment"
        )
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = error.get("Message")
        return f"{code} ({message})" if message else str(code)
    return short_error(exc)


def read_object(url: str, key_path: str = "url") -> bytes:
    """The bytes of the object at ``url``, waiting out an outage.

    Raises:
        ConfigError: a missing bucket or key, refused credentials (permanent).
        DependencyUnavailable: the server stayed unreachable (``access.waiting_out``).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    location = S3Location.parse(url)

    def fetch() -> bytes:
        response = s3_client().get_object(Bucket=location.bucket, Key=location.key)
        return bytes(response["Body"].read())

    try:
        return waiting_out(DEPENDENCY, url, s3_outage, fetch)
    except (BotoCoreError, ClientError) as exc:
        raise ConfigError(
            f"{CONFIG_PATH}.{key_path}: cannot read {url}: {s3_reason(exc)}"
        ) from None


@register_source("s3")
class S3Source:
    """Reads the object at ``CONFIG.url`` by its suffix (``.csv``, ``.parquet``), with the
    file source's ``csv`` and ``date_columns`` options. Like a file, it is what it is: the
    scale phase reads the object named in the config's ``SCALE`` section."""

    draws_scale_sample: ClassVar[bool] = False
    Config: ClassVar[type[Section]] = S3Config

    def load(self, config: dict[str, object], request: LoadRequest) -> pd.DataFrame:
        refuse_credentials(config, CONFIG_PATH)
        cfg = validate_section(S3Config, config, CONFIG_PATH)
        table_suffix(cfg.url, cfg, "url")
        return read_frame(io.BytesIO(read_object(cfg.url)), cfg.url, cfg, "url")
