"""Counting QR code scans: ``GET /q/<id>`` adds one to the code's counter for the day and sends the
visitor where the static ``/q/<id>/`` page does.

A scan is the one thing a poster measures, so counting must never cost the resident their way
in: the answer is the same ``302`` whether or not the count was stored, and where it points
comes from the same build as the static page (``codes`` in ``campaigns.json``,
:mod:`hub.catalogue`), so the two never disagree. What is not a person looking is not counted:
``HEAD`` requests and obvious robots (search engine crawlers, the link previews that chat apps
and mail clients fetch, scripts without a user agent). Nothing about the visitor is stored: no
address, no user agent, no cookie; only the code, the day and a number.

Cold start: ``json``, ``datetime`` and ``zoneinfo`` only (no pydantic, no Jinja2), so the
redirect is as quick as the function can be.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)

LONDON = ZoneInfo("Europe/London")
CODE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
PREFIX = "/q/"

# Lower-case fragments of the user agents of robots that open links without a person: crawlers,
# the previews chat apps, social networks and mail clients fetch when a link is shared, uptime
# checks and command-line clients. A person's browser (including in-app browsers of QR scanner
# apps) carries none of them.
# (Not "linkedin", "pinterest" or "yandex": their apps' and browsers' own user agents say so too;
# their robots say "bot".)
ROBOT_WORDS = (
    "bot", "crawl", "spider", "slurp", "preview", "facebookexternalhit", "facebookcatalog", "whatsapp",
    "embedly", "vkshare", "skypeuri", "headless", "lighthouse", "pingdom", "uptime", "monitor",
    "curl/", "wget/", "python-requests", "python-urllib", "aiohttp", "go-http-client", "okhttp", "java/",
    "httpclient", "libwww", "scrapy", "feedfetcher", "mediapartners", "google-inspectiontool", "validator",
)


def is_robot(user_agent: str | None) -> bool:
    """True for a request no person made: no user agent, or one naming a crawler or link preview."""
    agent = (user_agent or "").strip().lower()
    return not agent or any(word in agent for word in ROBOT_WORDS)


def london_day(moment: datetime) -> date:
    """The day in Leeds (Europe/London, BST in summer) at ``moment`` (an aware datetime)."""
    return moment.astimezone(LONDON).date()


def code_id(path: str) -> str | None:
    """The code in ``/q/<id>``, ``/q/<id>/`` or ``/q/<id>/index.html`` (CloudFront's directory
    index function rewrites to the last before the request reaches an origin); None otherwise."""
    if not path.startswith(PREFIX):
        return None
    rest = path[len(PREFIX):].removesuffix("index.html").removesuffix("/")
    return rest if CODE_ID.fullmatch(rest) else None


@dataclass(frozen=True)
class Code:
    """Where ``/q/<id>/`` points (:class:`hub.catalogue.CodeEntry`, read without pydantic)."""

    kind: str  # "placement" or "event"
    campaign: str
    target: str
    ends: date | None = None
    after_end: str | None = None

    def target_on(self, day: date) -> str:
        """``after_end`` once ``day`` is after the campaign's last day (as the build decides), else ``target``."""
        if self.after_end and self.ends is not None and day > self.ends:
            return self.after_end
        return self.target


class CodesFileError(ValueError):
    """``campaigns.json`` has a ``codes`` part that is not the catalogue's shape."""


def load_codes(path: str | os.PathLike[str] | None) -> dict[str, Code]:
    """The ``codes`` of the catalogue at ``path``; empty when there is no file (every id then answers
    404, so CloudFront shows the static page). A file of the wrong shape raises CodesFileError."""
    if path is None:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise CodesFileError(f"{path}: cannot be read as JSON ({type(exc).__name__})") from exc
    codes: dict[str, Code] = {}
    for item_id, entry in ((data or {}).get("codes") or {}).items():
        try:
            ends = entry.get("ends")
            codes[item_id] = Code(
                kind=str(entry["kind"]), campaign=str(entry["campaign"]), target=str(entry["target"]),
                ends=date.fromisoformat(ends) if ends else None, after_end=entry.get("after_end") or None,
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise CodesFileError(f"{path}: codes.{item_id}: not a code entry ({type(exc).__name__})") from exc
    return codes


class ScanCounter(Protocol):
    def count_scan(self, *, code: str, kind: str, campaign: str, day: date, expires_at: int) -> None: ...


@dataclass(frozen=True)
class Answer:
    """What the function answers: ``302`` to ``location``, or ``404``; whether a scan was counted."""

    status: int
    location: str | None = None
    counted: bool = False


NOT_FOUND = Answer(404)


def expires_at(day: date, retention_days: int) -> int:
    """Epoch seconds when a day's counter may go: midnight in London ``retention_days`` after the day ends."""
    end = datetime.combine(day + timedelta(days=retention_days + 1), time(0), tzinfo=LONDON)
    return int(end.timestamp())


class Scans:
    """Answers ``/q/<id>`` requests from the build's codes and counts people's scans."""

    def __init__(self, codes: dict[str, Code], counter: ScanCounter, retention_days: int):
        self.codes = codes
        self.counter = counter
        self.retention_days = retention_days

    def scan(self, path: str, method: str, user_agent: str | None, now: datetime | None = None) -> Answer:
        """Answer a request for ``path``; count it when a person made it (``GET``, not a robot).

        A store failure is logged (code and error type only) and the visitor is sent on anyway.
        """
        item_id = code_id(path)
        code = self.codes.get(item_id) if item_id else None
        if code is None:
            return NOT_FOUND
        day = london_day(now or datetime.now(UTC))
        location = code.target_on(day)
        if method.upper() != "GET" or is_robot(user_agent):
            return Answer(302, location)
        try:
            self.counter.count_scan(
                code=item_id, kind=code.kind, campaign=code.campaign, day=day,
                expires_at=expires_at(day, self.retention_days),
            )
        except Exception as exc:  # noqa: BLE001 (counting is best effort: never lose the resident)
            log.warning("scan not counted", extra={"code": item_id, "error": type(exc.__cause__ or exc).__name__})
            return Answer(302, location)
        return Answer(302, location, counted=True)

