"""The dataset contract: what ``ml/prepare.py`` derived from the data, read by every later step.

``contract.json`` is written by prepare.py (the PrepareData step's ``contract`` output) and read
by train.py (its ``contract`` channel; it copies the file into the model, where serving reads
it), evaluate.py and the monitor (from the model or beside the baseline), and, through the
evaluation report's ``dataset_contract``, by ``ops`` and the deployment's smoke test.

The features in their order and the classes in label-index order are the endpoint's API: a
client sends rows of those features and gets one probability per class back. ``serving_order``
and ``api_differences`` compare a candidate's API with the serving model's.

Standard library only, Python 3.8-compatible (the containers' interpreters run it).
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
FILE_NAME = "contract.json"
#: The model artifact SageMaker writes at the end of a training job; train.py puts a copy of the
#: contract at its root.
MODEL_ARCHIVE = "model.tar.gz"
FEATURE_TYPE = "float64"
BINARY, MULTICLASS = "binary", "multiclass"
#: XGBoost's objective per problem type: binary:logistic answers P(class 1), multi:softprob one
#: probability per class (xgboost's learning task parameters).
OBJECTIVES: Mapping[str, str] = {BINARY: "binary:logistic", MULTICLASS: "multi:softprob"}
BINARY_OBJECTIVE = OBJECTIVES[BINARY]
MULTICLASS_OBJECTIVE = OBJECTIVES[MULTICLASS]
#: The metric each problem type is tuned on: a metric the XGBoost image itself defines.
TUNING_METRICS: Mapping[str, str] = {
    BINARY: "validation:logloss",
    MULTICLASS: "validation:mlogloss",
}
#: Names a difference lists before it counts the rest (a message stays readable).
LISTED_NAMES = 8


class ContractError(ValueError):
    """A contract that does not follow this module; the message names the file and the field."""


def problem_type(num_classes: int) -> str:
    return BINARY if num_classes == 2 else MULTICLASS


def build(
    *,
    label_column: str,
    feature_columns: Sequence[str],
    class_names: Sequence[str],
    rows: Mapping[str, int],
    class_counts: Mapping[str, int],
    source_files: Sequence[str],
    source_bytes: int,
) -> dict[str, Any]:
    """The contract document prepare.py writes (``rows``: per split; the total is added)."""
    kind = problem_type(len(class_names))
    return {
        "schema_version": SCHEMA_VERSION,
        "label_column": label_column,
        "feature_columns": list(feature_columns),
        "feature_types": {name: FEATURE_TYPE for name in feature_columns},
        "class_names": list(class_names),
        "num_classes": len(class_names),
        "problem_type": kind,
        "objective": OBJECTIVES[kind],
        "tuning_metric": TUNING_METRICS[kind],
        "rows": {"total": sum(rows.values()), **rows},
        "class_counts": dict(class_counts),
        "source_files": list(source_files),
        "source_bytes": int(source_bytes),
    }


def text(document: Mapping[str, Any]) -> str:
    """The file's text: sorted, indented JSON ending in a newline."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class Contract:
    """A checked contract: the parts every step uses, and the whole document."""

    label_column: str
    feature_columns: list[str]
    class_names: list[str]
    document: dict[str, Any]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def problem_type(self) -> str:
        return problem_type(self.num_classes)

    @property
    def binary(self) -> bool:
        return self.problem_type == BINARY

    @property
    def objective(self) -> str:
        return OBJECTIVES[self.problem_type]

    @property
    def tuning_metric(self) -> str:
        return TUNING_METRICS[self.problem_type]


def _names(value: Any) -> list[str] | None:
    """``value`` as a list of non-empty names, or None when it is not one."""
    if isinstance(value, list) and all(isinstance(item, str) and item for item in value):
        return list(value)
    return None


def parse(document: Any, source: str) -> Contract:
    """Check a contract document; the error names ``source`` and the broken field."""

    def broken(problem: str) -> ContractError:
        return ContractError(
            f"{source}: {problem}; it is written by prepare.py (the PrepareData step): rerun it"
        )

    if not isinstance(document, dict):
        raise broken("not a JSON object")
    if document.get("schema_version") != SCHEMA_VERSION:
        raise broken(
            f"schema_version {document.get('schema_version')!r}, expected {SCHEMA_VERSION}"
        )
    features, classes = _names(document.get("feature_columns")), _names(document.get("class_names"))
    if not features:
        raise broken("feature_columns is not a non-empty list of names")
    if classes is None or len(classes) < 2:
        raise broken("class_names is not a list of at least two names")
    if len(set(features)) != len(features) or len(set(classes)) != len(classes):
        raise broken("feature_columns or class_names repeats a name")
    expected = OBJECTIVES[problem_type(len(classes))]
    if document.get("objective") != expected or document.get("num_classes") != len(classes):
        raise broken(
            f"objective {document.get('objective')!r} / num_classes "
            f"{document.get('num_classes')!r} do not fit {len(classes)} classes "
            f"(expected {expected!r})"
        )
    label = document.get("label_column")
    if not isinstance(label, str) or not label:
        raise broken("label_column is not a name")
    return Contract(label, features, classes, dict(document))


def _parse_text(data: bytes, source: str) -> Contract:
    try:
        document = json.loads(data.decode("utf-8"))
    except ValueError as error:
        raise ContractError(f"{source}: invalid JSON ({error})") from None
    return parse(document, source)


def read(directory: Path, what: str) -> Contract:
    """``contract.json`` in ``directory`` (``what`` names the directory in an error)."""
    path = Path(directory) / FILE_NAME
    if not path.is_file():
        raise ContractError(
            f"no {FILE_NAME} in the {what} ({Path(directory)}); prepare.py writes it beside the "
            "splits (processing output 'contract') and train.py copies it into the model"
        )
    return _parse_text(path.read_bytes(), f"{FILE_NAME} in the {what}")


def _root_name(name: str) -> str:
    return name[2:] if name.startswith("./") else name


def read_model_archive(archive: Path) -> Contract:
    """The contract inside a model.tar.gz (train.py writes it at the archive's root), read
    without extracting anything else."""
    source = f"{FILE_NAME} in {archive.name}"
    try:
        with tarfile.open(archive, "r:*") as tar:
            member = next(
                (m for m in tar.getmembers() if m.isfile() and _root_name(m.name) == FILE_NAME),
                None,
            )
            if member is None:
                raise ContractError(
                    f"{archive.name} holds no {FILE_NAME}: the model was not trained by this "
                    "project's train.py, which copies the dataset contract into the model"
                )
            handle = tar.extractfile(member)
            data = handle.read() if handle is not None else b""
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ContractError(f"{archive.name}: unreadable model archive ({error})") from None
    return _parse_text(data, source)


def serving_order(features: Sequence[str], serving: Sequence[str]) -> list[str] | None:
    """The serving model's feature order when it names exactly ``features`` in another order;
    None when the order already matches or the sets differ (then the API differs anyway)."""
    if list(features) == list(serving) or sorted(features) != sorted(serving):
        return None
    return list(serving)


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(repr(name) for name in names[:LISTED_NAMES])
    more = len(names) - LISTED_NAMES
    return shown + (f" and {more} more" if more > 0 else "")


def api_differences(candidate: Contract, serving: Contract) -> list[str]:
    """How the candidate's API differs from the serving model's, each difference named by what
    differs (``features``, ``order``, ``classes``); empty when a client sees no change."""
    differences = []
    ours, theirs = candidate.feature_columns, serving.feature_columns
    added = [name for name in ours if name not in theirs]
    lacking = [name for name in theirs if name not in ours]
    if added or lacking:
        parts = []
        if added:
            parts.append(f"the candidate adds {_listed(added)}")
        if lacking:
            parts.append(f"it lacks {_listed(lacking)}")
        differences.append("features: " + "; ".join(parts))
    elif ours != theirs:
        differences.append(
            f"order: the candidate expects {_listed(ours)}; the serving model {_listed(theirs)}"
        )
    if candidate.class_names != serving.class_names:
        differences.append(
            f"classes: the candidate answers for {_listed(candidate.class_names)}; the serving "
            f"model for {_listed(serving.class_names)}"
        )
    return differences
