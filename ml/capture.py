"""Read what a SageMaker real-time endpoint's data capture wrote: JSON Lines of invocations.

Shipped beside monitor.py (ml/code_bundles.json): standard library only, Python 3.8 compatible.
The format is AWS's (https://docs.aws.amazon.com/sagemaker/latest/dg/
model-monitor-data-capture-endpoint.html, "View Captured Data"): files under
`<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/<name>.jsonl`, one invocation per line:

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": "...", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "...", "mode": "OUTPUT",
                                        "data": "...", "encoding": "CSV"}},
     "eventMetadata": {"eventId": "...", "inferenceTime": "2022-02-14T17:25:49Z"},
     "eventVersion": "0"}

`encoding` is CSV or JSON for the content types the endpoint config lists in
CaptureContentTypeHeader (the text as is), else BASE64 ("If no headers are specified SageMaker AI
will by default base64 encode when capturing the data", API_DataCaptureConfig). Capture options
may keep only the input or only the output of each invocation. Every problem is a
`CaptureRefusal` with a short kind, so that the monitor counts and reports it instead of failing.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

CAPTURE_SUFFIX = ".jsonl"
INPUT_SECTION, OUTPUT_SECTION = "endpointInput", "endpointOutput"
MODES = {INPUT_SECTION: "INPUT", OUTPUT_SECTION: "OUTPUT"}
TEXT_ENCODINGS = ("CSV", "JSON")
BASE64_ENCODING = "BASE64"
CSV_MEDIA_TYPE = "text/csv"
JSON_MEDIA_TYPE = "application/json"
# ISO 8601 with a zone, as eventMetadata.inferenceTime is written ("2022-02-14T17:25:49Z"); a
# fraction of a second and a numeric offset are accepted too.
_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$"
)


class CaptureRefusal(ValueError):
    """A capture line, payload or row the monitor cannot use: `kind` is the tally's key."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Payload:
    """One side of a captured invocation, decoded to text."""

    content_type: str
    text: str


@dataclass(frozen=True)
class CapturedEvent:
    event_id: str | None
    inference_time: datetime
    request: Payload | None
    response: Payload | None


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 time with a zone (`Z` or `+hh:mm`) as an aware UTC datetime; ValueError if
    the text is not one (a time without a zone is refused rather than guessed)."""
    match = _TIMESTAMP.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"{text!r} is not an ISO 8601 time with a zone, e.g. 2024-05-01T13:00:00Z")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = (match.group(7) or "").ljust(6, "0")[:6]
    zone = match.group(8)
    offset = timedelta(0)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    moment = datetime(year, month, day, hour, minute, second, int(fraction or 0))
    return (moment - offset).replace(tzinfo=timezone.utc)


def iso(moment: datetime) -> str:
    """A UTC time as `2024-05-01T13:00:00Z` (microseconds kept when there are any)."""
    text = moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat()
    return text + "Z"


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def decode_payload(section: Any, name: str) -> Payload:
    """The text of `captureData.<name>`: CSV/JSON as is, BASE64 decoded as UTF-8."""
    if not isinstance(section, dict):
        raise CaptureRefusal("not-a-capture-record", f"captureData.{name} is not an object")
    mode, encoding = section.get("mode"), section.get("encoding")
    data, content_type = section.get("data"), section.get("observedContentType")
    if mode != MODES[name]:
        raise CaptureRefusal(
            "not-a-capture-record", f"captureData.{name}.mode is {mode!r}, not {MODES[name]!r}"
        )
    if not isinstance(data, str) or not isinstance(content_type, str):
        raise CaptureRefusal(
            "not-a-capture-record", f"captureData.{name} needs data and observedContentType"
        )
    if encoding in TEXT_ENCODINGS:
        return Payload(content_type, data)
    if encoding != BASE64_ENCODING:
        raise CaptureRefusal(
            "unknown-encoding",
            f"captureData.{name}.encoding is {encoding!r}, not one of CSV, JSON, BASE64",
        )
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise CaptureRefusal("bad-base64", f"captureData.{name}.data is not base64") from None
    try:
        return Payload(content_type, raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise CaptureRefusal("not-utf8", f"captureData.{name}.data is not UTF-8 text") from None


def parse_record(line: str) -> CapturedEvent:
    """One JSON Lines record of data capture; CaptureRefusal says why it cannot be used."""
    try:
        record = json.loads(line)
    except ValueError as error:
        raise CaptureRefusal("unreadable-line", f"not JSON ({error})") from None
    data = record.get("captureData") if isinstance(record, dict) else None
    metadata = record.get("eventMetadata") if isinstance(record, dict) else None
    if not isinstance(data, dict) or not isinstance(metadata, dict):
        raise CaptureRefusal(
            "not-a-capture-record", "no captureData / eventMetadata objects (not a capture record)"
        )
    sides = {name: data[name] for name in (INPUT_SECTION, OUTPUT_SECTION) if name in data}
    if not sides:
        raise CaptureRefusal(
            "not-a-capture-record", "captureData has neither endpointInput nor endpointOutput"
        )
    try:
        moment = parse_timestamp(metadata.get("inferenceTime"))  # type: ignore[arg-type]
    except ValueError as error:
        raise CaptureRefusal(
            "bad-inference-time", f"eventMetadata.inferenceTime: {error}"
        ) from None
    event_id = metadata.get("eventId")
    payloads = {name: decode_payload(section, name) for name, section in sides.items()}
    return CapturedEvent(
        event_id=event_id if isinstance(event_id, str) else None,
        inference_time=moment,
        request=payloads.get(INPUT_SECTION),
        response=payloads.get(OUTPUT_SECTION),
    )


def capture_files(directory: Path) -> list[Path]:
    """Every `*.jsonl` file under `directory` (any depth: the yyyy/mm/dd/hh partitions), sorted;
    a missing directory holds none."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob(f"*{CAPTURE_SUFFIX}") if p.is_file())


def read_events(path: Path) -> Iterator[tuple[int, CapturedEvent | CaptureRefusal]]:
    """(line number, event or refusal) for every non-blank line of a capture file."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield number, CaptureRefusal("unreadable-line", "the line is not UTF-8 text")
                continue
            if not line.strip():
                continue
            try:
                yield number, parse_record(line)
            except CaptureRefusal as refusal:
                yield number, refusal


# --------------------------------------------------------------------------- payload contents


def request_rows(payload: Payload, features: Sequence[str]) -> tuple[list[list[str]], bool]:
    """The stripped cells of a `text/csv` request's non-blank rows, and whether a first row of
    exactly the feature names was dropped as a header."""
    if media_type(payload.content_type) != CSV_MEDIA_TYPE:
        raise CaptureRefusal(
            "input-content-type",
            f"the request is {payload.content_type!r}; the endpoint serves {CSV_MEDIA_TYPE}",
        )
    try:
        rows = [
            [cell.strip() for cell in row]
            for row in csv.reader(io.StringIO(payload.text))
            if row and any(cell.strip() for cell in row)
        ]
    except csv.Error as error:
        raise CaptureRefusal("unreadable-csv", f"the request is not CSV ({error})") from None
    header = bool(rows) and rows[0] == list(features)
    return (rows[1:] if header else rows), header


def cell_value(cell: str) -> float:
    """A cell as a number; empty, non-numeric and non-finite cells are missing (NaN)."""
    try:
        value = float(cell)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def response_probabilities(payload: Payload, classes: int) -> list[list[float]]:
    """The endpoint's answer: a JSON list with one list of `classes` probabilities per row."""
    if media_type(payload.content_type) != JSON_MEDIA_TYPE:
        raise CaptureRefusal(
            "output-not-probabilities",
            f"the response is {payload.content_type!r}, not the model's {JSON_MEDIA_TYPE}",
        )
    try:
        body = json.loads(payload.text)
    except ValueError:
        raise CaptureRefusal("output-not-probabilities", "the response is not JSON") from None
    if isinstance(body, dict) and "error" in body:
        said = str(body.get("error-message", body["error"]))[:200]
        raise CaptureRefusal("output-not-probabilities", f"the endpoint answered an error: {said}")
    rows = body if isinstance(body, list) else None
    if not rows or not all(
        isinstance(row, list)
        and len(row) == classes
        and all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in row)
        for row in rows
    ):
        raise CaptureRefusal(
            "output-not-probabilities",
            f"the response is not a list of rows of {classes} class probabilities",
        )
    return [[float(p) for p in row] for row in rows]
