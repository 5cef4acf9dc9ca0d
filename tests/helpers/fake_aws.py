"""In-memory fakes of the AWS calls the ops commands make, for unit tests without AWS.

Each fake keeps its state in plain dicts and answers in the shape boto3 returns; a missing
resource is the ClientError the service raises (SageMaker: ValidationException "Could not find
..."; Step Functions: ExecutionDoesNotExist; S3: NoSuchKey / 404), so the commands' error paths
run as they would against AWS. ``calls`` records every mutating call, in order.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

REGION = "us-east-1"
ACCOUNT = "123456789012"
GROUP = "proj-models"
ENDPOINT = "proj-endpoint"
BUCKET = "proj-bucket"
TRAINING = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:proj-training"
DEPLOYMENT = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:proj-deployment"
MONITORING = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:proj-monitoring"
UPLOADS_QUEUE = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/proj-trigger-uploads.fifo"
DEPLOYMENTS_QUEUE = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/proj-deployments.fifo"
CALLER = f"arn:aws:iam::{ACCOUNT}:user/operator"
T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)

OUTPUTS: dict[str, Any] = {
    "bucket_name": BUCKET,
    "stack_region": REGION,
    "training_state_machine_arn": TRAINING,
    "deployment_state_machine_arn": DEPLOYMENT,
    "monitoring_state_machine_arn": MONITORING,
    "uploads_queue_url": UPLOADS_QUEUE,
    "deployments_queue_url": DEPLOYMENTS_QUEUE,
    "model_package_group_name": GROUP,
    "endpoint_name": ENDPOINT,
    "model_name_prefix": "proj",
    "auto_approve_allowed": False,
}


def error(code: str, message: str = "", operation: str = "Operation") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def missing(what: str) -> ClientError:
    return error("ValidationException", f"Could not find {what}.")


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def record(self, call: str, /, **kwargs: Any) -> None:
        self.calls.append((call, kwargs))

    def called(self, call: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == call]


class FakeSageMaker(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.packages: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.configs: dict[str, dict[str, Any]] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.groups: set[str] = {GROUP}
        self.clock = T0

    # ---- packages
    def add_package(
        self,
        version: int,
        approval: str,
        *,
        metadata: dict[str, str] | None = None,
        evaluation_uri: str | None = None,
        description: str = "",
    ) -> str:
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/{version}"
        package: dict[str, Any] = {
            "ModelPackageArn": arn,
            "ModelPackageGroupName": GROUP,
            "ModelPackageVersion": version,
            "ModelApprovalStatus": approval,
            "ModelPackageStatus": "Completed",
            "CreationTime": T0 + dt.timedelta(minutes=version),
            "CustomerMetadataProperties": dict(metadata or {}),
        }
        if description:
            package["ApprovalDescription"] = description
        if evaluation_uri:
            package["ModelMetrics"] = {
                "ModelQuality": {
                    "Statistics": {"ContentType": "application/json", "S3Uri": evaluation_uri}
                }
            }
        self.packages[arn] = package
        return arn

    def list_model_packages(self, ModelPackageGroupName: str, **_: Any) -> dict[str, Any]:
        if ModelPackageGroupName not in self.groups:
            raise missing(f"model package group {ModelPackageGroupName}")
        keys = ("ModelPackageArn", "ModelPackageVersion", "ModelApprovalStatus", "CreationTime")
        return {
            "ModelPackageSummaryList": [{k: p[k] for k in keys} for p in self.packages.values()]
        }

    def describe_model_package(self, ModelPackageName: str) -> dict[str, Any]:
        if ModelPackageName not in self.packages:
            raise missing(f"model package {ModelPackageName}")
        return copy.deepcopy(self.packages[ModelPackageName])

    def update_model_package(self, ModelPackageArn: str, **kwargs: Any) -> dict[str, Any]:
        self.record("update_model_package", ModelPackageArn=ModelPackageArn, **kwargs)
        package = self.packages[ModelPackageArn]
        package.update(kwargs)
        self.clock += dt.timedelta(seconds=1)
        package["LastModifiedTime"] = self.clock
        return {"ModelPackageArn": ModelPackageArn}

    def delete_model_package(self, ModelPackageName: str) -> None:
        self.record("delete_model_package", ModelPackageName=ModelPackageName)
        self.packages.pop(ModelPackageName)

    def delete_model_package_group(self, ModelPackageGroupName: str) -> None:
        self.record("delete_model_package_group", ModelPackageGroupName=ModelPackageGroupName)
        if self.packages:
            raise error("ConflictException", "the group still holds packages")
        self.groups.discard(ModelPackageGroupName)

    # ---- endpoint, configs, models
    def serve(self, package_arn: str, name: str, endpoint: str = ENDPOINT) -> None:
        """An endpoint serving ``package_arn`` through config and model ``name``."""
        self.models[name] = {
            "ModelName": name,
            "PrimaryContainer": {"ModelPackageName": package_arn},
        }
        self.configs[name] = {
            "EndpointConfigName": name,
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": name}],
        }
        self.endpoints[endpoint] = {
            "EndpointName": endpoint,
            "EndpointConfigName": name,
            "EndpointStatus": "InService",
        }

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
        if EndpointName not in self.endpoints:
            raise missing(f"endpoint {EndpointName}")
        return dict(self.endpoints[EndpointName])

    def describe_endpoint_config(self, EndpointConfigName: str) -> dict[str, Any]:
        if EndpointConfigName not in self.configs:
            raise missing(f"endpoint configuration {EndpointConfigName}")
        return dict(self.configs[EndpointConfigName])

    def describe_model(self, ModelName: str) -> dict[str, Any]:
        if ModelName not in self.models:
            raise missing(f"model {ModelName}")
        return dict(self.models[ModelName])

    def delete_endpoint(self, EndpointName: str) -> None:
        self.record("delete_endpoint", EndpointName=EndpointName)
        if self.endpoints.pop(EndpointName, None) is None:
            raise missing(f"endpoint {EndpointName}")

    def delete_endpoint_config(self, EndpointConfigName: str) -> None:
        self.record("delete_endpoint_config", EndpointConfigName=EndpointConfigName)
        if self.configs.pop(EndpointConfigName, None) is None:
            raise missing(f"endpoint configuration {EndpointConfigName}")

    def delete_model(self, ModelName: str) -> None:
        self.record("delete_model", ModelName=ModelName)
        if self.models.pop(ModelName, None) is None:
            raise missing(f"model {ModelName}")

    def list_endpoint_configs(self, NameContains: str = "", **_: Any) -> dict[str, Any]:
        return {
            "EndpointConfigs": [
                {"EndpointConfigName": n} for n in self.configs if NameContains in n
            ]
        }

    def list_models(self, NameContains: str = "", **_: Any) -> dict[str, Any]:
        return {"Models": [{"ModelName": n} for n in self.models if NameContains in n]}

    def list_pipeline_execution_steps(self, **_: Any) -> dict[str, Any]:
        return {"PipelineExecutionSteps": []}


class FakeS3(Recorder):
    """A versioned bucket: every put adds a version; delete markers are versions too."""

    def __init__(self) -> None:
        super().__init__()
        self.versions: list[dict[str, Any]] = []  # oldest first
        self.counter = 0

    def put(
        self,
        key: str,
        body: bytes | str,
        metadata: dict[str, str] | None = None,
        bucket: str = BUCKET,
    ) -> str:
        self.counter += 1
        data = body.encode() if isinstance(body, str) else body
        version = f"v{self.counter}"
        self.versions.append(
            {
                "Bucket": bucket,
                "Key": key,
                "VersionId": version,
                "Body": data,
                "Metadata": dict(metadata or {}),
                "Marker": False,
            }
        )
        return version

    def _current(self, bucket: str, key: str) -> dict[str, Any] | None:
        found = [v for v in self.versions if v["Bucket"] == bucket and v["Key"] == key]
        return found[-1] if found and not found[-1]["Marker"] else None

    def get_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        current = self._current(Bucket, Key)
        if current is None:
            raise error("NoSuchKey", "The specified key does not exist.", "GetObject")
        return {"Body": io.BytesIO(current["Body"]), "Metadata": current["Metadata"]}

    def head_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        current = self._current(Bucket, Key)
        if current is None:
            raise error("404", "Not Found", "HeadObject")
        return {
            "ContentLength": len(current["Body"]),
            "VersionId": current["VersionId"],
            "Metadata": current["Metadata"],
        }

    def put_object(
        self,
        Bucket: str,
        Key: str,
        Body: Any,
        Metadata: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        data = Body.read() if hasattr(Body, "read") else Body
        self.record("put_object", Bucket=Bucket, Key=Key, Metadata=Metadata, **kwargs)
        return {"VersionId": self.put(Key, data, Metadata, bucket=Bucket)}

    def copy_object(
        self, Bucket: str, Key: str, CopySource: dict[str, str], **kwargs: Any
    ) -> dict[str, Any]:
        self.record("copy_object", Bucket=Bucket, Key=Key, CopySource=CopySource, **kwargs)
        source = self._current(CopySource["Bucket"], CopySource["Key"])
        assert source is not None
        return {"VersionId": self.put(Key, source["Body"], kwargs.get("Metadata"), bucket=Bucket)}

    def list_objects_v2(self, Bucket: str, Prefix: str = "", **_: Any) -> dict[str, Any]:
        keys = sorted(
            {
                v["Key"]
                for v in self.versions
                if v["Bucket"] == Bucket
                and v["Key"].startswith(Prefix)
                and self._current(Bucket, v["Key"])
            }
        )
        return {"Contents": [{"Key": k} for k in keys], "IsTruncated": False}

    def list_object_versions(self, Bucket: str, MaxKeys: int = 1000, **_: Any) -> dict[str, Any]:
        mine = [v for v in self.versions if v["Bucket"] == Bucket][:MaxKeys]
        return {
            "Versions": [
                {"Key": v["Key"], "VersionId": v["VersionId"], "Size": len(v["Body"])}
                for v in mine
                if not v["Marker"]
            ],
            "DeleteMarkers": [
                {"Key": v["Key"], "VersionId": v["VersionId"]} for v in mine if v["Marker"]
            ],
        }

    def get_paginator(self, name: str) -> Any:
        s3 = self

        class Paginator:
            def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
                return [getattr(s3, name)(**kwargs)]

        return Paginator()

    def delete_marker(self, key: str) -> None:
        self.counter += 1
        self.versions.append(
            {
                "Bucket": BUCKET,
                "Key": key,
                "VersionId": f"v{self.counter}",
                "Body": b"",
                "Metadata": {},
                "Marker": True,
            }
        )

    def delete_objects(self, Bucket: str, Delete: dict[str, Any]) -> dict[str, Any]:
        self.record("delete_objects", Bucket=Bucket, Count=len(Delete["Objects"]))
        gone = {(o["Key"], o["VersionId"]) for o in Delete["Objects"]}
        self.versions = [
            v
            for v in self.versions
            if (v["Key"], v["VersionId"]) not in gone or v["Bucket"] != Bucket
        ]
        return {}


@dataclass
class FakeExecution:
    name: str
    machine: str
    status: str = "RUNNING"
    input: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] | None = None
    error: str | None = None
    cause: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    started: dt.datetime = T0

    @property
    def arn(self) -> str:
        return self.machine.replace(":stateMachine:", ":execution:") + f":{self.name}"

    def enter(self, state: str, data: dict[str, Any] | None = None) -> None:
        self.events.append(
            {
                "id": len(self.events) + 1,
                "type": "PassStateEntered",
                "timestamp": self.started + dt.timedelta(seconds=len(self.events)),
                "stateEnteredEventDetails": {"name": state, "input": json.dumps(data or {})},
            }
        )


class FakeSfn(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.executions: dict[str, FakeExecution] = {}

    def add(self, execution: FakeExecution) -> FakeExecution:
        self.executions[execution.arn] = execution
        return execution

    def _get(self, arn: str) -> FakeExecution:
        if arn not in self.executions:
            raise error("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")
        return self.executions[arn]

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        found = self._get(executionArn)
        described = {
            "executionArn": found.arn,
            "name": found.name,
            "status": found.status,
            "input": json.dumps(found.input),
            "startDate": found.started,
        }
        if found.output is not None:
            described["output"] = json.dumps(found.output)
        described.update({k: v for k, v in (("error", found.error), ("cause", found.cause)) if v})
        return described

    def get_execution_history(self, executionArn: str, **_: Any) -> dict[str, Any]:
        return {"events": list(self._get(executionArn).events)}

    def list_executions(
        self, stateMachineArn: str, statusFilter: str | None = None, **_: Any
    ) -> dict[str, Any]:
        return {
            "executions": [
                {"executionArn": e.arn, "name": e.name, "status": e.status, "startDate": e.started}
                for e in self.executions.values()
                if e.machine == stateMachineArn and statusFilter in (None, e.status)
            ]
        }

    def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:
        self.record("start_execution", stateMachineArn=stateMachineArn, name=name, input=input)
        execution = self.add(FakeExecution(name, stateMachineArn, input=json.loads(input)))
        return {"executionArn": execution.arn}

    def stop_execution(self, executionArn: str, cause: str = "") -> None:
        self.record("stop_execution", executionArn=executionArn, cause=cause)
        self._get(executionArn).status = "ABORTED"


class FakeSqs(Recorder):
    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        self.record("send_message", **kwargs)
        return {"MessageId": f"m{len(self.calls)}"}

    def get_queue_attributes(self, QueueUrl: str, **_: Any) -> dict[str, Any]:
        return {
            "Attributes": {
                "ApproximateNumberOfMessages": "2",
                "ApproximateNumberOfMessagesNotVisible": "1",
            }
        }

    def sent(self) -> list[dict[str, Any]]:
        return [
            {**kwargs, "Body": json.loads(kwargs["MessageBody"])}
            for kwargs in self.called("send_message")
        ]


class FakeCloudWatch(Recorder):
    def __init__(self, alarms: list[str] | None = None) -> None:
        super().__init__()
        self.alarms = list(alarms or [])

    def describe_alarms(self, AlarmNamePrefix: str = "", **_: Any) -> dict[str, Any]:
        return {
            "MetricAlarms": [{"AlarmName": a} for a in self.alarms if a.startswith(AlarmNamePrefix)]
        }

    def delete_alarms(self, AlarmNames: list[str]) -> None:
        self.record("delete_alarms", AlarmNames=AlarmNames)
        self.alarms = [a for a in self.alarms if a not in AlarmNames]


class FakeLogs(Recorder):
    def __init__(self, groups: list[str] | None = None) -> None:
        super().__init__()
        self.groups = list(groups or [])

    def describe_log_groups(self, logGroupNamePrefix: str = "", **_: Any) -> dict[str, Any]:
        return {
            "logGroups": [
                {"logGroupName": g} for g in self.groups if g.startswith(logGroupNamePrefix)
            ]
        }

    def delete_log_group(self, logGroupName: str) -> None:
        self.record("delete_log_group", logGroupName=logGroupName)
        self.groups.remove(logGroupName)


class FakeRuntime(Recorder):
    def __init__(self, answer: bytes = b"[[0.1, 0.9]]") -> None:
        super().__init__()
        self.answer = answer

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        self.record("invoke_endpoint", **kwargs)
        return {"Body": io.BytesIO(self.answer)}


class FakeSts:
    def get_caller_identity(self) -> dict[str, str]:
        return {"Account": ACCOUNT, "Arn": CALLER, "UserId": "AID"}


class FakeClients:
    """The attributes ``ops.session.Clients`` has, each a fake."""

    def __init__(self, region: str = REGION, endpoint_url: str | None = None) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.sagemaker = FakeSageMaker()
        self.s3 = FakeS3()
        self.sfn = FakeSfn()
        self.sqs = FakeSqs()
        self.cloudwatch = FakeCloudWatch()
        self.logs = FakeLogs()
        self.runtime = FakeRuntime()
        self.sts = FakeSts()
        self.sagemaker.meta = type(
            "Meta", (), {"endpoint_url": f"https://api.sagemaker.{region}.amazonaws.com"}
        )()


def evaluation_report(
    accuracy: float,
    *,
    features: list[str] | None = None,
    classes: list[str] | None = None,
    f1: float | None = None,
    smoke_body: str = "1,2\n",
) -> dict[str, Any]:
    """An evaluation.json in the contract's shape (multiclass), as ml/evaluate.py writes one."""
    names = classes or ["a", "b", "c"]
    return {
        "multiclass_classification_metrics": {
            "accuracy": {"value": accuracy, "standard_deviation": "NaN"},
            "weighted_f1": {"value": accuracy if f1 is None else f1, "standard_deviation": "NaN"},
        },
        "dataset_contract": {
            "label_column": "kind",
            "feature_columns": features or ["x1", "x2"],
            "class_names": names,
            "num_classes": len(names),
        },
        "smoke_test": {
            "content_type": "text/csv",
            "body": smoke_body,
            "rows": len(smoke_body.splitlines()),
            "probabilities": [[0.2, 0.3, 0.5] for _ in smoke_body.splitlines()],
        },
    }


def register(
    clients: FakeClients, version: int, approval: str, report: dict[str, Any], **metadata: str
) -> str:
    """A package as the training machine registers it: its evaluation stored, its metadata set."""
    uri = f"s3://{BUCKET}/evaluation/exec-{version}/evaluation.json"
    clients.s3.put(f"evaluation/exec-{version}/evaluation.json", json.dumps(report))
    values = {
        "accuracy": str(report["multiclass_classification_metrics"]["accuracy"]["value"]),
        "sfn_execution": f"s3-data-{version}",
        **metadata,
    }
    return clients.sagemaker.add_package(version, approval, metadata=values, evaluation_uri=uri)


def context(
    clients: FakeClients, argv: list[str], stdin: str = "", outputs: dict[str, Any] | None = None
) -> Any:
    """A command's Context as the CLI builds it, its streams readable (``progress``, ``ask``)."""
    from ops import cli, session

    args = cli.build_parser().parse_args(argv)
    return session.Context(
        args=args,
        outputs=dict(OUTPUTS if outputs is None else outputs),
        clients=clients,  # type: ignore[arg-type]
        target=session.identify(clients),  # type: ignore[arg-type]
        now=lambda: T0,
        progress=io.StringIO(),
        ask=io.StringIO(),
        stdin=io.StringIO(stdin),
    )
