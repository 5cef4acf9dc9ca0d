"""`terraform apply` alone leaves the default data object in the bucket.

The real module is applied to the emulator: afterwards the object the execution defaults name
exists with the repo's iris CSV, the apply started no training run (the object is outside the
trigger's `data/raw/*.csv`), and a user's later upload to that key survives the next apply.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from emulator.process import Emulator
from harness import terraform_local

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
IRIS = ROOT / "data" / "raw" / "iris.csv"


def credentials(emu: Emulator) -> dict[str, Any]:
    return {
        "endpoint_url": emu.endpoint_url,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }


def split_uri(uri: str) -> tuple[str, str]:
    assert uri.startswith("s3://"), uri
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def test_apply_creates_default_data_without_a_run_and_keeps_user_uploads(tmp_path: Path) -> None:
    if not (ROOT / "build" / "sourcedir.tar.gz").exists():
        pytest.fail("run `make build` first (build/sourcedir.tar.gz, build/trigger.zip)")
    with Emulator.start() as emu:
        outputs = terraform_local.apply(emu, tmp_path)
        bucket, key = split_uri(outputs["bucket_data_uri"])
        s3 = boto3.client("s3", **credentials(emu))
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == IRIS.read_bytes()

        # The defaults the input check merges into every run name the same object.
        functions = boto3.client("lambda", **credentials(emu)).list_functions()["Functions"]
        [check] = [f for f in functions if f["FunctionName"].endswith("-input-check")]
        defaults = json.loads(check["Environment"]["Variables"]["DEFAULTS_JSON"])
        assert defaults["data_uri"] == outputs["bucket_data_uri"]
        sfn = boto3.client("stepfunctions", **credentials(emu))
        machine_arn = outputs["training_state_machine_arn"]
        executions = sfn.list_executions(stateMachineArn=machine_arn)
        assert executions["executions"] == [], "terraform apply started a run"

        # Deleted, the object comes back with the next apply, now with the bucket's EventBridge
        # notifications surely on (the first apply may create the object before them): still no
        # run, because the object is outside the trigger's key filter.
        s3.delete_object(Bucket=bucket, Key=key)
        terraform_local.apply(emu, tmp_path)
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == IRIS.read_bytes()
        executions = sfn.list_executions(stateMachineArn=machine_arn)
        assert executions["executions"] == [], "re-creating the default data started a run"

        user_data = b"SepalLength,SepalWidth,PetalLength,PetalWidth,Species\n"
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=user_data,
            ContentType="application/octet-stream",
            Metadata={"uploaded-by": "user"},
        )
        # The next apply may put the project's tags back on the object (a tagging call, no
        # upload); the content and metadata stay the user's.
        terraform_local.apply(emu, tmp_path)
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == user_data
        assert s3.head_object(Bucket=bucket, Key=key)["Metadata"] == {"uploaded-by": "user"}
