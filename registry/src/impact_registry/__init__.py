"""impact_registry: the schema-registry server (Confluent REST subset, state in ``_schemas``).

``python -m impact_registry`` (or the ``impact-registry`` script) starts it; ``server``
builds the Starlette app, ``core`` holds the registry logic, ``storage`` the Kafka log and
the writer election. Clients use ``impact_schemas.registry.RegistryClient``; the error
table both sides share is ``impact_schemas.registry.errors``.
"""
