#!/bin/bash
# Exits 0 if wikidex's GET /healthz answers 200, else 1: the container's
# HEALTHCHECK. bash's /dev/tcp rather than curl, which the slim runtime
# image does not have (and would otherwise be installed for this alone).
# With --stats, prints the body of GET /stats instead (exit 0 on a 200):
# how deploy/update-dump.sh --stats-cmd reads a replica it cannot reach.
#
# Usage: wikidex-healthz [--stats] [HOST:PORT]   (default: $WIKIDEX_BIND, a
# wildcard address meaning this host)
set -u
path=/healthz
if [ "${1:-}" = --stats ]; then path=/stats; shift; fi
addr=${1:-${WIKIDEX_BIND:-127.0.0.1:8080}}
port=${addr##*:}
host=${addr%:*}
host=${host#\[}
host=${host%\]}
case $host in
    0.0.0.0 | '') host=127.0.0.1 ;;
    ::) host=::1 ;;
esac
{ exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null || exit 1
printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$host" >&3 || exit 1
# The status line: "HTTP/1.1 200 OK".
read -r -t 2 _ status _ <&3 || exit 1
[ "$status" = 200 ] || exit 1
[ "$path" = /stats ] || exit 0
# The headers, then the body (Connection: close: it ends with the stream).
while IFS= read -r -t 2 line <&3 && [ "$line" != $'\r' ]; do :; done
cat <&3
