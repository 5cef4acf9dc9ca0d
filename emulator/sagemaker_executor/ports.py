"""What the executor is given: the interfaces through which it sees a SageMaker service.

The executor runs pipelines for whichever SageMaker hands it an execution; it imports no part
of the emulator's service extensions. The composition (``emulator/runner.py``) gives it the
emulator's implementations: the emulator's pipeline execution (``PipelineExecution``), its job
records (``JobRecords``, made per client by a ``RecordsFactory``) and the role sessions SageMaker
acts with (``RoleCredentials``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol

JobKind = Literal["ProcessingJob", "TrainingJob", "HyperParameterTuningJob"]


class JobRecords(Protocol):
    """A SageMaker as the job runners see it: one interface for a job's life.

    ``create`` sends the ``Create<kind>`` request (so the API validates it and the job exists)
    and gives the new job ``state``; ``update`` gives it more. State fields are named as
    ``Describe<kind>`` answers them (``TrainingJobStatus``, ``FinalMetricDataList``...).
    """

    def create(self, kind: JobKind, request: Mapping[str, Any], state: Mapping[str, Any]) -> str:
        """Create the job; return its ARN."""
        ...

    def update(self, kind: JobKind, name: str, state: Mapping[str, Any]) -> None:
        """Record the job's new state (status, times, metrics, outcome)."""
        ...


#: ``(sagemaker client, account, region)`` -> the job records of the jobs that client creates.
RecordsFactory = Callable[[Any, str, str], JobRecords]

#: ``(service principal, role ARN, session name, region)`` -> a session of the role as that
#: service assumes it (``aws_access_key_id``, ``aws_secret_access_key``, ``aws_session_token``),
#: or ``None`` when the role does not exist or does not trust the service.
RoleCredentials = Callable[[str, str, str, str], "dict[str, str] | None"]


class PipelineExecution(Protocol):
    """One started pipeline execution, as the service hands it to its runner."""

    @property
    def pipeline_name(self) -> str: ...

    @property
    def arn(self) -> str: ...

    @property
    def definition(self) -> str: ...

    @property
    def parameters(self) -> dict[str, str]: ...

    @property
    def role_arn(self) -> str:
        """The pipeline's RoleArn: the execution's own calls are made as this role."""
        ...

    @property
    def execution_id(self) -> str: ...

    @property
    def stop_requested(self) -> bool: ...

    def set_status(self, status: str, failure_reason: str | None = None) -> None: ...

    def set_step(
        self,
        name: str,
        status: str,
        *,
        step_type: str = "Processing",
        failure_reason: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Add or update a step as ``ListPipelineExecutionSteps`` reports it."""
        ...
