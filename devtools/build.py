"""Build the deployable artifacts reproducibly: ``python -m devtools.build [--out build]``.

- ``build/sourcedir.tar.gz``: ``ml/train.py``, the training and serving script SageMaker's XGBoost
  container runs in script mode (``SAGEMAKER_PROGRAM=train.py``), beside ``ml/inference.py``
  (its serving functions) and the ``contracts`` package they import (train.py copies all of it
  into the model's ``code/``).
- ``build/<name>.zip``: one per directory of ``lambdas/`` with a ``handler.py``: its modules at
  the zip root, beside the ``contracts`` package (``contracts/*.py`` and its JSON data), the one
  home of the facts the functions share with the rest of the product.

Archives are byte-identical for identical sources (sorted entries, fixed timestamps and modes),
so Terraform's content hashes change only when code does.
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAMBDAS_DIR = ROOT / "lambdas"
CONTRACTS_DIR = ROOT / "contracts"


def contracts_files() -> dict[str, Path]:
    """The ``contracts`` package as archive members: its modules and their JSON data."""
    return {
        f"contracts/{path.name}": path
        for path in sorted(CONTRACTS_DIR.iterdir())
        if path.suffix in {".py", ".json"}
    }


SOURCEDIR_FILES = {
    "train.py": ROOT / "ml" / "train.py",
    "inference.py": ROOT / "ml" / "inference.py",
    **contracts_files(),
}


def lambda_names() -> list[str]:
    """Every function of the project: one directory per Lambda under ``lambdas/``."""
    return sorted(path.name for path in LAMBDAS_DIR.iterdir() if (path / "handler.py").is_file())


def lambda_files(name: str) -> dict[str, Path]:
    """A Lambda's zip members: its modules at the root (``handler.py`` first among them), and
    the ``contracts`` package."""
    directory = LAMBDAS_DIR / name
    modules = {
        path.name: path for path in sorted(directory.glob("*.py")) if path.name != "__init__.py"
    }
    return {**modules, **contracts_files()}


TRIGGER_FILES = lambda_files("trigger")
INPUT_VALIDATOR_FILES = lambda_files("input_validator")
SMOKE_TEST_FILES = lambda_files("smoke_test")
_EPOCH_ZIP = (1980, 1, 1, 0, 0, 0)


def tar_gz(files: dict[str, Path]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            data = files[name].read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def zip_bytes(files: dict[str, Path]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_EPOCH_ZIP)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name].read_bytes())
    return out.getvalue()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    print(f"built {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.build", description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "build")
    args = parser.parse_args(argv)
    _write(args.out / "sourcedir.tar.gz", tar_gz(SOURCEDIR_FILES))
    for name in lambda_names():
        _write(args.out / f"{name}.zip", zip_bytes(lambda_files(name)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
