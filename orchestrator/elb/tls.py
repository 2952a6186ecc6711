"""The certificate HTTPS and TLS listeners present: self-signed for localhost, made on demand.

AWS listeners take an ACM certificate; Barista has no CA, so it generates one key and
certificate for ``localhost`` and ``127.0.0.1`` with the ``openssl`` tool (on the host and in
the images) the first time a TLS listener needs it. HAProxy reads key and certificate from one
PEM file.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

VALID_DAYS = 825  # the longest validity browsers accept for a self-signed leaf


def ensure_localhost_certificate(pem: Path) -> Path:
    """Create ``pem`` (key + certificate) unless it exists; returns it. Readable by HAProxy's
    user in its container, which is why the file is 0644 (a throwaway, local-only key)."""
    if pem.exists():
        return pem
    pem.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        key = Path(scratch, "key.pem")
        certificate = Path(scratch, "cert.pem")
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-sha256",
                "-days",
                str(VALID_DAYS),
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout",
                str(key),
                "-out",
                str(certificate),
            ],
            check=True,
            capture_output=True,
        )
        partial = pem.with_suffix(".tmp")
        partial.write_bytes(certificate.read_bytes() + key.read_bytes())
        partial.chmod(0o644)
        partial.replace(pem)
    return pem
