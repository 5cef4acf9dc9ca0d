"""``invoke_endpoint`` latency against the emulator, beside the emulator's round-trip floor.

    Emulator.start() ─► S3: model.tar.gz (the trained model directory, its code inside)
                     ─► CreateModel (SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code)
                     ─► CreateEndpointConfig ─► CreateEndpoint ─► poll until InService
                     ─► warm-up, then N rounds of: floor call, 1-row invoke, 100-row invoke

The model is served as the emulator serves every endpoint: the XGBoost 1.7-1 container's own
serving stack in its own process (emulator/aws/sagemaker_runtime.py). The rounds interleave the
three calls so that load from other processes on the machine falls on all three alike. The
floor is STS GetCallerIdentity: a request through the same HTTP server, client and signing,
with no work behind it. Every figure is the client's view (perf_counter around the call).
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.config import Config

from emulator.process import Emulator

BUCKET = "bench-artifacts"
ENDPOINT = "bench"
#: The XGBoost 1.7-1 image in us-east-1, as the pipeline's models name it.
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::123456789012:role/bench-sagemaker"
FLOOR_CALL = "sts:GetCallerIdentity"
WARMUP_CALLS = 10
IN_SERVICE_TIMEOUT = 180.0


@dataclass(frozen=True)
class Latencies:
    one_row: list[float]
    hundred_rows: list[float]
    floor: list[float]


def features_only(split_csv_lines: list[str]) -> str:
    """Request rows from split lines (label index first): the features, as text/csv."""
    return "".join(line.split(",", 1)[1].rstrip("\n") + "\n" for line in split_csv_lines)


def request_rows(test_csv: Path, rows: int) -> str:
    lines: list[str] = []
    with test_csv.open(encoding="utf-8") as handle:
        for line in handle:
            lines.append(line)
            if len(lines) == rows:
                break
    if len(lines) < rows:
        raise ValueError(f"{test_csv} has {len(lines)} rows, {rows} are needed")
    return features_only(lines)


def check_answer(body: bytes, rows: int) -> None:
    """Raise unless the endpoint answered one list of class probabilities per request row."""
    try:
        answer = json.loads(body)
    except ValueError:
        raise RuntimeError(f"the bench endpoint answered non-JSON: {body[:200]!r}") from None
    if not (
        isinstance(answer, list)
        and len(answer) == rows
        and all(isinstance(row, list) and row for row in answer)
    ):
        raise RuntimeError(
            f"the bench endpoint answered {body[:200]!r}, not {rows} rows of probabilities"
        )


def model_tar_gz(model_dir: Path) -> bytes:
    """``model.tar.gz`` as SageMaker packs SM_MODEL_DIR: its contents at the archive's root."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for path in sorted(model_dir.iterdir()):
            tar.add(path, arcname=path.name)
    return raw.getvalue()


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _client(emulator: Emulator, service: str) -> Any:
    # No retries: a retried call would hide its failure inside a latency sample.
    return emulator.client(service, config=Config(retries={"max_attempts": 1, "mode": "standard"}))


@contextmanager
def running_emulator(workdir: Path) -> Iterator[Emulator]:
    workdir.mkdir(parents=True, exist_ok=True)
    # pipeline_workdir also puts the endpoint's extracted model under workdir (emulator/server.py).
    with Emulator.start(
        log_path=workdir / "emulator.log", pipeline_workdir=workdir / "pipelines"
    ) as emulator:
        yield emulator


def deploy(emulator: Emulator, model_dir: Path) -> None:
    s3, sm = _client(emulator, "s3"), _client(emulator, "sagemaker")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="bench/model.tar.gz", Body=model_tar_gz(model_dir))
    sm.create_model(
        ModelName=f"{ENDPOINT}-model",
        PrimaryContainer={
            "Image": IMAGE,
            "ModelDataUrl": f"s3://{BUCKET}/bench/model.tar.gz",
            "Environment": {
                "SAGEMAKER_PROGRAM": "train.py",
                "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
            },
        },
        ExecutionRoleArn=ROLE,
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{ENDPOINT}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{ENDPOINT}-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=f"{ENDPOINT}-config")
    deadline = time.monotonic() + IN_SERVICE_TIMEOUT
    while True:
        described = sm.describe_endpoint(EndpointName=ENDPOINT)
        status = described["EndpointStatus"]
        if status == "InService":
            return
        if status == "Failed":
            raise RuntimeError(f"the bench endpoint failed: {described.get('FailureReason')}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the bench endpoint is still {status} after {IN_SERVICE_TIMEOUT}s")
        time.sleep(0.2)


def sample(emulator: Emulator, one_row: str, hundred_rows: str, samples: int) -> Latencies:
    runtime, sts = _client(emulator, "sagemaker-runtime"), _client(emulator, "sts")

    def invoke(body: str) -> Callable[[], Any]:
        def call() -> Any:
            answer = runtime.invoke_endpoint(
                EndpointName=ENDPOINT, ContentType="text/csv", Accept="application/json", Body=body
            )
            return answer["Body"].read()  # the answer is part of the round trip

        return call

    calls = (sts.get_caller_identity, invoke(one_row), invoke(hundred_rows))
    # Time only calls that are known to work: each request is answered as the model would.
    check_answer(calls[1](), 1)
    check_answer(calls[2](), hundred_rows.count("\n"))
    for _ in range(WARMUP_CALLS):
        for call in calls:
            call()
    floor, one, hundred = [], [], []
    for _ in range(samples):
        floor.append(timed(calls[0]))
        one.append(timed(calls[1]))
        hundred.append(timed(calls[2]))
    return Latencies(one_row=one, hundred_rows=hundred, floor=floor)


def measure(workdir: Path, model_dir: Path, test_csv: Path, samples: int) -> Latencies:
    """Serve ``model_dir`` on the emulator and sample the three calls ``samples`` times each."""
    one_row, hundred_rows = request_rows(test_csv, 1), request_rows(test_csv, 100)
    with running_emulator(workdir) as emulator:
        deploy(emulator, model_dir)
        return sample(emulator, one_row, hundred_rows, samples)
