"""Helpers for the committed, generated artifacts (ASL, pipeline definition).

- ``render`` substitutes ``${name}`` placeholders the way Terraform's ``templatefile()`` does for
  plain interpolations, so tests and the local runtime run exactly what Terraform would deploy.
- ``write_or_check`` writes a generated file, or with ``check=True`` reports it stale.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Terraform template directives and escapes we never emit; finding one means a template bug.
_TEMPLATE_SYNTAX = re.compile(r"%\{|\$\$\{")


class TemplateError(ValueError):
    """A template and the values given to it do not match."""


def placeholders(text: str) -> set[str]:
    """Names of the ``${name}`` placeholders in ``text``."""
    return set(PLACEHOLDER.findall(text))


def render(text: str, values: Mapping[str, object]) -> str:
    """Substitute every ``${name}`` in ``text``; unknown or unused names are errors."""
    if _TEMPLATE_SYNTAX.search(text):
        raise TemplateError(
            "template contains Terraform directives (%{ or $${), which we never use"
        )
    wanted = placeholders(text)
    missing = sorted(wanted - values.keys())
    extra = sorted(values.keys() - wanted)
    if missing or extra:
        raise TemplateError(f"template placeholders mismatch: missing {missing}, unused {extra}")
    if "${" in PLACEHOLDER.sub("", text):
        raise TemplateError("template contains a malformed ${...} sequence")
    rendered = {name: str(value) for name, value in values.items()}
    for name, value in rendered.items():
        # templatefile() does not escape: every placeholder sits inside a JSON string, so each
        # value must already be a valid JSON string body (pre-escaped values pass).
        try:
            json.loads(f'"{value}"')
        except json.JSONDecodeError:
            raise TemplateError(
                f"value for {name!r} would break its JSON string: {value!r}"
            ) from None
    return PLACEHOLDER.sub(lambda m: rendered[m.group(1)], text)


def write_or_check(
    path: Path, text: str, *, check: bool, regenerate: str = "make definitions"
) -> int:
    """Write ``text`` to ``path`` (exit code 0), or with ``check`` compare and return 1 if stale."""
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    if check:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            state = "missing" if current is None else "stale"
            print(f"{shown} is {state}: run `{regenerate}` and commit the result.", file=sys.stderr)
            return 1
        print(f"{shown} is up to date.")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    print(f"wrote {shown}")
    return 0
