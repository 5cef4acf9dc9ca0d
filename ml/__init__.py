"""Iris ML code: data preparation, training/serving and evaluation scripts for SageMaker.

`prepare.py`, `train.py` and `evaluate.py` each run alone inside a SageMaker container, so they
never import each other or anything else from this repository; the package exists so that tests
and the pipeline generator can import them (e.g. `from ml.train import CLASS_NAMES`).
"""
