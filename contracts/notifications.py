"""What every notification of the project looks like on the SNS topic.

SNS Publish: "Subject ... must be ASCII text that begins with a letter, number, or punctuation
mark; must not include line breaks or control characters; and must be less than 100 characters
long" (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html). The message is JSON: a
``title`` and a one-paragraph ``summary`` for people, then the fields for tools.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

SUBJECT_MAX = 99
_UNSAFE_SUBJECT_CHARS = re.compile(r"[^ -~]+")


def subject(text: str) -> str:
    """An SNS subject: printable ASCII, under 100 characters, starting with a letter or digit."""
    cleaned = _UNSAFE_SUBJECT_CHARS.sub("?", text).strip().lstrip("?") or "Notification"
    return cleaned if len(cleaned) <= SUBJECT_MAX else cleaned[: SUBJECT_MAX - 3] + "..."


def message(title: str, summary: str, fields: Mapping[str, Any]) -> str:
    return json.dumps(
        {"title": title, "summary": summary, **fields}, indent=2, sort_keys=False, default=str
    )


def package_version(arn: Any) -> str:
    """``.../model-package/<group>/<version>`` -> ``v<version>`` (``?`` when unknown)."""
    text = str(arn or "")
    tail = text.rsplit("/", 1)[-1]
    return f"v{tail}" if tail.isdigit() else "?"
