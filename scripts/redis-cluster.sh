#!/usr/bin/env bash
# A local Redis Cluster for tests: 3 masters + 3 replicas from Debian's redis-server, in
# cluster mode on spare ports (default 7001-7006, cluster bus on port + 10000), data and
# one config file per node under ~/.cache/flashcast/redis-cluster/<port>/.
#
#   bash scripts/redis-cluster.sh         start it, or reuse a healthy running one
#   bash scripts/redis-cluster.sh stop    shut every node down
#
# Prints the node list (host:port,host:port,...) on its last line: what REDIS_CLUSTER_NODES
# and FLASHCAST_TEST_CLUSTER_NODES take. cluster-node-timeout is 2000 ms and every replica
# may always fail over, so a killed master is replaced within a few seconds (the failover
# test relies on it). Idempotent. Env: FLASHCAST_CLUSTER_BASE_PORT (7001), FLASHCAST_CLUSTER_DIR.
set -euo pipefail

log() { printf '[redis-cluster] %s\n' "$*" >&2; }

BASE=${FLASHCAST_CLUSTER_BASE_PORT:-7001}
ROOT=${FLASHCAST_CLUSTER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flashcast/redis-cluster}
HOST=127.0.0.1
PORTS=()
for i in 0 1 2 3 4 5; do PORTS+=($((BASE + i))); done
NODES=$(printf "$HOST:%s," "${PORTS[@]}")
NODES=${NODES%,}

cli() { redis-cli -h "$HOST" -p "$1" "${@:2}"; }
alive() { cli "$1" ping 2>/dev/null | grep -q PONG; }

stop_all() {
  for p in "${PORTS[@]}"; do
    if alive "$p"; then cli "$p" shutdown nosave >/dev/null 2>&1 || true; fi
  done
  for p in "${PORTS[@]}"; do
    for _ in $(seq 1 50); do alive "$p" || break; sleep 0.1; done
  done
}

# Healthy: every node answers, sees cluster_state:ok, and there are 3 masters owning slots,
# each with a replica whose link is up.
healthy() {
  local p
  for p in "${PORTS[@]}"; do
    alive "$p" || return 1
    cli "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
  local nodes masters replicas
  nodes=$(cli "$BASE" cluster nodes 2>/dev/null) || return 1
  masters=$(printf '%s\n' "$nodes" | awk '$3 ~ /master/ && $3 !~ /fail/ && NF >= 9' | wc -l)
  replicas=$(printf '%s\n' "$nodes" | awk '$3 ~ /slave/ && $3 !~ /fail/ && $8 == "connected"' | wc -l)
  [ "$masters" -eq 3 ] && [ "$replicas" -eq 3 ] || return 1
  for p in "${PORTS[@]}"; do
    if cli "$p" info replication | grep -q '^role:slave'; then
      cli "$p" info replication | grep -q '^master_link_status:up' || return 1
    fi
  done
}

if [ "${1:-}" = "stop" ]; then
  stop_all
  log "stopped"
  exit 0
fi

command -v redis-server >/dev/null 2>&1 || { log "redis-server is not installed (apt-get install redis-server)"; exit 1; }

if healthy; then
  log "reusing the running cluster on $NODES"
  echo "$NODES"
  exit 0
fi

# Something is there but not a healthy cluster (a half-started or broken one): start over.
stop_all
for p in "${PORTS[@]}"; do
  dir="$ROOT/$p"
  rm -rf "$dir"
  mkdir -p "$dir"
  cat >"$dir/redis.conf" <<EOF
# Flashcast test cluster node $p (scripts/redis-cluster.sh). Restart a killed node with:
#   redis-server $dir/redis.conf
port $p
bind $HOST
protected-mode no
daemonize yes
dir $dir
pidfile $dir/redis.pid
logfile $dir/redis.log
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout 2000
cluster-replica-validity-factor 0
cluster-require-full-coverage no
cluster-allow-reads-when-down no
save ""
appendonly no
maxmemory-policy noeviction
EOF
  redis-server "$dir/redis.conf"
done
for p in "${PORTS[@]}"; do
  for _ in $(seq 1 50); do alive "$p" && break; sleep 0.1; done
  alive "$p" || { log "node $p did not start: $(tail -n 5 "$ROOT/$p/redis.log")"; exit 1; }
done

log "creating the cluster on $NODES"
# shellcheck disable=SC2046
redis-cli --cluster create $(printf "$HOST:%s " "${PORTS[@]}") --cluster-replicas 1 --cluster-yes >/dev/null

for _ in $(seq 1 150); do healthy && break; sleep 0.2; done
if ! healthy; then
  log "the cluster did not become healthy:"
  cli "$BASE" cluster nodes >&2 || true
  exit 1
fi
log "cluster ready"
echo "$NODES"
