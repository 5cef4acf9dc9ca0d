"""The evaluation report, the run summary the training machine reads, and the promotion gate.

One writer (``ml/evaluate.py``, in the evaluation step) and these readers:

- ``evaluation.json``: SageMaker's model-quality statistics shape (``binary_classification_metrics``
  or ``multiclass_classification_metrics``), plus ``dataset_contract``, ``smoke_test`` and, when a
  model was serving, ``champion`` (``{model_package_arn, metrics: {<the same block>},
  contract_matches, differences}``; no ``metrics`` when its API differs). Read by the smoke test,
  the ops CLI and the harness through ``metrics_block`` / ``accuracy`` / ``f1`` /
  ``class_names`` / ``feature_columns`` / ``read_smoke_test`` below.
- ``summary.json``: the few fields the state machine reads (``build_summary``), bounded far below
  Step Functions' 256 KiB payload limit whatever the number of classes or the names in the data.
- the gate (``decide_gate``): register a candidate only if its accuracy reaches the threshold AND
  it is not worse than the serving model (the champion) by more than the margin.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contracts import registry

BINARY_BLOCK = "binary_classification_metrics"
MULTICLASS_BLOCK = "multiclass_classification_metrics"
BLOCKS = {"binary": BINARY_BLOCK, "multiclass": MULTICLASS_BLOCK}
SUMMARY_SCHEMA_VERSION = 1
#: The smoke test compares the endpoint's probabilities with the evaluation's within this.
SMOKE_TEST_TOLERANCE = 1e-4
#: The summary is read into the state machine's data: far below Step Functions' 256 KiB.
SUMMARY_MAX_BYTES = 16 * 1024
CAUSE_MAX = 900
HEADLINE_MAX = 300
DIFFERENCES_MAX = 5
DIFFERENCE_MAX = 200


class ReportError(ValueError):
    """An evaluation report that does not follow the contract; the message says what is missing."""


def metrics_block(report: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """(problem type, its metrics block): exactly one of the two blocks must be present."""
    present = [kind for kind, block in BLOCKS.items() if isinstance(report.get(block), Mapping)]
    if len(present) != 1:
        raise ReportError(
            f"evaluation.json must hold exactly one of {BINARY_BLOCK} and {MULTICLASS_BLOCK}; "
            f"it holds {' and '.join(present) or 'neither'}"
        )
    return present[0], report[BLOCKS[present[0]]]


def metric(block: Mapping[str, Any], name: str) -> float | None:
    """``block[name].value`` as a finite float, or None."""
    entry = block.get(name)
    value = entry.get("value") if isinstance(entry, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def accuracy(report: Mapping[str, Any]) -> float:
    _, block = metrics_block(report)
    value = metric(block, "accuracy")
    if value is None:
        raise ReportError("evaluation.json has no numeric accuracy.value")
    return value


def f1(report: Mapping[str, Any]) -> float | None:
    kind, block = metrics_block(report)
    return metric(block, "f1" if kind == "binary" else "weighted_f1")


@dataclass(frozen=True)
class SmokeTest:
    """The report's smoke test: test rows as a client sends them (``body``, one row per line)
    and the evaluation's own answer for each, which the endpoint must give within
    ``tolerance``."""

    body: str
    content_type: str
    rows: list[str]
    probabilities: list[list[Any]]
    tolerance: float


def read_smoke_test(report: Mapping[str, Any]) -> SmokeTest:
    """The report's ``smoke_test`` block, checked: a body, as many answers as body rows, and a
    tolerance (``SMOKE_TEST_TOLERANCE`` when the report names none)."""
    block = report.get("smoke_test")
    if not isinstance(block, Mapping):
        raise ReportError("evaluation.json has no smoke_test block (written by ml/evaluate.py)")
    body, expected = block.get("body"), block.get("probabilities")
    if not isinstance(body, str) or not body.strip():
        raise ReportError("evaluation.json's smoke_test.body is empty")
    if (
        not isinstance(expected, list)
        or not expected
        or not all(isinstance(r, list) for r in expected)
    ):
        raise ReportError("evaluation.json's smoke_test.probabilities is not a list of rows")
    rows = [line.strip() for line in body.splitlines() if line.strip()]
    if len(rows) != len(expected):
        raise ReportError(
            f"evaluation.json's smoke_test has {len(rows)} body rows but {len(expected)} rows "
            "of probabilities"
        )
    tolerance = block.get("tolerance", SMOKE_TEST_TOLERANCE)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or tolerance < 0:
        raise ReportError(f"smoke_test.tolerance {tolerance!r} is not a number >= 0")
    content_type = str(block.get("content_type") or "text/csv")
    return SmokeTest(body, content_type, rows, [list(r) for r in expected], float(tolerance))


def contract_of(report: Mapping[str, Any]) -> Mapping[str, Any]:
    contract = report.get("dataset_contract")
    if not isinstance(contract, Mapping):
        raise ReportError("evaluation.json has no dataset_contract")
    return contract


def _names(value: Any) -> list[str] | None:
    """``value`` as a list of names, or None when it is not one."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    return None


def class_names(report: Mapping[str, Any]) -> list[str]:
    """The classes the model answers for, in label-index order (the dataset contract's; a
    report written before the contract travelled in it carries them at the top)."""
    contract = report.get("dataset_contract")
    names = contract.get("class_names") if isinstance(contract, Mapping) else None
    found = _names(report.get("class_names") if names is None else names)
    if found is None or len(found) < 2:
        raise ReportError("evaluation.json names no classes (dataset_contract.class_names)")
    return found


def feature_columns(report: Mapping[str, Any]) -> list[str]:
    """The features the model reads, in the order a client sends them."""
    features = _names(contract_of(report).get("feature_columns"))
    if not features:
        raise ReportError("evaluation.json's dataset_contract has no feature_columns")
    return features


# --------------------------------------------------------------------------- the gate


@dataclass(frozen=True)
class GateVerdict:
    passed: bool
    cause: str
    headline: str
    auto_approvable: bool
    promotion_reason: str


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def decide_gate(
    candidate_accuracy: float,
    threshold: float,
    *,
    champion_accuracy: float | None = None,
    margin: float = 0.0,
    contract_differences: Sequence[str] = (),
    label: str = "",
    problem_type: str = "",
) -> GateVerdict:
    """Register only a candidate at or above ``threshold`` and, when a comparable model serves,
    not below its accuracy by more than ``margin``. A candidate whose features or classes differ
    from the serving model's is never auto-approvable (its API is different)."""
    what = f"label {label}, {problem_type}" if label else problem_type
    compared = champion_accuracy is not None and not contract_differences
    headline = f"accuracy {_fmt(candidate_accuracy)}" + (
        f" vs serving {_fmt(champion_accuracy)}" if compared else ""
    )
    if candidate_accuracy < threshold:
        cause = (
            f"Model accuracy {_fmt(candidate_accuracy)} ({what}) is below the threshold "
            f"{threshold:g}; the model was not registered."
        )
        if compared:
            cause += f" The serving model scores {_fmt(champion_accuracy)} on the same test split."
        return GateVerdict(False, cause, headline, False, "refused by the gate")
    if compared and candidate_accuracy < float(champion_accuracy) - margin:  # type: ignore[arg-type]
        cause = (
            f"Model accuracy {_fmt(candidate_accuracy)} ({what}) is worse than the serving "
            f"model's {_fmt(champion_accuracy)} on the same test split by more than the margin "
            f"{margin:g}; the model was not registered."
        )
        return GateVerdict(False, cause, headline, False, "refused by the gate")
    if contract_differences:
        reason = (
            "its features or classes differ from the serving model's ("
            + "; ".join(contract_differences)
            + "): approving it changes the endpoint's API, so it needs an explicit approval"
        )
        return GateVerdict(True, "", headline, False, registry.shorten(reason, HEADLINE_MAX))
    return GateVerdict(True, "", headline, True, "passed the gate")


# --------------------------------------------------------------------------- the summary


def api_fingerprint(feature_columns: Sequence[str], class_names: Sequence[str]) -> str:
    """The endpoint's API in one value: features in order and classes in label-index order."""
    return registry.sha256(json.dumps([list(feature_columns), list(class_names)]))


def build_summary(
    report: Mapping[str, Any],
    verdict: GateVerdict,
    *,
    threshold: float,
    margin: float,
) -> dict[str, Any]:
    """``summary.json``: what the training machine reads, every field bounded."""
    problem_type, _ = metrics_block(report)
    contract = contract_of(report)
    candidate = accuracy(report)
    champion = report.get("champion") if isinstance(report.get("champion"), Mapping) else None
    champion_accuracy = _champion_metric(champion, "accuracy")
    features = [str(name) for name in contract.get("feature_columns", [])]
    classes = [str(name) for name in contract.get("class_names", [])]
    differences = [
        registry.shorten(str(text), DIFFERENCE_MAX)
        for text in (champion or {}).get("differences", [])[:DIFFERENCES_MAX]
    ]
    fingerprint = api_fingerprint(features, classes)
    metadata = {
        "accuracy": candidate,
        "label_column": registry.metadata_value(contract.get("label_column", "")),
        "problem_type": problem_type,
        "num_classes": int(contract.get("num_classes", len(classes))),
        "class_names": registry.class_names_value(classes),
        "api_fingerprint": fingerprint,
        "auto_approvable": verdict.auto_approvable,
    }
    if champion is not None:
        metadata["champion_package"] = registry.metadata_value(champion.get("model_package_arn"))
        if champion_accuracy is not None:
            metadata["champion_accuracy"] = champion_accuracy
    found = report.get("model")
    model: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    summary = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "problem_type": problem_type,
        "label_column": registry.shorten(str(contract.get("label_column", "")), 256),
        "model_artifact_uri": str(model.get("artifact_uri", "")),
        "candidate": {"accuracy": candidate, "f1": f1(report)},
        "champion": None
        if champion is None
        else {
            "model_package_arn": str(champion.get("model_package_arn", "")),
            "accuracy": champion_accuracy,
            "contract_matches": not differences,
        },
        "contract": {"api_fingerprint": fingerprint, "differences": differences},
        "gate": {
            "passed": verdict.passed,
            "threshold": threshold,
            "margin": margin,
            "cause": registry.shorten(verdict.cause, CAUSE_MAX),
            "headline": registry.shorten(verdict.headline, HEADLINE_MAX),
        },
        "promotion": {
            "auto_approvable": verdict.auto_approvable,
            "reason": registry.shorten(verdict.promotion_reason, HEADLINE_MAX),
        },
        "registration": {"metadata": registry.checked_metadata(metadata)},
    }
    size = len(json.dumps(summary).encode("utf-8"))
    if size > SUMMARY_MAX_BYTES:
        raise ReportError(f"summary.json would be {size} bytes; the bound is {SUMMARY_MAX_BYTES}")
    return summary


def _champion_metric(champion: Mapping[str, Any] | None, name: str) -> float | None:
    """``champion.metrics.<block>.<name>.value``: the serving model's metric in the candidate's
    block shape; None when it was not scored (its API differs)."""
    if champion is None:
        return None
    metrics = champion.get("metrics")
    if not isinstance(metrics, Mapping) or not metrics:
        return None
    _, block = metrics_block(metrics)
    return metric(block, name)


def read_summary(text: str) -> dict[str, Any]:
    summary = json.loads(text)
    if not isinstance(summary, dict) or summary.get("schema_version") != SUMMARY_SCHEMA_VERSION:
        raise ReportError(f"summary.json has no schema_version {SUMMARY_SCHEMA_VERSION}")
    return summary
