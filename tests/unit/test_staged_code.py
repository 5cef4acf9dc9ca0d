"""Processing scripts ship as code bundles: the script and the sibling modules it imports.

ml/code_bundles.json is the one home of each bundle's files. Terraform stages every bundle under
its own prefix, the pipeline definition downloads that prefix where it runs the script, and a
bundle copied alone into an empty directory runs: nothing it imports is left behind.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ml import pipeline

ROOT = Path(__file__).resolve().parents[2]
ML_DIR = ROOT / "ml"
BUNDLES = pipeline.code_bundles()


def sibling_imports(path: Path) -> set[str]:
    """The ml/ modules a script imports as siblings (`from . import x`, or `import x` of a file
    that exists beside it)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            # `from . import a, b` names modules; `from .a import b` takes b from module a.
            names.update([node.module] if node.module else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if (ML_DIR / f"{a.name}.py").is_file())
    return names


def closure(script: str) -> set[str]:
    """The script, every sibling module it needs, transitively, and the data files a module
    declares it reads beside itself (report.py's templates), as file names."""
    from ml import report

    data = {"report.py": set(report.bundle_files())}
    needed, todo = set(), [script]
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            needed |= data.get(name, set())
            todo.extend(f"{module}.py" for module in sibling_imports(ML_DIR / name))
    return needed


def test_the_scan_finds_both_import_forms(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(
        "try:\n    from . import baseline\nexcept ImportError:\n    import baseline\n"
    )
    assert sibling_imports(script) == {"baseline"}
    script.write_text("import json\nimport numpy as np\nfrom .x import y\n")
    assert sibling_imports(script) == {"x"}
    assert sibling_imports(ML_DIR / "train.py") == set()


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_a_bundle_is_its_script_and_exactly_what_it_imports(name: str) -> None:
    files = BUNDLES[name]
    assert files[0] == f"{name}.py", "the entry script comes first"
    assert len(files) == len(set(files))
    assert set(files) == closure(files[0])


def test_the_pipeline_runs_each_bundle_from_its_code_uri() -> None:
    definition = json.loads(pipeline.DEFINITION_PATH.read_text())
    steps = [s for s in pipeline.flattened_steps(definition["Steps"]) if s["Type"] == "Processing"]
    assert len(steps) == 3
    for step in steps:
        arguments = step["Arguments"]
        script = arguments["AppSpecification"]["ContainerEntrypoint"][-1]
        name = Path(script).stem
        assert script == f"{pipeline.CODE_DIR}/{BUNDLES[name][0]}"
        [code] = [i for i in arguments["ProcessingInputs"] if i["InputName"] == "code"]
        assert code["S3Input"]["S3Uri"] == "${" + name + "_code_uri}"
        assert code["S3Input"]["LocalPath"] == pipeline.CODE_DIR
        # S3Prefix: every object under the bundle's prefix lands in the code directory.
        assert code["S3Input"]["S3DataType"] == "S3Prefix"


def test_terraform_stages_the_bundles_from_their_one_home() -> None:
    locals_tf = (ROOT / "terraform" / "locals.tf").read_text()
    assert 'jsondecode(file("${local.ml_dir}/code_bundles.json"))' in locals_tf
    for name in ("prepare", "evaluate"):
        assert re.search(
            rf'^\s*{name}_code_uri\s*=\s*local\.code_bundle_uris\["{name}"\]', locals_tf, re.M
        ), name
    s3_tf = (ROOT / "terraform" / "s3.tf").read_text()
    assert re.search(r'resource "aws_s3_object" "code" \{\s*for_each = local\.code_objects', s3_tf)


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_a_bundle_copied_alone_runs(name: str, tmp_path: Path) -> None:
    for file in BUNDLES[name]:
        (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ML_DIR / file, tmp_path / file)
    # -E -s: no PYTHONPATH, no user site; the script's own directory is the only way to siblings.
    completed = subprocess.run(
        [sys.executable, "-E", "-s", str(tmp_path / f"{name}.py"), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "usage:" in completed.stdout
