# kafka.sh: a real single-node Apache Kafka broker (KRaft, no ZooKeeper) from Maven jars.
# Source common.sh first. The version is the one in tools/kafka/pom.xml, which
# docker-compose.yml also uses (apache/kafka:<same version>).

kafka_version() { sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/tools/kafka/pom.xml"; }

# kafka_fetch: resolves the broker and tools jars into $WALLET_CACHE/kafka-<v>/libs once.
kafka_fetch() {
  local v; v=$(kafka_version)
  KAFKA_LIBS=$WALLET_CACHE/kafka-$v/libs
  # The marker names the pom's content: a dependency added to it fetches again.
  local marker
  marker=$KAFKA_LIBS/.complete-$(sha256sum "$ROOT/tools/kafka/pom.xml" | cut -c1-16)
  [[ -f $marker ]] && return 0
  log "fetching Apache Kafka $v jars from Maven Central into $KAFKA_LIBS"
  mkdir -p "$KAFKA_LIBS"
  mvn -q -B -f "$ROOT/tools/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$KAFKA_LIBS" -DincludeScope=runtime >&2 || die "maven could not resolve the Kafka jars"
  touch "$marker"
}

# kafka_start DIR PORT CONTROLLER_PORT [PARTITIONS]: starts a broker whose data, logs and
# pid file live in DIR, listening on 127.0.0.1:PORT. Returns once it serves metadata.
kafka_start() {
  local dir=$1 port=$2 cport=$3 partitions=${4:-3}
  kafka_fetch
  mkdir -p "$dir/data" "$dir/logs"
  if pid_alive "$dir/kafka.pid"; then return 0; fi
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=$partitions
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.flush.interval.messages=9223372036854775807
PROPS
  cat >"$dir/log4j2.properties" <<'PROPS'
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = file
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
logger.kafka.name = kafka
logger.kafka.level = INFO
PROPS
  if [[ ! -f $dir/data/meta.properties ]]; then
    java -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$dir/log4j2.properties" \
      -Dkafka.logs.dir="$dir/logs" kafka.tools.StorageTool format \
      -t "$(kafka_cluster_id)" -c "$dir/server.properties" --ignore-formatted \
      >"$dir/logs/format.log" 2>&1 || { cat "$dir/logs/format.log" >&2; die "kafka storage format failed"; }
  fi
  log "starting Kafka $(kafka_version) on 127.0.0.1:$port (dir $dir)"
  # Small heap: tests and the native stack share a 2-core, modest machine.
  setsid java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dkafka.logs.dir="$dir/logs" -Dlog4j2.configurationFile="$dir/log4j2.properties" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties" \
    >"$dir/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$dir/kafka.pid"
  if ! wait_for "Kafka on port $port" 90 kafka_ready "127.0.0.1:$port"; then
    tail -30 "$dir/logs/stdout.log" "$dir/logs/server.log" >&2
    return 1
  fi
}

# kafka_ready BROKERS: the broker answers a metadata request.
kafka_ready() { kcat -b "$1" -L -m 3 2>/dev/null | grep -q '1 brokers:'; }

# A fixed cluster id: a data dir formatted once keeps it; 22 characters, base64url.
kafka_cluster_id() { echo "d2FsbGV0LWVkYS1rcmFmdA"; }

kafka_stop() { stop_pidfile "$1/kafka.pid" 30; }
