"""The local SageMaker executor wired to the emulator's SageMaker: pipeline executions and the
processing jobs callers create.

The executor (``emulator/sagemaker_executor/``) and the service extensions (``emulator/aws/``)
do not import each other; this is where they meet. The executor is given the emulator's job
records (moto's job objects get the state the executor reports) and its role sessions (the
pipeline's and the jobs' roles, assumed as SageMaker assumes them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emulator.aws import iam
from emulator.aws.sagemaker.jobs import EmulatorJobRecords
from emulator.sagemaker_executor import LocalPipelineExecutor
from emulator.sagemaker_executor.processing_jobs import LocalProcessingJobs


def local_pipeline_executor(
    workdir: Path, *, endpoint_url: str | None = None, **options: Any
) -> LocalPipelineExecutor:
    """An executor whose jobs are the emulator's: give it to ``sagemaker.set_pipeline_runner``.

    ``endpoint_url`` is the emulator's (``None``: in-process, under ``moto.mock_aws``);
    ``options`` are the executor's own (``python``, ``max_workers``, ``on_event``...).
    """
    return LocalPipelineExecutor(
        workdir,
        records=EmulatorJobRecords,
        role_credentials=iam.service_role_credentials,
        endpoint_url=endpoint_url,
        **options,
    )


def local_processing_jobs(
    workdir: Path, *, endpoint_url: str | None = None, **options: Any
) -> LocalProcessingJobs:
    """A runner of the processing jobs callers create (a state machine's CreateProcessingJob):
    give it to ``sagemaker.set_processing_job_runner``. Arguments as for the pipeline executor."""
    return LocalProcessingJobs(
        workdir,
        records=EmulatorJobRecords,
        role_credentials=iam.service_role_credentials,
        endpoint_url=endpoint_url,
        **options,
    )
