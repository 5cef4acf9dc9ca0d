"""Contracts shared by the product: the one home of every fact that crosses a boundary.

Standard library only and Python 3.9-compatible: this package ships inside the code the SageMaker
containers and the Lambdas receive, as well as being imported by the state machine builders, the
ops CLI and the local harness. ``contracts/README.md`` describes each contract.

- ``execution_input``: the training execution input's schema (``execution_input.json``) and its
  checking and normalization.
- ``dataset``: the dataset contract (``contract.json``), the endpoint's API.
- ``evaluation``: ``evaluation.json``'s reader, the gate and ``summary.json``.
- ``failures``: the container failure message and the data-error marker.
"""
