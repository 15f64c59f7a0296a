# mariadb.sh: a private MariaDB server (Debian's mariadbd) on 127.0.0.1, root over TCP
# with an empty password, data in a folder of ours. Source common.sh first.

# mariadb_start DIR PORT: installs the data dir once, starts the server, waits until it
# answers. innodb_flush_log_at_trx_commit stays 1 (durable): the default we ship.
# MARIADB_BUFFER_POOL_SIZE and MARIADB_LOG_FILE_SIZE (default 256M each) size InnoDB's
# cache and redo log; tools/bench raises them to what a production server of this
# machine would have, so that a run's million rows do not measure a cramped cache.
mariadb_start() {
  local dir=$1 port=$2
  mkdir -p "$dir"
  if pid_alive "$dir/mariadb.pid"; then return 0; fi
  if [[ ! -d $dir/data/mysql ]]; then
    mariadb-install-db --no-defaults --datadir="$dir/data" --user="$(id -un)" \
      --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 ||
      { cat "$dir/install.log" >&2; die "mariadb-install-db failed"; }
  fi
  log "starting MariaDB on 127.0.0.1:$port (dir $dir)"
  setsid mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/mariadb.sock" \
    --port="$port" --bind-address=127.0.0.1 --user="$(id -un)" --pid-file="$dir/mariadbd.pid" \
    --log-error="$dir/error.log" --skip-name-resolve --max-connections=500 \
    --innodb-buffer-pool-size="${MARIADB_BUFFER_POOL_SIZE:-256M}" \
    --innodb-log-file-size="${MARIADB_LOG_FILE_SIZE:-256M}" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    >/dev/null 2>&1 </dev/null &
  echo $! >"$dir/mariadb.pid"
  if ! wait_for "MariaDB on port $port" 60 mariadb -h127.0.0.1 -P"$port" -uroot -e 'SELECT 1'; then
    tail -30 "$dir/error.log" >&2
    return 1
  fi
}

# mariadb_sql PORT SQL: runs SQL as root.
mariadb_sql() { mariadb -h127.0.0.1 -P"$1" -uroot -e "$2"; }

mariadb_stop() { stop_pidfile "$1/mariadb.pid" 30; }
