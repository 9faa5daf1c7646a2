"""Repository-wide pytest setup: shared fixtures live in tests/support/ as plugins."""

pytest_plugins = ["tests.support.kafka", "tests.support.registry"]
