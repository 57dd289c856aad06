"""Reminders Lambda: run by EventBridge Scheduler on weekdays at 09:00 Europe/London.

The schedule's input is ``{"at": "<aws.scheduler.scheduled-time>"}``: the logic runs with
that clock (:meth:`hub.reminders.Reminders.run`), so a retry of the same run is the same
day, and the local stack can run it "on" any day (``POST /_local/run/reminders?at=``).
Thin: Powertools logger and parser, one call. A digest that could not be sent raises,
so Lambda retries the asynchronous invocation; digests already sent are not sent again.
Answers the run's counts (no personal data: digests list references only).
"""

from __future__ import annotations

import logging
from datetime import datetime

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.parser import event_parser
from pydantic import AwareDatetime, BaseModel

from hub.programme import load_for_function
from hub.links import outcome_links
from hub.notifications import SesNotifier
from hub.reminders import Reminders
from hub.settings import load_settings
from hub.storage import DynamoReferralStore, utcnow

settings = load_settings()
programme = load_for_function(settings)

logger = Logger(service="reminders")
copy_config_to_registered_loggers(source_logger=logger, include={"hub"})
for _name in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_name).setLevel(logging.INFO)
reminders = Reminders(
    DynamoReferralStore(settings.table_name),
    SesNotifier(str(programme.programme.sender_email)),
    programme,
    outcome_links(settings, programme),
)


class ScheduledRun(BaseModel):
    """The Scheduler's input. ``at`` is the scheduled time; a hand-made invocation may leave it out (now)."""

    at: AwareDatetime | None = None


@logger.inject_lambda_context(log_event=False)
@event_parser(model=ScheduledRun)
def lambda_handler(event: ScheduledRun, context) -> dict:
    at: datetime = event.at or utcnow()
    return reminders.run(at).counts()
