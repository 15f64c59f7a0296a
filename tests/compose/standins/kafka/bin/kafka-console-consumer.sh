#!/bin/bash
# kafka-console-consumer.sh ARGS: the class org.apache.kafka.tools.consumer.ConsoleConsumer of the Kafka jars.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.consumer.ConsoleConsumer "$@"
