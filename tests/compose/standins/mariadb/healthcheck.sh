#!/bin/bash
# healthcheck.sh of the mariadb:10.11 stand-in: the tests the official image's script
# offers that docker-compose.yml uses, each run in order; exit 0 only when all pass.
#   --connect             the server accepts a TCP connection on 127.0.0.1 (the set-up
#                         server runs without networking, so this fails until it is done)
#   --innodb_initialized  InnoDB is up (information_schema.ENGINES says so)
# The `healthcheck` user and its password come from /var/lib/mysql/.my-healthcheck.cnf,
# written by the entrypoint at first start.
set -u
cnf=/var/lib/mysql/.my-healthcheck.cnf
[[ $# -gt 0 ]] || { echo "healthcheck.sh: no test given" >&2; exit 1; }
q() { mariadb --defaults-extra-file="$cnf" --protocol=tcp -h127.0.0.1 --connect-timeout=3 -N -s -e "$1"; }
for arg in "$@"; do
  case $arg in
    --connect) q 'SELECT 1' >/dev/null || { echo "healthcheck: cannot connect" >&2; exit 1; } ;;
    --innodb_initialized)
      r=$(q "SELECT 1 FROM information_schema.ENGINES WHERE engine = 'InnoDB' AND support IN ('YES', 'DEFAULT', 'ENABLED')") || exit 1
      [[ $r == 1 ]] || { echo "healthcheck: InnoDB not initialized" >&2; exit 1; } ;;
    --su-mysql|--defaults-file=*|--no-defaults) ;; # accepted, nothing to do here
    *) echo "healthcheck.sh: unknown test $arg (this stand-in knows --connect, --innodb_initialized)" >&2; exit 1 ;;
  esac
done
exit 0
