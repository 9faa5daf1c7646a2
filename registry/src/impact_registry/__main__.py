"""Run the schema-registry server.

    python -m impact_registry --bootstrap 127.0.0.1:9092 --port 0 --topic _schemas

Prints ``http://HOST:PORT`` on stdout once it serves requests. Every option also reads an
environment variable: ``IMPACT_REGISTRY_BOOTSTRAP`` (else ``KAFKA_BOOTSTRAP_SERVERS``),
``IMPACT_REGISTRY_HOST``, ``IMPACT_REGISTRY_PORT``, ``IMPACT_REGISTRY_TOPIC``,
``IMPACT_REGISTRY_COMPATIBILITY``, ``IMPACT_REGISTRY_REPLICATION_FACTOR`` and
``IMPACT_REGISTRY_MIN_INSYNC_REPLICAS`` (default: ``IMPACT_TOPIC_*``, else ``auto``);
``IMPACT_REGISTRY_BASIC_AUTH`` (``user:password[,...]``) turns HTTP basic auth on. Kafka security
and sizes read the same variables as the services (``IMPACT_SECURITY_PROTOCOL``,
``IMPACT_SASL_*``, ``IMPACT_SSL_CAFILE``, ``IMPACT_MAX_MESSAGE_BYTES``, ...: see
``impact_kafka.config.KafkaClientSettings``).

Run as many instances per topic as you like (decision 0065): they elect one writer in the
group ``IMPACT_REGISTRY_GROUP`` (default ``<topic>-writers``); the others forward writes to
the URL it advertises (``IMPACT_REGISTRY_ADVERTISED_URL``, default ``http://HOST:PORT`` as
bound). ``IMPACT_REGISTRY_SESSION_TIMEOUT_MS`` (default 6000) bounds how long a dead
writer is waited for; ``IMPACT_REGISTRY_WRITER_WAIT_S`` (default 15) how long a write
waits for a writer before answering 50004.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import socket
import sys

import uvicorn
from impact_kafka.config import KafkaClientSettings
from impact_kafka.replication import parse_replication
from impact_schemas.policy import LEVELS, POLICY_LEVEL

from impact_registry.auth import USERS_ENV, parse_users
from impact_registry.server import create_app
from impact_registry.storage import DEFAULT_SESSION_TIMEOUT_MS, KafkaSchemaLog


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"IMPACT_REGISTRY_{name}", default)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m impact_registry")
    parser.add_argument(
        "--bootstrap",
        default=_env("BOOTSTRAP", os.environ.get("KAFKA_BOOTSTRAP_SERVERS")),
        help="Kafka bootstrap servers",
    )
    parser.add_argument("--host", default=_env("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(_env("PORT", "8081") or 8081))
    parser.add_argument("--topic", default=_env("TOPIC", "_schemas"))
    parser.add_argument(
        "--compatibility", choices=LEVELS, default=_env("COMPATIBILITY", POLICY_LEVEL)
    )
    for option, name in (
        ("--replication-factor", "REPLICATION_FACTOR"),
        ("--min-insync-replicas", "MIN_INSYNC_REPLICAS"),
    ):  # default: the services' IMPACT_TOPIC_* setting, else auto (decision 0061)
        default = _env(name, os.environ.get(f"IMPACT_TOPIC_{name}", "auto"))
        parser.add_argument(option, type=parse_replication, default=default)
    parser.add_argument("--advertised-url", default=_env("ADVERTISED_URL"))
    parser.add_argument("--group", default=_env("GROUP"), help="default <topic>-writers")
    parser.add_argument(
        "--session-timeout-ms",
        type=int,
        default=int(_env("SESSION_TIMEOUT_MS", str(DEFAULT_SESSION_TIMEOUT_MS)) or 0),
    )
    parser.add_argument(
        "--writer-wait-s", type=float, default=float(_env("WRITER_WAIT_S", "15") or 15)
    )
    args = parser.parse_args(argv)
    if not args.bootstrap:
        parser.error("--bootstrap (or KAFKA_BOOTSTRAP_SERVERS) is required")
    return args


class _AnnouncingServer(uvicorn.Server):
    """Prints the URL once the server is listening (port 0 → the real port)."""

    def __init__(self, config: uvicorn.Config, sock: socket.socket) -> None:
        super().__init__(config)
        self.sock = sock

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:
            host, port = self.sock.getsockname()[:2]
            print(f"http://{host}:{port}", flush=True)


def schema_log(args: argparse.Namespace, url: str | None = None) -> KafkaSchemaLog:
    """The ``_schemas`` log, connected like the services (``IMPACT_SECURITY_PROTOCOL``...);
    ``url``: what this instance advertises to the others."""
    kafka = KafkaClientSettings(bootstrap_servers=args.bootstrap, client_id="impact-registry")
    return KafkaSchemaLog(
        kafka,
        args.topic,
        replication_factor=args.replication_factor,
        min_insync_replicas=args.min_insync_replicas,
        url=url,
        group_id=args.group,
        session_timeout_ms=args.session_timeout_ms,
    )


def advertised_url(args: argparse.Namespace, sock: socket.socket) -> str:
    """``--advertised-url``, else ``http://HOST:PORT`` as bound (a wildcard host: this
    machine's name)."""
    if args.advertised_url:
        return str(args.advertised_url).rstrip("/")
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()
    return f"http://{host}:{port}"


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket whose connections send without Nagle's delay.

    The protocol must be ``IPPROTO_TCP`` (not 0) for asyncio to set ``TCP_NODELAY`` on
    accepted connections; without it, a response written as headers then body waits for
    the client's delayed ACK: about 40 ms per request on loopback.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        users = parse_users(os.environ.get(USERS_ENV))
    except ValueError as exc:
        sys.exit(f"error: {exc}")
    if not users and not ipaddress.ip_address(socket.gethostbyname(args.host)).is_loopback:
        print(f"warning: serving {args.host} without auth; set {USERS_ENV}", file=sys.stderr)
    logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("impact_registry").setLevel(logging.INFO)
    sock = listening_socket(args.host, args.port)
    app = create_app(
        schema_log(args, advertised_url(args, sock)),
        default_level=args.compatibility,
        users=users,
        writer_wait_s=args.writer_wait_s,
    )
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = _AnnouncingServer(config, sock)
    server.run(sockets=[sock])
    sys.exit(0 if server.started else 1)


if __name__ == "__main__":
    main()
