#!/usr/bin/env bash
# Make sure Compose v2 or later answers as `docker compose`, the CLI plugin users have.
#
# Debian packages only Compose v1 (`docker-compose` 1.29), which Barista supports too
# (images/compose.sh picks whichever is there). On a host without the plugin this builds the
# pinned Compose release from its source on the Go module proxy into the user's Docker CLI
# plugins (~/.docker/cli-plugins/docker-compose), once: about four minutes on two cores, then
# nothing. Without a Go toolchain it says how to get the plugin and leaves v1 in charge.
set -euo pipefail

COMPOSE_MODULE=github.com/docker/compose/v5
COMPOSE_VERSION=${COMPOSE_VERSION:-v5.6.0}
PLUGIN_DIR=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins

log() { printf 'ensure-compose: %s\n' "$*" >&2; }

if docker compose version >/dev/null 2>&1; then
  log "$(docker compose version)"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  log "no 'docker compose' (v2) and no Go toolchain to build it: install the Compose plugin"
  log "(https://docs.docker.com/compose/install/linux/); until then Compose v1 is used"
  exit 0
fi

log "building Compose $COMPOSE_VERSION from the Go module proxy (once; a few minutes)"
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
# Built as the main module, as its own go.mod's replace/exclude directives require.
source_dir=$(go mod download -json "$COMPOSE_MODULE@$COMPOSE_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [[ -z $source_dir ]]; then
  log "the Go module proxy has no $COMPOSE_MODULE@$COMPOSE_VERSION"
  exit 1
fi
cp -r "$source_dir" "$workdir/compose"
chmod -R u+w "$workdir/compose"
(
  cd "$workdir/compose"
  CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X $COMPOSE_MODULE/internal.Version=$COMPOSE_VERSION" \
    -o "$workdir/docker-compose" ./cmd
)
mkdir -p "$PLUGIN_DIR"
install -m 0755 "$workdir/docker-compose" "$PLUGIN_DIR/docker-compose"
log "$(docker compose version)"
