"""README.md stays true: the Terraform variables table is current, the commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from devtools import tfdocs

ROOT = Path(__file__).resolve().parents[2]


def test_terraform_variables_table_is_current() -> None:
    readme = tfdocs.README.read_text(encoding="utf-8")
    assert readme == tfdocs.render(readme, tfdocs.table()), (
        "README.md's Terraform variables table is stale: run `make docs`"
    )


def test_table_lists_every_variable() -> None:
    table = tfdocs.table()
    for name, _ in tfdocs.variables():
        assert f"| `{name}` |" in table


def test_every_make_target_the_readme_names_exists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, flags=re.MULTILINE))
    named = set(re.findall(r"`make ([a-z][a-z0-9-]*)", readme))
    assert named, "the README names make targets"
    assert named <= targets, f"README names missing targets: {sorted(named - targets)}"
