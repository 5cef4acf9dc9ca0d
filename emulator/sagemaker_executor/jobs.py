"""Job runners of the local SageMaker executor: processing and training jobs as local processes.

The sagemaker SDK's local mode hands each job to a local client (``LocalSagemakerClient``) that
runs the container; here the job's script runs as a subprocess of this machine's Python, with
the container's paths mapped under the job's directory::

    CreateXJob request ─► JobRecords.create (the emulator's SageMaker, status InProgress)
                      ─► S3 inputs ─► <job dir>/opt/ml/... ─► the script ─► S3 outputs
                      ─► JobRecords.update (Completed | Failed | Stopped, metrics, artifacts)

The runners report a job's life only through ``JobRecords`` (``ports.py``; fields named as
``Describe*Job`` answers them); the emulator gives its implementation
(``emulator/aws/sagemaker/jobs.py``), so nothing here knows moto. S3 is reached through an
``S3Transfer`` the caller builds for the job's role.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import tarfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from emulator.containers import interpreters
from emulator.containers.runtime import (
    FAILURE_FILE,
    FAILURE_FILE_ENV,
    MESSAGE_FILE,
    map_container_path,
)
from emulator.sagemaker_executor import tuning
from emulator.sagemaker_executor.definition import DefinitionError, StepFailure, StepStopped
from emulator.sagemaker_executor.ports import JobRecords

# botocore's sagemaker service-2.json: ExitMessage and FailureReason (jobs, pipeline steps) have
# "max": 1024; PipelineExecutionFailureReason (DescribePipelineExecution) has "max": 1300.
EXIT_MESSAGE_MAX = 1024
FAILURE_REASON_MAX = 1024
PIPELINE_FAILURE_REASON_MAX = 1300
# What a failed processing job's FailureReason says. AWS documents ExitMessage, not FailureReason,
# as the place of the container's own words (byoc-metadata.html), so the stricter reading is kept:
# the script's message is NOT in FailureReason, and a consumer must read ExitMessage.
PROCESSING_ALGORITHM_ERROR = "AlgorithmError: See job logs for more information"
PYTHON_COMMANDS = frozenset({"python", "python3"})
# Environment variables a job must not inherit: scripts ship alone (no repo on the path) and
# have no business with the caller's AWS credentials.
_SCRUBBED_ENV_PREFIXES = ("AWS_", "PYTHONPATH", "VIRTUAL_ENV")
DEFAULT_MAX_RUNTIME_SECONDS = 86400
POLL_SECONDS = 0.1


def job_python(image_uri: str | None, default: str) -> str:
    """The interpreter standing in for ``image_uri`` (emulator/containers/interpreters.py); a
    missing one fails the step before its job is created, saying how to create it."""
    try:
        return interpreters.python_for_image(image_uri, default)
    except interpreters.MissingInterpreter as error:
        raise StepFailure(f"ClientError: the emulator cannot run {image_uri}: {error}") from None


def processing_command(
    entrypoint: list[str], arguments: list[str], root: Path, python: str
) -> list[str]:
    """The local command for a processing container's entrypoint and arguments, with every
    ``/opt/ml`` path mapped under ``root``. Only the paths the command names are mapped: a
    script's own defaults (paths it does not receive) would reach outside the job's directory,
    so a definition must pass every container path its script uses as ContainerArguments."""
    if not entrypoint:
        raise DefinitionError("ValidationError: AppSpecification has no ContainerEntrypoint")
    program = [python if entrypoint[0] in PYTHON_COMMANDS else entrypoint[0], *entrypoint[1:]]
    return [map_container_path(part, root) for part in (*program, *arguments)]


def truncate(text: str, limit: int) -> str:
    """``text`` cut to the service model's ``max`` length for the field."""
    return text[:limit]


def failure_reason(returncode: int, stderr: str, failure_file: Path) -> str:
    """A failed training job's FailureReason: the failure file, else the last ``ERROR:`` line.

    Capped at FailureReason's 1024 characters (the documented "first 1024 characters").
    """
    if failure_file.is_file():
        message = failure_file.read_text(encoding="utf-8", errors="replace").strip()
        if message:
            return truncate(f"AlgorithmError: {message}", FAILURE_REASON_MAX)
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    if errors:
        reason = f"AlgorithmError: {errors[-1].removeprefix('ERROR:').strip()}"
    elif lines:
        reason = f"AlgorithmError: {lines[-1]} (exit code {returncode})"
    else:
        reason = f"AlgorithmError: exit code {returncode}"
    return truncate(reason, FAILURE_REASON_MAX)


def exit_message(message_file: Path) -> str | None:
    """A processing job's ExitMessage: the first 1 KB of the message file, None if absent.

    Raises StepFailure (ClientError) when the file is not UTF-8, as the documentation says.
    """
    if not message_file.is_file():
        return None
    data = message_file.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise StepFailure(
            f"ClientError: {MESSAGE_FILE} of the processing container is not UTF-8 encoded"
        ) from None
    # 1 KB of bytes, without splitting a character at the cut.
    return data[:EXIT_MESSAGE_MAX].decode("utf-8", errors="ignore") or None


def decode_hyperparameter(value: str) -> str:
    """The SDK JSON-encodes string hyperparameters (``"\\"train.py\\""``); undo that."""
    try:
        decoded = json.loads(value)
    except (TypeError, ValueError):
        return value
    return decoded if isinstance(decoded, str) else value


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` ─► ``("bucket", "key")``."""
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


def job_env(extra: Mapping[str, str]) -> dict[str, str]:
    """A job's environment: ours without AWS credentials or our paths, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_ENV_PREFIXES)}
    env.update({"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(extra)
    return env


def slug(text: str, limit: int) -> str:
    """``text`` as a job-name fragment: alphanumerics and dashes, at most ``limit`` long."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:limit].strip("-") or "step"


def client_error(error: ClientError) -> StepFailure:
    """A job's refused S3 call as the job's FailureReason: ``ClientError: <S3's error>``.

    SageMaker blames the customer (``ClientError``, not ``InternalServerError``) when the job's
    role cannot read its inputs or write its outputs; S3's own code (``AccessDenied``) is kept
    so the reason says which call the role's policy refused.
    """
    return StepFailure(f"ClientError: {error}")


def parse_manifest(entries: Any, uri: str) -> tuple[str, list[str]]:
    """A manifest's ``(prefix, [relative keys])``; a malformed manifest is the job's ClientError.

    Stricter reading where the documentation is silent: the prefix object comes first and at
    least one relative key follows (an empty input is refused, like an empty S3Prefix).
    """
    if (
        not isinstance(entries, list)
        or len(entries) < 2
        or not isinstance(entries[0], dict)
        or not isinstance(entries[0].get("prefix"), str)
        or not all(isinstance(entry, str) and entry for entry in entries[1:])
    ):
        raise StepFailure(
            f"ClientError: manifest {uri} must be a JSON list: "
            '[{"prefix": "s3://bucket/prefix/"}, "relative/key", ...]'
        )
    return str(entries[0]["prefix"]), [str(entry) for entry in entries[1:]]


#: ProcessingS3Input.S3DataType's valid values (botocore's sagemaker model,
#: ProcessingS3DataType): how S3Uri is read.
S3_DATA_TYPES = ("S3Prefix", "ManifestFile")


class S3Transfer:
    """A job's S3 reads and writes, with the client (hence the credentials) it is given."""

    def __init__(self, client: Any) -> None:
        # Typed as Any: requests are built from the definition's JSON, not typed dicts.
        self.s3: Any = client

    def download(self, uri: str, destination: Path) -> list[Path]:
        """Fetch every object whose key starts with ``uri``'s key (S3Prefix) into ``destination``.

        A sibling that merely shares the prefix (``a.csv.1.csv`` for ``a.csv``) is read too:
        "SageMaker uses all objects with the specified key name prefix"
        (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingS3Input.html).
        """
        bucket, prefix = split_s3_uri(uri)
        destination.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        try:
            pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
        except self.s3.exceptions.NoSuchBucket:
            keys = []
        except ClientError as error:
            raise client_error(error) from None
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
            try:
                body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            except ClientError as error:
                raise client_error(error) from None
            target.write_bytes(body)
            written.append(target)
        if not written:
            raise StepFailure(
                f'ClientError: No S3 objects found under S3 URL "{uri}" given in input data '
                "source. Please ensure that the bucket exists and that objects exist under "
                "that S3 prefix."
            )
        return written

    def download_manifest(self, uri: str, destination: Path) -> list[Path]:
        """Fetch exactly the objects the manifest at ``uri`` lists, each by its full key.

        Manifest format (S3DataSource, ``ManifestFile``):
        ``[{"prefix": "s3://bucket/some/prefix/"}, "relative/key-1", ...]``; each object is
        ``prefix + relative`` and lands at ``destination/relative``. No listing: a key that
        merely starts like a listed one is never read.
        https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_S3DataSource.html
        """
        try:
            entries = self.read_json(uri)
        except ClientError as error:
            raise client_error(error) from None
        except ValueError:
            raise StepFailure(f"ClientError: manifest {uri} is not JSON") from None
        prefix, relatives = parse_manifest(entries, uri)
        bucket, key_prefix = split_s3_uri(prefix)
        destination.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        for relative in relatives:
            target = (destination / relative).resolve()
            if destination.resolve() not in target.parents:
                raise StepFailure(
                    f"ClientError: manifest entry {relative!r} escapes its local path"
                )
            try:
                body = self.s3.get_object(Bucket=bucket, Key=key_prefix + relative)["Body"].read()
            except ClientError as error:
                raise client_error(error) from None
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
            written.append(target)
        return written

    def upload_directory(self, source: Path, uri: str) -> list[str]:
        """Put every file under ``source`` below the prefix ``uri``; return their URIs."""
        bucket, prefix = split_s3_uri(uri)
        uploaded = []
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            key = "/".join(filter(None, [prefix.rstrip("/"), str(path.relative_to(source))]))
            try:
                self.s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
            except ClientError as error:
                raise client_error(error) from None
            uploaded.append(f"s3://{bucket}/{key}")
        return uploaded

    def put(self, uri: str, body: bytes) -> None:
        bucket, key = split_s3_uri(uri)
        try:
            self.s3.put_object(Bucket=bucket, Key=key, Body=body)
        except ClientError as error:
            raise client_error(error) from None

    def read_json(self, uri: str) -> Any:
        bucket, key = split_s3_uri(uri)
        return json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def run_process(
    command: list[str],
    cwd: Path,
    env: Mapping[str, str],
    log_dir: Path,
    timeout: float,
    should_stop: Callable[[], bool],
) -> tuple[int, str, str]:
    """Run ``command``, logs to ``log_dir``; stop on timeout or when ``should_stop()``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / "stdout.log", log_dir / "stderr.log"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(
            command, cwd=cwd, env=dict(env), stdout=out, stderr=err, stdin=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        stopped = timed_out = False
        while process.poll() is None:
            if should_stop():
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


@dataclass
class ProcessingJobRunner:
    """Runs one processing job: ``run`` takes the CreateProcessingJob request, resolved."""

    records: JobRecords
    storage: S3Transfer
    python: str
    should_stop: Callable[[], bool]
    job_arn: str | None = None  # once created: a failed step still names its job

    def run(self, job_name: str, args: Mapping[str, Any], job_dir: Path) -> tuple[str, Path]:
        """Run the job in ``job_dir``; return its ARN and its local ``/opt/ml`` root."""
        root = job_dir / "opt" / "ml"
        app = args.get("AppSpecification") or {}
        container_args = [str(a) for a in app.get("ContainerArguments") or []]
        python = job_python(app.get("ImageUri"), self.python)
        job_arn = self.job_arn = self.create(job_name, args, app, container_args)

        try:
            self.download_inputs(args, root)
        except StepFailure as error:
            if not isinstance(error, DefinitionError):
                self.finish(job_name, "Failed", str(error))
            raise
        outputs = (args.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        for item in outputs:
            Path(map_container_path(item["S3Output"]["LocalPath"], root)).mkdir(
                parents=True, exist_ok=True
            )
        message_file = Path(map_container_path(MESSAGE_FILE, root))
        message_file.parent.mkdir(parents=True, exist_ok=True)
        command = processing_command(
            [str(p) for p in app.get("ContainerEntrypoint") or []],
            container_args,
            root,
            python,
        )
        env = job_env(
            {
                **{str(k): str(v) for k, v in (args.get("Environment") or {}).items()},
                FAILURE_FILE_ENV: str(message_file),
            }
        )
        runtime = (args.get("StoppingCondition") or {}).get(
            "MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME_SECONDS
        )
        try:
            code, _, _ = run_process(
                command, job_dir, env, job_dir, float(runtime), self.should_stop
            )
        except StepStopped:
            self.finish(job_name, "Stopped", message=self.read_message(job_name, message_file))
            raise
        except StepFailure as error:
            self.finish(job_name, "Failed", str(error), self.read_message(job_name, message_file))
            raise
        message = self.read_message(job_name, message_file)
        if code != 0:
            self.finish(job_name, "Failed", PROCESSING_ALGORITHM_ERROR, message)
            raise StepFailure(PROCESSING_ALGORITHM_ERROR)

        try:
            for item in outputs:
                local = Path(map_container_path(item["S3Output"]["LocalPath"], root))
                self.storage.upload_directory(local, str(item["S3Output"]["S3Uri"]))
        except StepFailure as error:
            self.finish(job_name, "Failed", str(error), message)
            raise
        self.finish(job_name, "Completed", message=message)
        return job_arn, root

    def read_message(self, job_name: str, message_file: Path) -> str | None:
        """The ExitMessage; a message file that is not UTF-8 fails the job (ClientError)."""
        try:
            return exit_message(message_file)
        except StepFailure as error:
            self.finish(job_name, "Failed", str(error))
            raise

    def download_inputs(self, args: Mapping[str, Any], root: Path) -> None:
        for item in args.get("ProcessingInputs") or []:
            s3_input = item.get("S3Input")
            if not s3_input:
                raise DefinitionError(
                    f"ValidationError: input {item.get('InputName')}: only S3Input is supported"
                )
            local = Path(map_container_path(s3_input["LocalPath"], root))
            # S3Prefix: every key that starts with S3Uri; ManifestFile: exactly the keys the
            # manifest lists (API_ProcessingS3Input.html). S3DataType is required.
            data_type = s3_input.get("S3DataType")
            if data_type == "ManifestFile":
                self.storage.download_manifest(str(s3_input["S3Uri"]), local)
            elif data_type == "S3Prefix":
                self.storage.download(str(s3_input["S3Uri"]), local)
            else:
                raise DefinitionError(
                    f"ValidationError: input {item.get('InputName')}: S3DataType "
                    f"{data_type!r} is not one of {', '.join(S3_DATA_TYPES)}"
                )

    def create(
        self,
        job_name: str,
        args: Mapping[str, Any],
        app: Mapping[str, Any],
        container_args: list[str],
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
        return self.records.create("ProcessingJob", request, self._state("InProgress"))

    def finish(
        self, job_name: str, status: str, reason: str | None = None, message: str | None = None
    ) -> None:
        self.records.update("ProcessingJob", job_name, self._state(status, reason, message))

    @staticmethod
    def _state(
        status: str, reason: str | None = None, message: str | None = None
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        times = (
            {"ProcessingStartTime": now, "ProcessingEndTime": None}
            if status == "InProgress"
            else {"ProcessingEndTime": now}
        )
        return {
            "ProcessingJobStatus": status,
            "FailureReason": None if reason is None else truncate(reason, FAILURE_REASON_MAX),
            "ExitMessage": message,
            "LastModifiedTime": now,
            **times,
        }


@dataclass(frozen=True)
class TrainingCode:
    """What every training job of a tuning job shares: script, channels, definition."""

    program: Path
    code_dir: Path
    channels: Mapping[str, Path]
    definition: Mapping[str, Any]  # the TrainingJobDefinition, resolved
    static: Mapping[str, str]  # StaticHyperParameters as sent (JSON-encoded strings)
    script_hyperparameters: Mapping[str, str]  # decoded, without the sagemaker_* ones
    metric_regexes: Mapping[str, str]
    output_path: str  # OutputDataConfig.S3OutputPath without the trailing slash
    runtime: float


@dataclass
class TrainingJobRunner:
    """Runs training jobs in script mode (the SageMaker training toolkit's environment)."""

    records: JobRecords
    storage: S3Transfer
    python: str
    should_stop: Callable[[], bool]

    def run(
        self,
        job_name: str,
        code: TrainingCode,
        params: Mapping[str, str],
        job_dir: Path,
        tuning_arn: str,
    ) -> dict[str, Any]:
        """Run one job with the tuned ``params``; return what the tuner needs to know.

        The answer holds ``status``, the job's name and ARN, and when Completed its ``metrics``
        (read from the log as the service reads it), ``model_uri`` and times; a job that did not
        complete has a ``failure_reason``.
        """
        root = job_dir / "opt" / "ml"
        model_dir, output_dir = root / "model", root / "output" / "data"
        failure_file = Path(map_container_path(FAILURE_FILE, root))
        for directory in (model_dir, output_dir, failure_file.parent):
            directory.mkdir(parents=True, exist_ok=True)
        hyperparameters = {**code.script_hyperparameters, **params}
        job_arn = self.create(job_name, tuning_arn, code, params)
        command = [self.python, str(code.program)]
        for key in sorted(hyperparameters):
            command += [f"--{key}", hyperparameters[key]]
        env = job_env(
            {
                **{f"SM_CHANNEL_{c.upper()}": str(p) for c, p in code.channels.items()},
                "SM_CHANNELS": json.dumps(sorted(code.channels)),
                "SM_MODEL_DIR": str(model_dir),
                "SM_OUTPUT_DATA_DIR": str(output_dir),
                "SM_OUTPUT_DIR": str(root / "output"),
                "SM_HPS": json.dumps(hyperparameters, sort_keys=True),
                "SM_CURRENT_HOST": "algo-1",
                "SM_HOSTS": json.dumps(["algo-1"]),
                "SM_NUM_CPUS": "1",
                "TRAINING_JOB_NAME": job_name,
                FAILURE_FILE_ENV: str(failure_file),
                "OMP_NUM_THREADS": "1",  # trials share the CPUs
            }
        )
        info: dict[str, Any] = {"training_job_name": job_name, "training_job_arn": job_arn}
        started = datetime.now(UTC)
        try:
            returncode, stdout, stderr = run_process(
                command, code.code_dir, env, job_dir, code.runtime, self.should_stop
            )
        except StepStopped:
            self.finish(job_name, "Stopped", started, reason="Stopped by request")
            info["status"] = "Stopped"
            return info
        except StepFailure as error:
            self.finish(job_name, "Failed", started, reason=str(error))
            info.update(status="Failed", failure_reason=str(error))
            return info
        if returncode != 0:
            reason = failure_reason(returncode, stderr, failure_file)
            self.finish(job_name, "Failed", started, reason=reason)
            info.update(status="Failed", failure_reason=reason)
            return info
        # The service reads the job's log as CloudWatch shows it (tabs as #011).
        metrics = tuning.read_metrics(code.metric_regexes, stdout + "\n" + stderr)
        model_uri = f"{code.output_path}/{job_name}/output/model.tar.gz"
        try:
            self.storage.put(model_uri, tar_directory(model_dir))
        except StepFailure as error:
            self.finish(job_name, "Failed", started, reason=str(error))
            info.update(status="Failed", failure_reason=str(error))
            return info
        self.finish(job_name, "Completed", started, metrics=metrics, model_uri=model_uri)
        info.update(
            status="Completed",
            metrics=metrics,
            model_uri=model_uri,
            started=started,
            ended=datetime.now(UTC),
        )
        return info

    def create(
        self,
        job_name: str,
        tuning_arn: str,
        code: TrainingCode,
        params: Mapping[str, str],
    ) -> str:
        definition = code.definition
        resources = (
            definition.get("HyperParameterTuningResourceConfig")
            or definition.get("ResourceConfig")
            or {}
        )
        request: dict[str, Any] = {
            "TrainingJobName": job_name,
            "HyperParameters": {**code.static, **params},
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
        state = {
            "TrainingJobStatus": "InProgress",
            "SecondaryStatus": "Training",
            "TuningJobArn": tuning_arn,
            # moto swaps in a canned metric definition; restore the real ones.
            "AlgorithmSpecification": dict(definition["AlgorithmSpecification"]),
            "TrainingStartTime": datetime.now(UTC),
            "TrainingEndTime": None,
            "FinalMetricDataList": [],
            "ModelArtifacts": None,
        }
        return self.records.create("TrainingJob", request, state)

    def finish(
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
        self.records.update(
            "TrainingJob",
            job_name,
            {
                "TrainingJobStatus": status,
                "SecondaryStatus": status,
                "FailureReason": None if reason is None else truncate(reason, FAILURE_REASON_MAX),
                "LastModifiedTime": now,
                "TrainingEndTime": now,
                "TrainingTimeInSeconds": max(1, int((now - started).total_seconds())),
                "FinalMetricDataList": [
                    {"MetricName": metric, "Value": value, "Timestamp": now}
                    for metric, value in (metrics or {}).items()
                ],
                "ModelArtifacts": {"S3ModelArtifacts": model_uri} if model_uri else None,
            },
        )
