"""One Lambda function in a process of its own, as Lambda runs it.

``python -m cchcc.local.runtime HANDLER FUNCTION_NAME TIMEOUT MEMORY`` imports the handler
(``intake.app.lambda_handler``) the way a cold start does, in the environment the local
stack gives it (the template's variables for that function), then answers invocations:

- in: one JSON line per invocation on stdin, ``{"event": {...}, "request_id": "..."}``;
- out: one JSON line per answer, ``{"result": ...}`` or
  ``{"error": {"type": "...", "where": "file.py:42"}}``, on the channel that was stdout
  when the process started. The function's own output (Powertools' JSON logs, prints) goes
  to stderr, which the local stack passes through, as CloudWatch would collect it.

The first line out is ``{"ready": true}``, or ``{"init_error": {...}}`` when the import
failed (a bad configuration: its message names the file and field, never personal data).
Error answers name the exception's type and innermost frame, never its message, which may
quote what a visitor sent.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that Powertools and handlers use."""

    function_name: str
    region: str = "eu-west-2"
    account_id: str = "123456789012"
    timeout_seconds: float = 30.0
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.function_version}/{self.aws_request_id[:8]}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def where(exc: BaseException) -> str:
    """Exception type and innermost frame, without the message (which may quote data)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        return f"{type(exc).__name__} at {Path(last.filename).name}:{last.lineno}"
    return type(exc).__name__


def load_handler(name: str) -> Any:
    module_name, _, attribute = name.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def _send(channel: TextIO, message: dict[str, Any]) -> None:
    channel.write(json.dumps(message, separators=(",", ":")) + "\n")
    channel.flush()


def serve(handler_name: str, function_name: str, timeout: float, memory: int) -> int:
    # Ctrl-C in a terminal reaches the whole process group: the local stack stops its workers
    # itself (it closes their stdin), so a worker never dies half-way through an invocation.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # the function's own output goes to stderr
    region = os.environ.get("AWS_REGION", "eu-west-2")
    injected: dict[str, float] = {}
    if os.environ.get("CCHCC_LOCAL_FAULTS"):  # cchcc serve --faults: failures on purpose, from where AWS's come
        from cchcc.local import faults

        injected = faults.parse(os.environ["CCHCC_LOCAL_FAULTS"])
        faults.install(injected)
    try:
        handler = load_handler(handler_name)
        if injected:
            from cchcc.local import faults

            handler = faults.wrap_handler(handler, function_name, injected)
    except Exception as exc:  # noqa: BLE001 (reported, then the process ends)
        detail = str(exc) if type(exc).__name__ in ("ConfigError", "SettingsError") else where(exc)
        _send(channel, {"init_error": {"type": type(exc).__name__, "message": detail}})
        return 1
    _send(channel, {"ready": True})
    for line in sys.stdin:
        try:
            request = json.loads(line)
        except ValueError:
            continue
        context = LambdaContext(
            function_name, region=region, timeout_seconds=timeout, memory_limit_in_mb=memory,
            aws_request_id=request.get("request_id") or str(uuid.uuid4()),
        )
        try:
            result = handler(request["event"], context)
            answer = {"result": json.loads(json.dumps(result))}  # Lambda serialises the result
        except Exception as exc:  # noqa: BLE001 (a function error, as Lambda reports it)
            print(f"function error: {where(exc)}", file=sys.stderr, flush=True)
            answer = {"error": {"type": type(exc).__name__, "where": where(exc)}}
        _send(channel, answer)
    return 0


if __name__ == "__main__":
    handler_name, function_name, timeout, memory = sys.argv[1:5]
    code = serve(handler_name, function_name, float(timeout), int(memory))
    # Every answer was flushed when sent: skip the interpreter's teardown (a few hundred ms
    # per worker), so that stopping a stack of several functions stays quick.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
