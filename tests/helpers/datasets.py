"""Real non-iris datasets as CSV files for the ML script tests (scikit-learn's bundled copies).

Each is shaped to exercise what "any tabular dataset" asks of the pipeline: breast cancer is binary
with its string label in the SECOND column and spaces in every feature name; wine is 3 classes
of 13 features with a numeric label (the cultivar 1..3, as in the UCI original) in the FIRST column.
"""

from __future__ import annotations

from pathlib import Path

from ml import prepare
from ml.prepare_contract import DatasetSpec
from ml.prepare_split import SplitRatios

CANCER_LABEL = "diagnosis"
WINE_LABEL = "cultivar"


def breast_cancer_csv() -> str:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.drop(columns="target")
    frame.insert(1, CANCER_LABEL, [str(data.target_names[t]) for t in data.target])
    return frame.to_csv(index=False)


def wine_csv() -> str:
    from sklearn.datasets import load_wine

    data = load_wine(as_frame=True)
    frame = data.frame.drop(columns="target")
    frame.insert(0, WINE_LABEL, data.target + 1)
    return frame.to_csv(index=False)


def prepare_dataset(text: str, name: str, label: str, root: Path) -> Path:
    """Write ``text`` as ``<root>/raw/<name>`` and run prepare.py on it; return the output dir."""
    raw = root / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / name).write_text(text, encoding="utf-8")
    out = root / "split"
    prepare.run(raw, out, DatasetSpec(label), SplitRatios(), 42)
    return out
