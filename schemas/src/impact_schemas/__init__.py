"""impact_schemas: Avro schemas, wire format, codec, registry client/server, version policy.

Import the modules you need (``catalog``, ``wire``, ``events``, ``examples``, ``codec``,
``policy``, ``registry``); this package itself imports nothing, so
``import impact_schemas.catalog`` stays light and never imports Kafka.
"""
