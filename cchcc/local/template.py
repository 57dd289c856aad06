"""What ``infra/template.yaml`` deploys, read so the local stack can run the same thing.

The local stack creates the table and the queues from their definitions here, starts one
worker per function with the environment the template gives it, routes HTTP requests by
the template's API routes and CloudFront behaviours, polls the table's stream for each
function with a ``DynamoDB`` event, with that event's batch size, retries and filters, and
fires each ``ScheduleV2`` (or ``Schedule``) event on its schedule with its input. The
SecureString parameters the template's ``CCHCC::SecureParameters`` metadata lists (which
CloudFormation cannot create) are made in the embedded SSM. Adding a function, a route, a
stream trigger, a schedule or a secure parameter to the template adds it locally too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml


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


@lru_cache(maxsize=8)
def _parse(path: Path, stamp: float) -> dict[str, Any]:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 (SafeLoader subclass)


def load_template(path: Path) -> dict[str, Any]:
    """The template as data (CloudFormation tags as ``{"Ref": ...}`` / ``{"Fn::Sub": ...}``)."""
    path = Path(path).resolve()
    return _parse(path, path.stat().st_mtime)


@dataclass(frozen=True)
class Route:
    """An HTTP API route: ``GET /api/outcomes/{token}``."""

    method: str
    path: str
    function: str  # the function's logical id

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters if ``path`` is this route's (``method`` ``ANY`` matches all), else None."""
        if self.method not in ("ANY", method):
            return None
        return self.match_path(path)

    def match_path(self, path: str) -> dict[str, str] | None:
        pattern = "".join(
            f"(?P<{p[1:-2]}>.+)" if p.endswith("+}") else f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p)
            for p in re.split(r"(\{[A-Za-z0-9_]+\+?\})", self.path)
        )
        found = re.fullmatch(pattern, path)
        return found.groupdict() if found else None


@dataclass(frozen=True)
class StreamTrigger:
    """A ``Type: DynamoDB`` event: the event source mapping's settings."""

    batch_size: int = 10
    maximum_retry_attempts: int = 3
    starting_position: str = "TRIM_HORIZON"
    bisect_on_error: bool = False
    filters: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class ScheduleTrigger:
    """A ``Type: ScheduleV2`` (EventBridge Scheduler) or ``Schedule`` event."""

    name: str  # the event's key in the template ("Weekdays")
    expression: str  # "cron(0 9 ? * MON-FRI *)" or "rate(5 minutes)"
    timezone: str = "UTC"
    input: str | None = None  # JSON text; Scheduler context attributes like <aws.scheduler.scheduled-time>
    enabled: bool = True
    retry_attempts: int = 2  # Lambda's retries of a failed asynchronous invocation (EventInvokeConfig)


@dataclass(frozen=True)
class SecureParameter:
    """An SSM SecureString the functions read (``CCHCC::SecureParameters`` in the template's metadata)."""

    name: str  # the parameter's name, e.g. /cchcc-hub/outcome-link-key (the template parameter's default)
    template_parameter: str
    description: str = ""
    generate: str | None = None  # "key": a fresh random key when it is missing


@dataclass(frozen=True)
class FunctionSpec:
    """One ``AWS::Serverless::Function`` as the local stack runs it."""

    logical_id: str
    handler: str  # "intake.app.lambda_handler"
    timeout: float
    environment: dict[str, str]  # literal values (Refs to parameters resolved to their defaults)
    routes: tuple[Route, ...] = ()
    streams: tuple[StreamTrigger, ...] = ()
    schedules: tuple[ScheduleTrigger, ...] = ()

    @property
    def short_name(self) -> str:
        """``RemindersFunction`` -> ``reminders`` (``/_local/run/<short name>``)."""
        return self.logical_id.removesuffix("Function").lower()


@dataclass(frozen=True)
class Behaviour:
    """A CloudFront cache behaviour: which origins serve a path pattern, in failover order.

    Each origin is ``api`` (the HTTP API) or ``site`` (the bucket); an origin group gives
    two, the second used when the first fails.
    """

    pattern: str  # CloudFront's: "*" any characters, "?" one
    origins: tuple[str, ...]
    # The origin request policy forwards CloudFront-Viewer-Address (which CloudFront sets itself).
    viewer_address: bool = False
    # An origin group's FailoverCriteria: the first origin's statuses that send the request on to the
    # second (besides a connection failure or timeout). Empty: any 5xx, as before origin groups said.
    failover_on: tuple[int, ...] = ()

    def fails_over(self, status: int) -> bool:
        return status in self.failover_on if self.failover_on else status >= 500

    def matches(self, path: str) -> bool:
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in self.pattern)
        return re.fullmatch(regex, path) is not None


@dataclass
class Template:
    """The parts of the SAM template the local stack copies."""

    data: dict[str, Any]
    path: Path | None = None
    _functions: dict[str, FunctionSpec] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: Path) -> "Template":
        return cls(load_template(path), Path(path))

    @property
    def resources(self) -> dict[str, Any]:
        return self.data.get("Resources") or {}

    @property
    def parameters(self) -> dict[str, Any]:
        return self.data.get("Parameters") or {}

    def _literal(self, value: Any) -> str | None:
        """A template value as a plain string, resolving ``!Ref Parameter`` to its default; else None."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (str, int, float)):
            return str(value)
        if isinstance(value, dict) and set(value) == {"Ref"}:
            default = (self.parameters.get(value["Ref"]) or {}).get("Default")
            return None if default is None else self._literal(default)
        return None

    # -- functions --------------------------------------------------------------------------
    def functions(self) -> dict[str, FunctionSpec]:
        if not self._functions:
            globals_ = ((self.data.get("Globals") or {}).get("Function")) or {}
            for logical_id, resource in self.resources.items():
                if resource.get("Type") == "AWS::Serverless::Function":
                    self._functions[logical_id] = self._function(logical_id, resource.get("Properties") or {}, globals_)
        return self._functions

    def _function(self, logical_id: str, props: dict[str, Any], globals_: dict[str, Any]) -> FunctionSpec:
        variables: dict[str, Any] = {}
        for source in (globals_, props):
            variables.update(((source.get("Environment") or {}).get("Variables")) or {})
        environment = {name: text for name, value in variables.items() if (text := self._literal(value)) is not None}
        routes, streams, schedules = [], [], []
        retries = int(((props.get("EventInvokeConfig") or {}).get("MaximumRetryAttempts", 2)))
        for name, event in (props.get("Events") or {}).items():
            kind, p = event.get("Type"), event.get("Properties") or {}
            if kind == "HttpApi":
                routes.append(Route(str(p.get("Method", "ANY")).upper(), str(p.get("Path", "/")), logical_id))
            elif kind == "DynamoDB":
                streams.append(self._stream(p))
            elif kind in ("ScheduleV2", "Schedule"):
                schedules.append(self._schedule(name, kind, p, retries))
        return FunctionSpec(
            logical_id=logical_id,
            handler=str(props.get("Handler") or globals_.get("Handler")),
            timeout=float(props.get("Timeout") or globals_.get("Timeout") or 3),
            environment=environment,
            routes=tuple(routes),
            streams=tuple(streams),
            schedules=tuple(schedules),
        )

    def _schedule(self, name: str, kind: str, p: dict[str, Any], retries: int) -> ScheduleTrigger:
        expression = self._literal(p.get("ScheduleExpression") or p.get("Schedule"))
        if not expression:
            raise ValueError(f"the {kind} event {name} has no literal schedule expression")
        state = self._literal(p.get("State"))
        enabled = self._literal(p.get("Enabled"))
        return ScheduleTrigger(
            name=name,
            expression=expression,
            timezone=self._literal(p.get("ScheduleExpressionTimezone")) or "UTC",
            input=self._literal(p.get("Input")),
            enabled=(state or "ENABLED") == "ENABLED" and (enabled or "true") == "true",
            retry_attempts=retries,
        )

    def secure_parameters(self) -> list[SecureParameter]:
        """The SecureStrings of ``CCHCC::SecureParameters``, named by their template parameters' defaults."""
        listed = ((self.data.get("Metadata") or {}).get("CCHCC::SecureParameters")) or []
        found = []
        for entry in listed:
            parameter = entry["Parameter"]
            name = self._literal({"Ref": parameter})
            if not name:
                raise ValueError(f"CCHCC::SecureParameters: template parameter {parameter} has no default name")
            found.append(SecureParameter(name, parameter, str(entry.get("Description", "")), entry.get("Generate")))
        return found

    @staticmethod
    def _stream(p: dict[str, Any]) -> StreamTrigger:
        plain = {k: v for k, v in p.items() if not isinstance(v, dict)}
        filters = tuple(
            json.loads(f["Pattern"]) for f in ((p.get("FilterCriteria") or {}).get("Filters") or []) if "Pattern" in f
        )
        return StreamTrigger(
            batch_size=int(plain.get("BatchSize", 10)),
            maximum_retry_attempts=int(plain.get("MaximumRetryAttempts", 3)),
            starting_position=str(plain.get("StartingPosition", "TRIM_HORIZON")),
            bisect_on_error=bool(plain.get("BisectBatchOnFunctionError", False)),
            filters=filters,
        )

    def routes(self) -> list[Route]:
        return [route for spec in self.functions().values() for route in spec.routes]

    # -- the table and the queues -----------------------------------------------------------
    def table(self, logical_id: str = "ReferralsTable") -> dict[str, Any]:
        return self.resources[logical_id]["Properties"]

    def create_table_arguments(self, table_name: str, logical_id: str = "ReferralsTable") -> dict[str, Any]:
        """``create_table`` keyword arguments for a table as the template defines it."""
        props = self.table(logical_id)
        kwargs: dict[str, Any] = {
            "TableName": table_name,
            "BillingMode": props["BillingMode"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
        }
        if props.get("StreamSpecification"):
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        return kwargs

    def ttl_attribute(self, logical_id: str = "ReferralsTable") -> str | None:
        spec = self.table(logical_id).get("TimeToLiveSpecification") or {}
        return spec.get("AttributeName") if spec.get("Enabled") else None

    def queue_attributes(self, logical_id: str) -> dict[str, str]:
        """``create_queue`` attributes of a queue the template defines."""
        props = self.resources[logical_id].get("Properties") or {}
        known = (
            "DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
            "VisibilityTimeout", "SqsManagedSseEnabled", "FifoQueue", "ContentBasedDeduplication",
        )
        return {key: text for key in known if key in props and (text := self._literal(props[key])) is not None}

    def queues(self) -> list[str]:
        return [lid for lid, r in self.resources.items() if r.get("Type") == "AWS::SQS::Queue"]

    # -- CloudFront -------------------------------------------------------------------------
    def behaviours(self) -> list[Behaviour]:
        """The distribution's cache behaviours in order, then its default (``*``)."""
        for resource in self.resources.values():
            if resource.get("Type") != "AWS::CloudFront::Distribution":
                continue
            config = (resource.get("Properties") or {}).get("DistributionConfig") or {}
            kinds = {
                origin["Id"]: "site" if "S3OriginConfig" in origin else "api" for origin in config.get("Origins") or []
            }
            criteria: dict[str, tuple[int, ...]] = {}
            for group in ((config.get("OriginGroups") or {}).get("Items")) or []:
                members = ((group.get("Members") or {}).get("Items")) or []
                kinds[group["Id"]] = tuple(kinds.get(m["OriginId"], "site") for m in members)
                codes = (((group.get("FailoverCriteria") or {}).get("StatusCodes") or {}).get("Items")) or []
                criteria[group["Id"]] = tuple(int(c) for c in codes)

            def origins(target: str) -> tuple[str, ...]:
                kind = kinds.get(target, "site")
                return kind if isinstance(kind, tuple) else (kind,)

            def viewer_address(behaviour: dict[str, Any]) -> bool:
                policy = behaviour.get("OriginRequestPolicyId")
                if not (isinstance(policy, dict) and set(policy) == {"Ref"}):
                    return False
                props = (self.resources.get(policy["Ref"]) or {}).get("Properties") or {}
                headers = ((props.get("OriginRequestPolicyConfig") or {}).get("HeadersConfig") or {}).get("Headers") or []
                return "cloudfront-viewer-address" in {str(h).lower() for h in headers}

            found = [
                Behaviour(b["PathPattern"], origins(b["TargetOriginId"]), viewer_address(b),
                          criteria.get(b["TargetOriginId"], ()))
                for b in config.get("CacheBehaviors") or []
            ]
            default = origins((config.get("DefaultCacheBehavior") or {}).get("TargetOriginId", "site"))
            return [*found, Behaviour("*", default)]
        return [Behaviour("*", ("site",))]


def create_table(client: Any, template: Template, table_name: str, logical_id: str = "ReferralsTable") -> None:
    """Create a table (and its TTL) as the template defines it, with a boto3 DynamoDB client."""
    client.create_table(**template.create_table_arguments(table_name, logical_id))
    client.get_waiter("table_exists").wait(TableName=table_name)
    ttl = template.ttl_attribute(logical_id)
    if ttl:
        client.update_time_to_live(TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl})
