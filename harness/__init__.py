"""The harness: what composes the product and the emulator for ``make demo``, ``make local-up``
and ``make bench`` on one machine.

``demo.py`` runs the whole system (the emulator, ``terraform apply`` of the real ``terraform/``
with the overrides in ``harness/terraform/``, the real state machines); ``terraform_local.py``
applies Terraform to the emulator; ``run_report.py`` writes the demo's report per run with the
product's renderer; ``preflight.py`` and ``evidence.py`` check the machine first and keep what a
failed run leaves.
"""
