# A Python base without a registry: Debian's python3 and venv, standing in for python:3.13-slim.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
CMD ["python3"]
