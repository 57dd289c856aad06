"""The functions of the local stack, each in processes of its own, as Lambda runs them.

A :class:`LocalFunction` keeps up to ``max_instances`` worker processes
(:mod:`cchcc.local.runtime`), each a warm execution environment that handles one
invocation at a time: the handler is imported once per process (a cold start), with the
environment the template gives that function, so its settings, its logger's service name
and its module state are its own. An invocation that runs past the function's timeout
ends its process, as Lambda ends the sandbox; the next one starts a fresh process.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

from cchcc.local.template import FunctionSpec

log = logging.getLogger("cchcc.local")

MEMORY_MB = 256
START_TIMEOUT = 60.0


class FunctionError(Exception):
    """An invocation failed as Lambda reports it: ``kind`` is ``Unhandled`` (the handler raised),
    ``Timeout`` or ``Runtime.ExitError`` (the process died). The message names no data."""

    def __init__(self, kind: str, detail: str):
        self.kind = kind
        self.detail = detail
        super().__init__(f"{kind}: {detail}")


class FunctionInitError(Exception):
    """A function could not start (its import raised). The message says why."""


class _Worker:
    def __init__(self, spec: FunctionSpec, name: str, env: dict[str, str], cwd: Path):
        self.name = name
        self.timeout = spec.timeout
        self.answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cchcc.local.runtime", spec.handler, name, str(spec.timeout), str(MEMORY_MB)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=cwd, text=True, encoding="utf-8",
        )
        self._reader = threading.Thread(target=self._read, name=f"{name}-answers", daemon=True)
        self._reader.start()
        first = self._next(START_TIMEOUT)
        if first is None or "ready" not in first:
            self.stop()
            init = (first or {}).get("init_error") or {}
            reason = init.get("message") or init.get("type") or "the process ended before it was ready"
            raise FunctionInitError(f"{name} could not start: {reason}")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                self.answers.put(json.loads(line))
            except ValueError:
                continue
        self.answers.put(None)  # the process ended

    def _next(self, timeout: float) -> dict[str, Any] | None:
        try:
            return self.answers.get(timeout=timeout)
        except queue.Empty:
            return {"timeout": True}

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def invoke(self, event: dict[str, Any]) -> Any:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps({"event": event, "request_id": str(uuid.uuid4())}) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise FunctionError("Runtime.ExitError", f"{self.name} is not running") from exc
        answer = self._next(self.timeout + 1)
        if answer is None:
            raise FunctionError("Runtime.ExitError", f"{self.name} ended during the invocation")
        if "timeout" in answer:
            self.stop()
            raise FunctionError("Timeout", f"{self.name} timed out after {self.timeout:g} s")
        if "error" in answer:
            raise FunctionError("Unhandled", answer["error"].get("where") or "error")
        return answer.get("result")

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                if self.process.stdin:
                    self.process.stdin.close()
                self.process.wait(3)
            except (subprocess.TimeoutExpired, OSError):
                self.process.kill()
                self.process.wait(3)


class LocalFunction:
    """One function: a small pool of warm worker processes."""

    def __init__(self, spec: FunctionSpec, name: str, env: dict[str, str], cwd: Path, max_instances: int = 1):
        self.spec = spec
        self.name = name
        self.env = env
        self.cwd = cwd
        self.max_instances = max_instances
        self._idle: list[_Worker] = []
        self._count = 0
        self._lock = threading.Condition()
        self._stopped = False
        self.invocations = 0

    def start(self) -> None:
        """Start one warm instance, so a broken function fails here and not on a visitor."""
        worker = self._spawn()
        with self._lock:
            self._idle.append(worker)

    def _spawn(self) -> _Worker:
        with self._lock:
            self._count += 1
        try:
            return _Worker(self.spec, self.name, self.env, self.cwd)
        except BaseException:
            with self._lock:
                self._count -= 1
                self._lock.notify()
            raise

    def _take(self) -> _Worker:
        with self._lock:
            while True:
                if self._stopped:
                    raise FunctionError("Runtime.ExitError", f"{self.name} is stopped")
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive:
                        return worker
                    self._count -= 1
                if self._count < self.max_instances:
                    break
                self._lock.wait()
        try:
            return self._spawn()
        except FunctionInitError as exc:
            raise FunctionError("Runtime.ExitError", str(exc)) from exc

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if worker.alive and not self._stopped:
                self._idle.append(worker)
            else:
                self._count -= 1
                worker.stop()
            self._lock.notify()

    def invoke(self, event: dict[str, Any]) -> Any:
        """Run the handler on ``event``; its result, or FunctionError."""
        worker = self._take()
        self.invocations += 1
        try:
            return worker.invoke(event)
        finally:
            self._give_back(worker)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            idle, self._idle = self._idle, []
            self._lock.notify_all()
        for worker in idle:
            worker.stop()


def worker_environment(base: dict[str, str], spec: FunctionSpec, overrides: dict[str, str], task_root: Path) -> dict[str, str]:
    """The environment a function's processes start with.

    The template's variables for the function, then the local stack's ``overrides`` (names
    and addresses of the emulated resources). ``POWERTOOLS_*`` set in the shell win over
    the template's, so ``POWERTOOLS_LOG_LEVEL=DEBUG make serve`` works.
    """
    env = {k: v for k, v in base.items() if not k.startswith(("AWS_", "POWERTOOLS_", "CCHCC_"))}
    env.update(spec.environment)
    env.update({k: v for k, v in base.items() if k.startswith("POWERTOOLS_")})
    env.update(overrides)
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": overrides.get("AWS_LAMBDA_FUNCTION_NAME", spec.logical_id),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB),
            "LAMBDA_TASK_ROOT": str(task_root),
            "PYTHONPATH": os.pathsep.join([str(task_root), *filter(None, [base.get("PYTHONPATH")])]),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env
