"""The harness: what composes the product and the emulator for ``make demo`` and ``make local-up``.

``demo.py`` runs the whole system on one machine (the emulator, ``terraform apply`` of the real
``terraform/`` with the overrides in ``terraform/``, the real state machine); ``terraform_local.py``
applies Terraform to the emulator; ``report.py`` writes the demo's HTML report.
"""
