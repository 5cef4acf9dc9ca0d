"""Processing scripts ship as code bundles: the script, the sibling modules it imports and the
modules of the contracts package it imports (a ``contracts/`` directory beside the script).

ml/code_bundles.json is the one home of each bundle's files; an entry under ``contracts/`` is
read from the repository's root. Terraform stages every bundle under its own prefix, the pipeline
definition downloads that prefix where it runs the script, and a bundle copied alone into an
empty directory runs: nothing it imports is left behind. The training sourcedir carries train.py,
inference.py (its serving functions) and the contracts package, and train.py copies them into the
model's ``code/``, which serves on its own.
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
from tests.helpers import bundles

ROOT = Path(__file__).resolve().parents[2]
ML_DIR = ROOT / "ml"
BUNDLES = pipeline.code_bundles()
PACKAGE = "contracts"


def imported_files(path: Path) -> set[str]:
    """The bundle entries a module imports: ml/ siblings (`from . import x`, or `import x` of a
    file beside it) as ``x.py``, and contracts modules (`from contracts import x`,
    `from contracts.x import y`, `import contracts.x`) as ``contracts/x.py`` with the package's
    ``__init__.py``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            # `from . import a, b` names modules; `from .a import b` takes b from module a.
            names.update(
                f"{m}.py" for m in ([node.module] if node.module else [a.name for a in node.names])
            )
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            parts = node.module.split(".")
            if parts[0] == PACKAGE:
                modules = parts[1:2] or [a.name for a in node.names]
                names.update(f"{PACKAGE}/{m}.py" for m in modules)
                names.add(f"{PACKAGE}/__init__.py")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == PACKAGE:
                    names.add(f"{PACKAGE}/__init__.py")
                    names.update(f"{PACKAGE}/{m}.py" for m in parts[1:2])
                elif (path.parent / f"{alias.name}.py").is_file():
                    names.add(f"{alias.name}.py")
    return names


def closure(script: str) -> set[str]:
    """The script, every module it needs, transitively, and the data files a module declares
    it reads beside itself (report.py's templates), as bundle entries."""
    from ml import report

    data = {"report.py": set(report.bundle_files())}
    needed, todo = set(), [script]
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            needed |= data.get(name, set())
            if name.endswith(".py"):
                todo.extend(imported_files(pipeline.bundle_source(name)))
    return needed


def test_the_scan_finds_every_import_form(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(
        "try:\n    from . import baseline\nexcept ImportError:\n    import baseline\n"
    )
    assert imported_files(script) == {"baseline.py"}
    script.write_text("import json\nimport numpy as np\nfrom .x import y\n")
    assert imported_files(script) == {"x.py"}
    script.write_text(
        "from contracts import dataset, failures\nfrom contracts.registry import sha256\n"
        "import contracts.s3_layout\n"
    )
    assert imported_files(script) == {
        "contracts/__init__.py",
        "contracts/dataset.py",
        "contracts/failures.py",
        "contracts/registry.py",
        "contracts/s3_layout.py",
    }


def test_contracts_entries_resolve_from_the_repository_root() -> None:
    assert pipeline.bundle_source("contracts/failures.py") == ROOT / "contracts" / "failures.py"
    assert pipeline.bundle_source("baseline.py") == ML_DIR / "baseline.py"
    for name in BUNDLES:
        assert all(path.is_file() for path in pipeline.bundle_sources(name).values()), name


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_every_bundle_carries_the_contracts_it_needs(name: str) -> None:
    files = BUNDLES[name]
    assert {"contracts/__init__.py", "contracts/dataset.py", "contracts/failures.py"} <= set(files)


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
    # The same resolution as ml/pipeline.py bundle_source: contracts/ from the root, else ml/.
    assert pipeline.ROOT_PACKAGES == ("contracts/",)
    assert re.search(
        r'file => startswith\(file, "contracts/"\) \? "\$\{path\.module\}/\.\./\$\{file\}" '
        r': "\$\{local\.ml_dir\}/\$\{file\}"',
        locals_tf,
    )
    assert "filemd5(local.code_sources[file])" in locals_tf
    assert "source = local.code_sources[file]" in locals_tf
    for name in ("prepare", "evaluate"):
        assert re.search(
            rf'^\s*{name}_code_uri\s*=\s*local\.code_bundle_uris\["{name}"\]', locals_tf, re.M
        ), name
    s3_tf = (ROOT / "terraform" / "s3.tf").read_text()
    assert re.search(r'resource "aws_s3_object" "code" \{\s*for_each = local\.code_objects', s3_tf)


def run_alone(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # -E -s: no PYTHONPATH, no user site; the script's own directory is the only way to siblings.
    return subprocess.run(
        [sys.executable, "-E", "-s", str(script), *args],
        cwd=script.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_a_bundle_copied_alone_runs(name: str, tmp_path: Path) -> None:
    completed = run_alone(bundles.copy_bundle(name, tmp_path / "code"), "--help")
    assert completed.returncode == 0, completed.stderr
    assert "usage:" in completed.stdout


def test_a_bundle_without_its_contracts_does_not_run(tmp_path: Path) -> None:
    """The check above can fail: without contracts/ beside it, the script cannot start."""
    script = bundles.copy_bundle("prepare", tmp_path / "code")
    shutil.rmtree(script.parent / "contracts")
    completed = run_alone(script, "--help")
    assert completed.returncode != 0
    assert "No module named 'contracts'" in completed.stderr


def test_the_sourcedir_holds_everything_train_py_imports() -> None:
    from devtools.build import SOURCEDIR_FILES

    needed = closure("train.py")
    assert {"train.py", "inference.py", "contracts/dataset.py", "contracts/failures.py"} <= needed
    assert needed <= set(SOURCEDIR_FILES)


def test_the_sourcedir_copied_alone_runs(tmp_path: Path) -> None:
    completed = run_alone(bundles.copy_sourcedir(tmp_path / "code"), "--help")
    assert completed.returncode == 0, completed.stderr
    assert "usage:" in completed.stdout


SERVE_FROM_CODE_DIR = """
import json, sys
sys.path[:1] = [sys.argv[1]]  # the code directory alone, as the serving stack installs it
import train
model = train.model_fn(sys.argv[2])
answer = train.predict_fn(train.input_fn(sys.argv[3], "text/csv"), model)
print(train.output_fn(answer, "application/json")[0])
print(train.__file__)
print(train.inference.__file__)
print(train.dataset.__file__)
"""


def test_the_models_code_directory_serves_on_its_own(model_dir: Path, tmp_path: Path) -> None:
    """train.py copied itself, inference.py and the contracts package into the model's code/: a
    copy of the model directory alone loads and answers (SAGEMAKER_SUBMIT_DIRECTORY=
    /opt/ml/model/code)."""
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    code = copy / "code"
    assert (code / "contracts" / "dataset.py").is_file()
    completed = subprocess.run(
        [
            sys.executable,
            "-E",
            "-s",
            "-c",
            SERVE_FROM_CODE_DIR,
            str(code),
            str(copy),
            "5.1,3.5,1.4,0.2",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    answer, script, served, package = completed.stdout.splitlines()[-4:]
    assert Path(script) == code / "train.py" and Path(served) == code / "inference.py"
    assert Path(package) == code / "contracts" / "dataset.py"
    probabilities = json.loads(answer)
    assert len(probabilities) == 1 and len(probabilities[0]) == 3
