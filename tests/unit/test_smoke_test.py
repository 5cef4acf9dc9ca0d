"""The deployment smoke test's judgement (lambdas/smoke_test/logic.py) on crafted reports."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas.smoke_test import logic

CLASSES = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
EXPECTED = [[0.98, 0.01, 0.01], [0.02, 0.96, 0.02], [0.01, 0.03, 0.96]]


def report(**smoke: Any) -> dict[str, Any]:
    block = {
        "content_type": "text/csv",
        "body": "5.1,3.5,1.4,0.2\n6.0,2.9,4.5,1.5\n6.9,3.1,5.4,2.1\n",
        "rows": 3,
        "probabilities": EXPECTED,
        "tolerance": 1e-4,
        **smoke,
    }
    return {"dataset_contract": {"class_names": CLASSES}, "smoke_test": block}


def spec(**smoke: Any) -> dict[str, Any]:
    return logic.smoke_test_spec(report(**smoke))


def test_the_evaluations_own_answer_passes() -> None:
    problems = logic.judge(json.dumps(EXPECTED), spec())
    assert problems == []
    assert logic.verdict(problems, 3) == {
        "passed": True,
        "rows": 3,
        "description": "3 rows answered as the evaluation predicted",
    }


def test_a_row_within_tolerance_passes_and_one_beyond_it_is_named() -> None:
    near = [[0.98005, 0.00995, 0.01], *EXPECTED[1:]]
    assert logic.judge(json.dumps(near), spec()) == []
    far = [EXPECTED[0], EXPECTED[1], [0.9, 0.05, 0.05]]
    (problem,) = logic.judge(json.dumps(far), spec())
    assert problem.startswith("row 2: expected [0.01, 0.03, 0.96]")
    assert problem.endswith("got [0.9, 0.05, 0.05]")


def test_an_answer_that_is_not_json_is_quoted() -> None:
    (problem,) = logic.judge("<html>oops</html>", spec())
    assert problem == "the answer is not JSON: '<html>oops</html>'"


def test_a_missing_row_is_counted() -> None:
    (problem,) = logic.judge(json.dumps(EXPECTED[:2]), spec())
    assert problem.startswith("sent 3 rows, the answer has 2")


def test_one_probability_per_class_of_the_contract() -> None:
    two = [[0.5, 0.5]] * 3
    problems = logic.judge(json.dumps(two), spec())
    assert len(problems) == 3
    assert problems[0] == (
        "row 0: 2 probabilities for 3 classes (Iris-setosa, Iris-versicolor, Iris-virginica): "
        "[0.5, 0.5]"
    )


def test_rows_must_sum_to_one() -> None:
    (problem,) = logic.judge(json.dumps([[0.5, 0.4, 0.4], *EXPECTED[1:]]), spec())
    assert problem.startswith("row 0: probabilities sum to 1.3, not 1")


def test_values_outside_zero_one_are_not_probabilities() -> None:
    (problem,) = logic.judge(json.dumps([[1.5, -0.5, 0.0], *EXPECTED[1:]]), spec())
    assert problem.startswith("row 0: not probabilities in [0, 1]")


def test_labels_instead_of_probabilities_are_refused() -> None:
    (problem,) = logic.judge(json.dumps([0, 1, 2]), spec())
    assert problem == "the answer is not a list of rows: '[0, 1, 2]'"


def test_a_report_without_a_smoke_test_cannot_verify_the_deployment() -> None:
    with pytest.raises(logic.SmokeTestUnavailable, match="no smoke_test block"):
        logic.smoke_test_spec({"dataset_contract": {"class_names": CLASSES}})


def test_body_rows_and_probabilities_must_agree() -> None:
    with pytest.raises(logic.SmokeTestUnavailable, match="3 body rows but 2 rows"):
        spec(probabilities=EXPECTED[:2])


def test_classes_come_from_the_contract_or_the_older_top_level_list() -> None:
    assert logic.class_names({"dataset_contract": {"class_names": ["0", "1"]}}) == ["0", "1"]
    assert logic.class_names({"class_names": CLASSES}) == CLASSES
    with pytest.raises(logic.SmokeTestUnavailable, match="names no classes"):
        logic.class_names({})


def test_binary_answers_two_probabilities() -> None:
    binary = {
        "dataset_contract": {"class_names": ["no", "yes"]},
        "smoke_test": {"body": "1,2\n", "probabilities": [[0.3, 0.7]], "tolerance": 1e-4},
    }
    checked = logic.smoke_test_spec(binary)
    assert logic.judge("[[0.3, 0.7]]", checked) == []
    assert logic.judge("[0.7]", checked) == ["the answer is not a list of rows: '[0.7]'"]


@pytest.mark.parametrize(
    ("uri", "parsed"),
    [
        ("s3://bucket/evaluation/x/evaluation.json", ("bucket", "evaluation/x/evaluation.json")),
    ],
)
def test_s3_uris_are_split(uri: str, parsed: tuple[str, str]) -> None:
    assert logic.parse_s3_uri(uri) == parsed


@pytest.mark.parametrize("uri", ["https://x/y", "s3://bucket", "s3://bucket/", "s3:///key"])
def test_other_uris_are_refused(uri: str) -> None:
    with pytest.raises(logic.SmokeTestUnavailable):
        logic.parse_s3_uri(uri)


def test_an_endpoint_error_is_described_with_its_status() -> None:
    text = logic.endpoint_error("ModelError", 500, "Received server error (500) from primary")
    assert text == "the endpoint answered 500 ModelError: Received server error (500) from primary"
    assert not logic.verdict([text], 3)["passed"]
