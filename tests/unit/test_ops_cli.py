"""The operations CLI's contract, without AWS: where outputs come from, global options before or
after the command, the target printed first, --json, one exit-code table, one-line failures,
Ctrl-C."""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from ops import cli
from ops.errors import EXIT_CODES, ConfigError, EndpointUnreachable, Exit
from ops.outputs import (
    NOT_FOUND,
    load_outputs,
    parse_outputs,
    region_from_arn,
    require,
    resolve_region,
    terraform_reason,
)
from tests.helpers.fake_aws import (
    ACCOUNT,
    CALLER,
    ENDPOINT,
    OUTPUTS,
    FakeClients,
    error,
)

ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- outputs


def test_parse_outputs_accepts_terraform_shape_and_plain_values() -> None:
    wrapped = json.dumps({"bucket_name": {"value": "b", "type": "string", "sensitive": False}})
    assert parse_outputs(wrapped, "f") == {"bucket_name": "b"}
    assert parse_outputs(json.dumps({"bucket_name": "b", "n": 3}), "f") == {
        "bucket_name": "b",
        "n": 3,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [("{}", "Terraform outputs not found"), ("not json", "is not JSON"), ("[1, 2]", "JSON object")],
)
def test_parse_outputs_rejects_empty_and_malformed(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_outputs(text, "outputs.json")


def test_load_outputs_prefers_the_given_file_then_the_env(tmp_path: Path) -> None:
    given, from_env = tmp_path / "a.json", tmp_path / "b.json"
    given.write_text(json.dumps({"x": {"value": "given"}}))
    from_env.write_text(json.dumps({"x": {"value": "env"}}))
    env = {"MLOPS_TF_OUTPUTS": str(from_env)}

    def no_terraform(*_: Any, **__: Any) -> Any:
        raise AssertionError("terraform must not run when a file is given")

    assert load_outputs(str(given), env, runner=no_terraform) == {"x": "given"}
    assert load_outputs(None, env, runner=no_terraform) == {"x": "env"}
    with pytest.raises(ConfigError, match=re.escape(NOT_FOUND)):
        load_outputs(str(tmp_path / "missing.json"), {}, runner=no_terraform)


def test_load_outputs_runs_terraform_output_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ops.outputs.shutil.which", lambda _: "/usr/bin/terraform")
    calls: list[list[str]] = []

    def runner(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        body = json.dumps({"endpoint_name": {"value": "ep"}})
        return subprocess.CompletedProcess(command, 0, stdout=body, stderr="")

    assert load_outputs(None, {}, terraform_dir=tmp_path, runner=runner) == {"endpoint_name": "ep"}
    assert calls == [["terraform", f"-chdir={tmp_path}", "output", "-json", "-no-color"]]


@pytest.mark.parametrize(
    ("returncode", "stdout", "stderr", "reason"),
    [
        (0, "{}\n", "", "has no outputs"),
        (
            1,
            "",
            "\u2577\n\u2502 Warning: x\n\u2575\n\nError: Backend initialization required\n",
            "Backend initialization required",
        ),
    ],
)
def test_load_outputs_explains_missing_state(
    monkeypatch: pytest.MonkeyPatch, returncode: int, stdout: str, stderr: str, reason: str
) -> None:
    monkeypatch.setattr("ops.outputs.shutil.which", lambda _: "/usr/bin/terraform")

    def runner(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, returncode, stdout=stdout, stderr=stderr)

    with pytest.raises(ConfigError) as raised:
        load_outputs(None, {}, runner=runner)
    assert str(raised.value).startswith(NOT_FOUND)
    assert reason in str(raised.value)


def test_load_outputs_without_terraform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ops.outputs.shutil.which", lambda _: None)
    with pytest.raises(ConfigError, match="terraform is not installed"):
        load_outputs(None, {})


def test_terraform_reason_falls_back_to_the_last_line() -> None:
    assert terraform_reason("Error: No state\nmore") == "No state"
    assert terraform_reason("something odd\n\n") == "something odd"
    assert terraform_reason("") == "terraform output failed"


def test_require_names_the_missing_output() -> None:
    assert require({"endpoint_name": "ep"}, "endpoint_name") == "ep"
    with pytest.raises(ConfigError, match="`endpoint_name` is missing"):
        require({"endpoint_name": ""}, "endpoint_name")


def test_region_order_flag_env_then_outputs() -> None:
    arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:t"
    outputs = {"training_state_machine_arn": arn}
    assert resolve_region("ap-south-1", {"AWS_REGION": "us-east-2"}, outputs) == "ap-south-1"
    assert resolve_region(None, {"AWS_REGION": "us-east-2"}, outputs) == "us-east-2"
    assert resolve_region(None, {"AWS_DEFAULT_REGION": "us-west-2"}, outputs) == "us-west-2"
    assert resolve_region(None, {}, {"stack_region": "sa-east-1", **outputs}) == "sa-east-1"
    assert resolve_region(None, {}, outputs) == "eu-west-1"
    assert resolve_region(None, {}, {}) is None
    assert region_from_arn("not-an-arn") is None


# ----------------------------------------------------------------------------- the CLI


@pytest.fixture
def outputs_file(tmp_path: Path) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({k: {"value": v} for k, v in OUTPUTS.items()}))
    return path


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> FakeClients:
    """The CLI's clients, faked: whatever region and endpoint the CLI resolves."""
    fake = FakeClients()

    def make(region: str, endpoint_url: str | None) -> FakeClients:
        fake.region, fake.endpoint_url = region, endpoint_url
        return fake

    monkeypatch.setattr(cli, "Clients", make)
    return fake


def run_cli(
    argv: list[str], env: dict[str, str] | None = None, stdin: str = ""
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(argv, env=env or {}, out=out, err=err, stdin=io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()


def test_every_command_prints_its_target_first_on_stderr(
    clients: FakeClients, outputs_file: Path
) -> None:
    code, out, err = run_cli(["models", "--outputs", str(outputs_file)])
    assert code == 0
    first = err.splitlines()[0]
    assert first == (
        f"target: account {ACCOUNT}, region us-east-1, endpoint "
        "https://api.sagemaker.us-east-1.amazonaws.com (AWS; each service at its regional "
        "endpoint)"
    )
    assert "target:" not in out
    code, _, err = run_cli(
        ["models", "--outputs", str(outputs_file), "--endpoint-url", "http://127.0.0.1:5000"]
    )
    assert "endpoint http://127.0.0.1:5000 (AWS_ENDPOINT_URL / --endpoint-url" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--json", "--region", "eu-west-1", "models", "--outputs", "{file}"],
        ["models", "--json", "--region", "eu-west-1", "--outputs", "{file}"],
        [
            "--region",
            "us-west-2",
            "--outputs",
            "{file}",
            "models",
            "--region",
            "eu-west-1",
            "--json",
        ],
    ],
)
def test_global_options_before_or_after_the_command(
    clients: FakeClients, outputs_file: Path, argv: list[str]
) -> None:
    code, out, err = run_cli([a.replace("{file}", str(outputs_file)) for a in argv])
    assert code == 0, err
    document = json.loads(out)  # stdout is the JSON object and nothing else
    assert document["command"] == "models"
    assert document["exit_code"] == 0
    assert document["result"]["group"] == OUTPUTS["model_package_group_name"]
    assert clients.region == "eu-west-1"  # after the command wins over before it


def test_json_of_a_failure_is_one_object_with_the_error(
    clients: FakeClients, outputs_file: Path
) -> None:
    clients.sagemaker.groups.clear()
    code, out, err = run_cli(["--json", "models", "--outputs", str(outputs_file)])
    assert code == Exit.NOT_FOUND
    document = json.loads(out)
    assert document["exit_code"] == Exit.NOT_FOUND
    assert "does not exist: run `make deploy` first" in document["error"]
    assert err.splitlines()[-1] == document["error"]


def test_ctrl_c_is_one_line_and_exit_130(
    clients: FakeClients, outputs_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(**_: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(clients.sagemaker, "list_model_packages", interrupted)
    code, out, err = run_cli(["models", "--outputs", str(outputs_file)])
    assert code == Exit.INTERRUPTED == 130
    assert out == ""
    assert err.splitlines()[-1] == cli.INTERRUPTED
    assert "Traceback" not in err


def test_the_exit_code_table_is_documented_as_it_is() -> None:
    page = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for code, meaning in EXIT_CODES:
        assert f"| {int(code)} | `{code.name}` | {meaning} |" in page
    assert [int(c) for c, _ in EXIT_CODES] == sorted(int(c) for c in Exit)


def test_cli_without_credentials_says_what_to_do(
    outputs_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    code, out, err = run_cli(
        ["status", "--outputs", str(outputs_file), "--endpoint-url", "http://127.0.0.1:9"]
    )

    assert (code, out) == (Exit.USAGE, "")
    assert err.strip() == f"error: {cli.NO_CREDENTIALS}"


def test_cli_without_outputs_exits_2(tmp_path: Path) -> None:
    code, _, err = run_cli(["models"], {"MLOPS_TF_OUTPUTS": str(tmp_path / "nope.json")})
    assert code == Exit.USAGE
    assert err.startswith(f"error: {NOT_FOUND}")


def test_cli_missing_output_and_region(clients: FakeClients, tmp_path: Path) -> None:
    path = tmp_path / "o.json"
    path.write_text(json.dumps({"bucket_name": {"value": "b"}}))
    code, _, err = run_cli(["predict", "--outputs", str(path), "--region", "us-east-1"])
    assert (code, err.splitlines()[-1]) == (
        Exit.USAGE,
        "error: Terraform output `endpoint_name` is missing: re-run `make deploy` "
        "(or fix --outputs)",
    )
    code, _, err = run_cli(["predict", "--outputs", str(path)])
    assert (code, err.strip()) == (2, "error: No AWS region: pass --region or set AWS_REGION")


@pytest.mark.parametrize(
    "argv",
    [
        ["status", "--limit", "0"],
        ["frobnicate"],
        [],
        ["train", "--data", "x.csv"],
        ["start", "--set", "novalue"],
        ["approve", "--timeout", "-1"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.main(argv, env={})
    assert raised.value.code == Exit.USAGE
    assert "usage:" in capsys.readouterr().err


def test_client_errors_become_one_line() -> None:
    message, code = cli.describe_client_error(
        error("AccessDeniedException", "not allowed", "ListExecutions")
    )
    assert (message, code) == ("AWS error in ListExecutions: AccessDeniedException: not allowed", 1)
    message, code = cli.describe_client_error(error("ExpiredToken", "expired"))
    assert code == Exit.USAGE
    assert "AWS rejected the credentials (ExpiredToken)" in message


def test_an_unreachable_endpoint_without_a_known_log_still_says_what_to_do() -> None:
    failure = EndpointConnectionError(endpoint_url="https://states.eu-west-1.amazonaws.com/")
    found = cli.unreachable(failure, {})
    assert isinstance(found, EndpointUnreachable)
    assert str(found) == (
        "cannot reach https://states.eu-west-1.amazonaws.com: is the emulator running "
        "(make local-up)? is the region right?"
    )


def _dead_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("argv", [["status"], ["models"], ["predict"], ["logs"], ["start"]])
def test_a_dead_emulator_is_one_line_naming_its_log(
    outputs_file: Path, argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # refused at once, not after botocore's retries
    url = f"http://127.0.0.1:{_dead_port()}"
    env = {"MLOPS_EMULATOR_LOG": "/repo/.local/session/emulator.log"}

    code, out, err = run_cli([*argv, "--outputs", str(outputs_file), "--endpoint-url", url], env)

    assert (code, out) == (Exit.FAILED, "")
    assert err.count("\n") == 1, err
    assert err.startswith(f"error: the emulator at {url} is not answering")
    assert "its log is /repo/.local/session/emulator.log" in err


def test_start_wait_prints_the_run_before_the_wait_fails(
    clients: FakeClients, outputs_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def gone(**_: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:5")

    monkeypatch.setattr(clients.sfn, "describe_execution", gone)
    code, out, err = run_cli(
        ["start", "--wait", "--outputs", str(outputs_file)], {"MLOPS_EMULATOR_LOG": "/log"}
    )
    assert code == Exit.FAILED
    assert re.search(r"queued training request [0-9a-f-]+: run run-make-start-[0-9a-f]{16}", out)
    assert err.splitlines()[-1].startswith("error: the emulator at http://127.0.0.1:5")


def test_a_wait_past_its_deadline_exits_4(
    clients: FakeClients, outputs_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ops.follow.time.sleep", lambda seconds: None)
    code, _, err = run_cli(
        ["start", "--wait", "--timeout", "0.001", "--poll", "0.001", "--outputs", str(outputs_file)]
    )
    assert code == Exit.TIMEOUT
    assert re.search(r"execution run-make-start-\w+ has not started after \d+ s; it goes on", err)


def test_a_refused_confirmation_exits_2_and_changes_nothing(
    clients: FakeClients, outputs_file: Path
) -> None:
    arn = clients.sagemaker.add_package(1, "PendingManualApproval")
    code, out, err = run_cli(["approve", "--outputs", str(outputs_file)], stdin="n\n")
    assert code == Exit.USAGE
    assert f"Approve model package v1 and deploy it to {ENDPOINT}? [y/N]" in err
    assert "not confirmed: nothing was changed (YES=1 skips the question)" in err
    assert clients.sagemaker.packages[arn]["ModelApprovalStatus"] == "PendingManualApproval"
    assert f"model package v1 ({arn})" in out  # the comparison came first


def test_the_caller_is_recorded_as_who_asked(clients: FakeClients, outputs_file: Path) -> None:
    code, _, _ = run_cli(["start", "--outputs", str(outputs_file)])
    assert code == 0
    [sent] = clients.sqs.sent()
    assert sent["Body"]["detail"]["requested_by"] == CALLER


def test_an_aws_error_is_one_line(
    clients: FakeClients, outputs_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "SendMessage")

    monkeypatch.setattr(clients.sqs, "send_message", denied)
    code, out, err = run_cli(["start", "--outputs", str(outputs_file)])
    assert (code, out) == (Exit.FAILED, "")
    assert err.splitlines()[-1] == "error: AWS error in SendMessage: AccessDenied: no"
