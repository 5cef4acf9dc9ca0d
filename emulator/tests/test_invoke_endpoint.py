"""``sagemaker-runtime`` ``InvokeEndpoint`` on the emulator serves the deployed model for real.

A small model (``endpoints.py``: trained in the XGBoost 1.7 container's interpreter) is shipped
as SageMaker ships it (``model.tar.gz`` + ``sourcedir.tar.gz`` in S3, or the code inside the model
with ``SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code``), registered and deployed through the
SageMaker API; each test then invokes the endpoint, which serves through the XGBoost 1.7-1
container's own serving stack (sagemaker-containers 2.8.6.post2 in the xgboost 1.7 interpreter,
``emulator/containers/serving.py``), and compares with the model's own answers. The product's
serving script on the same path: tests/integration/test_serving_on_emulator.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.aws import sagemaker
from emulator.aws.sagemaker import hosting
from emulator.tests.endpoints import (
    BUCKET,
    INFERENCE_SCRIPT,
    PROGRAM,
    ROLE,
    SAMPLE,
    TWO_ROWS,
    container,
    deploy,
    deploy_from_package,
    direct_prediction,
    endpoint_config,
    invoke,
    upload_model,
    wait_until_settled,
)
from emulator.tests.helpers import ACCOUNT, tar_gz

pytestmark = pytest.mark.integration


@pytest.fixture
def aws(endpoint_clients: dict[str, Any]) -> dict[str, Any]:
    return endpoint_clients


def test_endpoint_from_model_package_serves_the_model(aws: dict[str, Any], model_dir: Path) -> None:
    endpoint = deploy_from_package(aws, upload_model(aws, model_dir, "models/a/model.tar.gz"))

    answer = invoke(aws, endpoint, SAMPLE, Accept="application/json")

    probabilities = np.asarray(answer["json"])
    assert probabilities.shape == (1, 3)
    np.testing.assert_allclose(probabilities, direct_prediction(model_dir, SAMPLE), atol=1e-6)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert answer["ContentType"] == "application/json"
    assert answer["InvokedProductionVariant"] == "AllTraffic"


def test_several_rows_give_one_answer_each(aws: dict[str, Any], model_dir: Path) -> None:
    endpoint = deploy_from_package(aws, upload_model(aws, model_dir, "models/a/model.tar.gz"))

    probabilities = np.asarray(invoke(aws, endpoint, TWO_ROWS)["json"])

    assert probabilities.shape == (2, 3)
    np.testing.assert_allclose(probabilities, direct_prediction(model_dir, TWO_ROWS), atol=1e-6)
    # The second row is one of the first class's, the first one of the third's.
    assert [int(np.argmax(row)) for row in probabilities] == [2, 0]


def test_model_with_model_data_url_and_no_package(aws: dict[str, Any], model_dir: Path) -> None:
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/b/model.tar.gz")))

    probabilities = invoke(aws, endpoint, SAMPLE)["json"]

    np.testing.assert_allclose(probabilities, direct_prediction(model_dir, SAMPLE), atol=1e-6)


def test_a_refusal_the_script_returns_is_a_model_error_with_its_status(
    aws: dict[str, Any], model_dir: Path
) -> None:
    """The container answers with what the script returns (a WSGI response, its own 400); the
    caller gets SageMaker's ModelError (424) carrying that status and body."""
    endpoint = deploy_from_package(aws, upload_model(aws, model_dir, "models/a/model.tar.gz"))

    with pytest.raises(ClientError) as caught:
        invoke(aws, endpoint, "3.0,wide,3.0,3.0")

    error: dict[str, Any] = dict(caught.value.response)
    assert error["Error"]["Code"] == "ModelError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    message = error["Error"]["Message"]
    assert message.startswith("Received client error (400) from primary with message")
    assert f"See /aws/sagemaker/Endpoints/{endpoint} in account {ACCOUNT}" in message
    assert error["OriginalStatusCode"] == 400
    assert "could not convert string to float: 'wide'" in error["OriginalMessage"]


def test_an_exception_in_the_script_is_the_containers_html_500(
    aws: dict[str, Any], model_dir: Path, tmp_path: Path
) -> None:
    """What the container does with a raising input_fn: Flask's HTML 500.

    sagemaker-containers wraps the script's functions in error_wrapper(ClientError), so even
    UnsupportedFormatError never reaches its 415 mapping: a script must return its refusals.
    """
    script = tmp_path / "raising.py"
    script.write_text(
        "from sagemaker_containers.beta.framework import errors\n"
        "def model_fn(model_dir):\n    return None\n"
        "def input_fn(body, content_type):\n"
        "    raise errors.UnsupportedFormatError(content_type)\n"
        "def predict_fn(data, model):\n    return data\n"
        "def output_fn(prediction, accept):\n    return prediction\n",
        encoding="utf-8",
    )
    aws["s3"].put_object(
        Bucket=BUCKET, Key="code/raising.tar.gz", Body=tar_gz({"raising.py": script})
    )
    model_uri = upload_model(aws, model_dir, "models/a/model.tar.gz")
    endpoint = deploy(aws, container(model_uri, "raising.py", f"s3://{BUCKET}/code/raising.tar.gz"))

    with pytest.raises(ClientError) as caught:
        invoke(aws, endpoint, SAMPLE)

    response: dict[str, Any] = dict(caught.value.response)
    assert response["Error"]["Code"] == "ModelError"
    assert response["OriginalStatusCode"] == 500
    assert "Received server error (500) from primary" in response["Error"]["Message"]
    assert "<title>500 Internal Server Error</title>" in response["OriginalMessage"]


def test_code_inside_the_model_serves_with_opt_ml_model_code(
    aws: dict[str, Any], model_dir: Path, tmp_path: Path
) -> None:
    """model.tar.gz carries code/<program> (the sagemaker SDK's repack layout): no separate
    sourcedir tarball is needed."""
    self_contained = tmp_path / "model"
    shutil.copytree(model_dir, self_contained)
    (self_contained / "code").mkdir()
    shutil.copy(INFERENCE_SCRIPT, self_contained / "code" / PROGRAM)
    model_uri = upload_model(aws, self_contained, "models/self/model.tar.gz")
    endpoint = deploy(aws, container(model_uri, source="/opt/ml/model/code"))

    answer = invoke(aws, endpoint, SAMPLE)

    np.testing.assert_allclose(answer["json"], direct_prediction(model_dir, SAMPLE), atol=1e-6)
    assert answer["ContentType"] == "application/json"


def test_code_outside_the_model_and_s3_cannot_load(aws: dict[str, Any], model_dir: Path) -> None:
    model_uri = upload_model(aws, model_dir, "models/a/model.tar.gz")
    # The model tarball has no code/: the container cannot load it, so the endpoint
    # ends Failed while Creating and never answers an invocation with a 500.
    endpoint = deploy(aws, container(model_uri, source="/opt/ml/model/code"))

    described = aws["sm"].describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "Failed"
    assert f"/opt/ml/model/code has no {PROGRAM}" in described["FailureReason"]
    with pytest.raises(ClientError) as caught:
        invoke(aws, endpoint, SAMPLE)
    assert caught.value.response["Error"]["Code"] == "ValidationError"


@pytest.mark.parametrize(
    ("extra", "member"),
    [
        ({"Body": b"1" * (6 * 1024 * 1024 + 1)}, "'body'"),
        ({"ContentType": "text/csv; x=" + "y" * 1024}, "'contentType'"),
        ({"ContentType": "text/csv; charset=\u00e9"}, "'contentType'"),
        ({"Accept": "application/json" + "," * 1024}, "'accept'"),
    ],
)
def test_request_limits_are_awss(
    aws: dict[str, Any], model_dir: Path, extra: dict[str, Any], member: str
) -> None:
    """InvokeEndpoint's constraints from botocore's model: 6 MB body, ASCII types <= 1024."""
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/b/model.tar.gz")))
    request = {"EndpointName": endpoint, "ContentType": "text/csv", "Body": SAMPLE.encode()}
    # The client-side check would stop us first; the emulator must refuse on its own.
    runtime = boto3.client(
        "sagemaker-runtime", region_name="us-east-1", config=Config(parameter_validation=False)
    )

    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(**{**request, **extra})

    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert member in caught.value.response["Error"]["Message"]


def test_exactly_6_mb_is_accepted(aws: dict[str, Any], model_dir: Path) -> None:
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/b/model.tar.gz")))
    rows = (SAMPLE + "\n") * (6 * 1024 * 1024 // (len(SAMPLE) + 1))
    body = rows + "\n" * (6 * 1024 * 1024 - len(rows))
    assert len(body) == 6 * 1024 * 1024

    answer = aws["runtime"].invoke_endpoint(
        EndpointName=endpoint, ContentType="text/csv", Body=body
    )

    assert answer["ContentType"] == "application/json"
    assert len(json.loads(answer["Body"].read())) == len(rows.splitlines())


def test_a_model_that_cannot_load_fails_served_model(aws: dict[str, Any], tmp_path: Path) -> None:
    """served_model() raises when the container's stack cannot load the model (model_fn fails)."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README").write_text("no model here")
    model_uri = upload_model(aws, tmp_path / "empty", "models/empty/model.tar.gz")
    endpoint = deploy(aws, container(model_uri))
    backend = sagemaker.moto_backend(ACCOUNT, "us-east-1")
    spec = hosting.serving_spec(backend, endpoint)

    with pytest.raises(hosting.ServingError, match=r"no xgboost-model\.json"):
        hosting.served_model(spec, ACCOUNT, "us-east-1")


def test_missing_endpoint_is_a_validation_error(aws: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as caught:
        invoke(aws, "nowhere", SAMPLE)

    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert error["Message"] == f"Endpoint nowhere of account {ACCOUNT} not found."


def test_missing_artifact_fails_the_endpoint_instead_of_serving_500s(aws: dict[str, Any]) -> None:
    # The model is loaded while the endpoint is Creating: an artifact that is not there makes
    # it Failed, with a FailureReason, and an invocation never reaches a container.
    endpoint = deploy(aws, container(f"s3://{BUCKET}/models/missing/model.tar.gz"))
    described = aws["sm"].describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "Failed"
    assert "models/missing/model.tar.gz does not exist" in described["FailureReason"]

    with pytest.raises(ClientError) as caught:
        invoke(aws, endpoint, SAMPLE)

    error: dict[str, Any] = dict(caught.value.response)
    assert error["Error"]["Code"] == "ValidationError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_update_endpoint_serves_the_new_model(
    aws: dict[str, Any], model_dir: Path, other_model_dir: Path
) -> None:
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/a/model.tar.gz")))
    first = invoke(aws, endpoint, SAMPLE)["json"]
    sm = aws["sm"]
    sm.create_model(
        ModelName="iris-model-2",
        PrimaryContainer=container(upload_model(aws, other_model_dir, "models/c/model.tar.gz")),
        ExecutionRoleArn=ROLE,
    )
    endpoint_config(sm, "iris-config-2", "iris-model-2")
    sm.update_endpoint(EndpointName=endpoint, EndpointConfigName="iris-config-2")
    assert wait_until_settled(sm, endpoint) == "InService"

    second = invoke(aws, endpoint, SAMPLE)["json"]

    np.testing.assert_allclose(second, direct_prediction(other_model_dir, SAMPLE), atol=1e-6)
    assert not np.allclose(first, second, atol=1e-3)


def test_the_script_named_by_sagemaker_program_is_the_one_run(
    aws: dict[str, Any], model_dir: Path, tmp_path: Path
) -> None:
    # A different script under another name proves the endpoint imports what S3 holds (in its
    # own module), not the fixture's inference script.
    script = tmp_path / "serve.py"
    script.write_text(
        "import json\nimport os\n"
        "def model_fn(model_dir):\n    return sorted(os.listdir(model_dir))\n"
        "def input_fn(body, content_type):\n    return body\n"
        "def predict_fn(data, model):\n    return {'files': model}\n"
        "def output_fn(prediction, accept):\n    return json.dumps(prediction)\n",
        encoding="utf-8",
    )
    aws["s3"].put_object(Bucket=BUCKET, Key="code/serve.tar.gz", Body=tar_gz({"serve.py": script}))
    model_uri = upload_model(aws, model_dir, "models/a/model.tar.gz")
    endpoint = deploy(aws, container(model_uri, "serve.py", f"s3://{BUCKET}/code/serve.tar.gz"))

    answer = invoke(aws, endpoint, SAMPLE)

    assert answer["json"] == {"files": ["xgboost-model.json"]}
    # A bare string from output_fn goes out as Flask's default type, text/html.
    assert answer["ContentType"].startswith("text/html")
