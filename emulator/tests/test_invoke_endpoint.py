"""``sagemaker-runtime`` ``InvokeEndpoint`` on the emulator serves the deployed model for real.

A small model is trained with ``ml/train.py``'s own functions on the committed iris data, shipped
as SageMaker ships it (``model.tar.gz`` + ``sourcedir.tar.gz`` in S3, or the code inside the model
with ``SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code``), registered and deployed through the
SageMaker API; each test then invokes the endpoint, which serves through the XGBoost 1.7-1
container's own serving stack (sagemaker-containers 2.8.6.post2 in the xgboost 1.7 interpreter,
``emulator/containers/serving.py``), and compares with the model loaded directly.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from devtools import build
from emulator.aws import sagemaker
from emulator.aws.sagemaker import hosting
from ml import train
from tests.helpers.models import model_tar_gz, split_iris, train_model_dir

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "ml-artifacts"
SOURCE_URI = f"s3://{BUCKET}/code/sourcedir.tar.gz"
ACCOUNT = "123456789012"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
SAMPLE = "6.4,3.2,4.5,1.5"
ENDPOINT_SECONDS = 0.2


@pytest.fixture(scope="module")
def split_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return split_iris(tmp_path_factory.mktemp("raw"), tmp_path_factory.mktemp("split"))


@pytest.fixture(scope="module")
def model_dir(split_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_model_dir(split_dir, tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def other_model_dir(split_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second, visibly different model (one shallow round)."""
    return train_model_dir(split_dir, tmp_path_factory.mktemp("other"), max_depth=1, num_round=1)


def direct_prediction(model_dir: Path, body: str) -> np.ndarray:
    model = train.model_fn(str(model_dir))
    return train.predict_probabilities(
        train.parse_csv_request(body, model.contract.feature_columns), model
    )


@pytest.fixture
def aws(emulator: None, tmp_path: Path) -> Iterator[dict[str, Any]]:
    hosting.set_endpoint_cache_dir(tmp_path / "endpoint-cache")
    # Endpoints take time to create and update (tests/integration/test_endpoint_lifecycle.py).
    sagemaker.set_endpoint_transition_seconds(ENDPOINT_SECONDS)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(
        Bucket=BUCKET, Key="code/sourcedir.tar.gz", Body=build.tar_gz(build.SOURCEDIR_FILES)
    )
    yield {
        "s3": s3,
        "sm": boto3.client("sagemaker", region_name="us-east-1"),
        "runtime": boto3.client("sagemaker-runtime", region_name="us-east-1"),
    }
    hosting.stop_served_models()
    sagemaker.set_endpoint_transition_seconds(None)
    hosting.set_endpoint_cache_dir(None)


def upload_model(aws: dict[str, Any], model_dir: Path, key: str) -> str:
    aws["s3"].put_object(Bucket=BUCKET, Key=key, Body=model_tar_gz(model_dir))
    return f"s3://{BUCKET}/{key}"


def container(
    model_uri: str, program: str = "train.py", source: str = SOURCE_URI
) -> dict[str, Any]:
    return {
        "Image": IMAGE,
        "ModelDataUrl": model_uri,
        "Environment": {"SAGEMAKER_PROGRAM": program, "SAGEMAKER_SUBMIT_DIRECTORY": source},
    }


def endpoint_config(sm: Any, name: str, model_name: str) -> None:
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model_name,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )


def deploy(aws: dict[str, Any], primary_container: dict[str, Any], name: str = "iris") -> str:
    sm = aws["sm"]
    sm.create_model(
        ModelName=f"{name}-model",
        PrimaryContainer=primary_container,
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/sagemaker",
    )
    endpoint_config(sm, f"{name}-config", f"{name}-model")
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    wait_until_settled(sm, name)
    return name


def wait_until_settled(sm: Any, name: str, timeout: float = 30.0) -> str:
    """Poll until the endpoint leaves Creating/Updating/RollingBack; return its status."""
    deadline = time.monotonic() + timeout
    while True:
        endpoint_status = str(sm.describe_endpoint(EndpointName=name)["EndpointStatus"])
        if endpoint_status not in {"Creating", "Updating", "RollingBack"}:
            return endpoint_status
        assert time.monotonic() < deadline, f"endpoint {name} still {endpoint_status}"
        time.sleep(0.05)


def deploy_from_package(aws: dict[str, Any], model_uri: str) -> str:
    sm = aws["sm"]
    sm.create_model_package_group(ModelPackageGroupName="iris-models")
    package = sm.create_model_package(
        ModelPackageGroupName="iris-models",
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [container(model_uri)],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )
    return deploy(aws, {"ModelPackageName": package["ModelPackageArn"]})


def invoke(aws: dict[str, Any], endpoint: str, body: str, **extra: Any) -> dict[str, Any]:
    answer = aws["runtime"].invoke_endpoint(
        EndpointName=endpoint, ContentType="text/csv", Body=body.encode(), **extra
    )
    return {**answer, "json": json.loads(answer["Body"].read())}


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
    body = f"{SAMPLE}\n5.1,3.5,1.4,0.2\n"

    probabilities = np.asarray(invoke(aws, endpoint, body)["json"])

    assert probabilities.shape == (2, 3)
    np.testing.assert_allclose(probabilities, direct_prediction(model_dir, body), atol=1e-6)
    # The second row is a textbook setosa.
    classes = train.model_fn(str(model_dir)).class_names
    assert int(np.argmax(probabilities[1])) == classes.index("Iris-setosa")


def test_model_with_model_data_url_and_no_package(aws: dict[str, Any], model_dir: Path) -> None:
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/b/model.tar.gz")))

    probabilities = invoke(aws, endpoint, SAMPLE)["json"]

    np.testing.assert_allclose(probabilities, direct_prediction(model_dir, SAMPLE), atol=1e-6)


def test_bad_body_is_a_model_error_with_the_scripts_message(
    aws: dict[str, Any], model_dir: Path
) -> None:
    endpoint = deploy_from_package(aws, upload_model(aws, model_dir, "models/a/model.tar.gz"))

    with pytest.raises(ClientError) as caught:
        invoke(aws, endpoint, "6.4,wide,4.5,1.5")

    error: dict[str, Any] = dict(caught.value.response)
    assert error["Error"]["Code"] == "ModelError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    message = error["Error"]["Message"]
    assert message.startswith("Received client error (400) from primary with message")
    assert "row 1, SepalWidth: 'wide' is not a number" in message
    assert error["OriginalStatusCode"] == 400


def test_words_and_wrong_delimiter_get_precise_400s(aws: dict[str, Any], model_dir: Path) -> None:
    """Issue 10 #6: "hello world" and a ';' row say what is wrong, not "no data rows"."""
    endpoint = deploy_from_package(aws, upload_model(aws, model_dir, "models/c/model.tar.gz"))
    expected = "expected 4 comma-separated numbers (SepalLength,SepalWidth,PetalLength,PetalWidth)"
    for body, message in [
        ("hello world", f"row 1: 'hello world' is not numeric; {expected}"),
        (
            "6.4;3.2;4.5;1.5",
            "row 1: wrong delimiter: found values separated by ';' ('6.4;3.2;4.5;1.5'), "
            + expected,
        ),
    ]:
        with pytest.raises(ClientError) as caught:
            invoke(aws, endpoint, body)
        assert original(caught) == (400, {"error": "ValueError", "error-message": message})


def original(caught: pytest.ExceptionInfo[ClientError]) -> tuple[int, dict[str, Any]]:
    """The container's status and JSON body, as a ModelError carries them."""
    response: dict[str, Any] = dict(caught.value.response)
    assert response["Error"]["Code"] == "ModelError"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    return int(response["OriginalStatusCode"]), json.loads(response["OriginalMessage"])


def test_unsupported_content_type_is_the_containers_415(
    aws: dict[str, Any], model_dir: Path
) -> None:
    """Issue 9 #9: a wrong content type is a 415 client error, never a 500."""
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/b/model.tar.gz")))

    with pytest.raises(ClientError) as caught:
        aws["runtime"].invoke_endpoint(
            EndpointName=endpoint, ContentType="application/json", Body=b"[[1, 2, 3, 4]]"
        )

    status, body = original(caught)
    assert status == 415
    assert body["error"] == "UnsupportedFormatError"
    assert "Content type application/json is not supported" in body["error-message"]
    assert "Received client error (415) from primary" in str(caught.value)


def test_binary_body_is_a_clean_client_error(aws: dict[str, Any], model_dir: Path) -> None:
    """A non-UTF-8 body reaches the model and gets a 4xx JSON error, not an HTML 500."""
    endpoint = deploy(aws, container(upload_model(aws, model_dir, "models/b/model.tar.gz")))

    for content_type in ("text/csv", "text/csv; charset=utf-8"):
        with pytest.raises(ClientError) as caught:
            aws["runtime"].invoke_endpoint(
                EndpointName=endpoint, ContentType=content_type, Body=b"\xff\xfe\x00\x81binary"
            )
        status, body = original(caught)
        assert (status, body["error-message"]) == (400, "request body is not UTF-8 text")


def test_an_exception_in_the_script_is_the_containers_html_500(
    aws: dict[str, Any], model_dir: Path, tmp_path: Path
) -> None:
    """What the container does with a raising input_fn (the old train.py): Flask's HTML 500.

    sagemaker-containers wraps the script's functions in error_wrapper(ClientError), so even
    UnsupportedFormatError never reaches its 415 mapping; this is why train.py returns refusals.
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
        Bucket=BUCKET, Key="code/raising.tar.gz", Body=build.tar_gz({"raising.py": script})
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
    """Issue 9 #8: model.tar.gz carries code/train.py; no separate sourcedir tarball is needed."""
    self_contained = tmp_path / "model"
    shutil.copytree(model_dir, self_contained)
    train.copy_code_into_model(self_contained, ROOT / "ml" / "train.py")
    model_uri = upload_model(aws, self_contained, "models/self/model.tar.gz")
    endpoint = deploy(aws, container(model_uri, source="/opt/ml/model/code"))

    answer = invoke(aws, endpoint, SAMPLE)

    np.testing.assert_allclose(answer["json"], direct_prediction(model_dir, SAMPLE), atol=1e-6)
    assert answer["ContentType"] == "application/json"


def test_code_outside_the_model_and_s3_cannot_load(aws: dict[str, Any], model_dir: Path) -> None:
    model_uri = upload_model(aws, model_dir, "models/a/model.tar.gz")
    # The model tarball has no code/train.py: the container cannot load it, so the endpoint
    # ends Failed while Creating and never answers an invocation with a 500.
    endpoint = deploy(aws, container(model_uri, source="/opt/ml/model/code"))

    described = aws["sm"].describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "Failed"
    assert "/opt/ml/model/code has no train.py" in described["FailureReason"]
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
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/sagemaker",
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
    # own module), not the repository's ml/train.py.
    script = tmp_path / "serve.py"
    script.write_text(
        "import json\nimport os\n"
        "def model_fn(model_dir):\n    return sorted(os.listdir(model_dir))\n"
        "def input_fn(body, content_type):\n    return body\n"
        "def predict_fn(data, model):\n    return {'files': model}\n"
        "def output_fn(prediction, accept):\n    return json.dumps(prediction)\n",
        encoding="utf-8",
    )
    aws["s3"].put_object(
        Bucket=BUCKET, Key="code/serve.tar.gz", Body=build.tar_gz({"serve.py": script})
    )
    model_uri = upload_model(aws, model_dir, "models/a/model.tar.gz")
    endpoint = deploy(aws, container(model_uri, "serve.py", f"s3://{BUCKET}/code/serve.tar.gz"))

    answer = invoke(aws, endpoint, SAMPLE)

    assert answer["json"] == {
        "files": [train.CONTRACT_FILE_NAME, train.METADATA_FILE_NAME, train.MODEL_FILE_NAME]
    }
    # A bare string from output_fn goes out as Flask's default type (the defect of issue 9 #9).
    assert answer["ContentType"].startswith("text/html")
