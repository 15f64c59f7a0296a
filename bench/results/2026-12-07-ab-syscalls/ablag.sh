#!/bin/bash
HERE=$(cd "$(dirname "$0")" && pwd)
# the bench's kept stack (tools/bench --keep), as tools/bench starts it
export STACK_DIR=/work/main/.run/bench BUILD_DIR=/work/main/build-release LOG_LEVEL=warn MARIADB_BUFFER_POOL_SIZE=4G MARIADB_LOG_FILE_SIZE=2G WALLET_HTTP_PORT=21080 BALANCES_HTTP_PORT=21003 KAFKA_HOST_PORT=21092 KAFKA_CONTROLLER_PORT=21093 WALLET_DB_HOST_PORT=21006 BALANCES_DB_HOST_PORT=21007
cd /work/main
# OLD: a Release build of the commit before (git worktree add, cmake -DCMAKE_BUILD_TYPE=Release)
OLD=${OLD:-/tmp/ab/base/build}; NEW=${NEW:-/work/main/build-release}; PAIRS=${PAIRS:-3}
SERVICES=${SERVICES:-wallet-core} # the ones swapped: "wallet-core balances" for both
for i in $(seq $PAIRS); do
  for side in old new; do
    b=$OLD; [ $side = new ] && b=$NEW
    for s in $SERVICES; do kill $(pgrep -f "bin/$s") 2>/dev/null; done; sleep 1.5
    BUILD_DIR=$b tools/stack up > /dev/null 2>&1; sleep 1
    /work/main/build-release/bench-baseline paced 21080 1000 3 16 10000 >/dev/null 2>&1
    echo "$side $(python3 "$HERE/lag.py" 1)"
  done
done
for s in $SERVICES; do kill $(pgrep -f "bin/$s") 2>/dev/null; done; sleep 1.5; BUILD_DIR=$NEW tools/stack up >/dev/null 2>&1
