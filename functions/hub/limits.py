"""How many new referrals one client may send: a token bucket per client, kept in the table.

Why: a script once filed 1,787 referrals from one address, and each one is a message to a
spoke. The limit is tuned so that an outreach worker entering 40 people at an event from
one tablet never meets it, however fast (a bucket of ``burst`` tokens refilled at
``per_hour``: 50 and 120 by default, so a venue's shared wifi has room too), while a script
sending hundreds gets ``429`` after the first 50, then one every 30 seconds.

Privacy: no address is ever stored. A client is the HMAC-SHA256 of its address under a
random key made for each UTC day (:meth:`hub.storage.DynamoReferralStore.daily_key`),
which the table's TTL deletes two days later; buckets expire with it. While a day's key
exists, someone with the table and the key could test guesses of an address; once it is
gone, nobody can. The day's key changes at midnight UTC, and with it every client's bucket
(a flood gets one fresh burst a day).

Only new referrals take a token: a repeat of a stored submission answers its reference
without one, and an invalid form costs nothing. If the store cannot answer, the referral is
let through (the write itself will then fail or succeed on its own): a limit never loses a
resident's form.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from hub.storage import DynamoReferralStore, StoreError

logger = logging.getLogger(__name__)

KEY_BYTES = 32
KEEP_SECONDS = 2 * 86400  # a day's key, and the buckets made with it, are deleted after this
EDGE_FACTOR = 10  # the edge (CloudFront) address a client came through allows ten times as much


class RateLimitedError(Exception):
    """This client has sent too many new referrals for now. ``retry_after``: seconds to wait."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(f"rate limited for {retry_after} s")


@dataclass(frozen=True)
class Bucket:
    capacity: float  # tokens when full: how many may come at once
    per_second: float  # tokens added back each second

    def take(self, tokens: float | None, at: float | None, now: float) -> tuple[float, int]:
        """(tokens left after taking one, or -1 if none could be taken; seconds until one can)."""
        available = self.capacity if tokens is None or at is None else min(
            self.capacity, tokens + max(0.0, now - at) * self.per_second
        )
        if available >= 1:
            return available - 1, 0
        return -1, max(1, int((1 - available) / self.per_second + 0.999))


@dataclass(frozen=True)
class Client:
    """Who is asking, as the HTTP edge saw it (addresses are hashed before anything is stored)."""

    address: str  # the visitor's own address (CloudFront-Viewer-Address, or the connection's)
    edge: str | None = None  # the address the request came from when that was CloudFront


class Limiter:
    """Takes one token per new referral from the client's buckets, or raises RateLimitedError."""

    def __init__(
        self,
        store: DynamoReferralStore,
        *,
        burst: int,
        per_hour: int,
        clock: Callable[[], float] = time.time,
        new_key: Callable[[], bytes] = lambda: os.urandom(KEY_BYTES),
    ):
        self.store = store
        self.client_bucket = Bucket(float(burst), per_hour / 3600)
        self.edge_bucket = Bucket(float(burst * EDGE_FACTOR), per_hour * EDGE_FACTOR / 3600)
        self._clock = clock
        self._new_key = new_key
        self._keys: dict[str, bytes] = {}

    def _key(self, now: float) -> bytes:
        day = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
        if day not in self._keys:
            self._keys = {day: self.store.daily_key(day, self._new_key(), expires_at=int(now) + KEEP_SECONDS)}
        return self._keys[day]

    def hashed(self, kind: str, address: str, now: float) -> str:
        """The bucket's name: a keyed hash of the address (never the address itself)."""
        return hmac.new(self._key(now), f"{kind}:{address}".encode("utf-8"), hashlib.sha256).hexdigest()[:40]

    def take(self, client: Client) -> None:
        """One token from each of the client's buckets. Raises RateLimitedError; never StoreError."""
        now = self._clock()
        checks = [("client", client.address, self.client_bucket)]
        if client.edge and client.edge != client.address:
            checks.append(("edge", client.edge, self.edge_bucket))
        try:
            for kind, address, bucket in checks:
                wait = self._take(self.hashed(kind, address, now), bucket, now)
                if wait:
                    logger.info("rate limited", extra={"bucket": kind, "retry_after": wait})
                    raise RateLimitedError(wait)
        except StoreError as exc:
            logger.warning("rate limit not checked", extra={"error": type(exc.__cause__ or exc).__name__})

    def _take(self, name: str, bucket: Bucket, now: float) -> int:
        """0 when a token was taken, else the seconds to wait. Optimistic: retried on a race."""
        for _ in range(5):
            tokens, at = self.store.get_bucket(name)
            left, wait = bucket.take(tokens, at, now)
            if wait:
                return wait
            if self.store.put_bucket(name, left, now, previous_at=at, expires_at=int(now) + KEEP_SECONDS):
                return 0
        return 1  # five clients raced for the same bucket in the same instant: that is a flood
