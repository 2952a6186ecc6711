# A Swarm node without a registry: Debian's Docker engine on the Debian base, standing in for
# docker:26.1-dind. images/cluster.sh starts it with the engine's arguments as its command, so
# both kinds of image start the same way (the entrypoint is dockerd).
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends docker.io docker-cli iptables ca-certificates procps \
 && rm -rf /var/lib/apt/lists/*
# Nested engines on an IPv4-only parent: without this the engine refuses to create networks.
ENV DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1
VOLUME /var/lib/docker
ENTRYPOINT ["dockerd"]
