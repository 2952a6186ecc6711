#!/usr/bin/env bash
# Runs Docker Compose with whichever flavour is installed: v2 or later (`docker compose`),
# which most users have (images/ensure-compose.sh builds it where no package has it), or v1
# (`docker-compose`, Debian's package; profiles need 1.28 or newer).
# Arguments pass through unchanged.
#
# BACKEND (the environment, else .env, else rabbitmq) becomes COMPOSE_PROFILES unless that is
# set, so only the chosen broker starts; COMPOSE_PROFILES=all-brokers enables every broker
# (`make down` uses it so no broker's container or volume is left behind).
set -euo pipefail
cd "$(dirname "$0")/.."
# One project name wherever the checkout lives, so `make down` finds what `make up` started.
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-barista}
# On the manager of the local Swarm `make up CLUSTER=N` made for this project, if there is one.
# shellcheck source=images/cluster-env.sh
source images/cluster-env.sh
if [[ -z ${BACKEND:-} && -f .env ]]; then
  BACKEND=$(sed -n 's/^BACKEND=//p' .env | tail -n 1)
fi
export BACKEND=${BACKEND:-rabbitmq}
case $BACKEND in
  kafka | rabbitmq | redis) ;;
  *)
    echo "compose.sh: BACKEND=$BACKEND is not one of kafka, rabbitmq, redis" >&2
    exit 2
    ;;
esac
if [[ ${COMPOSE_PROFILES:-} == all-brokers ]]; then
  COMPOSE_PROFILES=kafka,rabbitmq,redis
fi
export COMPOSE_PROFILES=${COMPOSE_PROFILES:-$BACKEND}
# BARISTA_COMPOSE=v1 or v2 insists on one flavour (the tests run the stack with each).
case ${BARISTA_COMPOSE:-} in
  v2) exec docker compose "$@" ;;
  v1) exec docker-compose "$@" ;;
  "") ;;
  *)
    echo "compose.sh: BARISTA_COMPOSE=$BARISTA_COMPOSE is not v1 or v2" >&2
    exit 2
    ;;
esac
if docker compose version >/dev/null 2>&1; then
  exec docker compose "$@"
elif command -v docker-compose >/dev/null 2>&1; then
  exec docker-compose "$@"
fi
echo "compose.sh: neither 'docker compose' (v2) nor 'docker-compose' (v1) is installed" >&2
exit 127
