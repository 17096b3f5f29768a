#!/bin/bash
# Moves one wikidex replica from the dump it serves to a new one: build the
# new index beside the served one while it serves, check it, switch
# atomically, reload (or restart), and switch back if the new one is not
# served.
# docs/OPERATIONS.md, "Updating the dump", has the procedure and its cost.
#
#   deploy/update-dump.sh [OPTIONS] ROOT NAME [DUMP]
#
# ROOT is the replica's data directory. The service serves ROOT/current
# (--link), a relative symbolic link to a release:
#
#   ROOT/current -> releases/20260101     what `wikidex serve` is given:
#                                         --index ROOT/current/index
#                                         --dump  ROOT/current/dump.xml
#   ROOT/current.next -> releases/20260201  the release to come, between
#                                         --prepare-only and the switch:
#                                         --next-index ROOT/current.next/index
#                                         --next-dump  ROOT/current.next/dump.xml
#   ROOT/releases/20260101/{index/,dump.xml}
#   ROOT/releases/20260201/...            the new release NAME, made here
#
# A cluster moves without a 412: --prepare-only on every replica (each then
# answers /xml fetches of the new dump too), then the switch on each (each
# then still answers those of the old one, until its next reload).
#
# DUMP is the new dump: an uncompressed .xml (hard-linked, or copied with
# its modification time, to ROOT/releases/NAME/dump.xml) or a .xml.bz2 (its
# XML goes into the index as the page store; the .bz2 is not kept). Leave
# it out when ROOT/releases/NAME/ already holds dump.xml or a built index.
#
# Steps; each failure stops before the served release changes:
#  1. prepare: the dump in place, and its index built (at low CPU and I/O
#     priority, --threads) or copied (--from-index DIR, an index of the same
#     dump built on another machine) into ROOT/releases/NAME/index;
#  2. verify: `wikidex verify` of every checksum and of the dump's
#     identity; with --restart, then a trial: `wikidex serve` on the new
#     release, on a free loopback port, must answer /healthz (the binary,
#     its flags and the new release together; a reload is its own trial).
#     Either failing refuses the switch (exit 1). With --prepare-only and a
#     reload, then the offer: ROOT/LINK.next -> releases/NAME and a reload,
#     after which the server answers /xml fetches whose If-Match names the
#     new dump (/stats says so: next_release); skipped if the server has no
#     --next-index;
#  3. switch: ROOT/current -> releases/NAME, atomically (ln -sfn to a
#     temporary name, then mv -T: one rename(2));
#  4. reload: --reload CMD (systemctl reload wikidex: SIGHUP). The server
#     opens ROOT/current again and serves the new release from its next
#     request, with no drain and no restart; /stats (at --health URL) must
#     name the new release within --timeout seconds. If the server refuses
#     it (/stats counts a refused reload; it goes on serving the old one),
#     or the time runs out, current goes back to the old release (reloaded
#     again after a timeout) and the exit status is 1.
#     Or restart: --restart CMD. SIGTERM drains the old server (/healthz
#     503, Connection: close, --drain-secs) before it stops; the service
#     manager starts the new one on ROOT/current. Then --health URL (or
#     --health-cmd) must answer 200 from a server started after the switch
#     within --timeout seconds, else current goes back to the old release,
#     CMD runs again, and the exit status is 1. A restart takes the replica
#     out of rotation for its drain and start, and the replicas of a
#     cluster serve two dumps meanwhile: docs/OPERATIONS.md, "Drill";
#  5. prune: releases older than the previous one are removed, but for
#     --keep N-2 of them and any that another link names. A newer one
#     (prepared for later) is never removed.
#
# Replicas that share ROOT on one host (deploy/compose.yaml) each serve a
# link of their own (ROOT/wikidex1, …: --link wikidex1); a release that any
# link in ROOT names is never removed.
#
# Options:
#   --link NAME       the link the service serves (default: current)
#   --prepare-only    steps 1 and 2 (build now, switch later: run again
#                     without it)
#   --serve-args ARGS what the service passes `wikidex serve` besides
#                     --index, --dump and --bind (for the trial; e.g.
#                     "--max-age 600")
#   --from-index DIR  copy this index instead of building one
#   --threads N       index build threads (default: half the cores, at least
#                     one, so the replica keeps serving meanwhile)
#   --reload CMD      default: systemctl reload wikidex
#   --restart CMD     restart instead of reloading (e.g. `systemctl restart
#                     wikidex`)
#   --health URL      the replica's address (default http://127.0.0.1:8080);
#                     its /healthz and /stats are read (curl)
#   --stats-cmd CMD   instead of --health: a command that prints the
#                     replica's /stats (e.g. `docker compose exec -T
#                     wikidex1 wikidex-healthz --stats`)
#   --health-cmd CMD  with --restart, instead of --health: a command that
#                     exits 0 once the replica answers (e.g. `docker compose
#                     exec -T wikidex1 wikidex-healthz`); CMD of --restart
#                     must then return only once the old server has stopped,
#                     as `systemctl restart` and `docker compose restart` do
#   --timeout SECS    for the new release to be served (default 120)
#   --keep N          releases kept of those up to the new one (default 2:
#                     the new and the previous, whose /xml the reloaded
#                     server still answers)
#   --wikidex PATH    the binary (default: wikidex on PATH)
#   --time FILE       the index build's resource use (/usr/bin/time -v) in
#                     FILE
#
# Exit status: 0 switched (or prepared); 1 refused or rolled back (the old
# release serves); 2 usage or an unexpected error.
set -euo pipefail

die() { echo "update-dump: $*" >&2; exit 2; }
refuse() { echo "update-dump: refused: $*" >&2; exit 1; }
say() { echo "update-dump: $*" >&2; }

link=current prepare_only=0 from_index="" serve_args="" threads="" restart="" reload="systemctl reload wikidex"
health=http://127.0.0.1:8080 health_cmd="" stats_cmd="" timeout=120 keep=2 wikidex=wikidex time_file=""
args=()
while [ $# -gt 0 ]; do
    case $1 in
        --link) link=${2:?}; shift ;;
        --prepare-only) prepare_only=1 ;;
        --serve-args) serve_args=${2?}; shift ;;
        --from-index) from_index=${2:?}; shift ;;
        --threads) threads=${2:?}; shift ;;
        --reload) reload=${2:?}; shift ;;
        --restart) restart=${2:?}; shift ;;
        --health) health=${2%/}; shift ;;
        --health-cmd) health_cmd=${2:?}; shift ;;
        --stats-cmd) stats_cmd=${2:?}; shift ;;
        --timeout) timeout=${2:?}; shift ;;
        --keep) keep=${2:?}; shift ;;
        --wikidex) wikidex=${2:?}; shift ;;
        --time) time_file=${2:?}; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1 (--help)" ;;
        *) args+=("$1") ;;
    esac
    shift
done
if [ ${#args[@]} -lt 2 ] || [ ${#args[@]} -gt 3 ]; then die "usage: update-dump.sh [OPTIONS] ROOT NAME [DUMP] (--help)"; fi
root=${args[0]%/} name=${args[1]} dump=${args[2]:-}
case $name in */* | . | .. | '') die "NAME must be a plain directory name, not '$name'" ;; esac
case $link in */* | . | .. | releases | '') die "--link must be a plain name, not '$link'" ;; esac
if ! [[ $keep =~ ^[0-9]+$ ]] || [ "$keep" -lt 2 ]; then die "--keep must be 2 or more (the new release and the previous one)"; fi
[ -L "$root/$link" ] || die "$root/$link is not a symbolic link to a release (see --help for the layout)"
command -v "$wikidex" >/dev/null || die "no wikidex binary: $wikidex (--wikidex PATH)"
if [ -n "$health_cmd" ] && [ -z "$restart" ]; then
    die "--health-cmd goes with --restart: a reload is confirmed by the replica's /stats (--health URL or --stats-cmd)"
fi

old=$(readlink "$root/$link")
old=${old%/}
new_rel=releases/$name
new=$root/$new_rel
[ "$old" != "$new_rel" ] || refuse "$name is already the current release"

# 1. prepare
mkdir -p "$new"
if [ -n "$dump" ]; then
    case $dump in
        *.bz2) [ -z "$from_index" ] || die "no DUMP with --from-index of a .bz2's index: the index holds the pages" ;;
        *)
            if [ ! -e "$new/dump.xml" ]; then
                # The index records the dump's size and modification time:
                # a copy must keep the latter (cp -p), a hard link shares it.
                ln "$dump" "$new/dump.xml" 2>/dev/null || cp -p "$dump" "$new/dump.xml.part"
                [ ! -e "$new/dump.xml.part" ] || mv "$new/dump.xml.part" "$new/dump.xml"
            elif ! [ "$new/dump.xml" -ef "$dump" ] && ! cmp -s "$new/dump.xml" "$dump"; then
                die "$new/dump.xml exists and is not $dump"
            fi ;;
    esac
fi
dump_args=()
[ ! -e "$new/dump.xml" ] || dump_args=(--dump "$new/dump.xml")

if [ -d "$new/index" ]; then
    say "$new/index exists: checking it rather than building it again"
elif [ -n "$from_index" ]; then
    say "copying $from_index to $new/index"
    rm -rf "$new/index.part"
    cp -a "$from_index" "$new/index.part"
    mv -T "$new/index.part" "$new/index"
else
    src=""
    if [ -n "$dump" ] && [[ $dump == *.bz2 ]]; then src=$dump; elif [ -e "$new/dump.xml" ]; then src=$new/dump.xml; fi
    [ -n "$src" ] || die "no dump for $name: give DUMP, or put it in $new/dump.xml"
    if [ -z "$threads" ]; then
        threads=$(( $(nproc) / 2 ))
        [ "$threads" -ge 1 ] || threads=1
    fi
    # The idle CPU scheduling class (SCHED_IDLE), not nice 19: a nice-19
    # build still takes its share of a core the replica wants (the drill saw
    # the cluster's tail grow with it: docs/OPERATIONS.md, "Drill").
    say "indexing $src into $new/index ($threads threads, idle CPU and I/O classes)"
    build=(chrt --idle 0 ionice -c 3 "$wikidex" index "$src" -o "$new/index" --threads "$threads")
    if [ -n "$time_file" ]; then build=(/usr/bin/time -v -o "$time_file" "${build[@]}"); fi
    # The indexer writes a temporary directory and renames it into place:
    # an interrupted build leaves no $new/index.
    "${build[@]}" </dev/null || refuse "wikidex index $src failed; $old still serves"
fi

# 2. verify
if ! out=$("$wikidex" verify "$new/index" "${dump_args[@]}" 2>&1); then
    printf '%s\n' "$out" >&2
    refuse "wikidex verify $new/index failed; $old still serves"
fi
say "verified: $out"
trial() { # serve the new release on a free loopback port; /healthz must say 200
    local log pid addr="" i ok=1
    log=$(mktemp)
    # shellcheck disable=SC2086 # --serve-args is a list of flags
    WIKIDEX_LOG=info "$wikidex" serve --index "$new/index" "${dump_args[@]}" $serve_args \
        --bind 127.0.0.1:0 --workers 1 --drain-secs 0 --verify off >/dev/null 2>"$log" &
    pid=$!
    for ((i = 0; i < 600; i++)); do
        addr=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -o 'on http://[0-9.:]*' | head -1 | cut -c11-) || true
        [ -z "$addr" ] || break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -n "$addr" ] && curl -fsS -o /dev/null --max-time 5 "http://$addr/healthz"; then ok=0; fi
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [ "$ok" = 0 ] || sed 's/^/  /' "$log" >&2
    rm -f "$log"
    return "$ok"
}
# The replica's /stats, and what it says: compact JSON from serde_json,
# keys in order, no object inside these three.
stats() {
    if [ -n "$stats_cmd" ]; then timeout 5 bash -c "$stats_cmd" 2>/dev/null; return; fi
    curl -fsS --max-time 2 "$health/stats" 2>/dev/null
}
served_index() { stats | sed -n 's/.*"release":{[^}]*"index":"\([^"]*\)".*/\1/p'; }
next_index() { stats | sed -n 's/.*"next_release":{[^}]*"index":"\([^"]*\)".*/\1/p'; }
refused_reloads() { stats | sed -n 's/.*"reloads":{[^}]*"refused":\([0-9]*\).*/\1/p'; }
json_string() { sed -n "s/.*\"$1\":\"\\(\\([^\"\\\\]\\|\\\\.\\)*\\)\".*/\\1/p"; }
done_reloads() { stats | sed -n 's/.*"reloads":{"done":\([0-9]*\).*/\1/p'; }
# reload_and_wait CHECK WHAT: reloads, waits for the reload to be done and
# then for CHECK (a command) to succeed: 0; 1 if the server refuses the
# reload, CHECK fails after it, or the time runs out.
reload_and_wait() {
    local refused_before done_before refused reloaded i
    refused_before=$(refused_reloads)
    done_before=$(done_reloads)
    [ -n "$refused_before" ] || { say "no /stats from ${stats_cmd:-$health} (--health URL or --stats-cmd)"; return 1; }
    say "reloading: $reload"
    bash -c "$reload" || return 1
    for ((i = 0; i < timeout * 20; i++)); do
        # (A /stats that did not answer says nothing either way.)
        refused=$(refused_reloads)
        if [ -n "$refused" ] && [ "$refused" != "$refused_before" ]; then
            say "the server refused $2: $(stats | json_string last_refusal)"
            return 1
        fi
        reloaded=$(done_reloads)
        [ -z "$reloaded" ] || [ "$reloaded" = "$done_before" ] || break
        sleep 0.05
    done
    # Done: the state /stats describes is the new one (a second's grace for
    # a worker that answered from the old one as it was replaced).
    for ((i = 0; i < 20; i++)); do
        if $1; then return 0; fi
        sleep 0.05
    done
    if [ -n "$why" ]; then say "$why"; else say "the server does not serve $2 after ${timeout}s"; fi
    return 1
}
want_index=$(readlink -f "$new/index") why=""
serves_new() { [ "$(served_index)" = "$want_index" ]; }
serves_old() { [ "$(served_index)" = "$(readlink -f "$root/$old/index")" ]; }
offers_new() {
    local next
    next=$(stats | sed -n 's/.*"next_release":{\([^}]*\)}.*/\1/p')
    why=$(json_string refused <<<"$next")
    [ -z "$why" ] || why="the server refused it: $why"
    [ "$(next_index)" = "$want_index" ]
}

if [ -n "$restart" ]; then
    # A restart has no way back but another restart: try the release first.
    # A reload is its own trial (the server opens the release as a trial
    # would, and refuses it with no harm to what it serves).
    trial || refuse "wikidex serve on $new_rel did not answer /healthz; $old still serves"
    say "trial: wikidex serve on $new_rel answers"
elif [ "$prepare_only" = 0 ]; then
    : # the switch follows
elif [[ $(stats) == *'"next_release":null'* ]]; then
    say "the server has no --next-index: the new release is not offered before the switch"
else
    # Offer: ROOT/LINK.next -> the new release, and a reload: the server
    # answers /xml fetches with the new dump's ETag before it serves it.
    ln -sfn "$new_rel" "$root/.$link.tmp"
    mv -T "$root/.$link.tmp" "$root/$link.next"
    if ! reload_and_wait offers_new "$new_rel as the next release"; then
        rm -f "$root/$link.next"
        refuse "$new_rel was not offered; $old still serves"
    fi
    say "offered: the server answers /xml for $new_rel's dump too"
fi
if [ "$prepare_only" = 1 ]; then
    say "prepared $new_rel; run again without --prepare-only to switch"
    exit 0
fi

# 3. switch
point() { # point RELEASE: ROOT/LINK -> RELEASE in one rename(2)
    ln -sfn "$1" "$root/.$link.tmp"
    mv -T "$root/.$link.tmp" "$root/$link"
}

# 4. reload (or restart), and wait for the replica to serve the new release
uptime_of() { stats | sed -n 's/.*"uptime_seconds":\([0-9.]*\).*/\1/p'; }
healthy_since() { # healthy_since EPOCH: /healthz 200 from a server started after EPOCH
    local up now
    if [ -n "$health_cmd" ]; then bash -c "$health_cmd" >/dev/null 2>&1; return; fi
    curl -fsS -o /dev/null --max-time 2 "$health/healthz" 2>/dev/null || return 1
    up=$(uptime_of) || return 1
    [ -n "$up" ] || return 1
    now=$(date +%s.%N)
    awk -v n="$now" -v u="$up" -v s="$1" 'BEGIN { exit !(n - u >= s) }'
}
restart_and_wait() {
    local since i
    since=$(date +%s.%N)
    say "restarting: $restart"
    bash -c "$restart" || return 1
    for ((i = 0; i < timeout * 10; i++)); do
        healthy_since "$since" && return 0
        sleep 0.1
    done
    return 1
}

point "$new_rel"
rm -f "$root/$link.next"
say "$link -> $new_rel (was $old)"
if [ -z "$restart" ]; then
    if ! reload_and_wait serves_new "$new_rel"; then
        point "$old"
        say "back to $old"
        if ! serves_old; then
            reload_and_wait serves_old "$old" || say "the server does not serve $old either: look at the service's log"
        fi
        exit 1
    fi
elif ! restart_and_wait; then
    say "the server on $new_rel did not answer ${health_cmd:-$health/healthz} within ${timeout}s: back to $old"
    point "$old"
    restart_and_wait || say "the server on $old did not come back either: look at the service's log"
    exit 1
fi
say "serving $new_rel"

# 5. prune: never a release a link in ROOT names (another replica's), nor
# one newer than the previous (it may be the next, prepared)
linked=" $new_rel $old "
for l in "$root"/* "$root"/.[!.]*; do
    if [ -L "$l" ]; then t=$(readlink "$l"); linked+="${t%/} "; fi
done
n=0
# Newest first (names are plain: NAME is checked above).
# shellcheck disable=SC2045
for rel in $(ls -1t "$root/releases"); do
    case $linked in *" releases/$rel "*) continue ;; esac
    [ "$root/releases/$rel" -ot "$root/$old" ] || continue
    n=$((n + 1))
    if [ $((n + 2)) -gt "$keep" ]; then
        say "removing releases/$rel"
        rm -rf "${root:?}/releases/$rel"
    fi
done
