#!/bin/sh
# Starts Redis in the foreground the same way on the official image and the local one.
#
# Environment: REDIS_USER, REDIS_PASSWORD (required) become the ACL user clients log in as
# (AUTH user password); the default user has a random password, so nobody logs in without one.
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
  # The default user gets a random password nobody knows instead of "off": Redis 8.0 replays
  # the AOF as the default user, and with it switched off every MULTI/EXEC block and script
  # in the AOF is dropped on restart (redis/redis#14541, fixed upstream after 8.0.2).
  echo "user default on >$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n') ~* &* +@all"
  echo "user $REDIS_USER on >$REDIS_PASSWORD ~* &* +@all"
} >"$config"
chmod 600 "$config"
exec redis-server "$config"
