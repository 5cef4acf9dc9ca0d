"""Day-2 operations CLI: start, status, logs, models, approve, predict, endpoint-down.

``python -m ops <command>`` (behind ``make`` targets) reads resource names from the Terraform
outputs and talks to AWS, or to the local emulator when ``AWS_ENDPOINT_URL`` points at it.
"""
