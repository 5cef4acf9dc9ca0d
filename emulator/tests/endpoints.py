"""Endpoints for the emulator's tests: a small model served by the XGBoost container's stack.

The model is trained by ``fixtures/serving/train_model.py`` in the container's interpreter and
served with ``fixtures/serving/inference.py``; each fixture model also records the answers the
endpoint must give (``direct_prediction``). The helpers deploy through the SageMaker API.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from emulator.aws import sagemaker
from emulator.aws.sagemaker import hosting
from emulator.containers import interpreters
from emulator.tests.helpers import ACCOUNT, tar_gz

SERVING = Path(__file__).resolve().parent / "fixtures" / "serving"
INFERENCE_SCRIPT = SERVING / "inference.py"
PROGRAM = INFERENCE_SCRIPT.name
BUCKET = "ml-artifacts"
SOURCE_URI = f"s3://{BUCKET}/code/sourcedir.tar.gz"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker"
#: A row of the fixture model's third class, and two rows, the second of its first class.
SAMPLE = "3.0,3.0,3.0,3.0"
TWO_ROWS = f"{SAMPLE}\n-1.0,-1.0,-1.0,-1.0\n"
ENDPOINT_SECONDS = 0.2


def train_model(target: Path, max_depth: int, rounds: int) -> Path:
    """``target/model`` holding the model; ``target/predictions.json`` its answers."""
    model_dir = target / "model"
    answers = subprocess.run(
        [
            str(interpreters.xgboost17_python()),
            str(SERVING / "train_model.py"),
            str(model_dir),
            str(max_depth),
            str(rounds),
            json.dumps([SAMPLE, TWO_ROWS]),
        ],
        cwd=SERVING,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    (target / "predictions.json").write_text(answers, encoding="utf-8")
    return model_dir


def direct_prediction(model_dir: Path, body: str) -> list[list[float]]:
    """What the model in ``model_dir`` answers for ``body`` (``SAMPLE`` or ``TWO_ROWS``)."""
    answers = json.loads((model_dir.parent / "predictions.json").read_text(encoding="utf-8"))
    return list(answers[body])


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_model(tmp_path_factory.mktemp("model"), max_depth=3, rounds=10)


@pytest.fixture(scope="session")
def other_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second, visibly different model (one shallow round)."""
    return train_model(tmp_path_factory.mktemp("other"), max_depth=1, rounds=1)


def model_tar_gz(model_dir: Path) -> bytes:
    """``model.tar.gz`` as a training job writes it: the model directory's files at its root."""
    files = sorted(path for path in model_dir.rglob("*") if path.is_file())
    return tar_gz({str(path.relative_to(model_dir)): path for path in files})


@pytest.fixture
def endpoint_clients(emulator: None, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """S3 with the inference code, SageMaker, SageMaker Runtime; short endpoint transitions."""
    hosting.set_endpoint_cache_dir(tmp_path / "endpoint-cache")
    # Endpoints take time to create and update (emulator/tests/test_endpoint_lifecycle.py).
    sagemaker.set_endpoint_transition_seconds(ENDPOINT_SECONDS)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(
        Bucket=BUCKET, Key="code/sourcedir.tar.gz", Body=tar_gz({PROGRAM: INFERENCE_SCRIPT})
    )
    yield {
        "s3": s3,
        "sm": boto3.client("sagemaker", region_name="us-east-1"),
        "runtime": boto3.client("sagemaker-runtime", region_name="us-east-1"),
    }
    hosting.stop_served_models()
    sagemaker.set_endpoint_transition_seconds(None)
    hosting.set_endpoint_cache_dir(None)


def upload_model(aws: dict[str, Any], model_dir: Path, key: str) -> str:
    aws["s3"].put_object(Bucket=BUCKET, Key=key, Body=model_tar_gz(model_dir))
    return f"s3://{BUCKET}/{key}"


def container(model_uri: str, program: str = PROGRAM, source: str = SOURCE_URI) -> dict[str, Any]:
    return {
        "Image": IMAGE,
        "ModelDataUrl": model_uri,
        "Environment": {"SAGEMAKER_PROGRAM": program, "SAGEMAKER_SUBMIT_DIRECTORY": source},
    }


def endpoint_config(sm: Any, name: str, model_name: str) -> None:
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model_name,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )


def deploy(aws: dict[str, Any], primary_container: dict[str, Any], name: str = "iris") -> str:
    sm = aws["sm"]
    sm.create_model(
        ModelName=f"{name}-model", PrimaryContainer=primary_container, ExecutionRoleArn=ROLE
    )
    endpoint_config(sm, f"{name}-config", f"{name}-model")
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    wait_until_settled(sm, name)
    return name


def wait_until_settled(sm: Any, name: str, timeout: float = 30.0) -> str:
    """Poll until the endpoint leaves Creating/Updating/RollingBack; return its status."""
    deadline = time.monotonic() + timeout
    while True:
        endpoint_status = str(sm.describe_endpoint(EndpointName=name)["EndpointStatus"])
        if endpoint_status not in {"Creating", "Updating", "RollingBack"}:
            return endpoint_status
        assert time.monotonic() < deadline, f"endpoint {name} still {endpoint_status}"
        time.sleep(0.05)


def deploy_from_package(aws: dict[str, Any], model_uri: str, program: str = PROGRAM) -> str:
    sm = aws["sm"]
    sm.create_model_package_group(ModelPackageGroupName="iris-models")
    package = sm.create_model_package(
        ModelPackageGroupName="iris-models",
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [container(model_uri, program)],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )
    return deploy(aws, {"ModelPackageName": package["ModelPackageArn"]})


def invoke(aws: dict[str, Any], endpoint: str, body: str, **extra: Any) -> dict[str, Any]:
    answer = aws["runtime"].invoke_endpoint(
        EndpointName=endpoint, ContentType="text/csv", Body=body.encode(), **extra
    )
    return {**answer, "json": json.loads(answer["Body"].read())}
