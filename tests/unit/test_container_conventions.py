"""The product's container scripts honour the emulator's container-runtime convention.

In a container a script writes its failure to ``/opt/ml/output/message`` (processing) or
``/opt/ml/output/failure`` (training); the emulator runs it on this machine and names that file's
local path in one environment variable (``emulator/containers/runtime.py``). Every script writes
through the one ``contracts.failures.write_failure_reason``, which reads that variable and falls
back to the container's path, so it runs the same in both places.
"""

from __future__ import annotations

from contracts import failures
from emulator.containers import runtime
from ml import evaluate, monitor, prepare, train


def test_the_scripts_failure_file_variable_is_the_emulators() -> None:
    assert failures.FAILURE_FILE_ENV == runtime.FAILURE_FILE_ENV


def test_without_it_the_scripts_write_where_sagemaker_reads() -> None:
    assert failures.PROCESSING_MESSAGE_FILE == runtime.MESSAGE_FILE
    assert failures.TRAINING_FAILURE_FILE == runtime.FAILURE_FILE


def test_every_script_writes_through_the_one_function() -> None:
    for script in (prepare, train, evaluate, monitor):
        assert script.failures is failures, script.__name__
        assert not hasattr(script, "write_failure_reason"), script.__name__
