# Apache Kafka without a registry: Debian's JRE and the broker's jars from Maven Central.
# Laid out like the official apache/kafka image (/opt/kafka/libs, user appuser with uid 1000,
# /var/lib/kafka/data) so the mounted start script runs unchanged on either.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-21-jre-headless netcat-openbsd \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --uid 1000 --user-group --create-home appuser \
 && mkdir -p /opt/kafka /var/lib/kafka/data \
 && chown appuser:appuser /var/lib/kafka/data
COPY libs/ /opt/kafka/libs/
USER appuser
WORKDIR /opt/kafka
