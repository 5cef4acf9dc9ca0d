"""The trigger: one queue runner for the two FIFO request queues (uploads -> the training
machine, deployments -> the deployment machine), one execution at a time per queue, in order.

In the Lambda zip its modules sit at the root beside the ``contracts`` package
(``devtools/build.py``); this file exists so the tests can import the code as ``lambdas.trigger``.
"""
