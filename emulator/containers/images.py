"""Which SageMaker image a URI names: the one home of the images' repository patterns.

The tuner (which reads the XGBoost image's built-in metrics) and the interpreter choice (which
runs each image's jobs under its own environment) both recognise the images here.
"""

from __future__ import annotations

import re

#: An image in a region's ECR registry: ``<account>.dkr.ecr.<region>.amazonaws.com[.cn]/``.
_REGISTRY = r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/"
#: Repository of the SageMaker XGBoost image (``sagemaker-xgboost:<version>``).
XGBOOST_IMAGE = re.compile(_REGISTRY + r"sagemaker-xgboost[:@]")
#: Repository of the SageMaker scikit-learn image (``sagemaker-scikit-learn:<version>-cpu-py3``).
SKLEARN_IMAGE = re.compile(_REGISTRY + r"sagemaker-scikit-learn[:@]")


def is_xgboost_image(image_uri: str) -> bool:
    return bool(XGBOOST_IMAGE.match(image_uri or ""))


def is_sklearn_image(image_uri: str) -> bool:
    return bool(SKLEARN_IMAGE.match(image_uri or ""))


def image_tag(image_uri: str) -> str:
    """The tag of ``repository:tag`` (``1.7-1``, ``1.2-1-cpu-py3``); '' for a digest."""
    last = (image_uri or "").rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""
