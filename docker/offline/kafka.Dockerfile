# Offline stand-in for the public apache/kafka:4.1.1 image (scripts/docker_images.py).
# Same layout (/opt/kafka, /var/lib/kafka/data, user appuser) and the same environment
# contract: KAFKA_* become server.properties through kafka.docker.KafkaDockerWrapper,
# the class the official image uses, and CLUSTER_ID formats the storage.
ARG DEBIAN_IMAGE=local/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 1000 --create-home appuser \
    && mkdir -p /opt/kafka/config /var/lib/kafka/data /etc/kafka/docker /mnt/shared/config \
    && chown -R appuser /opt/kafka/config /var/lib/kafka/data
COPY libs/ /opt/kafka/libs/
COPY kafka/run /etc/kafka/docker/run
COPY kafka/log4j2.xml /etc/kafka/docker/log4j2.xml
COPY kafka/kafka-tool.sh /opt/kafka/bin/kafka-tool.sh
RUN cd /opt/kafka/bin \
    && ln -s kafka-tool.sh kafka-topics.sh \
    && ln -s kafka-tool.sh kafka-broker-api-versions.sh \
    && ln -s kafka-tool.sh kafka-storage.sh
ENV PATH=/opt/kafka/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    KAFKA_LOG_DIRS=/var/lib/kafka/data
USER appuser
WORKDIR /opt/kafka
EXPOSE 9092
LABEL org.impact-engine.stand-in=true
CMD ["/etc/kafka/docker/run"]
