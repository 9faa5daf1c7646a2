"""Kafka fixtures (owned by the platform work): kafka_bootstrap, unused_port, wait_for."""
