"""The deployable archives are reproducible and hold what the runtimes expect."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from devtools import build


def test_archives_are_byte_identical_across_builds(tmp_path: Path) -> None:
    build.main(["--out", str(tmp_path / "a")])
    build.main(["--out", str(tmp_path / "b")])
    for name in ("sourcedir.tar.gz", "trigger.zip", "input_validator.zip", "smoke_test.zip"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_sourcedir_holds_the_scripts_and_the_contracts_package_at_its_root(tmp_path: Path) -> None:
    build.main(["--out", str(tmp_path)])
    with tarfile.open(tmp_path / "sourcedir.tar.gz") as tar:
        names = tar.getnames()
        assert names == sorted(["train.py", "inference.py", *build.contracts_files()])
        assert {"contracts/__init__.py", "contracts/dataset.py", "contracts/failures.py"} <= set(
            names
        )
        for name in names:
            member = tar.extractfile(name)
            assert member is not None
            assert member.read() == build.SOURCEDIR_FILES[name].read_bytes()


def test_trigger_zip_has_the_handler_at_its_root(tmp_path: Path) -> None:
    build.main(["--out", str(tmp_path)])
    with zipfile.ZipFile(io.BytesIO((tmp_path / "trigger.zip").read_bytes())) as archive:
        assert {"handler.py", "logic.py"} <= set(archive.namelist())


def test_input_validator_zip_ships_the_contracts_beside_the_handler(tmp_path: Path) -> None:
    build.main(["--out", str(tmp_path)])
    with zipfile.ZipFile(io.BytesIO((tmp_path / "input_validator.zip").read_bytes())) as archive:
        names = archive.namelist()
        assert "handler.py" in names
        assert "contracts/execution_input.json" in names
        assert (
            archive.read("contracts/execution_input.json")
            == (build.CONTRACTS_DIR / "execution_input.json").read_bytes()
        )


@pytest.mark.parametrize("zip_name", ["trigger.zip", "input_validator.zip", "smoke_test.zip"])
def test_each_lambda_zip_imports_its_handler_on_its_own(tmp_path: Path, zip_name: str) -> None:
    """What Lambda does: unpack the zip, import ``handler`` with only the zip on the path."""
    build.main(["--out", str(tmp_path)])
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(tmp_path / zip_name) as archive:
        archive.extractall(unpacked)
    subprocess.run(
        [
            sys.executable,
            "-E",
            "-s",
            "-c",
            "import sys; sys.path[:1] = ['.']; import handler; handler.lambda_handler",
        ],
        cwd=unpacked,
        check=True,
    )
