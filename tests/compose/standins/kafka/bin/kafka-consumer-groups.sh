#!/bin/bash
# kafka-consumer-groups.sh ARGS: the class org.apache.kafka.tools.consumer.group.ConsumerGroupCommand of the Kafka jars.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "$@"
