#!/bin/bash
# Entrypoint of the mariadb:10.11 stand-in (tests/compose/standins/mariadb). On an empty
# /var/lib/mysql: installs the system tables, creates root (MARIADB_ROOT_PASSWORD, from
# anywhere), MARIADB_DATABASE, MARIADB_USER/MARIADB_PASSWORD with ALL on that database, a
# `healthcheck` user for healthcheck.sh, runs /docker-entrypoint-initdb.d, then starts the
# server with the container's arguments. A server started on networking-off during the
# set-up, so nothing (healthcheck included) reaches it before it is finished.
set -euo pipefail

DATADIR=/var/lib/mysql
say() { echo "$(date -u +'%Y-%m-%d %H:%M:%S') 0 [Note] [Entrypoint]: $*"; }
die() { echo "$(date -u +'%Y-%m-%d %H:%M:%S') 0 [ERROR] [Entrypoint]: $*" >&2; exit 1; }

# Options only (the compose file passes --character-set-server=...): run the server.
if [[ $# -eq 0 || ${1:0:1} == - ]]; then set -- mariadbd "$@"; fi
if [[ $1 != mariadbd && $1 != mysqld ]]; then exec "$@"; fi

# Escapes a value for a single-quoted SQL string.
sql_quote() { local s=${1//\\/\\\\}; printf "'%s'" "${s//\'/\\\'}"; }

mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld "$DATADIR"

if [[ ! -d $DATADIR/mysql ]]; then
  [[ -n ${MARIADB_ROOT_PASSWORD:-} ]] || die "database is uninitialized and MARIADB_ROOT_PASSWORD is not set"
  say "initializing $DATADIR"
  mariadb-install-db --user=mysql --datadir="$DATADIR" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve >/dev/null || die "mariadb-install-db failed"

  sock=/run/mysqld/init.sock
  "$@" --user=mysql --datadir="$DATADIR" --skip-networking --socket="$sock" &
  pid=$!
  for _ in $(seq 1 60); do
    mariadb --socket="$sock" -uroot -e 'SELECT 1' >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || die "the set-up server exited"
    sleep 0.5
  done
  mariadb --socket="$sock" -uroot -e 'SELECT 1' >/dev/null 2>&1 || die "the set-up server did not answer in 30 s"

  hc_password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  root_pw=$(sql_quote "$MARIADB_ROOT_PASSWORD")
  {
    echo "SET @@SESSION.SQL_LOG_BIN=0;"
    echo "DELETE FROM mysql.global_priv WHERE user = '' OR (user = 'root' AND host NOT IN ('localhost'));"
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $root_pw;"
    echo "CREATE USER 'root'@'%' IDENTIFIED BY $root_pw;"
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    echo "GRANT PROXY ON ''@'%' TO 'root'@'%' WITH GRANT OPTION;"
    for host in 127.0.0.1 ::1 localhost; do
      echo "CREATE USER 'healthcheck'@'$host' IDENTIFIED BY '$hc_password';"
      echo "GRANT USAGE ON *.* TO 'healthcheck'@'$host';"
    done
    if [[ -n ${MARIADB_DATABASE:-} ]]; then
      echo "CREATE DATABASE IF NOT EXISTS \`${MARIADB_DATABASE//\`/\`\`}\`;"
    fi
    if [[ -n ${MARIADB_USER:-} ]]; then
      [[ -n ${MARIADB_PASSWORD:-} ]] || die "MARIADB_USER is set but MARIADB_PASSWORD is not"
      echo "CREATE USER $(sql_quote "$MARIADB_USER")@'%' IDENTIFIED BY $(sql_quote "$MARIADB_PASSWORD");"
      if [[ -n ${MARIADB_DATABASE:-} ]]; then
        echo "GRANT ALL ON \`${MARIADB_DATABASE//\`/\`\`}\`.* TO $(sql_quote "$MARIADB_USER")@'%';"
      fi
    fi
    echo "FLUSH PRIVILEGES;"
  } | mariadb --socket="$sock" -uroot || die "creating users and the database failed"

  printf '[mariadb-client]\nport=3306\nsocket=/run/mysqld/mysqld.sock\nuser=healthcheck\npassword=%s\n' \
    "$hc_password" >"$DATADIR/.my-healthcheck.cnf"
  chown mysql:mysql "$DATADIR/.my-healthcheck.cnf"
  chmod 600 "$DATADIR/.my-healthcheck.cnf"

  for f in /docker-entrypoint-initdb.d/*; do
    [[ -e $f ]] || continue
    case $f in
      *.sh) say "running $f"; bash "$f" ;;
      *.sql) say "running $f"; mariadb --socket="$sock" -uroot -p"$MARIADB_ROOT_PASSWORD" ${MARIADB_DATABASE:+"$MARIADB_DATABASE"} <"$f" ;;
      *) say "ignoring $f" ;;
    esac
  done

  mariadb-admin --socket="$sock" -uroot -p"$MARIADB_ROOT_PASSWORD" shutdown || die "stopping the set-up server failed"
  wait "$pid" || true
  say "initialization done; starting the server"
fi

exec "$@" --user=mysql --datadir="$DATADIR"
