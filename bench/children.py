"""Run one child process and measure its wall time and peak resident set size.

The peak comes from the kernel's own accounting for that child: ``os.wait4`` returns the
child's ``rusage``, whose ``ru_maxrss`` is the largest resident set of the child or of any
descendant it waited for (getrusage(2), RUSAGE_CHILDREN semantics per child). Each subject and
each baseline runs in its own process, so every figure is that process's alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class ChildFailed(RuntimeError):
    """A measured process exited non-zero; the message names it and its log."""


@dataclass(frozen=True)
class ChildRun:
    seconds: float
    peak_rss_bytes: int
    returncode: int


def maxrss_bytes(ru_maxrss: int, platform: str = sys.platform) -> int:
    """``ru_maxrss`` in bytes: Linux reports kilobytes, macOS bytes (getrusage(2) on each)."""
    return ru_maxrss if platform == "darwin" else ru_maxrss * 1024


def run_measured(
    argv: Sequence[str],
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ChildRun:
    """Run ``argv`` to completion (output to ``log_path``); raise ChildFailed on a non-zero exit."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=None if env is None else dict(env),
            cwd=cwd,
        )
        # wait4 instead of proc.wait(): it reaps the child and hands back its rusage.
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    run = ChildRun(seconds, maxrss_bytes(usage.ru_maxrss), proc.returncode)
    if run.returncode != 0:
        raise ChildFailed(
            f"{' '.join(argv[:3])} ... exited with code {run.returncode}; "
            f"its output is in {log_path}"
        )
    return run
