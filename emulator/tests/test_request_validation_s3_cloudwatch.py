"""S3 (rest-xml) and CloudWatch (query and JSON) requests are validated against botocore's model.

S3 answers with its own error codes (S3 API reference, "Error responses"); CloudWatch with its
modelled ``ValidationException`` shape, whose query code is ``ValidationError``. Each case
breaks one constraint of the model and asserts the code and that nothing was stored. boto3's
own parameter validation is switched off where it would catch the value before sending it.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.core.utils import get_service_model

from emulator.aws import validation

pytestmark = pytest.mark.integration

UNCHECKED = Config(parameter_validation=False)
BUCKET = "bucket-v"


def _client(service: str) -> Any:
    factory: Any = boto3.client
    return factory(service, config=UNCHECKED)


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> dict[str, Any]:
    return dict(excinfo.value.response["Error"])


@pytest.fixture
def s3(emulator: None) -> Any:
    client = _client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def _stored_keys(s3: Any) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


# --------------------------------------------------------------------------- S3


def test_s3_header_outside_its_enum_is_invalid_argument(s3: Any) -> None:
    # botocore s3 model: PutObject's ServerSideEncryption (header x-amz-server-side-encryption)
    # is an enum (AES256, aws:kms, aws:kms:dsse, ...).
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=BUCKET, Key="k", Body=b"x", ServerSideEncryption="AES512")
    error = _error(excinfo)
    assert error["Code"] == "InvalidArgument"
    assert error["ArgumentName"] == "x-amz-server-side-encryption"
    assert error["ArgumentValue"] == "AES512"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert _stored_keys(s3) == []


def test_s3_canned_acl_outside_its_enum_is_invalid_argument(s3: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=BUCKET, Key="k", Body=b"x", ACL="public")
    assert (_error(excinfo)["Code"], _error(excinfo)["ArgumentName"]) == (
        "InvalidArgument",
        "x-amz-acl",
    )
    assert _stored_keys(s3) == []


def test_s3_storage_class_outside_its_enum_is_invalid_storage_class(s3: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=BUCKET, Key="k", Body=b"x", StorageClass="COLD")
    assert _error(excinfo)["Code"] == "InvalidStorageClass"
    assert _stored_keys(s3) == []


def test_s3_copy_source_must_name_a_bucket_and_key(s3: Any) -> None:
    # CopySource's model pattern: \/?.+\/.+
    s3.put_object(Bucket=BUCKET, Key="src", Body=b"x")
    with pytest.raises(ClientError) as excinfo:
        s3.copy_object(Bucket=BUCKET, Key="dst", CopySource="src")
    assert _error(excinfo)["ArgumentName"] == "x-amz-copy-source"
    assert _stored_keys(s3) == ["src"]


@pytest.mark.parametrize(
    "rule",
    [
        {"ID": "r", "Filter": {}, "Expiration": {"Days": 9}},  # Status is required
        {"ID": "r", "Status": "On", "Filter": {}, "Expiration": {"Days": 9}},  # enum
    ],
    ids=["missing-status", "status-outside-enum"],
)
def test_s3_xml_body_breaking_the_schema_is_malformed_xml(s3: Any, rule: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.put_bucket_lifecycle_configuration(
            Bucket=BUCKET, LifecycleConfiguration={"Rules": [rule]}
        )
    assert _error(excinfo)["Code"] == "MalformedXML"
    with pytest.raises(ClientError) as missing:
        s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)
    assert _error(missing)["Code"] == "NoSuchLifecycleConfiguration"


def test_s3_versioning_status_outside_its_enum_is_malformed_xml(s3: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "On"})
    assert _error(excinfo)["Code"] == "MalformedXML"
    assert "Status" not in s3.get_bucket_versioning(Bucket=BUCKET)


def _strip_checksums(request: Any, **_: Any) -> None:
    for name in list(request.headers.keys()):
        if name.lower() == "content-md5" or name.lower().startswith("x-amz-checksum-"):
            del request.headers[name]
        if name.lower() in {"x-amz-trailer", "x-amz-sdk-checksum-algorithm"}:
            del request.headers[name]


def test_s3_operations_requiring_a_checksum_refuse_a_request_without_one(s3: Any) -> None:
    # The model marks DeleteObjects httpChecksum.requestChecksumRequired; S3 refuses it without
    # Content-MD5 or an x-amz-checksum-* header.
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"x")
    s3.meta.events.register("before-sign.s3.DeleteObjects", _strip_checksums)
    with pytest.raises(ClientError) as excinfo:
        s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "k"}]})
    error = _error(excinfo)
    assert (error["Code"], error["Message"]) == (
        "InvalidRequest",
        "Missing required header for this request: Content-MD5",
    )
    assert _stored_keys(s3) == ["k"]


@pytest.mark.parametrize(
    "name",
    ["Upper-Case", "under_score", "a..b", "192.168.10.12", "xn--bucket", "b-s3alias", "-start"],
)
def test_s3_create_bucket_follows_the_naming_rules(emulator: None, name: str) -> None:
    s3 = _client("s3")
    with pytest.raises(ClientError) as excinfo:
        s3.create_bucket(Bucket=name)
    assert _error(excinfo)["Code"] == "InvalidBucketName"
    assert s3.list_buckets()["Buckets"] == []


def test_s3_valid_requests_pass(s3: Any) -> None:
    # The calls this system and Terraform make, with valid values, are served as before.
    s3.put_object(Bucket=BUCKET, Key="data/raw/a b.csv", Body=b"1,2", ServerSideEncryption="AES256")
    s3.copy_object(Bucket=BUCKET, Key="copy.csv", CopySource=f"{BUCKET}/data/raw/a b.csv")
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_lifecycle_configuration(
        Bucket=BUCKET,
        LifecycleConfiguration={
            "Rules": [{"ID": "r", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 9}}]
        },
    )
    s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "copy.csv"}]})
    assert _stored_keys(s3) == ["data/raw/a b.csv"]
    assert s3.get_object(Bucket=BUCKET, Key="data/raw/a b.csv")["Body"].read() == b"1,2"


@pytest.mark.parametrize(
    ("method", "has_key", "query", "headers", "expected"),
    [
        ("PUT", True, {}, {}, "PutObject"),
        ("PUT", True, {}, {"x-amz-copy-source": "b/k"}, "CopyObject"),
        ("PUT", True, {"partnumber": "1", "uploadid": "u"}, {}, "UploadPart"),
        (
            "PUT",
            True,
            {"partnumber": "1", "uploadid": "u"},
            {"x-amz-copy-source": "b/k"},
            "UploadPartCopy",
        ),
        ("GET", True, {"uploadid": "u"}, {}, "ListParts"),
        ("GET", False, {"list-type": "2"}, {}, "ListObjectsV2"),
        ("GET", False, {}, {}, "ListObjects"),
        ("PUT", False, {"lifecycle": ""}, {}, "PutBucketLifecycleConfiguration"),
        ("GET", False, {"notification": ""}, {}, "GetBucketNotificationConfiguration"),
        ("POST", False, {"delete": ""}, {}, "DeleteObjects"),
        ("PUT", False, {}, {}, "CreateBucket"),
    ],
)
def test_s3_operation_is_found_from_the_models_http_bindings(
    method: str, has_key: bool, query: dict[str, str], headers: dict[str, str], expected: str
) -> None:
    model = get_service_model("s3")
    assert validation.s3_operation(model, method, has_key, query, headers).name == expected


def test_s3_missing_xml_body_is_missing_request_body_error() -> None:
    refusal = validation.check_s3_request("PUT", BUCKET, None, {"versioning": [""]}, {}, b"")
    assert refusal is not None
    assert refusal.code == "MissingRequestBodyError"


def test_s3_xml_that_does_not_parse_is_malformed_xml() -> None:
    refusal = validation.check_s3_request(
        "PUT", BUCKET, None, {"versioning": [""]}, {}, b"<VersioningConfiguration><Status>"
    )
    assert refusal is not None
    assert refusal.code == "MalformedXML"


# --------------------------------------------------------------------------- CloudWatch

ALARM = {
    "AlarmName": "a",
    "MetricName": "m",
    "Namespace": "n",
    "Period": 60,
    "EvaluationPeriods": 1,
    "Threshold": 1.0,
    "ComparisonOperator": "GreaterThanThreshold",
}


def test_cloudwatch_json_requests_answer_the_query_compatible_validation_error(
    emulator: None,
) -> None:
    # boto3 sends CloudWatch as awsJson1_0 (the model lists smithy-rpc-v2-cbor, json, query);
    # CloudWatch is awsQueryCompatible, so the SDK reads the code from x-amzn-query-error.
    cloudwatch = _client("cloudwatch")
    sent: list[str] = []
    cloudwatch.meta.events.register(
        "before-send", lambda request, **_: sent.append(request.headers["Content-Type"])
    )
    with pytest.raises(ClientError) as excinfo:
        cloudwatch.put_metric_alarm(**ALARM, Statistic="Total")
    error = _error(excinfo)
    assert error["Code"] == "ValidationError"
    assert (
        "at 'statistic' failed to satisfy constraint: Member must satisfy enum"
        in (error["Message"])
    )
    assert sent == [b"application/x-amz-json-1.0"]
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []


def test_cloudwatch_query_requests_answer_validation_error(emulator: None) -> None:
    # The aws provider 5.100.0 sends CloudWatch as awsQuery (aws-sdk-go-v2 service/cloudwatch
    # v1.45.1: awsAwsquery_serializeOpDocumentPutMetricAlarm in the provider binary).
    form = {
        "Action": "PutMetricAlarm",
        "Version": "2010-08-01",
        **{k: str(v) for k, v in ALARM.items()},
        "Statistic": "Sum",
        "Period": "0",  # Period: min 1
    }
    credential = "testing/20250101/us-east-1/monitoring/aws4_request"
    response = requests.post(
        "https://monitoring.us-east-1.amazonaws.com/",
        data=form,
        headers={"Authorization": f"AWS4-HMAC-SHA256 Credential={credential}, Signature=x"},
        timeout=30,
    )
    assert response.status_code == 400
    assert "<Code>ValidationError</Code>" in response.text
    assert "at 'period' failed to satisfy constraint: Member must have value greater" in (
        response.text
    )
    assert _client("cloudwatch").describe_alarms()["MetricAlarms"] == []
