"""The local SageMaker pipeline executor: one execution's driver (the SDK's
``LocalPipelineExecutor.execute``).

Given to a SageMaker as its pipeline runner (``emulator/runner.py`` gives it to the emulator's),
it receives every started execution and runs it in a background thread::

    definition ─► parameters, execution variables, steps in order        (definition.py)
               ─► for each step not skipped: Arguments resolved ─► STEP_EXECUTORS[Type]
                      (steps.py; a Condition step skips its untaken branch)
                      ─► job runners: scripts as local processes           (jobs.py)
                      ─► job state reported through JobRecords            (ports.py)
               ─► step status, FailureReason and metadata on the PipelineExecution
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.sagemaker_executor.definition import (
    Resolver,
    StepFailure,
    StepGraph,
    StepStopped,
    parameter_values,
)
from emulator.sagemaker_executor.jobs import (
    FAILURE_REASON_MAX,
    PIPELINE_FAILURE_REASON_MAX,
    S3Transfer,
    truncate,
)
from emulator.sagemaker_executor.ports import (
    PipelineExecution,
    RecordsFactory,
    RoleCredentials,
)
from emulator.sagemaker_executor.steps import StepContext, StepResult, executor_for

logger = logging.getLogger(__name__)

EventCallback = Callable[[dict[str, Any]], None]
CLIENT_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"})
SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"


class LocalPipelineExecutor:
    """A pipeline runner: called with each started execution (see ``ports.py``).

    ``records`` makes the job records of a SageMaker client and ``role_credentials`` the role
    sessions SageMaker acts with (``emulator/runner.py`` gives the emulator's);
    ``workdir`` holds one directory per execution (inputs, outputs, logs); ``endpoint_url`` is
    the emulator (``None``: boto3's default, which ``moto.mock_aws`` intercepts in-process);
    ``python`` runs the scripts; ``max_workers`` caps parallel training jobs (default: CPUs);
    ``on_event`` receives progress events (step started/finished, trial finished).
    """

    def __init__(
        self,
        workdir: Path,
        *,
        records: RecordsFactory,
        role_credentials: RoleCredentials,
        endpoint_url: str | None = None,
        python: str = sys.executable,
        max_workers: int | None = None,
        on_event: EventCallback | None = None,
        tuning_seed: int | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.records = records
        self.role_credentials = role_credentials
        self.endpoint_url = endpoint_url
        self.python = python
        self.max_workers = max(1, max_workers or os.cpu_count() or 1)
        self.on_event = on_event
        self.tuning_seed = tuning_seed
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def __call__(self, run: PipelineExecution) -> None:
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

    def _run(self, run: PipelineExecution) -> None:
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
    """One pipeline execution: its state, clients, and the loop over its steps."""

    def __init__(self, executor: LocalPipelineExecutor, run: PipelineExecution) -> None:
        self.executor = executor
        self.run_ = run
        # arn:aws:sagemaker:<region>:<account>:pipeline/<name>/execution/<id>
        parts = run.arn.split(":")
        self.region, self.account = parts[3], parts[4]
        self.session = boto3.session.Session(region_name=self.region)
        # The service's own clients (the account's root on the emulator): the tuning service
        # creates its training jobs with them. The execution's own calls (the steps' Create*Job,
        # Std:JsonGet's S3 reads) are made as the pipeline's role once ``run`` has assumed it;
        # jobs' S3 access goes through storage_for, as each job's role.
        self.service_records = executor.records(
            self.service_client(self.region, "sagemaker"), self.account, self.region
        )
        self.records = self.service_records
        self.storage = S3Transfer(self.service_client(self.region, "s3"))
        self.directory = executor.workdir / run.execution_id
        self.resolver: Resolver | None = None
        self.graph: StepGraph | None = None
        #: Steps that must never start: a Condition step's untaken branch and what waits for it.
        self.skipped: set[str] = set()
        self._role_storage: dict[str, S3Transfer] = {}

    def service_client(self, region: str, service: str) -> Any:
        return self.session.client(
            service,  # type: ignore[call-overload]
            region_name=region,
            endpoint_url=self.executor.endpoint_url,
            config=CLIENT_CONFIG,
        )

    def role_client(self, service: str, role_arn: str) -> Any:
        """A client signed with a session of ``role_arn``, which SageMaker must be able to
        assume (the role exists and trusts sagemaker.amazonaws.com for this account).

        AWS refuses such a role at CreatePipeline / Create*Job; the message is the one the API
        answers ("Could not assume role ...").
        """
        creds = self.executor.role_credentials(
            SAGEMAKER_PRINCIPAL, role_arn, "SageMaker", self.region
        )
        if creds is None:
            raise StepFailure(
                f"ValidationException: Could not assume role {role_arn}. Please ensure that "
                f"the role exists and allows principal '{SAGEMAKER_PRINCIPAL}' to assume "
                "the role."
            )
        return self.session.client(
            service,  # type: ignore[call-overload]
            region_name=self.region,
            endpoint_url=self.executor.endpoint_url,
            config=CLIENT_CONFIG,
            aws_access_key_id=creds["aws_access_key_id"],
            aws_secret_access_key=creds["aws_secret_access_key"],
            aws_session_token=creds["aws_session_token"],
        )

    def as_pipeline_role(self) -> None:
        """Make the execution's own calls as the pipeline's RoleArn, as SageMaker Pipelines
        does: each step's Create*Job is authorised against the role's policies, with
        ``iam:PassRole`` of the job's RoleArn (``iam:PassedToService`` sagemaker.amazonaws.com),
        and a missing permission fails the step with AccessDenied. SageMaker developer guide,
        "IAM Access Management" for Pipelines (the pipeline role needs sagemaker:Create*Job and
        iam:PassRole for the roles it passes):
        https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-access.html
        A pipeline always has a RoleArn (CreatePipeline requires it); one without is refused.
        """
        role_arn = self.run_.role_arn
        if not role_arn:
            raise StepFailure("ValidationException: the pipeline has no RoleArn")
        self.records = self.executor.records(
            self.role_client("sagemaker", role_arn), self.account, self.region
        )
        self.storage = S3Transfer(self.role_client("s3", role_arn))

    def storage_for(self, role_arn: str) -> S3Transfer:
        """A job's S3 access, as the job's role: its policy and the bucket's policy decide.

        SageMaker assumes the RoleArn passed to Create*Job and reads inputs and writes outputs
        with that session ("SageMaker AI Roles", "CreateTrainingJob" permissions:
        https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html). The emulator
        authorises requests signed with STS credentials (emulator/aws/iam/); the session
        is assumed as Step Functions tasks' are, by the same function.
        """
        if role_arn not in self._role_storage:
            self._role_storage[role_arn] = S3Transfer(self.role_client("s3", role_arn))
        return self._role_storage[role_arn]

    def event(self, kind: str, **fields: Any) -> None:
        self.executor.emit({"type": kind, "execution_id": self.run_.execution_id, **fields})

    def run(self) -> None:
        run = self.run_
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            self.as_pipeline_role()
            definition = json.loads(run.definition)
            self.graph = StepGraph.of(list(definition.get("Steps") or []))
            steps = self.graph.ordered()
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
                read_s3_json=self.storage.read_json,
            )
        except (ValueError, KeyError, StepFailure) as error:
            reason = str(error) if isinstance(error, StepFailure) else f"ValidationError: {error}"
            reason = truncate(reason, PIPELINE_FAILURE_REASON_MAX)
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
            if name in self.skipped:
                continue
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
                run.set_step(
                    name,
                    "Failed",
                    step_type=kind,
                    failure_reason=reason,
                    metadata=error.metadata if isinstance(error, StepFailure) else None,
                )
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
        """The step's FailureReason, within the field's 1024 characters (botocore's model)."""
        if isinstance(error, StepFailure):
            return truncate(str(error), FAILURE_REASON_MAX)
        if isinstance(error, ClientError):
            # A call the pipeline's role may not make (AccessDenied on Create*Job or
            # iam:PassRole), or one the service refused: the service's code and message.
            details = error.response.get("Error", {})
            return truncate(
                f"{details.get('Code', 'ClientError')}: {details.get('Message', error)}",
                FAILURE_REASON_MAX,
            )
        # An executor bug, not the script's: keep the traceback next to the job's logs.
        (self.directory / f"{step}.executor-error.log").write_text(
            traceback.format_exc(), encoding="utf-8"
        )
        return truncate(f"InternalError: {type(error).__name__}: {error}", FAILURE_REASON_MAX)

    def finish(self, status: str, reason: str | None = None) -> None:
        # DescribePipelineExecution's FailureReason holds at most 1300 characters.
        reason = None if reason is None else truncate(reason, PIPELINE_FAILURE_REASON_MAX)
        self.run_.set_status(status, reason)
        self.event("pipeline_finished", status=status, failure_reason=reason)

    def skip(self, names: Iterable[str]) -> None:
        """Never start ``names`` nor any step that waits for one of them."""
        assert self.graph is not None
        self.skipped |= self.graph.downstream(names)

    def execute_step(self, step: dict[str, Any]) -> StepResult:
        assert self.resolver is not None
        context = StepContext(
            execution_id=self.run_.execution_id,
            directory=self.directory,
            resolver=self.resolver,
            records=self.records,
            tuning_records=self.service_records,
            storage_for=self.storage_for,
            event=self.event,
            should_stop=lambda: self.run_.stop_requested,
            python=self.executor.python,
            max_workers=self.executor.max_workers,
            tuning_seed=self.executor.tuning_seed,
            skip=self.skip,
        )
        executor = executor_for(context, step)
        return executor.execute(self.resolver.resolve(executor.own_arguments()))
