#!/usr/bin/env bash
# run_stack_e2e.sh: the end-to-end test of api/client.http against the native stack, then
# the served API descriptions: /docs in a browser, schemathesis against /openapi.json.
# Starts tools/stack on ports of its own (so a stack you are using keeps running), runs
# every request of api/client.http, and always stops the stack again. A sanitizer report
# in a service log fails the test too (the test build runs the services with ASan/UBSan).
#   BUILD_DIR   the CMake build tree whose bin/ holds wallet-core and balances (ctest sets it)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export STACK_DIR=${STACK_DIR:-$ROOT/.run/stack-e2e}
export WALLET_HTTP_PORT=${E2E_WALLET_PORT:-18080}
export BALANCES_HTTP_PORT=${E2E_BALANCES_PORT:-13003}
export KAFKA_HOST_PORT=${E2E_KAFKA_PORT:-19092}
export KAFKA_CONTROLLER_PORT=${E2E_KAFKA_CONTROLLER_PORT:-19093}
export WALLET_DB_HOST_PORT=${E2E_WALLET_DB_PORT:-13306}
export BALANCES_DB_HOST_PORT=${E2E_BALANCES_DB_PORT:-13307}
# tools/test installed the packages already; do not touch apt from inside a test.
export STACK_SKIP_DEPS=${STACK_SKIP_DEPS:-1}
# Under ASan a leak report at exit is a failure we want to see, not an abort mid-shutdown.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

# shellcheck disable=SC2317  # called by the EXIT trap
stop() {
  "$ROOT/tools/stack" down || true
}
trap stop EXIT
trap 'exit 130' INT TERM

# Fresh state: the story creates rows, and a leftover read model would hide a broken seed.
"$ROOT/tools/stack" down >/dev/null 2>&1 || true
rm -rf "$STACK_DIR"

if ! "$ROOT/tools/stack" up; then
  echo "tools/stack up failed"
  echo "0 passed, 1 failed"
  exit 1
fi

rc=0
/usr/bin/python3 "$ROOT/tests/e2e/run_client_http.py" \
  --var "wallet=http://127.0.0.1:$WALLET_HTTP_PORT" \
  --var "balances=http://127.0.0.1:$BALANCES_HTTP_PORT" || rc=1

# The descriptions each service serves: browsable (/docs in headless Chromium) and true
# (schemathesis, an outside fuzzer, against /openapi.json).
bases=("http://127.0.0.1:$WALLET_HTTP_PORT" "http://127.0.0.1:$BALANCES_HTTP_PORT")
/usr/bin/python3 "$ROOT/tests/e2e/check_docs_browser.py" "${bases[@]}" || rc=1
/usr/bin/python3 "$ROOT/tests/e2e/run_schemathesis.py" "${bases[@]}" || rc=1

"$ROOT/tools/stack" status || rc=1

# Stop the services now so their exit (and any leak report) lands in the logs.
"$ROOT/tools/stack" down || rc=1
for svc in wallet-core balances; do
  log=$STACK_DIR/logs/$svc.log
  if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log" 2>/dev/null; then
    echo "sanitizer report in $log:"
    grep -nE -A20 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log" | head -60
    rc=1
  fi
done
exit $rc
