# common.sh: shared shell helpers for tools/test, tools/stack and tools/bench. Source it.
# Paths: ROOT (the checkout), WALLET_CACHE (downloads kept across runs).

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
WALLET_CACHE=${WALLET_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/wallet-eda}

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# wait_for DESCRIPTION TIMEOUT_S COMMAND...: polls COMMAND every 0.2 s until it succeeds.
wait_for() {
  local what=$1 timeout=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then log "timed out after ${timeout}s waiting for $what"; return 1; fi
    sleep 0.2
  done
}

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# pid_running PID: true when PID is a live process. A zombie (state Z) is dead: our
# children may wait to be reaped by a PID 1 that reaps slowly.
pid_running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# pid_alive PIDFILE: true when the pid in PIDFILE is a running process.
pid_alive() { [[ -s $1 ]] && pid_running "$(cat "$1")"; }

# stop_pidfile PIDFILE [TIMEOUT_S]: SIGTERM, wait, then SIGKILL; removes the file.
stop_pidfile() {
  local f=$1 timeout=${2:-20} pid
  [[ -s $f ]] || return 0
  pid=$(cat "$f")
  if pid_running "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + timeout))
    while pid_running "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
    if pid_running "$pid"; then
      log "pid $pid did not stop within ${timeout}s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$f"
  return 0
}

# load_env_file FILE: KEY=value lines of FILE (.env) become shell variables, unless the
# environment already sets them (the precedence compose uses too).
load_env_file() {
  local line key value
  [[ -f $1 ]] || return 0
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line =~ ^[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
    key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
    [[ -n ${!key+set} ]] && continue
    printf -v "$key" '%s' "$value"
  done <"$1"
}
