"""Two functions shipping the same code never share a module: each has its own execution
environments (``emulator/aws/lambda_.py`` ``load_handler``), so what a module keeps (a client
made with its function's credentials, a setting read once) stays its own function's."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from emulator.tests.helpers import lambda_role, zip_files

pytestmark = pytest.mark.integration

#: Caches, at module level, the first invocation's environment (as a handler caches its clients).
CACHING_HANDLER = """
import functools, os

@functools.lru_cache(maxsize=1)
def first_seen():
    return os.environ["MARKER"]

def lambda_handler(event, context):
    return {"marker": first_seen(), "function": context.function_name}
"""


def test_functions_sharing_a_zip_keep_their_own_module_state(
    clients: Callable[[str], Any],
) -> None:
    lam, code = clients("lambda"), zip_files({"app.py": CACHING_HANDLER})
    role = lambda_role(clients("iam"))
    for name in ("first", "second"):
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.lambda_handler",
            Code={"ZipFile": code},
            Environment={"Variables": {"MARKER": f"{name}-marker"}},
        )

    answers = {
        name: json.loads(lam.invoke(FunctionName=name)["Payload"].read())
        for name in ("first", "second", "first")
    }

    assert answers == {
        "first": {"marker": "first-marker", "function": "first"},
        "second": {"marker": "second-marker", "function": "second"},
    }
