"""Attribution through the real handlers: a forged placement is stored as unknown, the spoke is told
it is unknown, and the raw value is kept for the hub but never logged or sent."""

from __future__ import annotations

import json

from tests.integration.conftest import api_event, referral_items, sent_emails, valid_answers

FORGED = "zz-forged-placement-xq"


def test_an_unknown_placement_is_stored_as_unknown_and_never_shown_as_a_placement(stack, aws, lambda_context, capsys, caplog):
    caplog.set_level("DEBUG")
    intake, reader, router = stack
    # Given a form whose hidden source names no placement the build printed, on another campaign's page
    answers = valid_answers(email=None, campaign="lincoln-green", source=FORGED, event="el-jobs-fair-mar")
    response = intake.lambda_handler(api_event(json.dumps(answers), "application/json"), lambda_context)
    assert response["statusCode"] == 201
    # Then it is stored as unknown, with what was sent for the hub; the known event decides the campaign
    [item] = referral_items(aws)
    assert item["source"] == {"S": "unknown"} and item["source_raw"] == {"S": FORGED}
    assert item["event"] == {"S": "el-jobs-fair-mar"} and item["campaign"] == {"S": "east-leeds"}
    # And the spoke's notification says unknown, never the forged value
    assert router.lambda_handler(reader.read(), lambda_context) == {"batchItemFailures": []}
    [message] = sent_emails()
    assert "unknown (not a placement of this programme)" in message.body and FORGED not in message.body
    assert FORGED not in caplog.text + "".join(capsys.readouterr())
