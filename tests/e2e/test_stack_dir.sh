#!/usr/bin/env bash
# test_stack_dir.sh: tools/stack resolves a relative STACK_DIR against the project root,
# from any working directory. The README's own `STACK_DIR=.run/other tools/stack up` used
# to hand the relative path to mariadb-install-db, which looked under /usr/.run/...
# Cheap: `tools/stack status` starts nothing and prints where its state lives.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rc=0
for cwd in "$ROOT" / "$ROOT/tools"; do
  out=$(cd "$cwd" && STACK_DIR=.run/stack-dir-test "$ROOT/tools/stack" status 2>&1)
  where=$(sed -n 's/^state and logs: //p' <<<"$out")
  if [[ $where == "$ROOT/.run/stack-dir-test" ]]; then
    echo "ok   from $cwd: STACK_DIR=.run/stack-dir-test -> $where"
  else
    echo "FAIL from $cwd: STACK_DIR=.run/stack-dir-test -> '${where:-?}', expected $ROOT/.run/stack-dir-test"
    rc=1
  fi
done
# An absolute STACK_DIR stays as it is.
out=$(cd / && STACK_DIR=/tmp/stack-dir-test "$ROOT/tools/stack" status 2>&1)
if [[ $(sed -n 's/^state and logs: //p' <<<"$out") == /tmp/stack-dir-test ]]; then
  echo "ok   absolute STACK_DIR kept"
else
  echo "FAIL absolute STACK_DIR changed: $out"
  rc=1
fi
exit $rc
