"""Operations of the deployed stack, behind the ``make`` targets: train, start, status, logs,
models, approve, reject, rollback, predict, report, traffic, monitor, endpoint-down, destroy.

``python -m ops`` reads resource names from the Terraform outputs and talks to AWS, or to the
local emulator when ``AWS_ENDPOINT_URL`` points at it. ``ops.cli`` parses and prints; one module
per command holds its logic, with the clients passed in; docs/operations.md documents them.
"""
