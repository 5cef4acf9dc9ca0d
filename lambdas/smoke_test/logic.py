"""The deployment smoke test's judgement: pure functions, no AWS.

After an endpoint reaches ``InService``, the state machine's ``SmokeTest`` task (``handler.py``)
sends the evaluation report's ``smoke_test.body`` (rows of the test split, exactly as
``ml/evaluate.py`` wrote them) to the endpoint and asks ``judge`` whether the answer is the
model the evaluation measured: JSON, one row per input row, one probability per class of the
dataset contract, each row summing to 1, and each probability within ``smoke_test.tolerance`` of
the evaluation's own prediction for that row (the report is read by contracts.evaluation, the
one reader of evaluation.json). Every verdict says precisely what was seen, e.g.
``row 2: expected [0.01, 0.98, 0.01], got [0.9, 0.05, 0.05]``; the state machine puts it in the
``DeploymentFailed`` cause and the notification.
"""

from __future__ import annotations

import json
import math
from typing import Any

from contracts import evaluation as reports

#: How far a row's probabilities may sum from 1 (float32 rounding in the container's JSON).
SUM_TOLERANCE = 1e-3
#: An answer is quoted up to this many characters in a verdict: enough to recognise it.
QUOTE_CHARS = 200


class SmokeTestUnavailable(ValueError):
    """The evaluation report carries no usable smoke test (the deployment cannot be verified)."""


def quoted(text: str) -> str:
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 3] + "..."


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``; anything else is refused by name."""
    if not isinstance(uri, str) or not uri.startswith("s3://") or "/" not in uri[5:]:
        raise SmokeTestUnavailable(f"the package's evaluation URI {uri!r} is not an s3:// URI")
    bucket, _, key = uri[5:].partition("/")
    if not bucket or not key:
        raise SmokeTestUnavailable(f"the package's evaluation URI {uri!r} names no object")
    return bucket, key


def class_names(report: dict[str, Any]) -> list[str]:
    """The classes the endpoint answers for, in order (contracts.evaluation's reader)."""
    try:
        return reports.class_names(report)
    except reports.ReportError as error:
        raise SmokeTestUnavailable(str(error)) from None


def smoke_test_spec(report: Any) -> dict[str, Any]:
    """The report's ``smoke_test`` block, read by contracts.evaluation: body, content type,
    rows, probabilities, tolerance (contracts.evaluation.SMOKE_TEST_TOLERANCE unless named)."""
    if not isinstance(report, dict):
        raise SmokeTestUnavailable("the evaluation report is not a JSON object")
    try:
        spec = reports.read_smoke_test(report)
    except reports.ReportError as error:
        raise SmokeTestUnavailable(str(error)) from None
    return {
        "body": spec.body,
        "content_type": spec.content_type,
        "probabilities": spec.probabilities,
        "tolerance": spec.tolerance,
        "classes": class_names(report),
    }


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _shown(row: list[Any]) -> str:
    return "[" + ", ".join(f"{v:.4g}" if _is_number(v) else repr(v) for v in row) + "]"


def judge(answer: str, spec: dict[str, Any]) -> list[str]:
    """What is wrong with the endpoint's ``answer`` for ``spec`` (empty: it passes)."""
    try:
        rows = json.loads(answer)
    except ValueError:
        return [f"the answer is not JSON: {quoted(answer)!r}"]
    expected: list[list[float]] = spec["probabilities"]
    classes: list[str] = spec["classes"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        return [f"the answer is not a list of rows: {quoted(answer)!r}"]
    if len(rows) != len(expected):
        return [f"sent {len(expected)} rows, the answer has {len(rows)}: {quoted(answer)!r}"]
    problems = []
    for index, (got, want) in enumerate(zip(rows, expected, strict=True)):
        if len(got) != len(classes):
            problems.append(
                f"row {index}: {len(got)} probabilities for {len(classes)} classes "
                f"({', '.join(classes)}): {_shown(got)}"
            )
            continue
        if not all(_is_number(value) and 0 <= value <= 1 for value in got):
            problems.append(f"row {index}: not probabilities in [0, 1]: {_shown(got)}")
            continue
        total = sum(got)
        if abs(total - 1) > SUM_TOLERANCE:
            problems.append(f"row {index}: probabilities sum to {total:.6g}, not 1: {_shown(got)}")
            continue
        if len(want) != len(got) or any(
            abs(g - w) > spec["tolerance"] for g, w in zip(got, want, strict=True)
        ):
            problems.append(
                f"row {index}: expected {_shown(want)} (the evaluation's prediction, "
                f"tolerance {spec['tolerance']:g}), got {_shown(got)}"
            )
    return problems


def verdict(problems: list[str], rows: int) -> dict[str, Any]:
    """The task's answer: ``passed`` and one sentence a person can act on."""
    if not problems:
        return {
            "passed": True,
            "rows": rows,
            "description": f"{rows} rows answered as the evaluation predicted",
        }
    return {"passed": False, "rows": rows, "description": "; ".join(problems)}


def endpoint_error(code: str, status: Any, message: str) -> str:
    """An invocation the endpoint refused, e.g. ``the endpoint answered 500 ModelError: ...``."""
    shown_status = f"{status} " if status else ""
    return f"the endpoint answered {shown_status}{code}: {quoted(message)}"
