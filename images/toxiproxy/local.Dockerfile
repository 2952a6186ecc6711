# Toxiproxy without a registry: the server compiled from its Go module (images/build.py puts it
# in the context's bin/), on the Debian base, started as the official image starts it.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY bin/server /usr/local/bin/toxiproxy-server
USER nobody
EXPOSE 8474
ENTRYPOINT ["/usr/local/bin/toxiproxy-server"]
CMD ["-host=0.0.0.0"]
