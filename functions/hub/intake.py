"""Intake: turn one ``POST /api/referrals`` request into at most one stored referral.

The handler (``functions/intake/app.py``) hands over the request as a plain
:class:`HttpRequest`; this module decodes it, validates it with
``hub.models.parse_submission``, stores it once (idempotently) and says what to
answer as a plain :class:`HttpReply`. Every row of the response table in
DESIGN.md §4 is decided here; :func:`reply_for_error` is the one place that
maps exceptions to HTTP.

Idempotency uses Powertools' ``idempotent_function`` with records in the
referrals table itself (``pk = IDEMPOTENCY#intake``, TTL on ``expires_at``):

- with a ``submission_id``: keyed on it, remembered for ``SUBMISSION_ID_TTL_SECONDS``;
- without: keyed on the normalised answers for ``IDEMPOTENCY_WINDOW_SECONDS``,
  so a double tap makes one referral and both taps get the same reference.

Residual window: if the referral is written but Powertools then cannot mark
its record complete (the store fails between the two writes) the visitor gets
a 503 while the referral exists; a retry after the in-progress record expires
can store a second referral. The router still routes each once.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from hub import references
from hub.models import Submission, SubmissionInvalidError, is_honeypot_filled, parse_submission
from hub.storage import DynamoReferralStore, StoreError, StoreUnavailableError

if TYPE_CHECKING:
    from hub.config import Programme
    from hub.settings import Settings

MAX_BODY_BYTES = 16 * 1024
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
IDEMPOTENCY_PK = "IDEMPOTENCY#intake"
RETRY_AFTER_SECONDS = 5
MAX_FORM_FIELDS = 100

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpRequest:
    """What intake needs from an HTTP API v2 event. Header names in lower case."""

    headers: Mapping[str, str]
    body: str | None
    is_base64: bool = False

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def wants_html(self) -> bool:
        """A browser posting the form without JavaScript gets pages, not JSON."""
        return self.media_type == FORM


@dataclass(frozen=True)
class HttpReply:
    status: int
    content_type: str
    body: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What happened to a submission (no personal data)."""

    kind: str  # "stored", "duplicate", "honeypot", "invalid"
    reference: str | None = None
    invalid_fields: tuple[str, ...] = ()


class RequestRejectedError(Exception):
    """The request itself is unusable (size, type, syntax). ``status`` is the HTTP status."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


# -- decoding ------------------------------------------------------------------------------


def _charset(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower() or "utf-8"
    return "utf-8"


def decode_request(request: HttpRequest) -> dict[str, Any]:
    """The submitted fields as a mapping. Raises RequestRejectedError (413/415/400)."""
    raw = request.body or ""
    if request.is_base64:
        if len(raw) > (MAX_BODY_BYTES * 4) // 3 + 8:
            raise RequestRejectedError(413, "The request is too large")
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RequestRejectedError(400, "The request body could not be read") from exc
    else:
        data = raw.encode("utf-8", "surrogatepass")
    if len(data) > MAX_BODY_BYTES:
        raise RequestRejectedError(413, "The request is too large")

    media = request.media_type
    if media not in (FORM, JSON):
        raise RequestRejectedError(415, "Send the form as application/x-www-form-urlencoded or application/json")
    charset = _charset(request.headers.get("content-type", ""))
    try:
        codecs.lookup(charset)
    except LookupError as exc:
        raise RequestRejectedError(415, "Send the form encoded as UTF-8") from exc
    try:
        text = data.decode(charset)
    except (UnicodeDecodeError, ValueError) as exc:
        raise RequestRejectedError(400, "The request body is not valid text") from exc

    if media == JSON:
        try:
            value = json.loads(text) if text.strip() else None
        except (ValueError, RecursionError) as exc:
            raise RequestRejectedError(400, "The request body is not valid JSON") from exc
        if not isinstance(value, dict):
            raise RequestRejectedError(400, "The request body must be a JSON object")
        return value

    try:
        pairs = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as exc:
        raise RequestRejectedError(400, "The form could not be read") from exc
    return {key: values if key == "interests" else values[0] for key, values in pairs.items()}


def fill_source_from_referer(raw: dict[str, Any], headers: Mapping[str, str], site_origin: str) -> None:
    """Without JavaScript a static page cannot copy ``?s=<placement>`` into the form, but the
    browser sends the page's address as ``Referer`` (same-origin policy). Use it when the hidden
    field is empty; the address of a campaign page carries no personal data."""
    if raw.get("source") or not headers.get("referer"):
        return
    try:
        page = urlsplit(headers["referer"])
        origin = urlsplit(site_origin)
    except ValueError:
        return
    if (page.scheme, page.netloc) != (origin.scheme, origin.netloc) or not page.path.startswith("/campaigns/"):
        return
    placement = parse_qs(page.query).get("s", [""])[0]
    if placement:
        raw["source"] = placement  # parse_submission drops it unless it is a well-formed id


def answers_key(submission: Submission) -> dict[str, Any]:
    """The normalised answers: what makes two submissions without an id 'the same'."""
    answers = submission.answers()
    answers["name"] = " ".join(submission.name.split()).casefold()
    if submission.email:
        answers["email"] = submission.email.casefold()
    answers["interests"] = sorted(submission.interests)
    return answers


# -- the service -------------------------------------------------------------------------


class IntakeService:
    """Validates and stores referrals. One instance per cold start."""

    def __init__(
        self,
        store: DynamoReferralStore,
        programme: Programme,
        settings: Settings,
        *,
        sleep=time.sleep,
    ):
        self.store = store
        self.programme = programme
        self.settings = settings
        self._sleep = sleep
        self._configs: list[Any] = []
        self._by_submission_id = self._idempotent(
            "intake-submission-id", settings.submission_id_ttl_seconds
        )
        self._by_answers = self._idempotent("intake-answers", settings.idempotency_window_seconds)

    def _idempotent(self, prefix: str, expires_after: int):
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        # One persistence layer per config: a layer takes its expiry from the first config it sees.
        layer = DynamoDBPersistenceLayer(
            table_name=self.settings.table_name,
            key_attr="pk",
            sort_key_attr="sk",
            static_pk_value=IDEMPOTENCY_PK,
            expiry_attr="expires_at",
            boto3_client=self.store.client,
        )
        config = IdempotencyConfig(expires_after_seconds=expires_after, hash_function="sha256")
        self._configs.append(config)
        return idempotent_function(
            self._create,
            data_keyword_argument="key",
            persistence_store=layer,
            config=config,
            key_prefix=prefix,
        )

    def _create(self, *, key: dict[str, Any], submission: Submission) -> dict[str, str]:
        item = self.store.create_referral(submission, retention_days=self.programme.retention_days)
        logger.info("referral stored", extra={"reference": item["reference"]})
        return {"reference": item["reference"]}

    def register_context(self, context: Any) -> None:
        """Let Powertools expire in-progress records when the invocation times out."""
        if context is not None and hasattr(context, "get_remaining_time_in_millis"):
            for config in self._configs:
                config.register_lambda_context(context)

    def store_once(self, submission: Submission) -> str:
        """Store the submission unless it is a repeat; the reference either way."""
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
        )

        if submission.submission_id:
            call, key = self._by_submission_id, {"submission_id": submission.submission_id}
        else:
            call, key = self._by_answers, answers_key(submission)
        for attempt in range(4):
            try:
                return call(key=key, submission=submission)["reference"]
            except IdempotencyAlreadyInProgressError:
                # A double tap still being stored: wait for it and answer with its reference.
                self._sleep(0.2 * (attempt + 1))
            except StoreError:
                raise
            except IdempotencyPersistenceLayerError as exc:
                raise StoreUnavailableError("idempotency store unavailable") from exc
            except Exception as exc:  # other Powertools idempotency failures are store failures too
                if type(exc).__module__.startswith("aws_lambda_powertools.utilities.idempotency"):
                    raise StoreUnavailableError(f"idempotency failed ({type(exc).__name__})") from exc
                raise
        raise StoreUnavailableError("the same submission is still being stored")

    def submit(self, request: HttpRequest) -> tuple[Outcome, HttpReply]:
        """Decide the outcome and the reply. Raises RequestRejectedError or StoreError."""
        raw = decode_request(request)
        if is_honeypot_filled(raw):
            logger.info("honeypot filled, nothing stored")
            return Outcome("honeypot"), self.success_reply(request, references.new_reference())
        fill_source_from_referer(raw, request.headers, self.settings.site_origin)
        try:
            submission = parse_submission(raw)
        except SubmissionInvalidError as exc:
            outcome = Outcome("invalid", invalid_fields=tuple(exc.errors))
            logger.info("submission invalid", extra={"fields": list(exc.errors)})
            return outcome, self.invalid_reply(request, exc)
        reference = self.store_once(submission)
        return Outcome("stored", reference=reference), self.success_reply(request, reference)

    # -- replies ---------------------------------------------------------------------------

    def success_reply(self, request: HttpRequest, reference: str) -> HttpReply:
        if request.wants_html:
            return HttpReply(303, "text/plain; charset=utf-8", "", {"Location": f"/thanks/?ref={reference}"})
        return HttpReply(201, JSON, json.dumps({"reference": reference}))

    def invalid_reply(self, request: HttpRequest, exc: SubmissionInvalidError) -> HttpReply:
        if not request.wants_html:
            return HttpReply(422, JSON, json.dumps({"errors": exc.errors}))
        from hub import render  # Jinja2 is only needed for this page

        values = dict(exc.values)
        page = render.render(
            "error_page.html",
            title="Sign up to hear about health and care jobs",
            site_name=self.programme.programme.short_name,
            programme_name=self.programme.programme.name,
            message=None,
            form_html=render.render_form(
                values=values,
                errors=exc.errors,
                campaign=values.get("campaign") or "",
                source=values.get("source") or "",
            ),
        )
        return HttpReply(422, "text/html; charset=utf-8", page)


def problem_page(programme: Programme | None, title: str, message: str) -> str:
    from hub import render

    return render.render(
        "error_page.html",
        title=title,
        site_name=programme.programme.short_name if programme else "CCHCC",
        programme_name=programme.programme.name if programme else "",
        message=message,
        form_html=None,
    )


def reply_for_error(exc: Exception, request: HttpRequest, programme: Programme | None = None) -> HttpReply:
    """The one place exceptions become HTTP replies. Never a stack trace or a value sent."""
    if isinstance(exc, RequestRejectedError):
        status, title, message, headers = exc.status, "There is a problem with the form", exc.message, {}
    elif isinstance(exc, StoreUnavailableError):
        status, headers = 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}
        title = "Sorry, there is a problem with the service"
        message = "We could not save your details just now. Nothing was saved. Please try again in a few minutes."
    else:
        status, headers = 500, {}
        title = "Sorry, there is a problem with the service"
        message = "Something went wrong on our side. Please try again later."
    if request.wants_html and status in (413, 503, 500):
        try:
            return HttpReply(status, "text/html; charset=utf-8", problem_page(programme, title, message), headers)
        except Exception:  # noqa: BLE001 (a broken page must not turn into a crash)
            pass
    return HttpReply(status, JSON, json.dumps({"message": message}), headers)
