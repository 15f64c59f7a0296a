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

# kafka_start DIR PORT CONTROLLER_PORT [PARTITIONS [NODE_ID VOTERS NODES]]: starts a broker
# whose data, logs and pid file live in DIR, listening on 127.0.0.1:PORT. Returns once it
# serves metadata. Cluster mode: NODE_ID of NODES combined nodes, VOTERS the
# controller.quorum.voters list (id@host:port,...); internal topics get RF=min(3,NODES) and,
# with three or more nodes, min.insync.replicas=2 (the broker default new topics inherit).
# With NODES>1 it returns at once (a lone node has no quorum): the caller starts all nodes,
# then waits with kafka_ready BROKERS NODES.
kafka_start() {
  local dir=$1 port=$2 cport=$3 partitions=${4:-3} node=${5:-1} voters=${6:-} nodes=${7:-1}
  [[ -n $voters ]] || voters="1@127.0.0.1:$cport"
  local rf=$((nodes < 3 ? nodes : 3)) isr=1
  ((nodes >= 3)) && isr=2
  kafka_fetch
  mkdir -p "$dir/data" "$dir/logs"
  if pid_alive "$dir/kafka.pid"; then return 0; fi
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$node
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=$partitions
auto.create.topics.enable=false
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
min.insync.replicas=$isr
default.replication.factor=$rf
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
  ((nodes > 1)) && return 0
  if ! wait_for "Kafka on port $port" 90 kafka_ready "127.0.0.1:$port" 1; then
    tail -30 "$dir/logs/stdout.log" "$dir/logs/server.log" >&2
    return 1
  fi
}

# kafka_ready BROKERS [N]: the broker answers a metadata request listing at least N (default 1)
# brokers.
kafka_ready() {
  local n
  n=$(kcat -b "$1" -L -m 3 2>/dev/null | sed -n 's/^ *\([0-9]\+\) brokers:.*/\1/p' | head -1)
  [[ -n $n ]] && ((n >= ${2:-1}))
}

# A fixed cluster id: a data dir formatted once keeps it; 22 characters, base64url.
kafka_cluster_id() { echo "d2FsbGV0LWVkYS1rcmFmdA"; }

kafka_stop() { stop_pidfile "$1/kafka.pid" 30; }
