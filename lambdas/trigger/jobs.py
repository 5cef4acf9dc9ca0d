"""What a queued message asks the trigger to do: start a named execution (``Job``), or nothing
(``NotRun``, with the reason the topic is told). Shared by the uploads and deployments queues."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class MalformedEventError(ValueError):
    """The message is not one this queue's trigger understands."""


@dataclass(frozen=True)
class Job:
    """Start execution ``name`` with ``input`` (a JSON text); ``what`` names it for people."""

    name: str
    input: str
    what: str
    log: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NotRun:
    """The message asks for nothing this queue runs: ``status`` ignored, rejected or done (a
    report, such as a rejected package that still serves). ``title`` heads the notification;
    ``notify`` False deletes the message quietly."""

    status: str
    reason: str
    what: str
    title: str | None = None
    notify: bool = True


def required_str(mapping_: Mapping[str, Any], name: str, path: str) -> str:
    value = mapping_.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedEventError(f"event field {path} must be a non-empty string, got {value!r}")
    return value


def optional_str(mapping_: Mapping[str, Any], name: str, path: str) -> str | None:
    value = mapping_.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise MalformedEventError(f"event field {path} must be a non-empty string, got {value!r}")
    return value


def mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedEventError(f"event field {path} must be an object, got {value!r}")
    return value
