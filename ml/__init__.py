"""ML code for any tabular dataset: data preparation, training/serving and evaluation scripts.

`prepare.py`, `train.py` and `evaluate.py` each run alone inside a SageMaker container, so they
never import each other or anything else from this repository; the dataset's names (label,
features, classes) travel between them as data, in the contract prepare.py writes
(`contract.json`). The package exists so that tests and the pipeline generator can import them.
"""
