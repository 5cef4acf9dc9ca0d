"""prepare.py under the SageMaker scikit-learn 1.2-1 image's environment, where the pipeline's
PrepareData step runs it (terraform/sagemaker.tf: ``sagemaker-scikit-learn:1.2-1-cpu-py3``).

The script's code bundle (ml/code_bundles.json) is copied ALONE into a scratch directory and run
by the interpreter in ``$SKLEARN12_PYTHON`` (default ``<repo>/.venv-sklearn12/bin/python``, made
by ``make container-envs`` from requirements-sklearn12.txt: Python 3.9, pandas 1.1.3, numpy
1.24.1, scipy 1.8.0, scikit-learn 1.2.1). A missing interpreter is a failure, not a skip. The
monitoring job's bundle runs there too (tests/unit/test_monitor.py, marker sklearn12).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from emulator.containers import interpreters
from ml import prepare
from tests.helpers import bundles

pytestmark = pytest.mark.sklearn12

ROOT = Path(__file__).resolve().parents[2]
IRIS_CSV = ROOT / "data" / "raw" / "iris.csv"
#: What the image's requirements pin (aws/sagemaker-scikit-learn-container, branch 1.2-1).
IMAGE_VERSIONS = {
    "python": "3.9",
    "pandas": "1.1.3",
    "numpy": "1.24.1",
    "scipy": "1.8.0",
    "sklearn": "1.2.1",
}
VERSIONS_SNIPPET = """
import json, sys, numpy, pandas, scipy, sklearn
print(json.dumps({"python": "%d.%d" % sys.version_info[:2], "pandas": pandas.__version__,
    "numpy": numpy.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__}))
"""


@pytest.fixture(scope="module")
def sklearn12_python() -> str:
    try:
        return str(interpreters.sklearn12_python())
    except interpreters.MissingInterpreter as error:
        pytest.fail(str(error), pytrace=False)


def run_isolated(python: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # -E -s: nothing of the main virtualenv (PYTHONPATH, user site) reaches the interpreter.
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    return subprocess.run(
        [python, "-E", "-s", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def alone(script: str, directory: Path) -> Path:
    """The script's code bundle copied into an otherwise empty directory, as SageMaker stages it."""
    return bundles.copy_bundle(Path(script).stem, directory)


def test_the_environment_has_the_images_versions(sklearn12_python: str, tmp_path: Path) -> None:
    completed = run_isolated(sklearn12_python, ["-c", VERSIONS_SNIPPET], tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == IMAGE_VERSIONS


def test_prepare_runs_alone_under_the_image_and_matches_the_local_stack(
    sklearn12_python: str, tmp_path: Path
) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy2(IRIS_CSV, raw / "iris.csv")
    script = alone("prepare.py", tmp_path / "code")
    out = tmp_path / "container"
    args = ["--input-dir", str(raw), "--output-dir", str(out), "--label-column", "Species"]

    completed = run_isolated(sklearn12_python, [str(script), *args], script.parent)

    assert completed.returncode == 0, completed.stderr
    local = tmp_path / "local"
    assert prepare.main([*args[:3], str(local), *args[4:]]) in (0, None)
    contract = json.loads((out / "contract" / "contract.json").read_text())
    assert contract == json.loads((local / "contract" / "contract.json").read_text())
    assert contract["num_classes"] == 3
    for split in ("train", "validation", "test"):
        container_rows = list(csv.reader((out / split / f"{split}.csv").open()))
        local_rows = list(csv.reader((local / split / f"{split}.csv").open()))
        assert container_rows == local_rows, f"{split} differs between pandas 1.1.3 and ours"


def test_a_data_error_is_reported_the_same_way_under_the_image(
    sklearn12_python: str, tmp_path: Path
) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "bad.csv").write_text("a,b,Species\n1,x,s\n2,3,t\n", encoding="utf-8")
    script = alone("prepare.py", tmp_path / "code")
    message = tmp_path / "message"
    args = [
        "--input-dir",
        str(raw),
        "--output-dir",
        str(tmp_path / "o"),
        "--label-column",
        "Species",
    ]

    env_args = [str(script), *args]
    completed = subprocess.run(
        [sklearn12_python, "-E", "-s", *env_args],
        cwd=script.parent,
        env={"PATH": os.environ.get("PATH", ""), "SM_FAILURE_FILE": str(message)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert completed.returncode != 0
    assert message.read_text(encoding="utf-8").startswith("DataValidationError")
