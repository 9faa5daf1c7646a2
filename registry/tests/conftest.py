"""Fixtures for the registry tests: registry clients on the in-memory app and the real server."""

from tests.support.registry_clients import *  # noqa: F403
