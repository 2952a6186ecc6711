#!/bin/sh
# Starts a single-node KRaft broker the same way on the official apache/kafka image and on the
# locally built one: both have java on PATH and the broker's jars in /opt/kafka/libs. Formats
# the data directory on first start, then runs the broker in the foreground (PID 1's child via
# exec, so SIGTERM reaches the JVM and the broker shuts down cleanly).
#
# Environment:
#   KAFKA_USER, KAFKA_PASSWORD   SASL/PLAIN credentials clients must present (required)
#   KAFKA_EXTERNAL_PORT          port for clients outside Docker, advertised as
#                                KAFKA_ADVERTISED_HOST:KAFKA_EXTERNAL_PORT (default 9092)
#   KAFKA_ADVERTISED_HOST        host outside Docker reaches it by (default 127.0.0.1)
#   KAFKA_INTERNAL_HOST          name other containers reach it by, port 19092 (default kafka;
#                                the container's host name when that does not resolve)
#   KAFKA_CLUSTER_ID             KRaft cluster id used when formatting
#   KAFKA_HEAP_OPTS              JVM heap (default -Xms256m -Xmx512m)
set -eu

: "${KAFKA_USER:?KAFKA_USER must name the SASL user clients log in as}"
: "${KAFKA_PASSWORD:?KAFKA_PASSWORD must be set}"
case "$KAFKA_USER$KAFKA_PASSWORD" in
  *'"'* | *'\'* | *' '*) echo "start.sh: KAFKA_USER and KAFKA_PASSWORD may not contain quotes, backslashes or spaces" >&2; exit 2 ;;
esac
external_port=${KAFKA_EXTERNAL_PORT:-9092}
advertised_host=${KAFKA_ADVERTISED_HOST:-127.0.0.1}
internal_host=${KAFKA_INTERNAL_HOST:-kafka}
# The broker reaches itself through the internal listener too (share groups' state persister),
# so a name that does not resolve here (a container on no network with that alias) falls back
# to the container's own host name.
if command -v getent >/dev/null 2>&1 && ! getent hosts "$internal_host" >/dev/null 2>&1; then
  internal_host=$(hostname)
fi
cluster_id=${KAFKA_CLUSTER_ID:-jPe9ab7zSRCHdUYneWgFpg}
heap=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}

here=$(dirname "$0")
data_dir=/var/lib/kafka/data
config=$(mktemp /tmp/server.XXXXXX.properties)
jaas="org.apache.kafka.common.security.plain.PlainLoginModule required username=\"$KAFKA_USER\" password=\"$KAFKA_PASSWORD\" user_$KAFKA_USER=\"$KAFKA_PASSWORD\";"
{
  cat "$here/server.properties"
  echo "log.dirs=$data_dir"
  echo "listeners=INTERNAL://0.0.0.0:19092,EXTERNAL://0.0.0.0:$external_port,CONTROLLER://127.0.0.1:9093"
  echo "advertised.listeners=INTERNAL://$internal_host:19092,EXTERNAL://$advertised_host:$external_port"
  echo "listener.name.internal.plain.sasl.jaas.config=$jaas"
  echo "listener.name.external.plain.sasl.jaas.config=$jaas"
} >"$config"
chmod 600 "$config"

java_opts="-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true -Dlog4j2.configurationFile=$here/log4j2.properties"
classpath="/opt/kafka/libs/*"
if [ ! -f "$data_dir/meta.properties" ]; then
  # shellcheck disable=SC2086  # java_opts is a list of flags
  java $java_opts -cp "$classpath" kafka.tools.StorageTool format \
    --config "$config" --cluster-id "$cluster_id" --ignore-formatted
fi
# shellcheck disable=SC2086
exec java $heap $java_opts -cp "$classpath" kafka.Kafka "$config"
