"""impact_kafka: the Kafka helpers every client of this project shares (the runtime, the
registry server, the CLI, the dashboard, the orchestrator's restore, the tests).

* ``impact_kafka.config``: connection and size settings (``KafkaConnectionSettings``,
  ``KafkaClientSettings``) and the aiokafka options built from them.
* ``impact_kafka.replication``: replication factor and ``min.insync.replicas`` of new topics.
* ``impact_kafka.topics``: ``ensure_topics``, create missing topics and wait for leaders.
* ``impact_kafka.read``: ``read_to_end``, every record of some topics up to their end offsets.

Importing the package, ``config`` or ``replication`` does not import aiokafka.
"""
