#!/bin/bash
HERE=$(cd "$(dirname "$0")" && pwd)
# the bench's kept stack (tools/bench --keep), as tools/bench starts it
export STACK_DIR=/work/main/.run/bench BUILD_DIR=/work/main/build-release LOG_LEVEL=warn MARIADB_BUFFER_POOL_SIZE=4G MARIADB_LOG_FILE_SIZE=2G WALLET_HTTP_PORT=21080 BALANCES_HTTP_PORT=21003 KAFKA_HOST_PORT=21092 KAFKA_CONTROLLER_PORT=21093 WALLET_DB_HOST_PORT=21006 BALANCES_DB_HOST_PORT=21007
cd /work/main
# OLD: a Release build of the commit before (git worktree add, cmake -DCMAKE_BUILD_TYPE=Release)
OLD=${OLD:-/tmp/ab/base/build}; NEW=${NEW:-/work/main/build-release}; PAIRS=${PAIRS:-4}
URL=http://127.0.0.1:21003/balances/b0000000-0000-4000-8000-000000000001
for i in $(seq $PAIRS); do
  for side in old new; do
    b=$OLD; [ $side = new ] && b=$NEW
    kill $(pgrep -f "bin/balances") 2>/dev/null; sleep 1.5
    BUILD_DIR=$b tools/stack up > /dev/null 2>&1; sleep 1
    wrk -t2 -c32 -d2s $URL > /dev/null 2>&1
    out=$(wrk -t2 -c32 -d8s --latency $URL)
    echo "$side $(echo "$out" | grep Requests/sec) p50 $(echo "$out" | awk '$1=="50%"{print $2}') p99 $(echo "$out" | awk '$1=="99%"{print $2}')"
  done
done
kill $(pgrep -f "bin/balances") 2>/dev/null; sleep 1.5; BUILD_DIR=$NEW tools/stack up >/dev/null 2>&1
