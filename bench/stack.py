"""A local stack (``cchcc serve``) for the benchmarks and the long fuzz run: started on a free
port with a tiny site, answering before it is handed over, stopped (SIGINT) afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    base: str
    port: int
    process: subprocess.Popen
    log: Path

    def get(self, path: str, timeout: float = 30) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=timeout) as resp:
            return resp.read()

    def outbox(self) -> list[dict[str, Any]]:
        return json.loads(self.get("/_local/outbox"))

    def state(self) -> dict[str, Any]:
        return json.loads((ROOT / "build" / "local" / f"serve-{self.port}.json").read_text(encoding="utf-8"))

    def table(self):
        """A boto3 DynamoDB client on the stack's embedded AWS, and the table's name."""
        import boto3

        state = self.state()
        client = boto3.client(
            "dynamodb", endpoint_url=state["endpoint_url"], region_name=state["region"],
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )
        return client, state["table_name"]

    def rss_kb(self) -> int:
        """Resident memory of the stack's own process (moto, the front, the pollers; not the workers)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def workers_rss_kb(self) -> int:
        total = 0
        for child in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            for pid in child.read_text().split():
                with contextlib.suppress(OSError):
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
        return total


@contextlib.contextmanager
def running(*args: str, env: dict[str, str] | None = None, timeout: float = 90,
            files: dict[str, str] | None = None) -> Iterator[Stack]:
    """``files``: more to write, by path relative to the temporary folder (the site is ``site/``;
    ``campaigns.json`` beside it is the build's catalogue the stack reads)."""
    with tempfile.TemporaryDirectory(prefix="cchcc-bench-") as tmp:
        site = Path(tmp) / "site"
        site.mkdir()
        (site / "index.html").write_text("<!doctype html><title>bench</title>ok", encoding="utf-8")
        for name, text in (files or {}).items():
            (Path(tmp) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        port = free_port()
        log = Path(tmp) / "serve.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [str(BIN / "cchcc"), "serve", "--port", str(port), "--site-dir", str(site), *args],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
            )
            stack = Stack(f"http://127.0.0.1:{port}", port, proc, log)
            try:
                deadline = time.monotonic() + timeout
                while True:
                    try:
                        stack.get("/_local/outbox", timeout=5)
                        break
                    except (OSError, urllib.error.URLError):
                        if proc.poll() is not None or time.monotonic() > deadline:
                            raise RuntimeError("cchcc serve did not start:\n" + log.read_text()[-3000:]) from None
                        time.sleep(0.1)
                yield stack
            finally:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
