"""make destroy on the local stack: the real Terraform applied to the emulator's server process, a
package approved and deployed through the real queue, trigger and deployment machine, objects
overwritten and deleted in the versioned bucket; then the destroy command lists, deletes and runs
``terraform destroy``, and afterwards every resource list of the account is empty.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.process import Emulator
from harness import terraform_local
from ops import cli, destroy
from tests.helpers.stack import _model_artifact, evaluation_report, summary_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


@pytest.fixture(scope="module")
def applied(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Emulator, Path, dict[str, Any]]]:
    if not (ROOT / "build" / "sourcedir.tar.gz").exists():
        pytest.fail("run `make build` first (build/sourcedir.tar.gz, the Lambda zips)")
    workdir = tmp_path_factory.mktemp("destroy")
    with Emulator.start(
        pipeline_workdir=workdir / "pipelines", log_path=workdir / "emu.log"
    ) as emu:
        outputs = terraform_local.apply(emu, workdir / "terraform")
        yield emu, workdir, outputs


def register(emu: Emulator, outputs: dict[str, Any]) -> str:
    """A package as the training machine registers one, waiting for approval."""
    s3, bucket = emu.client("s3"), outputs["bucket_name"]
    report = evaluation_report(0.97, execution_id="destroy")
    artifact = report["model"]["artifact_uri"] = f"s3://{bucket}/models/destroy/model.tar.gz"
    s3.put_object(Bucket=bucket, Key="models/destroy/model.tar.gz", Body=_model_artifact())
    s3.put_object(
        Bucket=bucket, Key="evaluation/destroy/evaluation.json", Body=json.dumps(report).encode()
    )
    metadata = summary_for(report)["registration"]["metadata"]
    return str(
        emu.client("sagemaker").create_model_package(
            ModelPackageGroupName=outputs["model_package_group_name"],
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={
                "Containers": [
                    {
                        "Image": XGBOOST_IMAGE,
                        "ModelDataUrl": artifact,
                        "Environment": {
                            "SAGEMAKER_PROGRAM": "train.py",
                            "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                        },
                    }
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
            ModelMetrics={
                "ModelQuality": {
                    "Statistics": {
                        "ContentType": "application/json",
                        "S3Uri": f"s3://{bucket}/evaluation/destroy/evaluation.json",
                    }
                }
            },
            CustomerMetadataProperties=metadata,
        )["ModelPackageArn"]
    )


def ops_env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The shell `make local-up` prints: the emulator's endpoint and its dummy credentials."""
    values = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": emu.endpoint_url,
    }
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return dict(os.environ)


def account_lists(client: Callable[[str], Any]) -> dict[str, list[Any]]:
    """Every resource list of the account that the stack and its runs could fill."""
    sagemaker = client("sagemaker")
    return {
        "buckets": client("s3").list_buckets()["Buckets"],
        "endpoints": sagemaker.list_endpoints()["Endpoints"],
        "endpoint configs": sagemaker.list_endpoint_configs()["EndpointConfigs"],
        "models": sagemaker.list_models()["Models"],
        "model package groups": sagemaker.list_model_package_groups()[
            "ModelPackageGroupSummaryList"
        ],
        "pipelines": sagemaker.list_pipelines()["PipelineSummaries"],
        "state machines": client("stepfunctions").list_state_machines()["stateMachines"],
        "functions": client("lambda").list_functions()["Functions"],
        "queues": client("sqs").list_queues().get("QueueUrls", []),
        "topics": client("sns").list_topics()["Topics"],
        "roles": [
            r
            for r in client("iam").list_roles()["Roles"]
            if not r["Path"].startswith("/aws-service-role/")
        ],
        "alarms": client("cloudwatch").describe_alarms()["MetricAlarms"],
        "rules": client("events").list_rules()["Rules"],
        "schedules": client("scheduler").list_schedules()["Schedules"],
    }


def test_destroy_leaves_nothing_in_the_account(
    applied: tuple[Emulator, Path, dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emu, workdir, outputs = applied
    env = ops_env(emu, monkeypatch)
    assert outputs["bucket_name"].startswith("iris-mlops-local-")  # never an AWS stack's name
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(outputs))
    arn = register(emu, outputs)
    s3, bucket = emu.client("s3"), outputs["bucket_name"]
    s3.put_object(Bucket=bucket, Key="evaluation/destroy/notes.txt", Body=b"one")
    s3.put_object(Bucket=bucket, Key="evaluation/destroy/notes.txt", Body=b"two")
    s3.delete_object(Bucket=bucket, Key="evaluation/destroy/notes.txt")  # a delete marker

    out, err = io.StringIO(), io.StringIO()
    code = cli.main(
        [
            "--outputs",
            str(outputs_file),
            "approve",
            "--package",
            arn,
            "--yes",
            "--wait",
            "--poll",
            "1",
            "--timeout",
            "300",
        ],
        env=env,
        out=out,
        err=err,
    )
    assert code == 0, err.getvalue() + out.getvalue()
    assert emu.client("sagemaker").list_endpoints()["Endpoints"]

    args = cli.build_parser().parse_args(["--outputs", str(outputs_file), "destroy", "--yes"])
    streams = {"out": io.StringIO(), "err": io.StringIO(), "in": io.StringIO()}
    ctx = cli.context(args, env, streams, lambda: dt.datetime.now(dt.UTC))

    def terraform() -> int:
        terraform_local.destroy(emu, workdir / "terraform")
        return 0

    result = destroy.run(ctx, terraform=terraform)

    listed = streams["out"].getvalue()
    assert f"endpoint: {outputs['endpoint_name']}" in listed
    assert "1 models the deployments created" in listed
    assert "delete markers (emptied explicitly" in listed
    assert result.text == "destroyed: nothing of the project is left in the account"
    left = {name: items for name, items in account_lists(emu.client).items() if items}
    assert left == {}
