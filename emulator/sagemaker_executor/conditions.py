"""A Condition step's ``Conditions``, evaluated as SageMaker Pipelines evaluates them: pure.

AWS documents the Condition step (SageMaker developer guide, "Pipelines steps", Condition step:
https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-steps.html#step-type-condition):
if every condition in the list is true, the IfSteps run, otherwise the ElseSteps. The condition
types and their request shapes are the SDK's (``sagemaker/workflow/conditions.py``,
``ConditionTypeEnum`` and each class's ``to_request``)::

    Equals, GreaterThan, GreaterThanOrEqualTo, LessThan, LessThanOrEqualTo
                        {"Type": ..., "LeftValue": v, "RightValue": v}
    In                  {"Type": "In", "QueryValue": v, "Values": [v, ...]}
    Not                 {"Type": "Not", "Condition": {...}}
    Or                  {"Type": "Or", "Conditions": [{...}, ...]}

The operands arrive resolved (``Get``, ``Std:JsonGet``, ``Std:Join`` already evaluated).
Where AWS documents no rule, the stricter reading is modelled and a :class:`ConditionError`
fails the step: values of different types are never equal, as in the SDK's local mode
(``sagemaker/local/pipeline.py``, ``_resolve_binary_condition`` fails the step on "not of the
same type"), and the ordering comparisons take numbers only (a bool is not a number). Any
other ``Type`` is refused, never guessed.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from emulator.sagemaker_executor.definition import DefinitionError

_ORDERINGS: Mapping[str, Callable[[Any, Any], bool]] = {
    "GreaterThan": operator.gt,
    "GreaterThanOrEqualTo": operator.ge,
    "LessThan": operator.lt,
    "LessThanOrEqualTo": operator.le,
}
#: Every condition type the service defines (the SDK's ConditionTypeEnum), each evaluated here.
CONDITION_TYPES = frozenset({"Equals", "In", "Not", "Or", *_ORDERINGS})


class ConditionError(DefinitionError):
    """A condition that cannot be evaluated; the message is the step's FailureReason."""


def _kind(value: Any) -> str:
    """The pipeline type of a resolved value (parameter types: String, Integer, Float, Boolean)."""
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Float"
    if isinstance(value, str):
        return "String"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equals(kind: str, left: Any, right: Any) -> bool:
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if _kind(left) != _kind(right):
        raise ConditionError(
            f"ValidationError: condition {kind}: {left!r} ({_kind(left)}) and {right!r} "
            f"({_kind(right)}) are not of the same type"
        )
    return bool(left == right)


def _member(condition: Mapping[str, Any], name: str) -> Any:
    if name not in condition:
        raise ConditionError(
            f"ValidationError: condition {condition.get('Type')} has no {name} "
            "(see sagemaker/workflow/conditions.py for its request shape)"
        )
    return condition[name]


def evaluate_condition(condition: Mapping[str, Any]) -> bool:
    """One resolved condition's truth."""
    kind = str(condition.get("Type"))
    if kind == "Equals":
        return _equals(kind, _member(condition, "LeftValue"), _member(condition, "RightValue"))
    if kind in _ORDERINGS:
        left, right = _member(condition, "LeftValue"), _member(condition, "RightValue")
        if not (_is_number(left) and _is_number(right)):
            raise ConditionError(
                f"ValidationError: condition {kind} compares numbers; got {left!r} "
                f"({_kind(left)}) and {right!r} ({_kind(right)})"
            )
        return _ORDERINGS[kind](left, right)
    if kind == "In":
        query, values = _member(condition, "QueryValue"), _member(condition, "Values")
        if not isinstance(values, list):
            raise ConditionError(f"ValidationError: condition In: Values {values!r} is no list")
        return any(_equals(kind, query, value) for value in values)
    if kind == "Not":
        inner = _member(condition, "Condition")
        if not isinstance(inner, Mapping):
            raise ConditionError(f"ValidationError: condition Not: {inner!r} is no condition")
        return not evaluate_condition(inner)
    if kind == "Or":
        return evaluate_any(_member(condition, "Conditions"))
    raise ConditionError(
        f"ValidationError: condition type {kind!r} is not one of {sorted(CONDITION_TYPES)}"
    )


def _conditions(conditions: Any) -> Sequence[Mapping[str, Any]]:
    if not isinstance(conditions, list) or not all(isinstance(c, Mapping) for c in conditions):
        raise ConditionError(f"ValidationError: Conditions {conditions!r} is no list of conditions")
    return conditions


def evaluate_any(conditions: Any) -> bool:
    """``Or``: true when one condition is (evaluated in order, stopping at the first true)."""
    return any(evaluate_condition(c) for c in _conditions(conditions))


def evaluate_all(conditions: Any) -> bool:
    """A Condition step's outcome: true when every condition of its list is (AWS: "if all the
    conditions in the condition list evaluate to True", the SDK's ConditionStep docstring)."""
    return all(evaluate_condition(c) for c in _conditions(conditions))
