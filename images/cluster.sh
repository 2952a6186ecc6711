#!/usr/bin/env bash
# A local Docker Swarm of N nodes, each an engine inside a container (docs/swarm.md).
#
#   images/cluster.sh up [N]     start N nodes (default 3), join them, label their zones,
#                                load the project's images into them, create the overlay network
#   images/cluster.sh down       remove the nodes (and everything running on them) and the network
#   images/cluster.sh env        print the settings the orchestrator's Swarm runtime needs
#   images/cluster.sh demo-up N P  `make up CLUSTER=N` for compose project P: a cluster whose
#                                manager can run the demo stack (its brokers' images, the
#                                stack's ports, the checkout), unless P has one already
#   images/cluster.sh demo-api P print the manager's API URL of the cluster `make up CLUSTER=N`
#                                made for compose project P (nothing when there is none)
#   images/cluster.sh demo-down P remove that cluster, if there is one
#
# Settings (environment):
#   CLUSTER_NAME      names the nodes (NAME-1 ...), their bridge network and label (barista-cluster)
#   CLUSTER_ZONES     zones handed out to the nodes in turn (az-a az-b az-c)
#   CLUSTER_PORT      the manager's Docker API on 127.0.0.1 (23750)
#   CLUSTER_IMAGES    images loaded into every node (barista/service:latest)
#   CLUSTER_NETWORK   the attachable overlay network instances and tasks share (barista-overlay)
#   CLUSTER_DEMO      a compose project name: `make up CLUSTER=N` runs that project's stack on the
#                     manager (docs/swarm.md), and finds and removes the cluster by this label
#   CLUSTER_MANAGER_IMAGES  images loaded into the manager alone (the demo stack's brokers, HAProxy)
#   CLUSTER_MANAGER_PORTS   ports published from 127.0.0.1 to the same port of the manager
#   CLUSTER_MANAGER_MOUNT   a host directory the manager sees read-only at the same path (the
#                     checkout: the demo stack bind-mounts its brokers' configuration from it)
#   CLUSTER_STORAGE   the nodes' storage driver (overlay2: each node's /var/lib/docker is a volume,
#                     so overlay2 works nested on an ext4 or xfs host; vfs works everywhere, slower)
#
# The nodes need --cap-add SYS_ADMIN/NET_ADMIN, seccomp and AppArmor unconfined and the host's
# cgroup tree; --privileged is not used because some hosts refuse it ("unable to apply caps").
# /run is a tmpfs so that a node killed like a host losing power starts again: the engine's pid
# file and containerd's state would otherwise survive the kill and stop the engine starting.
# SYS_PTRACE lets a node's engine exec into a container whose user is not root (health checks
# of barista/service, which runs as its own user, fail with "error executing setns" without it).
# The manager's API is published on loopback only and without TLS: it gives root on the nodes.
set -euo pipefail

NAME=${CLUSTER_NAME:-barista-cluster}
ZONES=(${CLUSTER_ZONES:-az-a az-b az-c})
PORT=${CLUSTER_PORT:-23750}
IMAGES=${CLUSTER_IMAGES:-barista/service:latest}
OVERLAY=${CLUSTER_NETWORK:-barista-overlay}
STORAGE=${CLUSTER_STORAGE:-overlay2}
NODE_IMAGE=${CLUSTER_NODE_IMAGE:-barista/node:latest}
WAIT_SECONDS=${CLUSTER_WAIT_SECONDS:-120}

started=$EPOCHREALTIME
step_started=$started

log() { echo "cluster: $*" >&2; }

# Prints how long the step since the previous call took, for docs/swarm.md's table.
lap() {
  local now=$EPOCHREALTIME
  printf 'cluster: %-40s %6.1f s\n' "$1" "$(elapsed "$step_started" "$now")" >&2
  step_started=$now
}

elapsed() { awk -v from="$1" -v to="$2" 'BEGIN { printf "%.1f", to - from }'; }

node_name() { echo "$NAME-$1"; }

# docker on node $1 (inside its container: the node's own engine).
on_node() {
  local node=$1
  shift
  docker exec "$(node_name "$node")" docker "$@"
}

wait_engine() {
  local node=$1 deadline=$((SECONDS + WAIT_SECONDS))
  until on_node "$node" info >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then
      log "the engine of $(node_name "$node") did not answer within ${WAIT_SECONDS}s:"
      docker logs --tail 20 "$(node_name "$node")" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
}

up() {
  local count=${1:-3}
  if ! docker image inspect "$NODE_IMAGE" >/dev/null 2>&1; then
    log "$NODE_IMAGE is missing: run make images-cluster"
    exit 1
  fi
  if docker network inspect "$NAME" >/dev/null 2>&1; then
    log "a cluster named $NAME exists already: images/cluster.sh down first"
    exit 1
  fi
  docker network create --label "barista.cluster=$NAME" "$NAME" >/dev/null
  local i publish demo=()
  if [[ -n ${CLUSTER_DEMO:-} ]]; then demo=(--label "barista.cluster.demo=$CLUSTER_DEMO"); fi
  for ((i = 1; i <= count; i++)); do
    publish=()
    if ((i == 1)); then mapfile -t publish < <(manager_options); fi
    docker run --detach --name "$(node_name "$i")" --hostname "$(node_name "$i")" \
      --network "$NAME" --label "barista.cluster=$NAME" "${demo[@]}" "${publish[@]}" \
      --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add SYS_PTRACE \
      --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
      --volume /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run \
      --env DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1 --env DOCKER_TLS_CERTDIR= \
      --entrypoint dockerd "$NODE_IMAGE" \
      --host unix:///var/run/docker.sock --host tcp://0.0.0.0:2375 --tls=false \
      --storage-driver "$STORAGE" >/dev/null
  done
  for ((i = 1; i <= count; i++)); do wait_engine "$i"; done
  lap "$count engines answer"

  local manager_ip token
  manager_ip=$(docker inspect --format "{{(index .NetworkSettings.Networks \"$NAME\").IPAddress}}" \
    "$(node_name 1)")
  on_node 1 swarm init --advertise-addr "$manager_ip" >/dev/null
  token=$(on_node 1 swarm join-token --quiet worker)
  for ((i = 2; i <= count; i++)); do
    on_node "$i" swarm join --token "$token" "$manager_ip:2377" >/dev/null
  done
  for ((i = 1; i <= count; i++)); do
    on_node 1 node update --label-add "barista.az=${ZONES[$(((i - 1) % ${#ZONES[@]}))]}" \
      "$(node_name "$i")" >/dev/null
  done
  on_node 1 network create --driver overlay --attachable "$OVERLAY" >/dev/null
  lap "swarm formed, zones labelled, overlay made"

  local archive
  archive=$(mktemp --tmpdir barista-cluster-images.XXXXXX.tar)
  trap 'rm -f "${archive:-}"; trap - RETURN' RETURN
  # shellcheck disable=SC2086 # a list of image names
  docker save --output "$archive" $IMAGES
  lap "saved $(du -h "$archive" | cut -f1) of images"
  local loads=()
  for ((i = 1; i <= count; i++)); do
    docker exec --interactive "$(node_name "$i")" docker load --quiet <"$archive" >/dev/null &
    loads+=($!)
  done
  local manager_archive=
  if [[ -n ${CLUSTER_MANAGER_IMAGES:-} ]]; then
    # The manager's own images load while the others load the shared ones.
    manager_archive=$(mktemp --tmpdir barista-cluster-manager.XXXXXX.tar)
    # shellcheck disable=SC2086 # a list of image names
    docker save --output "$manager_archive" $CLUSTER_MANAGER_IMAGES
    docker exec --interactive "$(node_name 1)" docker load --quiet <"$manager_archive" >/dev/null &
    loads+=($!)
  fi
  for pid in "${loads[@]}"; do wait "$pid"; done
  [[ -z $manager_archive ]] || rm -f "$manager_archive"
  lap "loaded into $count nodes (in parallel)"
  printf 'cluster: %-40s %6.1f s\n' "total" "$(elapsed "$started" "$EPOCHREALTIME")" >&2
  # The demo's stack is told by images/cluster-compose.yml instead.
  if [[ -z ${CLUSTER_DEMO:-} ]]; then env_lines; fi
}

# The manager's publish, label and mount options: its API, and for the demo its ports and the
# checkout (one word per line, for the array above).
manager_options() {
  echo --publish
  echo "127.0.0.1:$PORT:2375"
  echo --label
  echo "barista.cluster.api=tcp://127.0.0.1:$PORT"
  local port
  for port in ${CLUSTER_MANAGER_PORTS:-}; do
    echo --publish
    echo "127.0.0.1:$port:$port"
  done
  if [[ -n ${CLUSTER_MANAGER_MOUNT:-} ]]; then
    echo --volume
    echo "$CLUSTER_MANAGER_MOUNT:$CLUSTER_MANAGER_MOUNT:ro"
  fi
}

# A setting from the environment, else the checkout's .env, else the default ($2).
setting() {
  local value=${!1:-}
  if [[ -z $value && -f .env ]]; then value=$(sed -n "s/^$1=//p" .env | tail -n 1); fi
  echo "${value:-$2}"
}

# make up CLUSTER=$1 for compose project $2 (docs/swarm.md). The stack's images beyond the
# instances' go to the manager alone: HAProxy, Redis (the ledger) and BACKEND's broker.
demo_up() {
  local count=$1 project=$2
  if [[ -n $(demo_api "$project") ]]; then
    log "the cluster of $project is up already"
    return
  fi
  cd "$(dirname "$0")/.."
  local backend ports=() variable
  backend=$(setting BACKEND rabbitmq)
  for variable in KAFKA_PORT:9092 RABBITMQ_PORT:5672 RABBITMQ_MANAGEMENT_PORT:15672 \
    REDIS_PORT:6379 ALB_PORT:8080 HAPROXY_STATS_PORT:8404 ORCHESTRATOR_PORT:8500 \
    LOADGEN_PORT:8501 PICKUP_BOARD_PORT:8502; do
    ports+=("$(setting "${variable%%:*}" "${variable#*:}")")
  done
  NAME=${CLUSTER_NAME:-$project-cluster}
  CLUSTER_DEMO=$project
  CLUSTER_MANAGER_IMAGES="barista/haproxy:latest barista/redis:latest"
  if [[ $backend != redis ]]; then CLUSTER_MANAGER_IMAGES+=" barista/$backend:latest"; fi
  CLUSTER_MANAGER_PORTS=${ports[*]}
  CLUSTER_MANAGER_MOUNT=$PWD
  up "$count"
}

# The manager API of the cluster made for compose project $1 (empty when there is none).
demo_api() {
  docker ps --filter "label=barista.cluster.demo=$1" --filter "label=barista.cluster.api" \
    --format '{{.Label "barista.cluster.api"}}' | head -n 1
}

demo_down() {
  local name
  name=$(docker ps --all --filter "label=barista.cluster.demo=$1" \
    --format '{{.Label "barista.cluster"}}' | head -n 1)
  if [[ -n $name ]]; then
    NAME=$name
    down
  fi
}

env_lines() {
  echo "BARISTA_RUNTIME=swarm"
  echo "BARISTA_SWARM_URL=tcp://127.0.0.1:$PORT"
  echo "BARISTA_SWARM_NETWORK=$OVERLAY"
}

down() {
  local ids
  ids=$(docker ps --all --quiet --filter "label=barista.cluster=$NAME")
  if [[ -n $ids ]]; then
    # shellcheck disable=SC2086 # container ids
    docker rm --force --volumes $ids >/dev/null
  fi
  if docker network inspect "$NAME" >/dev/null 2>&1; then
    docker network rm "$NAME" >/dev/null
  fi
  log "removed $NAME"
}

case ${1:-} in
  up) up "${2:-3}" ;;
  down) down ;;
  env) env_lines ;;
  demo-up) demo_up "${2:-3}" "${3:?demo-up needs the compose project name}" ;;
  demo-api) demo_api "${2:?demo-api needs the compose project name}" ;;
  demo-down) demo_down "${2:?demo-down needs the compose project name}" ;;
  *)
    echo "usage: images/cluster.sh up [N] | down | env | demo-up N PROJECT | demo-api PROJECT | demo-down PROJECT" >&2
    exit 2
    ;;
esac
