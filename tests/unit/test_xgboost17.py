"""The ML scripts under the SageMaker XGBoost 1.7-1 image's environment (xgboost 1.7.4, Python 3.9).

Each script is copied ALONE into a scratch directory and run as a subprocess of the interpreter in
`$XGB17_PYTHON` (default `<repo>/.venv-xgb17/bin/python`), which proves both version compatibility
and that the script is self-contained, as it is in the container. A missing interpreter is a
failure, not a skip: create it with

    python3 -m venv .venv-xgb17 && .venv-xgb17/bin/pip install -r requirements-xgb17.txt
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from devtools import build
from emulator import containers
from emulator.containers import interpreters
from emulator.sagemaker_executor import tuning
from ml import train
from tests.helpers import bundles, datasets

pytestmark = pytest.mark.xgb17

REPO_ROOT = Path(__file__).resolve().parents[2]
ML_DIR = REPO_ROOT / "ml"
IRIS_CSV = REPO_ROOT / "data" / "raw" / "iris.csv"
XGB17_PYTHON_ENV = interpreters.XGB17_PYTHON_ENV
DEFAULT_XGB17_PYTHON = interpreters.DEFAULT_XGB17_PYTHON
TIMEOUT_SECONDS = 180
# Small and fast, yet enough for >= 0.9 test accuracy on iris.
FAST_ARGS = ["--max_depth", "3", "--eta", "0.3", "--num_round", "30"]
FAST_ARGS += ["--early_stopping_rounds", "5"]

# Runs inside the 1.7 interpreter: the serving functions, as the container's stack calls them.
SERVE_SNIPPET = """
import json, sys
import train
model = train.model_fn(sys.argv[1])
body = open(sys.argv[2], "rb").read()
features = train.input_fn(body, "text/csv")
answer, content_type = train.output_fn(train.predict_fn(features, model), "application/json")
assert content_type == "application/json", content_type
print(answer)
"""


@pytest.fixture(scope="module")
def xgb17_python() -> str:
    python = Path(os.environ.get(XGB17_PYTHON_ENV) or DEFAULT_XGB17_PYTHON)
    if not python.exists():
        pytest.fail(
            f"xgboost 1.7 interpreter {python} not found. Create it with\n"
            "  python3 -m venv .venv-xgb17 && "
            ".venv-xgb17/bin/pip install -r requirements-xgb17.txt\n"
            f"(or point ${XGB17_PYTHON_ENV} at a Python with xgboost 1.7.x)",
            pytrace=False,
        )
    version = run_isolated(str(python), ["-c", "import xgboost; print(xgboost.__version__)"])
    if not version.stdout.strip().startswith("1.7."):
        pytest.fail(f"{python} has xgboost {version.stdout.strip()!r}, expected 1.7.x")
    return str(python)


def run_isolated(
    python: str,
    args: list[str],
    cwd: Path | None = None,
    extra_env: dict[str, str] | None = None,
    expect_code: int = 0,
) -> subprocess.CompletedProcess[str]:
    # Drop PYTHONPATH/VIRTUAL_ENV so nothing from the main venv leaks into the 1.7 interpreter.
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env.update(extra_env or {})
    completed = subprocess.run(
        [python, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == expect_code, (
        f"{args} exited {completed.returncode}\nstdout:\n{completed.stdout}\n"
        f"stderr:\n{completed.stderr}"
    )
    return completed


def alone(script: str, directory: Path) -> Path:
    """Copy a script with what ships beside it (its processing bundle, or train.py's sourcedir)
    into an otherwise empty code directory, as SageMaker stages it; return the script's copy."""
    directory.mkdir(parents=True, exist_ok=True)
    if script == "train.py":
        return bundles.copy_sourcedir(directory)
    return bundles.copy_bundle(Path(script).stem, directory)


def assert_report_rendered_by_the_image_stack(page: str, metric: str, pictures: int) -> None:
    """report.html beside evaluation.json, drawn by the image's jinja2 and matplotlib: both
    confusion matrices, feature importance, class balance, the training curve (and for a binary
    model the ROC and precision-recall curves)."""
    assert page.startswith("<!DOCTYPE html>")
    assert "jinja2 2.11.3, matplotlib 3.4.1" in page
    assert f"<code>{metric}</code>" in page
    assert page.count('<img src="data:image/png;base64,') == pictures


#: What the image's repository pins (aws/sagemaker-xgboost-container, branch 1.7-1:
#: requirements.txt, docker/1.7-1/base/Dockerfile.cpu).
IMAGE_VERSIONS = {
    "python": "3.9",
    "xgboost": "1.7.4",
    "numpy": "1.24.1",
    "pandas": "1.2.4",
    "sklearn": "0.24.1",
    "scipy": "1.8.0",
}
VERSIONS_SNIPPET = """
import json, sys, numpy, pandas, scipy, sklearn, xgboost
print(json.dumps({"python": "%d.%d" % sys.version_info[:2], "xgboost": xgboost.__version__,
    "numpy": numpy.__version__, "pandas": pandas.__version__, "sklearn": sklearn.__version__,
    "scipy": scipy.__version__}))
"""


def test_the_environment_has_the_images_versions(xgb17_python: str) -> None:
    completed = run_isolated(xgb17_python, ["-c", VERSIONS_SNIPPET])
    assert json.loads(completed.stdout) == IMAGE_VERSIONS


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xgb17")


@pytest.fixture(scope="module")
def split17(xgb17_python: str, workspace: Path) -> Path:
    raw = workspace / "raw"
    raw.mkdir()
    shutil.copy2(IRIS_CSV, raw / "iris.csv")
    script = alone("prepare.py", workspace / "code-prepare")
    out = workspace / "split"
    run_isolated(
        xgb17_python,
        [
            str(script),
            "--input-dir",
            str(raw),
            "--output-dir",
            str(out),
            "--label-column",
            "Species",
        ],
    )
    return out


@pytest.fixture(scope="module")
def trained17(xgb17_python: str, workspace: Path, split17: Path) -> dict[str, Any]:
    code_dir = workspace / "code-train"
    script = alone("train.py", code_dir)
    model_dir = workspace / "model"
    completed = run_isolated(
        xgb17_python,
        [str(script), *FAST_ARGS],
        cwd=code_dir,
        extra_env={
            "SM_CHANNEL_TRAIN": str(split17 / "train"),
            "SM_CHANNEL_VALIDATION": str(split17 / "validation"),
            "SM_CHANNEL_CONTRACT": str(split17 / "contract"),
            "SM_MODEL_DIR": str(model_dir),
            "SM_OUTPUT_DATA_DIR": str(workspace / "output-data"),
            "TRAINING_JOB_NAME": "xgb17-job",
        },
    )
    return {"model_dir": model_dir, "code_dir": code_dir, "stdout": completed.stdout}


def test_prepare_split_is_identical_to_the_main_environment(split17: Path, split_dir: Path) -> None:
    for name in ("train", "validation", "test"):
        relative = Path(name) / f"{name}.csv"
        assert (split17 / relative).read_bytes() == (split_dir / relative).read_bytes()
    # The same contract and drift baseline (Python 3.8 + pandas 1.5 in the container vs the
    # local stack).
    for relative in (Path("contract") / "contract.json", Path("baseline") / "baseline.json"):
        assert (split17 / relative).read_bytes() == (split_dir / relative).read_bytes()


def test_train_under_xgboost17(trained17: dict[str, Any]) -> None:
    metadata = json.loads((trained17["model_dir"] / "metadata.json").read_text())
    assert metadata["xgboost_version"].startswith("1.7.")
    assert metadata["training_job_name"] == "xgb17-job"
    assert metadata["row_counts"] == {"train": 90, "validation": 30}
    # xgboost 1.7's own evaluation lines, read as the service reads them for this image: the
    # container's built-in regex on the log as CloudWatch shows it.
    rounds = [line for line in trained17["stdout"].splitlines() if re.match(r"\[\d+\]\t", line)]
    assert len(rounds) >= metadata["rounds_trained"]
    assert rounds[0].startswith("[0]\ttrain-merror:") and "\tvalidation-mlogloss:" in rounds[0]
    metric = "validation:mlogloss"
    regex = tuning.XGBOOST_BUILTIN_METRICS[metric].regex
    objective = tuning.read_metrics({metric: regex}, trained17["stdout"])[metric]
    assert objective == pytest.approx(metadata["validation_metrics"]["mlogloss"], abs=1e-5)
    # The model carries its code: the script and the contracts package it imports.
    code = trained17["model_dir"] / "code"
    assert (code / "train.py").read_bytes() == (ML_DIR / "train.py").read_bytes()
    shipped = {p.relative_to(code).as_posix() for p in code.rglob("*") if p.is_file()}
    assert shipped == set(build.SOURCEDIR_FILES)


def test_serve_under_xgboost17(
    xgb17_python: str, trained17: dict[str, Any], split17: Path, workspace: Path
) -> None:
    test_rows = np.loadtxt(split17 / "test" / "test.csv", delimiter=",")
    body = workspace / "request.csv"
    header = "SepalLength,SepalWidth,PetalLength,PetalWidth\n"
    body.write_text(header + "\n".join(",".join(map(str, row[1:])) for row in test_rows) + "\n")
    completed = run_isolated(
        xgb17_python,
        ["-c", SERVE_SNIPPET, str(trained17["model_dir"]), str(body)],
        cwd=trained17["code_dir"],
    )
    probabilities = np.asarray(json.loads(completed.stdout.strip().splitlines()[-1]))
    assert probabilities.shape == (30, 3)
    assert np.all(probabilities >= 0)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    accuracy = float((probabilities.argmax(axis=1) == test_rows[:, 0]).mean())
    assert accuracy >= 0.9


def test_bad_request_under_xgboost17(xgb17_python: str, trained17: dict[str, Any]) -> None:
    snippet = (
        "import sys, train\n"
        "model = train.model_fn(sys.argv[1])\n"
        "refused = train.predict_fn(train.input_fn(b'1,2,3', 'text/csv'), model)\n"
        "print('rejected:', refused.status, refused.message)\n"
        "refused = train.predict_fn(train.input_fn(b'5.1;3.5;1.4;0.2', 'text/csv'), model)\n"
        "print('rejected:', refused.status, refused.message)\n"
    )
    completed = run_isolated(
        xgb17_python, ["-c", snippet, str(trained17["model_dir"])], cwd=trained17["code_dir"]
    )
    expected = "expected 4 comma-separated numbers (SepalLength,SepalWidth,PetalLength,PetalWidth)"
    assert f"rejected: 400 row 1: {expected}, got 3 values" in completed.stdout
    assert "rejected: 400 row 1: wrong delimiter: found values separated by ';'" in (
        completed.stdout
    )


def serve_through_container(
    xgb17_python: str, model_dir: Path, base: Path, requests: list[tuple[str, str | None, bytes]]
) -> list[dict[str, Any]]:
    """Answers of the container's serving stack (local/container_serving.py) for the model
    directory alone (SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code), one per request."""
    shutil.copytree(model_dir, base / "model")
    stdin = "".join(
        json.dumps(
            {
                "content_type": content_type,
                "accept": accept,
                "body": base64.b64encode(body).decode(),
            }
        )
        + "\n"
        for content_type, accept, body in requests
    )
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env.update(
        {"SAGEMAKER_PROGRAM": "train.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}
    )
    completed = subprocess.run(
        [xgb17_python, str(containers.SERVING_SCRIPT), str(base)],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    ready, *answers = [json.loads(line) for line in completed.stdout.splitlines()]
    assert ready == {"ready": True}, completed.stderr
    assert len(answers) == len(requests)
    return answers


def test_serve_through_the_containers_stack_from_the_model_alone(
    xgb17_python: str, trained17: dict[str, Any], workspace: Path
) -> None:
    """The 1.7-trained model.tar.gz serves on its own (SAGEMAKER_SUBMIT_DIRECTORY
    =/opt/ml/model/code) through sagemaker-containers' transformer: JSON, 415, 406, 400."""
    requests: list[tuple[str, str | None, bytes]] = [
        ("text/csv", "application/json", b"5.1,3.5,1.4,0.2"),
        ("application/json", None, b"[[5.1,3.5,1.4,0.2]]"),
        ("text/csv", "text/csv", b"5.1,3.5,1.4,0.2"),
        ("text/csv", None, b"\xff\xfe\x81"),
    ]
    answers = serve_through_container(
        xgb17_python, trained17["model_dir"], workspace / "serving" / "opt-ml", requests
    )
    assert [(a["status"], a["content_type"]) for a in answers] == [
        (200, "application/json"),
        (415, "application/json"),
        (406, "application/json"),
        (400, "application/json"),
    ]
    probabilities = json.loads(base64.b64decode(answers[0]["body"]))
    assert len(probabilities) == 1 and probabilities[0][0] > 0.5  # a setosa
    assert json.loads(base64.b64decode(answers[1]["body"]))["error"] == "UnsupportedFormatError"


def test_the_containers_stack_reorders_a_header_and_accepts_a_byte_order_mark(
    xgb17_python: str, trained17: dict[str, Any], workspace: Path
) -> None:
    """The endpoint's API is the contract: through the container's own request handling (the
    body decoded by werkzeug as the container does), a header in another order answers as the
    model's order, a UTF-8 byte-order mark is accepted, and a header naming another column is a
    400 that names it."""
    features = json.loads((trained17["model_dir"] / "contract.json").read_text())["feature_columns"]
    rows = ["5.1,3.5,1.4,0.2", "6.9,3.1,5.4,2.1"]
    order = [2, 0, 3, 1]
    shuffled = [",".join(row.split(",")[i] for i in order) for row in rows]
    header = ",".join(features[i] for i in order)
    requests: list[tuple[str, str | None, bytes]] = [
        ("text/csv", None, "\n".join(rows).encode()),
        ("text/csv", None, (header + "\n" + "\n".join(shuffled)).encode()),
        ("text/csv", None, b"\xef\xbb\xbf" + "\n".join(rows).encode()),
        ("text/csv", None, b"\xef\xbb\xbf" + (header + "\n" + "\n".join(shuffled)).encode()),
        ("text/csv", None, ("Colour," + header + "\n1," + shuffled[0]).encode()),
    ]
    answers = serve_through_container(
        xgb17_python, trained17["model_dir"], workspace / "serving-header" / "opt-ml", requests
    )
    assert [a["status"] for a in answers] == [200, 200, 200, 200, 400]
    bodies = [json.loads(base64.b64decode(a["body"])) for a in answers]
    assert bodies[1] == bodies[0] and bodies[2] == bodies[0] and bodies[3] == bodies[0]
    assert bodies[4]["error"] == "ValueError"
    assert bodies[4]["error-message"].startswith(
        "the header row does not name the model's features: unknown 'Colour'"
    )


def test_evaluate_under_xgboost17(
    xgb17_python: str, trained17: dict[str, Any], split17: Path, workspace: Path
) -> None:
    archive_dir = workspace / "model-archive"
    archive_dir.mkdir()
    with tarfile.open(archive_dir / "model.tar.gz", "w:gz") as tar:
        for path in sorted(trained17["model_dir"].iterdir()):
            tar.add(path, arcname=path.name)
    script = alone("evaluate.py", workspace / "code-evaluate")
    out = workspace / "evaluation"
    run_isolated(
        xgb17_python,
        [
            str(script),
            "--model-dir",
            str(archive_dir),
            "--test-dir",
            str(split17 / "test"),
            "--output-dir",
            str(out),
            "--model-uri",
            "s3://bucket/model.tar.gz",
            "--baseline-dir",
            str(split17 / "baseline"),
            "--accuracy-threshold",
            "0.9",
        ],
    )
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert evaluation["multiclass_classification_metrics"]["accuracy"]["value"] >= 0.9
    # The monitoring baseline: prepare's, with the predicted classes on the 30 test rows.
    predictions = json.loads((out / "baseline.json").read_text())["predictions"]
    assert predictions["rows"] == 30 and sum(predictions["counts"]) == 30
    assert evaluation["model"]["artifact_uri"] == "s3://bucket/model.tar.gz"
    assert evaluation["model"]["training_job_name"] == "xgb17-job"
    assert evaluation["xgboost_version"].startswith("1.7.")
    assert evaluation["row_counts"] == {"train": 90, "validation": 30, "test": 30}
    assert evaluation["feature_importance"]["used_features"] >= 1
    assert evaluation["class_counts"]["train"] == {name: 30 for name in evaluation["class_names"]}
    page = (out / "report.html").read_text(encoding="utf-8")
    assert_report_rendered_by_the_image_stack(page, "validation:mlogloss", pictures=5)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["gate"]["passed"] is True and summary["champion"] is None


def test_evaluate_under_xgboost17_scores_the_serving_model_on_the_same_rows(
    xgb17_python: str, trained17: dict[str, Any], split17: Path, workspace: Path
) -> None:
    """The champion (here the same 1.7-trained model, served from its model.tar.gz) is scored
    in the container's interpreter on the candidate's test rows: the same numbers."""
    champion_dir = workspace / "champion"
    champion_dir.mkdir()
    with tarfile.open(champion_dir / "model.tar.gz", "w:gz") as tar:
        for path in sorted(trained17["model_dir"].iterdir()):
            tar.add(path, arcname=path.name)
    script = alone("evaluate.py", workspace / "code-evaluate-champion")
    out = workspace / "evaluation-champion"
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/models/1"
    run_isolated(
        xgb17_python,
        [
            str(script),
            "--model-dir",
            str(champion_dir),
            "--test-dir",
            str(split17 / "test"),
            "--output-dir",
            str(out),
            "--champion-dir",
            str(champion_dir),
            "--champion-package-arn",
            arn,
            "--accuracy-threshold",
            "0.9",
            "--champion-margin",
            "0.02",
            "--run-name",
            "xgb17-run",
        ],
    )
    evaluation = json.loads((out / "evaluation.json").read_text())
    champion = evaluation["champion"]
    assert (champion["model_package_arn"], champion["contract_matches"]) == (arn, True)
    block = "multiclass_classification_metrics"
    assert champion["metrics"][block] == evaluation[block]
    summary = json.loads((out / "summary.json").read_text())
    accuracy = evaluation[block]["accuracy"]["value"]
    assert summary["champion"]["accuracy"] == summary["candidate"]["accuracy"] == accuracy
    assert summary["gate"]["passed"] is True and summary["promotion"]["auto_approvable"] is True
    page = (out / "report.html").read_text(encoding="utf-8")
    assert arn in page and "xgb17-run" in page


def test_model_from_xgboost17_serves_the_same_under_xgboost3(
    xgb17_python: str, trained17: dict[str, Any], split17: Path, workspace: Path
) -> None:
    """A container-trained model loads in the local (3.x) stack with identical predictions."""
    rows = "5.1,3.5,1.4,0.2\n6.0,2.9,4.5,1.5\n6.9,3.1,5.4,2.1\n"
    body = workspace / "three.csv"
    body.write_text(rows)
    completed = run_isolated(
        xgb17_python,
        ["-c", SERVE_SNIPPET, str(trained17["model_dir"]), str(body)],
        cwd=trained17["code_dir"],
    )
    served17 = np.asarray(json.loads(completed.stdout.strip().splitlines()[-1]))
    model = train.model_fn(str(trained17["model_dir"]))
    features = train.parse_csv_request(rows, model.contract.feature_columns)
    served3 = np.asarray(
        json.loads(train.probabilities_json(train.predict_probabilities(features, model)))
    )
    assert np.allclose(served17, served3, atol=1e-5)


# --------------------------------------------------------------------------- binary under 1.7


@pytest.fixture(scope="module")
def cancer17(xgb17_python: str, workspace: Path) -> dict[str, Path]:
    """Breast cancer (label second, spaces in names, string labels) through the three scripts."""
    raw = workspace / "cancer-raw"
    raw.mkdir()
    (raw / "cancer.csv").write_text(datasets.breast_cancer_csv())
    split = workspace / "cancer-split"
    prepare_script = alone("prepare.py", workspace / "cancer-code-prepare")
    run_isolated(
        xgb17_python,
        [
            str(prepare_script),
            "--input-dir",
            str(raw),
            "--output-dir",
            str(split),
            "--label-column",
            datasets.CANCER_LABEL,
        ],
    )
    code_dir = workspace / "cancer-code-train"
    script = alone("train.py", code_dir)
    model_dir = workspace / "cancer-model"
    completed = run_isolated(
        xgb17_python,
        [str(script), *FAST_ARGS, "--objective", "binary:logistic"],
        cwd=code_dir,
        extra_env={
            "SM_CHANNEL_TRAIN": str(split / "train"),
            "SM_CHANNEL_VALIDATION": str(split / "validation"),
            "SM_CHANNEL_CONTRACT": str(split / "contract"),
            "SM_MODEL_DIR": str(model_dir),
            "SM_OUTPUT_DATA_DIR": str(workspace / "cancer-output"),
        },
    )
    (workspace / "cancer-stdout.txt").write_text(completed.stdout)
    return {"split": split, "model_dir": model_dir, "code_dir": code_dir, "workspace": workspace}


def test_binary_train_serve_evaluate_under_xgboost17(
    xgb17_python: str, cancer17: dict[str, Path]
) -> None:
    contract = json.loads((cancer17["split"] / "contract" / "contract.json").read_text())
    assert contract["objective"] == "binary:logistic"
    assert contract["class_names"] == ["benign", "malignant"]
    stdout = (cancer17["workspace"] / "cancer-stdout.txt").read_text()
    metadata = json.loads((cancer17["model_dir"] / "metadata.json").read_text())
    metric = "validation:logloss"
    regex = tuning.XGBOOST_BUILTIN_METRICS[metric].regex
    objective = tuning.read_metrics({metric: regex}, stdout)[metric]
    assert objective == pytest.approx(metadata["validation_metrics"]["logloss"], abs=1e-5)
    # Serving: [1-p, p] per row, the same under 1.7 and 3.x.
    lines = (cancer17["split"] / "test" / "test.csv").read_text().splitlines()[:4]
    body = cancer17["workspace"] / "cancer-request.csv"
    body.write_text("\n".join(line.split(",", 1)[1] for line in lines) + "\n")
    completed = run_isolated(
        xgb17_python,
        ["-c", SERVE_SNIPPET, str(cancer17["model_dir"]), str(body)],
        cwd=cancer17["code_dir"],
    )
    served17 = np.asarray(json.loads(completed.stdout.strip().splitlines()[-1]))
    assert served17.shape == (4, 2)
    assert np.allclose(served17.sum(axis=1), 1.0, atol=1e-5)
    model = train.model_fn(str(cancer17["model_dir"]))
    served3 = train.predict_probabilities(
        train.parse_csv_request(body.read_text(), model.contract.feature_columns), model
    )
    assert np.allclose(served17, served3, atol=1e-5)
    # Evaluation: SageMaker's binary block and a smoke test of two probabilities per row.
    script = alone("evaluate.py", cancer17["workspace"] / "cancer-code-evaluate")
    out = cancer17["workspace"] / "cancer-evaluation"
    run_isolated(
        xgb17_python,
        [
            str(script),
            "--model-dir",
            str(cancer17["model_dir"]),
            "--test-dir",
            str(cancer17["split"] / "test"),
            "--output-dir",
            str(out),
            "--accuracy-threshold",
            "0.9",
        ],
    )
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert evaluation["binary_classification_metrics"]["accuracy"]["value"] >= 0.9
    assert evaluation["dataset_contract"] == contract
    assert [len(p) for p in evaluation["smoke_test"]["probabilities"]] == [2] * 5
    page = (out / "report.html").read_text(encoding="utf-8")
    assert_report_rendered_by_the_image_stack(page, "validation:logloss", pictures=7)
    assert 'data-section="curves"' in page
