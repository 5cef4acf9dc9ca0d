"""Requests are validated against botocore's service model, as AWS's front door does.

Each case breaks one constraint of the model (botocore/data/<service>/<version>/service-2.json)
and asserts AWS's error code and wording, and that nothing was stored. Client-side validation is
switched off where boto3 would catch the violation before sending it.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.aws import validation
from emulator.aws.validation import (
    Violation,
    compiled_pattern,
    render_value,
    validate_structure,
    validation_message,
)

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/r"
UNCHECKED = Config(parameter_validation=False)
# The repository's own test key, as a RegisterModel metadata value.
BAD_METADATA_VALUE = "s3://bucket/data/raw/iris v2+extra 100%.CSV"


def make_client(service: str, config: Config | None = None) -> Any:
    """A boto3 client, untyped: these tests send what the stubs (rightly) forbid."""
    factory: Any = boto3.client
    return factory(service, config=config)


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def _group(sm: Any) -> None:
    sm.create_model_package_group(ModelPackageGroupName="g")


def _register(sm: Any, metadata: dict[str, str]) -> dict[str, Any]:
    return dict(
        sm.create_model_package(
            ModelPackageGroupName="g",
            ModelApprovalStatus="PendingManualApproval",
            CustomerMetadataProperties=metadata,
            InferenceSpecification={
                "Containers": [{"Image": "img", "ModelDataUrl": "s3://b/model.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
        )
    )


@pytest.mark.parametrize("value", [BAD_METADATA_VALUE, "100%", "a b\tc?"])
def test_register_model_rejects_metadata_outside_the_pattern(emulator: None, value: str) -> None:
    sm = make_client("sagemaker")
    _group(sm)
    with pytest.raises(ClientError) as excinfo:
        _register(sm, {"data_uri": value})
    code, message = _error(excinfo)
    assert code == "ValidationException"
    assert "at 'customerMetadataProperties' failed to satisfy constraint" in message
    assert "Map value must satisfy constraint" in message
    assert "regular expression pattern" in message
    packages = sm.list_model_packages(ModelPackageGroupName="g")["ModelPackageSummaryList"]
    assert packages == []  # refused at the front door: nothing stored


def test_register_model_rejects_metadata_longer_than_256(emulator: None) -> None:
    sm = make_client("sagemaker")
    _group(sm)
    with pytest.raises(ClientError) as excinfo:
        _register(sm, {"k": "a" * 257})
    assert "Member must have length less than or equal to 256" in _error(excinfo)[1]


def test_register_model_accepts_valid_metadata(emulator: None) -> None:
    sm = make_client("sagemaker")
    _group(sm)
    _register(sm, {"data_uri": "s3://bucket/data/raw/iris_v2-extra.csv", "x": "a b=c+d@e"})
    assert len(sm.list_model_packages(ModelPackageGroupName="g")["ModelPackageSummaryList"]) == 1


def test_missing_required_member_is_refused(emulator: None) -> None:
    sm = make_client("sagemaker", config=UNCHECKED)
    with pytest.raises(ClientError) as excinfo:
        sm.create_pipeline(PipelineName="p", PipelineDefinition="{}")  # no RoleArn
    assert _error(excinfo) == (
        "ValidationException",
        "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: "
        "Member must not be null",
    )
    assert sm.list_pipelines()["PipelineSummaries"] == []


def test_string_too_long_and_pattern_are_both_reported(emulator: None) -> None:
    sm = make_client("sagemaker")
    with pytest.raises(ClientError) as excinfo:
        sm.create_pipeline(PipelineName="-" * 257, PipelineDefinition="{}", RoleArn=ROLE)
    code, message = _error(excinfo)
    assert code == "ValidationException"
    assert message.startswith("2 validation errors detected: Value '---")
    assert "at 'pipelineName' failed to satisfy constraint: Member must have length less" in message
    assert "Member must satisfy regular expression pattern" in message


def test_enum_and_numeric_range(emulator: None) -> None:
    sm = make_client("sagemaker", config=UNCHECKED)
    with pytest.raises(ClientError) as excinfo:
        sm.list_endpoints(SortBy="Size", MaxResults=0)
    code, message = _error(excinfo)
    assert code == "ValidationException"
    assert (
        "Value 'Size' at 'sortBy' failed to satisfy constraint: Member must satisfy enum" in message
    )
    assert (
        "Value '0' at 'maxResults' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1" in message
    )


def test_list_length(emulator: None) -> None:
    sm = make_client("sagemaker")
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    with pytest.raises(ClientError) as excinfo:
        sm.create_model_package_group(ModelPackageGroupName="g", Tags=tags)
    assert (
        "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"
        in _error(excinfo)[1]
    )


def test_list_members_are_validated_with_aws_paths(emulator: None) -> None:
    sm = make_client("sagemaker")
    with pytest.raises(ClientError) as excinfo:
        sm.create_model_package_group(
            ModelPackageGroupName="g",
            Tags=[{"Key": "ok", "Value": "v"}, {"Key": "bad%key", "Value": "v"}],
        )
    assert "at 'tags.2.member.key' failed to satisfy constraint" in _error(excinfo)[1]


def test_rest_json_body_member_is_validated(emulator: None) -> None:
    # Lambda (rest-json): ReservedConcurrentExecutions has min 0 in the model.
    lam = make_client("lambda", config=UNCHECKED)
    with pytest.raises(ClientError) as excinfo:
        lam.put_function_concurrency(FunctionName="f", ReservedConcurrentExecutions=-1)
    code, message = _error(excinfo)
    assert code == "ValidationException"
    assert "at 'reservedConcurrentExecutions'" in message


def test_rest_json_uri_member_is_validated(emulator: None) -> None:
    lam = make_client("lambda")
    with pytest.raises(ClientError) as excinfo:
        lam.get_function(FunctionName="bad%name")
    code, message = _error(excinfo)
    assert code == "ValidationException"
    assert "at 'functionName' failed to satisfy constraint: Member must satisfy regular" in message


def test_rest_json_map_keys_are_validated(emulator: None) -> None:
    lam = make_client("lambda")
    with pytest.raises(ClientError) as excinfo:
        lam.create_function(
            FunctionName="f",
            Runtime="python3.12",
            Role=ROLE,
            Handler="h.handler",
            Code={"ZipFile": b"PK"},
            Environment={"Variables": {"1BAD": "v"}},
        )
    message = _error(excinfo)[1]
    assert (
        "at 'environment.variables' failed to satisfy constraint: Map keys must satisfy" in message
    )
    assert lam.list_functions()["Functions"] == []


def test_query_protocol_answers_validation_error(emulator: None) -> None:
    iam = make_client("iam")
    with pytest.raises(ClientError) as excinfo:
        iam.create_role(RoleName="bad name!", AssumeRolePolicyDocument="{}")
    code, message = _error(excinfo)
    assert code == "ValidationError"
    assert "at 'roleName' failed to satisfy constraint: Member must satisfy regular" in message
    assert iam.list_roles()["Roles"] == []


def test_json_type_mismatch_is_a_serialization_error(emulator: None) -> None:
    sm = make_client("sagemaker", config=UNCHECKED)
    with pytest.raises(ClientError) as excinfo:
        sm.list_endpoints(NameContains=["not", "a", "string"])
    assert _error(excinfo)[0] == "SerializationException"


def test_step_functions_task_requests_are_validated_too(emulator: None) -> None:
    # Calls made from inside the emulator (here: boto3 in process, as ASL tasks are) go through
    # the same front door.
    sfn = make_client("stepfunctions", config=UNCHECKED)
    with pytest.raises(ClientError) as excinfo:
        sfn.start_execution(stateMachineArn="")  # min length 1
    assert _error(excinfo)[0] == "ValidationException"


def test_without_validation_moto_alone_stores_the_invalid_request(emulator: None) -> None:
    sm = make_client("sagemaker")
    _group(sm)
    validation.set_request_validation(False)
    try:
        _register(sm, {"data_uri": BAD_METADATA_VALUE})
    finally:
        validation.set_request_validation(True)
    # What the validation protects against: moto alone stores what AWS refuses.
    assert len(sm.list_model_packages(ModelPackageGroupName="g")["ModelPackageSummaryList"]) == 1


def test_messages_render_values_as_aws_does() -> None:
    assert render_value(None) == "null"
    assert render_value({"a": "b c"}) == "'{a=b c}'"
    assert render_value([1, True]) == "'[1, true]'"
    assert validation_message([Violation("a", None, "X"), Violation("b", "v", "Y")]) == (
        "2 validation errors detected: Value null at 'a' failed to satisfy constraint: X; "
        "Value 'v' at 'b' failed to satisfy constraint: Y"
    )


def test_unicode_classes_and_supplementary_characters_follow_java() -> None:
    from moto.core.utils import get_service_model

    shape = get_service_model("sagemaker").operation_model("CreateModelPackage").input_shape
    ok = {"CustomerMetadataProperties": {"k": "Ünïcødé 数据 ٣ a_b.c:d/e=f+g-h@i"}}
    assert validate_structure(shape, ok) == []
    # Java spells code points beyond the BMP as surrogate pairs (sagemaker's "Catalog" shape).
    catalog = get_service_model("sagemaker").shape_for("Catalog").metadata["pattern"]
    assert compiled_pattern(catalog).fullmatch("\U0001f600 x\t") is not None
    assert compiled_pattern(catalog).fullmatch("\x01") is None


def test_invoke_endpoint_payload_limit_is_enforced_at_the_front_door(emulator: None) -> None:
    # sagemaker-runtime's model: InvokeEndpoint's Body is at most 6 MB (BodyBlob max 6291456),
    # and the service models its validation error as ValidationError.
    runtime = make_client("sagemaker-runtime")
    with pytest.raises(ClientError) as excinfo:
        runtime.invoke_endpoint(
            EndpointName="e", ContentType="text/csv", Body=b"1" * (6 * 1024 * 1024 + 1)
        )
    code, message = _error(excinfo)
    assert code == "ValidationError"
    assert "at 'body' failed to satisfy constraint: Member must have length less than" in message
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
