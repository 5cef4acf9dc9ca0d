"""The dataset contract (contracts/dataset.py), the evaluation report's one reader
(contracts/evaluation.py) and the class names a model package stores (contracts/registry.py)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from contracts import dataset, registry
from contracts import evaluation as reports

FEATURES = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"]
CLASSES = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]


def document(features: list[str] = FEATURES, classes: list[str] = CLASSES) -> dict[str, Any]:
    return dataset.build(
        label_column="Species",
        feature_columns=features,
        class_names=classes,
        rows={"train": 90, "validation": 30, "test": 30},
        class_counts=dict.fromkeys(classes, 50),
        source_files=["iris.csv"],
        source_bytes=4551,
    )


def contract(features: list[str] = FEATURES, classes: list[str] = CLASSES) -> dataset.Contract:
    return dataset.parse(document(features, classes), "contract.json")


# --------------------------------------------------------------------------- the document


def test_the_document_states_problem_type_objective_and_tuning_metric() -> None:
    multi, binary = document(), document(classes=["no", "yes"])
    assert (multi["problem_type"], multi["objective"], multi["tuning_metric"]) == (
        "multiclass",
        "multi:softprob",
        "validation:mlogloss",
    )
    assert (binary["problem_type"], binary["objective"], binary["tuning_metric"]) == (
        "binary",
        "binary:logistic",
        "validation:logloss",
    )
    assert multi["rows"] == {"total": 150, "train": 90, "validation": 30, "test": 30}
    assert multi["feature_types"] == dict.fromkeys(FEATURES, "float64")
    assert multi["schema_version"] == dataset.SCHEMA_VERSION
    assert json.loads(dataset.text(multi)) == multi and dataset.text(multi).endswith("}\n")


def test_a_parsed_contract_exposes_what_the_steps_use() -> None:
    parsed = contract()
    assert parsed.feature_columns == FEATURES and parsed.class_names == CLASSES
    assert (parsed.num_classes, parsed.binary, parsed.label_column) == (3, False, "Species")
    assert parsed.document == document()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema_version": 2}, "schema_version 2, expected 1"),
        ({"feature_columns": []}, "feature_columns is not a non-empty list"),
        ({"feature_columns": ["a", "a"]}, "repeats a name"),
        ({"class_names": ["only"]}, "class_names is not a list of at least two names"),
        ({"objective": "binary:logistic"}, "do not fit 3 classes"),
        ({"num_classes": 2}, "do not fit 3 classes"),
        ({"label_column": ""}, "label_column is not a name"),
    ],
)
def test_a_broken_contract_is_refused_by_file_and_field(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(dataset.ContractError, match=message) as caught:
        dataset.parse({**document(), **change}, "contract.json in the model directory")
    assert str(caught.value).startswith("contract.json in the model directory: ")
    assert "rerun it" in str(caught.value)


def test_read_names_the_directory_when_the_file_is_missing(tmp_path: Path) -> None:
    with pytest.raises(dataset.ContractError, match=r"no contract\.json in the contract channel"):
        dataset.read(tmp_path, "contract channel")
    (tmp_path / "contract.json").write_text("{not json")
    with pytest.raises(dataset.ContractError, match="invalid JSON"):
        dataset.read(tmp_path, "contract channel")
    (tmp_path / "contract.json").write_text(dataset.text(document()))
    assert dataset.read(tmp_path, "contract channel") == contract()


def model_archive(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_the_contract_is_read_from_a_model_archive(tmp_path: Path) -> None:
    text = dataset.text(document()).encode()
    archive = model_archive(
        tmp_path / "model.tar.gz", {"xgboost-model.json": b"{}", "./contract.json": text}
    )
    assert dataset.read_model_archive(archive) == contract()
    bare = model_archive(tmp_path / "bare.tar.gz", {"xgboost-model.json": b"{}"})
    with pytest.raises(dataset.ContractError, match=r"holds no contract\.json"):
        dataset.read_model_archive(bare)
    (tmp_path / "broken.tar.gz").write_bytes(b"not a tarball")
    with pytest.raises(dataset.ContractError, match="unreadable model archive"):
        dataset.read_model_archive(tmp_path / "broken.tar.gz")


# --------------------------------------------------------------------------- the endpoint's API


def test_the_serving_order_applies_only_to_the_same_features_in_another_order() -> None:
    reordered = [FEATURES[2], FEATURES[0], FEATURES[3], FEATURES[1]]
    assert dataset.serving_order(FEATURES, reordered) == reordered
    assert dataset.serving_order(FEATURES, FEATURES) is None  # already the same
    assert dataset.serving_order(FEATURES, FEATURES[:3]) is None  # another feature set
    assert dataset.serving_order(FEATURES, [*FEATURES[:3], "Colour"]) is None


def test_api_differences_name_features_order_and_classes() -> None:
    serving = contract()
    assert dataset.api_differences(contract(), serving) == []
    [order] = dataset.api_differences(contract(list(reversed(FEATURES))), serving)
    assert order.startswith("order: the candidate expects 'PetalWidth', 'PetalLength'")
    [features] = dataset.api_differences(contract([*FEATURES[:3], "Colour"]), serving)
    assert features == "features: the candidate adds 'Colour'; it lacks 'PetalWidth'"
    [classes] = dataset.api_differences(contract(classes=["a", "b", "c"]), serving)
    assert classes.startswith("classes: the candidate answers for 'a', 'b', 'c'; the serving")
    # The class order is the probabilities' order: another order is another API.
    swapped = contract(classes=[CLASSES[1], CLASSES[0], CLASSES[2]])
    assert [d.split(":")[0] for d in dataset.api_differences(swapped, serving)] == ["classes"]
    both = dataset.api_differences(contract(FEATURES[:2], ["x", "y"]), serving)
    assert [d.split(":")[0] for d in both] == ["features", "classes"]


def test_long_lists_are_shortened_in_a_difference() -> None:
    many = [f"f{i}" for i in range(40)]
    [features] = dataset.api_differences(contract(many), contract())
    assert "and 32 more" in features and len(features) < 300


# --------------------------------------------------------------------------- the one reader


def evaluation(**changes: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "multiclass_classification_metrics": {"accuracy": {"value": 0.9}},
        "dataset_contract": document(),
        "smoke_test": {
            "content_type": "text/csv",
            "body": "5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3\n",
            "rows": 2,
            "probabilities": [[0.98, 0.01, 0.01], [0.02, 0.96, 0.02]],
            "tolerance": 1e-4,
        },
    }
    report.update(changes)
    return report


def test_the_smoke_test_is_read_checked() -> None:
    spec = reports.read_smoke_test(evaluation())
    assert spec.rows == ["5.1,3.5,1.4,0.2", "6.2,2.9,4.3,1.3"]
    assert (spec.content_type, spec.tolerance) == ("text/csv", 1e-4)
    untold = evaluation()
    del untold["smoke_test"]["tolerance"]
    assert reports.read_smoke_test(untold).tolerance == reports.SMOKE_TEST_TOLERANCE == 1e-4


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (None, "no smoke_test block"),
        ({"body": "", "probabilities": [[1.0]]}, "body is empty"),
        ({"body": "1\n", "probabilities": "x"}, "not a list of rows"),
        ({"body": "1\n2\n", "probabilities": [[1.0]]}, "2 body rows but 1 rows"),
        ({"body": "1\n", "probabilities": [[1.0]], "tolerance": -1}, "not a number >= 0"),
    ],
)
def test_a_broken_smoke_test_is_named(block: Any, message: str) -> None:
    with pytest.raises(reports.ReportError, match=message):
        reports.read_smoke_test(evaluation(smoke_test=block))


def test_classes_and_features_come_from_the_contract() -> None:
    assert reports.class_names(evaluation()) == CLASSES
    assert reports.feature_columns(evaluation()) == FEATURES
    older = {"class_names": ["a", "b"], "dataset_contract": {}}
    assert reports.class_names(older) == ["a", "b"]
    with pytest.raises(reports.ReportError, match="names no classes"):
        reports.class_names({})
    with pytest.raises(reports.ReportError, match="no feature_columns"):
        reports.feature_columns({"dataset_contract": {"class_names": CLASSES}})


def test_the_summary_reads_the_champion_in_the_candidates_block_shape() -> None:
    champion = {
        "model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1",
        "metrics": {"multiclass_classification_metrics": {"accuracy": {"value": 0.97}}},
        "contract_matches": True,
        "differences": [],
    }
    report = evaluation(champion=champion)
    verdict = reports.decide_gate(0.9, 0.8, champion_accuracy=0.97, margin=0.02)
    summary = reports.build_summary(report, verdict, threshold=0.8, margin=0.02)
    assert summary["champion"] == {
        "model_package_arn": champion["model_package_arn"],
        "accuracy": 0.97,
        "contract_matches": True,
    }
    assert summary["gate"]["passed"] is False
    assert "0.9700" in summary["gate"]["cause"] and "0.9000" in summary["gate"]["cause"]
    other = {**champion, "contract_matches": False, "differences": ["classes: x"]}
    del other["metrics"]
    differing = reports.build_summary(
        evaluation(champion=other), reports.decide_gate(0.9, 0.8), threshold=0.8, margin=0.0
    )
    assert differing["champion"]["accuracy"] is None
    assert differing["contract"]["differences"] == ["classes: x"]


# --------------------------------------------------------------------------- the package


@pytest.mark.parametrize(
    ("names", "stored"),
    [
        (CLASSES, "Iris-setosa / Iris-versicolor / Iris-virginica"),
        (["malignant", "benign"], "malignant / benign"),
        (["0", "1", "2"], "0 / 1 / 2"),
        ([">50K", "<=50K"], registry.CLASS_NAMES_ELSEWHERE),  # '>' and '<' are refused
        (["a/b", "c"], registry.CLASS_NAMES_ELSEWHERE),  # a '/' would make the list ambiguous
        ([f"class number {i:03d}" for i in range(20)], registry.CLASS_NAMES_ELSEWHERE),  # > 256
    ],
)
def test_class_names_are_stored_in_the_package_metadata_when_they_fit(
    names: list[str], stored: str
) -> None:
    """What CreateModelPackage's metadata can hold (botocore's CustomerMetadataValue: 256
    characters of letters, separators, numbers, _ . : / = + - @)."""
    value = registry.class_names_value(names)
    assert value == stored
    assert len(value) <= 256 and registry.metadata_safe(value)


def test_the_input_check_uses_the_registrys_metadata_rule() -> None:
    from contracts import execution_input

    assert execution_input.metadata_safe is registry.metadata_safe
