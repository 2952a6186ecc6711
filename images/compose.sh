#!/usr/bin/env bash
# Runs Docker Compose with whichever flavour is installed: v2 (`docker compose`), which most
# users have, or v1 (`docker-compose`, Debian's package). Arguments pass through unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
# One project name wherever the checkout lives, so `make down` finds what `make up` started.
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-barista}
if docker compose version >/dev/null 2>&1; then
  exec docker compose "$@"
elif command -v docker-compose >/dev/null 2>&1; then
  exec docker-compose "$@"
fi
echo "compose.sh: neither 'docker compose' (v2) nor 'docker-compose' (v1) is installed" >&2
exit 127
