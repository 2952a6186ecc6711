#!/usr/bin/env bash
# Waits until every container of the compose project reports healthy (Compose v1 has no
# `up --wait`). Fails early, with the container's last log lines, if one exits or turns
# unhealthy. Usage: wait-healthy.sh [compose args such as -p NAME] (timeout: WAIT_SECONDS).
set -euo pipefail
here=$(dirname "$0")
# The stack's containers are on the local Swarm's manager after `make up CLUSTER=N`.
# shellcheck source=images/cluster-env.sh
source "$here/cluster-env.sh"
deadline=$((SECONDS + ${WAIT_SECONDS:-180}))
mapfile -t ids < <("$here/compose.sh" "$@" ps -q)
if ((${#ids[@]} == 0)); then
  echo "wait-healthy: the project has no containers; run make up first" >&2
  exit 1
fi
while :; do
  pending=()
  for id in "${ids[@]}"; do
    state=$(docker inspect -f '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$id")
    read -r name status health <<<"$state"
    if [[ $status == exited || $status == dead || $health == unhealthy ]]; then
      echo "wait-healthy: ${name#/} is $status/$health; its last log lines:" >&2
      docker logs --tail 30 "$id" >&2 || true
      exit 1
    fi
    [[ $health == healthy || $health == none ]] || pending+=("${name#/}")
  done
  if ((${#pending[@]} == 0)); then
    echo "wait-healthy: all ${#ids[@]} containers healthy after ${SECONDS}s"
    exit 0
  fi
  if ((SECONDS >= deadline)); then
    echo "wait-healthy: still waiting for ${pending[*]} after ${SECONDS}s" >&2
    exit 1
  fi
  sleep 1
done
