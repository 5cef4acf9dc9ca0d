"""Definition interpretation for the local SageMaker pipeline executor: pure functions.

What the sagemaker SDK's local mode does in ``LocalPipelineExecutor.evaluate_step_arguments``
and its ``_evaluate_*`` helpers (``sagemaker/local/pipeline.py``), written against the JSON
definition rather than the SDK's objects::

    parameters      declared defaults, then StartPipelineExecution's overrides, typed as declared
    property paths  ``Steps.X.Outputs['train'].S3Output.S3Uri`` ─► tokens ─► a step's properties
    functions       ``Get``, ``Std:Join``, ``Std:JsonGet`` (PropertyFile or S3Uri)
    order           data references (``Get: Steps.X...``) + ``DependsOn``, ties in definition order;
                    a Condition step's IfSteps/ElseSteps flattened, each waiting for its condition

Nothing here does I/O: reading an S3 JSON document for ``Std:JsonGet`` is a function handed in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_TOKEN = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_:]*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


class StepFailure(Exception):
    """A step failed; the message is its FailureReason.

    ``metadata`` is what ``ListPipelineExecutionSteps`` shows for the failed step when it got as
    far as creating its job (``{"ProcessingJob": {"Arn": ...}}``), as the service does.
    """

    metadata: dict[str, Any] | None = None


class StepStopped(Exception):
    """The execution was asked to stop while the step ran."""


class DefinitionError(StepFailure):
    """The definition cannot be interpreted (bad reference, unsupported construct)."""


def parse_property_path(path: str) -> list[str | int]:
    """``Outputs['train'].S3Output.S3Uri`` ─► ``["Outputs", "train", "S3Output", "S3Uri"]``."""
    tokens: list[str | int] = []
    position = 0
    while position < len(path):
        match = _TOKEN.match(path, position)
        if match is None or match.end() == position:
            raise DefinitionError(f"ValidationError: cannot parse property path {path!r}")
        name, index, single, double = match.groups()
        if index is not None:
            tokens.append(int(index))
        else:
            tokens.append(name if name is not None else (single if single is not None else double))
        position = match.end()
    return tokens


def get_property(value: Any, tokens: Iterable[str | int], path: str = "") -> Any:
    """Follow ``tokens`` into nested dicts and lists.

    A string key on a list selects the element named by it (``OutputName``, ``ChannelName``...),
    as SageMaker's ``Outputs['train']`` does.
    """
    for token in tokens:
        if isinstance(value, list) and isinstance(token, str):
            named = [
                item
                for item in value
                if isinstance(item, dict)
                and any(k.endswith("Name") and v == token for k, v in item.items())
            ]
            if len(named) != 1:
                raise DefinitionError(f"ValidationError: {path}: no single element {token!r}")
            value = named[0]
        elif isinstance(value, list) and isinstance(token, int):
            if not -len(value) <= token < len(value):
                raise DefinitionError(f"ValidationError: {path}: index {token} out of range")
            value = value[token]
        elif isinstance(value, dict) and isinstance(token, str) and token in value:
            value = value[token]
        else:
            raise DefinitionError(f"ValidationError: {path}: no property {token!r}")
    return value


def step_references(value: Any) -> set[str]:
    """Names of the steps whose properties ``value`` reads (``{"Get": "Steps.<name>..."}``)."""
    found: set[str] = set()
    if isinstance(value, dict):
        get = value.get("Get")
        if isinstance(get, str) and get.startswith("Steps."):
            found.add(str(parse_property_path(get)[1]))
        for item in value.values():
            found |= step_references(item)
    elif isinstance(value, list):
        for item in value:
            found |= step_references(item)
    return found


CONDITION_TYPE = "Condition"
BRANCHES = ("IfSteps", "ElseSteps")


def own_arguments(step: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments a step itself evaluates: a Condition step's are its ``Conditions``; its
    IfSteps/ElseSteps are steps of their own (the SDK's ``ConditionStep.step_only_arguments``)."""
    arguments = dict(step.get("Arguments") or {})
    if step.get("Type") == CONDITION_TYPE:
        return {"Conditions": arguments.get("Conditions") or []}
    return arguments


def branch_step_names(step: Mapping[str, Any], branch: str) -> list[str]:
    """Names of the steps directly in a Condition step's ``IfSteps`` or ``ElseSteps``."""
    return [str(s["Name"]) for s in (step.get("Arguments") or {}).get(branch) or []]


def _flatten(
    steps: Iterable[dict[str, Any]], parent: str | None = None
) -> Iterator[tuple[dict[str, Any], str | None]]:
    for step in steps:
        yield step, parent
        if step.get("Type") == CONDITION_TYPE:
            arguments = step.get("Arguments") or {}
            for branch in BRANCHES:
                yield from _flatten(arguments.get(branch) or [], str(step["Name"]))


@dataclass(frozen=True)
class StepGraph:
    """A definition's steps, Condition branches flattened, with what each step waits for.

    A step in IfSteps/ElseSteps waits for its Condition step (the SDK's ``PipelineGraph``
    adds the same edge, ``sagemaker/workflow/pipeline.py``); every step waits for the steps its
    own arguments and PropertyFiles reference and those in its ``DependsOn``.
    """

    steps: tuple[dict[str, Any], ...]  # flattened, in definition order
    needs: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, steps: Iterable[dict[str, Any]]) -> StepGraph:
        flat = list(_flatten(steps))
        names = [str(step["Name"]) for step, _ in flat]
        if len(set(names)) != len(names):
            # AWS: "A condition step can't use identical steps in both branches" (step names
            # are unique across the whole pipeline, nested steps included).
            raise DefinitionError("ValidationError: step names are not unique")
        conditions = {str(step["Name"]) for step, _ in flat if step.get("Type") == CONDITION_TYPE}
        needs: dict[str, frozenset[str]] = {}
        for step, parent in flat:
            name = str(step["Name"])
            if parent is not None and name in conditions:
                # "Pipelines doesn't support the use of nested condition steps" (developer
                # guide, Condition step: https://docs.aws.amazon.com/sagemaker/latest/dg/
                # build-and-manage-steps.html#step-type-condition).
                raise DefinitionError(
                    f"ValidationError: condition step {name} is nested in {parent}; "
                    "nested condition steps are not supported"
                )
            waits_for_condition = sorted(set(step.get("DependsOn") or []) & conditions)
            if waits_for_condition:
                # A condition step cannot be a DependsOn of another step; CreatePipeline
                # refuses it (aws/sagemaker-python-sdk#3565). Put the step in a branch instead.
                raise DefinitionError(
                    f"ValidationError: step {name} DependsOn condition step(s) "
                    f"{waits_for_condition}; put it in their IfSteps or ElseSteps instead"
                )
            deps = step_references(own_arguments(step)) | set(step.get("DependsOn") or [])
            deps |= step_references(step.get("PropertyFiles", []))
            if parent is not None:
                deps.add(parent)
            unknown = sorted(deps - set(names))
            if unknown:
                raise DefinitionError(
                    f"ValidationError: step {name} depends on unknown step(s) {unknown}"
                )
            needs[name] = frozenset(deps - {name})
        return cls(tuple(step for step, _ in flat), needs)

    def ordered(self) -> list[dict[str, Any]]:
        """Steps in dependency order, ties in definition order."""
        ordered: list[dict[str, Any]] = []
        done: set[str] = set()
        while len(ordered) < len(self.steps):
            ready = [
                s for s in self.steps if s["Name"] not in done and self.needs[s["Name"]] <= done
            ]
            if not ready:
                cycle = sorted({str(s["Name"]) for s in self.steps} - done)
                raise DefinitionError(f"ValidationError: dependency cycle among steps {cycle}")
            ordered.append(ready[0])
            done.add(str(ready[0]["Name"]))
        return ordered

    def downstream(self, names: Iterable[str]) -> set[str]:
        """``names`` and every step that waits for one of them, directly or not.

        What a Condition step's untaken branch takes with it: a step outside the condition that
        waits for a step of the untaken branch never runs. The service starts a step only when
        all its dependencies completed, so one waiting for the last step of each branch never
        starts (aws/sagemaker-python-sdk#3565, "ability to rejoin the pipeline flow after a
        ConditionStep", closed as a feature request); the SDK's local mode blocks the same set
        (``_ConditionStepExecutor`` ─► ``PipelineGraph.get_steps_in_sub_dag``). The execution
        still succeeds when every step that ran did.
        """
        found = set(names)
        grew = True
        while grew:
            grew = False
            for name, deps in self.needs.items():
                if name not in found and deps & found:
                    found.add(name)
                    grew = True
        return found


def execution_order(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Steps (Condition branches flattened) in dependency order, ties in definition order."""
    return StepGraph.of(steps).ordered()


def _typed(kind: str, name: str, value: Any) -> Any:
    try:
        if kind == "Integer":
            number = float(value)
            if not number.is_integer():
                raise ValueError(value)
            return int(number)
        if kind == "Float":
            return float(value)
        if kind == "Boolean":
            if isinstance(value, bool):
                return value
            if str(value).lower() not in {"true", "false"}:
                raise ValueError(value)
            return str(value).lower() == "true"
        return str(value)
    except (TypeError, ValueError):
        raise DefinitionError(
            f"ValidationError: parameter {name} ({kind}): invalid value {value!r}"
        ) from None


def parameter_values(
    declared: list[dict[str, Any]], overrides: Mapping[str, str]
) -> dict[str, Any]:
    """The execution's parameters: declared defaults, then overrides, typed as declared."""
    kinds = {p["Name"]: p.get("Type", "String") for p in declared}
    unknown = sorted(set(overrides) - kinds.keys())
    if unknown:
        raise DefinitionError(f"ValidationError: undeclared pipeline parameter(s) {unknown}")
    values: dict[str, Any] = {}
    for param in declared:
        name = param["Name"]
        if name in overrides:
            values[name] = _typed(kinds[name], name, overrides[name])
        elif "DefaultValue" in param:
            values[name] = _typed(kinds[name], name, param["DefaultValue"])
        else:
            raise DefinitionError(f"ValidationError: parameter {name} has no value")
    return values


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class Resolver:
    """Evaluates the definition's expressions against one execution's state."""

    parameters: dict[str, Any]
    execution: dict[str, str]
    steps: dict[str, dict[str, Any]]
    property_files: dict[tuple[str, str], Any]
    read_s3_json: Callable[[str], Any] | None = None

    def get(self, path: str) -> Any:
        tokens = parse_property_path(path)
        root = tokens[0] if tokens else None
        if root == "Parameters" and len(tokens) == 2 and tokens[1] in self.parameters:
            return self.parameters[str(tokens[1])]
        if root == "Execution" and len(tokens) == 2:
            if tokens[1] == "CurrentDateTime":
                return datetime.now(UTC).isoformat()
            if tokens[1] in self.execution:
                return self.execution[str(tokens[1])]
        if root == "Steps" and len(tokens) >= 3 and tokens[1] in self.steps:
            return get_property(self.steps[str(tokens[1])], tokens[2:], path)
        raise DefinitionError(f"ValidationError: cannot resolve {path!r} (not available yet?)")

    def json_get(self, spec: Mapping[str, Any]) -> Any:
        path = parse_property_path(str(spec["Path"]))
        source = spec.get("PropertyFile")
        if isinstance(source, dict) and isinstance(source.get("Get"), str):
            ref = parse_property_path(source["Get"])
            if len(ref) != 4 or ref[0] != "Steps" or ref[2] != "PropertyFiles":
                raise DefinitionError(f"ValidationError: bad property file {source['Get']!r}")
            key = (str(ref[1]), str(ref[3]))
            if key not in self.property_files:
                raise DefinitionError(f"ValidationError: property file {key} not available")
            document = self.property_files[key]
        elif "S3Uri" in spec and self.read_s3_json is not None:
            document = self.read_s3_json(_as_text(self.resolve(spec["S3Uri"])))
        else:
            raise DefinitionError(f"ValidationError: unsupported Std:JsonGet {dict(spec)}")
        return get_property(document, path, str(spec["Path"]))

    def resolve(self, value: Any) -> Any:
        """``value`` with every ``Get``, ``Std:Join`` and ``Std:JsonGet`` evaluated."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Get"}:
            return self.get(str(value["Get"]))
        if set(value) == {"Std:Join"}:
            join = value["Std:Join"]
            return str(join["On"]).join(_as_text(self.resolve(v)) for v in join["Values"])
        if set(value) == {"Std:JsonGet"}:
            return self.json_get(value["Std:JsonGet"])
        functions = [key for key in value if key.startswith("Std:")]
        if functions:
            raise DefinitionError(f"ValidationError: unsupported function {functions[0]}")
        return {key: self.resolve(item) for key, item in value.items()}
