"""The container failure message: how a script tells SageMaker (and the machine) why it failed.

SageMaker returns the first 1 KB of a processing container's ``/opt/ml/output/message`` as the
job's ``ExitMessage`` (https://docs.aws.amazon.com/sagemaker/latest/dg/byoc-metadata.html), and the
first 1,024 characters of a training container's ``/opt/ml/output/failure`` as its
``FailureReason`` (https://docs.aws.amazon.com/sagemaker/latest/dg/
your-algorithms-training-algo-output.html). A data error starts with ``DATA_ERROR_MARKER``; the
training machine maps such a message to ``DataValidationError`` and shows it first.

Locally the emulator runs the scripts as processes, not in a container: it sets
``FAILURE_FILE_ENV`` to the file that stands in for the container's, and the scripts honour it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: Prefix of every data error's message (a refusal of the user's data, not a bug).
DATA_ERROR_MARKER = "DataValidationError: "
#: The environment variable the local emulator sets to redirect the failure file.
FAILURE_FILE_ENV = "SM_FAILURE_FILE"
#: A processing container's message file, and a training container's failure file.
PROCESSING_MESSAGE_FILE = "/opt/ml/output/message"
TRAINING_FAILURE_FILE = "/opt/ml/output/failure"
#: A script that refuses its input exits with this code (anything else non-zero is a crash).
VALIDATION_ERROR_EXIT_CODE = 2
#: What SageMaker keeps of the file (botocore: ExitMessage and FailureReason have max 1024).
MESSAGE_MAX_CHARS = 1024


def data_error_message(detail: object) -> str:
    """The message of a data error: the marker, then what is wrong, where, and what to do."""
    return f"{DATA_ERROR_MARKER}{detail}"


def is_data_error(message: str | None) -> bool:
    return bool(message) and str(message).startswith(DATA_ERROR_MARKER)


def write_failure_reason(message: str, default_file: str = PROCESSING_MESSAGE_FILE) -> Path | None:
    """Record ``message`` where SageMaker reads it; return the file written (None outside a job).

    ``$SM_FAILURE_FILE`` wins; else ``default_file``, but only when its directory exists (inside a
    SageMaker container), so running a script by hand writes nothing.
    """
    configured = os.environ.get(FAILURE_FILE_ENV)
    path = Path(configured) if configured else Path(default_file)
    if not configured and not path.parent.is_dir():
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(message, encoding="utf-8")
    except OSError as error:
        print(f"could not write failure reason to {path}: {error}", file=sys.stderr)
        return None
    return path
