"""docs/fidelity.md: every rule names tests that exist, and the table has both of its parts."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "docs" / "fidelity.md"
# `tests/x.py::test_name[param]` (or `emulator/tests/x.py::...`) starts a file; `::test_other`
# continues with the same file.
TEST_REF = re.compile(r"`((?:(?:emulator/)?tests/[\w/]+\.py)?)::(\w+)(?:\[[^\]`]*\])?`")


def rule_rows() -> list[str]:
    return [
        line
        for line in TABLE.read_text(encoding="utf-8").splitlines()
        if line.startswith("| ") and not line.startswith("| rule ")
    ]


def referenced_tests(row: str) -> list[tuple[str, str]]:
    references, current = [], ""
    for path, name in TEST_REF.findall(row):
        current = path or current
        references.append((current, name))
    return references


def defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def test_every_rule_names_a_source_and_tests_that_exist() -> None:
    rows = rule_rows()
    assert len(rows) >= 40
    missing = []
    for row in rows:
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        assert len(cells) == 3 and all(cells), f"a rule, a source and a test: {row}"
        references = referenced_tests(cells[2])
        assert references, f"no test named: {row}"
        for path, name in references:
            assert path, f"a continuation (::{name}) before any file: {row}"
            file = ROOT / path
            if not file.is_file() or name not in defined_tests(file):
                missing.append(f"{path}::{name}")
    assert not missing, f"docs/fidelity.md names tests that do not exist: {missing}"


def test_the_table_says_what_is_not_modelled() -> None:
    text = TABLE.read_text(encoding="utf-8")
    assert "## What a local green does not prove" in text
    gaps = text.split("## What a local green does not prove", 1)[1]
    assert len([line for line in gaps.splitlines() if line.startswith("- ")]) >= 5
