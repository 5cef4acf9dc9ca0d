"""The product's container scripts honour the emulator's container-runtime convention.

In a container a script writes its failure to ``/opt/ml/output/message`` (processing) or
``/opt/ml/output/failure`` (training); the emulator runs it on this machine and names that file's
local path in one environment variable (``emulator/containers/runtime.py``). Each script reads
that variable, falling back to the container's path, so it runs the same in both places.
"""

from __future__ import annotations

from emulator.containers import runtime
from ml import evaluate, prepare, train


def test_the_scripts_failure_file_variable_is_the_emulators() -> None:
    assert {prepare.FAILURE_FILE_ENV, evaluate.FAILURE_FILE_ENV, train.FAILURE_FILE_ENV} == {
        runtime.FAILURE_FILE_ENV
    }


def test_without_it_the_scripts_write_where_sagemaker_reads() -> None:
    assert prepare.DEFAULT_FAILURE_FILE == evaluate.DEFAULT_FAILURE_FILE == runtime.MESSAGE_FILE
    assert train.DEFAULT_FAILURE_FILE == runtime.FAILURE_FILE
