"""make destroy with fake AWS clients: what it lists, that it asks once, the order it deletes in,
and that only then Terraform destroys the rest."""

from __future__ import annotations

import pytest

from ops import destroy
from ops.errors import ConfigError, OperationError
from tests.helpers.fake_aws import (
    BUCKET,
    ENDPOINT,
    GROUP,
    TRAINING,
    FakeClients,
    FakeExecution,
    context,
)


@pytest.fixture
def clients() -> FakeClients:
    """What a project's runs leave behind, and things of others in the same account."""
    fake = FakeClients()
    sagemaker = fake.sagemaker
    first = sagemaker.add_package(1, "Approved")
    second = sagemaker.add_package(2, "Approved")
    sagemaker.serve(first, "proj-v1-0123abcd")
    sagemaker.serve(second, "proj-v2-89abcdef")  # the endpoint now uses v2's config
    # Not the project's deployments: another project sharing the prefix, and a hand-made model.
    sagemaker.models["proj-local-v1-0123abcd"] = {"ModelName": "proj-local-v1-0123abcd"}
    sagemaker.models["proj-notebook"] = {"ModelName": "proj-notebook"}
    fake.cloudwatch.alarms = [f"{ENDPOINT}-rollback-proj-v2-89abcdef-model-5xx", "proj-other"]
    fake.logs.groups = [f"/aws/sagemaker/Endpoints/{ENDPOINT}", "/aws/sagemaker/Endpoints/x"]
    fake.s3.put("data/raw/iris.csv", "a")
    fake.s3.put("data/raw/iris.csv", "b")
    fake.s3.delete_marker("data/raw/iris.csv")
    fake.sfn.add(FakeExecution("s3-iris-1", TRAINING, status="RUNNING"))
    return fake


def test_destroy_lists_asks_once_then_deletes_in_a_safe_order(clients: FakeClients) -> None:
    ctx = context(clients, ["destroy"], stdin="y\n")
    ran: list[str] = []

    def terraform() -> int:
        ran.append("terraform destroy")
        return 0

    result = destroy.run(ctx, terraform=terraform)

    listed = ctx.progress.getvalue()
    assert "1 running executions (stopped first)" in listed
    assert f"endpoint: {ENDPOINT}" in listed
    assert (
        "2 endpoint configs the deployments created: proj-v1-0123abcd, proj-v2-89abcdef" in listed
    )
    assert "2 models the deployments created: proj-v1-0123abcd, proj-v2-89abcdef" in listed
    assert f"bucket {BUCKET}: 2 object versions (2 bytes) and 1 delete markers" in listed
    assert "Terraform's bucket has no force_destroy" in listed
    assert ctx.ask.getvalue().count("[y/N]") == 1
    order = [name for name, _ in clients.sagemaker.calls]
    assert order.index("delete_endpoint") < order.index("delete_endpoint_config")
    assert order.index("delete_endpoint") < order.index("delete_model")
    assert max(i for i, n in enumerate(order) if n == "delete_model_package") < order.index(
        "delete_model_package_group"
    )
    assert clients.sfn.called("stop_execution")[0]["cause"] == "make destroy"
    assert clients.sagemaker.endpoints == {}
    assert set(clients.sagemaker.models) == {"proj-local-v1-0123abcd", "proj-notebook"}
    assert clients.sagemaker.configs == {} and clients.sagemaker.packages == {}
    assert GROUP not in clients.sagemaker.groups
    assert clients.cloudwatch.alarms == ["proj-other"]
    assert clients.logs.groups == ["/aws/sagemaker/Endpoints/x"]
    assert clients.s3.versions == []
    assert ran == ["terraform destroy"]
    assert result.text == "destroyed: nothing of the project is left in the account"


def test_destroy_without_confirmation_deletes_nothing(clients: FakeClients) -> None:
    with pytest.raises(ConfigError, match="not confirmed"):
        destroy.run(context(clients, ["destroy"], stdin=""), terraform=lambda: 0)
    assert clients.sagemaker.calls == [] and clients.s3.called("delete_objects") == []


def test_yes_does_not_ask(clients: FakeClients) -> None:
    ctx = context(clients, ["destroy", "--yes"])
    destroy.run(ctx, terraform=lambda: 0)
    assert ctx.ask.getvalue() == ""


def test_a_failed_terraform_destroy_says_what_stays_done(clients: FakeClients) -> None:
    with pytest.raises(OperationError, match=r"destroy failed .exit 1.: what was deleted"):
        destroy.run(context(clients, ["destroy", "--yes"]), terraform=lambda: 1)
    assert clients.sagemaker.endpoints == {}


def test_an_empty_account_destroys_cleanly() -> None:
    fake = FakeClients()
    fake.sagemaker.groups.clear()
    ctx = context(fake, ["destroy", "--yes"])
    destroy.run(ctx, terraform=lambda: 0)
    listed = ctx.progress.getvalue()
    assert "endpoint: none" in listed and "model package group: none" in listed


def test_refused_object_deletions_are_named() -> None:
    class Refusing:
        def list_object_versions(self, **_: object) -> dict[str, object]:
            return {"Versions": [{"Key": "k", "VersionId": "1"}]}

        def delete_objects(self, **_: object) -> dict[str, object]:
            return {"Errors": [{"Key": "k", "Code": "AccessDenied", "Message": "no"}]}

    with pytest.raises(OperationError, match=r"refused to delete 1 of 1 .* k .AccessDenied: no."):
        destroy.empty_bucket(Refusing(), "b")
