#!/bin/bash
# kafka-topics.sh ARGS: the class org.apache.kafka.tools.TopicCommand of the Kafka jars.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.TopicCommand "$@"
