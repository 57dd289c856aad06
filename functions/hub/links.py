"""Signed outcome links: ``<site_url>api/outcomes/<token>``, which a spoke opens without a login.

A token names one referral and one spoke (or ``hub``) and when it stops working, and
nothing else (no personal data)::

    HX4K-9TMR.cchcc.1767225600.<signature>

``<signature>`` is HMAC-SHA256 over ``cchcc-outcome-link/1`` and the three fields, base64url
without padding. Tokens are signed with the *current* key and accepted when any *valid* key
(current or previous) made the signature, compared in constant time, so a key can be
rotated without breaking the links already sent (``docs/deploy.md``). The signature is
checked before the expiry: a token whose expiry was changed is tampered (403), not expired
(410).

The keys live in one SSM Parameter Store SecureString (its name in the function's
``OUTCOME_LINK_KEY_PARAMETER``): the current key, then, after a rotation, a comma and the
previous one. :class:`ParameterKeys` reads it through Powertools Parameters, cached for
:data:`KEY_CACHE_SECONDS`, so a rotation reaches running functions within minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from hub.references import ALPHABET

KEY_CACHE_SECONDS = 300
MIN_KEY_LENGTH = 32  # characters of key text; `cchcc keys` makes 43 (32 random bytes, base64url)
MAX_KEYS = 2  # current and previous
_CONTEXT = b"cchcc-outcome-link/1\n"
_TOKEN = re.compile(
    rf"(?P<reference>[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}})\.(?P<spoke>[a-z0-9][a-z0-9-]{{0,39}})"
    r"\.(?P<expires>[1-9][0-9]{0,11})\.(?P<signature>[A-Za-z0-9_-]{43})"
)
MAX_TOKEN_LENGTH = 120


class LinkError(Exception):
    """An outcome link cannot be used."""


class LinkInvalidError(LinkError):
    """Not a token we signed: malformed, truncated, tampered or signed with another key (403)."""


class LinkGoneError(LinkError):
    """A token we signed that can no longer be used (410). Says which referral and spoke."""

    reason = "the outcome link can no longer be used"

    def __init__(self, reference: str, spoke: str):
        self.reference = reference
        self.spoke = spoke
        super().__init__(self.reason)


class LinkExpiredError(LinkGoneError):
    """Its time is up: the page says how to get a new one."""

    reason = "the outcome link has expired"


class LinkKeyError(LinkError):
    """The signing keys cannot be read or are not usable. Names the parameter, never a key."""


class KeySource(Protocol):
    def keys(self) -> tuple[bytes, ...]:
        """The valid keys, current first."""


def parse_keys(value: str, where: str) -> tuple[bytes, ...]:
    """``current[,previous]`` -> the keys as bytes. Raises LinkKeyError naming ``where``."""
    parts = [part.strip() for part in (value or "").split(",")]
    if not parts or not all(parts):
        raise LinkKeyError(f"{where}: expected the current key, then optionally a comma and the previous key")
    if len(parts) > MAX_KEYS:
        raise LinkKeyError(f"{where}: holds {len(parts)} keys; at most {MAX_KEYS} (current and previous)")
    if any(len(part) < MIN_KEY_LENGTH for part in parts):
        raise LinkKeyError(f"{where}: every key must be at least {MIN_KEY_LENGTH} characters")
    return tuple(part.encode("utf-8") for part in parts)


@dataclass(frozen=True)
class StaticKeys:
    """Keys given directly (tests, benchmarks)."""

    values: tuple[bytes, ...]

    def keys(self) -> tuple[bytes, ...]:
        return self.values


class ParameterKeys:
    """The keys from an SSM SecureString, through Powertools Parameters (cached, decrypted)."""

    def __init__(self, name: str, client: Any = None, max_age: int = KEY_CACHE_SECONDS, what: str = "outcome link key"):
        self.name = name
        self.what = what
        self.max_age = max_age
        self._client = client
        self._provider: Any = None

    def _get(self) -> str:
        from aws_lambda_powertools.utilities.parameters import SSMProvider
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        if self._provider is None:
            self._provider = SSMProvider(boto3_client=self._client) if self._client is not None else SSMProvider()
        try:
            return self._provider.get(self.name, decrypt=True, max_age=self.max_age)
        except GetParameterError as exc:
            cause = exc.__cause__ or exc.__context__ or exc  # Powertools wraps the botocore error
            code = getattr(cause, "response", {}).get("Error", {}).get("Code", type(cause).__name__)
            raise LinkKeyError(f"cannot read the {self.what} parameter {self.name} ({code})") from exc

    def keys(self) -> tuple[bytes, ...]:
        return parse_keys(self._get(), f"parameter {self.name}")


def _signature(key: bytes, payload: str) -> str:
    digest = hmac.new(key, _CONTEXT + payload.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class LinkClaim:
    """What a valid token says."""

    reference: str
    spoke: str
    expires: datetime


@dataclass
class OutcomeLinks:
    """Makes and checks outcome links for one site."""

    keys: KeySource
    site_origin: str  # https://cchcc.example.org (no path)
    days: int = 120

    def token(self, reference: str, spoke: str, now: datetime) -> str:
        expires = int((now + timedelta(days=self.days)).timestamp())
        payload = f"{reference}.{spoke}.{expires}"
        if not _TOKEN.fullmatch(f"{payload}.{'A' * 43}"):
            raise ValueError("not a reference and spoke id a link can carry")
        return f"{payload}.{_signature(self.keys.keys()[0], payload)}"

    def url(self, reference: str, spoke: str, now: datetime) -> str:
        return f"{self.site_origin.rstrip('/')}/api/outcomes/{self.token(reference, spoke, now)}"

    def check(self, token: str | None, now: datetime) -> LinkClaim:
        """The claim of a token we signed that is still valid; LinkInvalidError or LinkExpiredError."""
        found = _TOKEN.fullmatch(token or "") if token and len(token) <= MAX_TOKEN_LENGTH else None
        if found is None:
            raise LinkInvalidError("not an outcome link token")
        payload = f"{found['reference']}.{found['spoke']}.{found['expires']}"
        given = found["signature"].encode("ascii")
        # Every key is tried (no early exit), so the time taken says nothing about which matched.
        matched = False
        for key in self.keys.keys():
            matched |= hmac.compare_digest(_signature(key, payload).encode("ascii"), given)
        if not matched:
            raise LinkInvalidError("the outcome link's signature does not match")
        expires = datetime.fromtimestamp(int(found["expires"]), UTC)
        if expires <= now:
            raise LinkExpiredError(found["reference"], found["spoke"])
        return LinkClaim(found["reference"], found["spoke"], expires)


def outcome_links(settings: Any, programme: Any, client: Any = None) -> OutcomeLinks:
    """A function's outcome links. The parameter's name is checked now (a missing variable fails
    the cold start, naming it); the keys are read on first use and cached, so importing a
    handler needs no AWS (``make deploy-check`` imports each from its artifact)."""
    return OutcomeLinks(
        ParameterKeys(settings.link_key_parameter(), client=client),
        settings.site_origin,
        programme.outcome_link_days,
    )
