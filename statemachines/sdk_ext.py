"""Minimal extensions of the Step Functions Data Science SDK (``stepfunctions`` 2.3.0).

The SDK predates a few ASL fields this state machine needs. They are added here, in one place,
by allowing extra snake_case fields that the SDK serialises like its own (``result_selector`` ->
``ResultSelector``):

- ``Task.result_selector``: shape a service response before ``ResultPath`` merges it.
- ``Fail.error_path`` / ``Fail.cause_path``: end with the error name and cause a failure
  branch computed at run time (one ``Fail`` state serves every failure).

Everything else (graph building, validation, serialisation) is the SDK's own.
"""

from __future__ import annotations

from typing import Any, ClassVar

from stepfunctions.steps import states


class _ExtraFields:
    """Mixin: accept the fields named in ``EXTRA_FIELDS`` besides the SDK's own."""

    EXTRA_FIELDS: ClassVar[frozenset[str]] = frozenset()

    def is_field_allowed(self, field_name: str) -> bool:
        return field_name in self.EXTRA_FIELDS or super().is_field_allowed(field_name)  # type: ignore[misc]


class Task(_ExtraFields, states.Task):
    """``stepfunctions.steps.Task`` with ``ResultSelector``."""

    EXTRA_FIELDS = frozenset({"result_selector"})


class Fail(_ExtraFields, states.Fail):
    """``stepfunctions.steps.Fail`` with ``ErrorPath`` and ``CausePath``."""

    EXTRA_FIELDS = frozenset({"error_path", "cause_path"})


def graph_dict(start: Any, comment: str, timeout_seconds: int | None = None) -> dict[str, Any]:
    """The ASL document (``Comment``, ``StartAt``, ``States``) of the graph rooted at ``start``."""
    kwargs: dict[str, Any] = {"comment": comment}
    if timeout_seconds is not None:
        kwargs["timeout_seconds"] = timeout_seconds
    return states.Graph(start, **kwargs).to_dict()  # type: ignore[no-any-return]
