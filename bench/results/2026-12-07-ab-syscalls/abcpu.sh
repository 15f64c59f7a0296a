#!/bin/bash
HERE=$(cd "$(dirname "$0")" && pwd)
# A/B wallet-core CPU per transfer: alternate builds on the kept bench stack.
# the bench's kept stack (tools/bench --keep), as tools/bench starts it
export STACK_DIR=/work/main/.run/bench BUILD_DIR=/work/main/build-release LOG_LEVEL=warn MARIADB_BUFFER_POOL_SIZE=4G MARIADB_LOG_FILE_SIZE=2G WALLET_HTTP_PORT=21080 BALANCES_HTTP_PORT=21003 KAFKA_HOST_PORT=21092 KAFKA_CONTROLLER_PORT=21093 WALLET_DB_HOST_PORT=21006 BALANCES_DB_HOST_PORT=21007
cd /work/main
# OLD: a Release build of the commit before (git worktree add, cmake -DCMAKE_BUILD_TYPE=Release)
OLD=${OLD:-/tmp/ab/base/build}; NEW=${NEW:-/work/main/build-release}; PAIRS=${PAIRS:-4}; RATE=${RATE:-0}
for i in $(seq $PAIRS); do
  for side in old new; do
    b=$OLD; [ $side = new ] && b=$NEW
    kill $(pgrep -f "bin/wallet-core") 2>/dev/null; sleep 1.5
    BUILD_DIR=$b tools/stack up > /dev/null 2>&1; sleep 1
    W=$(pgrep -f "bin/wallet-core")
    /work/main/build-release/bench-baseline paced 21080 $RATE 3 32 10000 >/dev/null 2>&1
    out=$("$HERE/threadstat.sh" $W 10 $RATE)
    echo "$side $(echo "$out" | grep -o 'per_second=[0-9.]*') $(echo "$out" | grep -o 'p99_ms=[0-9.]*') $(echo "$out" | grep TOTAL)"
  done
done
kill $(pgrep -f "bin/wallet-core") 2>/dev/null; sleep 1.5; BUILD_DIR=$NEW tools/stack up >/dev/null 2>&1
