"""``python -m statemachines [--check]``: write (or verify) each machine's committed ASL and its
Mermaid diagram (``docs/<machine>-machine.md``)."""

from __future__ import annotations

import argparse
import sys

from devtools.generated import write_or_check
from statemachines import MACHINES, definition_json
from statemachines.diagram import diagram_path, mermaid_page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m statemachines", description=__doc__)
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if a committed ASL or diagram differs from a fresh generation",
    )
    args = parser.parse_args(argv)
    status = 0
    for machine in MACHINES:
        text = definition_json(machine)
        status |= write_or_check(machine.asl_path, text, check=args.check)
        status |= write_or_check(
            diagram_path(machine.name), mermaid_page(machine.name, text), check=args.check
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
