"""The emulator's job records: jobs created through the SageMaker API, then given their real
state on moto's objects (moto creates every job already ``Completed``).

It touches moto's internals (the attributes of its job objects), so it lives here; the local
pipeline executor (``emulator/sagemaker_executor/``) is given it as its ``JobRecords``
(``ports.py``) by ``emulator/runner.py``, and neither package imports the other.
``Describe*Job`` field names map to moto's attributes by moto's own convention
(``TrainingJobStatus`` -> ``training_job_status``), except where moto keeps the API's name
(``OverallBestTrainingJob``, moto/sagemaker/models.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from emulator.aws.sagemaker import processing
from emulator.aws.sagemaker.state import moto_backend

#: kind -> (the client's create method, its ARN field, moto's collection on the backend)
_KINDS: Mapping[str, tuple[str, str, str]] = {
    "ProcessingJob": ("create_processing_job", "ProcessingJobArn", "processing_jobs"),
    "TrainingJob": ("create_training_job", "TrainingJobArn", "training_jobs"),
    "HyperParameterTuningJob": (
        "create_hyper_parameter_tuning_job",
        "HyperParameterTuningJobArn",
        "hyper_parameter_tuning_jobs",
    ),
}
_MOTO_KEEPS_API_NAME = frozenset({"OverallBestTrainingJob"})


def moto_attribute(field: str) -> str:
    """``TrainingTimeInSeconds`` -> ``training_time_in_seconds`` (moto's attribute names)."""
    if field in _MOTO_KEEPS_API_NAME:
        return field
    return re.sub(r"(?<!^)(?=[A-Z])", "_", field).lower()


class EmulatorJobRecords:
    """Jobs on the emulator in ``account``/``region``, created with ``sagemaker`` (a client)."""

    def __init__(self, sagemaker: Any, account: str, region: str) -> None:
        self.sagemaker = sagemaker
        self.backend = moto_backend(account, region)

    def create(self, kind: str, request: Mapping[str, Any], state: Mapping[str, Any]) -> str:
        method, arn_field, _ = _KINDS[kind]
        # The executor runs the job itself: it is not handed to the processing job runner.
        with processing.claimed(str(request[f"{kind}Name"])):
            arn = str(getattr(self.sagemaker, method)(**request)[arn_field])
        self.update(kind, str(request[f"{kind}Name"]), state)
        return arn

    def update(self, kind: str, name: str, state: Mapping[str, Any]) -> None:
        if self.backend is None:
            return
        job = getattr(self.backend, _KINDS[kind][2], {}).get(name)
        if job is None:
            return
        for field, value in state.items():
            setattr(job, moto_attribute(field), value)
