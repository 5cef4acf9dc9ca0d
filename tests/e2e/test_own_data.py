"""`make demo DATA=<csv> LABEL=<column>` on datasets that are not iris.

Two real datasets scikit-learn ships (no download): wine (3 classes, 13 features, numeric labels
0/1/2 in the last column) and breast cancer (binary, 30 features whose names hold spaces, the label
column FIRST, string labels "malignant"/"benign"). Each goes through the real Makefile target with
KEEP=1 in a private state directory, so after the demo has printed its prediction the emulator is
still up: the test then reads the registered package, runs `make predict` against it, and stops
the emulator. Each case applies Terraform once (its label_column) and trains with 2 tuning jobs.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_wine

from contracts import registry
from emulator.process import read_state
from harness import demo

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
#: One apply (~2 min on a busy 2-core machine) and one run with 2 tuning jobs, plus make predict.
DEMO_TIMEOUT = 1500


@dataclass(frozen=True)
class Dataset:
    name: str
    label: str
    frame: pd.DataFrame
    classes: list[str]
    problem_type: str


def wine() -> Dataset:
    loaded = load_wine(as_frame=True)
    frame = loaded.frame.rename(columns={"target": "cultivar"})  # label last, numeric 0/1/2
    return Dataset("wine", "cultivar", frame, ["0", "1", "2"], "multiclass")


def breast_cancer() -> Dataset:
    loaded = load_breast_cancer(as_frame=True)
    names = list(loaded.target_names)  # target 0 = malignant, 1 = benign
    frame = loaded.data.copy()  # sklearn's column names, with spaces ("mean radius")
    frame.insert(0, "diagnosis", [names[t] for t in loaded.target])  # label FIRST, strings
    return Dataset("breast cancer", "diagnosis", frame, sorted(names), "binary")


@dataclass
class KeptDemo:
    """A finished `make demo KEEP=1` in its own state directory, its emulator still running."""

    output: str
    returncode: int
    state_dir: Path

    @property
    def endpoint_url(self) -> str:
        state = read_state(self.state_dir / "emulator.json")
        assert state is not None, f"the demo left no running emulator:\n{self.output}"
        return str(state["endpoint_url"])

    @property
    def outputs_file(self) -> Path:
        return self.state_dir / "session" / "outputs.json"

    def outputs(self) -> dict[str, Any]:
        return dict(json.loads(self.outputs_file.read_text()))

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"AWS_PROFILE", "AWS_SESSION_TOKEN"}}
        env.update(
            AWS_ENDPOINT_URL=self.endpoint_url,
            AWS_DEFAULT_REGION=demo.REGION,
            AWS_REGION=demo.REGION,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            MLOPS_TF_OUTPUTS=str(self.outputs_file),
        )
        return env

    def client(self, service: str) -> Any:
        session: Any = boto3.session.Session()
        return session.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=demo.REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def make(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> tuple[int, str]:
    result = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


@pytest.fixture(params=[wine, breast_cancer], ids=["wine", "breast_cancer"])
def kept_demo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Dataset, KeptDemo]]:
    dataset: Dataset = request.param()
    data = tmp_path / f"{dataset.name.replace(' ', '_')}.csv"
    dataset.frame.to_csv(data, index=False)
    state_dir = tmp_path / "state"
    code, output = make(
        "demo",
        f"DATA={data}",
        f"LABEL={dataset.label}",
        "TUNING_JOBS=2",
        "KEEP=1",
        f"DEMO_ARGS=--state-dir {state_dir}",
        timeout=DEMO_TIMEOUT,
    )
    try:
        yield dataset, KeptDemo(output, code, state_dir)
    finally:
        subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "python"),
                "-m",
                "emulator",
                "down",
                "--state-file",
                str(state_dir / "emulator.json"),
            ],
            cwd=ROOT,
            capture_output=True,
            timeout=120,
            check=False,
        )


def probabilities_by_name(text: str) -> dict[str, float]:
    """``name=0.123`` pairs of one printed prediction (names may hold spaces or digits)."""
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"([^\s,\[=]+)=([0-9.]+)", text)}


@pytest.mark.timeout(DEMO_TIMEOUT + 600)
def test_make_demo_trains_deploys_and_predicts_on_another_dataset(
    kept_demo: tuple[Dataset, KeptDemo],
) -> None:
    dataset, kept = kept_demo
    assert kept.returncode == 0, kept.output[-4000:]
    assert re.search(r"✔ Run \S+ SUCCEEDED", kept.output), kept.output[-4000:]
    classes = ", ".join(dataset.classes)
    assert f"label {dataset.label} ({dataset.problem_type}): classes {classes}" in kept.output

    # The prediction: one of the file's own rows, every class by name, probabilities summing to 1.
    [line] = [ln for ln in kept.output.splitlines() if ln.strip().startswith("prediction for ")]
    row, _, rest = line.strip().removeprefix("prediction for ").partition(": ")
    features = [c for c in dataset.frame.columns if c != dataset.label]
    values = [float(v) for v in row.split(",")]
    assert len(values) == len(features)
    own_rows = dataset.frame[features].to_numpy()
    assert any(
        all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(values, r, strict=True))
        for r in own_rows
    )
    label, _, shown = rest.partition("  [")
    printed = probabilities_by_name(shown.rstrip("]"))
    assert list(printed) == dataset.classes
    assert label in dataset.classes and printed[label] == max(printed.values())
    assert sum(printed.values()) == pytest.approx(1.0, abs=0.002 * len(printed))

    # The registered package: the contract's label, problem type and class count in its metadata,
    # and the class names in the report its ModelMetrics names.
    sagemaker = kept.client("sagemaker")
    group = kept.outputs()["model_package_group_name"]
    [summary] = sagemaker.list_model_packages(ModelPackageGroupName=group)[
        "ModelPackageSummaryList"
    ]
    package = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
    assert package["ModelApprovalStatus"] == "Approved"
    metadata = package["CustomerMetadataProperties"]
    assert metadata["label_column"] == dataset.label
    assert metadata["problem_type"] == dataset.problem_type
    assert metadata["num_classes"] == str(len(dataset.classes))
    assert metadata["class_names"] == registry.CLASS_NAMES_SEPARATOR.join(dataset.classes)
    uri = package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    report = json.loads(kept.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert report["dataset_contract"]["class_names"] == dataset.classes
    assert report["dataset_contract"]["feature_columns"] == features
    assert f"{dataset.problem_type}_classification_metrics" in report

    # make predict against the same endpoint: the report's smoke row, the contract's names.
    code, predicted = make("predict", env=kept.env())
    assert code == 0, predicted
    # stdout then stderr (where every ops command names the target it acts on).
    lines = predicted.strip().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("endpoint "))
    header, answer = lines[first : first + 2]
    assert any(line.startswith("target: account ") for line in lines), lines
    assert header.startswith(f"endpoint {kept.outputs()['endpoint_name']}, label {dataset.label}")
    named = probabilities_by_name(answer.partition("  -> ")[0])
    assert list(named) == dataset.classes
    assert sum(named.values()) == pytest.approx(1.0, abs=1e-3)
    assert answer.partition("  -> ")[2] in dataset.classes
