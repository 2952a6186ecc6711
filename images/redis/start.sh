#!/bin/sh
# Starts Redis in the foreground the same way on the official image and the local one.
#
# Environment: REDIS_USER, REDIS_PASSWORD (required) become the only ACL user; the default
# (passwordless) user is switched off, so clients log in with AUTH user password.
set -eu

: "${REDIS_USER:?REDIS_USER must name the ACL user clients log in as}"
: "${REDIS_PASSWORD:?REDIS_PASSWORD must be set}"
case "$REDIS_USER$REDIS_PASSWORD" in
  *' '* | *'"'*) echo "start.sh: REDIS_USER and REDIS_PASSWORD may not contain spaces or quotes" >&2; exit 2 ;;
esac
here=$(dirname "$0")
config=$(mktemp /tmp/redis.XXXXXX)
{
  echo "include $here/redis.conf"
  echo "user default off"
  echo "user $REDIS_USER on >$REDIS_PASSWORD ~* &* +@all"
} >"$config"
chmod 600 "$config"
exec redis-server "$config"
