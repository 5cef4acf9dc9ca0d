"""What a failed demo keeps on disk, so that what it prints points at files that exist.

The emulator keeps a run's execution history and the log events of its Lambdas and state machine
in memory, and the demo stops the emulator when it ends. So before saying a run failed (or never
started), the demo writes them under its own directory:

    <workdir>/execution-history.json   every event of the run (GetExecutionHistory, all pages)
    <workdir>/logs/<log group>.log     each CloudWatch Logs group's events, one line per event

and names them beside what the demo's directory already holds: the pipeline's step and job logs
(``<workdir>/pipelines/``) and the emulator's own log (``<workdir>/emulator.log``). What it
prints are paths, never commands: an ``aws ...`` line would reach real AWS once the emulator is
gone (or in a shell without its endpoint).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops import executions
from ops.logs import recent_log_events

HISTORY_FILE = "execution-history.json"
LOGS_DIR = "logs"
PIPELINES_DIR = "pipelines"
EMULATOR_LOG = "emulator.log"
#: Every event since this instant: a demo's emulator is younger than a day.
LOG_WINDOW = dt.timedelta(days=1)
LOG_EVENT_LIMIT = 10_000


@dataclass
class Kept:
    """The files a failed run left, by what each holds."""

    history: Path | None = None
    log_files: list[Path] = field(default_factory=list)


def log_file_name(group: str) -> str:
    """``/aws/lambda/iris-mlops-trigger`` -> ``aws-lambda-iris-mlops-trigger.log``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", group).strip("-") + ".log"


def log_line(event: Mapping[str, Any]) -> str:
    stamp = dt.datetime.fromtimestamp(int(event.get("timestamp", 0)) / 1000, tz=dt.UTC)
    return f"{stamp.isoformat(timespec='milliseconds')} {str(event.get('message', '')).rstrip()}"


def write_history(workdir: Path, events: list[dict[str, Any]]) -> Path:
    path = workdir / HISTORY_FILE
    path.write_text(json.dumps(events, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def write_logs(workdir: Path, groups: Mapping[str, Iterable[Mapping[str, Any]]]) -> list[Path]:
    """One file per log group that has events (a group without any says nothing)."""
    written = []
    for group, events in sorted(groups.items()):
        lines = [log_line(event) for event in events]
        if not lines:
            continue
        path = workdir / LOGS_DIR / log_file_name(group)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(path)
    return written


def log_groups(logs: Any) -> list[str]:
    names: list[str] = []
    for page in logs.get_paginator("describe_log_groups").paginate():
        names.extend(group["logGroupName"] for group in page.get("logGroups", []))
    return names


def keep(client: Callable[[str], Any], workdir: Path, execution_arn: str | None) -> Kept:
    """Write the run's history (when there is a run) and every log group's events; ``client``
    makes a boto3 client for the emulator by service name."""
    sfn, logs = client("stepfunctions"), client("logs")
    kept = Kept()
    if execution_arn:
        kept.history = write_history(workdir, executions.history(sfn, execution_arn))
    since = dt.datetime.now(tz=dt.UTC) - LOG_WINDOW
    groups = {
        group: recent_log_events(logs, group, since, LOG_EVENT_LIMIT) or []
        for group in log_groups(logs)
    }
    kept.log_files = write_logs(workdir, groups)
    return kept


def lines(kept: Kept, workdir: Path, shown: Callable[[Path], str] = str) -> list[str]:
    """The ``logs:`` block of a failure: each file or directory that exists, by what it holds."""
    found = [
        ("execution history", kept.history),
        ("pipeline steps and training jobs", workdir / PIPELINES_DIR),
        ("emulator", workdir / EMULATOR_LOG),
    ]
    found += [("log group", path) for path in kept.log_files]
    return [
        f"{label}: {shown(path)}{'/' if path.is_dir() else ''}"
        for label, path in found
        if path is not None and path.exists()
    ]
