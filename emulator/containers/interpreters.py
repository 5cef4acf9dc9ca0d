"""Which local interpreter stands in for a SageMaker container image.

Each image the pipeline uses has an environment of its own, with the Python and the library
versions the image's repository pins, so a script runs locally under what runs it on AWS:

- the SageMaker XGBoost 1.7-1 image (aws/sagemaker-xgboost-container, branch 1.7-1:
  Python 3.9, xgboost 1.7.4, numpy 1.24.1, pandas 1.2.4, scikit-learn 0.24.1) trains, runs the
  evaluation and serves every model: ``.venv-xgb17`` (requirements-xgb17.txt). A model trained
  by a newer xgboost can predict differently under 1.7 (xgboost 3.x writes a per-class
  ``base_score`` vector that 1.7 reads as one number): only the container's own version tells
  the truth about what the endpoint answers;
- the SageMaker scikit-learn 1.2-1 image (aws/sagemaker-scikit-learn-container, branch 1.2-1:
  Python 3.9, scikit-learn 1.2.1, pandas 1.1.3, numpy 1.24.1, scipy 1.8.0) runs the pipeline's
  prepare step and the monitoring job: ``.venv-sklearn12`` (requirements-sklearn12.txt).

Any other image runs under the caller's interpreter: its library versions are not modelled
(docs/fidelity.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from emulator.containers.images import image_tag, is_sklearn_image, is_xgboost_image

_ROOT = Path(__file__).resolve().parents[2]
#: Overrides the XGBoost 1.7 container's interpreter (as for tests/unit/test_xgboost17.py).
XGB17_PYTHON_ENV = "XGB17_PYTHON"
DEFAULT_XGB17_PYTHON = _ROOT / ".venv-xgb17" / "bin" / "python"
XGBOOST_17_IMAGE = "the SageMaker XGBoost 1.7-1 image"
#: The tag of the XGBoost image versions this interpreter stands in for (1.7-1, 1.7-1-cpu-py3...).
XGBOOST_17_TAG = "1.7-"
#: Overrides the scikit-learn 1.2 container's interpreter (tests/unit/test_sklearn12.py).
SKLEARN12_PYTHON_ENV = "SKLEARN12_PYTHON"
DEFAULT_SKLEARN12_PYTHON = _ROOT / ".venv-sklearn12" / "bin" / "python"
SKLEARN_12_IMAGE = "the SageMaker scikit-learn 1.2-1 image"
SKLEARN_12_TAG = "1.2-"


class MissingInterpreter(RuntimeError):
    """The interpreter standing in for a container does not exist."""


@dataclass(frozen=True)
class ContainerEnvironment:
    """One image's local environment: which URIs it serves, where its interpreter is."""

    image: str
    env: str
    default: Path
    requirements: str
    serves: Callable[[str], bool]

    @property
    def path(self) -> Path:
        return Path(os.environ.get(self.env) or self.default)

    def python(self) -> Path:
        """The interpreter; MissingInterpreter says how to create it."""
        python = self.path
        if not python.exists():
            raise MissingInterpreter(
                f"{self.image}'s interpreter {python} does not exist: run `make container-envs` "
                f"(it installs {self.requirements}) or set ${self.env}"
            )
        return python


ENVIRONMENTS = (
    ContainerEnvironment(
        XGBOOST_17_IMAGE,
        XGB17_PYTHON_ENV,
        DEFAULT_XGB17_PYTHON,
        "requirements-xgb17.txt",
        lambda uri: is_xgboost_image(uri) and image_tag(uri).startswith(XGBOOST_17_TAG),
    ),
    ContainerEnvironment(
        SKLEARN_12_IMAGE,
        SKLEARN12_PYTHON_ENV,
        DEFAULT_SKLEARN12_PYTHON,
        "requirements-sklearn12.txt",
        lambda uri: is_sklearn_image(uri) and image_tag(uri).startswith(SKLEARN_12_TAG),
    ),
)


def interpreters() -> dict[str, Path]:
    """Every interpreter that stands in for an image, by the image it serves: what must exist
    before the emulator runs a job (a harness checks them before it starts the emulator)."""
    return {environment.image: environment.path for environment in ENVIRONMENTS}


def xgboost17_python() -> Path:
    """The XGBoost 1.7-1 container's interpreter (it also serves every endpoint's model)."""
    return ENVIRONMENTS[0].python()


def sklearn12_python() -> Path:
    """The scikit-learn 1.2-1 container's interpreter."""
    return ENVIRONMENTS[1].python()


def python_for_image(image_uri: str | None, default: str) -> str:
    """The interpreter that runs a job on ``image_uri``: its image's environment, else
    ``default``."""
    for environment in ENVIRONMENTS:
        if environment.serves(image_uri or ""):
            return str(environment.python())
    return default
