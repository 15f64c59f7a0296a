#!/bin/bash
# kafka-storage.sh ARGS: the class kafka.tools.StorageTool of the Kafka jars.
exec "$(dirname "$0")/kafka-run-class.sh" kafka.tools.StorageTool "$@"
