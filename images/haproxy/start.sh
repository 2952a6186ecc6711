#!/bin/sh
# Starts HAProxy in the foreground in master-worker mode (so later reloads are hitless), the
# same way on the official image and the local one.
#
# Environment: HAPROXY_STATS_USER, HAPROXY_STATS_PASSWORD (required) guard the stats page.
set -eu

: "${HAPROXY_STATS_USER:?HAPROXY_STATS_USER must be set}"
: "${HAPROXY_STATS_PASSWORD:?HAPROXY_STATS_PASSWORD must be set}"
here=$(dirname "$0")
exec haproxy -W -db -f "$here/haproxy.cfg"
