"""Refuse tracker references and machine paths in the repository's tracked files.

Code, comments, docs, Terraform and workflows say why in their own words and cite public sources.
A reference into the project's tracker (an issue number, an item of one), a document that never
existed, or a path on one machine means nothing to the reader of a clone. A public repository's
issue, named with its ``owner/name``, is a citation and passes.

``python -m devtools.check_refs`` prints each finding as ``path:line: what (how to fix)`` and
exits 1 (``make lint``); an allow-list entry that no longer matches is a finding too.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from devtools.generated import ROOT

#: A public repository's issue is a citation: "aws/sagemaker-xgboost-container issue #121".
_REPOSITORY = re.compile(r"[\w.-]+/[\w.-]+\s+$")
#: Top-level directories of a machine, written so that this file does not name one itself.
_MACHINE_ROOTS = "|".join(("work", "root"))
_DOC_SUFFIXES = (".md", ".rst", ".txt")


@dataclass(frozen=True)
class Rule:
    what: str
    pattern: re.Pattern[str]
    fix: str
    applies: Callable[[str], bool] = lambda path: True


RULES = (
    Rule(
        "a tracker reference",
        re.compile(r"\b[Ii]ssues?\s+#?\d+"),
        "say what the code does and why, or cite the public source (owner/repo issue #N)",
    ),
    Rule(
        "a tracker item",
        re.compile(r"#\d+,?\s+items?\b"),
        "say what the code does and why",
    ),
    Rule("a tracker number", re.compile(r"\(#\d+\)"), "say what the code does and why"),
    Rule(
        "a document that does not exist",
        re.compile(r"\bINTERFACES\.md\b"),
        "cite contracts/README.md or the module that holds the fact",
    ),
    Rule(
        "a path on one machine",
        re.compile(rf"(?<![\w.~$}}])/(?:{_MACHINE_ROOTS})/|/home/[a-z_][\w.-]*/|/Users/[\w.-]+/"),
        "use a path relative to the repository root",
    ),
    Rule(
        "a temporary path on one machine",
        re.compile(r"(?<![\w.])/tmp/[\w.-]+"),
        "describe the location (e.g. the system's temporary directory)",
        lambda path: path.endswith(_DOC_SUFFIXES),
    ),
)

#: (path, text on the line): the findings that stand, each with its reason. Keep it minimal.
ALLOWED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    text: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}: {self.text.strip()[:120]}"


def _is_citation(line: str, start: int, rule: Rule) -> bool:
    return rule is RULES[0] and _REPOSITORY.search(line[:start]) is not None


def findings_in(path: str, text: str) -> list[Finding]:
    """Every finding of ``text`` (the contents of ``path``), allowed ones included."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for rule in RULES:
            if not rule.applies(path):
                continue
            for match in rule.pattern.finditer(line):
                if not _is_citation(line, match.start(), rule):
                    message = f"{rule.what} {match.group(0)!r} ({rule.fix})"
                    found.append(Finding(path, number, line, message))
    return found


def is_allowed(finding: Finding, allowed: Iterable[tuple[str, str]]) -> bool:
    return any(finding.path == path and text in finding.text for path, text in allowed)


def tracked_files(root: Path = ROOT) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout
    return sorted(name for name in listed.decode().split("\0") if name)


def check(files: dict[str, str], allowed: dict[tuple[str, str], str] = ALLOWED) -> list[str]:
    """Problems (as printed) of ``files`` (path -> text), stale allow-list entries included."""
    found = [f for path, text in files.items() for f in findings_in(path, text)]
    problems = [str(f) for f in found if not is_allowed(f, allowed)]
    for path, text in allowed:
        if not any(f.path == path and text in f.text for f in found):
            problems.append(f"{path}: allow-list entry {text!r} matches nothing: remove it")
    return problems


def read_tracked(root: Path = ROOT) -> dict[str, str]:
    """Tracked text files (binary files are skipped: they carry no prose)."""
    files = {}
    for name in tracked_files(root):
        path = root / name
        if path.is_symlink() or not path.is_file():
            continue
        try:
            files[name] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.check_refs", description=__doc__)
    parser.parse_args(argv)
    problems = check(read_tracked())
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} tracker reference(s) or machine path(s) found.", file=sys.stderr)
        return 1
    print("No tracker references or machine paths in tracked files.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
