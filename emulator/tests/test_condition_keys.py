"""Service-specific condition keys a request carries (``emulator/aws/iam/resources.py``
``REQUEST_CONDITION_KEYS``): a policy conditioned on one decides as on AWS."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.aws.iam.resources import request_condition_keys
from emulator.tests.test_access_control import allow, as_role, make_role, root

pytestmark = pytest.mark.integration

__all__ = ["root"]

NAMESPACE_ONLY: dict[str, Any] = {
    "Effect": "Allow",
    "Action": "cloudwatch:PutMetricData",
    "Resource": "*",
    "Condition": {"StringEquals": {"cloudwatch:namespace": "MLOps/Drift"}},
}


def test_put_metric_data_carries_its_namespace() -> None:
    assert request_condition_keys("cloudwatch:PutMetricData", {"Namespace": "MLOps/Drift"}) == {
        "cloudwatch:namespace": ("MLOps/Drift",)
    }
    assert request_condition_keys("cloudwatch:PutMetricData", {}) == {}
    assert request_condition_keys("s3:GetObject", {"Namespace": "x"}) == {}


def test_put_metric_data_is_allowed_only_in_the_policys_namespace(root: boto3.Session) -> None:
    role = make_role(root, "publisher", allow(NAMESPACE_ONLY))
    cloudwatch = as_role(root, role).client("cloudwatch")
    datum = [{"MetricName": "DriftDetected", "Value": 1.0}]

    cloudwatch.put_metric_data(Namespace="MLOps/Drift", MetricData=datum)
    with pytest.raises(ClientError) as refused:
        cloudwatch.put_metric_data(Namespace="Other/Namespace", MetricData=datum)

    # Refused with 403. The body is the query protocol's AccessDenied document whatever the
    # wire format (docs/fidelity.md: a JSON CloudWatch client reads the code "403").
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "not authorized to perform: cloudwatch:PutMetricData" in str(refused.value)
