"""Barista's containerized workers: one image, one command per service (``barista serve NAME``)."""
