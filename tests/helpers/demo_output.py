"""The shape of what `make demo` prints, so the README's sample can be compared with a real run.

A run's summary starts at its ``✔ Run ...`` (or ``✘ Run ...``) line; the deployment its approval
started follows at its ``✔ Deployment ...`` line; each other line is one field (``path:``,
``label``, ``accuracy``, ``best hyperparameters:``, ...). The *shape* is that list of fields, in
order: values (timings, ARNs, hyperparameters) differ from run to run, the fields a reader is
shown must not.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BEGIN = re.compile(r"<!-- BEGIN demo output [^\n]*-->\n```\n")
END = "```\n<!-- END demo output -->"
RUN_LINE = re.compile(r"^([✔✘]) Run \S+ (SUCCEEDED|FAILED|TIMED_OUT|ABORTED)\b")
#: The deployment the run's approval started, summarised after the run.
DEPLOYMENT_LINE = re.compile(r"^([✔✘]) Deployment \S+ (SUCCEEDED|FAILED|TIMED_OUT|ABORTED)\b")


def readme_sample(text: str | None = None) -> str:
    """The demo output the README shows (between its markers)."""
    text = README.read_text(encoding="utf-8") if text is None else text
    start = BEGIN.search(text)
    assert start, "README.md has no demo output sample (<!-- BEGIN demo output ... -->)"
    return text[start.end() : text.index(END, start.end())]


def summary(text: str) -> list[str]:
    """The lines from the last ``✔/✘ Run`` line to the end, without trailing blank lines."""
    lines = text.rstrip("\n").splitlines()
    starts = [i for i, line in enumerate(lines) if RUN_LINE.match(line)]
    assert starts, f"no '✔ Run ... SUCCEEDED' line in:\n{text}"
    return lines[starts[-1] :]


def field(line: str) -> str:
    """The field a summary line shows: ``path:``, ``model package:``, ``label``, ``accuracy``."""
    run = RUN_LINE.match(line)
    if run:
        return f"{run.group(1)} Run {run.group(2)}"
    deployment = DEPLOYMENT_LINE.match(line)
    if deployment:
        return f"{deployment.group(1)} Deployment {deployment.group(2)}"
    text = line.strip()
    head, colon, _ = text.partition(":")
    if colon and len(head.split()) <= 2:
        return head + ":"
    return text.split()[0]


def shape(text: str) -> list[str]:
    return [field(line) for line in summary(text) if line.strip()]
