"""`make help`: every target under its group, groups in order; colour only on a terminal, and
never with NO_COLOR set (https://no-color.org)."""

from __future__ import annotations

import os
import pty
import re
import subprocess
from pathlib import Path

from devtools import makefile

ROOT = Path(__file__).resolve().parents[2]
GROUPS = ["Start here", "Local stack", "AWS", "Operations", "Development"]
ESCAPE = "\x1b["
TIMEOUT = 60


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"NO_COLOR", "MAKEFLAGS", "MFLAGS"}}
    env.update(extra)
    return env


def help_through_a_pipe(**extra: str) -> str:
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", "help"],
        cwd=ROOT,
        env=_env(**extra),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    return done.stdout


def help_on_a_terminal(**extra: str) -> str:
    """`make help` with stdout on a pseudo-terminal, as in an interactive shell."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            ["make", "-s", "--no-print-directory", "help"],
            cwd=ROOT,
            env=_env(**extra),
            stdin=subprocess.DEVNULL,
            stdout=terminal,
            stderr=subprocess.PIPE,
        )
        os.close(terminal)
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the terminal's last writer has gone
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=TIMEOUT) == 0, process.stderr
    finally:
        os.close(controller)
    return b"".join(chunks).decode()


def sections(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line and not line.startswith(" ") and not line.startswith("Usage"):
            current = line
            found[current] = []
        elif line.startswith("  ") and current is not None:
            found[current].append(line.split()[0])
    return found


def documented_targets() -> list[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return re.findall(r"^([a-zA-Z0-9_-]+):[^=\n]*## ", text, flags=re.MULTILINE)


def test_help_lists_every_documented_target_once_under_the_groups_in_order() -> None:
    shown = sections(help_through_a_pipe())
    assert list(shown) == GROUPS
    listed = [target for targets in shown.values() for target in targets]
    assert sorted(listed) == sorted(documented_targets())
    assert len(listed) == len(set(listed))


def test_every_target_is_documented() -> None:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-zA-Z0-9_-]+):(?!=)", text, flags=re.MULTILINE))
    assert targets <= set(documented_targets()), targets - set(documented_targets())


def test_start_here_leads_with_the_demo() -> None:
    assert sections(help_through_a_pipe())["Start here"][:2] == ["help", "demo"]


def test_every_listed_target_exists() -> None:
    rules = makefile.load().rules
    for targets in sections(help_through_a_pipe()).values():
        assert set(targets) <= set(rules)


def test_no_colour_into_a_pipe() -> None:
    assert ESCAPE not in help_through_a_pipe()


def test_colour_on_a_terminal() -> None:
    text = help_on_a_terminal()
    assert ESCAPE in text
    assert "demo" in text


def test_no_colour_on_a_terminal_with_no_color_set() -> None:
    text = help_on_a_terminal(NO_COLOR="1")
    assert ESCAPE not in text
    assert sections(text.replace("\r\n", "\n"))["Start here"][:2] == ["help", "demo"]


def test_a_target_under_an_unknown_group_fails_help(tmp_path: Path) -> None:
    broken = tmp_path / "Makefile"
    broken.write_text(
        (ROOT / "Makefile")
        .read_text(encoding="utf-8")
        .replace("##@ Local stack", "##@ Somewhere else", 1)
    )
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "make-help.awk").write_text(
        (ROOT / "scripts" / "make-help.awk").read_text(encoding="utf-8")
    )
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", "-f", str(broken), "help"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode != 0
    assert 'targets under "Somewhere else"' in done.stderr
