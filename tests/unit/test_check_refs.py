"""devtools.check_refs: no tracker references or machine paths in tracked files.

The offending samples are put together at run time, so this file itself holds none.
"""

from __future__ import annotations

import pytest

from devtools import check_refs

ISSUE = "issue"
DOC = "INTERFACES" + ".md"


@pytest.mark.parametrize(
    ("path", "line", "what"),
    [
        ("ml/x.py", f"# the default data object ({ISSUE} 9 #2)", "a tracker reference"),
        ("ml/x.py", f'"""{ISSUE.title()} 10 item 4: named."""', "a tracker reference"),
        ("bench/x.py", f"measured ({ISSUE} #11 " + "item 6)", "a tracker reference"),
        ("ml/x.py", "# see #12" + " item 6", "a tracker item"),
        ("tests/x.py", "# Condition steps (#" + "11)", "a tracker number"),
        ("ml/x.py", f"# the dataset contract ({DOC})", "a document that does not exist"),
        ("bench/x.py", "# arguments (/" + "work/wt/notes.txt)", "a path on one machine"),
        ("docs/x.md", "see /" + "root/.terraformrc", "a path on one machine"),
        ("README.md", "cd /" + "home/alice/repo", "a path on one machine"),
        ("docs/x.md", "open /" + "Users/bob/repo/x", "a path on one machine"),
        ("docs/x.md", "the log is in /" + "tmp/emulator-1234.log", "a temporary path"),
        ("terraform/x.tf", f"# Guarded deployment ({ISSUE} 12)", "a tracker reference"),
        (".github/workflows/x.yml", f"# ({ISSUE} 9 #1)", "a tracker reference"),
    ],
)
def test_each_kind_of_reference_is_found(path: str, line: str, what: str) -> None:
    found = check_refs.findings_in(path, f"first line\n{line}\n")
    assert found and all(finding.line == 2 for finding in found)
    assert any(f"{path}:2: {what}" in str(finding) for finding in found), found


@pytest.mark.parametrize(
    ("path", "line"),
    [
        # A public repository's issue is a citation of a public source.
        ("ml/x.py", f"# (aws/sagemaker-xgboost-container {ISSUE} #121) and train.py"),
        # A temporary path is a test value in code; only docs must not name one.
        ("tests/x.py", '({"data_uri": "/' + 'tmp/iris.csv"}, "data_uri")'),
        # Paths under a bucket, a home variable or the repository are not machine paths.
        ("docs/x.md", "s3://bucket/" + "root/key and ~/.terraform.d/plugins"),
        ("docs/x.md", "a colour #011 and an issue with no number"),
    ],
)
def test_what_is_not_a_reference_passes(path: str, line: str) -> None:
    assert check_refs.findings_in(path, line) == []


def test_an_allowed_finding_passes_and_a_stale_entry_is_a_problem() -> None:
    files = {"a.py": f"x = 1  # ({ISSUE} 3) kept for now\n", "b.py": f"# ({ISSUE} 4)\n"}
    allowed = {("a.py", "kept for now"): "reason", ("c.py", "gone"): "reason"}
    problems = check_refs.check(files, allowed)
    assert len(problems) == 2
    assert problems[0].startswith("b.py:1: a tracker reference")
    assert problems[1] == "c.py: allow-list entry 'gone' matches nothing: remove it"


def test_the_tracked_files_hold_no_reference(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_refs.main([]) == 0, capsys.readouterr().err
