"""Write `data/raw/iris.csv` from scikit-learn's bundled iris copy (no download, byte-stable).

Run `python scripts/make_iris_csv.py` to (re)generate the file, `--check` to fail when the
committed copy differs from what scikit-learn's data would produce.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "data" / "raw" / "iris.csv"
HEADER = ("SepalLength", "SepalWidth", "PetalLength", "PetalWidth", "Species")
# Label spelling of the classic UCI file, which the pipeline's contract uses.
CLASS_NAMES = ("Iris-setosa", "Iris-versicolor", "Iris-virginica")


def iris_csv_text() -> str:
    """Return the full CSV text: header plus 150 rows in scikit-learn's order."""
    from sklearn.datasets import load_iris  # heavy import kept out of module import time

    dataset = load_iris()
    lines = [",".join(HEADER)]
    for features, target in zip(dataset.data, dataset.target, strict=True):
        # Every iris measurement has one decimal; fixed formatting keeps the output byte-stable.
        values = [f"{float(value):.1f}" for value in features]
        lines.append(",".join([*values, CLASS_NAMES[int(target)]]))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the file is missing or differs"
    )
    args = parser.parse_args(argv)
    text = iris_csv_text()
    output: Path = args.output
    if args.check:
        if not output.is_file() or output.read_text(encoding="utf-8") != text:
            print(f"{output} is stale: run scripts/make_iris_csv.py", file=sys.stderr)
            return 1
        print(f"{output} is up to date")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(text.encode("utf-8"))
    print(f"wrote {output} ({text.count(chr(10)) - 1} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
