"""What the local stack needs on this machine, checked before anything is installed or started.

Each missing tool or interpreter is one line: what is missing, and the command that installs it.
The checks take well under a second, so a fresh clone learns of a missing terraform before pip
spends minutes on virtualenvs, and ``make demo`` before the emulator starts or Terraform applies.

    python3 -m harness.preflight tools   the Makefile (``local-preflight``), before any virtualenv
                                          exists: terraform, and a Python that can create them
    missing(interpreters=...)             the demo and ``make local-up``, before the emulator
                                          starts: the same, plus every container interpreter

The minimum versions have one home each: Terraform's in ``terraform/versions.tf``
(``required_version``), Python's in ``pyproject.toml`` (``requires-python``). Standard library
only, in Python 3.8 syntax, so an old ``python3`` can still say that it is too old.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
VERSIONS_TF = ROOT / "terraform" / "versions.tf"
PYPROJECT = ROOT / "pyproject.toml"
TERRAFORM_INSTALL = (
    "install Terraform {minimum} or newer (https://developer.hashicorp.com/terraform/install; "
    "Debian/Ubuntu: HashiCorp's apt repository, then `sudo apt-get install terraform`)"
)
#: The Makefile target that creates every container interpreter (``CONTAINER_ENVS``).
CONTAINER_ENVS_TARGET = "make container-envs"
TERRAFORM_TIMEOUT = 20.0

Version = Tuple[int, ...]
Runner = Callable[[Sequence[str]], Optional[str]]


@dataclass(frozen=True)
class Missing:
    """One thing the local stack needs and does not have, with the command that fixes it."""

    what: str
    fix: str

    def line(self) -> str:
        return f"{self.what}: {self.fix}"


def minimum_version(text: str, pattern: str, source: str) -> Version:
    """The ``X.Y`` a ``>=`` constraint names, e.g. ``required_version = ">= 1.10"``."""
    found = re.search(pattern + r"\s*=\s*\"\s*>=\s*(\d+(?:\.\d+)*)", text)
    if not found:
        raise ValueError(f'{source} has no `{pattern} = ">= X.Y"` constraint')
    return tuple(int(part) for part in found.group(1).split("."))


def terraform_minimum(path: Path = VERSIONS_TF) -> Version:
    return minimum_version(path.read_text(encoding="utf-8"), "required_version", str(path))


def python_minimum(path: Path = PYPROJECT) -> Version:
    return minimum_version(path.read_text(encoding="utf-8"), "requires-python", str(path))


def shown(version: Version) -> str:
    return ".".join(str(part) for part in version)


def run_quietly(args: Sequence[str]) -> str | None:
    """The command's stdout, or ``None`` when it cannot run or fails."""
    try:
        done = subprocess.run(
            list(args), capture_output=True, text=True, timeout=TERRAFORM_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def terraform_problems(
    minimum: Version,
    which: Callable[[str], str | None] = shutil.which,
    run: Runner = run_quietly,
) -> list[Missing]:
    """terraform on PATH, at ``minimum`` or newer (``terraform version -json``)."""
    install = TERRAFORM_INSTALL.format(minimum=shown(minimum))
    path = which("terraform")
    if path is None:
        return [Missing("terraform is not on PATH", install)]
    output = run([path, "version", "-json"])
    try:
        text = json.loads(output or "")["terraform_version"]
        version = tuple(int(part) for part in re.findall(r"\d+", text)[:3])
    except (ValueError, KeyError, TypeError):
        return [Missing(f"{path} did not report its version (terraform version -json)", install)]
    if version < minimum:
        return [Missing(f"terraform {text} at {path} is older than {shown(minimum)}", install)]
    return []


def python_problems(
    minimum: Version,
    version: Version = tuple(sys.version_info[:3]),
    executable: str = sys.executable,
    find_spec: Callable[[str], object] = importlib.util.find_spec,
) -> list[Missing]:
    """This interpreter (the Makefile's ``$(PYTHON)``) is new enough and can create virtualenvs."""
    if tuple(version[: len(minimum)]) < minimum:
        wanted = f"python{shown(minimum)}"
        return [
            Missing(
                f"{executable} is Python {shown(version)}, the project needs {shown(minimum)} "
                "or newer",
                f"install {wanted} (Debian/Ubuntu: `sudo apt-get install {wanted} "
                f"{wanted}-venv`) and run `make demo PYTHON={wanted}`",
            )
        ]
    if find_spec("ensurepip") is None:
        short = f"python{shown(version[:2])}"
        return [
            Missing(
                f"{executable} cannot create virtualenvs (its ensurepip module is missing)",
                f"install it (Debian/Ubuntu: `sudo apt-get install {short}-venv`)",
            )
        ]
    return []


def interpreter_problems(
    interpreters: Mapping[str, Path], exists: Callable[[Path], bool] = Path.exists
) -> list[Missing]:
    """Every interpreter that stands in for a container image exists (not a dangling link)."""
    return [
        Missing(f"{image}'s interpreter {path} does not exist", f"run `{CONTAINER_ENVS_TARGET}`")
        for image, path in interpreters.items()
        if not exists(path)
    ]


def missing(
    interpreters: Mapping[str, Path] | None = None,
    terraform: Callable[[Version], list[Missing]] = terraform_problems,
    python: Callable[[Version], list[Missing]] = python_problems,
) -> list[Missing]:
    """Everything missing: tools always, container interpreters when ``interpreters`` is given."""
    found = terraform(terraform_minimum()) + python(python_minimum())
    if interpreters is not None:
        found += interpreter_problems(interpreters)
    return found


def main(argv: list[str] | None = None) -> int:
    """``python -m harness.preflight tools``: one line per missing tool on stderr, exit 2."""
    args = sys.argv[1:] if argv is None else argv
    if args != ["tools"]:
        print("usage: python -m harness.preflight tools", file=sys.stderr)
        return 64
    problems = missing()
    for problem in problems:
        print(f"✘ {problem.line()}", file=sys.stderr)
    return 2 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
