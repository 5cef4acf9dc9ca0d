"""Generate ``terraform/s3_layout.generated.tf`` from ``contracts/s3_layout.py``.

The bucket's layout has one home, the contracts package; Terraform reads it as locals
(``local.s3_prefix.<name>``, the input prefixes, the prefixes that expire) for its IAM
statements, lifecycle rules and event patterns. ``python -m devtools.s3_layout_tf`` writes the
file, ``--check`` exits 1 when it is stale (``make definitions`` / ``make check-definitions``). The
text is laid out as ``terraform fmt`` lays it out.
"""

from __future__ import annotations

import argparse
import json
import sys

from contracts import s3_layout
from devtools.generated import ROOT, write_or_check

OUTPUT = ROOT / "terraform" / "s3_layout.generated.tf"
HEADER = (
    "# Generated from contracts/s3_layout.py by `make definitions`\n"
    "# (python -m devtools.s3_layout_tf): do not edit; change the layout there and regenerate.\n"
    "# The bucket's prefixes (each ends with /), the ones a run may read its input from, and the\n"
    "# ones a lifecycle rule expires.\n"
)


def render() -> str:
    width = max(len(prefix.name) for prefix in s3_layout.PREFIXES)
    entries = "".join(
        f"    {prefix.name.ljust(width)} = {json.dumps(prefix.path)}\n"
        for prefix in s3_layout.PREFIXES
    )
    inputs = ", ".join(json.dumps(path) for path in s3_layout.INPUT_PREFIXES)
    expiring = ", ".join(
        json.dumps(prefix.path) for prefix in s3_layout.PREFIXES if prefix.lifetime == "expires"
    )
    return (
        f"{HEADER}\n"
        "locals {\n"
        "  s3_prefix = {\n"
        f"{entries}"
        "  }\n"
        f"  s3_input_prefixes    = [{inputs}]\n"
        f"  s3_expiring_prefixes = [{expiring}]\n"
        "}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.s3_layout_tf", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    return write_or_check(OUTPUT, render(), check=args.check, regenerate="make definitions")


if __name__ == "__main__":
    sys.exit(main())
