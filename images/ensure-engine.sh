#!/usr/bin/env bash
# Make sure a Docker engine answers, and that the host tools the image build and the
# interop tests use are present. On a Debian host with no engine (a fresh CI machine) this
# installs Debian's docker.io and starts dockerd in the background; elsewhere it only
# checks and says what is missing, because installing an engine is the user's choice.
set -euo pipefail

# debootstrap builds the local Debian base; kcat, redis-tools and amqp-tools are the
# protocol clients the interop tests drive; docker-compose is Compose v1 for hosts without v2;
# wrk is the HTTP load tool of the service benchmarks; chromium is the headless browser the
# dashboard's test drives through Playwright (no browser download).
HOST_PACKAGES=(docker.io debootstrap kcat redis-tools amqp-tools docker-compose wrk chromium)
ENGINE_WAIT_SECONDS=${ENGINE_WAIT_SECONDS:-60}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/barista-dockerd.log}

log() { printf 'ensure-engine: %s\n' "$*" >&2; }

engine_answers() { docker info >/dev/null 2>&1; }

can_install() { [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; }

missing_packages() {
  local pkg
  for pkg in "${HOST_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || echo "$pkg"
  done
}

install_packages() {
  local missing
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} == 0)); then return 0; fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

start_dockerd() {
  command -v dockerd >/dev/null 2>&1 || { log "dockerd is not installed"; return 1; }
  log "starting dockerd (log: $DOCKERD_LOG)"
  # setsid detaches it from this shell's process group so it outlives the caller.
  setsid dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
  local waited=0
  until engine_answers; do
    if ((waited >= ENGINE_WAIT_SECONDS)); then
      log "dockerd did not answer within ${ENGINE_WAIT_SECONDS}s; last lines of $DOCKERD_LOG:"
      tail -n 20 "$DOCKERD_LOG" >&2 || true
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "dockerd answers after ${waited}s"
}

main() {
  if can_install; then
    install_packages
  fi
  if engine_answers; then
    log "docker engine answers: $(docker version --format '{{.Server.Version}}')"
    return 0
  fi
  if can_install; then
    start_dockerd
    return
  fi
  cat >&2 <<'MSG'
ensure-engine: no Docker engine answers.
  Start one (for example `sudo systemctl start docker`, or Docker Desktop), make sure
  `docker info` works for this user, and run the command again. On a Debian host, running
  this script as root installs Debian's docker.io and starts dockerd for you.
MSG
  return 1
}

main "$@"
