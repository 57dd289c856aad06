"""Router Lambda: consumes the referrals table's stream (DynamoDB Streams).

Thin: Powertools batch processing with partial batch failures; each record is
handed to ``hub.routing_service.Router``. A record that raises (a failed SES or
webhook send) is reported in ``batchItemFailures`` and retried by Lambda,
then sent to the on-failure destination; records that succeeded are not
redone (and would be no-ops if they were).
"""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from hub.catalogue import load_catalogue
from hub.config import load_programme
from hub.notifications import build_notifiers
from hub.routing_service import Router
from hub.settings import load_settings, webhook_secrets
from hub.storage import DynamoReferralStore

settings = load_settings()
programme = load_programme(settings.programme_file)
secrets = webhook_secrets(programme)
catalogue = load_catalogue(settings.campaigns_file)  # campaign and placement names; ids only without it

logger = Logger(service="router")  # never log the event: stream images carry personal data
copy_config_to_registered_loggers(source_logger=logger, include={"hub"})
for _name in ("botocore", "boto3", "urllib3"):  # their DEBUG output prints request bodies
    logging.getLogger(_name).setLevel(logging.INFO)
metrics = Metrics(namespace="CCHCC", service="router")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
router = Router(DynamoReferralStore(settings.table_name), build_notifiers(programme, secrets), programme, catalogue)


def record_handler(record: DynamoDBRecord) -> None:
    result = router.handle_record(record)
    if result is not None and result.status == "routed":
        metrics.add_metric(name="ReferralsRouted", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
