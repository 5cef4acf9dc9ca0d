"""Which local interpreter stands in for a SageMaker container image.

The SageMaker XGBoost 1.7-1 image trains, runs processing scripts and serves under xgboost 1.7
(aws/sagemaker-xgboost-container, tag v1.7-1, requirements.txt). ``.venv-xgb17``
(requirements-xgb17.txt) mirrors it, so the emulator runs every job on that image, and serves
every model from it, under that interpreter: a model trained by a newer xgboost can predict
differently under 1.7 (xgboost 3.x writes a per-class ``base_score`` vector that 1.7 reads as one
number), and only the container's own version tells the truth about what the endpoint answers.

Other images (the scikit-learn processing image) run under the caller's interpreter: their
library versions are not modelled (docs/fidelity.md).
"""

from __future__ import annotations

import os
from pathlib import Path

from emulator.containers.images import is_xgboost_image

#: Overrides the XGBoost 1.7 container's interpreter (as for tests/unit/test_xgboost17.py).
XGB17_PYTHON_ENV = "XGB17_PYTHON"
_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_XGB17_PYTHON = _ROOT / ".venv-xgb17" / "bin" / "python"
#: The tag of the XGBoost image versions this interpreter stands in for (1.7-1, 1.7-1-cpu-py3...).
XGBOOST_17_TAG = "1.7-"
XGBOOST_17_IMAGE = "the SageMaker XGBoost 1.7-1 image"


class MissingInterpreter(RuntimeError):
    """The interpreter standing in for a container does not exist."""


def interpreters() -> dict[str, Path]:
    """Every interpreter that stands in for an image, by the image it serves: what must exist
    before the emulator runs a job (a harness checks them before it starts the emulator)."""
    return {XGBOOST_17_IMAGE: _xgboost17_path()}


def _xgboost17_path() -> Path:
    return Path(os.environ.get(XGB17_PYTHON_ENV) or DEFAULT_XGB17_PYTHON)


def xgboost17_python() -> Path:
    """The XGBoost 1.7-1 container's interpreter; MissingInterpreter says how to create it."""
    python = _xgboost17_path()
    if not python.exists():
        raise MissingInterpreter(
            f"the XGBoost 1.7-1 container's interpreter {python} does not exist: run "
            f"`make container-envs` (it installs requirements-xgb17.txt) or set ${XGB17_PYTHON_ENV}"
        )
    return python


def python_for_image(image_uri: str | None, default: str) -> str:
    """The interpreter that runs a job on ``image_uri``: the XGBoost 1.7 container's for that
    image, else ``default``."""
    image = image_uri or ""
    if is_xgboost_image(image) and image.rsplit(":", 1)[-1].startswith(XGBOOST_17_TAG):
        return str(xgboost17_python())
    return default
