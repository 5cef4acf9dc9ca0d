"""Processing jobs a caller created (CreateProcessingJob, outside any pipeline), run locally.

Given to a SageMaker as its processing job runner (``emulator/runner.py`` gives it to the
emulator's), it receives each such job, already recorded ``InProgress``, and runs it in a
background thread with the same ``ProcessingJobRunner`` a pipeline's Processing step uses::

    the job's RoleArn assumed as SageMaker assumes it ─► inputs from S3 as that role
    ─► the script as a local process (container paths under <workdir>/<job>/opt/ml)
    ─► outputs to S3 ─► Completed | Failed (FailureReason, ExitMessage) | Stopped

A role SageMaker cannot assume fails the job with the message CreateProcessingJob answers for
it on AWS. Nothing here knows moto: the job's life is reported through ``JobRecords``.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import boto3

from emulator.sagemaker_executor.definition import StepFailure, StepStopped
from emulator.sagemaker_executor.jobs import ProcessingJobRunner, S3Transfer
from emulator.sagemaker_executor.pipeline import CLIENT_CONFIG, SAGEMAKER_PRINCIPAL
from emulator.sagemaker_executor.ports import JobKind, JobRecords, RecordsFactory, RoleCredentials

logger = logging.getLogger(__name__)


class ProcessingJob(Protocol):
    """One created processing job, as the service hands it to its runner."""

    @property
    def name(self) -> str: ...

    @property
    def arn(self) -> str: ...

    @property
    def request(self) -> dict[str, Any]:
        """The CreateProcessingJob request as the caller sent it."""
        ...

    @property
    def account(self) -> str: ...

    @property
    def region(self) -> str: ...

    @property
    def stop_requested(self) -> bool: ...


@dataclass
class _Created:
    """Job records for a job the caller already created: ``create`` only records its state."""

    records: JobRecords
    arn: str

    def create(self, kind: JobKind, request: Mapping[str, Any], state: Mapping[str, Any]) -> str:
        self.records.update(kind, str(request[f"{kind}Name"]), state)
        return self.arn

    def update(self, kind: JobKind, name: str, state: Mapping[str, Any]) -> None:
        self.records.update(kind, name, state)


class LocalProcessingJobs:
    """A processing job runner: ``records`` makes job records, ``role_credentials`` the role
    sessions SageMaker acts with; ``workdir`` holds one directory per job; ``endpoint_url`` is
    the emulator (``None``: boto3's default, which ``moto.mock_aws`` intercepts in-process)."""

    def __init__(
        self,
        workdir: Path,
        *,
        records: RecordsFactory,
        role_credentials: RoleCredentials,
        endpoint_url: str | None = None,
        python: str = sys.executable,
    ) -> None:
        self.workdir = Path(workdir)
        self.records = records
        self.role_credentials = role_credentials
        self.endpoint_url = endpoint_url
        self.python = python
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def __call__(self, job: ProcessingJob) -> None:
        """Run ``job`` in the background and return at once (we are inside the request)."""
        thread = threading.Thread(
            target=self._run, args=(job,), name=f"processing-{job.name}", daemon=True
        )
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def join(self, timeout: float) -> bool:
        """Wait until every started job has ended; False if ``timeout`` ran out."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)

    def client(self, job: ProcessingJob, service: str, creds: Mapping[str, str] | None) -> Any:
        return boto3.session.Session(region_name=job.region).client(
            service,  # type: ignore[call-overload]
            region_name=job.region,
            endpoint_url=self.endpoint_url,
            config=CLIENT_CONFIG,
            **dict(creds or {}),
        )

    def _run(self, job: ProcessingJob) -> None:
        records = self.records(self.client(job, "sagemaker", None), job.account, job.region)
        try:
            self.run(job, records)
        except (StepFailure, StepStopped):
            pass  # the runner recorded the job's end
        except BaseException as error:  # never leave a job InProgress forever
            logger.exception("processing job %s crashed", job.name)
            records.update(
                "ProcessingJob",
                job.name,
                {
                    "ProcessingJobStatus": "Failed",
                    "FailureReason": f"InternalServerError: {type(error).__name__}: {error}"[:1024],
                },
            )

    def run(self, job: ProcessingJob, records: JobRecords) -> None:
        """Run ``job`` as its RoleArn; its end goes to ``records``."""
        role_arn = str(job.request.get("RoleArn", ""))
        creds = self.role_credentials(SAGEMAKER_PRINCIPAL, role_arn, "SageMaker", job.region)
        if creds is None:
            records.update(
                "ProcessingJob",
                job.name,
                {
                    "ProcessingJobStatus": "Failed",
                    "FailureReason": f"ValidationException: Could not assume role {role_arn}. "
                    f"Please ensure that the role exists and allows principal "
                    f"'{SAGEMAKER_PRINCIPAL}' to assume the role.",
                },
            )
            return
        runner = ProcessingJobRunner(
            _Created(records, job.arn),
            S3Transfer(self.client(job, "s3", creds)),
            self.python,
            lambda: job.stop_requested,
        )
        runner.run(job.name, job.request, self.workdir / job.name)
