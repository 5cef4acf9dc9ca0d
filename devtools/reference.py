"""docs/reference.md's generated tables, each rendered from its one home.

    terraform-variables   terraform/variables.tf             (devtools.tfdocs.table)
    execution-input       contracts/execution_input.json     (contracts.execution_input)
    s3-layout             contracts/s3_layout.py             (contracts.s3_layout)

``python -m devtools.reference`` (``make docs``) rewrites each table between its markers,
``<!-- BEGIN <name> (make docs) -->`` and ``<!-- END <name> -->``; ``--check`` exits 1 when one
is stale (a unit test does the same). The prose around the tables is written by hand.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping

from contracts import execution_input, s3_layout
from devtools import tfdocs
from devtools.generated import ROOT, write_or_check

PAGE = ROOT / "docs" / "reference.md"
TABLES: Mapping[str, Callable[[], str]] = {
    "terraform-variables": lambda: tfdocs.table() + "\n",
    "execution-input": execution_input.markdown_table,
    "s3-layout": s3_layout.markdown_table,
}


def begin(name: str) -> str:
    return f"<!-- BEGIN {name} (make docs) -->"


def end(name: str) -> str:
    return f"<!-- END {name} -->"


def render(page: str, tables: Mapping[str, Callable[[], str]] = TABLES) -> str:
    """``page`` with every table replaced by a fresh rendering; each must have both markers."""
    for name, table in tables.items():
        start, stop = page.find(begin(name)), page.find(end(name))
        if start < 0 or stop < start:
            raise ValueError(f"{PAGE.name} lacks the markers {begin(name)!r} ... {end(name)!r}")
        page = page[: start + len(begin(name))] + "\n" + table() + page[stop:]
    return page


def table_text(page: str, name: str) -> str:
    """The text between a table's markers (what ``render`` writes there)."""
    start = page.index(begin(name)) + len(begin(name)) + 1
    return page[start : page.index(end(name))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.reference", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a table is stale")
    args = parser.parse_args(argv)
    fresh = render(PAGE.read_text(encoding="utf-8"))
    return write_or_check(PAGE, fresh, check=args.check, regenerate="make docs")


if __name__ == "__main__":
    sys.exit(main())
