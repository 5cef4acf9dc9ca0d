"""The product's serving script (ml/train.py's inference functions) behind an endpoint on the
emulator: its refusals reach the caller as the container's 4xx answers, and its code travels
inside the model. How the emulator serves a model is tested with it:
emulator/tests/test_invoke_endpoint.py.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError

from devtools import build
from emulator.tests.endpoints import BUCKET, container, deploy, invoke, upload_model
from emulator.tests.endpoints import deploy_from_package as deploy_package
from ml import train
from tests.helpers.models import split_iris, train_model_dir

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = "train.py"
SAMPLE = "6.4,3.2,4.5,1.5"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small model trained with ml/train.py's own functions on the committed iris data."""
    split = split_iris(tmp_path_factory.mktemp("raw"), tmp_path_factory.mktemp("split"))
    return train_model_dir(split, tmp_path_factory.mktemp("model"))


@pytest.fixture
def aws(endpoint_clients: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The emulator's endpoint clients, with the product's source directory in S3."""
    endpoint_clients["s3"].put_object(
        Bucket=BUCKET, Key="code/sourcedir.tar.gz", Body=build.tar_gz(build.SOURCEDIR_FILES)
    )
    yield endpoint_clients


def deploy_from_package(aws: dict[str, Any], model_uri: str) -> str:
    return deploy_package(aws, model_uri, PROGRAM)


def direct_prediction(model_dir: Path, body: str) -> np.ndarray:
    model = train.model_fn(str(model_dir))
    return train.predict_probabilities(
        train.parse_csv_request(body, model.contract.feature_columns), model
    )


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
    """ "hello world" and a ';' row say what is wrong, not "no data rows"."""
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
    """A wrong content type is a 415 client error, never a 500."""
    endpoint = deploy(
        aws, container(upload_model(aws, model_dir, "models/b/model.tar.gz"), PROGRAM)
    )

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
    endpoint = deploy(
        aws, container(upload_model(aws, model_dir, "models/b/model.tar.gz"), PROGRAM)
    )

    for content_type in ("text/csv", "text/csv; charset=utf-8"):
        with pytest.raises(ClientError) as caught:
            aws["runtime"].invoke_endpoint(
                EndpointName=endpoint, ContentType=content_type, Body=b"\xff\xfe\x00\x81binary"
            )
        status, body = original(caught)
        assert (status, body["error-message"]) == (400, "request body is not UTF-8 text")


def test_code_inside_the_model_serves_with_opt_ml_model_code(
    aws: dict[str, Any], model_dir: Path, tmp_path: Path
) -> None:
    """model.tar.gz carries code/train.py; no separate sourcedir tarball is needed."""
    self_contained = tmp_path / "model"
    shutil.copytree(model_dir, self_contained)
    train.copy_code_into_model(self_contained, ROOT / "ml" / "train.py")
    model_uri = upload_model(aws, self_contained, "models/self/model.tar.gz")
    endpoint = deploy(aws, container(model_uri, PROGRAM, source="/opt/ml/model/code"))

    answer = invoke(aws, endpoint, SAMPLE)

    np.testing.assert_allclose(answer["json"], direct_prediction(model_dir, SAMPLE), atol=1e-6)
    assert answer["ContentType"] == "application/json"
