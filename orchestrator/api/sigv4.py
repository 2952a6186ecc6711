"""AWS Signature Version 4, checked on the server: who sent a request, and that it is intact.

Every request to the orchestrator's API is signed the way AWS's clients sign (the ``aws`` CLI,
boto3, the ``barista`` CLI all use botocore's ``SigV4Auth``), either in an ``Authorization``
header or, for a presigned URL, in ``X-Amz-*`` query parameters. :func:`verify` recomputes the
signature from AWS's documented algorithm (canonical request → string to sign → signing key
derived from the secret, the scope's date, region and service) and compares in constant time.

Canonicalisation follows AWS's rules for every service but S3, which is also what botocore
does: the path has its dot segments and empty segments removed and is percent-encoded a second
time; query keys and values are decoded and re-encoded as RFC 3986 unreserved-only, sorted;
header values are trimmed with inner runs of spaces collapsed; the payload hash is
``x-amz-content-sha256`` when the client sent it (``UNSIGNED-PAYLOAD`` included), else the
SHA-256 of the body.

The region and service are taken from the request's own credential scope: Barista is one
region, and one endpoint serves every service, so any scope is accepted as long as the
signature computed with it matches.

Refusals carry the codes AWS gives, which differ by protocol family (:data:`QUERY` for the
Query/EC2 protocols and Barista's own JSON API, :data:`JSON` for JSON 1.0/1.1 services).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote_to_bytes

from orchestrator.api.credentials import Credentials
from orchestrator.errors import AwsError

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# Literal payload hashes a client may sign instead of the body's digest.
UNSIGNED_PAYLOADS = frozenset({UNSIGNED_PAYLOAD, "STREAMING-UNSIGNED-PAYLOAD-TRAILER"})
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# AWS refuses a request signed more than 15 minutes before or after its own clock.
MAX_SKEW = timedelta(minutes=15)
# A presigned URL lives at most seven days.
MAX_EXPIRES = 7 * 24 * 3600

_HEX_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
_QUERY_AUTH = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
    "X-Amz-Date",
)

_MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for "
    "details."
)
_UNKNOWN_KEY_MESSAGE = "The security token included in the request is invalid."


@dataclass(frozen=True)
class Dialect:
    """The error codes one family of AWS protocols answers authentication failures with."""

    missing: str
    missing_message: str
    unknown_key: str
    mismatch: str
    incomplete: str


QUERY = Dialect(
    missing="MissingAuthenticationToken",
    missing_message="Request is missing Authentication Token",
    unknown_key="InvalidClientTokenId",
    mismatch="SignatureDoesNotMatch",
    incomplete="IncompleteSignature",
)
JSON = Dialect(
    missing="MissingAuthenticationTokenException",
    missing_message="Missing Authentication Token",
    unknown_key="UnrecognizedClientException",
    mismatch="InvalidSignatureException",
    incomplete="IncompleteSignatureException",
)


@dataclass(frozen=True)
class Scope:
    """The ``Credential=`` part: whose key, and the date/region/service it was signed for."""

    access_key_id: str
    date: str
    region: str
    service: str

    @property
    def text(self) -> str:
        """``date/region/service/aws4_request``, as it goes into the string to sign."""
        return f"{self.date}/{self.region}/{self.service}/{TERMINATOR}"


@dataclass(frozen=True)
class SignedRequest:
    """A request as it arrived. ``path`` and ``query`` are raw (still percent-encoded, query
    without ``?``); header names are matched case-insensitively. A ``headers`` mapping with a
    ``getlist`` method (Starlette's) gives repeated headers all their values."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class _Authorization:
    scope: Scope
    signed_headers: tuple[str, ...]
    signature: str
    timestamp: str  # the X-Amz-Date (or Date) the client signed, in AMZ_DATE_FORMAT
    expires: int | None  # seconds, presigned URLs only


def scope_of(request: SignedRequest, *, dialect: Dialect = QUERY) -> Scope | None:
    """The credential scope a request was signed with, or None when it is not signed at all.

    Raises :class:`AwsError` (``IncompleteSignature``, 400) when the signature is there but
    malformed, so a caller can route by the scope's service before verifying."""
    authorization = _authorization(request, dialect)
    return None if authorization is None else authorization.scope


def verify(
    request: SignedRequest, credentials: Credentials, now: float, *, dialect: Dialect = QUERY
) -> Scope:
    """The request's scope when its signature is valid for a key in ``credentials`` at ``now``
    (seconds since the epoch).

    Raises :class:`AwsError` with AWS's code for ``dialect``: unsigned → missing (403);
    malformed → incomplete (400); unknown key → unknown_key (403); signed more than 15 minutes
    from ``now``, or a presigned URL past its expiry → mismatch (403, "Signature expired: …");
    any difference in what was signed → mismatch (403)."""
    authorization = _authorization(request, dialect)
    if authorization is None:
        raise AwsError(dialect.missing, dialect.missing_message, status=403)
    scope = authorization.scope
    secret = credentials.secret_for(scope.access_key_id)
    if secret is None:
        raise AwsError(dialect.unknown_key, _UNKNOWN_KEY_MESSAGE, status=403)
    _check_time(authorization, datetime.fromtimestamp(now, UTC), dialect)
    canonical = canonical_request(
        request, authorization.signed_headers, dialect, presigned=authorization.expires is not None
    )
    string_to_sign = "\n".join(
        (ALGORITHM, authorization.timestamp, scope.text, _sha256_hex(canonical.encode()))
    )
    expected = hmac.new(
        signing_key(secret, scope), string_to_sign.encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected.encode(), authorization.signature.encode()):
        raise AwsError(dialect.mismatch, _MISMATCH_MESSAGE, status=403)
    return scope


def signing_key(secret: str, scope: Scope) -> bytes:
    """``HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")``."""
    key = f"AWS4{secret}".encode()
    for part in (scope.date, scope.region, scope.service, TERMINATOR):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def canonical_request(
    request: SignedRequest,
    signed_headers: tuple[str, ...],
    dialect: Dialect = QUERY,
    *,
    presigned: bool = False,
) -> str:
    """AWS's canonical request: method, URI, query, headers, signed header list, payload hash.
    A presigned URL's query is canonical without its ``X-Amz-Signature``."""
    headers = _header_values(request.headers)
    lines = [f"{name}:{','.join(headers.get(name, []))}" for name in signed_headers]
    return "\n".join(
        (
            request.method.upper(),
            canonical_uri(request.path),
            canonical_query(request.query, without="X-Amz-Signature" if presigned else None),
            "\n".join(lines) + "\n",
            ";".join(signed_headers),
            _payload_hash(request, headers, dialect),
        )
    )


def canonical_uri(raw_path: str) -> str:
    """The path with ``.``, ``..`` and empty segments removed, then percent-encoded again
    (AWS encodes twice for every service but S3; botocore does the same)."""
    segments: list[str] = []
    for segment in raw_path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    path = "/" + "/".join(segments)
    if raw_path.endswith("/") and segments:
        path += "/"
    return quote(path, safe="/~")


def canonical_query(raw_query: str, *, without: str | None = None) -> str:
    """Each ``key=value`` decoded and re-encoded with only RFC 3986's unreserved characters
    left bare, sorted by key then value. ``+`` is a space, as a form-encoded query means it
    (botocore sends ``a+b`` and signs ``a%20b``). ``without`` leaves out one parameter
    (``X-Amz-Signature`` of a presigned URL)."""
    pairs = []
    for item in raw_query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        if without is not None and _decode(key) == without.encode():
            continue
        pairs.append((_encode(key), _encode(value)))
    return "&".join(f"{key}={value}" for key, value in sorted(pairs))


def _decode(component: str) -> bytes:
    return unquote_to_bytes(component.replace("+", " "))


def _encode(component: str) -> str:
    return quote(_decode(component), safe="-_.~")


def _query_parameters(raw_query: str) -> dict[str, str]:
    """Decoded parameters; the first of a repeated name wins."""
    parameters: dict[str, str] = {}
    for item in raw_query.split("&"):
        if item:
            key, _, value = item.partition("=")
            name = _decode(key).decode(errors="replace")
            parameters.setdefault(name, _decode(value).decode(errors="replace"))
    return parameters


def _header_values(headers: Mapping[str, str]) -> dict[str, list[str]]:
    """Lower-cased name → every value, each trimmed with inner runs of spaces collapsed."""
    getlist = getattr(headers, "getlist", None)
    values: dict[str, list[str]] = {}
    for name in dict.fromkeys(headers):
        raw = getlist(name) if callable(getlist) else [headers[name]]
        values.setdefault(name.lower(), []).extend(" ".join(str(v).split()) for v in raw)
    return values


def _header(headers: Mapping[str, str], name: str) -> str | None:
    values = _header_values(headers).get(name)
    return values[0] if values else None


def _payload_hash(
    request: SignedRequest, headers: Mapping[str, list[str]], dialect: Dialect
) -> str:
    declared = headers.get("x-amz-content-sha256")
    if not declared:
        return _sha256_hex(request.body)
    value = declared[0]
    if value in UNSIGNED_PAYLOADS:
        return value
    if not _HEX_DIGEST.fullmatch(value):
        raise AwsError(
            dialect.incomplete,
            f"x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a SHA256 value; got {value!r}.",
            status=400,
        )
    if not hmac.compare_digest(value.lower().encode(), _sha256_hex(request.body).encode()):
        raise AwsError(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            status=400,
        )
    return value


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _authorization(request: SignedRequest, dialect: Dialect) -> _Authorization | None:
    header = _header(request.headers, "authorization")
    query = _query_parameters(request.query)
    if header is not None and "X-Amz-Algorithm" in query:
        raise AwsError(
            dialect.incomplete,
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the "
            "Authorization header should be specified.",
            status=400,
        )
    if header is not None:
        return _from_header(header, request, dialect)
    if "X-Amz-Algorithm" in query:
        return _from_query(query, dialect)
    return None


def _from_header(header: str, request: SignedRequest, dialect: Dialect) -> _Authorization:
    algorithm, _, rest = header.strip().partition(" ")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(name, value.strip())
    timestamp = _header(request.headers, "x-amz-date")
    date_header = _header(request.headers, "date")
    problems = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not fields.get(name)
    ]
    if timestamp is None and date_header is None:
        problems.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if algorithm != ALGORITHM or problems:
        problems = problems or [f"Unsupported AWS 'algorithm': '{algorithm}'."]
        raise AwsError(
            dialect.incomplete, " ".join([*problems, f"Authorization={header}"]), status=400
        )
    if timestamp is None:
        timestamp = _amz_date_from_http_date(str(date_header), dialect)
    return _checked(
        credential=fields["Credential"],
        signed_headers=fields["SignedHeaders"],
        signature=fields["Signature"],
        timestamp=timestamp,
        expires=None,
        dialect=dialect,
    )


def _from_query(query: Mapping[str, str], dialect: Dialect) -> _Authorization:
    missing = [name for name in _QUERY_AUTH if not query.get(name)]
    if missing:
        problems = [f"AWS query-string parameters must include '{name}'." for name in missing]
        raise AwsError(
            dialect.incomplete,
            " ".join([*problems, "Re-examine the query-string parameters."]),
            status=400,
        )
    if query["X-Amz-Algorithm"] != ALGORITHM:
        raise AwsError(
            dialect.incomplete,
            f"Unsupported AWS 'algorithm': '{query['X-Amz-Algorithm']}'.",
            status=400,
        )
    raw_expires = query.get("X-Amz-Expires", str(MAX_EXPIRES))
    if not raw_expires.isdigit() or not 1 <= int(raw_expires) <= MAX_EXPIRES:
        raise AwsError(
            dialect.incomplete,
            f"X-Amz-Expires must be an integer from 1 to {MAX_EXPIRES}; got {raw_expires!r}.",
            status=400,
        )
    return _checked(
        credential=query["X-Amz-Credential"],
        signed_headers=query["X-Amz-SignedHeaders"],
        signature=query["X-Amz-Signature"],
        timestamp=query["X-Amz-Date"],
        expires=int(raw_expires),
        dialect=dialect,
    )


def _checked(
    *,
    credential: str,
    signed_headers: str,
    signature: str,
    timestamp: str,
    expires: int | None,
    dialect: Dialect,
) -> _Authorization:
    parts = credential.split("/")
    if len(parts) != 5 or not all(parts):
        raise AwsError(
            dialect.incomplete,
            f"Credential must have exactly 5 slash-delimited elements, e.g. "
            f"keyid/date/region/service/term, got '{credential}'",
            status=400,
        )
    access_key_id, date, region, service, terminator = parts
    if terminator != TERMINATOR:
        raise AwsError(
            dialect.mismatch,
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', "
            f"not '{terminator}'.",
            status=403,
        )
    _parse_amz_date(timestamp, dialect)
    if date != timestamp[:8]:
        raise AwsError(
            dialect.mismatch,
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{date}' != '{timestamp[:8]}', from '{timestamp}'.",
            status=403,
        )
    names = tuple(signed_headers.split(";"))
    if any(not name or name != name.lower() for name in names) or list(names) != sorted(names):
        raise AwsError(
            dialect.incomplete,
            f"SignedHeaders must be lower-case header names, sorted and ';'-separated; got "
            f"'{signed_headers}'.",
            status=400,
        )
    if "host" not in names and ":authority" not in names:
        raise AwsError(
            dialect.incomplete,
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
            status=400,
        )
    if not _HEX_SIGNATURE.fullmatch(signature):
        raise AwsError(dialect.mismatch, _MISMATCH_MESSAGE, status=403)
    return _Authorization(
        Scope(access_key_id, date, region, service),
        names,
        signature,
        timestamp,
        expires,
    )


def _parse_amz_date(timestamp: str, dialect: Dialect) -> datetime:
    try:
        if len(timestamp) != len("20260101T000000Z"):
            raise ValueError(timestamp)
        return datetime.strptime(timestamp, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise AwsError(
            dialect.incomplete,
            f"Date must be in ISO-8601 'basic format'. Got '{timestamp}'. See "
            "http://en.wikipedia.org/wiki/ISO_8601",
            status=400,
        ) from None


def _amz_date_from_http_date(value: str, dialect: Dialect) -> str:
    """A ``Date`` header (RFC 1123, as botocore writes it when the request already had one)
    in the basic ISO-8601 form the string to sign uses."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        raise AwsError(
            dialect.incomplete, f"Date header is not an HTTP date: '{value}'.", status=400
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime(AMZ_DATE_FORMAT)


def _check_time(authorization: _Authorization, now: datetime, dialect: Dialect) -> None:
    signed_at = _parse_amz_date(authorization.timestamp, dialect)

    def stamp(moment: datetime) -> str:
        return moment.strftime(AMZ_DATE_FORMAT)

    if signed_at > now + MAX_SKEW:
        raise AwsError(
            dialect.mismatch,
            f"Signature not yet current: {authorization.timestamp} is still later than "
            f"{stamp(now + MAX_SKEW)} ({stamp(now)} + 15 min.)",
            status=403,
        )
    if authorization.expires is not None:
        if now > signed_at + timedelta(seconds=authorization.expires):
            raise AwsError(
                dialect.mismatch,
                f"Signature expired: {stamp(signed_at + timedelta(seconds=authorization.expires))}"
                f" is now earlier than {stamp(now)}.",
                status=403,
            )
        return
    if signed_at < now - MAX_SKEW:
        raise AwsError(
            dialect.mismatch,
            f"Signature expired: {authorization.timestamp} is now earlier than "
            f"{stamp(now - MAX_SKEW)} ({stamp(now)} - 15 min.)",
            status=403,
        )
