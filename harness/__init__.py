"""The harness: what composes the product and the emulator for ``make demo``, ``make local-up``
and ``make bench`` on one machine."""
