"""Condition steps in the local SageMaker executor: conditions, branches, what is skipped.

The condition types and request shapes are the SDK's (``sagemaker/workflow/conditions.py``);
the step's outcome is ``Metadata.Condition.Outcome`` "True"/"False" (botocore
``ConditionStepMetadata``); only the chosen branch runs (developer guide, Condition step:
https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-steps.html#step-type-condition).
The run through the emulator is in tests/integration/test_sagemaker_executor.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import botocore.session
import pytest

from emulator.sagemaker_executor import conditions
from emulator.sagemaker_executor.definition import (
    DefinitionError,
    Resolver,
    StepGraph,
    parameter_values,
)
from emulator.sagemaker_executor.steps import (
    STEP_EXECUTORS,
    ConditionStepExecutor,
    StepContext,
    executor_for,
)
from emulator.tests.helpers import pipeline_definition as _definition


def _cmp(kind: str, left: Any, right: Any) -> dict[str, Any]:
    return {"Type": kind, "LeftValue": left, "RightValue": right}


TRUE, FALSE = _cmp("Equals", 1, 1), _cmp("Equals", 1, 2)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (_cmp("Equals", 2, 2), True),
        (_cmp("Equals", 2, 2.0), True),  # Integer and Float parameters compare as numbers
        (_cmp("Equals", "binary", "binary"), True),
        (_cmp("Equals", "a", "b"), False),
        (_cmp("Equals", True, True), True),
        (_cmp("GreaterThan", 3, 2), True),
        (_cmp("GreaterThan", 2, 2), False),
        (_cmp("GreaterThanOrEqualTo", 2, 2), True),
        (_cmp("LessThan", 0.5, 0.9), True),
        (_cmp("LessThan", 0.9, 0.9), False),
        (_cmp("LessThanOrEqualTo", 0.9, 0.9), True),
        (_cmp("LessThanOrEqualTo", 1, 0.9), False),
        ({"Type": "In", "QueryValue": 3, "Values": [2, 3]}, True),
        ({"Type": "In", "QueryValue": "c", "Values": ["a", "b"]}, False),
        ({"Type": "Not", "Condition": TRUE}, False),
        ({"Type": "Not", "Condition": FALSE}, True),
        ({"Type": "Or", "Conditions": [FALSE, TRUE]}, True),
        ({"Type": "Or", "Conditions": [FALSE, FALSE]}, False),
        ({"Type": "Not", "Condition": {"Type": "Or", "Conditions": [FALSE]}}, True),
    ],
)
def test_each_condition_type_evaluates_as_documented(
    condition: dict[str, Any], expected: bool
) -> None:
    assert conditions.evaluate_condition(condition) is expected


def test_the_condition_list_is_a_conjunction() -> None:
    """IfSteps run when ALL conditions of the list are true (the SDK's ConditionStep)."""
    assert conditions.evaluate_all([TRUE, TRUE]) is True
    assert conditions.evaluate_all([TRUE, FALSE]) is False


def test_every_sdk_condition_type_is_evaluated() -> None:
    """One home: the SDK's ConditionTypeEnum is the set this module knows, no more, no less."""
    from sagemaker.workflow.conditions import ConditionTypeEnum

    assert {member.value for member in ConditionTypeEnum} == conditions.CONDITION_TYPES


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (_cmp("Equals", 2, "2"), "not of the same type"),
        (_cmp("Equals", True, 1), "not of the same type"),  # a Boolean is no Integer
        ({"Type": "In", "QueryValue": 2, "Values": ["2"]}, "not of the same type"),
        (_cmp("GreaterThan", "b", "a"), "compares numbers"),
        (_cmp("LessThan", True, 2), "compares numbers"),
        ({"Type": "NotEquals", "LeftValue": 1, "RightValue": 2}, "not one of"),
        ({"Type": "Equals", "LeftValue": 1}, "has no RightValue"),
        ({"Type": "Not", "Expression": TRUE}, "has no Condition"),  # sagemaker-python-sdk#2746
        ({"Type": "Or", "Conditions": TRUE}, "no list of conditions"),
    ],
)
def test_conditions_that_cannot_be_evaluated_fail_the_step_by_name(
    condition: dict[str, Any], message: str
) -> None:
    with pytest.raises(conditions.ConditionError, match=message) as raised:
        conditions.evaluate_condition(condition)
    assert str(raised.value).startswith("ValidationError: ")


def test_condition_outcome_values_are_the_service_models() -> None:
    shapes = botocore.session.get_session().get_service_model("sagemaker")
    metadata: Any = shapes.shape_for("ConditionStepMetadata")
    assert metadata.members["Outcome"].enum == ["True", "False"]


# --- the real definition's CheckProblemType ------------------------------------------------


def _real_steps() -> dict[str, dict[str, Any]]:
    graph = StepGraph.of(_definition()["Steps"])
    return {str(step["Name"]): step for step in graph.steps}


def _resolver(contract: dict[str, Any] | None) -> Resolver:
    return Resolver(
        parameters=parameter_values(_definition()["Parameters"], {}),
        execution={"PipelineExecutionId": "abc123"},
        steps={},
        property_files={} if contract is None else {("PrepareData", "DatasetContract"): contract},
    )


class _Context:
    """The part of StepContext a condition step uses: what it asks to skip."""

    def __init__(self) -> None:
        self.skipped: list[list[str]] = []

    def as_step_context(self) -> StepContext:
        unused = cast(Any, None)
        return StepContext(
            execution_id="abc123",
            directory=Path("/nonexistent"),
            resolver=unused,
            records=unused,
            tuning_records=unused,
            storage_for=unused,
            event=unused,
            should_stop=lambda: False,
            python="python3",
            max_workers=1,
            tuning_seed=None,
            skip=lambda names: self.skipped.append(list(names)),
        )


@pytest.mark.parametrize(
    ("num_classes", "outcome", "untaken"),
    [
        (2, "True", ["TuneXGBoostMulticlass", "EvaluateModelMulticlass"]),
        (3, "False", ["TuneXGBoostBinary", "EvaluateModelBinary"]),
    ],
)
def test_check_problem_type_reads_the_contract_and_skips_the_other_branch(
    num_classes: int, outcome: str, untaken: list[str]
) -> None:
    step = _real_steps()["CheckProblemType"]
    context = _Context()
    executor = executor_for(context.as_step_context(), step)
    assert isinstance(executor, ConditionStepExecutor)
    # Only the Conditions are resolved: the branches reference steps that have not run.
    assert set(executor.own_arguments()) == {"Conditions"}
    resolved = _resolver({"num_classes": num_classes}).resolve(executor.own_arguments())
    assert resolved == {
        "Conditions": [{"Type": "Equals", "LeftValue": num_classes, "RightValue": 2}]
    }
    properties, metadata = executor.execute(resolved)
    assert properties == {"Outcome": outcome == "True"}
    assert metadata == {"Condition": {"Outcome": outcome}}
    assert context.skipped == [untaken]


def test_the_condition_needs_prepare_datas_property_file() -> None:
    step = _real_steps()["CheckProblemType"]
    executor = executor_for(_Context().as_step_context(), step)
    with pytest.raises(DefinitionError, match="DatasetContract"):
        _resolver(None).resolve(executor.own_arguments())
    with pytest.raises(DefinitionError, match="num_classes"):
        _resolver({"classes": 2}).resolve(executor.own_arguments())


def test_condition_is_a_registered_step_type() -> None:
    assert STEP_EXECUTORS["Condition"] is ConditionStepExecutor


# --- the graph: flattened branches, what an untaken branch takes along ---------------------


def _processing(name: str, **extra: Any) -> dict[str, Any]:
    return {"Name": name, "Type": "Processing", "Arguments": {}, **extra}


def _condition(name: str, if_steps: list[Any], else_steps: list[Any]) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Condition",
        "Arguments": {
            "Conditions": [_cmp("Equals", {"Get": "Parameters.Flag"}, "yes")],
            "IfSteps": if_steps,
            "ElseSteps": else_steps,
        },
    }


def test_branch_steps_wait_for_their_condition_and_steps_after_it_wait_for_theirs() -> None:
    after = _processing(
        "After",
        Arguments={"X": {"Get": "Steps.Yes.ProcessingJobName"}},
    )
    graph = StepGraph.of([after, _condition("Check", [_processing("Yes")], [_processing("No")])])
    assert [s["Name"] for s in graph.ordered()] == ["Check", "Yes", "After", "No"]
    assert graph.needs["Yes"] == {"Check"} and graph.needs["No"] == {"Check"}
    # The condition itself waits only for what its Conditions read, not for its branches.
    assert graph.needs["Check"] == frozenset()
    # The else branch taken: Yes never runs, nor After, which reads Yes.
    assert graph.downstream(["Yes"]) == {"Yes", "After"}
    assert graph.downstream(["No"]) == {"No"}


def test_a_step_waiting_for_both_branches_never_runs() -> None:
    """The service starts a step when ALL its dependencies completed; one branch never runs,
    so a step waiting for both never starts (aws/sagemaker-python-sdk#3565)."""
    join = _processing("Join", DependsOn=["Yes", "No"])
    graph = StepGraph.of([_condition("Check", [_processing("Yes")], [_processing("No")]), join])
    assert "Join" in graph.downstream(["Yes"]) and "Join" in graph.downstream(["No"])


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            [_condition("Check", [_condition("Inner", [], [])], [])],
            "nested condition steps are not supported",
        ),
        (
            [_condition("Check", [], []), _processing("After", DependsOn=["Check"])],
            "DependsOn condition step",
        ),
        (
            [_condition("Check", [_processing("Same")], [_processing("Same")])],
            "not unique",
        ),
        (
            [_condition("Check", [_processing("A", DependsOn=["Z"])], [])],
            "unknown step",
        ),
    ],
    ids=["nested", "depends-on-condition", "same-step-in-both-branches", "unknown"],
)
def test_definitions_the_service_refuses_are_refused(
    steps: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(DefinitionError, match=message):
        StepGraph.of(steps)
