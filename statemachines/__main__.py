"""``python -m statemachines [--check]``: write (or verify) the committed ASL."""

from __future__ import annotations

import argparse
import sys

from devtools.generated import write_or_check
from statemachines.training_pipeline import ASL_PATH, definition_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m statemachines", description=__doc__)
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if the committed ASL differs from a fresh generation",
    )
    args = parser.parse_args(argv)
    return write_or_check(ASL_PATH, definition_json(), check=args.check)


if __name__ == "__main__":
    sys.exit(main())
