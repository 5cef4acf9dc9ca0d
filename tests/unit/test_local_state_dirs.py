"""The local runtime's safety rules (harness/demo.py, emulator/process.py), without a server.

`make demo` never wipes a `make local-up` session's directory, two runtimes never share one, a
stopped session keeps its port for the next `make local-up`, and a dead emulator is one line
with its log.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from emulator import process as emulator_module
from harness import demo, stack
from harness.demo import Console, DemoError, LocalDirs

DEAD_PID = 2**22 + 12345  # above Linux's default pid_max (4194304): never a live process


def _record(path: Path, **values: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))


def _running_session(dirs: LocalDirs) -> dict[str, object]:
    """A session record whose pid is alive (this test process): read_state sees it running."""
    values = {"pid": os.getpid(), "port": 1, "endpoint_url": "http://127.0.0.1:1"}
    _record(dirs.state_file, **values)
    return values


def test_demo_and_session_directories_never_overlap(tmp_path: Path) -> None:
    dirs = LocalDirs(tmp_path)
    assert dirs.demo != dirs.session
    assert dirs.session not in dirs.demo.parents and dirs.demo not in dirs.session.parents
    assert dirs.state_file.name == emulator_module.STATE_FILE.name, "make local-down reads it"
    assert LocalDirs().session == stack.SESSION_DIR and LocalDirs().demo == stack.DEMO_DIR


def test_a_demo_works_in_its_own_directory_even_next_to_a_session(tmp_path: Path) -> None:
    dirs = LocalDirs(tmp_path)
    session = _running_session(dirs)
    assert demo.workdir_for(dirs, keep=False, session=session) == dirs.demo
    assert demo.workdir_for(dirs, keep=False, session=None) == dirs.demo
    # KEEP=1 makes the demo the background session: only when there is none.
    assert demo.workdir_for(dirs, keep=True, session=None) == dirs.session


def test_keep_next_to_a_running_session_refuses_in_one_line_and_touches_nothing(
    tmp_path: Path,
) -> None:
    dirs = LocalDirs(tmp_path)
    _running_session(dirs)
    marker = dirs.session / "outputs.json"
    marker.parent.mkdir(parents=True)
    marker.write_text("{}")
    record = dirs.state_file.read_text()
    out = io.StringIO()

    code = demo.main(["--keep", "--state-dir", str(tmp_path)], Console(out))

    assert code == 2
    lines = [line for line in out.getvalue().splitlines() if line]
    assert len(lines) == 1, lines
    assert "make local-up session is running at http://127.0.0.1:1" in lines[0]
    assert "without KEEP=1" in lines[0] and "make local-down" in lines[0]
    assert marker.read_text() == "{}" and dirs.state_file.read_text() == record


def test_local_up_next_to_a_running_session_refuses_in_one_line(tmp_path: Path) -> None:
    dirs = LocalDirs(tmp_path)
    _running_session(dirs)
    out = io.StringIO()

    code = demo.main(["up", "--state-dir", str(tmp_path)], Console(out))

    assert code == 2
    lines = [line for line in out.getvalue().splitlines() if line]
    assert lines == [
        "✘ a make local-up session is already running at http://127.0.0.1:1 but not "
        "answering: use it, or make local-down first"
    ]


def test_a_claimed_directory_refuses_a_second_claim_but_not_another_directory(
    tmp_path: Path,
) -> None:
    dirs = LocalDirs(tmp_path)
    with demo.claimed(dirs.demo, "make demo"):
        with pytest.raises(DemoError) as refused, demo.claimed(dirs.demo, "make demo"):
            pass
        assert "another make demo is using" in str(refused.value)
        assert "\n" not in str(refused.value)
        with demo.claimed(dirs.session, "make local-up session"):
            pass  # a session and a demo run side by side
    with demo.claimed(dirs.demo, "make demo"):
        pass  # released when the first demo ended


def test_a_restart_keeps_the_port_when_it_is_free() -> None:
    record = {"port": 4567, "endpoint_url": "http://127.0.0.1:4567", "stopped": True}
    assert emulator_module.previous_port(record, is_free=lambda port: True) == 4567
    assert emulator_module.previous_port(record, is_free=lambda port: False) == 0
    assert emulator_module.previous_port(None, is_free=lambda port: True) == 0


def test_a_restart_says_what_was_lost() -> None:
    assert demo.restart_note(None, 0) is None
    note = demo.restart_note({"port": 4567}, 4567)
    assert note is not None
    assert "same port 4567" in note
    for lost in ("buckets", "uploads", "runs", "models", "endpoints", "upload your data again"):
        assert lost in note
    moved = demo.restart_note({"port": 4567}, 0)
    assert moved is not None and "port 4567 was taken" in moved


def test_down_keeps_the_port_but_never_the_pid(tmp_path: Path) -> None:
    state_file = tmp_path / "emulator.json"
    _record(state_file, pid=DEAD_PID, port=4567, endpoint_url="http://127.0.0.1:4567", log="/x.log")

    assert emulator_module.down(state_file) is False  # it was not running

    record = emulator_module.read_record(state_file)
    assert record == {
        "port": 4567,
        "endpoint_url": "http://127.0.0.1:4567",
        "log": "/x.log",
        "stopped": True,
    }
    assert emulator_module.read_state(state_file) is None


def test_status_of_a_dead_emulator_names_its_log(tmp_path: Path) -> None:
    state_file = tmp_path / "emulator.json"
    _record(state_file, pid=DEAD_PID, port=4567, endpoint_url="http://127.0.0.1:4567", log="/x.log")
    line, code = emulator_module.status_line(state_file)
    assert code == 1
    assert line.startswith("the emulator at http://127.0.0.1:4567 stopped answering")
    assert "its log is /x.log" in line and "make local-up" in line

    emulator_module.down(state_file)
    assert emulator_module.status_line(state_file) == (
        "emulator not running: make local-up starts it",
        1,
    )
    assert emulator_module.status_line(tmp_path / "none.json")[1] == 1


def test_gone_message_is_one_line_with_the_log_and_what_to_do() -> None:
    line = emulator_module.gone_message("http://127.0.0.1:5", Path("/w/emulator.log"), -9)
    assert "\n" not in line
    assert "http://127.0.0.1:5" in line
    assert "exited with code -9" in line
    assert "its log is /w/emulator.log" in line
    assert "make local-up" in line


def test_local_down_of_a_crashed_emulator_names_its_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state_file = tmp_path / "emulator.json"
    _record(state_file, pid=DEAD_PID, port=4567, endpoint_url="http://127.0.0.1:4567", log="/x.log")

    assert emulator_module.main(["down", "--state-file", str(state_file)]) == 0

    [line] = capsys.readouterr().out.splitlines()
    assert "stopped answering" in line and "its log is /x.log" in line
