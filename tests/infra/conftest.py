"""Fixtures for the template tests: the SAM template, its CloudFormation
translation (aws-sam-translator, no network), and a stack created from that
translation in moto's CloudFormation.
"""

from __future__ import annotations

import copy
import io
import json
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest

from cchcc.local.template import Template, load_template
from tests.conftest import ROOT, TEMPLATE
REGION = "eu-west-2"
CODE_BUCKET = "cchcc-test-code"
CODE_KEY = "functions.zip"

# Parameter values a real deployment would pass (samconfig.toml / `cchcc deploy`).
PARAMETERS = {
    "DomainName": "cchcc.example.org",
    "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012",
    "SenderEmail": "no-reply@example.org",  # programme.yml sender_email
    "AlertEmail": "data.controller@example.org",
}

AWS_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class OfflineManagedPolicyLoader:
    """Stands in for samtranslator's ManagedPolicyLoader, which asks IAM.

    The template names no AWS managed policy by its short name (SAM adds the
    execution-role ARNs itself), so the map is empty and nothing is looked up.
    """

    def __init__(self) -> None:
        self.calls = 0

    def load(self) -> dict[str, str]:
        self.calls += 1
        return {}


def with_code_in_s3(template: dict[str, Any]) -> dict[str, Any]:
    """The SAM template with every function's local CodeUri replaced by one S3 object
    (what `sam package` does with the built artifacts)."""
    template = copy.deepcopy(template)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://{CODE_BUCKET}/{CODE_KEY}"
    return template


def translate(template: dict[str, Any], parameters: dict[str, str] | None = None) -> dict[str, Any]:
    from samtranslator.translator.transform import transform

    return transform(with_code_in_s3(template), dict(parameters or PARAMETERS), OfflineManagedPolicyLoader())


@pytest.fixture(scope="session")
def sam_template() -> dict[str, Any]:
    return copy.deepcopy(load_template(TEMPLATE))


@pytest.fixture(scope="session")
def translated(sam_template) -> dict[str, Any]:
    mp = pytest.MonkeyPatch()
    mp.setenv("AWS_DEFAULT_REGION", REGION)  # the translator fills AWS::Region-based ARNs
    try:
        return translate(sam_template)
    finally:
        mp.undo()


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


# --- moto ---------------------------------------------------------------------------------


def moto_unsupported(template: dict[str, Any]) -> dict[str, str]:
    """Logical id -> type of each resource moto's CloudFormation cannot create."""
    from moto.cloudformation.parsing import resource_class_from_type

    return {k: v["Type"] for k, v in template["Resources"].items() if resource_class_from_type(v["Type"]) is None}


_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)((?:\.[A-Za-z0-9]+)*)\}")


def without_resources(template: dict[str, Any], drop: set[str]) -> dict[str, Any]:
    """The template without ``drop``; a Ref/GetAtt/Sub to a dropped resource becomes a
    placeholder string (``dropped-<LogicalId>``) so the rest still resolves."""
    template = copy.deepcopy(template)
    for logical_id in drop:
        del template["Resources"][logical_id]

    def placeholder(logical_id: str, attribute: str = "") -> str:
        return f"dropped-{logical_id}{attribute.replace('.', '-')}"

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Ref"} and node["Ref"] in drop:
                return placeholder(node["Ref"])
            if set(node) == {"Fn::GetAtt"} and node["Fn::GetAtt"][0] in drop:
                logical_id, *attribute = node["Fn::GetAtt"]
                return placeholder(logical_id, "." + ".".join(attribute))
            if set(node) == {"Fn::Sub"}:
                sub = node["Fn::Sub"]
                text, variables = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1])
                text = _SUB_NAME.sub(
                    lambda m: placeholder(m.group(1), m.group(2)) if m.group(1) in drop else m.group(0), text
                )
                return {"Fn::Sub": text if isinstance(sub, str) else [text, walk(variables)]}
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    template["Resources"] = walk(template["Resources"])
    template["Outputs"] = walk(template.get("Outputs", {}))
    for resource in template["Resources"].values():
        depends = resource.get("DependsOn")
        if depends is not None:
            depends = [depends] if isinstance(depends, str) else depends
            kept = [d for d in depends if d not in drop]
            if kept:
                resource["DependsOn"] = kept
            else:
                del resource["DependsOn"]
    return template


def dummy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "placeholder: the tests import the handlers from functions/")
    return buffer.getvalue()


class MotoStack:
    """A stack created in moto's CloudFormation from the translated template."""

    name = "cchcc-hub-test"

    def __init__(self, translated: dict[str, Any]):
        import boto3

        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=CODE_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=CODE_BUCKET, Key=CODE_KEY, Body=dummy_zip())

        self.dropped = moto_unsupported(translated)
        self.template = without_resources(translated, set(self.dropped))
        self.cfn = boto3.client("cloudformation", region_name=REGION)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.cfn.create_stack(
                StackName=self.name,
                TemplateBody=json.dumps(self.template),
                Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in PARAMETERS.items()],
                Capabilities=["CAPABILITY_IAM"],
            )
        self.description = self.cfn.describe_stacks(StackName=self.name)["Stacks"][0]

    @property
    def status(self) -> str:
        return self.description["StackStatus"]

    def physical_id(self, logical_id: str) -> str:
        detail = self.cfn.describe_stack_resource(StackName=self.name, LogicalResourceId=logical_id)
        return detail["StackResourceDetail"]["PhysicalResourceId"]

    def outputs(self) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in self.description.get("Outputs", [])}


@pytest.fixture
def moto_env(monkeypatch):
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture
def stack(moto_env, translated) -> MotoStack:
    return MotoStack(translated)
