# shellcheck shell=bash
# Starts, waits for and stops the servers every bench script runs; source it.
#
#   start_wikidex BIN LOG [SERVE_ARGS...]
#       `BIN serve SERVE_ARGS` in the background, stdout and stderr to LOG, on
#       core $SERVER_CPU when that is set; on 127.0.0.1:0 (a free port) unless
#       SERVE_ARGS has a --bind. Sets SERVER_PID, then SERVER_ADDR (host:port,
#       from --bind, else from the server's "on http://" log line) and waits
#       for a 200 from /healthz. Returns 0 then; 1 if the server exited first
#       (LOG says why; SERVER_PID is cleared); 2 after $WAIT_SECS (60) s, the
#       server killed.
#   start_nginx DIR PORT DUMP
#       the kit's nginx baseline (benches/load/nginx.conf.tmpl: one worker,
#       /plaintext `return 200`, DUMP as /xml with sendfile and ranges),
#       configured in DIR, on core $SERVER_CPU when set; waits for /plaintext.
#       Sets NGINX_PID (the master, to stop) and NGINX_WORKER (the worker, to
#       count); returns 1 if it did not come up (DIR/error.log says why).
#   serve_warm_index NAME BIN INDEX DUMP
#       for a script measuring single requests: reads INDEX's files once
#       (page cache warm), starts `BIN serve` on it with one worker on core
#       $SERVER_CPU (default 0) at 127.0.0.1:$PORT (a random port, set here),
#       and stops it when the script exits. Exits the script with
#       "NAME: the server did not start" if it did not.
#   stop_server [PID]
#       SIGTERM to PID (default $SERVER_PID) and waits for it; returns its exit
#       status, 0 if it was not running. Clears SERVER_PID when it stopped it.
#
# WAIT_POLL (default 0.05 s) is the polling interval: benches/startup.sh,
# timing the first answer, sets it to 0.001. Servers started here stop at
# once when signalled: the drain (`--drain-secs`, for balancers) would hold
# the port into the next start.
export WIKIDEX_DRAIN_SECS=${WIKIDEX_DRAIN_SECS:-0}

SERVER_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# _pin: the taskset prefix for core $SERVER_CPU, empty if that is unset.
# (An array, not a function: a function run with `&` forks a subshell, whose
# PID would be taken for the server's.)
_pin() {
  PIN=()
  [ -z "${SERVER_CPU:-}" ] || PIN=(taskset -c "$SERVER_CPU")
}

start_wikidex() {
  local bin=$1 log=$2 bind="" a prev="" i
  shift 2
  for a in "$@"; do
    [ "$prev" = --bind ] && bind=$a
    case $a in --bind=*) bind=${a#--bind=} ;; esac
    prev=$a
  done
  local extra=()
  [ -n "$bind" ] || extra=(--bind 127.0.0.1:0)
  _pin
  WIKIDEX_LOG=${WIKIDEX_LOG:-info} "${PIN[@]}" "$bin" serve "${extra[@]}" "$@" > "$log" 2>&1 &
  SERVER_PID=$!
  SERVER_ADDR=""
  case $bind in *:0 | "") ;; *) SERVER_ADDR=$bind ;; esac
  local polls
  polls=$(awk -v s="${WAIT_SECS:-60}" -v p="${WAIT_POLL:-0.05}" 'BEGIN { printf "%d", s / p }')
  for ((i = 0; i < polls; i++)); do
    if [ -z "$SERVER_ADDR" ]; then
      SERVER_ADDR=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -o 'on http://[0-9.:]*' | head -1 | cut -c11- || true)
    fi
    if [ -n "$SERVER_ADDR" ] && curl -sf -o /dev/null "http://$SERVER_ADDR/healthz"; then
      return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      wait "$SERVER_PID" 2>/dev/null || true
      SERVER_PID=""
      return 1
    fi
    sleep "${WAIT_POLL:-0.05}"
  done
  echo "server.sh: $bin did not answer /healthz within ${WAIT_SECS:-60} s (log: $log)" >&2
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  return 2
}

start_nginx() {
  local dir=$1 port=$2 dump=$3 i
  mkdir -p "$dir"
  sed -e "s#@PREFIX@#$dir#g" -e "s#@PORT@#$port#g" -e "s#@DUMP@#$dump#g" -e "s#@WORKERS@#1#g" \
    "$SERVER_LIB_DIR/../load/nginx.conf.tmpl" > "$dir/nginx.conf"
  _pin
  "${PIN[@]}" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" > "$dir/stdout.log" 2>&1 &
  NGINX_PID=$!
  NGINX_WORKER=""
  for ((i = 0; i < 400; i++)); do
    [ -n "$NGINX_WORKER" ] || NGINX_WORKER=$(pgrep -P "$NGINX_PID" -f 'nginx: worker' || true)
    if [ -n "$NGINX_WORKER" ] && curl -sf -o /dev/null "http://127.0.0.1:$port/plaintext"; then
      return 0
    fi
    kill -0 "$NGINX_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "server.sh: nginx did not start: $(tail -2 "$dir/error.log" 2>/dev/null)" >&2
  kill "$NGINX_PID" 2>/dev/null || true
  return 1
}

serve_warm_index() {
  local name=$1 bin=$2 index=$3 dump=$4
  PORT=$((20000 + RANDOM % 20000))
  cat "$index"/* > /dev/null
  SERVER_CPU=${SERVER_CPU:-0}
  trap 'stop_server || true' EXIT
  start_wikidex "$bin" /dev/null --index "$index" --dump "$dump" --bind "127.0.0.1:$PORT" --workers 1 \
    || { echo "$name: the server did not start" >&2; exit 1; }
}

# shellcheck disable=SC2120  # PID is optional
stop_server() {
  local pid=${1:-${SERVER_PID:-}} rc=0
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || rc=$?
    if [ $rc = 127 ]; then  # not this shell's child: wait for it to go
      rc=0
      for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    fi
  fi
  [ "$pid" = "${SERVER_PID:-}" ] && SERVER_PID=""
  return $rc
}
