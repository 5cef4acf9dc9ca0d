"""ML code for any tabular dataset: data preparation, training/serving and evaluation scripts.

`prepare.py`, `train.py` and `evaluate.py` each run inside a SageMaker container with only their
own code beside them (a bundle of ml/code_bundles.json, or train.py's sourcedir: their modules
and the contracts package), so they never import each other; the dataset's names (label,
features, classes) travel between them as data, in the contract prepare.py writes
(`contract.json`). The package exists so that tests and the pipeline generator can import them.
"""
