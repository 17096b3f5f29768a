#!/bin/bash
# Exits 0 if wikidex's GET /healthz answers 200, else 1: the container's
# HEALTHCHECK. bash's /dev/tcp rather than curl, which the slim runtime
# image does not have (and would otherwise be installed for this alone).
#
# Usage: wikidex-healthz [HOST:PORT]   (default: $WIKIDEX_BIND, a wildcard
# address meaning this host)
set -u
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
printf 'GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$host" >&3 || exit 1
# Only the status line matters: "HTTP/1.1 200 OK".
read -r -t 2 _ status _ <&3 || exit 1
[ "$status" = 200 ]
