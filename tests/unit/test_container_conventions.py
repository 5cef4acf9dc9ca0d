"""The product's container scripts honour the emulator's container-runtime convention.

In a container a script writes its failure to ``/opt/ml/output/message`` (processing) or
``/opt/ml/output/failure`` (training); the emulator runs it on this machine and names that file's
local path in one environment variable (``emulator/containers/runtime.py``). Every script writes
through the one ``contracts.failures.write_failure_reason``, which reads that variable and falls
back to the container's path, so it runs the same in both places.
"""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

from contracts import failures
from devtools.build import SOURCEDIR_FILES
from emulator.containers import runtime
from ml import evaluate, monitor, pipeline, prepare, train

ROOT = Path(__file__).resolve().parents[2]
#: The Python of the images the scripts run in (SageMaker XGBoost 1.7-1, scikit-learn 1.2-1).
CONTAINER_PYTHON = "py39"


def test_the_scripts_failure_file_variable_is_the_emulators() -> None:
    assert failures.FAILURE_FILE_ENV == runtime.FAILURE_FILE_ENV


def test_without_it_the_scripts_write_where_sagemaker_reads() -> None:
    assert failures.PROCESSING_MESSAGE_FILE == runtime.MESSAGE_FILE
    assert failures.TRAINING_FAILURE_FILE == runtime.FAILURE_FILE


def test_every_script_writes_through_the_one_function() -> None:
    for script in (prepare, train, evaluate, monitor):
        assert script.failures is failures, script.__name__
        assert not hasattr(script, "write_failure_reason"), script.__name__


def test_every_module_a_container_runs_is_linted_for_the_containers_python() -> None:
    """Ruff holds each shipped module to Python 3.9 through its per-file target version: a module
    added to a bundle or to the training sourcedir without one would be linted for 3.11."""
    ruff = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]
    targets = ruff["per-file-target-version"]
    shipped = set(SOURCEDIR_FILES.values())
    for name in pipeline.code_bundles():
        shipped |= set(pipeline.bundle_sources(name).values())
    modules = sorted(path.relative_to(ROOT).as_posix() for path in shipped if path.suffix == ".py")
    assert "ml/prepare_split.py" in modules
    for module in modules:
        found = [v for pattern, v in targets.items() if fnmatch.fnmatch(module, pattern)]
        assert found == [CONTAINER_PYTHON], module
