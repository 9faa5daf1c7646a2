"""impact_observe: a run as people see it, shared by the CLI and the dashboard.

``bus`` publishes manifests and reads a run's events off Kafka; ``commands`` publishes
people's decisions (``run_command``); ``lineage`` links a run's events per initiative;
``stages`` holds the stage order and labels; ``reasons`` and ``executive`` explain a run's
outcome. Importing this package imports nothing (``bus`` imports aiokafka).
"""
