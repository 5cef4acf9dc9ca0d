"""devtools.generated: templatefile()-like rendering and the stale-file check."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.generated import TemplateError, placeholders, render, write_or_check


def test_render_substitutes_every_placeholder() -> None:
    assert render('{"a": "${bucket}/${key}"}', {"bucket": "b", "key": "k"}) == '{"a": "b/k"}'
    assert placeholders("${a} ${b} ${a}") == {"a", "b"}


def test_render_rejects_missing_and_unused_names() -> None:
    text = '{"a": "${bucket}/${other}"}'
    with pytest.raises(TemplateError, match=r"missing \['other'\]"):
        render(text, {"bucket": "b"})
    with pytest.raises(TemplateError, match=r"unused \['typo'\]"):
        render(text, {"bucket": "b", "other": "o", "typo": "t"})


def test_render_rejects_values_that_break_their_json_string() -> None:
    with pytest.raises(TemplateError, match="would break its JSON string"):
        render('{"a": "${v}"}', {"v": 'b"'})
    # Pre-escaped JSON (Terraform's trim(jsonencode(jsonencode(x)), "\"")) is fine.
    assert render('{"a": "${v}"}', {"v": '{\\"x\\":1}'}) == '{"a": "{\\"x\\":1}"}'


def test_render_rejects_template_directives() -> None:
    with pytest.raises(TemplateError, match="directives"):
        render("%{ if x }", {})


def test_write_or_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "out.json"
    assert write_or_check(path, "x\n", check=True) == 1
    assert "missing" in capsys.readouterr().err
    assert write_or_check(path, "x\n", check=False) == 0
    assert write_or_check(path, "x\n", check=True) == 0
    path.write_text("y\n")
    assert write_or_check(path, "x\n", check=True) == 1
    assert "stale: run `make definitions`" in capsys.readouterr().err
