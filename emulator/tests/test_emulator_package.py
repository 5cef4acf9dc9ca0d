"""The emulator package emulator/aws/: one module per moto service, composed in one place.

STYLE.md, "Emulators and local runtimes": one module per service we extend, each with
``install()`` and ``reset()``, composed in one visible order; only these modules know moto's
internals.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from moto.core.responses import BaseResponse

from emulator import aws, containers
from emulator.aws import core, lambda_, sagemaker, sqs, validation
from emulator.aws.sagemaker import hosting
from emulator.containers import interpreters

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "emulator" / "aws"


def _imports_moto(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "moto":
            return True
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "moto" for a in node.names):
            return True
    return False


def test_every_module_of_the_package_is_composed_once_with_install_and_reset() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    files = modules | packages
    composed = [m.__name__.rsplit(".", 1)[1] for m in aws.MODULES]
    assert sorted(composed) == sorted(files)
    assert len(set(composed)) == len(composed)
    for module in aws.MODULES:
        assert callable(module.install) and callable(module.reset), module.__name__


def test_the_front_door_comes_before_the_services_it_guards() -> None:
    order = list(aws.MODULES)
    assert order.index(core) < order.index(validation) < order.index(sagemaker)
    assert order.index(lambda_) < order.index(sqs)  # the poller invokes through lambda_


def test_install_all_is_idempotent() -> None:
    aws.install_all()
    wrapped = BaseResponse.call_action
    aws.install_all()
    assert BaseResponse.call_action is wrapped  # a second wrap would run every check twice


def test_reset_all_forgets_what_every_module_kept(tmp_path: Path) -> None:
    aws.install_all()
    core.inject_fault("sagemaker", "ListEndpoints", times=3)
    core.set_emulator_endpoint("http://127.0.0.1:1")
    sagemaker.set_pipeline_runner(lambda run: None)
    sagemaker.set_endpoint_transition_seconds(99.0)
    hosting.set_endpoint_cache_dir(tmp_path)
    validation.set_request_validation(False)
    try:
        aws.reset_all()
        assert core._STATE.faults == []
        assert core.endpoint_url() is None
        assert sagemaker.pipelines._STATE.runner is None
        assert sagemaker.endpoint_transition_seconds() != 99.0
        assert hosting._STATE.endpoint_cache_dir == (hosting.DEFAULT_ENDPOINT_CACHE_DIR)
        assert validation.enabled()
    finally:
        aws.reset_all()
        aws.install_all()  # the SQS poller polls again


def test_paths_the_package_runs_things_from_exist() -> None:
    # A path computed from __file__ must follow the module when it moves.
    assert containers.SERVING_SCRIPT.is_file()
    assert interpreters.DEFAULT_XGB17_PYTHON.parent.parent.parent == ROOT


def test_only_the_emulator_package_imports_moto() -> None:
    offenders = set()
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in {"tests", "build", ".venv", ".venv-xgb17"} or relative.parts[
            0
        ].startswith("."):
            continue
        if relative.parts[:2] in {("emulator", "aws"), ("emulator", "tests")}:
            continue  # the extensions, and the tests that run them under moto's mock
        if _imports_moto(path):
            offenders.add(relative.as_posix())
    assert offenders == set()
