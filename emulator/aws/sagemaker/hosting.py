"""SageMaker hosting: the model an endpoint serves, loaded by the container's serving stack.

Both the endpoint status machine (a model that cannot be loaded fails the endpoint) and
InvokeEndpoint (``emulator/aws/sagemaker_runtime.py``) load models here; each model runs in a
long-lived process under the XGBoost 1.7-1 container's interpreter
(``emulator/containers/serving.py``), one per endpoint config and artifact.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import io
import json
import os
import re
import select
import shutil
import subprocess
import tarfile
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.core.exceptions import JsonRESTError

from emulator import containers
from emulator.aws import core
from emulator.aws.sagemaker import state
from emulator.containers import interpreters

# moto answers InvokeEndpoint with a canned body. Here the endpoint serves its deployed model:
# endpoint ─► endpoint config ─► first variant's model ─► PrimaryContainer (or the model package's
# first inference container) ─► model.tar.gz (+ the code: SAGEMAKER_SUBMIT_DIRECTORY, an s3://
# sourcedir tarball or /opt/ml/model/code inside the model) ─► one long-lived process per model
# that runs the script through the XGBoost 1.7-1 container's own serving stack
# (emulator/containers/serving.py: sagemaker-containers 2.8.6.post2's Transformer and Flask Worker
# under the xgboost 1.7 interpreter), so status codes, content types and error bodies are the
# container's. A non-200 answer is reported as SageMaker reports it: ModelError (424) carrying
# OriginalStatusCode and OriginalMessage.

#: Where endpoint models are extracted, one directory per endpoint config and artifact ETags.
DEFAULT_ENDPOINT_CACHE_DIR = Path(tempfile.gettempdir()) / "moto-endpoint-models"


@dataclass
class _State:
    """What this module keeps between requests; ``reset()`` starts it afresh."""

    #: Where endpoint models are extracted.
    endpoint_cache_dir: Path = DEFAULT_ENDPOINT_CACHE_DIR
    #: One serving process per model, by config and artifact.
    served_models: dict[str, ServedModel] = field(default_factory=dict)


_STATE = _State()

_serve_lock = threading.Lock()
SAGEMAKER_PROGRAM = "SAGEMAKER_PROGRAM"
SAGEMAKER_SUBMIT_DIRECTORY = "SAGEMAKER_SUBMIT_DIRECTORY"
#: The container path of the model directory; the sagemaker SDK's repack puts code in
#: <model>/code, and sagemaker-containers accepts a local directory as the submit directory
#: (_files.download_and_extract: `elif os.path.isdir(uri)`).
CONTAINER_MODEL_DIR = "/opt/ml/model"
#: The container must answer /ping within SageMaker's start-up health check; the model loads first.
SERVING_STARTUP_SECONDS = 120.0
#: "your model container must respond to requests within 60 seconds" (SageMaker developer guide,
#: "Use Your Own Inference Code with Hosting Services", How Containers Serve Requests).
INVOCATION_TIMEOUT_SECONDS = 60.0
# InvokeEndpoint's request constraints, from botocore's service model
# (botocore/data/sagemaker-runtime/2017-05-13/service-2.json): Body is a blob of at most
# 6291456 bytes (6 MB, the documented payload limit), ContentType and Accept are strings of at
# most 1024 characters matching \p{ASCII}*, EndpointName matches ^[a-zA-Z0-9](-*[a-zA-Z0-9])* and
# has at most 63 characters. A breach is the front door's ValidationError (400).
MAX_PAYLOAD_BYTES = 6291456
MAX_HEADER_LENGTH = 1024
ENDPOINT_NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")
MAX_ENDPOINT_NAME_LENGTH = 63


def set_endpoint_cache_dir(path: Path | None) -> None:
    """Extract endpoint models under ``path`` (``None``: a directory in the system temp dir)."""
    _STATE.endpoint_cache_dir = DEFAULT_ENDPOINT_CACHE_DIR if path is None else path


class InvocationValidationError(JsonRESTError):
    """The request breaks InvokeEndpoint's constraints or names no endpoint (400)."""

    def __init__(self, message: str) -> None:
        super().__init__("ValidationError", message)


class ModelError(JsonRESTError):
    """The model container rejected the request or failed, as SageMaker reports it (424)."""

    code = 424

    def __init__(self, message: str, original_status: int, original_message: str) -> None:
        super().__init__("ModelError", message)
        self.description = json.dumps(
            {
                "__type": "ModelError",
                "message": message,
                "OriginalStatusCode": original_status,
                "OriginalMessage": original_message,
            }
        )


class ServingError(RuntimeError):
    """The serving process could not load the model or answer (the container failed)."""


@dataclass(frozen=True)
class ServingSpec:
    """What an endpoint serves: its config, variant, model artifact and container environment."""

    endpoint_name: str
    endpoint_config_name: str
    variant_name: str
    model_data_url: str
    environment: dict[str, str]
    #: The variant's instances (``None``: serverless, which has none).
    instance_count: int | None = None


@dataclass(frozen=True)
class ContainerAnswer:
    """The container's answer to one request."""

    status: int
    content_type: str
    body: bytes


class ContainerServer:
    """One model served by ``emulator/containers/serving.py`` in its own process (line protocol)."""

    def __init__(self, base_dir: Path, environment: dict[str, str]) -> None:
        # The interpreter with the container's serving stack (requirements-xgb17.txt).
        try:
            python = interpreters.xgboost17_python()
        except interpreters.MissingInterpreter as error:
            raise ServingError(str(error)) from error
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
        env.update(environment)
        env.update({"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"})
        self.log_path = base_dir.parent / "serving.log"
        self._lock = threading.Lock()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(python), str(containers.SERVING_SCRIPT), str(base_dir)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                cwd=base_dir,
            )
        ready = self._read(SERVING_STARTUP_SECONDS)
        if not ready.get("ready"):
            self.close()
            raise ServingError(str(ready.get("error") or "the serving process did not start"))

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        readable, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if readable else b""
        if not line:
            self.close()
            tail = self.log_tail()
            raise ServingError(
                f"the serving process stopped or timed out after {timeout:.0f}s; log: {tail}"
            )
        return dict(json.loads(line))

    def log_tail(self) -> str:
        try:
            return self.log_path.read_bytes()[-2000:].decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> ContainerAnswer:
        request = {
            "body": base64.b64encode(body).decode("ascii"),
            "content_type": content_type,
            "accept": accept,
        }
        with self._lock:
            assert self.process.stdin is not None
            try:
                self.process.stdin.write((json.dumps(request) + "\n").encode("utf-8"))
                self.process.stdin.flush()
            except OSError as error:
                raise ServingError(f"the serving process is gone: {error}") from None
            answer = self._read(INVOCATION_TIMEOUT_SECONDS)
        return ContainerAnswer(
            status=int(answer["status"]),
            content_type=str(answer.get("content_type") or ""),
            body=base64.b64decode(answer.get("body") or ""),
        )

    def retire(self) -> None:
        """Stop once the request in flight (if any) has been answered, as a fleet drains."""
        with self._lock:
            self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


@dataclass
class ServedModel:
    """An endpoint model, loaded by the container's serving stack in its own process."""

    server: ContainerServer
    model_dir: Path
    #: The fleet it serves: (account, region, endpoint config).
    fleet: tuple[str, str, str] = ("", "", "")


def serving_spec(
    backend: Any, endpoint_name: str, endpoint_config_name: str | None = None
) -> ServingSpec:
    """Follow endpoint ─► config ─► model ─► container (or its model package) in the backend.

    ``endpoint_config_name`` names the fleet (during a blue/green update, the green fleet's
    config); by default the endpoint's current config.
    """
    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        raise InvocationValidationError(
            f"Endpoint {endpoint_name} of account {backend.account_id} not found."
        )
    config_name = endpoint_config_name or endpoint.endpoint_config_name
    config = backend.describe_endpoint_config(config_name)
    variant = config["ProductionVariants"][0]
    model = backend.describe_model(variant["ModelName"])
    container = dict(model.primary_container or (model.containers or [{}])[0])
    if container.get("ModelPackageName"):
        package = backend.describe_model_package(container["ModelPackageName"])
        container = dict((package.inference_specification or {}).get("Containers", [{}])[0])
    model_data_url = container.get("ModelDataUrl") or ""
    if not model_data_url:
        raise server_error(endpoint_name, backend.account_id, "the model has no ModelDataUrl")
    return ServingSpec(
        endpoint_name=endpoint_name,
        endpoint_config_name=config_name,
        variant_name=variant.get("VariantName", "AllTraffic"),
        model_data_url=model_data_url,
        environment={k: str(v) for k, v in (container.get("Environment") or {}).items()},
        instance_count=variant.get("InitialInstanceCount"),
    )


def split_s3_uri(uri: str) -> tuple[str, str]:
    match = re.fullmatch(r"s3://([^/]+)/(.+)", uri)
    if match is None:
        raise ValueError(f"'{uri}' is not an s3://bucket/key URI")
    return match.group(1), match.group(2)


def _read_s3_object(account_id: str, region: str, uri: str) -> tuple[bytes, str]:
    # The emulator's own S3 backend: the same process in server mode and under mock_aws, so no
    # credentials, endpoint URL or bucket policy stand between an endpoint and its artifacts.
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    bucket, key = split_s3_uri(uri)
    try:
        obj = s3_backends[account_id][get_partition(region)].get_object(bucket, key)
    except Exception as error:  # moto raises MissingBucket and friends
        raise FileNotFoundError(f"{uri}: {error}") from None
    if obj is None:
        raise FileNotFoundError(f"{uri} does not exist")
    return bytes(obj.value), str(obj.etag).strip('"')


def _extract_tar_gz(data: bytes, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        # "data" refuses links, devices and paths that leave the destination.
        tar.extractall(destination, filter="data")


def _in_container_model_dir(uri: str) -> str | None:
    """The part of ``uri`` below /opt/ml/model, or None when ``uri`` is elsewhere."""
    if uri == CONTAINER_MODEL_DIR:
        return ""
    if uri.startswith(CONTAINER_MODEL_DIR + "/"):
        return uri[len(CONTAINER_MODEL_DIR) + 1 :].rstrip("/")
    return None


def _prepare_model_dir(spec: ServingSpec, account_id: str, region: str) -> tuple[Path, Path]:
    """Download and extract the model (and s3:// code) once per config and ETags.

    Returns (base dir standing for /opt/ml, with ``model/``; the code directory). The submit
    directory is either an s3:// sourcedir tarball (staged here, since the serving process cannot
    reach the emulated S3; the container would download it with boto3, _files.s3_download) or
    /opt/ml/model/code (code inside model.tar.gz, the sagemaker SDK's repack layout).
    """
    program = spec.environment.get(SAGEMAKER_PROGRAM, "")
    source_uri = spec.environment.get(SAGEMAKER_SUBMIT_DIRECTORY, "")
    if not program or not source_uri:
        raise FileNotFoundError(
            f"the container environment needs {SAGEMAKER_PROGRAM} and {SAGEMAKER_SUBMIT_DIRECTORY}"
        )
    inside_model = _in_container_model_dir(source_uri)
    if inside_model is None and not source_uri.startswith("s3://"):
        raise FileNotFoundError(
            f"{SAGEMAKER_SUBMIT_DIRECTORY} {source_uri} is neither an s3:// URI nor a directory "
            f"inside {CONTAINER_MODEL_DIR} (the model artifact)"
        )
    model_bytes, model_etag = _read_s3_object(account_id, region, spec.model_data_url)
    source_bytes, source_etag = b"", ""
    if inside_model is None:
        source_bytes, source_etag = _read_s3_object(account_id, region, source_uri)
    digest = hashlib.sha256(
        "|".join([spec.model_data_url, model_etag, source_uri, source_etag, program]).encode()
    ).hexdigest()[:16]
    target = _STATE.endpoint_cache_dir / f"{spec.endpoint_config_name}-{digest}"
    if not target.is_dir():
        # Extract beside the target and rename, so a crash never leaves a half-written model.
        _STATE.endpoint_cache_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=_STATE.endpoint_cache_dir, prefix=".extract-"))
        try:
            _extract_tar_gz(model_bytes, staging / "opt-ml" / "model")
            if inside_model is None:
                _extract_tar_gz(source_bytes, staging / "submit")
            staging.rename(target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not target.is_dir():
                raise
    base_dir = target / "opt-ml"
    code_dir = target / "submit" if inside_model is None else base_dir / "model" / inside_model
    if not (code_dir / program).is_file():
        raise FileNotFoundError(f"{source_uri} has no {program}")
    return base_dir, code_dir


def served_model(spec: ServingSpec, account_id: str, region: str) -> ServedModel:
    """The endpoint's model, loaded on first use and kept while its artifacts are unchanged.

    Raises when the container's stack cannot load it (missing artifact or code, model_fn fails).
    """
    with _serve_lock:
        base_dir, code_dir = _prepare_model_dir(spec, account_id, region)
        key = str(base_dir)  # the full path: another cache dir is another model
        cached = _STATE.served_models.get(key)
        if cached is None or not cached.server.alive:
            environment = {
                SAGEMAKER_PROGRAM: spec.environment[SAGEMAKER_PROGRAM],
                SAGEMAKER_SUBMIT_DIRECTORY: str(code_dir),
            }
            fleet = (account_id, region, spec.endpoint_config_name)
            cached = ServedModel(ContainerServer(base_dir, environment), base_dir / "model", fleet)
            _STATE.served_models[key] = cached
        return cached


def stop_fleet(account_id: str, region: str, endpoint_config_name: str) -> int:
    """Stop the serving processes of one fleet (an endpoint config's models); how many.

    No new request reaches them from now on; each stops in the background once the request it
    is answering (if any) is answered, so no caller waits for a drain."""
    with _serve_lock:
        keys = [
            key
            for key, served in _STATE.served_models.items()
            if served.fleet == (account_id, region, endpoint_config_name)
        ]
        retired = [_STATE.served_models.pop(key).server for key in keys]
    for server in retired:
        core.in_background(f"retire {endpoint_config_name}", server.retire)
    return len(retired)


def retire_fleet(backend: Any, endpoint_config_name: str | None) -> None:
    """SageMaker tore ``endpoint_config_name``'s fleet down (an update completed or rolled back,
    the endpoint was deleted): stop its serving processes, unless an endpoint of the backend
    still serves that config or is moving to or from it (one config may back many endpoints).

    "After the update completes, SageMaker terminates the old fleet" (deployment guardrails,
    blue/green: https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green.html);
    a rollback "shifts all traffic back to the blue fleet" and the green fleet is terminated;
    DeleteEndpoint "terminates all of the resources that were deployed". Before, every replaced
    config kept its process (and its memory) until the emulator stopped.
    """
    if endpoint_config_name and not state.config_in_use(backend, endpoint_config_name):
        stop_fleet(backend.account_id, backend.region_name, endpoint_config_name)


def stop_served_models() -> None:
    """Stop every serving process (at exit, and when tests reset the emulator)."""
    with _serve_lock:
        for served in _STATE.served_models.values():
            served.server.close()
        _STATE.served_models.clear()


atexit.register(stop_served_models)


def model_error(endpoint: str, account_id: str, status: int, kind: str, message: str) -> ModelError:
    return ModelError(
        f'Received {kind} error ({status}) from primary with message "{message}". See '
        f"/aws/sagemaker/Endpoints/{endpoint} in account {account_id} for more information.",
        status,
        message,
    )


def server_error(endpoint: str, account_id: str, message: str) -> ModelError:
    return model_error(endpoint, account_id, 500, "server", message)


def reset() -> None:
    """Stop every serving process; models are extracted to the default directory again."""
    stop_served_models()
    _STATE.endpoint_cache_dir = DEFAULT_ENDPOINT_CACHE_DIR
