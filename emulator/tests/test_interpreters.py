"""Which interpreter stands in for which SageMaker image (emulator/containers/interpreters.py).

Jobs on the scikit-learn 1.2-1 image (the pipeline's prepare step, the monitoring job) run under
that image's environment, as jobs on the XGBoost 1.7-1 image run under theirs; any other image
under the caller's interpreter.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.containers import interpreters

REGISTRY = "683313688378.dkr.ecr.us-east-1.amazonaws.com"
SKLEARN_12 = f"{REGISTRY}/sagemaker-scikit-learn:1.2-1-cpu-py3"
XGBOOST_17 = f"{REGISTRY}/sagemaker-xgboost:1.7-1"


@pytest.fixture
def pythons(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Path]:
    made = {}
    for name, env in (
        ("xgboost", interpreters.XGB17_PYTHON_ENV),
        ("sklearn", interpreters.SKLEARN12_PYTHON_ENV),
    ):
        python = tmp_path / name / "bin" / "python"
        python.parent.mkdir(parents=True)
        python.write_text("")
        monkeypatch.setenv(env, str(python))
        made[name] = python
    return made


def test_each_image_runs_under_its_own_environment(pythons: dict[str, Path]) -> None:
    assert interpreters.python_for_image(SKLEARN_12, "default") == str(pythons["sklearn"])
    assert interpreters.python_for_image(XGBOOST_17, "default") == str(pythons["xgboost"])
    other = f"{REGISTRY}/sagemaker-scikit-learn:0.23-1-cpu-py3"
    assert interpreters.python_for_image(other, "default") == "default"
    assert interpreters.python_for_image(None, "default") == "default"


def test_every_environment_is_listed_for_the_preflight(pythons: dict[str, Path]) -> None:
    assert interpreters.interpreters() == {
        interpreters.XGBOOST_17_IMAGE: pythons["xgboost"],
        interpreters.SKLEARN_12_IMAGE: pythons["sklearn"],
    }


def test_a_missing_environment_says_how_to_create_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(interpreters.SKLEARN12_PYTHON_ENV, str(tmp_path / "none" / "python"))
    with pytest.raises(interpreters.MissingInterpreter, match="make container-envs"):
        interpreters.python_for_image(SKLEARN_12, "default")


def test_the_default_environments_live_in_the_repository() -> None:
    root = Path(__file__).resolve().parents[2]
    assert root / ".venv-sklearn12" / "bin" / "python" == interpreters.DEFAULT_SKLEARN12_PYTHON
    assert root / ".venv-xgb17" / "bin" / "python" == interpreters.DEFAULT_XGB17_PYTHON
