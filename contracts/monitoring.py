"""The drift monitor's contract: the monitoring machine's input, its window, the names of a run,
the processing job's container paths, and the training request a drift sends.

Read by the monitoring machine's Lambdas (``lambdas/monitor_plan``, ``lambdas/monitor_outcome``),
the notify Lambda, ``ops`` (``make monitor``) and the tests; ``ml/monitor.py`` keeps the same
container paths and verdicts (a test holds the two to the same values).

Execution input (every key optional, an unknown key refused; ``docs/monitoring.md``):

- ``end``: the window's end, ISO 8601 with a zone; default: the schedule's time less
  ``DELIVERY_ALLOWANCE_SECONDS`` for a scheduled run, else the execution's start;
- ``window_minutes``: the window's length (default: Terraform's ``monitoring_window_minutes``);
- ``scheduled_time``: set by the EventBridge Scheduler schedule
  (``<aws.scheduler.scheduled-time>``);
- ``reason``: free text, kept in the notification.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from contracts import dataset, s3_layout

#: The monitor's verdicts (ml/monitor_stats.py writes them).
NO_DRIFT, DRIFT, INSUFFICIENT_DATA = "no-drift", "drift", "insufficient-data"
VERDICTS = (NO_DRIFT, DRIFT, INSUFFICIENT_DATA)

#: ml/monitor.py's container paths (its defaults), and where the job finds its code.
CODE_DIR = "/opt/ml/processing/input/code"
ENTRY_POINT = "monitor.py"
BASELINE_DIR = "/opt/ml/processing/baseline"
CONTRACT_DIR = "/opt/ml/processing/contract"
CAPTURE_DIR = "/opt/ml/processing/capture"
OUTPUT_DIR = "/opt/ml/processing/drift"
#: What the monitor writes in OUTPUT_DIR: the summary the machine reads (it names the rest).
SUMMARY_FILE = "summary.json"
CONTRACT_FILE = dataset.FILE_NAME
MANIFEST_FILE = "capture.manifest"

#: What the monitoring machine's ReadDrift Lambda answers: every key, null where it does not
#: apply; the machine selects them all.
OUTCOME_KEYS = (
    "succeeded",
    "error",
    "cause",
    "verdict",
    "message",
    "drifted_features",
    "drifted_feature_count",
    "top_features",
    "prediction_psi",
    "counts",
    "window",
    "report_uri",
    "drift_uri",
    "metrics_published",
    "retraining",
)

INPUT_KEYS = ("end", "window_minutes", "scheduled_time", "reason")
WINDOW_MINUTES_MAX = 7 * 24 * 60
REASON_MAX = 256
#: AWS delivers captured data "within a couple of minutes" (model-monitor-data-capture-endpoint
#: .html): a scheduled run leaves the last minutes to the next window rather than miss them.
DELIVERY_ALLOWANCE_SECONDS = 300
CAUSE_PREFIX = "Monitoring input is invalid: "
#: botocore's sagemaker model: ProcessingJobName, 1 to 63 of ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}.
JOB_NAME_MAX = 63
_UNSAFE = re.compile(r"[^A-Za-z0-9]+")
_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$"
)


class InputError(ValueError):
    """A monitoring input the machine refuses; the message names the field and what is allowed."""


@dataclass(frozen=True)
class Window:
    """[start, end) on the captured records' inferenceTime, UTC."""

    start: datetime
    end: datetime

    def as_dict(self) -> dict[str, str]:
        return {"start": iso(self.start), "end": iso(self.end)}

    def hours(self) -> list[datetime]:
        """The UTC hours the window touches: the capture folders to read (yyyy/mm/dd/hh)."""
        hour = self.start.replace(minute=0, second=0, microsecond=0)
        found = []
        while hour < self.end:
            found.append(hour)
            hour += timedelta(hours=1)
        return found


@dataclass(frozen=True)
class Request:
    end: datetime | None
    window_minutes: int
    scheduled_time: datetime | None
    reason: str


def parse_time(text: Any, field: str) -> datetime:
    """An ISO 8601 time with a zone as aware UTC; InputError otherwise (no zone is no guess)."""
    match = _TIMESTAMP.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise InputError(
            f"{CAUSE_PREFIX}{field}: got {json.dumps(text)}; allowed: an ISO 8601 time with a "
            "zone, e.g. 2024-05-01T13:00:00Z"
        )
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = int((match.group(7) or "0").ljust(6, "0")[:6])
    zone = match.group(8)
    offset = timedelta(0)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    try:
        moment = datetime(year, month, day, hour, minute, second, fraction)
    except ValueError as error:
        raise InputError(f"{CAUSE_PREFIX}{field}: got {json.dumps(text)}: {error}") from None
    return (moment - offset).replace(tzinfo=timezone.utc)


def iso(moment: datetime) -> str:
    """``2024-05-01T13:00:00Z`` (whole seconds, UTC): the monitor's --start/--end."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_input(document: Any, default_window_minutes: int) -> Request:
    """The monitoring machine's input, checked; InputError names every problem."""
    if not isinstance(document, Mapping):
        raise InputError(
            f"{CAUSE_PREFIX}the input must be a JSON object, got {json.dumps(document)}"
        )
    unknown = sorted(set(document) - set(INPUT_KEYS))
    if unknown:
        raise InputError(
            f"{CAUSE_PREFIX}unknown key(s) {', '.join(unknown)}; allowed: {', '.join(INPUT_KEYS)}"
        )
    minutes = document.get("window_minutes", default_window_minutes)
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or not (1 <= minutes <= WINDOW_MINUTES_MAX)
    ):
        raise InputError(
            f"{CAUSE_PREFIX}window_minutes: got {json.dumps(minutes)}; allowed: a whole number "
            f"from 1 to {WINDOW_MINUTES_MAX} (a week)"
        )
    reason = document.get("reason", "")
    if not isinstance(reason, str) or len(reason) > REASON_MAX:
        raise InputError(f"{CAUSE_PREFIX}reason: allowed: text of at most {REASON_MAX} characters")
    end = document.get("end")
    scheduled = document.get("scheduled_time")
    return Request(
        end=parse_time(end, "end") if end is not None else None,
        window_minutes=minutes,
        scheduled_time=parse_time(scheduled, "scheduled_time") if scheduled is not None else None,
        reason=reason,
    )


def window_of(request: Request, started: datetime) -> Window:
    """The run's window: ``end`` as given, else the schedule's time less the delivery allowance,
    else the execution's start; ``window_minutes`` long."""
    if request.end is not None:
        end = request.end
    elif request.scheduled_time is not None:
        end = request.scheduled_time - timedelta(seconds=DELIVERY_ALLOWANCE_SECONDS)
    elif started.microsecond:
        # inferenceTime has whole seconds: a record of the start's own second came before it.
        end = started.replace(microsecond=0) + timedelta(seconds=1)
    else:
        end = started
    end = end.astimezone(timezone.utc).replace(microsecond=0)
    return Window(end - timedelta(minutes=request.window_minutes), end)


def hour_prefix(capture_prefix: str, endpoint: str, variant: str, hour: datetime) -> str:
    """``<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/``: SageMaker's capture folder of an hour."""
    parts = [capture_prefix.strip("/"), endpoint, variant, f"{hour:%Y/%m/%d/%H}"]
    return "/".join(p for p in parts if p) + "/"


def manifest(prefix_uri: str, relative_keys: list[str]) -> str:
    """A ProcessingS3Input ManifestFile: ``[{"prefix": ...}, "relative/key", ...]``."""
    return json.dumps([{"prefix": prefix_uri}, *relative_keys])


def run_name(execution_name: str) -> str:
    """The run's folder under ``monitoring/<endpoint>/``: the execution's name, made safe."""
    return _UNSAFE.sub("-", execution_name).strip("-") or "run"


def job_name(execution_name: str) -> str:
    """``drift-<run>-<8 hex>``: unique per execution, within ProcessingJobName's 63 characters."""
    digest = hashlib.sha256(execution_name.encode("utf-8")).hexdigest()[:8]
    stem = run_name(execution_name)[: JOB_NAME_MAX - len("drift--") - len(digest)].strip("-")
    return f"drift-{stem}-{digest}" if stem else f"drift-{digest}"


def output_uri(bucket: str, endpoint: str, execution_name: str) -> str:
    """Where the run's job writes drift.json and the rest: ``monitoring/<endpoint>/<run>/drift``."""
    return s3_layout.s3_uri(
        bucket, s3_layout.monitoring_prefix(endpoint, run_name(execution_name)) + "drift"
    )


def training_request_id(execution_name: str) -> str:
    """One id per monitoring run: a retry of the run sends the same request, started once."""
    return f"drift-{run_name(execution_name)}"
