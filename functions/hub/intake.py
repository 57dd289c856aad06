"""Intake: turn one submission into at most one stored referral.

:meth:`Intake.submit` takes the submitted answers as a plain mapping (the intake function
decodes the HTTP request) and says what happened as an :class:`Outcome`; it knows nothing
of HTTP. It validates with :func:`hub.validation.parse_submission` and stores once,
idempotently, with Powertools' ``idempotent_function`` over records in the referrals
table itself (:meth:`hub.storage.DynamoReferralStore.idempotency_layer`):

- with a ``submission_id``: keyed on it *and* the normalised answers, remembered for
  ``SUBMISSION_ID_TTL_SECONDS``. The same id with the same answers (a double tap, a retry)
  gets the first reference and stores nothing. The same id with *other* answers (someone
  goes Back after sending, fixes their phone number and sends again; or, rarely, two people
  whose browsers made the same id) is a correction: a new referral whose ``corrects`` names
  the referral the id made last. The router sends it to the rules' spokes on the corrected
  answers and to every spoke told about the referral it corrects, each once, saying which
  reference it replaces (:func:`hub.rules.with_correction`). A new linked referral rather
  than an edit of the first, because it keeps one conditional write per submission and the
  router's exactly-once sending as they are, routes the corrected answers by the rules, and
  leaves what each spoke was sent, and when, as it was sent;
- without: keyed on the normalised answers for ``IDEMPOTENCY_WINDOW_SECONDS``, so a
  double tap makes one referral and both taps get the same reference.

Residual window: if the referral is written but Powertools then cannot mark its record
complete (the store fails between the two writes) the visitor is told to try again while
the referral exists; a retry after the in-progress record expires can store a second
referral. The router still routes each once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from hub import i18n, references
from hub.attribution import attribute, load_known
from hub.limits import Client, Limiter, RateLimitedError
from hub.storage import DynamoReferralStore, StoreError, StoreUnavailableError
from hub.validation import SubmissionInvalidError, is_honeypot_filled, parse_submission

if TYPE_CHECKING:
    from hub.config import Programme
    from hub.lookup import IntakeLookup
    from hub.models import Submission
    from hub.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What happened to a submission. ``values`` and ``errors`` only when it was invalid."""

    kind: Literal["stored", "honeypot", "invalid", "limited"]
    reference: str | None = None
    errors: dict[str, str] = field(default_factory=dict)  # field -> message, in form order
    values: dict[str, Any] = field(default_factory=dict)  # the answers, to show the form again
    retry_after: int = 0  # "limited": seconds until this client may send another
    lang: str = "en"  # the language of the page the form was posted from (its thanks page is in it too)


def _lang(raw: Mapping[str, Any]) -> str:
    lang = raw.get("lang")
    return lang if i18n.is_language(lang) else i18n.DEFAULT


def answers_key(submission: Submission) -> dict[str, Any]:
    """The normalised answers: what makes two submissions without an id 'the same'."""
    answers = submission.answers()
    answers["name"] = " ".join(submission.name.split()).casefold()
    if submission.email:
        answers["email"] = submission.email.casefold()
    answers["interests"] = sorted(submission.interests)
    return answers


class Intake:
    """Validates and stores referrals. One instance per cold start."""

    def __init__(
        self, store: DynamoReferralStore, programme: Programme, settings: Settings, *, sleep=time.sleep,
        lookup: IntakeLookup | None = None,
    ):
        self.store = store
        self.lookup = lookup  # the person lookup hashes (hub.lookup); None: stored without them
        self.programme = programme
        self._sleep = sleep
        self._submission_ttl = settings.submission_id_ttl_seconds
        self.limiter = Limiter(store, burst=settings.rate_limit_burst, per_hour=settings.rate_limit_per_hour)
        self._windows = {
            "intake-submission-id": settings.submission_id_ttl_seconds,
            "intake-answers": settings.idempotency_window_seconds,
        }
        self._calls: dict[str, Any] = {}  # made on the first submission: Powertools' idempotency is not needed to start
        self._configs: list[Any] = []
        self._context: Any = None
        # The build's campaigns, placements and events (campaigns.json, read without pydantic).
        self.known = load_known(settings.campaigns_file)

    def _idempotent(self, prefix: str):
        if prefix in self._calls:
            return self._calls[prefix]
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

        config = IdempotencyConfig(expires_after_seconds=self._windows[prefix], hash_function="sha256")
        if self._context is not None:
            config.register_lambda_context(self._context)
        self._configs.append(config)
        self._calls[prefix] = idempotent_function(
            self._create,
            data_keyword_argument="key",
            persistence_store=self.store.idempotency_layer(),
            config=config,
            key_prefix=prefix,
        )
        return self._calls[prefix]

    def _create(self, *, key: dict[str, Any], submission: Submission, client: Client | None = None) -> dict[str, str]:
        if client is not None:
            self.limiter.take(client)  # only a new referral takes a token (raises RateLimitedError)
        submission_id = submission.submission_id
        corrects = self.store.latest_for_submission(submission_id) if submission_id else None
        lookup = self.lookup.attributes(submission.email, submission.phone) if self.lookup is not None else None
        referral = self.store.create_referral(
            submission, retention_days=self.programme.retention_days, corrects=corrects, lookup=lookup
        )
        logger.info("referral stored", extra={"reference": referral.reference, "corrects": corrects})
        if submission_id:
            try:
                self.store.remember_submission(
                    submission_id, referral.reference, expires_at=int(time.time()) + self._submission_ttl
                )
            except StoreError:
                # The referral is stored; only the link for a later correction is lost (that
                # correction would then be a referral of its own). Never a reason to fail this post.
                logger.warning("submission id not remembered", extra={"reference": referral.reference})
        return {"reference": referral.reference}

    def register_context(self, context: Any) -> None:
        """Let Powertools expire in-progress records when the invocation times out."""
        if context is not None and hasattr(context, "get_remaining_time_in_millis"):
            self._context = context
            for config in self._configs:
                config.register_lambda_context(context)

    def store_once(self, submission: Submission, client: Client | None = None) -> str:
        """Store the submission unless it is a repeat; the reference either way.
        Raises RateLimitedError when ``client`` may not make another referral yet."""
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
        )

        if submission.submission_id:
            call = self._idempotent("intake-submission-id")
            key = {"submission_id": submission.submission_id, "answers": answers_key(submission)}
        else:
            call, key = self._idempotent("intake-answers"), answers_key(submission)
        for attempt in range(4):
            try:
                return call(key=key, submission=submission, client=client)["reference"]
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

    def submit(self, raw: Mapping[str, Any], client: Client | None = None) -> Outcome:
        """Validate and store the answers once. Raises StoreError when the store fails."""
        if is_honeypot_filled(raw):
            logger.info("honeypot filled, nothing stored")
            return Outcome("honeypot", reference=references.new_reference(), lang=_lang(raw))
        try:
            submission = parse_submission(raw)
        except SubmissionInvalidError as exc:
            logger.info("submission invalid", extra={"fields": list(exc.errors)})
            return Outcome("invalid", errors=exc.errors, values=exc.values, lang=exc.values.get("lang") or "en")
        # Checked against the build only for storing: a form shown again keeps what its page sent.
        found = attribute(self.known, raw.get("campaign"), raw.get("source"), raw.get("event"))
        attributed = submission.model_copy(update=found.fields())
        if found.source_raw or found.event_raw or found.campaign_raw:
            logger.info("attribution unknown", extra={  # which fields only: the raw values are never logged
                "fields": [k for k in ("campaign", "source", "event") if getattr(found, f"{k}_raw")]})
        try:
            return Outcome("stored", reference=self.store_once(attributed, client), lang=submission.lang)
        except RateLimitedError as exc:
            values = {k: v for k, v in submission.model_dump().items() if v is not None}
            values["age"] = str(submission.age)
            return Outcome("limited", values=values, retry_after=exc.retry_after, lang=submission.lang)
