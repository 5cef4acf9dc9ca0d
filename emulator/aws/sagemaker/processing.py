"""Processing jobs created through the API (not by a pipeline), handed to a *processing job runner*.

moto records every job ``Completed`` at once and runs nothing. On AWS a processing job a caller
creates with CreateProcessingJob runs its container; its status goes ``InProgress``, then
``Completed``, ``Failed`` or ``Stopped`` ("ProcessingJobStatus", DescribeProcessingJob API
reference). With a runner set (``set_processing_job_runner``; ``emulator/runner.py`` gives the
local one), each such job is recorded ``InProgress`` and handed over as a ``ProcessingJobRun``;
the runner gives it its end through the job records (``jobs.py``). The jobs a pipeline's steps
create are run by the pipeline executor itself: it claims their names (``claimed``) so they are
not handed over twice. Without a runner, moto's default stands (the job is ``Completed`` at once).

Tested in ``emulator/tests/test_processing_jobs.py``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.sagemaker.responses import SageMakerResponse

#: The statuses a stop request leaves (StopProcessingJob: Stopping, then Stopped).
STOPPING = frozenset({"Stopping", "Stopped"})


@dataclass
class ProcessingJobRun:
    """One created processing job as a runner sees it: its request as the caller sent it."""

    name: str
    arn: str
    request: dict[str, Any]
    account: str
    region: str
    job: Any = field(repr=False)

    @property
    def stop_requested(self) -> bool:
        return str(self.job.processing_job_status) in STOPPING


ProcessingJobRunner = Callable[[ProcessingJobRun], None]


@dataclass
class _State:
    """What this module keeps between requests; ``reset()`` starts it afresh."""

    runner: ProcessingJobRunner | None = None
    #: Names of jobs a pipeline executor is creating (it runs them itself).
    claimed: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


_STATE = _State()


def set_processing_job_runner(runner: ProcessingJobRunner | None) -> None:
    """Decide what created processing jobs do (``None``: moto's default, Completed at once)."""
    _STATE.runner = runner


@contextmanager
def claimed(name: str) -> Iterator[None]:
    """While the pipeline executor creates job ``name``, it is not handed to the runner."""
    with _STATE.lock:
        _STATE.claimed.add(name)
    try:
        yield
    finally:
        with _STATE.lock:
            _STATE.claimed.discard(name)


def _is_claimed(name: str) -> bool:
    with _STATE.lock:
        return name in _STATE.claimed


def _request(response: Any) -> dict[str, Any]:
    """The request as the caller sent it (SageMaker speaks JSON; moto's parse is the fallback)."""
    try:
        parsed = json.loads(response.body or "{}")
    except (TypeError, ValueError):
        parsed = None
    return dict(parsed) if isinstance(parsed, dict) else dict(response._get_params())


def _create_processing_job(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def create(self: Any) -> Any:
        request = _request(self)
        result = original(self)
        name = str(request.get("ProcessingJobName", ""))
        runner = _STATE.runner
        if runner is None or _is_claimed(name):
            return result
        job = self.sagemaker_backend.processing_jobs[name]
        job.processing_job_status = "InProgress"
        job.processing_end_time = None
        runner(
            ProcessingJobRun(
                name=name,
                arn=str(job.arn),
                request=request,
                account=self.current_account,
                region=self.region,
                job=job,
            )
        )
        return result

    return create


def install() -> None:
    """CreateProcessingJob hands the job to the runner, when there is one."""
    SageMakerResponse.create_processing_job = _create_processing_job(  # type: ignore[method-assign,assignment]
        SageMakerResponse.create_processing_job
    )


def reset() -> None:
    """No processing job runner: jobs are Completed at once again."""
    _STATE.runner = None
    with _STATE.lock:
        _STATE.claimed.clear()
