"""Router Lambda: consumes the referrals table's stream (DynamoDB Streams).

Thin: Powertools batch processing with partial batch failures. Each record is parsed at
the edge into Powertools' stream record model; a new referral's reference (and only that)
goes to :meth:`hub.routing.Routing.route`. A record that raises (a failed SES or webhook
send) is reported in ``batchItemFailures`` and retried by Lambda, then sent to the
on-failure destination; records that succeeded are not redone (and would be no-ops if
they were).
"""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamRecordModel

from hub.catalogue import load_catalogue
from hub.notifications import build_notifiers
from hub.programme import load_for_function
from hub.routing import Routing
from hub.settings import load_settings, webhook_secrets
from hub.storage import DynamoReferralStore, new_referral_reference

settings = load_settings()
programme = load_for_function(settings)
secrets = webhook_secrets(programme)
# Campaign and placement names for the messages; ids only without the file.
catalogue = load_catalogue(settings.campaigns_file, required=settings.campaigns_file_required)

logger = Logger(service="router")  # never log the event: stream images carry personal data
copy_config_to_registered_loggers(source_logger=logger, include={"hub"})
for _name in ("botocore", "boto3", "urllib3"):  # their DEBUG output prints request bodies
    logging.getLogger(_name).setLevel(logging.INFO)
metrics = Metrics(namespace="CCHCC", service="router")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, model=DynamoDBStreamRecordModel)
routing = Routing(DynamoReferralStore(settings.table_name), build_notifiers(programme, secrets), programme, catalogue)


def record_handler(record: DynamoDBStreamRecordModel) -> None:
    reference = new_referral_reference(record.eventName, record.dynamodb.Keys)
    if reference is not None and routing.route(reference).status == "routed":
        metrics.add_metric(name="ReferralsRouted", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
