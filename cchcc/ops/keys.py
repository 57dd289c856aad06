"""``cchcc keys``: the SecureString parameters of ``infra/template.yaml`` (``CCHCC::SecureParameters``).

CloudFormation cannot create SSM SecureStrings, so the template lists the ones the
functions read, each named by a template parameter (for the outcome links:
``OutcomeLinkKeyName``, default ``/cchcc-hub/outcome-link-key``):

- ``cchcc keys ensure`` creates each that is missing; ``Generate: key`` ones get a fresh
  random key (32 random bytes, base64url). ``cchcc deploy`` runs it before ``sam deploy``.
  Existing ones are left alone.
- ``cchcc keys rotate [NAME]`` puts a new key first and keeps the current one as the
  previous: links signed before keep working (the functions accept both), links signed
  from now on use the new key. A second rotation drops the oldest key, and with it every
  link it signed, so rotate at most once every ``outcome_link_days`` unless a key leaked.

Works on the local stack on ``--port`` or on AWS with ``--aws`` (``--region``, default
samconfig.toml's; parameter names from its ``parameter_overrides`` where set). Key values
are made and sent here, with boto3: never printed, logged or put on a command line.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from cchcc.local.template import SecureParameter, Template
from cchcc.project import Project


class KeysError(Exception):
    """A parameter cannot be made or rotated; the message says what to do (never shows a value)."""


def new_key() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Named:
    parameter: SecureParameter
    name: str  # as deployed (samconfig's override, or the template's default)


def parameters(project: Project, *, aws: bool) -> list[Named]:
    """The template's secure parameters with the names the target uses."""
    overrides: dict[str, str] = {}
    if aws and project.samconfig_file.exists():
        from cchcc.ops.deploy import read_samconfig

        overrides = read_samconfig(project.samconfig_file).parameters
    return [Named(p, overrides.get(p.template_parameter, p.name)) for p in Template.load(project.template_file).secure_parameters()]


def _exists(ssm: Any, name: str) -> bool:
    try:
        ssm.get_parameter(Name=name)  # not decrypted: only whether it is there
    except ssm.exceptions.ParameterNotFound:
        return False
    return True


def ensure(ssm: Any, named: list[Named], say=print) -> list[str]:
    """Create the missing parameters. Returns the names created."""
    created = []
    for item in named:
        if _exists(ssm, item.name):
            say(f"  {item.name}: exists (left as it is)")
            continue
        if item.parameter.generate != "key":
            raise KeysError(
                f"{item.name} does not exist and cannot be made here: create it as a SecureString "
                f"(aws ssm put-parameter --type SecureString --name {item.name} --value file://<file holding it>)"
            )
        ssm.put_parameter(Name=item.name, Type="SecureString", Value=new_key(),
                          Description=item.parameter.description[:1024])
        created.append(item.name)
        say(f"  {item.name}: created with a new random key")
    return created


def rotate(ssm: Any, item: Named, say=print) -> None:
    """New key first, the current one kept as the previous one."""
    from hub.links import LinkKeyError, parse_keys

    if item.parameter.generate != "key":
        raise KeysError(f"{item.name} is not a generated key; replace it yourself")
    try:
        value = ssm.get_parameter(Name=item.name, WithDecryption=True)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound as exc:
        raise KeysError(f"{item.name} does not exist: run `cchcc keys ensure` first") from exc
    try:
        current = parse_keys(value, item.name)[0].decode("utf-8")
    except LinkKeyError as exc:
        raise KeysError(str(exc)) from exc
    ssm.put_parameter(Name=item.name, Type="SecureString", Value=f"{new_key()},{current}", Overwrite=True)
    if item.parameter.template_parameter == "PersonHashKeyName":
        say(f"  {item.name}: rotated. `cchcc person find` tries both keys; now run `cchcc person backfill` "
            "to re-hash every referral with the new key before the next rotation.")
        return
    say(f"  {item.name}: rotated. New links use the new key; links sent before keep working until the next rotation.")
