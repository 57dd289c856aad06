"""What a running ``cchcc serve`` tells other commands about itself.

``build/local/serve-<port>.json`` holds where the stack's embedded AWS answers and the
names of its resources, so ``cchcc redrive`` (and any command that works on "the local
stack or AWS") can reach it from another process. Reading it needs nothing of the
emulator: no moto, no boto3.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cchcc.project import Project

REGION = "eu-west-2"
# Webhook signing secrets for spokes with a webhook, on the local stack only.
LOCAL_WEBHOOK_SECRET = "local-dev-webhook-secret-not-for-production"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass
class StackState:
    pid: int
    url: str
    endpoint_url: str
    table_name: str
    queues: dict[str, str]  # logical id -> queue URL
    programme_file: str
    campaigns_file: str | None
    region: str = REGION
    stream_arn: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def path(project: Project, port: int) -> Path:
        return project.local_dir / f"serve-{port}.json"

    def write(self, project: Project, port: int) -> Path:
        path = self.path(project, port)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        return path

    @classmethod
    def read(cls, project: Project, port: int) -> "StackState | None":
        """The state of a stack running on ``port``; None when none is (or it did not stop cleanly)."""
        try:
            data = json.loads(cls.path(project, port).read_text(encoding="utf-8"))
            state = cls(**data)
            os.kill(int(state.pid), 0)
        except (OSError, ValueError, TypeError):
            return None
        return state

    def aws_environment(self) -> dict[str, str]:
        """What boto3 needs to reach this stack's AWS instead of Amazon's."""
        return {"AWS_ENDPOINT_URL": self.endpoint_url, "AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region, **CREDENTIALS}
