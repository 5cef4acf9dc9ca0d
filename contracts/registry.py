"""What a SageMaker model package can hold: the bounds of its description and metadata values.

From botocore's sagemaker service model:

- ``EntityDescription`` (``ModelPackageDescription``): at most 1,024 characters of
  ``[\\p{L}\\p{M}\\p{Z}\\p{S}\\p{N}\\p{P}]*``;
- ``CustomerMetadataValue``: at most 256 characters of ``[\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@]*``;
- ``CustomerMetadataKey``: 1 to 128 characters of the same classes;
- ``CustomerMetadataMap``: at most 50 entries.

Every value the training machine registers is built here or checked here, so registration never
fails on a label, a long key or a character after the whole pipeline has run.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

DESCRIPTION_MAX = 1024
METADATA_VALUE_MAX = 256
METADATA_KEY_MAX = 128
METADATA_ENTRIES_MAX = 50
#: The punctuation a metadata value may hold besides letters (L), separators (Z), numbers (N).
METADATA_PUNCTUATION = ("_", ".", ":", "/", "=", "+", "-", "@")
#: How the class names are joined into one metadata value, in label-index order.
CLASS_NAMES_SEPARATOR = " / "
CLASS_NAMES_ELSEWHERE = (
    "not storable here: see dataset_contract.class_names in the evaluation report"
)
ELLIPSIS = "..."


def metadata_safe(text: str) -> bool:
    """Whether a model package metadata value may hold ``text`` (the pattern above, as
    Unicode general categories)."""
    return all(unicodedata.category(c)[0] in "LZN" or c in METADATA_PUNCTUATION for c in text)


def description_safe(text: str) -> bool:
    """Letters, marks, separators, symbols, numbers and punctuation: no control characters."""
    return all(unicodedata.category(c)[0] in "LMZSNP" for c in text)


def metadata_value(text: object) -> str:
    """``text`` as a storable metadata value: unstorable characters become ``_``, and a value over
    the limit is cut, ending in ``...``."""
    cleaned = "".join(
        c if (unicodedata.category(c)[0] in "LZN" or c in METADATA_PUNCTUATION) else "_"
        for c in str(text)
    )
    return shorten(cleaned, METADATA_VALUE_MAX)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def description(parts: Iterable[str]) -> str:
    """A model package description from ``parts`` (joined by ``; ``), cleaned and bounded."""
    text = "; ".join(part for part in parts if part)
    cleaned = "".join(c if unicodedata.category(c)[0] in "LMZSNP" else " " for c in text)
    return shorten(cleaned, DESCRIPTION_MAX)


def class_names_value(class_names: Sequence[str]) -> str:
    """The class names as one metadata value, in label-index order, joined by `` / ``.

    A name the metadata cannot hold (a forbidden character, a ``/`` that would make the list
    ambiguous) or a list over 256 characters gives a pointer to the report instead.
    """
    names = [str(name) for name in class_names]
    text = CLASS_NAMES_SEPARATOR.join(names)
    if any("/" in name for name in names) or not metadata_safe(text):
        return CLASS_NAMES_ELSEWHERE
    return text if len(text) <= METADATA_VALUE_MAX else CLASS_NAMES_ELSEWHERE


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def checked_metadata(values: Mapping[str, object]) -> dict[str, str]:
    """``values`` as CustomerMetadataProperties, every key and value within botocore's bounds."""
    if len(values) > METADATA_ENTRIES_MAX:
        raise ValueError(f"{len(values)} metadata entries; a model package holds at most 50")
    out: dict[str, str] = {}
    for key, value in values.items():
        if not (0 < len(key) <= METADATA_KEY_MAX and metadata_safe(key)):
            raise ValueError(f"metadata key {key!r} is not storable")
        text = value if isinstance(value, str) else format_value(value)
        if not (len(text) <= METADATA_VALUE_MAX and metadata_safe(text)):
            raise ValueError(f"metadata value of {key} is not storable: {text[:40]!r}")
        out[key] = text
    return out


def format_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
