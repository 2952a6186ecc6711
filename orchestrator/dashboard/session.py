"""The dashboard's login: signed, self-contained tokens made from an access key's secret.

Two kinds, both ``<key id, base64url>.<expiry, Unix seconds>.<HMAC-SHA256, hex>``:

- the **session** a browser holds in the ``barista_session`` cookie after it logs in with an
  access key id and secret access key (the pair the ``aws`` CLI uses against Barista), valid
  for :data:`SESSION_SECONDS`;
- the **login link** ``/dashboard/login?token=…`` that ``make up`` prints
  (:func:`dashboard_login_url`), valid for :data:`LINK_SECONDS` from when it was made: it
  lands in terminal scrollback and browser history, so it expires rather than stays a
  standing key to the dashboard, yet lives long enough to be clicked the day it is printed.

The MAC covers the purpose, the key id and the expiry, under a key derived from the secret
(never the secret itself, and never the same key as SigV4's), so a link is not a session, a
session for one key is not one for another, and no expiry can be stretched. The server keeps
no session table: a token is checked by recomputing its MAC, so sessions survive orchestrator
restarts as long as the key pair is unchanged, and changing the secret (or removing the key)
ends every session and link made with it. The flip side: logging out forgets the cookie in
that browser, it cannot revoke a copy taken from it; only the expiry or a new secret does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from dataclasses import dataclass
from enum import Enum
from urllib.parse import quote

from orchestrator.api.credentials import Credentials

COOKIE = "barista_session"
SESSION_SECONDS = 12 * 3600
LINK_SECONDS = 24 * 3600
LOGIN_PATH = "/dashboard/login"


class Purpose(Enum):
    SESSION = "session"
    LINK = "login-link"


class TokenError(Exception):
    """Why a token does not log anyone in, in words for the page's header."""


@dataclass(frozen=True)
class Session:
    access_key_id: str
    expires: int


def _mac(secret: str, purpose: Purpose, access_key_id: str, expires: int) -> str:
    key = hmac.new(secret.encode(), b"barista dashboard", hashlib.sha256).digest()
    message = f"{purpose.value}\n{access_key_id}\n{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _encode_id(access_key_id: str) -> str:
    return base64.urlsafe_b64encode(access_key_id.encode()).decode().rstrip("=")


def _decode_id(encoded: str) -> str:
    padded = encoded + "=" * (-len(encoded) % 4)
    return base64.urlsafe_b64decode(padded.encode()).decode()


def issue(credentials: Credentials, access_key_id: str, purpose: Purpose, expires: int) -> str:
    """A token for ``access_key_id`` until ``expires``; KeyError for a key Barista does not
    know (a token can only be made from a secret the orchestrator holds)."""
    secret = credentials.secret_for(access_key_id)
    if secret is None:
        raise KeyError(access_key_id)
    mac = _mac(secret, purpose, access_key_id, expires)
    return f"{_encode_id(access_key_id)}.{expires}.{mac}"


def verify(credentials: Credentials, token: str, purpose: Purpose, now: float) -> Session:
    """The session ``token`` stands for, or TokenError saying why it stands for none."""
    what = "session" if purpose is Purpose.SESSION else "login link"
    try:
        encoded, expiry, mac = token.split(".")
        access_key_id = _decode_id(encoded)
        expires = int(expiry)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise TokenError(f"the {what} is malformed: log in again") from None
    secret = credentials.secret_for(access_key_id)
    if secret is None or not hmac.compare_digest(
        _mac(secret, purpose, access_key_id, expires), mac
    ):
        raise TokenError(f"the {what} is not valid (was the access key changed?): log in again")
    if expires <= now:
        raise TokenError(f"the {what} has expired: log in again")
    return Session(access_key_id, expires)


def dashboard_login_url(
    base_url: str,
    credentials: Credentials,
    access_key_id: str | None = None,
    now: float | None = None,
    valid_for: int = LINK_SECONDS,
) -> str:
    """The one-click login link for the dashboard at ``base_url`` (``http://127.0.0.1:8500``),
    made with ``access_key_id`` (default: the first key, ``BARISTA_ACCESS_KEY_ID``'s) and
    valid for ``valid_for`` seconds from ``now``. Opening it sets the session cookie for
    ``base_url``'s host (so open the dashboard at that host afterwards, not at an alias) and
    goes to the page. ValueError when there is no such key to sign it with."""
    key_id = access_key_id if access_key_id is not None else next(iter(credentials.keys), None)
    if key_id is None:
        raise ValueError(
            "no access keys to sign a login link with: set BARISTA_ACCESS_KEY_ID and "
            "BARISTA_SECRET_ACCESS_KEY"
        )
    expires = int(time.time() if now is None else now) + valid_for
    try:
        token = issue(credentials, key_id, Purpose.LINK, expires)
    except KeyError:
        raise ValueError(f"no access key {key_id!r} to sign a login link with") from None
    return f"{base_url.rstrip('/')}{LOGIN_PATH}?token={quote(token)}"
