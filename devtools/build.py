"""Build the deployable artifacts reproducibly: ``python -m devtools.build [--out build]``.

- ``build/sourcedir.tar.gz``: ``ml/train.py``, the training and serving script SageMaker's XGBoost
  container runs in script mode (``SAGEMAKER_PROGRAM=train.py``).
- ``build/trigger.zip``: the S3-trigger Lambda, ``handler.py`` and ``logic.py`` at the zip root.
- ``build/input_validator.zip``: the execution-input validator Lambda, ``handler.py`` at the zip
  root.
- ``build/smoke_test.zip``: the deployment smoke-test Lambda, ``handler.py`` and ``logic.py``.

Every Lambda zip also carries the ``contracts`` package (``contracts/*.py`` and its JSON data) at
its root, the one home of the facts the functions share with the rest of the product.

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
SOURCEDIR_FILES = {"train.py": ROOT / "ml" / "train.py"}
TRIGGER_FILES = {
    "handler.py": ROOT / "lambdas" / "trigger" / "handler.py",
    "logic.py": ROOT / "lambdas" / "trigger" / "logic.py",
}
CONTRACTS_DIR = ROOT / "contracts"


def contracts_files() -> dict[str, Path]:
    """The ``contracts`` package as archive members: its modules and their JSON data."""
    return {
        f"contracts/{path.name}": path
        for path in sorted(CONTRACTS_DIR.iterdir())
        if path.suffix in {".py", ".json"}
    }


TRIGGER_FILES.update(contracts_files())
INPUT_VALIDATOR_FILES = {
    "handler.py": ROOT / "lambdas" / "input_validator" / "handler.py",
    **contracts_files(),
}
SMOKE_TEST_FILES = {
    **{name: ROOT / "lambdas" / "smoke_test" / name for name in ("handler.py", "logic.py")},
    **contracts_files(),
}
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
    _write(args.out / "trigger.zip", zip_bytes(TRIGGER_FILES))
    _write(args.out / "input_validator.zip", zip_bytes(INPUT_VALIDATOR_FILES))
    _write(args.out / "smoke_test.zip", zip_bytes(SMOKE_TEST_FILES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
