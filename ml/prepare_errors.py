"""The error every refusal of prepare.py's input raises, and how a refusal names files and rows.

Shipped beside prepare.py (ml/code_bundles.json): standard library only, Python 3.9 compatible.
prepare.py turns this error into the data-error message (contracts/failures.py) and exit code 2.
"""

from __future__ import annotations

from collections.abc import Sequence


class DataValidationError(ValueError):
    """The input data breaks the contract; the message names the file, line and column."""


def files_text(sources: Sequence[str]) -> str:
    """The input's file names for a message about all of them: ``a.csv`` or ``a.csv, b.csv``."""
    return ", ".join(sources)


def rows_text(found: Sequence[tuple[str, int]], total: int) -> str:
    """``iris.csv lines 102, 103`` or ``a.csv line 5, b.csv line 9 (and 3 more rows)``."""
    by_file: dict[str, list[int]] = {}
    for source, line in found:
        by_file.setdefault(source, []).append(line)
    text = ", ".join(
        f"{source} line{'s' if len(lines) > 1 else ''} {', '.join(str(n) for n in lines)}"
        for source, lines in by_file.items()
    )
    return text + (f" (and {total - len(found)} more rows)" if total > len(found) else "")
