# Sourced by images/compose.sh and images/wait-healthy.sh (bash, from the checkout's root or
# not). While the cluster `make up CLUSTER=N` made for COMPOSE_PROJECT_NAME is up, the demo stack
# lives on that cluster's manager (docs/swarm.md): point Docker at the manager's API and add
# images/cluster-compose.yml, so make ps, logs, seed-history and down find the stack there.
# Without such a cluster nothing changes.
if [[ -z ${BARISTA_CLUSTER_API:-} ]]; then
  BARISTA_CLUSTER_API=$("$(dirname "${BASH_SOURCE[0]}")/cluster.sh" demo-api \
    "${COMPOSE_PROJECT_NAME:-barista}")
  export BARISTA_CLUSTER_API
fi
if [[ -n $BARISTA_CLUSTER_API ]]; then
  cluster_checkout=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  export DOCKER_HOST=$BARISTA_CLUSTER_API
  COMPOSE_FILE=$cluster_checkout/docker-compose.yml:$cluster_checkout/images/cluster-compose.yml
  if [[ -f $cluster_checkout/docker-compose.override.yml ]]; then
    COMPOSE_FILE+=:$cluster_checkout/docker-compose.override.yml
  fi
  export COMPOSE_FILE
  # Inside the manager the stack publishes on every interface; the manager's container
  # publishes those ports on the host's loopback only (images/cluster.sh).
  export BARISTA_PUBLISH_ADDRESS=0.0.0.0
fi
