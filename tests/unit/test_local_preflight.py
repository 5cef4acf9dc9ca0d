"""harness/preflight.py and the Makefile's prerequisites: every target that runs the local stack
creates every environment it uses, and a missing tool is named, with its install command, within
seconds and before anything is installed or started."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devtools import makefile
from emulator.containers import interpreters as container_python
from harness import preflight

ROOT = Path(__file__).resolve().parents[2]
#: Targets that start the emulator or run a job (bench starts an emulator for its endpoint).
JOB_TARGETS = ("demo", "local-up", "test", "bench")
#: Those that also apply Terraform: the tool check comes before anything else.
TERRAFORM_TARGETS = ("demo", "local-up", "test")
SECONDS = 10.0


def _fake_terraform(bin_dir: Path, version: str) -> None:
    script = bin_dir / "terraform"
    script.write_text(f'#!/bin/sh\necho \'{{"terraform_version": "{version}"}}\'\n')
    script.chmod(0o755)


# ---------------------------------------------------------------- the checks, one by one


def test_the_minimum_versions_come_from_their_one_home() -> None:
    assert preflight.terraform_minimum() == (1, 10)  # terraform/versions.tf required_version
    assert preflight.python_minimum() == (3, 11)  # pyproject.toml requires-python


def test_terraform_not_on_path_is_one_line_with_how_to_install_it() -> None:
    [problem] = preflight.terraform_problems((1, 10), which=lambda _name: None)
    assert problem.line().startswith("terraform is not on PATH: install Terraform 1.10 or newer")
    assert "https://developer.hashicorp.com/terraform/install" in problem.line()
    assert "\n" not in problem.line()


def test_an_old_terraform_is_named_with_its_version() -> None:
    [problem] = preflight.terraform_problems(
        (1, 10),
        which=lambda _name: "/opt/terraform",
        run=lambda _args: '{"terraform_version": "1.5.7"}',
    )
    assert problem.what == "terraform 1.5.7 at /opt/terraform is older than 1.10"


def test_a_terraform_that_does_not_answer_is_named() -> None:
    [problem] = preflight.terraform_problems(
        (1, 10), which=lambda _name: "/opt/terraform", run=lambda _args: None
    )
    assert "did not report its version" in problem.what


def test_a_recent_terraform_passes() -> None:
    assert (
        preflight.terraform_problems(
            (1, 10),
            which=lambda _name: "/opt/terraform",
            run=lambda _args: '{"terraform_version": "1.11.4"}',
        )
        == []
    )


def test_an_old_python_says_which_to_install_and_how_to_use_it() -> None:
    [problem] = preflight.python_problems(
        (3, 11), version=(3, 9, 2), executable="/usr/bin/python3", find_spec=lambda _m: object()
    )
    assert problem.what == "/usr/bin/python3 is Python 3.9.2, the project needs 3.11 or newer"
    assert "`sudo apt-get install python3.11 python3.11-venv`" in problem.fix
    assert "`make demo PYTHON=python3.11`" in problem.fix


def test_a_python_without_ensurepip_cannot_create_the_virtualenvs() -> None:
    [problem] = preflight.python_problems(
        (3, 11), version=(3, 11, 4), executable="/usr/bin/python3", find_spec=lambda _m: None
    )
    assert "cannot create virtualenvs" in problem.what
    assert "`sudo apt-get install python3.11-venv`" in problem.fix


def test_a_missing_or_dangling_container_interpreter_names_the_image(tmp_path: Path) -> None:
    dangling = tmp_path / "venv" / "bin" / "python"
    dangling.parent.mkdir(parents=True)
    dangling.symlink_to(tmp_path / "no-such-python")
    present = Path(sys.executable)
    problems = preflight.interpreter_problems(
        {"image A": tmp_path / "missing" / "python", "image B": dangling, "image C": present}
    )
    assert [p.what.split("'s")[0] for p in problems] == ["image A", "image B"]
    assert all(p.fix == "run `make container-envs`" for p in problems)


def test_the_demo_checks_every_interpreter_the_emulator_uses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "no-venv" / "bin" / "python"
    monkeypatch.setenv(container_python.XGB17_PYTHON_ENV, str(missing))
    problems = preflight.missing(
        interpreters=container_python.interpreters(),
        terraform=lambda _minimum: [],
        python=lambda _minimum: [],
    )
    assert [p.line() for p in problems] == [
        f"the SageMaker XGBoost 1.7-1 image's interpreter {missing} does not exist: "
        "run `make container-envs`"
    ]


# ---------------------------------------------------------------- the command line, timed


def _run_tools(path: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = path
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "harness.preflight", "tools"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done, time.monotonic() - started


def test_no_terraform_on_path_fails_in_seconds_with_one_line(tmp_path: Path) -> None:
    done, seconds = _run_tools(str(tmp_path))
    assert done.returncode == 2
    assert seconds < SECONDS
    assert done.stderr.splitlines() == [
        "✘ terraform is not on PATH: " + preflight.TERRAFORM_INSTALL.format(minimum="1.10")
    ]


def test_an_old_terraform_on_path_fails(tmp_path: Path) -> None:
    _fake_terraform(tmp_path, "1.9.8")
    done, _ = _run_tools(str(tmp_path))
    assert done.returncode == 2
    assert "terraform 1.9.8" in done.stderr and "is older than 1.10" in done.stderr


def test_a_complete_machine_passes(tmp_path: Path) -> None:
    _fake_terraform(tmp_path, "1.11.4")
    done, _ = _run_tools(str(tmp_path))
    assert (done.returncode, done.stderr) == (0, "")


# ---------------------------------------------------------------- the Makefile


def container_env_stamps() -> list[str]:
    return makefile.load().variables["CONTAINER_ENVS"].split()


def test_every_interpreter_the_emulator_uses_is_a_container_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(container_python.XGB17_PYTHON_ENV, raising=False)
    stamps = container_env_stamps()
    for image, python in container_python.interpreters().items():
        venv = python.relative_to(ROOT).parts[0]
        assert f"{venv}/.installed" in stamps, f"{image}: {venv} is not in CONTAINER_ENVS"


@pytest.mark.parametrize("target", JOB_TARGETS)
def test_every_job_target_depends_on_every_environment(target: str) -> None:
    rules = makefile.load().rules
    prerequisites = rules[target].prerequisites
    stamps = [".venv/.installed", *rules["container-envs"].prerequisites]
    assert rules["container-envs"].prerequisites, "container-envs creates the CONTAINER_ENVS"
    missing = [stamp for stamp in stamps if stamp not in prerequisites]
    assert not missing, f"make {target} does not create {missing}"


@pytest.mark.parametrize("target", TERRAFORM_TARGETS)
def test_the_tool_check_runs_before_any_environment_is_created(target: str) -> None:
    assert makefile.load().rules[target].prerequisites[0] == "local-preflight"


def test_make_demo_without_terraform_stops_in_seconds_before_creating_anything(
    tmp_path: Path,
) -> None:
    """A fresh copy (no virtualenvs) and a PATH without terraform: `make demo` names terraform
    and how to install it, and creates no virtualenv."""
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    for name in ("harness", "scripts"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "terraform").mkdir()
    shutil.copy2(ROOT / "terraform" / "versions.tf", tmp_path / "terraform" / "versions.tf")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("make", "bash", "sh", "dirname", "find", "awk"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    (bin_dir / "python3").symlink_to(sys.executable)
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "PYTHONPATH"}}
    env["PATH"] = str(bin_dir)
    started = time.monotonic()
    done = subprocess.run(
        ["make", "--no-print-directory", "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert time.monotonic() - started < SECONDS
    assert "✘ terraform is not on PATH: install Terraform 1.10 or newer" in done.stderr
    assert not (tmp_path / ".venv").exists() and not (tmp_path / ".venv-xgb17").exists()
