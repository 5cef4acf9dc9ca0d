"""README.md and docs/ stay true: every `make` command they show exists with the variables it
reads, every relative link resolves, each page lists its own contents, the generated tables are
current, and the README's demo output has the shape a real demo prints."""

from __future__ import annotations

import ast
import io
import re
import shlex
from pathlib import Path

import pytest

from devtools import makefile, reference, tfdocs
from harness.console import Console
from harness.follow import RunResult
from harness.stack import LocalStack
from harness.summary import print_summary
from tests.helpers import demo_output
from tests.helpers import report_samples as samples
from tests.helpers.stack import summary_for

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
DOCS = [README, *PAGES]
README_LIMIT = 12_000
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`([^`\n]+(?:\n[^`\n]+)?)`")
#: ``make`` as a command: a line's or a span's first word, or after ``&&``, ``;``, ``|``, ``$``.
MAKE_CALL = re.compile(r"(?:^|&&|;|\||\$)\s*make\s+([^\n#&;|]*)", re.MULTILINE)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


# ---------------------------------------------------------------- make commands


def code_texts(text: str) -> list[str]:
    """Every code block's body and every inline code span (outside the blocks)."""
    blocks = FENCE.findall(text)
    prose = FENCE.sub("", text)
    return blocks + [span.replace("\n", " ") for span in INLINE.findall(prose)]


def make_commands(text: str) -> list[tuple[str, list[str]]]:
    """``(target, [VAR, ...])`` for each ``make target [VAR=value ...]`` the text shows.
    Optional parts written ``[VAR=...]`` count too; a bare ``make`` (the default goal) does not."""
    found = []
    for code in code_texts(text):
        for match in MAKE_CALL.finditer(code):
            command = re.sub(r"<[^>]*>", "PLACEHOLDER", match.group(1))  # <local .csv>
            words = shlex.split(command.replace("[", " ").replace("]", " "), posix=True)
            words = [w for w in words if not w.startswith("-")]
            if not words or "=" in words[0]:
                continue
            target, rest = words[0], words[1:]
            variables = []
            for word in rest:
                name, equals, _ = word.partition("=")
                if not equals:
                    break  # prose or a second command: the command's variables end here
                variables.append(name)
            found.append((target, variables))
    return found


def test_the_extractor_reads_blocks_spans_options_and_chains() -> None:
    text = (
        "Run `make demo KEEP=1` or `make start [DEPLOY=1] [WAIT=1]`.\n"
        "```bash\nmake status && make models   # comment\n"
        'make demo DATA=path/to/a.csv LABEL="a label"\n```\n'
        "GNU make, not a command; `make` alone is the default goal; `make demo\n"
        "DATA=<local .csv> LABEL=<its label column>` spans two lines."
    )
    assert make_commands(text) == [
        ("status", []),
        ("models", []),
        ("demo", ["DATA", "LABEL"]),
        ("demo", ["KEEP"]),
        ("start", ["DEPLOY", "WAIT"]),
        ("demo", ["DATA", "LABEL"]),
    ]


def _every_command() -> list[tuple[str, str, list[str]]]:
    return [
        (path.relative_to(ROOT).as_posix(), target, variables)
        for path in DOCS
        for target, variables in make_commands(path.read_text(encoding="utf-8"))
    ]


def test_the_docs_show_make_commands() -> None:
    shown = {target for _, target, _ in _every_command()}
    assert {"demo", "test", "local-up", "status", "deploy", "destroy", "endpoint-down"} <= shown


def test_every_make_command_shown_names_a_target_and_variables_it_reads() -> None:
    parsed = makefile.load()
    wrong = []
    for page, target, variables in _every_command():
        if target not in parsed.rules:
            wrong.append(f"{page}: make {target}: no such target")
            continue
        reads = parsed.reads(target)
        wrong += [
            f"{page}: make {target} {name}=...: make {target} does not read {name}"
            for name in variables
            if name not in reads
        ]
    assert not wrong, "\n".join(wrong)


def test_a_variable_the_target_does_not_read_is_caught() -> None:
    parsed = makefile.load()
    assert "ROW" in parsed.reads("predict")
    assert "ROW" not in parsed.reads("demo")
    assert {"DATA", "LABEL", "KEEP", "DEPLOY", "TUNING_JOBS", "PYTHON"} <= parsed.reads("demo")


# ---------------------------------------------------------------- pages and links


def test_readme_reads_in_five_minutes() -> None:
    size = len(README.read_text(encoding="utf-8"))
    assert size <= README_LIMIT, f"README.md has {size} characters; at most {README_LIMIT}"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, flags=re.MULTILINE)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_each_page_lists_its_own_contents(page: Path) -> None:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    sections = [h for h in re.findall(r"^## (.+)$", text, flags=re.MULTILINE) if h != "Contents"]
    contents = text.split("## Contents", 1)
    assert len(contents) == 2, f"{page.name} has no '## Contents'"
    listed = re.findall(r"^- \[[^\]]+\]\(#([^)]+)\)", contents[1].split("\n## ", 1)[0], re.M)
    assert listed == [slug(s) for s in sections], f"{page.name}: contents and sections differ"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_relative_link_resolves(path: Path) -> None:
    broken = []
    for target in LINK.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+://", target) or target.startswith("mailto:"):
            continue
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no such heading")
    assert not broken, f"{path.name}: {broken}"


# ---------------------------------------------------------------- generated tables


def test_the_reference_tables_are_current() -> None:
    page = reference.PAGE.read_text(encoding="utf-8")
    assert page == reference.render(page), "docs/reference.md is stale: run `make docs`"


def test_the_terraform_table_lists_every_variable() -> None:
    table = tfdocs.table()
    for name, _ in tfdocs.variables():
        assert f"| `{name}` |" in table


# ---------------------------------------------------------------- the demo's output


def _printed_summary(tmp_path: Path) -> str:
    """What print_summary prints for a successful run and its deployment (every field set)."""
    (tmp_path / "report.html").write_text("<html></html>")
    evaluation = samples.multiclass_evaluation()
    package = "arn:aws:sagemaker:us-east-1:1:model-package/g/1"
    result = RunResult(
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:m:s3-iris-1",
        execution_name="s3-iris-1",
        status="SUCCEEDED",
        states=["CheckInput", "WaitForPipeline", "WaitForPipeline", "Done"],
        output={
            "evaluation": {"summary": summary_for(evaluation)},
            "outcome": {"model_package_arn": package, "approval_status": "Approved"},
        },
        evaluation=evaluation,
        prediction={
            "row": "1,2",
            "probabilities": [0.8, 0.1, 0.1],
            "class_names": samples.MULTI_CLASSES,
            "label": samples.MULTI_CLASSES[0],
        },
        report=tmp_path / "report.html",
        seconds=12.0,
        deployment=RunResult(
            execution_arn="arn:aws:states:us-east-1:123456789012:execution:d:deploy-v1-1",
            execution_name="deploy-v1-1",
            status="SUCCEEDED",
            states=["Plan", "Done"],
            output={
                "outcome": {
                    "status": "SUCCEEDED",
                    "deployment": {"endpoint_name": "e"},
                    "smoke_test": "5 rows answered as the evaluation predicted",
                }
            },
            seconds=7.0,
        ),
    )
    stack = LocalStack(emulator=None, workdir=tmp_path, outputs={})  # type: ignore[arg-type]
    stream = io.StringIO()
    print_summary(stack, result, Console(stream))
    return stream.getvalue()


def test_the_readme_sample_has_the_summary_the_demo_prints(tmp_path: Path) -> None:
    printed = demo_output.shape(_printed_summary(tmp_path))
    assert printed[0] == "✔ Run SUCCEEDED"
    assert "✔ Deployment SUCCEEDED" in printed
    assert demo_output.shape(demo_output.readme_sample()) == printed


def _progress_templates() -> list[re.Pattern[str]]:
    """The demo's ``console.step``/``console.timed`` messages, placeholders as wildcards."""
    tree = ast.Module(
        body=[
            node
            for path in sorted((ROOT / "harness").glob("*.py"))
            for node in ast.parse(path.read_text(encoding="utf-8")).body
        ],
        type_ignores=[],
    )
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"step", "timed"}
            and node.args
        ):
            message = node.args[0]
            if isinstance(message, ast.Constant):
                parts = [re.escape(str(message.value))]
            elif isinstance(message, ast.JoinedStr):
                parts = [
                    re.escape(str(v.value)) if isinstance(v, ast.Constant) else ".+?"
                    for v in message.values
                ]
            else:
                continue
            suffix = r" \.\.\. done \(\d+\.\d s\)" if node.func.attr == "timed" else ""
            found.append(re.compile("▶ " + "".join(parts) + suffix))
    return found


def test_the_readme_samples_progress_lines_are_ones_the_demo_prints() -> None:
    templates = _progress_templates()
    shown = [line for line in demo_output.readme_sample().splitlines() if line.startswith("▶ ")]
    assert len(shown) >= 4, "the sample shows the emulator, apply, upload and run lines"
    for line in shown:
        assert any(t.fullmatch(line) for t in templates), f"the demo never prints: {line}"
