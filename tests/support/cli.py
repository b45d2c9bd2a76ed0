"""Run the real ``breachradar`` command line in a subprocess, on the tree under test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[2]


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a CLI subprocess: this tree first, no stray settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BREACHRADAR_")}
    env.pop("DISCORD_TOKEN", None)
    env["PYTHONPATH"] = str(REPO)
    env["NO_COLOR"] = "1"
    env.update(extra or {})
    return env


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
    """Run ``python -m bot ARGS`` and capture its output."""
    proc = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=cli_env(env),
        cwd=REPO,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


class ProcessLog:
    """Read a running process's stderr line by line in a thread, so a test can wait for a
    line (an event) instead of sleeping."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._stream = stream
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self.lines.append("")  # end of stream: wake the waiters
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[list[str]], Any], timeout: float = 30) -> Any:
        """Block until ``predicate(lines)`` is truthy; return it (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = predicate(self.lines)
                if found:
                    return found
                remaining = deadline - time.monotonic()
                assert remaining > 0, "timed out; stderr so far:\n" + "\n".join(self.lines)
                self._changed.wait(remaining)

    def wait_line(self, needle: str, timeout: float = 30) -> str:
        """The first line containing ``needle``, once it is there."""
        line: str = self.wait_for(
            lambda lines: next((line for line in lines if needle in line), None), timeout
        )
        return line

    def close(self) -> None:
        """After the process ended: read to the end, then close the pipe."""
        self._thread.join(timeout=10)
        self._stream.close()

    def text(self) -> str:
        with self._changed:
            return "\n".join(self.lines)
