"""The deployments queue's messages -> deployment runs, one at a time per endpoint.

Model Registry approval events (EventBridge) and the project's own deployment requests
(``make approve`` of an Approved package, ``make rollback``) arrive on one FIFO queue whose
message group is the endpoint. The execution name derives from the approval itself
(``contracts.deployment.execution_name``): the same approval delivered twice maps to one name, so
Step Functions starts it once ("ExecutionAlreadyExists" once it has ended).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from contracts import deployment as requests

try:
    from .jobs import Job, MalformedEventError, NotRun, mapping, required_str
except ImportError:  # in the zip, the modules sit side by side at the root
    from jobs import (  # type: ignore[no-redef,import-not-found,unused-ignore]
        Job,
        MalformedEventError,
        NotRun,
        mapping,
        required_str,
    )


def serving_package(sagemaker: Any, endpoint_name: str) -> str | None:
    """The package the endpoint serves (None: no endpoint, or a model not from a package)."""
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    except ClientError as error:
        if "Could not find endpoint" in str(error):
            return None
        raise
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    arn = (model.get("PrimaryContainer") or {}).get("ModelPackageName")
    return str(arn) if arn else None


def rejection(detail: Any, sagemaker: Any, endpoint_name: str) -> NotRun:
    """A rejected package deploys nothing; if the endpoint still serves it, say what to do."""
    arn = required_str(detail, "ModelPackageArn", "detail.ModelPackageArn")
    if endpoint_name and serving_package(sagemaker, endpoint_name) == arn:
        return NotRun(
            "done",
            f"Model package {arn} was rejected but still serves on endpoint {endpoint_name}: roll "
            "back to the previously serving approved package (make rollback: the guarded "
            "deployment path), approve and deploy another version, or delete the endpoint "
            "(make endpoint-down).",
            arn,
            title="Rejected model is still serving",
        )
    return NotRun("done", f"rejected package {arn} does not serve", arn, notify=False)


def job_for(body: Any, sagemaker: Any, endpoint_name: str = "") -> Job | NotRun:
    """What one message of the deployments queue asks for."""
    root = mapping(body, "(event)")
    detail = root.get("detail")
    rejected = isinstance(detail, dict) and detail.get("ModelApprovalStatus") == "Rejected"
    if root.get("source") == "aws.sagemaker" and rejected:
        return rejection(detail, sagemaker, endpoint_name)
    try:
        request = requests.parse_message(root)
    except requests.RequestError as error:
        raise MalformedEventError(f"not a deployment request: {error}") from None
    try:
        package = sagemaker.describe_model_package(ModelPackageName=request.model_package_arn)
    except ClientError as error:
        # SageMaker answers a package that does not exist (or an ARN it cannot read) with a
        # ValidationException; anything else (throttling, access) may pass on a retry, so the
        # invocation fails and the message comes back rather than being deleted.
        if error.response.get("Error", {}).get("Code") != "ValidationException":
            raise
        return NotRun(
            "rejected",
            f"model package {request.model_package_arn} cannot be read: {error}",
            request.model_package_arn,
        )
    return Job(
        name=requests.execution_name(request, package),
        input=json.dumps(request.as_input(), sort_keys=True),
        what=f"{request.reason} of {request.model_package_arn}",
        log={"model_package_arn": request.model_package_arn, "reason": request.reason},
    )
