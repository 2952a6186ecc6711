#!/bin/sh
# Starts RabbitMQ in the foreground the same way on the official image and the local one:
# rabbitmq-server reads RABBITMQ_CONFIG_FILE and RABBITMQ_ENABLED_PLUGINS_FILE (RabbitMQ's own
# variables, not an image's entrypoint), so nothing depends on either image's entrypoint.
#
# Environment: RABBITMQ_USER, RABBITMQ_PASSWORD (required) become the default user, created on
# first boot with the administrator tag.
set -eu

: "${RABBITMQ_USER:?RABBITMQ_USER must name the user clients log in as}"
: "${RABBITMQ_PASSWORD:?RABBITMQ_PASSWORD must be set}"
here=$(dirname "$0")
config=$(mktemp /tmp/rabbitmq.XXXXXX)
mv "$config" "$config.conf"
config="$config.conf"
{
  cat "$here/rabbitmq.conf"
  printf 'default_user = %s\ndefault_pass = %s\n' "$RABBITMQ_USER" "$RABBITMQ_PASSWORD"
  printf 'default_user_tags.administrator = true\n'
} >"$config"
chmod 600 "$config"

export RABBITMQ_CONFIG_FILE="$config"
export RABBITMQ_ENABLED_PLUGINS_FILE="$here/enabled_plugins"
exec rabbitmq-server
