"""SNS message signatures: every envelope Barista delivers is signed as SNS signs its own.

A subscriber that follows AWS's guide ("Verifying the signatures of Amazon SNS messages")
rebuilds the string to sign from the envelope's fields, fetches the certificate at
``SigningCertURL`` and checks ``Signature`` with its public key: SHA1withRSA for
``SignatureVersion`` 1, SHA256withRSA for 2 (the topic's attribute). Barista does the same with
its own key pair and a self-signed certificate, served unsigned at
``/sns/SimpleNotificationService-<fingerprint>.pem`` on the orchestrator's address. The one
check a subscriber must relax is the certificate URL's host (AWS's guide says to accept only
``sns.<region>.amazonaws.com``): docs/sns.md says so.

The key and certificate are kept beside the orchestrator's store (``sns-signing.pem``), so
they survive a restart (subscribers cache certificates) and every process of one orchestrator
signs with the same key.
"""

from __future__ import annotations

import base64
import datetime
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

# The key and its certificate in one file, so they are created (and replaced) together.
PAIR_FILE = "sns-signing.pem"
CERT_MARKER = b"-----BEGIN CERTIFICATE-----"
CERT_PATH_PREFIX = "/sns/SimpleNotificationService-"

# The fields signed, in AWS's order; a Notification's Subject only when it has one.
NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
HASHES: Mapping[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}


def string_to_sign(document: Mapping[str, Any]) -> bytes:
    """``name\\nvalue\\n`` for each signed field present, in AWS's order."""
    kind = document.get("Type")
    names = NOTIFICATION_FIELDS if kind == "Notification" else CONFIRMATION_FIELDS
    lines = []
    for name in names:
        if document.get(name) is not None:
            lines.append(f"{name}\n{document[name]}\n")
    return "".join(lines).encode()


@dataclass(frozen=True)
class Signer:
    """Signs envelopes with one RSA key; its certificate is what subscribers fetch."""

    key: rsa.RSAPrivateKey
    certificate_pem: bytes

    @property
    def certificate_name(self) -> str:
        """The file name's tail: the certificate's SHA-256 fingerprint, so a new key is a new
        URL (subscribers cache certificates by URL, as they do AWS's)."""
        certificate = x509.load_pem_x509_certificate(self.certificate_pem)
        return certificate.fingerprint(hashes.SHA256()).hex()[:32]

    def certificate_url(self, endpoint: str) -> str:
        return f"{endpoint.rstrip('/')}{CERT_PATH_PREFIX}{self.certificate_name}.pem"

    def sign(self, document: dict[str, Any], endpoint: str) -> dict[str, Any]:
        """``document`` with ``Signature`` and ``SigningCertURL`` filled in, for its
        ``SignatureVersion`` (1 when absent)."""
        version = str(document.get("SignatureVersion") or "1")
        algorithm = HASHES.get(version, hashes.SHA1)
        signature = self.key.sign(string_to_sign(document), padding.PKCS1v15(), algorithm())
        return document | {
            "SignatureVersion": version,
            "Signature": base64.b64encode(signature).decode(),
            "SigningCertURL": self.certificate_url(endpoint),
        }

    @classmethod
    def load_or_create(cls, folder: Path) -> Signer:
        """The key pair kept in ``folder``, made on first use (readable by the owner only)."""
        path = folder / PAIR_FILE
        if not path.exists():
            _create(path)
        pair = path.read_bytes()
        split = pair.index(CERT_MARKER)
        key = serialization.load_pem_private_key(pair[:split], password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{path} does not hold an RSA key")
        return cls(key, pair[split:])


def _create(path: Path) -> None:
    """A 2048-bit RSA key and a self-signed certificate for it. The first process to link
    its file into place wins; one that loses uses the winner's, so all sign alike."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.barista.local")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    pair = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ) + certificate.public_bytes(serialization.Encoding.PEM)
    temporary = path.with_name(f"{PAIR_FILE}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pair)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def signer_for(store_path: str | Path) -> Signer:
    """The signer of the orchestrator whose store is ``store_path``."""
    return Signer.load_or_create(Path(store_path).resolve().parent)
