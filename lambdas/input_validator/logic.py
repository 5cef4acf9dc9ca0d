"""The training machine's first state, in Python: check the input, answer the initial state.

    input ─► schema (contracts.execution_input) ─► refused: {valid: false, error, cause}
          ─► defaults merged once ─► data location: HeadObject pins the version (or the one given)
          ─► the champion: the package the endpoint serves and its model artifact
          ─► pipeline parameters, registration description and metadata, poll counters

Clients are passed in (the handler owns them), so tests use fakes or the emulator. A refusal of
the input is an answer; AWS errors other than "not found" / "access denied" on the data object
propagate, so Step Functions retries them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from contracts import execution_input, pipeline, registry, s3_layout

INVALID_INPUT = "InvalidExecutionInput"
INPUT_UNREADABLE = "InputUnreadable"
INPUT_NOT_VERSIONED = "InputNotVersioned"
NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NoSuchVersion", "NotFound"})
ACCESS_CODES = frozenset({"403", "AccessDenied"})
SERVING_STATUSES = frozenset({"InService", "Updating", "SystemUpdating"})


@dataclass(frozen=True)
class Config:
    """The function's settings (environment variables Terraform sets)."""

    bucket: str
    defaults: Mapping[str, Any]
    auto_approve_allowed: bool
    endpoint_name: str
    #: ChampionModelUri when nothing serves: a prefix holding only Terraform's "none" marker.
    no_champion_uri: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Config:
        return cls(
            bucket=environ["BUCKET"],
            defaults=json.loads(environ["DEFAULTS_JSON"]),
            auto_approve_allowed=environ.get("AUTO_APPROVE_ALLOWED", "false") == "true",
            endpoint_name=environ["ENDPOINT_NAME"],
            no_champion_uri=environ["NO_CHAMPION_URI"],
        )


@dataclass(frozen=True)
class Clients:
    s3: Any
    sagemaker: Any


class Refusal(Exception):
    """The input names something the run cannot use; ``error`` is the execution's error name."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(cause)
        self.error = error
        self.cause = cause


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def locate(s3: Any, uri: str, version_id: str | None) -> dict[str, Any]:
    """The exact object version a run trains on: the one given, or the current one."""
    bucket, key = s3_layout.split_s3_uri(uri)
    request = {"Bucket": bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
    try:
        head = s3.head_object(**request)
    except ClientError as error:
        code = _code(error)
        what = f"{uri}" + (f" version {version_id}" if version_id else "")
        if code in NOT_FOUND_CODES:
            raise Refusal(
                INPUT_UNREADABLE, f"data_uri {what} does not exist: upload the CSV there first."
            ) from None
        if code in ACCESS_CODES:
            raise Refusal(
                INPUT_UNREADABLE,
                f"data_uri {what} cannot be read by the run (access denied): it must be in the "
                "project bucket under one of the data prefixes.",
            ) from None
        raise
    pinned = version_id or head.get("VersionId")
    if not pinned or pinned == "null":
        raise Refusal(
            INPUT_NOT_VERSIONED,
            f"data_uri {uri} has no version id: bucket {bucket} does not keep versions, so the "
            "model package could not record exactly what it trained on. Enable versioning on "
            f"bucket {bucket}.",
        )
    return {
        "bucket": bucket,
        "key": key,
        "version_id": pinned,
        "uri": uri,
        "size": int(head.get("ContentLength", 0)),
    }


def find_champion(clients: Clients, endpoint_name: str) -> dict[str, Any] | None:
    """The package the endpoint serves and its model artifact (the evaluation step scores it and
    prepare reads its feature order from the artifact's contract); None if none serves."""
    sagemaker = clients.sagemaker
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    except ClientError as error:
        if "Could not find endpoint" in str(error):
            return None
        raise
    if endpoint.get("EndpointStatus") not in SERVING_STATUSES:
        return None
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    package_arn = (model.get("PrimaryContainer") or {}).get("ModelPackageName")
    if not package_arn:
        return None
    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    container = package["InferenceSpecification"]["Containers"][0]
    return {"model_package_arn": package_arn, "model_uri": container["ModelDataUrl"]}


def pipeline_values(
    config: Mapping[str, Any],
    run_input_uri: str,
    champion: Mapping[str, Any] | None,
    settings: Config,
    execution_name: str,
) -> dict[str, Any]:
    """Every pipeline parameter of the run (contracts.pipeline.PARAMETERS)."""
    return {
        **execution_input.pipeline_values(config),
        pipeline.INPUT_DATA_URI: run_input_uri,
        pipeline.CHAMPION_MODEL_URI: champion["model_uri"]
        if champion
        else settings.no_champion_uri,
        pipeline.CHAMPION_PACKAGE_ARN: champion["model_package_arn"]
        if champion
        else pipeline.NO_CHAMPION_PACKAGE,
        pipeline.RUN_NAME: execution_name,
    }


def registration(
    config: Mapping[str, Any], data: Mapping[str, Any], execution_name: str
) -> dict[str, Any]:
    """What the package records of the run: a bounded description and input-known metadata."""
    description = registry.description(
        [
            f"Trained by Step Functions execution {execution_name}",
            f"data {data['uri']} (version {data['version_id']})",
            f"read from the run's copy {data['run_input_uri']}",
        ]
    )
    metadata = {
        "sfn_execution": execution_name,
        # A data URI may hold anything (%, #, ...): the metadata keeps its SHA-256.
        "data_uri_sha256": registry.sha256(str(data["uri"])),
        "data_bucket": data["bucket"],
        "data_version_id": registry.metadata_value(data["version_id"]),
        # The run's deploy intent: an approval at registration does not deploy it when false.
        "deploy": bool(config["deploy"]),
    }
    return {"description": description, "metadata": registry.checked_metadata(metadata)}


def refused(error: str, cause: str) -> dict[str, Any]:
    return {"valid": False, "error": error, "cause": cause}


def check(event: Mapping[str, Any], clients: Clients, settings: Config) -> dict[str, Any]:
    """The Lambda's answer: the run's initial state, or ``{"valid": false, "error", "cause"}``."""
    value = event.get("input")
    execution_name = str(event.get("execution_name", ""))
    found = execution_input.problems(
        value, bucket=settings.bucket, defaults=settings.defaults, execution_name=execution_name
    )
    if found:
        return refused(INVALID_INPUT, execution_input.cause(found))
    assert isinstance(value, dict)
    config = {**settings.defaults, **value}
    try:
        data = locate(clients.s3, config["data_uri"], config.get("data_version_id"))
    except Refusal as refusal:
        return refused(refusal.error, refusal.cause)
    data["name"] = s3_layout.object_name(data["key"])
    data["run_input_key"] = s3_layout.run_input_key(execution_name, data["name"])
    data["run_input_uri"] = s3_layout.s3_uri(settings.bucket, data["run_input_key"])
    champion = find_champion(clients, settings.endpoint_name)
    values = pipeline_values(config, data["run_input_uri"], champion, settings, execution_name)
    return {
        "valid": True,
        "error": None,
        "cause": None,
        "config": config,
        "policy": {"auto_approve_allowed": settings.auto_approve_allowed},
        "data": data,
        "champion": champion,
        "pipeline_parameters": pipeline.run_parameters(values),
        "pipeline_description": registry.shorten(
            f"Started by Step Functions execution {execution_name}", 3072
        ),
        "registration": registration(config, data, execution_name),
        "polls": {"pipeline": {"count": 0}},
    }
