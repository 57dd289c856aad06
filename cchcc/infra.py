"""Read resource definitions from ``infra/template.yaml`` so that the local
stack and the tests create exactly what the SAM template deploys."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation short tags (!Ref, !GetAtt, !Sub …) as {"Fn": value}."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


@lru_cache(maxsize=4)
def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 (SafeLoader subclass)


def table_definition(table_name: str, path: Path = TEMPLATE) -> dict[str, Any]:
    """``create_table`` keyword arguments for the referrals table as the template defines it."""
    props = load_template(path)["Resources"]["ReferralsTable"]["Properties"]
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "BillingMode": props["BillingMode"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "StreamSpecification": {"StreamEnabled": True, **props["StreamSpecification"]},
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    return kwargs


def ttl_attribute(path: Path = TEMPLATE) -> str:
    props = load_template(path)["Resources"]["ReferralsTable"]["Properties"]
    return props["TimeToLiveSpecification"]["AttributeName"]


def create_table(client: Any, table_name: str) -> None:
    """Create the referrals table (and its TTL) with a boto3 DynamoDB client."""
    client.create_table(**table_definition(table_name))
    client.get_waiter("table_exists").wait(TableName=table_name)
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute()},
    )


# --- The router's stream trigger, as the template defines it -----------------------------


def router_stream_event(path: Path = TEMPLATE) -> dict[str, Any]:
    """Properties of the router's ``Type: DynamoDB`` event (batch size, retries, filters …)."""
    events = load_template(path)["Resources"]["RouterFunction"]["Properties"]["Events"]
    (stream,) = [e["Properties"] for e in events.values() if e["Type"] == "DynamoDB"]
    return stream


def stream_filter_patterns(path: Path = TEMPLATE) -> list[dict[str, Any]]:
    """The router's ``FilterCriteria`` patterns, parsed from their JSON strings."""
    import json

    filters = router_stream_event(path).get("FilterCriteria", {}).get("Filters", [])
    return [json.loads(f["Pattern"]) for f in filters]


def _value_matches(rule: Any, value: Any, present: bool) -> bool:
    if isinstance(rule, dict):
        if "exists" in rule:
            return present is bool(rule["exists"])
        if "prefix" in rule:
            return present and isinstance(value, str) and value.startswith(rule["prefix"])
        if "anything-but" in rule:
            excluded = rule["anything-but"]
            excluded = excluded if isinstance(excluded, list) else [excluded]
            return present and value not in excluded
        raise ValueError(f"unsupported filter rule {sorted(rule)}")
    return present and value == rule


def filter_matches(pattern: dict[str, Any], record: dict[str, Any]) -> bool:
    """Whether a stream record passes one Lambda event filter pattern.

    Covers what the template uses: nested keys, lists of exact values (any may
    match), and the ``exists`` / ``prefix`` / ``anything-but`` operators. A
    record passes ``FilterCriteria`` when it matches any one pattern.
    """
    for key, rule in pattern.items():
        present = isinstance(record, dict) and key in record
        value = record.get(key) if present else None
        if isinstance(rule, dict):
            if not present or not isinstance(value, dict):
                return False
            if not filter_matches(rule, value):
                return False
        elif isinstance(rule, list):
            if not any(_value_matches(r, value, present) for r in rule):
                return False
        else:
            raise ValueError(f"filter rule for {key!r} must be an object or a list")
    return True


def passes_stream_filters(record: dict[str, Any], path: Path = TEMPLATE) -> bool:
    """Whether Lambda would deliver this stream record to the router (no filters: everything)."""
    patterns = stream_filter_patterns(path)
    return not patterns or any(filter_matches(p, record) for p in patterns)
