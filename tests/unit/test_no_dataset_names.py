"""No module keeps a copy of a dataset's column or class names (one dataset contract).

The forbidden names are read from the data itself: the seed file's header and the distinct values
of its label column (the execution input's ``label_column`` default). Code, Terraform and the
Makefile must take names from the contract prepare.py derives; the only mentions allowed are
listed below, each with its reason. The seed-data generator (scripts/make_iris_csv.py) writes that
very file, so it is the one module that must spell its columns.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from contracts import execution_input

ROOT = Path(__file__).resolve().parents[2]
SEED_DATA = ROOT / "data" / "raw" / "iris.csv"
#: The seed data's generator: the one module that writes the columns, by design.
GENERATOR = ROOT / "scripts" / "make_iris_csv.py"
CODE_DIRS = ("contracts", "ml", "ops", "statemachines", "lambdas", "emulator", "harness", "scripts")
#: Tests, like tests/, may name the seed data's columns.
TEST_DIRS = (ROOT / "emulator" / "tests",)
#: (file, text of the line): documented mentions. The default of label_column is the seed data's
#: label column so that `terraform apply` + the seed upload trains out of the box: the schema
#: states it, Terraform's variable is generated from it, and the example tfvars documents it.
ALLOWED = {
    ("contracts/execution_input.json", '"default": "Species"'),
    ("terraform/execution_input.generated.tf", 'default     = "Species"'),
    ("terraform/terraform.tfvars.example", 'label_column    = "Species"'),
}


def label_column_default() -> str:
    return str(execution_input.schema()["fields"]["label_column"]["default"])


def forbidden_names() -> set[str]:
    """The seed data's column names and class names, from the file."""
    with SEED_DATA.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], [r for r in rows[1:] if r]
    label = header.index(label_column_default())
    return set(header) | {row[label] for row in body}


def scanned_files() -> list[Path]:
    files = [
        path
        for directory in CODE_DIRS
        for pattern in ("**/*.py", "**/*.json", "**/*.tf", "**/*.sh")
        for path in (ROOT / directory).glob(pattern)
        if path != GENERATOR
        and "__pycache__" not in path.parts
        and not any(path.is_relative_to(tests) for tests in TEST_DIRS)
    ]
    files += [
        *(ROOT / "terraform").glob("**/*.tf"),
        ROOT / "terraform" / "terraform.tfvars.example",
        ROOT / "Makefile",
    ]
    return sorted(set(files))


def mentions(text: str, names: set[str]) -> list[tuple[int, str, str]]:
    """(line number, name, line) for each name standing alone (not part of a longer word)."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for name in sorted(names):
            if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", line):
                found.append((number, name, line.strip()))
    return found


def test_the_forbidden_names_come_from_the_seed_data() -> None:
    names = forbidden_names()
    # The seed has a header and a label with several classes: the scan has something to find.
    assert label_column_default() in names
    assert len(names) >= len(next(csv.reader(SEED_DATA.open(encoding="utf-8")))) + 2


def test_the_scan_finds_a_copied_name_and_passes_a_longer_word() -> None:
    names = {"Species", "Iris-setosa"}
    assert mentions('LABEL = "Species"\n', names) == [(1, "Species", 'LABEL = "Species"')]
    assert [m[1] for m in mentions("classes = ['Iris-setosa']", names)] == ["Iris-setosa"]
    assert mentions("SpeciesCount = 3  # Iris-setosa-like", names) == []


def test_no_module_hard_codes_a_dataset_column_or_class_name() -> None:
    names = forbidden_names()
    offenders = []
    for path in scanned_files():
        relative = str(path.relative_to(ROOT))
        for number, name, line in mentions(path.read_text(encoding="utf-8"), names):
            if not any(relative == f and allowed in line for f, allowed in ALLOWED):
                offenders.append(f"{relative}:{number}: {name}: {line[:120]}")
    assert not offenders, (
        "dataset names copied into code (read them from the dataset contract instead):\n"
        + "\n".join(offenders)
    )


@pytest.mark.parametrize(("relative", "allowed"), sorted(ALLOWED))
def test_every_allowed_mention_still_exists(relative: str, allowed: str) -> None:
    """An exception that no longer matches anything is removed, not kept as a loophole."""
    assert allowed in (ROOT / relative).read_text(encoding="utf-8")
