"""The contracts package: the gate, the bounded summary, registry bounds, deployment requests."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import regex

from contracts import deployment, evaluation, execution_input, pipeline, registry, s3_layout
from tests.helpers.stack import evaluation_report

ROOT = Path(__file__).resolve().parents[2]
METADATA_VALUE = regex.compile(r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*")
DESCRIPTION = regex.compile(r"[\p{L}\p{M}\p{Z}\p{S}\p{N}\p{P}]*")


def test_contracts_are_stdlib_only_and_parse_as_python_3_9() -> None:
    stdlib = {
        "__future__",
        "collections",
        "dataclasses",
        "datetime",
        "difflib",
        "functools",
        "hashlib",
        "json",
        "math",
        "os",
        "pathlib",
        "re",
        "sys",
        "tarfile",
        "typing",
        "unicodedata",
    }
    for path in (ROOT / "contracts").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), feature_version=(3, 9))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [str(node.module).split(".")[0]]
            else:
                continue
            assert set(names) <= stdlib | {"contracts"}, (path.name, names)


# ---------------------------------------------------------------- the gate


def test_the_gate_passes_a_candidate_at_the_threshold_with_no_champion() -> None:
    verdict = evaluation.decide_gate(0.9, 0.9)
    assert (verdict.passed, verdict.auto_approvable) == (True, True)


def test_the_gate_refuses_below_the_threshold_naming_label_and_type() -> None:
    verdict = evaluation.decide_gate(0.5, 0.9, label="species", problem_type="multiclass")
    assert not verdict.passed
    assert "0.5000 (label species, multiclass) is below the threshold 0.9" in verdict.cause


def test_the_gate_refuses_a_challenger_worse_than_the_champion_by_more_than_the_margin() -> None:
    verdict = evaluation.decide_gate(0.93, 0.9, champion_accuracy=0.97, margin=0.02)
    assert not verdict.passed
    assert "0.9300" in verdict.cause and "0.9700" in verdict.cause and "0.02" in verdict.cause
    within = evaluation.decide_gate(0.96, 0.9, champion_accuracy=0.97, margin=0.02)
    assert within.passed and within.headline == "accuracy 0.9600 vs serving 0.9700"


def test_a_different_api_passes_the_gate_but_is_never_auto_approvable() -> None:
    verdict = evaluation.decide_gate(
        0.99, 0.9, champion_accuracy=0.5, contract_differences=["classes differ"]
    )
    assert verdict.passed and not verdict.auto_approvable
    assert "classes differ" in verdict.promotion_reason


# ---------------------------------------------------------------- the summary


def _summary(report: dict) -> dict:  # type: ignore[type-arg]
    verdict = evaluation.decide_gate(evaluation.accuracy(report), 0.9)
    return evaluation.build_summary(report, verdict, threshold=0.9, margin=0.0)


def test_the_summary_is_bounded_whatever_the_classes_and_names() -> None:
    report = evaluation_report(0.97)
    classes = [f"class {i} {'é' * 200}" for i in range(500)]
    report["dataset_contract"]["class_names"] = classes
    report["dataset_contract"]["feature_columns"] = [f"feature {i} {'x' * 200}" for i in range(500)]
    report["dataset_contract"]["label_column"] = "l" * 300
    report["multiclass_classification_metrics"]["confusion_matrix"] = {
        a: {p: 1 for p in classes} for a in classes
    }
    summary = _summary(report)
    assert len(json.dumps(summary).encode("utf-8")) <= evaluation.SUMMARY_MAX_BYTES
    for value in summary["registration"]["metadata"].values():
        assert len(value) <= 256 and METADATA_VALUE.fullmatch(value)


def test_the_summary_round_trips_through_its_reader() -> None:
    summary = _summary(evaluation_report(0.97))
    assert evaluation.read_summary(json.dumps(summary)) == summary
    with pytest.raises(evaluation.ReportError):
        evaluation.read_summary('{"schema_version": 99}')


def test_a_report_must_hold_exactly_one_metrics_block() -> None:
    report = evaluation_report(0.97)
    report["binary_classification_metrics"] = report["multiclass_classification_metrics"]
    with pytest.raises(evaluation.ReportError, match="holds binary and multiclass"):
        evaluation.metrics_block(report)


# ---------------------------------------------------------------- registry bounds


@pytest.mark.parametrize(
    "text", ["s3://b/data/raw/iris v2+extra 100%.CSV", "a\nb\x00c", "é" * 5000]
)
def test_descriptions_and_metadata_values_are_always_storable(text: str) -> None:
    described = registry.description([text, text])
    assert len(described) <= registry.DESCRIPTION_MAX and DESCRIPTION.fullmatch(described)
    value = registry.metadata_value(text)
    assert len(value) <= registry.METADATA_VALUE_MAX and METADATA_VALUE.fullmatch(value)


def test_checked_metadata_refuses_what_sagemaker_refuses() -> None:
    with pytest.raises(ValueError, match="not storable"):
        registry.checked_metadata({"k": "100%"})
    with pytest.raises(ValueError, match="at most 50"):
        registry.checked_metadata({f"k{i}": "v" for i in range(51)})
    assert registry.checked_metadata({"deploy": False, "accuracy": 0.97}) == {
        "deploy": "false",
        "accuracy": "0.97",
    }


# ---------------------------------------------------------------- pipeline parameters


def test_every_pipeline_parameter_is_sent_and_bounded() -> None:
    values = {name: "x" for name in pipeline.PARAMETERS}
    assert [p["Name"] for p in pipeline.run_parameters(values)] == list(pipeline.PARAMETERS)
    with pytest.raises(ValueError, match="missing"):
        pipeline.run_parameters({})
    with pytest.raises(ValueError, match="at most 1024"):
        pipeline.run_parameters({**values, pipeline.RUN_NAME: "x" * 1025})


def test_the_input_settings_the_pipeline_reads_are_declared_parameters() -> None:
    defaults = {n: s["default"] for n, s in execution_input.schema()["fields"].items()}
    direct = execution_input.pipeline_values(defaults)
    assert set(direct) <= set(pipeline.PARAMETERS)
    assert direct[pipeline.LABEL_COLUMN] == defaults["label_column"]
    assert direct[pipeline.CHAMPION_MARGIN] == defaults["champion_margin"]
    # what the run itself decides (its copy of the data, the serving model) is not input
    assert pipeline.INPUT_DATA_URI not in direct and pipeline.CHAMPION_MODEL_URI not in direct


# ---------------------------------------------------------------- deployment requests


PACKAGE = {
    "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3",
    "ModelPackageVersion": 3,
    "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
}


def test_the_same_approval_gets_the_same_execution_name() -> None:
    request = deployment.Request(PACKAGE["ModelPackageArn"], deployment.APPROVAL)
    first = deployment.execution_name(request, PACKAGE)
    assert first == deployment.execution_name(request, dict(PACKAGE))
    assert first.startswith("deploy-v3-") and len(first) <= 80
    reapproved = {**PACKAGE, "LastModifiedTime": datetime(2026, 2, 1, tzinfo=UTC)}
    assert deployment.execution_name(request, reapproved) != first


def test_each_rollback_request_gets_its_own_execution_name() -> None:
    one = deployment.Request(PACKAGE["ModelPackageArn"], deployment.ROLLBACK, request_id="a")
    two = deployment.Request(PACKAGE["ModelPackageArn"], deployment.ROLLBACK, request_id="b")
    assert deployment.execution_name(one, PACKAGE) != deployment.execution_name(two, PACKAGE)


def test_approved_at_registration_means_never_modified() -> None:
    assert deployment.approved_at_registration(PACKAGE)
    same = {**PACKAGE, "LastModifiedTime": PACKAGE["CreationTime"]}
    assert deployment.approved_at_registration(same)
    later = {**PACKAGE, "LastModifiedTime": datetime(2026, 3, 1, tzinfo=UTC)}
    assert not deployment.approved_at_registration(later)


def test_an_approval_event_and_a_project_request_parse_to_requests() -> None:
    event = {
        "source": "aws.sagemaker",
        "detail": {
            "ModelPackageArn": PACKAGE["ModelPackageArn"],
            "ModelApprovalStatus": "Approved",
        },
    }
    assert deployment.parse_message(event).reason == deployment.APPROVAL
    sent = json.loads(
        deployment.request_message(
            deployment.Request(PACKAGE["ModelPackageArn"], deployment.ROLLBACK, "ops", "id-1")
        )
    )
    assert deployment.parse_message(sent).request_id == "id-1"
    with pytest.raises(deployment.RequestError):
        deployment.parse_message(
            {"source": "aws.sagemaker", "detail": {"ModelApprovalStatus": "Rejected"}}
        )


# ---------------------------------------------------------------- the S3 layout


def test_keys_are_built_from_the_declared_prefixes() -> None:
    assert s3_layout.run_input_key("run-1", "a b.csv") == "runs/run-1/input/a b.csv"
    assert s3_layout.deployment_record_key("ep", "2026", "x") == "deployments/ep/2026-x.json"
    assert all(p.path.endswith("/") for p in s3_layout.PREFIXES)
    assert s3_layout.split_s3_uri("s3://b/k/x.csv") == ("b", "k/x.csv")
    with pytest.raises(ValueError):
        s3_layout.split_s3_uri("/tmp/x.csv")
