"""Run SageMaker pipeline executions on this machine: the local runtime's SageMaker.

Registered with ``local.moto_extensions.set_pipeline_runner``, the executor receives every
``StartPipelineExecution`` on the emulator and interprets the definition as provisioned (the
rendered ``ml/pipeline_definition.json``) in a background thread::

    definition ─► parameters (defaults + overrides), execution variables
               ─► steps in dependency order (``Get: Steps.X...`` references + ``DependsOn``)
               ─► Processing: S3 inputs ─► the step's script as a subprocess ─► S3 outputs
               ─► Tuning: optuna search; each trial runs the real training script with the
                  SageMaker training environment and uploads <output>/<job>/output/model.tar.gz;
                  its objective is read as the service reads it (for the XGBoost image: the
                  container's built-in regexes on the log as CloudWatch shows it, and
                  MetricDefinitions refused; local/tuning.py)
               ─► step properties (``ProcessingOutputConfig...``, ``TrainingJobSummaries[0]``...)
                  feed later steps' ``Get`` / ``Std:Join`` / ``Std:JsonGet``

Container paths (``/opt/ml/...``) map to ``<workdir>/<execution-id>/<step>/opt/ml/...``; each
script's stdout and stderr go to log files there. A failing script fails its step and the
execution with the script's own message (SageMaker's failure file, else its last ``ERROR:`` line).
Processing, training and tuning jobs are created through the emulator's SageMaker API and their
moto objects are then given the real outcome (status, metrics, best training job), so
``Describe*Job`` answers like AWS.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from local import tuning
from local.moto_extensions import PipelineRun
from ml import evaluate as evaluate_script
from ml import prepare as prepare_script

ROOT = Path(__file__).resolve().parents[1]
logger = logging.getLogger("local.sagemaker_executor")

CONTAINER_ROOT = "/opt/ml"
FAILURE_FILE = "/opt/ml/output/message"
PYTHON_COMMANDS = frozenset({"python", "python3"})
# The scripts default these CLI options to container paths (they run as `python3 script.py`
# with no arguments in the container); locally the paths must be passed so they can be mapped.
# Options already in ContainerArguments are left alone.
CONTAINER_PATH_ARGS: Mapping[str, Mapping[str, str]] = {
    "prepare.py": {
        "--input-dir": prepare_script.DEFAULT_INPUT_DIR,
        "--output-dir": prepare_script.DEFAULT_OUTPUT_DIR,
    },
    "evaluate.py": {
        "--model-dir": evaluate_script.DEFAULT_MODEL_DIR,
        "--test-dir": evaluate_script.DEFAULT_TEST_DIR,
        "--output-dir": evaluate_script.DEFAULT_OUTPUT_DIR,
    },
}
# Environment variables a job must not inherit: scripts ship alone (no repo on the path) and
# have no business with the caller's AWS credentials.
_SCRUBBED_ENV_PREFIXES = ("AWS_", "PYTHONPATH", "VIRTUAL_ENV")
DEFAULT_MAX_RUNTIME_SECONDS = 86400
POLL_SECONDS = 0.1
_TOKEN = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_:]*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")

EventCallback = Callable[[dict[str, Any]], None]


class StepFailure(Exception):
    """A step failed; the message is its FailureReason."""


class StepStopped(Exception):
    """The execution was asked to stop while the step ran."""


class DefinitionError(StepFailure):
    """The definition cannot be interpreted (bad reference, unsupported construct)."""


# --------------------------------------------------------------------------- definition


def parse_property_path(path: str) -> list[str | int]:
    """``Outputs['train'].S3Output.S3Uri`` ─► ``["Outputs", "train", "S3Output", "S3Uri"]``."""
    tokens: list[str | int] = []
    position = 0
    while position < len(path):
        match = _TOKEN.match(path, position)
        if match is None or match.end() == position:
            raise DefinitionError(f"ValidationError: cannot parse property path {path!r}")
        name, index, single, double = match.groups()
        if index is not None:
            tokens.append(int(index))
        else:
            tokens.append(name if name is not None else (single if single is not None else double))
        position = match.end()
    return tokens


def get_property(value: Any, tokens: Iterable[str | int], path: str = "") -> Any:
    """Follow ``tokens`` into nested dicts and lists.

    A string key on a list selects the element named by it (``OutputName``, ``ChannelName``...),
    as SageMaker's ``Outputs['train']`` does.
    """
    for token in tokens:
        if isinstance(value, list) and isinstance(token, str):
            named = [
                item
                for item in value
                if isinstance(item, dict)
                and any(k.endswith("Name") and v == token for k, v in item.items())
            ]
            if len(named) != 1:
                raise DefinitionError(f"ValidationError: {path}: no single element {token!r}")
            value = named[0]
        elif isinstance(value, list) and isinstance(token, int):
            if not -len(value) <= token < len(value):
                raise DefinitionError(f"ValidationError: {path}: index {token} out of range")
            value = value[token]
        elif isinstance(value, dict) and isinstance(token, str) and token in value:
            value = value[token]
        else:
            raise DefinitionError(f"ValidationError: {path}: no property {token!r}")
    return value


def step_references(value: Any) -> set[str]:
    """Names of the steps whose properties ``value`` reads (``{"Get": "Steps.<name>..."}``)."""
    found: set[str] = set()
    if isinstance(value, dict):
        get = value.get("Get")
        if isinstance(get, str) and get.startswith("Steps."):
            found.add(str(parse_property_path(get)[1]))
        for item in value.values():
            found |= step_references(item)
    elif isinstance(value, list):
        for item in value:
            found |= step_references(item)
    return found


def execution_order(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Steps in dependency order (data references + ``DependsOn``), ties in definition order."""
    by_name = {step["Name"]: step for step in steps}
    if len(by_name) != len(steps):
        raise DefinitionError("ValidationError: step names are not unique")
    needs: dict[str, set[str]] = {}
    for step in steps:
        deps = step_references(step.get("Arguments", {})) | set(step.get("DependsOn") or [])
        deps |= step_references(step.get("PropertyFiles", []))
        unknown = sorted(deps - by_name.keys())
        if unknown:
            raise DefinitionError(
                f"ValidationError: step {step['Name']} depends on unknown step(s) {unknown}"
            )
        needs[step["Name"]] = deps - {step["Name"]}
    ordered: list[dict[str, Any]] = []
    done: set[str] = set()
    while len(ordered) < len(steps):
        ready = [s for s in steps if s["Name"] not in done and needs[s["Name"]] <= done]
        if not ready:
            cycle = sorted(by_name.keys() - done)
            raise DefinitionError(f"ValidationError: dependency cycle among steps {cycle}")
        ordered.append(ready[0])
        done.add(ready[0]["Name"])
    return ordered


def _typed(kind: str, name: str, value: Any) -> Any:
    try:
        if kind == "Integer":
            number = float(value)
            if not number.is_integer():
                raise ValueError(value)
            return int(number)
        if kind == "Float":
            return float(value)
        if kind == "Boolean":
            if isinstance(value, bool):
                return value
            if str(value).lower() not in {"true", "false"}:
                raise ValueError(value)
            return str(value).lower() == "true"
        return str(value)
    except (TypeError, ValueError):
        raise DefinitionError(
            f"ValidationError: parameter {name} ({kind}): invalid value {value!r}"
        ) from None


def parameter_values(
    declared: list[dict[str, Any]], overrides: Mapping[str, str]
) -> dict[str, Any]:
    """The execution's parameters: declared defaults, then overrides, typed as declared."""
    kinds = {p["Name"]: p.get("Type", "String") for p in declared}
    unknown = sorted(set(overrides) - kinds.keys())
    if unknown:
        raise DefinitionError(f"ValidationError: undeclared pipeline parameter(s) {unknown}")
    values: dict[str, Any] = {}
    for param in declared:
        name = param["Name"]
        if name in overrides:
            values[name] = _typed(kinds[name], name, overrides[name])
        elif "DefaultValue" in param:
            values[name] = _typed(kinds[name], name, param["DefaultValue"])
        else:
            raise DefinitionError(f"ValidationError: parameter {name} has no value")
    return values


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class Resolver:
    """Evaluates the definition's expressions against one execution's state."""

    parameters: dict[str, Any]
    execution: dict[str, str]
    steps: dict[str, dict[str, Any]]
    property_files: dict[tuple[str, str], Any]
    read_s3_json: Callable[[str], Any] | None = None

    def get(self, path: str) -> Any:
        tokens = parse_property_path(path)
        root = tokens[0] if tokens else None
        if root == "Parameters" and len(tokens) == 2 and tokens[1] in self.parameters:
            return self.parameters[str(tokens[1])]
        if root == "Execution" and len(tokens) == 2:
            if tokens[1] == "CurrentDateTime":
                return datetime.now(UTC).isoformat()
            if tokens[1] in self.execution:
                return self.execution[str(tokens[1])]
        if root == "Steps" and len(tokens) >= 3 and tokens[1] in self.steps:
            return get_property(self.steps[str(tokens[1])], tokens[2:], path)
        raise DefinitionError(f"ValidationError: cannot resolve {path!r} (not available yet?)")

    def json_get(self, spec: Mapping[str, Any]) -> Any:
        path = parse_property_path(str(spec["Path"]))
        source = spec.get("PropertyFile")
        if isinstance(source, dict) and isinstance(source.get("Get"), str):
            ref = parse_property_path(source["Get"])
            if len(ref) != 4 or ref[0] != "Steps" or ref[2] != "PropertyFiles":
                raise DefinitionError(f"ValidationError: bad property file {source['Get']!r}")
            key = (str(ref[1]), str(ref[3]))
            if key not in self.property_files:
                raise DefinitionError(f"ValidationError: property file {key} not available")
            document = self.property_files[key]
        elif "S3Uri" in spec and self.read_s3_json is not None:
            document = self.read_s3_json(_as_text(self.resolve(spec["S3Uri"])))
        else:
            raise DefinitionError(f"ValidationError: unsupported Std:JsonGet {dict(spec)}")
        return get_property(document, path, str(spec["Path"]))

    def resolve(self, value: Any) -> Any:
        """``value`` with every ``Get``, ``Std:Join`` and ``Std:JsonGet`` evaluated."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Get"}:
            return self.get(str(value["Get"]))
        if set(value) == {"Std:Join"}:
            join = value["Std:Join"]
            return str(join["On"]).join(_as_text(self.resolve(v)) for v in join["Values"])
        if set(value) == {"Std:JsonGet"}:
            return self.json_get(value["Std:JsonGet"])
        functions = [key for key in value if key.startswith("Std:")]
        if functions:
            raise DefinitionError(f"ValidationError: unsupported function {functions[0]}")
        return {key: self.resolve(item) for key, item in value.items()}


# --------------------------------------------------------------------------- local jobs


def map_container_path(text: str, root: Path) -> str:
    """``/opt/ml/x`` (alone or after ``--opt=``) ─► ``<root>/x``; other text is unchanged."""
    prefix, sep, rest = text.rpartition("=") if "=" in text else ("", "", text)
    if rest == CONTAINER_ROOT or rest.startswith(CONTAINER_ROOT + "/"):
        rest = str(root / rest[len(CONTAINER_ROOT) :].lstrip("/"))
    return f"{prefix}{sep}{rest}"


def processing_command(
    entrypoint: list[str], arguments: list[str], root: Path, python: str
) -> list[str]:
    """The local command for a processing container's entrypoint and arguments."""
    if not entrypoint:
        raise DefinitionError("ValidationError: AppSpecification has no ContainerEntrypoint")
    program = [python if entrypoint[0] in PYTHON_COMMANDS else entrypoint[0], *entrypoint[1:]]
    script = Path(entrypoint[-1]).name
    given = {arg.split("=", 1)[0] for arg in arguments if arg.startswith("--")}
    implicit = [
        item
        for flag, default in CONTAINER_PATH_ARGS.get(script, {}).items()
        if flag not in given
        for item in (flag, default)
    ]
    return [map_container_path(part, root) for part in (*program, *arguments, *implicit)]


def failure_reason(returncode: int, stderr: str, failure_file: Path) -> str:
    """What SageMaker would report: the failure file, else the script's last ``ERROR:`` line."""
    if failure_file.is_file():
        message = failure_file.read_text(encoding="utf-8", errors="replace").strip()
        if message:
            return f"AlgorithmError: {message}"
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    if errors:
        return f"AlgorithmError: {errors[-1].removeprefix('ERROR:').strip()}"
    if lines:
        return f"AlgorithmError: {lines[-1]} (exit code {returncode})"
    return f"AlgorithmError: exit code {returncode}"


def decode_hyperparameter(value: str) -> str:
    """The SDK JSON-encodes string hyperparameters (``"\\"train.py\\""``); undo that."""
    try:
        decoded = json.loads(value)
    except (TypeError, ValueError):
        return value
    return decoded if isinstance(decoded, str) else value


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket:
        raise StepFailure(f"ClientError: not an S3 URI: {uri!r}")
    return bucket, key


def tar_directory(directory: Path) -> bytes:
    """``directory``'s files as a gzipped tar with paths relative to it (SageMaker's layout)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            archive.add(path, arcname=str(path.relative_to(directory)))
    return buffer.getvalue()


def _job_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_ENV_PREFIXES)}
    env.update({"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(extra)
    return env


def _slug(text: str, limit: int) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:limit].strip("-") or "step"


# --------------------------------------------------------------------------- moto visibility


def _moto_backend(account: str, region: str) -> Any | None:
    """The in-process moto SageMaker backend, or None when moto runs elsewhere."""
    try:
        from moto.sagemaker.models import sagemaker_backends
    except ImportError:  # pragma: no cover - moto is a dev dependency of the local runtime
        return None
    try:
        return sagemaker_backends[account][region]
    except KeyError:
        return None


def _patch_job(backend: Any | None, collection: str, name: str, **attributes: Any) -> None:
    """Give a moto job object its real state (moto creates jobs already 'Completed')."""
    if backend is None:
        return
    job = getattr(backend, collection, {}).get(name)
    if job is None:
        return
    for attribute, value in attributes.items():
        setattr(job, attribute, value)


# --------------------------------------------------------------------------- executor


class LocalPipelineExecutor:
    """A pipeline runner for ``local.moto_extensions.set_pipeline_runner``.

    ``workdir`` holds one directory per execution (inputs, outputs, logs); ``endpoint_url`` is
    the emulator (``None``: boto3's default, which ``moto.mock_aws`` intercepts in-process);
    ``python`` runs the scripts; ``max_workers`` caps parallel training jobs (default: CPUs);
    ``on_event`` receives progress events (step started/finished, trial finished).
    """

    def __init__(
        self,
        workdir: Path,
        endpoint_url: str | None = None,
        python: str = sys.executable,
        max_workers: int | None = None,
        on_event: EventCallback | None = None,
        tuning_seed: int | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.endpoint_url = endpoint_url
        self.python = python
        self.max_workers = max(1, max_workers or os.cpu_count() or 1)
        self.on_event = on_event
        self.tuning_seed = tuning_seed
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def __call__(self, run: PipelineRun) -> None:
        """Start ``run`` in the background and return at once (we are inside the request)."""
        thread = threading.Thread(
            target=self._run, args=(run,), name=f"pipeline-{run.execution_id}", daemon=True
        )
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def join(self, timeout: float) -> bool:
        """Wait until every started execution has finished; False if ``timeout`` ran out."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)

    def emit(self, event: dict[str, Any]) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception:  # a broken progress printer must not fail the pipeline
            logger.exception("on_event callback failed")

    def _run(self, run: PipelineRun) -> None:
        try:
            _Execution(self, run).run()
        except BaseException as error:  # never leave an execution 'Executing' forever
            logger.exception("pipeline execution %s crashed", run.arn)
            run.set_status("Failed", f"InternalError: {type(error).__name__}: {error}")
            self.emit(
                {
                    "type": "pipeline_finished",
                    "execution_id": run.execution_id,
                    "status": "Failed",
                    "failure_reason": str(error),
                }
            )


class _Execution:
    """One pipeline execution: state, clients and the step handlers."""

    def __init__(self, executor: LocalPipelineExecutor, run: PipelineRun) -> None:
        self.executor = executor
        self.run_ = run
        # arn:aws:sagemaker:<region>:<account>:pipeline/<name>/execution/<id>
        parts = run.arn.split(":")
        self.region, self.account = parts[3], parts[4]
        session = boto3.session.Session(region_name=self.region)
        config = Config(retries={"max_attempts": 5, "mode": "standard"})
        # Typed as Any: requests are built from the definition's JSON, not typed dicts.
        self.s3: Any = session.client("s3", endpoint_url=executor.endpoint_url, config=config)
        self.sagemaker: Any = session.client(
            "sagemaker", endpoint_url=executor.endpoint_url, config=config
        )
        self.backend = _moto_backend(self.account, self.region)
        self.directory = executor.workdir / run.execution_id
        self.resolver: Resolver | None = None

    # ----------------------------------------------------------------- driver

    def event(self, kind: str, **fields: Any) -> None:
        self.executor.emit({"type": kind, "execution_id": self.run_.execution_id, **fields})

    def run(self) -> None:
        run = self.run_
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            definition = json.loads(run.definition)
            steps = execution_order(list(definition.get("Steps") or []))
            start = datetime.now(UTC).isoformat()
            self.resolver = Resolver(
                parameters=parameter_values(definition.get("Parameters") or [], run.parameters),
                execution={
                    "PipelineExecutionId": run.execution_id,
                    "PipelineExecutionArn": run.arn,
                    "PipelineName": run.pipeline_name,
                    "PipelineArn": run.arn.split("/execution/", 1)[0],
                    "StartDateTime": start,
                },
                steps={},
                property_files={},
                read_s3_json=self.read_s3_json,
            )
        except (ValueError, KeyError, StepFailure) as error:
            reason = str(error) if isinstance(error, StepFailure) else f"ValidationError: {error}"
            run.set_status("Failed", reason)
            self.event("pipeline_finished", status="Failed", failure_reason=reason)
            return
        self.event(
            "pipeline_started",
            pipeline=run.pipeline_name,
            parameters=self.resolver.parameters,
            steps=[s["Name"] for s in steps],
        )
        for step in steps:
            name, kind = step["Name"], step.get("Type", "")
            if run.stop_requested:
                self.finish("Stopped")
                return
            run.set_step(name, "Executing", step_type=kind)
            self.event("step_started", step=name, step_type=kind)
            began = time.monotonic()
            try:
                properties, metadata = self.execute_step(step)
            except StepStopped:
                run.set_step(name, "Stopped", step_type=kind)
                self.event("step_finished", step=name, status="Stopped")
                self.finish("Stopped")
                return
            except Exception as error:
                reason = self.reason_for(name, error)
                run.set_step(name, "Failed", step_type=kind, failure_reason=reason)
                self.event(
                    "step_finished",
                    step=name,
                    status="Failed",
                    failure_reason=reason,
                    seconds=round(time.monotonic() - began, 1),
                )
                self.finish("Failed", f"Step {name} failed: {reason}")
                return
            self.resolver.steps[name] = properties
            run.set_step(name, "Succeeded", step_type=kind, metadata=metadata)
            self.event(
                "step_finished",
                step=name,
                status="Succeeded",
                seconds=round(time.monotonic() - began, 1),
            )
        self.finish("Succeeded")

    def reason_for(self, step: str, error: Exception) -> str:
        if isinstance(error, StepFailure):
            return str(error)
        # An executor bug, not the script's: keep the traceback next to the job's logs.
        (self.directory / f"{step}.executor-error.log").write_text(
            traceback.format_exc(), encoding="utf-8"
        )
        return f"InternalError: {type(error).__name__}: {error}"

    def finish(self, status: str, reason: str | None = None) -> None:
        self.run_.set_status(status, reason)
        self.event("pipeline_finished", status=status, failure_reason=reason)

    def execute_step(self, step: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        assert self.resolver is not None
        kind = step.get("Type")
        arguments = self.resolver.resolve(step.get("Arguments") or {})
        if kind == "Processing":
            return self.run_processing(step, arguments)
        if kind == "Tuning":
            return self.run_tuning(step, arguments)
        raise DefinitionError(f"ValidationError: step type {kind!r} is not supported locally")

    # ----------------------------------------------------------------- S3

    def download(self, uri: str, destination: Path) -> list[Path]:
        """Fetch every object under ``uri`` (an S3 prefix) into ``destination``."""
        bucket, prefix = split_s3_uri(uri)
        destination.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        try:
            pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
        except self.s3.exceptions.NoSuchBucket:
            keys = []
        for key in keys:
            if key.endswith("/"):
                continue  # "folder" marker objects
            rest = key[len(prefix) :]
            if prefix and not prefix.endswith("/") and rest and not rest.startswith("/"):
                relative = key.rsplit("/", 1)[-1]  # a sibling that merely shares the prefix
            else:
                relative = rest.lstrip("/") or key.rsplit("/", 1)[-1]
            target = (destination / relative).resolve()
            if destination.resolve() not in target.parents:
                raise StepFailure(f"ClientError: S3 key {key!r} escapes its local path")
            target.parent.mkdir(parents=True, exist_ok=True)
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"]
            target.write_bytes(body.read())
            written.append(target)
        if not written:
            raise StepFailure(
                f'ClientError: No S3 objects found under S3 URL "{uri}" given in input data '
                "source. Please ensure that the bucket exists and that objects exist under "
                "that S3 prefix."
            )
        return written

    def upload_directory(self, source: Path, uri: str) -> list[str]:
        bucket, prefix = split_s3_uri(uri)
        uploaded = []
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            key = "/".join(filter(None, [prefix.rstrip("/"), str(path.relative_to(source))]))
            self.s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
            uploaded.append(f"s3://{bucket}/{key}")
        return uploaded

    def read_s3_json(self, uri: str) -> Any:
        bucket, key = split_s3_uri(uri)
        return json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    # ----------------------------------------------------------------- subprocess

    def run_process(
        self, command: list[str], cwd: Path, env: Mapping[str, str], log_dir: Path, timeout: float
    ) -> tuple[int, str, str]:
        """Run ``command``, logs to ``log_dir``; stop on timeout or a stop request."""
        log_dir.mkdir(parents=True, exist_ok=True)
        out_path, err_path = log_dir / "stdout.log", log_dir / "stderr.log"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            process = subprocess.Popen(
                command, cwd=cwd, env=dict(env), stdout=out, stderr=err, stdin=subprocess.DEVNULL
            )
            deadline = time.monotonic() + timeout
            stopped = timed_out = False
            while process.poll() is None:
                if self.run_.stop_requested:
                    stopped = True
                elif time.monotonic() > deadline:
                    timed_out = True
                if stopped or timed_out:
                    process.terminate()
                    try:
                        process.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait(timeout=10)
                    break
                time.sleep(POLL_SECONDS)
        stdout = out_path.read_text(encoding="utf-8", errors="replace")
        stderr = err_path.read_text(encoding="utf-8", errors="replace")
        if stopped:
            raise StepStopped()
        if timed_out:
            raise StepFailure(f"MaxRuntimeExceeded: the job ran longer than {timeout:.0f} seconds")
        return int(process.returncode), stdout, stderr

    # ----------------------------------------------------------------- processing

    def run_processing(
        self, step: dict[str, Any], args: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        name = step["Name"]
        job_name = (
            f"pipelines-{_slug(self.run_.execution_id, 12)}-{_slug(name, 20)}-"
            f"{uuid.uuid4().hex[:8]}"
        )
        job_dir = self.directory / name
        shutil.rmtree(job_dir, ignore_errors=True)
        root = job_dir / "opt" / "ml"
        app = args.get("AppSpecification") or {}
        container_args = [str(a) for a in app.get("ContainerArguments") or []]
        job_arn = self.create_processing_job(job_name, args, app, container_args)

        for item in args.get("ProcessingInputs") or []:
            s3_input = item.get("S3Input")
            if not s3_input:
                raise DefinitionError(
                    f"ValidationError: input {item.get('InputName')}: only S3Input is supported"
                )
            local = Path(map_container_path(s3_input["LocalPath"], root))
            self.download(str(s3_input["S3Uri"]), local)
        outputs = (args.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        for item in outputs:
            Path(map_container_path(item["S3Output"]["LocalPath"], root)).mkdir(
                parents=True, exist_ok=True
            )
        failure_file = Path(map_container_path(FAILURE_FILE, root))
        failure_file.parent.mkdir(parents=True, exist_ok=True)
        command = processing_command(
            [str(p) for p in app.get("ContainerEntrypoint") or []],
            container_args,
            root,
            self.executor.python,
        )
        env = _job_env(
            {
                **{str(k): str(v) for k, v in (args.get("Environment") or {}).items()},
                prepare_script.FAILURE_FILE_ENV: str(failure_file),
            }
        )
        runtime = (args.get("StoppingCondition") or {}).get(
            "MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME_SECONDS
        )
        try:
            code, _, stderr = self.run_process(command, job_dir, env, job_dir, float(runtime))
        except StepStopped:
            self.patch_processing(job_name, "Stopped")
            raise
        except StepFailure as error:
            self.patch_processing(job_name, "Failed", str(error))
            raise
        if code != 0:
            reason = failure_reason(code, stderr, failure_file)
            self.patch_processing(job_name, "Failed", reason)
            raise StepFailure(reason)

        for item in outputs:
            local = Path(map_container_path(item["S3Output"]["LocalPath"], root))
            self.upload_directory(local, str(item["S3Output"]["S3Uri"]))
        self.patch_processing(job_name, "Completed")
        assert self.resolver is not None
        for spec in step.get("PropertyFiles") or []:
            output = get_property(outputs, [spec["OutputName"]], f"{name}.PropertyFiles")
            path = Path(map_container_path(output["S3Output"]["LocalPath"], root))
            document = path / spec["FilePath"]
            try:
                parsed = json.loads(document.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise StepFailure(
                    f"ClientError: property file {spec['PropertyFileName']}: {error}"
                ) from None
            self.resolver.property_files[(name, spec["PropertyFileName"])] = parsed
        properties = {
            **args,
            "ProcessingJobName": job_name,
            "ProcessingJobArn": job_arn,
            "ProcessingJobStatus": "Completed",
        }
        return properties, {"ProcessingJob": {"Arn": job_arn}}

    def create_processing_job(
        self, job_name: str, args: dict[str, Any], app: dict[str, Any], container_args: list[str]
    ) -> str:
        request: dict[str, Any] = {
            "ProcessingJobName": job_name,
            "AppSpecification": {
                **app,
                **({"ContainerArguments": container_args} if container_args else {}),
            },
            "ProcessingResources": args["ProcessingResources"],
            "RoleArn": args["RoleArn"],
            "ProcessingInputs": args.get("ProcessingInputs") or [],
        }
        if args.get("ProcessingOutputConfig"):
            request["ProcessingOutputConfig"] = args["ProcessingOutputConfig"]
        arn = str(self.sagemaker.create_processing_job(**request)["ProcessingJobArn"])
        self.patch_processing(job_name, "InProgress")
        return arn

    def patch_processing(self, job_name: str, status: str, reason: str | None = None) -> None:
        now = datetime.now(UTC)
        times = (
            {"processing_start_time": now, "processing_end_time": None}
            if status == "InProgress"
            else {"processing_end_time": now}
        )
        _patch_job(
            self.backend,
            "processing_jobs",
            job_name,
            processing_job_status=status,
            failure_reason=reason,
            last_modified_time=now,
            **times,
        )

    # ----------------------------------------------------------------- tuning

    def run_tuning(
        self, step: dict[str, Any], args: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        name = step["Name"]
        if "TrainingJobDefinitions" in args or "TrainingJobDefinition" not in args:
            raise DefinitionError("ValidationError: only one TrainingJobDefinition is supported")
        config = args["HyperParameterTuningJobConfig"]
        definition = args["TrainingJobDefinition"]
        objective = config["HyperParameterTuningJobObjective"]
        minimize = objective["Type"] == "Minimize"
        limits = config["ResourceLimits"]
        max_jobs = int(limits["MaxNumberOfTrainingJobs"])
        max_parallel = min(int(limits["MaxParallelTrainingJobs"]), self.executor.max_workers)
        try:
            specs = tuning.parse_parameter_ranges(config.get("ParameterRanges") or {})
        except tuning.TuningConfigError as error:
            raise DefinitionError(f"ValidationError: {error}") from None
        try:
            # The service's reading of the objective (built-in table for the XGBoost image,
            # MetricDefinitions refused there): see local/tuning.py, "objective metric".
            metric_regexes = tuning.objective_metric_regexes(
                definition["AlgorithmSpecification"], objective
            )
        except tuning.TuningConfigError as error:
            raise DefinitionError(str(error)) from None
        static = {
            str(k): str(v) for k, v in (definition.get("StaticHyperParameters") or {}).items()
        }
        decoded = {k: decode_hyperparameter(v) for k, v in static.items()}
        if "sagemaker_submit_directory" not in decoded or "sagemaker_program" not in decoded:
            raise DefinitionError(
                "ValidationError: script mode needs sagemaker_submit_directory and "
                "sagemaker_program hyperparameters"
            )
        script_hyperparameters = {
            k: v for k, v in decoded.items() if not k.startswith("sagemaker_")
        }

        tuning_name = (
            f"{_slug(name, 11).lower()}-{_slug(self.run_.execution_id, 12)}-{uuid.uuid4().hex[:6]}"
        )
        job_dir = self.directory / name
        shutil.rmtree(job_dir, ignore_errors=True)
        code_dir = job_dir / "code"
        archive = self.download(decoded["sagemaker_submit_directory"], job_dir / "sourcedir")
        for path in archive:
            try:
                with tarfile.open(path, "r:*") as tar:
                    tar.extractall(code_dir, filter="data")
            except (tarfile.TarError, OSError) as error:
                raise StepFailure(f"ClientError: cannot extract {path.name}: {error}") from None
        program = code_dir / decoded["sagemaker_program"]
        if not program.is_file():
            raise StepFailure(
                f"ClientError: {decoded['sagemaker_program']} is not in the source directory"
            )
        channels: dict[str, Path] = {}
        for channel in definition.get("InputDataConfig") or []:
            source = channel["DataSource"]["S3DataSource"]
            local = job_dir / "input" / "data" / channel["ChannelName"]
            self.download(str(source["S3Uri"]), local)
            channels[channel["ChannelName"]] = local

        tuning_arn = self.create_tuning_job(tuning_name, config, definition)
        output_path = str(definition["OutputDataConfig"]["S3OutputPath"]).rstrip("/")
        runtime = float(
            (definition.get("StoppingCondition") or {}).get(
                "MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME_SECONDS
            )
        )

        def run_trial(number: int, params: dict[str, str]) -> tuple[float | None, dict[str, Any]]:
            job_name = f"{tuning_name}-{number + 1:03d}-{uuid.uuid4().hex[:8]}"
            trial_dir = job_dir / "jobs" / job_name
            root = trial_dir / "opt" / "ml"
            model_dir, output_dir = root / "model", root / "output" / "data"
            failure_file = Path(map_container_path(FAILURE_FILE, root))
            for directory in (model_dir, output_dir, failure_file.parent):
                directory.mkdir(parents=True, exist_ok=True)
            hyperparameters = {**script_hyperparameters, **params}
            job_arn = self.create_training_job(job_name, tuning_arn, definition, static, params)
            command = [self.executor.python, str(program)]
            for key in sorted(hyperparameters):
                command += [f"--{key}", hyperparameters[key]]
            env = _job_env(
                {
                    **{f"SM_CHANNEL_{c.upper()}": str(p) for c, p in channels.items()},
                    "SM_CHANNELS": json.dumps(sorted(channels)),
                    "SM_MODEL_DIR": str(model_dir),
                    "SM_OUTPUT_DATA_DIR": str(output_dir),
                    "SM_OUTPUT_DIR": str(root / "output"),
                    "SM_HPS": json.dumps(hyperparameters, sort_keys=True),
                    "SM_CURRENT_HOST": "algo-1",
                    "SM_HOSTS": json.dumps(["algo-1"]),
                    "SM_NUM_CPUS": "1",
                    "TRAINING_JOB_NAME": job_name,
                    prepare_script.FAILURE_FILE_ENV: str(failure_file),
                    "OMP_NUM_THREADS": "1",  # trials share the CPUs
                }
            )
            info: dict[str, Any] = {"training_job_name": job_name, "training_job_arn": job_arn}
            started = datetime.now(UTC)
            try:
                code, stdout, stderr = self.run_process(command, code_dir, env, trial_dir, runtime)
            except StepStopped:
                self.patch_training(job_name, "Stopped", started, reason="Stopped by request")
                info["status"] = "Stopped"
                return None, info
            except StepFailure as error:
                self.patch_training(job_name, "Failed", started, reason=str(error))
                info.update(status="Failed", failure_reason=str(error))
                return None, info
            if code != 0:
                reason = failure_reason(code, stderr, failure_file)
                self.patch_training(job_name, "Failed", started, reason=reason)
                info.update(status="Failed", failure_reason=reason)
                return None, info
            # The service reads the job's log as CloudWatch shows it (tabs as #011).
            metrics = tuning.read_metrics(metric_regexes, stdout + "\n" + stderr)
            model_uri = f"{output_path}/{job_name}/output/model.tar.gz"
            bucket, key = split_s3_uri(model_uri)
            self.s3.put_object(Bucket=bucket, Key=key, Body=tar_directory(model_dir))
            value = metrics.get(objective["MetricName"])
            self.patch_training(
                job_name, "Completed", started, metrics=metrics, model_uri=model_uri
            )
            info.update(
                status="Completed",
                metrics=metrics,
                model_uri=model_uri,
                started=started,
                ended=datetime.now(UTC),
            )
            if value is None:
                # The job completed but its objective did not (SageMaker: ObjectiveStatus Failed).
                info["failure_reason"] = f"objective {objective['MetricName']} not in the logs"
            return value, info

        def on_trial(result: tuning.TrialResult) -> None:
            self.event(
                "trial_finished",
                step=name,
                trial=result.number + 1,
                of=max_jobs,
                training_job_name=result.info.get("training_job_name"),
                params=result.params,
                objective=result.objective,
                objective_metric=objective["MetricName"],
                status=result.info.get("status", "Failed"),
                failure_reason=result.info.get("failure_reason") or result.info.get("error"),
            )

        try:
            results = tuning.run_search(
                specs,
                run_trial,
                minimize=minimize,
                max_jobs=max_jobs,
                max_parallel=max_parallel,
                strategy=str(config.get("Strategy", "Bayesian")),
                should_stop=lambda: self.run_.stop_requested,
                on_trial=on_trial,
                seed=self.executor.tuning_seed,
            )
        except tuning.TuningConfigError as error:
            self.patch_tuning(tuning_name, "Failed", [], [], objective, reason=str(error))
            raise DefinitionError(f"ValidationError: {error}") from None
        best_first = tuning.ranked(results, minimize=minimize)
        summaries = [self.summary(r, tuning_name, tuning_arn, objective) for r in best_first]
        if self.run_.stop_requested:
            self.patch_tuning(tuning_name, "Stopped", results, summaries, objective)
            raise StepStopped()
        if not summaries:
            last = results[-1].info if results else {}
            detail = last.get("failure_reason") or last.get("error") or "no training job ran"
            reason = f"AlgorithmError: all {len(results)} training job(s) failed; last: {detail}"
            self.patch_tuning(tuning_name, "Failed", results, summaries, objective, reason=reason)
            raise StepFailure(reason)
        self.patch_tuning(tuning_name, "Completed", results, summaries, objective)
        properties = {
            "HyperParameterTuningJobName": tuning_name,
            "HyperParameterTuningJobArn": tuning_arn,
            "HyperParameterTuningJobStatus": "Completed",
            "HyperParameterTuningJobConfig": config,
            "TrainingJobDefinition": definition,
            "BestTrainingJob": summaries[0],
            "TrainingJobSummaries": summaries,
        }
        return properties, {"TuningJob": {"Arn": tuning_arn}}

    def summary(
        self,
        result: tuning.TrialResult,
        tuning_name: str,
        tuning_arn: str,
        objective: Mapping[str, Any],
    ) -> dict[str, Any]:
        """A ``HyperParameterTrainingJobSummary`` as AWS returns it."""
        return {
            "TrainingJobName": result.info["training_job_name"],
            "TrainingJobArn": result.info["training_job_arn"],
            "TuningJobName": tuning_name,
            "CreationTime": result.info["started"],
            "TrainingStartTime": result.info["started"],
            "TrainingEndTime": result.info["ended"],
            "TrainingJobStatus": "Completed",
            "TunedHyperParameters": dict(result.params),
            "FinalHyperParameterTuningJobObjectiveMetric": {
                "Type": objective["Type"],
                "MetricName": objective["MetricName"],
                "Value": result.objective,
            },
            "ObjectiveStatus": "Succeeded",
        }

    def create_tuning_job(
        self, name: str, config: dict[str, Any], definition: dict[str, Any]
    ) -> str:
        response = self.sagemaker.create_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=name,
            HyperParameterTuningJobConfig=config,
            TrainingJobDefinition=definition,
        )
        now = datetime.now(UTC)
        _patch_job(
            self.backend,
            "hyper_parameter_tuning_jobs",
            name,
            hyper_parameter_tuning_job_status="InProgress",
            creation_time=now,
            last_modified_time=now,
            hyper_parameter_tuning_end_time=None,
            best_training_job=None,
            OverallBestTrainingJob=None,
            failure_reason=None,
            tuning_job_completion_details=None,
            consumed_resources=None,
            training_job_status_counters=dict.fromkeys(
                ("Completed", "InProgress", "RetryableError", "NonRetryableError", "Stopped"), 0
            ),
            objective_status_counters=dict.fromkeys(("Succeeded", "Pending", "Failed"), 0),
        )
        return str(response["HyperParameterTuningJobArn"])

    def patch_tuning(
        self,
        name: str,
        status: str,
        results: list[tuning.TrialResult],
        summaries: list[dict[str, Any]],
        objective: Mapping[str, Any],
        reason: str | None = None,
    ) -> None:
        statuses = [r.info.get("status", "Failed") for r in results]
        best = summaries[0] if summaries else None
        _patch_job(
            self.backend,
            "hyper_parameter_tuning_jobs",
            name,
            hyper_parameter_tuning_job_status=status,
            last_modified_time=datetime.now(UTC),
            hyper_parameter_tuning_end_time=datetime.now(UTC),
            best_training_job=best,
            OverallBestTrainingJob=best,
            failure_reason=reason,
            training_job_status_counters={
                "Completed": statuses.count("Completed"),
                "InProgress": 0,
                "RetryableError": 0,
                "NonRetryableError": statuses.count("Failed"),
                "Stopped": statuses.count("Stopped"),
            },
            objective_status_counters={
                "Succeeded": len(summaries),
                "Pending": 0,
                "Failed": len(results) - len(summaries),
            },
        )

    def create_training_job(
        self,
        job_name: str,
        tuning_arn: str,
        definition: dict[str, Any],
        static: Mapping[str, str],
        params: Mapping[str, str],
    ) -> str:
        resources = (
            definition.get("HyperParameterTuningResourceConfig")
            or definition.get("ResourceConfig")
            or {}
        )
        request: dict[str, Any] = {
            "TrainingJobName": job_name,
            "HyperParameters": {**static, **params},
            "AlgorithmSpecification": definition["AlgorithmSpecification"],
            "RoleArn": definition["RoleArn"],
            "InputDataConfig": definition.get("InputDataConfig") or [],
            "OutputDataConfig": definition["OutputDataConfig"],
            "ResourceConfig": {
                "InstanceType": resources.get("InstanceType", "ml.m5.large"),
                "InstanceCount": int(resources.get("InstanceCount", 1)),
                "VolumeSizeInGB": int(resources.get("VolumeSizeInGB", 30)),
            },
            "StoppingCondition": definition.get("StoppingCondition")
            or {"MaxRuntimeInSeconds": DEFAULT_MAX_RUNTIME_SECONDS},
        }
        arn = str(self.sagemaker.create_training_job(**request)["TrainingJobArn"])
        now = datetime.now(UTC)
        _patch_job(
            self.backend,
            "training_jobs",
            job_name,
            training_job_status="InProgress",
            secondary_status="Training",
            tuning_job_arn=tuning_arn,
            # moto swaps in a canned metric definition; restore the real ones.
            algorithm_specification=dict(definition["AlgorithmSpecification"]),
            training_start_time=now,
            training_end_time=None,
            final_metric_data_list=[],
            model_artifacts=None,
        )
        return arn

    def patch_training(
        self,
        job_name: str,
        status: str,
        started: datetime,
        *,
        reason: str | None = None,
        metrics: Mapping[str, float] | None = None,
        model_uri: str | None = None,
    ) -> None:
        now = datetime.now(UTC)
        _patch_job(
            self.backend,
            "training_jobs",
            job_name,
            training_job_status=status,
            secondary_status=status,
            failure_reason=reason,
            last_modified_time=now,
            training_end_time=now,
            training_time_in_seconds=max(1, int((now - started).total_seconds())),
            final_metric_data_list=[
                {"MetricName": metric, "Value": value, "Timestamp": now}
                for metric, value in (metrics or {}).items()
            ],
            model_artifacts={"S3ModelArtifacts": model_uri} if model_uri else None,
        )
