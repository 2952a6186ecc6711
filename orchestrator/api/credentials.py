"""The access keys the AWS front door accepts: key id → secret, from the orchestrator's settings.

Barista has one user, the person running it, so there is one key pair by default
(``BARISTA_ACCESS_KEY_ID`` / ``BARISTA_SECRET_ACCESS_KEY``, written to ``.env`` by ``make up``
with a random secret, like the brokers' passwords). ``BARISTA_EXTRA_ACCESS_KEYS`` adds more
pairs as ``id:secret,id:secret`` for tests and scripts that want keys of their own.

Without a key pair every signed request is refused (``InvalidClientTokenId``): the orchestrator
never falls back to accepting anyone, because its API starts and kills containers.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

ACCESS_KEY_VARIABLE = "BARISTA_ACCESS_KEY_ID"
SECRET_KEY_VARIABLE = "BARISTA_SECRET_ACCESS_KEY"  # noqa: S105 - a variable name, not a secret
EXTRA_KEYS_VARIABLE = "BARISTA_EXTRA_ACCESS_KEYS"


@dataclass(frozen=True)
class Credentials:
    """Access key id → secret access key."""

    keys: Mapping[str, str] = field(default_factory=dict)

    def secret_for(self, access_key_id: str) -> str | None:
        """The secret of ``access_key_id``, or None for a key Barista does not know."""
        for known, secret in self.keys.items():
            # Constant time, so response timing does not tell which key ids exist.
            if hmac.compare_digest(known.encode(), access_key_id.encode()):
                return secret
        return None

    @property
    def configured(self) -> bool:
        return bool(self.keys)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Credentials:
        """The pair named by ``BARISTA_ACCESS_KEY_ID``/``BARISTA_SECRET_ACCESS_KEY`` and any
        ``BARISTA_EXTRA_ACCESS_KEYS``; a half-set pair or a malformed extra raises ValueError
        naming the variable."""
        keys: dict[str, str] = {}
        key_id = environ.get(ACCESS_KEY_VARIABLE, "").strip()
        secret = environ.get(SECRET_KEY_VARIABLE, "").strip()
        if bool(key_id) != bool(secret):
            missing = SECRET_KEY_VARIABLE if key_id else ACCESS_KEY_VARIABLE
            raise ValueError(f"{missing} must be set together with the other half of the pair")
        if key_id:
            keys[key_id] = secret
        for item in filter(
            None, (p.strip() for p in environ.get(EXTRA_KEYS_VARIABLE, "").split(","))
        ):
            extra_id, sep, extra_secret = item.partition(":")
            if not sep or not extra_id or not extra_secret:
                raise ValueError(f"{EXTRA_KEYS_VARIABLE}: expected id:secret pairs, got {item!r}")
            keys[extra_id] = extra_secret
        return cls(keys)
