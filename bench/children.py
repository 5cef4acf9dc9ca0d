"""Run one child process and measure its wall time and peak resident set size.

The peak is the kernel's own accounting: ``os.wait4`` returns the child's ``rusage``, whose
``ru_maxrss`` is the largest resident set the child had (getrusage(2)). Linux carries that
high-water mark across fork and exec, so a child forked straight from this process would
start at this process's size (pandas and numpy loaded: ~190 MB, measured). Each measured
command is therefore started by a launcher, this file run as a script with only the standard
library (~10 MB): the launcher forks and execs the command, reaps it with ``wait4`` and writes
its seconds, CPU seconds, peak and exit code as JSON. Each subject and each baseline runs in its
own process, so every figure is that process's alone.

    python bench/children.py REPORT.json COMMAND [ARGS...]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

LAUNCHER = Path(__file__).resolve()


class ChildFailed(RuntimeError):
    """A measured process exited non-zero; the message names it and its log."""


@dataclass(frozen=True)
class ChildRun:
    seconds: float
    #: User plus system CPU time: less sensitive than wall time to other load on the machine.
    cpu_seconds: float
    peak_rss_bytes: int
    returncode: int


def maxrss_bytes(ru_maxrss: int, platform: str = sys.platform) -> int:
    """``ru_maxrss`` in bytes: Linux reports kilobytes, macOS bytes (getrusage(2) on each)."""
    return ru_maxrss if platform == "darwin" else ru_maxrss * 1024


def launch(argv: Sequence[str]) -> ChildRun:
    """Run ``argv`` (inheriting stdio) and measure it: the launcher's side."""
    started = time.perf_counter()
    proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL)
    # wait4 instead of proc.wait(): it reaps the child and hands back its rusage.
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return ChildRun(seconds, cpu, maxrss_bytes(usage.ru_maxrss), proc.returncode)


def run_measured(
    argv: Sequence[str],
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    python: str = sys.executable,
) -> ChildRun:
    """Run ``argv`` to completion (output to ``log_path``); raise ChildFailed on a non-zero exit."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    report = log_path.with_name(log_path.name + ".measure.json")
    report.unlink(missing_ok=True)
    with log_path.open("wb") as log:
        # -I -S: no site-packages, no user paths; the launcher needs the standard library only.
        completed = subprocess.run(
            [python, "-I", "-S", str(LAUNCHER), str(report), *argv],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=None if env is None else dict(env),
            cwd=cwd,
            check=False,
        )
    if completed.returncode != 0 or not report.is_file():
        raise ChildFailed(f"the launcher for {argv[0]} failed; its output is in {log_path}")
    run = ChildRun(**json.loads(report.read_text(encoding="utf-8")))
    if run.returncode != 0:
        raise ChildFailed(
            f"{' '.join(argv[:3])} ... exited with code {run.returncode}; "
            f"its output is in {log_path}"
        )
    return run


def main(argv: Sequence[str]) -> int:
    report, command = Path(argv[0]), argv[1:]
    run = launch(command)
    report.write_text(json.dumps(run.__dict__), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
