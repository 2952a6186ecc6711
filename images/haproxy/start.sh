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
set -eu

: "${HAPROXY_STATS_USER:?HAPROXY_STATS_USER must be set}"
: "${HAPROXY_STATS_PASSWORD:?HAPROXY_STATS_PASSWORD must be set}"
here=$(dirname "$0")
elb_dir=${BARISTA_ELB_DIR:-/barista/elb}
set -- -W -db -S ipv4@0.0.0.0:9998 -f "$here/haproxy.cfg"
if [ -d "$elb_dir" ]; then
    set -- "$@" -f "$elb_dir"
fi
exec haproxy "$@"
