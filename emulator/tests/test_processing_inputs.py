"""The executor's processing inputs read S3 the way ProcessingS3Input documents.

``S3Prefix``: "SageMaker uses all objects with the specified key name prefix", so a sibling key
that merely starts like the URI is read too (the contamination a run must avoid by naming its own
copy). ``ManifestFile``: exactly the keys the manifest lists, nothing that merely starts like one.
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingS3Input.html
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from emulator.sagemaker_executor.definition import DefinitionError, StepFailure
from emulator.sagemaker_executor.jobs import ProcessingJobRunner, S3Transfer

pytestmark = pytest.mark.integration

BUCKET = "inputs-test"


@pytest.fixture
def s3(emulator: None) -> Any:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    for key, body in {
        "data/raw/a.csv": b"mine\n",
        "data/raw/a.csv.1.csv": b"sibling\n",
        "data/raw/b.csv": b"other\n",
    }.items():
        client.put_object(Bucket=BUCKET, Key=key, Body=body)
    return client


def _runner(s3: Any) -> ProcessingJobRunner:
    return ProcessingJobRunner(
        storage=S3Transfer(s3), records=None, python="python3", should_stop=lambda: False
    )  # type: ignore[arg-type]


def _inputs(data_type: str | None, uri: str) -> dict[str, Any]:
    s3_input = {"S3Uri": uri, "LocalPath": "/opt/ml/processing/input"}
    if data_type is not None:
        s3_input["S3DataType"] = data_type
    return {"ProcessingInputs": [{"InputName": "input", "S3Input": s3_input}]}


def _read(root: Path) -> dict[str, bytes]:
    directory = root / "processing" / "input"
    return {p.name: p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_s3_prefix_reads_every_key_that_starts_with_the_uri(s3: Any, tmp_path: Path) -> None:
    _runner(s3).download_inputs(_inputs("S3Prefix", f"s3://{BUCKET}/data/raw/a.csv"), tmp_path)

    assert _read(tmp_path) == {"a.csv": b"mine\n", "a.csv.1.csv": b"sibling\n"}


def test_manifest_file_reads_exactly_the_listed_keys(s3: Any, tmp_path: Path) -> None:
    manifest = [{"prefix": f"s3://{BUCKET}/data/raw/"}, "a.csv"]
    s3.put_object(Bucket=BUCKET, Key="manifests/one.json", Body=json.dumps(manifest).encode())

    _runner(s3).download_inputs(
        _inputs("ManifestFile", f"s3://{BUCKET}/manifests/one.json"), tmp_path
    )

    assert _read(tmp_path) == {"a.csv": b"mine\n"}


def test_manifest_file_entry_that_does_not_exist_fails_the_job(s3: Any, tmp_path: Path) -> None:
    manifest = [{"prefix": f"s3://{BUCKET}/data/raw/"}, "a.cs"]  # only a prefix of a real key
    s3.put_object(Bucket=BUCKET, Key="manifests/bad.json", Body=json.dumps(manifest).encode())

    with pytest.raises(StepFailure, match="ClientError"):
        _runner(s3).download_inputs(
            _inputs("ManifestFile", f"s3://{BUCKET}/manifests/bad.json"), tmp_path
        )


@pytest.mark.parametrize("manifest", [[], ["a.csv"], [{"prefix": "s3://x/"}], {"prefix": 1}])
def test_a_malformed_manifest_fails_the_job_with_its_format(
    s3: Any, tmp_path: Path, manifest: Any
) -> None:
    s3.put_object(Bucket=BUCKET, Key="manifests/m.json", Body=json.dumps(manifest).encode())

    with pytest.raises(StepFailure, match="must be a JSON list"):
        _runner(s3).download_inputs(
            _inputs("ManifestFile", f"s3://{BUCKET}/manifests/m.json"), tmp_path
        )


@pytest.mark.parametrize("data_type", [None, "Prefix", "s3prefix"])
def test_s3_data_type_is_required_and_one_of_the_valid_values(
    s3: Any, tmp_path: Path, data_type: str | None
) -> None:
    with pytest.raises(DefinitionError, match="S3DataType"):
        _runner(s3).download_inputs(_inputs(data_type, f"s3://{BUCKET}/data/raw/b.csv"), tmp_path)
