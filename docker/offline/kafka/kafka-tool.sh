#!/usr/bin/env bash
# kafka-topics.sh, kafka-broker-api-versions.sh, kafka-storage.sh of the offline stand-in.
set -euo pipefail
case "$(basename "$0")" in
    kafka-topics.sh) main=org.apache.kafka.tools.TopicCommand ;;
    kafka-broker-api-versions.sh) main=org.apache.kafka.tools.BrokerApiVersionsCommand ;;
    kafka-storage.sh) main=kafka.tools.StorageTool ;;
    *) echo "unknown tool $(basename "$0")" >&2; exit 2 ;;
esac
exec java -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j2.level=WARN -cp '/opt/kafka/libs/*' "$main" "$@"
