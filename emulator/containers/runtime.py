"""The container runtime's conventions, as the emulator runs a job's script on this machine.

In a SageMaker container a script reads and writes under ``/opt/ml``. Here each job has its own
directory, and every ``/opt/ml/...`` path (in the command line, an input's or output's
``LocalPath``) is mapped under it (``map_container_path``). The script is told where its message
or failure file is through ``FAILURE_FILE_ENV``: the one variable the emulator adds to what a
container sees. It is the emulator's convention, not SageMaker's: a script that honours it
(falling back to the container path when it is unset) runs the same in both.
"""

from __future__ import annotations

from pathlib import Path

CONTAINER_ROOT = "/opt/ml"
# A processing container's message file: "the ExitMessage field in DescribeProcessingJob contains
# the first 1 KB of this file", after any terminal status; a file that is not UTF-8 fails the job
# with a ClientError (https://docs.aws.amazon.com/sagemaker/latest/dg/byoc-metadata.html).
MESSAGE_FILE = "/opt/ml/output/message"
# A training container's failure file: "SageMaker returns the first 1024 characters from this
# file as FailureReason" (https://docs.aws.amazon.com/sagemaker/latest/dg/
# your-algorithms-training-algo-output.html).
FAILURE_FILE = "/opt/ml/output/failure"
#: The job's message file (processing) or failure file (training), as a path on this machine.
FAILURE_FILE_ENV = "SM_FAILURE_FILE"


def map_container_path(text: str, root: Path) -> str:
    """``/opt/ml/x`` (alone or after ``--opt=``) ─► ``<root>/x``; other text is unchanged."""
    prefix, sep, rest = text.rpartition("=") if "=" in text else ("", "", text)
    if rest == CONTAINER_ROOT or rest.startswith(CONTAINER_ROOT + "/"):
        rest = str(root / rest[len(CONTAINER_ROOT) :].lstrip("/"))
    return f"{prefix}{sep}{rest}"
