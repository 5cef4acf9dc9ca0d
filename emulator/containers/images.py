"""Which SageMaker image a URI names: the one home of the XGBoost image's repository pattern.

The tuner (which reads the XGBoost image's built-in metrics) and the interpreter choice (which
runs that image's jobs under its xgboost) both recognise the image here.
"""

from __future__ import annotations

import re

#: Repository of the SageMaker XGBoost image in every region's ECR registry
#: (``<account>.dkr.ecr.<region>.amazonaws.com[.cn]/sagemaker-xgboost:<version>``).
XGBOOST_IMAGE = re.compile(
    r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/sagemaker-xgboost[:@]"
)


def is_xgboost_image(image_uri: str) -> bool:
    return bool(XGBOOST_IMAGE.match(image_uri or ""))
