"""The deployable archives are reproducible and hold what the runtimes expect."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

from devtools import build


def test_archives_are_byte_identical_across_builds(tmp_path: Path) -> None:
    build.main(["--out", str(tmp_path / "a")])
    build.main(["--out", str(tmp_path / "b")])
    for name in ("sourcedir.tar.gz", "trigger.zip", "input_validator.zip", "smoke_test.zip"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_sourcedir_holds_train_py_at_its_root(tmp_path: Path) -> None:
    build.main(["--out", str(tmp_path)])
    with tarfile.open(tmp_path / "sourcedir.tar.gz") as tar:
        assert tar.getnames() == ["train.py"]
        member = tar.extractfile("train.py")
        assert member is not None
        assert member.read() == build.SOURCEDIR_FILES["train.py"].read_bytes()


def test_trigger_zip_has_the_handler_at_its_root(tmp_path: Path) -> None:
    build.main(["--out", str(tmp_path)])
    with zipfile.ZipFile(io.BytesIO((tmp_path / "trigger.zip").read_bytes())) as archive:
        assert sorted(archive.namelist()) == ["handler.py", "logic.py"]


def test_input_validator_zip_ships_its_schema_beside_the_handler(tmp_path: Path) -> None:
    build.main(["--out", str(tmp_path)])
    with zipfile.ZipFile(io.BytesIO((tmp_path / "input_validator.zip").read_bytes())) as archive:
        assert sorted(archive.namelist()) == ["handler.py", "logic.py", "schema.json"]
        assert (
            archive.read("schema.json") == build.INPUT_VALIDATOR_FILES["schema.json"].read_bytes()
        )
