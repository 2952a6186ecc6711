#!/bin/sh
# Starts HAProxy in the foreground in master-worker mode, the same way on the official image and
# the local one. The master CLI (TCP 9998) is how the orchestrator reloads hitlessly: a new
# worker reads the configuration again while the old one finishes its connections.
#
# Configuration: haproxy.cfg next to this script, then every *.cfg in BARISTA_ELB_DIR
# (default /barista/elb) when that directory is mounted: the orchestrator writes the load
# balancers' listeners and target groups there (orchestrator/elb), with their server-state
# file and the localhost certificate of TLS listeners.
#
# Environment: HAPROXY_STATS_USER, HAPROXY_STATS_PASSWORD (required) guard the stats page.
# HAPROXY_ADMIN_ADDRESS is the one address the runtime API (9999) and the master CLI (9998)
# listen on, an IP or a name resolved here: compose gives the name HAProxy has on its internal
# control network, which only the orchestrator joins. Without it they listen on every address
# of the container, for tests that publish them on the host's loopback only.
set -eu

: "${HAPROXY_STATS_USER:?HAPROXY_STATS_USER must be set}"
: "${HAPROXY_STATS_PASSWORD:?HAPROXY_STATS_PASSWORD must be set}"
admin=${HAPROXY_ADMIN_ADDRESS:-0.0.0.0}
case $admin in
  *[!0-9.]*)
    name=$admin
    admin=$(getent ahostsv4 "$name" | awk 'NR == 1 { print $1 }')
    if [ -z "$admin" ]; then
      echo "start.sh: HAPROXY_ADMIN_ADDRESS=$name does not resolve to an IPv4 address" >&2
      exit 2
    fi
    ;;
esac
export HAPROXY_ADMIN_ADDRESS=$admin
here=$(dirname "$0")
elb_dir=${BARISTA_ELB_DIR:-/barista/elb}
set -- -W -db -S "ipv4@$admin:9998" -f "$here/haproxy.cfg"
if [ -d "$elb_dir" ]; then
    set -- "$@" -f "$elb_dir"
fi
exec haproxy "$@"
