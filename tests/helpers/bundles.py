"""The code the SageMaker jobs receive, laid out in a directory as the containers find it.

A processing bundle (ml/code_bundles.json, resolved by ``ml.pipeline.bundle_sources``) lands in
the job's code directory; the training sourcedir (``devtools.build.SOURCEDIR_FILES``) in
/opt/ml/code. Tests copy them into an otherwise empty directory, so a script that imports
anything left out of its bundle fails there as it would in the container.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from devtools.build import SOURCEDIR_FILES
from ml.pipeline import bundle_sources


def _copy(files: Mapping[str, Path], directory: Path) -> None:
    for entry, source in files.items():
        target = directory / entry
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def copy_bundle(name: str, directory: Path) -> Path:
    """Copy bundle ``name`` into ``directory``; return its entry script's copy."""
    _copy(bundle_sources(name), directory)
    return directory / f"{name}.py"


def copy_sourcedir(directory: Path) -> Path:
    """Copy the training sourcedir (train.py and the contracts package); return train.py."""
    _copy(SOURCEDIR_FILES, directory)
    return directory / "train.py"
