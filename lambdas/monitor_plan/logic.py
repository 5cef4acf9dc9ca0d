"""Plan one monitoring run: the serving model, its baseline and contract, the window's captured
traffic, and the processing job that compares them.

    input ─► checked (contracts.monitoring) ─► not valid ─────► refuse (InvalidExecutionInput)
    DescribeEndpoint ─► absent, or not serving ──────────────► skip (insufficient-data)
    its config ─► data capture off ──────────────────────────► skip (insufficient-data)
    model ─► package ─► DriftCheckBaselines.ModelDataQuality.Statistics
                     ─► ModelMetrics.ModelQuality.Statistics (evaluation.json) ─► dataset_contract
                     ─► either missing ──────────────────────► refuse (BaselineMissing)
    <capture>/<endpoint>/<variant>/yyyy/mm/dd/hh/ of the window's hours ─► none ─► skip
    ─► capture.manifest and contract.json under monitoring/<endpoint>/<run>/inputs/ ─► run

A processing input of an empty prefix fails the job ("No S3 objects found under S3 URL"), so a
window without captured traffic ends here, without a job: never a false alarm. The answer always
has every key, so the state machine can select them; the ASL only routes on ``action``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from contracts import evaluation, monitoring, s3_layout

try:
    from .settings import Settings
except ImportError:  # in the zip, the modules sit side by side at the root
    from settings import Settings  # type: ignore[no-redef,import-not-found,unused-ignore]

INVALID_INPUT = "InvalidExecutionInput"
BASELINE_MISSING = "BaselineMissing"
#: Statuses in which an endpoint serves (and so captures) its current config.
SERVING = frozenset({"InService", "Updating", "SystemUpdating", "RollingBack"})
CAPTURE_SUFFIX = ".jsonl"
#: botocore's sagemaker model: ProcessingMaxRuntimeInSeconds is 1 to 777600.
MAX_RUNTIME_SECONDS = 777600


@dataclass(frozen=True)
class Clients:
    sagemaker: Any
    s3: Any


@dataclass(frozen=True)
class Serving:
    """What the endpoint serves, and where its traffic is captured."""

    config: str
    variants: list[str]
    capture_destination: str
    package_arn: str
    baseline_uri: str | None
    evaluation_uri: str | None


class Skip(Exception):
    """Nothing to judge: the reason says why and what to do."""


class Refuse(Exception):
    def __init__(self, error: str, cause: str) -> None:
        super().__init__(cause)
        self.error = error


def parse_started(text: Any) -> datetime:
    """``$$.Execution.StartTime`` (ISO 8601, e.g. ``2024-05-01T13:00:00.123Z``)."""
    return monitoring.parse_time(str(text), "execution start")


def _endpoint(sagemaker: Any, name: str) -> dict[str, Any]:
    try:
        return dict(sagemaker.describe_endpoint(EndpointName=name))
    except ClientError as error:
        if "Could not find endpoint" in str(error):
            raise Skip(
                f"Endpoint {name} does not exist: there is no traffic to judge. Deploy a model "
                "first (an approved package is deployed by the deployment machine)."
            ) from None
        raise


def find_serving(sagemaker: Any, name: str) -> Serving:
    """Endpoint ─► config ─► model ─► package: what is served, and its baseline's location."""
    endpoint = _endpoint(sagemaker, name)
    status = endpoint.get("EndpointStatus")
    if status not in SERVING:
        raise Skip(f"Endpoint {name} is {status}: it serves no traffic to judge.")
    config_name = str(endpoint["EndpointConfigName"])
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    capture = config.get("DataCaptureConfig") or {}
    if not capture.get("EnableCapture", True) or not capture.get("InitialSamplingPercentage"):
        raise Skip(
            f"Data capture is off on {name} (endpoint config {config_name}): set Terraform's "
            "data_capture_percent above 0 and deploy again."
        )
    variants = [str(v["VariantName"]) for v in config["ProductionVariants"]]
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    package_arn = (model.get("PrimaryContainer") or {}).get("ModelPackageName")
    if not package_arn:
        raise Refuse(
            BASELINE_MISSING,
            f"Endpoint {name} serves model {model.get('ModelName')}, not a model package: "
            "there is no registered baseline to compare its traffic with.",
        )
    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    baselines = (package.get("DriftCheckBaselines") or {}).get("ModelDataQuality") or {}
    quality = (package.get("ModelMetrics") or {}).get("ModelQuality") or {}
    return Serving(
        config=config_name,
        variants=variants,
        capture_destination=str(capture["DestinationS3Uri"]),
        package_arn=str(package_arn),
        baseline_uri=(baselines.get("Statistics") or {}).get("S3Uri"),
        evaluation_uri=(quality.get("Statistics") or {}).get("S3Uri"),
    )


def read_contract(s3: Any, serving: Serving) -> dict[str, Any]:
    """The serving model's dataset contract, from its evaluation report."""
    if not serving.baseline_uri or not serving.evaluation_uri:
        raise Refuse(
            BASELINE_MISSING,
            f"Model package {serving.package_arn} has no drift baseline "
            "(DriftCheckBaselines.ModelDataQuality) or no evaluation report: it was registered "
            "before the pipeline wrote one. Train and deploy a new model to monitor drift.",
        )
    bucket, key = s3_layout.split_s3_uri(serving.evaluation_uri)
    try:
        report = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        return dict(evaluation.contract_of(report))
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code not in ("NoSuchKey", "404"):
            raise
        reason = f"{serving.evaluation_uri} does not exist"
    except (ValueError, evaluation.ReportError) as error:
        reason = f"{serving.evaluation_uri} holds no dataset contract ({error})"
    raise Refuse(
        BASELINE_MISSING, f"{reason}: model package {serving.package_arn} cannot be monitored."
    )


def captured_files(
    s3: Any, serving: Serving, endpoint: str, window: monitoring.Window
) -> tuple[str, list[str]]:
    """(manifest prefix URI, the capture files of the window's hours, relative to it)."""
    bucket, prefix = s3_layout.split_s3_uri(serving.capture_destination.rstrip("/") + "/")
    base = "/".join(p for p in (prefix.strip("/"), endpoint) if p) + "/"
    found: list[str] = []
    paginator = s3.get_paginator("list_objects_v2")
    for variant in serving.variants:
        for hour in window.hours():
            folder = monitoring.hour_prefix(prefix, endpoint, variant, hour)
            for page in paginator.paginate(Bucket=bucket, Prefix=folder):
                found += [
                    item["Key"][len(base) :]
                    for item in page.get("Contents", [])
                    if item["Key"].endswith(CAPTURE_SUFFIX)
                ]
    return s3_layout.s3_uri(bucket, base), sorted(found)


def _s3_input(name: str, uri: str, local_path: str, data_type: str = "S3Prefix") -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local_path,
            "S3DataType": data_type,
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


def job(
    settings: Settings, execution_name: str, window: monitoring.Window, uris: Mapping[str, str]
) -> dict[str, Any]:
    """The parts of CreateProcessingJob that change per run (the ASL holds the rest)."""
    return {
        "name": monitoring.job_name(execution_name),
        "arguments": [
            "--endpoint-name",
            settings.endpoint_name,
            "--start",
            window.as_dict()["start"],
            "--end",
            window.as_dict()["end"],
            "--min-rows",
            str(settings.min_rows),
            "--baseline-dir",
            monitoring.BASELINE_DIR,
            "--contract-dir",
            monitoring.CONTRACT_DIR,
            "--capture-dir",
            monitoring.CAPTURE_DIR,
            "--output-dir",
            monitoring.OUTPUT_DIR,
        ],
        "inputs": [
            _s3_input("code", settings.code_uri, monitoring.CODE_DIR),
            _s3_input("baseline", uris["baseline"], monitoring.BASELINE_DIR),
            _s3_input("contract", uris["contract"], monitoring.CONTRACT_DIR),
            _s3_input("capture", uris["manifest"], monitoring.CAPTURE_DIR, "ManifestFile"),
        ],
        "output_uri": uris["output"],
        # SageMaker stops a job that outlives the machine's poll budget.
        "max_runtime_seconds": min(
            MAX_RUNTIME_SECONDS, max(60, settings.poll_interval_seconds * settings.max_polls)
        ),
    }


def answer(
    settings: Settings, action: str, run: Mapping[str, Any], **fields: Any
) -> dict[str, Any]:
    return {
        "action": action,
        "reason": fields.get("reason", ""),
        "error": fields.get("error"),
        "cause": fields.get("cause"),
        "verdict": monitoring.INSUFFICIENT_DATA if action == "skip" else None,
        "run": dict(run),
        "job": fields.get("job"),
        "settings": {
            "poll_interval_seconds": settings.poll_interval_seconds,
            "max_polls": settings.max_polls,
        },
        "polls": {"job": {"count": 0}},
    }


def prepare(
    clients: Clients, settings: Settings, execution_name: str, window: monitoring.Window,
    run: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """Find what to compare, write the job's manifest and contract, answer the job."""
    serving = find_serving(clients.sagemaker, settings.endpoint_name)
    run["model_package_arn"] = serving.package_arn
    run["baseline_uri"] = serving.baseline_uri
    contract = read_contract(clients.s3, serving)
    prefix, files = captured_files(clients.s3, serving, settings.endpoint_name, window)
    run["capture_files"] = len(files)
    if not files:
        start, end = window.as_dict()["start"], window.as_dict()["end"]
        raise Skip(
            f"No traffic was captured on {settings.endpoint_name} between {start} and {end}: "
            "nothing to judge (send traffic, or widen window_minutes)."
        )
    inputs = s3_layout.monitoring_prefix(
        settings.endpoint_name, monitoring.run_name(execution_name)
    )
    keys = {
        "manifest": f"{inputs}inputs/{monitoring.MANIFEST_FILE}",
        "contract": f"{inputs}inputs/contract/{monitoring.CONTRACT_FILE}",
    }
    clients.s3.put_object(
        Bucket=settings.bucket,
        Key=keys["manifest"],
        Body=monitoring.manifest(prefix, files).encode(),
    )
    clients.s3.put_object(
        Bucket=settings.bucket, Key=keys["contract"], Body=json.dumps(contract).encode()
    )
    uris = {name: s3_layout.s3_uri(settings.bucket, key) for name, key in keys.items()}
    uris["baseline"] = str(serving.baseline_uri)
    uris["output"] = run["output_uri"]
    return answer(settings, "run", run, job=job(settings, execution_name, window, uris))


def plan(event: Mapping[str, Any], clients: Clients, settings: Settings) -> dict[str, Any]:
    execution_name = str(event["execution_name"])
    run: dict[str, Any] = {
        "endpoint": settings.endpoint_name,
        "execution": execution_name,
        "output_uri": monitoring.output_uri(
            settings.bucket, settings.endpoint_name, execution_name
        ),
        "min_rows": settings.min_rows,
    }
    try:
        request = monitoring.parse_input(event.get("input"), settings.window_minutes)
    except monitoring.InputError as error:
        return answer(settings, "refuse", run, error=INVALID_INPUT, cause=str(error))
    started = parse_started(event.get("started") or datetime.now(UTC).isoformat())
    window = monitoring.window_of(request, started)
    run.update(window=window.as_dict(), reason=request.reason)
    try:
        return prepare(clients, settings, execution_name, window, run)
    except Skip as skip:
        return answer(settings, "skip", run, reason=str(skip))
    except Refuse as refusal:
        return answer(settings, "refuse", run, error=refusal.error, cause=str(refusal))
