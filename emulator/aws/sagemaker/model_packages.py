"""Model packages as SageMaker keeps them, and the events their changes emit.

``UpdateModelPackage`` leaves the fields a request omits unchanged (moto resets them);
``DeleteModelPackage`` and ``DeleteModelPackageGroup`` exist (``make destroy``, Terraform);
creating a model package or changing its approval emits "SageMaker Model Package State Change"
to EventBridge. Tested in ``emulator/tests/test_aws_sagemaker.py`` and ``test_event_delivery.py``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.sagemaker import models as sm_models
from moto.sagemaker.responses import SageMakerResponse

LOGGER = logging.getLogger(__name__)
MODEL_PACKAGE_DETAIL_TYPE = "SageMaker Model Package State Change"


def _delete_model_package_group(self: Any) -> ActionResult:
    """DeleteModelPackageGroup. AWS documents one error, ConflictException, without saying when;
    the stricter reading is modelled: a group that still holds model versions is not deleted
    (delete them first, as ``make destroy`` does)."""
    from moto.sagemaker.exceptions import ConflictException, ValidationError

    backend = self.sagemaker_backend
    name = self._get_param("ModelPackageGroupName")
    if name.startswith("arn:"):
        name = name.rsplit("/", 1)[-1]
    if name not in backend.model_package_groups:
        raise ValidationError(f"Model Package Group {name} does not exist.")
    if any(p.model_package_group_name == name for p in backend.model_packages.values()):
        raise ConflictException(
            f"Model Package Group {name} still contains model packages: delete them first."
        )
    del backend.model_package_groups[name]
    return ActionResult({})


def _delete_model_package(self: Any) -> ActionResult:
    """DeleteModelPackage (moto has none): by name or ARN (botocore's DeleteModelPackageInput,
    a versioned package by its ARN); an unknown package is a ValidationException, as
    DescribeModelPackage answers it."""
    from moto.sagemaker.exceptions import ValidationError

    backend = self.sagemaker_backend
    given = self._get_param("ModelPackageName")
    arn = backend.model_package_name_mapping.get(given, given)
    if backend.model_packages.pop(arn, None) is None:
        raise ValidationError(f"Model Package {given} does not exist.")
    for key in [k for k, v in backend.model_package_name_mapping.items() if v == arn]:
        del backend.model_package_name_mapping[key]
    return ActionResult({})


def _update_model_package(original: Callable[..., str]) -> Callable[..., str]:
    """AWS leaves the fields a request omits unchanged; moto resets them to None."""

    def update(
        self: Any,
        model_package_arn: str,
        model_approval_status: str | None,
        approval_description: str | None,
        customer_metadata_properties: Any,
        customer_metadata_properties_to_remove: list[str] | None,
        additional_inference_specifications_to_add: Any,
    ) -> str:
        name = self.model_package_name_mapping.get(model_package_arn, model_package_arn)
        package = self.model_packages.get(name)
        if package is not None:
            if model_approval_status is None:
                model_approval_status = package.model_approval_status
            if approval_description is None:
                approval_description = package.approval_description
            merged = dict(package.customer_metadata_properties or {})
            merged.update(customer_metadata_properties or {})
            customer_metadata_properties = merged
        return original(
            self,
            model_package_arn,
            model_approval_status,
            approval_description,
            customer_metadata_properties,
            customer_metadata_properties_to_remove or [],
            additional_inference_specifications_to_add,
        )

    return update


def model_package_event(package: Any) -> dict[str, Any]:
    """The PutEvents entry of SageMaker's "Model Package State Change" for ``package``."""
    created = package.creation_time
    detail = {
        "ModelPackageGroupName": package.model_package_group_name,
        "ModelPackageVersion": package.model_package_version,
        "ModelPackageArn": package.arn,
        "ModelPackageName": package.model_package_name,
        "ModelApprovalStatus": package.model_approval_status,
        "ModelPackageStatus": package.model_package_status,
        "CreationTime": int(created.timestamp() * 1000) if created else None,
    }
    return {
        "Source": "aws.sagemaker",
        "DetailType": MODEL_PACKAGE_DETAIL_TYPE,
        "Detail": json.dumps(detail),
        "Resources": [package.arn],
    }


def _emit_model_package_event(backend: Any, arn: str) -> None:
    from moto.events.models import events_backends

    try:
        package = backend.model_packages[arn]
        events = events_backends[backend.account_id][backend.region_name]
        events.put_events([model_package_event(package)])
    except Exception:  # SageMaker emits asynchronously: the API call itself never fails
        LOGGER.exception("Model Package State Change for %s not emitted", arn)


def _create_model_package_emits(original: Callable[..., str]) -> Callable[..., str]:
    def create(self: Any, *args: Any, **kwargs: Any) -> str:
        arn = original(self, *args, **kwargs)
        _emit_model_package_event(self, arn)
        return arn

    return create


def _update_model_package_emits(original: Callable[..., str]) -> Callable[..., str]:
    def update(self: Any, model_package_arn: str, *args: Any, **kwargs: Any) -> str:
        key = self.model_package_name_mapping.get(model_package_arn, model_package_arn)
        package = self.model_packages.get(key)
        before = package.model_approval_status if package is not None else None
        arn = original(self, model_package_arn, *args, **kwargs)
        if self.model_packages[arn].model_approval_status != before:
            _emit_model_package_event(self, arn)
        return arn

    return update


def install() -> None:
    """UpdateModelPackage keeps omitted fields; DeleteModelPackageGroup; the change events."""
    backend = sm_models.SageMakerModelBackend
    backend.update_model_package = _update_model_package(  # type: ignore[method-assign]
        backend.update_model_package
    )
    SageMakerResponse.delete_model_package_group = _delete_model_package_group  # type: ignore[attr-defined]
    SageMakerResponse.delete_model_package = _delete_model_package  # type: ignore[attr-defined]
    backend.create_model_package = _create_model_package_emits(  # type: ignore[method-assign]
        backend.create_model_package
    )
    backend.update_model_package = _update_model_package_emits(  # type: ignore[method-assign]
        backend.update_model_package
    )
