#!/bin/bash
# kafka-broker-api-versions.sh ARGS: the class org.apache.kafka.tools.BrokerApiVersionsCommand of the Kafka jars.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.BrokerApiVersionsCommand "$@"
