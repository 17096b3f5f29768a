#!/bin/bash
# Moves one wikidex replica from the dump it serves to a new one: build the
# new index beside the served one while it serves, check it, switch
# atomically, restart, and switch back if the new one does not come up.
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
#   ROOT/releases/20260101/{index/,dump.xml}
#   ROOT/releases/20260201/...            the new release NAME, made here
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
#     identity, then a trial: `wikidex serve` on the new release, on a free
#     loopback port, must answer /healthz (the binary, its flags and the new
#     release together). Either failing refuses the switch (exit 1);
#  3. switch: ROOT/current -> releases/NAME, atomically (ln -sfn to a
#     temporary name, then mv -T: one rename(2));
#  4. restart: --restart CMD. SIGTERM drains the old server (/healthz 503,
#     Connection: close, --drain-secs) before it stops; the service manager
#     starts the new one on ROOT/current. Then --health URL must answer 200
#     from a server started after the switch within --timeout seconds, else
#     current goes back to the old release, CMD runs again, and the exit
#     status is 1;
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
#   --restart CMD     default: systemctl restart wikidex
#   --health URL      the replica's address (default http://127.0.0.1:8080);
#                     its /healthz and /stats are read (curl)
#   --health-cmd CMD  instead of --health: a command that exits 0 once the
#                     replica answers (e.g. `docker compose exec -T
#                     wikidex1 wikidex-healthz`); CMD of --restart must then
#                     return only once the old server has stopped, as
#                     `systemctl restart` and `docker compose restart` do
#   --timeout SECS    for the new server to answer (default 120)
#   --keep N          releases kept of those up to the new one (default 2:
#                     the new and the previous)
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

link=current prepare_only=0 from_index="" serve_args="" threads="" restart="systemctl restart wikidex"
health=http://127.0.0.1:8080 health_cmd="" timeout=120 keep=2 wikidex=wikidex time_file=""
args=()
while [ $# -gt 0 ]; do
    case $1 in
        --link) link=${2:?}; shift ;;
        --prepare-only) prepare_only=1 ;;
        --serve-args) serve_args=${2?}; shift ;;
        --from-index) from_index=${2:?}; shift ;;
        --threads) threads=${2:?}; shift ;;
        --restart) restart=${2:?}; shift ;;
        --health) health=${2%/}; shift ;;
        --health-cmd) health_cmd=${2:?}; shift ;;
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
    say "indexing $src into $new/index ($threads threads, nice 19, idle I/O class)"
    build=(nice -n 19 ionice -c 3 "$wikidex" index "$src" -o "$new/index" --threads "$threads")
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
trial || refuse "wikidex serve on $new_rel did not answer /healthz; $old still serves"
say "trial: wikidex serve on $new_rel answers"
if [ "$prepare_only" = 1 ]; then
    say "prepared $new_rel; run again without --prepare-only to switch"
    exit 0
fi

# 3. switch
point() { # point RELEASE: ROOT/LINK -> RELEASE in one rename(2)
    ln -sfn "$1" "$root/.$link.next"
    mv -T "$root/.$link.next" "$root/$link"
}

# 4. restart, and wait for a server that started after the switch
uptime_of() { curl -fsS --max-time 2 "$health/stats" 2>/dev/null | sed -n 's/.*"uptime_seconds":\([0-9.]*\).*/\1/p'; }
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
say "$link -> $new_rel (was $old)"
if ! restart_and_wait; then
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
