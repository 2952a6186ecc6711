# RabbitMQ without a registry: Debian's rabbitmq-server, which carries the management plugin.
# The service is not started here; the mounted start script runs it in the foreground.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends rabbitmq-server \
 && rm -rf /var/lib/apt/lists/* /var/lib/rabbitmq/mnesia
# Debian's /usr/sbin wrapper sends the server's output to a file; the real scripts come first
# so logs reach standard output, as they do on the official image.
ENV HOME=/var/lib/rabbitmq PATH=/usr/lib/rabbitmq/bin:$PATH
USER rabbitmq
