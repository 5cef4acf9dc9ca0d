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
    from .jobs import Job, MalformedEventError, NotRun, mapping
except ImportError:  # in the zip, the modules sit side by side at the root
    from jobs import Job, MalformedEventError, NotRun, mapping  # type: ignore[no-redef,import-not-found,unused-ignore]


def job_for(body: Any, sagemaker: Any) -> Job | NotRun:
    """What one message of the deployments queue asks for."""
    try:
        request = requests.parse_message(mapping(body, "(event)"))
    except requests.RequestError as error:
        raise MalformedEventError(f"not a deployment request: {error}") from None
    try:
        package = sagemaker.describe_model_package(ModelPackageName=request.model_package_arn)
    except ClientError as error:
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
