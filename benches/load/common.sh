# shellcheck shell=bash
# The cgroups that hold the load kit's servers to a CPU cap (run.sh,
# duo.sh); source it. Starting and stopping servers: benches/lib/server.sh.
#
#   cg_make NAME CHILD...      a cgroup NAME for CPU caps, one child per
#                              server: sets CG and CG_KIND (v1's cpu
#                              controller, or v2 with cpu enabled for the
#                              root's children); CG stays empty if neither
#   cg_cap PCT                 every child held to PCT % of one core (10 ms
#                              periods; the kernel takes no quota under
#                              1 ms, so PCT is 0 for none or 10-99)
#   cg_join CHILD PID          the process and its children (nginx's workers)
#   cg_remove                  the cgroup, once its processes have exited
CG="" CG_KIND="" CG_CHILDREN=()
cg_make() {
  local name=$1 c
  shift
  if [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ] && mkdir "/sys/fs/cgroup/cpu/$name" 2>/dev/null; then
    CG=/sys/fs/cgroup/cpu/$name CG_KIND=v1
  elif grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null && mkdir "/sys/fs/cgroup/$name" 2>/dev/null; then
    CG=/sys/fs/cgroup/$name CG_KIND=v2
    echo +cpu > "$CG/cgroup.subtree_control" 2>/dev/null || true
  else
    return 0
  fi
  CG_CHILDREN=("$@")
  for c in "$@"; do mkdir "$CG/$c" 2>/dev/null || true; done
}
cg_cap() {
  local c
  for c in "${CG_CHILDREN[@]}"; do
    if [ "$CG_KIND" = v1 ]; then
      echo 10000 > "$CG/$c/cpu.cfs_period_us"
      if [ "$1" = 0 ]; then echo -1 > "$CG/$c/cpu.cfs_quota_us"; else echo $(( $1 * 100 )) > "$CG/$c/cpu.cfs_quota_us"; fi
    else
      if [ "$1" = 0 ]; then echo "max 10000" > "$CG/$c/cpu.max"; else echo "$(( $1 * 100 )) 10000" > "$CG/$c/cpu.max"; fi
    fi
  done
}
cg_join() {
  local pid
  for pid in "$2" $(pgrep -P "$2" 2>/dev/null); do
    echo "$pid" > "$CG/$1/cgroup.procs"
  done
}
cg_remove() {
  local c
  [ -n "$CG" ] || return 0
  for c in "${CG_CHILDREN[@]}"; do rmdir "$CG/$c" 2>/dev/null || true; done
  rmdir "$CG" 2>/dev/null || true
}
