#!/bin/bash
# kafka-run-class.sh [-name NAME] [-daemon] [-loggc] CLASS [ARGS]: runs a class of the
# Kafka jars in /opt/kafka/libs with the usual KAFKA_* JVM variables (stand-in's own).
base=$(cd "$(dirname "$0")/.." && pwd)
while [[ $# -gt 0 ]]; do
  case $1 in
    -name) shift 2 ;;
    -daemon | -loggc) shift ;;
    *) break ;;
  esac
done
[[ $# -ge 1 ]] || { echo "USAGE: $0 [-name NAME] CLASS [ARGS]" >&2; exit 1; }
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx256M}
KAFKA_JVM_PERFORMANCE_OPTS=${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true}
KAFKA_LOG4J_OPTS=${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$base/config/tools-log4j2.yaml}
LOG_DIR=${LOG_DIR:-$base/logs}
# shellcheck disable=SC2086  # the *_OPTS variables are word lists
exec java $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS ${KAFKA_GC_LOG_OPTS:-} ${KAFKA_JMX_OPTS:-} \
  $KAFKA_LOG4J_OPTS -Dkafka.logs.dir="$LOG_DIR" -cp "${CLASSPATH:+$CLASSPATH:}$base/libs/*" \
  ${KAFKA_OPTS:-} "$@"
