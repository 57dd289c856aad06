"""Which running hub an operations command works on: the local stack, or AWS.

Without ``--aws``, a command looks for a ``cchcc serve`` running on ``--port`` (its state
file, :mod:`cchcc.local.state`) and, when there is one, points boto3 at that stack's
embedded AWS. Otherwise it works against AWS with the usual credentials, on the resources
named by its options or the environment (the names the stack's outputs give).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cchcc.local.state import LOCAL_WEBHOOK_SECRET, StackState
from cchcc.project import Project


class TargetError(Exception):
    """No hub to work on; the message says what to do."""


@dataclass(frozen=True)
class Target:
    table_name: str
    programme_file: Path
    local: bool
    dead_letter_queue: str | None = None
    catalogue_file: Path | None = None
    endpoint_url: str | None = None
    site_origin: str | None = None  # where outcome links point (None: messages without one)
    link_key_parameter: str | None = None  # the SSM SecureString that signs them
    person_key_parameter: str | None = None  # the SSM SecureString keying the person lookup hashes

    def describe(self, port: int) -> str:
        return f"local stack on port {port}" if self.local else f"table {self.table_name}"


def resolve(
    project: Project,
    *,
    port: int,
    aws: bool = False,
    table: str | None = None,
    dead_letter_queue: str | None = None,
    programme_given: bool = False,
) -> Target:
    """The hub to work on. Points this process's boto3 at the local stack when that is it."""
    if not aws and not os.environ.get("AWS_ENDPOINT_URL"):
        state = StackState.read(project, port)
        if state is not None:
            os.environ.update(state.aws_environment())
            os.environ.pop("AWS_PROFILE", None)
            os.environ.pop("AWS_SESSION_TOKEN", None)
            programme = project.programme_file if programme_given else Path(state.programme_file)
            _local_webhook_secrets(programme)
            return Target(
                table_name=state.table_name,
                programme_file=programme,
                local=True,
                dead_letter_queue=state.queues.get("RouterDeadLetterQueue"),
                catalogue_file=Path(state.campaigns_file) if state.campaigns_file else None,
                endpoint_url=state.endpoint_url,
                site_origin=state.url,
                link_key_parameter=_link_key_parameter(project, aws=False),
                person_key_parameter=_link_key_parameter(project, aws=False, template_parameter="PersonHashKeyName"),
            )
    table = table or os.environ.get("TABLE_NAME")
    if not table:
        raise TargetError(
            f"no local stack is running on port {port} (start it with `make serve`), "
            "and no table was given for AWS: pass --table (or set TABLE_NAME)"
        )
    return Target(
        table_name=table,
        programme_file=project.programme_file,
        local=False,
        dead_letter_queue=dead_letter_queue or os.environ.get("ROUTER_DLQ_URL"),
        catalogue_file=project.catalogue_file,
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL"),
        site_origin=os.environ.get("SITE_ORIGIN") or _deployed_origin(project),
        link_key_parameter=os.environ.get("OUTCOME_LINK_KEY_PARAMETER") or _link_key_parameter(project, aws=True),
        person_key_parameter=os.environ.get("PERSON_HASH_KEY_PARAMETER")
        or _link_key_parameter(project, aws=True, template_parameter="PersonHashKeyName"),
    )


def _link_key_parameter(project: Project, *, aws: bool, template_parameter: str = "OutcomeLinkKeyName") -> str | None:
    from cchcc.ops.keys import parameters

    try:
        named = parameters(project, aws=aws)
    except Exception:  # noqa: BLE001 (no template or samconfig here: messages go without links)
        return None
    return next((n.name for n in named if n.parameter.template_parameter == template_parameter), None)


def _deployed_origin(project: Project) -> str | None:
    """``https://<DomainName>`` from samconfig.toml, when it names a real one."""
    from cchcc.ops.deploy import DeployError, read_samconfig

    try:
        domain = read_samconfig(project.samconfig_file).parameters.get("DomainName")
    except DeployError:
        return None
    return f"https://{domain}" if domain else None


def _local_webhook_secrets(programme_file: Path) -> None:
    """The local stack signs webhooks with a fixed secret; so does a command working on it."""
    from hub.config import load_programme

    for spoke in load_programme(programme_file).spokes:
        if spoke.webhook is not None:
            os.environ.setdefault(spoke.webhook.secret_env, LOCAL_WEBHOOK_SECRET)
