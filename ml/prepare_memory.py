"""How much memory prepare.py may use and needs: an input that cannot fit is refused before it
is read, with the processing instance that would hold it.

Shipped beside prepare.py (ml/code_bundles.json): standard library only, Python 3.9 compatible.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Sequence
from pathlib import Path

try:
    from .prepare_errors import DataValidationError, files_text
except ImportError:
    from prepare_errors import DataValidationError, files_text  # type: ignore[no-redef]

# Memory model of prepare.py, for refusing inputs that cannot fit: the interpreter with numpy
# and pandas (68 MB RSS), the chunk working set, and per data row the label code (int16), the
# split assignment (int8) and the split's index arrays (2 x int64). Measured: 84 MB peak for a
# 1M-row, 34 MB iris-like file (tests/unit/test_prepare.py::
# test_peak_memory_on_a_million_rows); the estimate below allows about twice that.
BASE_MEMORY_BYTES = 160 * 2**20
PER_ROW_MEMORY_BYTES = 40
# glibc's mallopt() parameter number and the fixed threshold we set (see fix_mmap_threshold).
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 128 * 1024
#: Overrides the detected memory limit (bytes); lets tests and operators model a smaller instance.
MEMORY_LIMIT_ENV = "PREPARE_MEMORY_LIMIT_BYTES"
CGROUP_V2_MEMORY_MAX = "/sys/fs/cgroup/memory.max"
CGROUP_V1_MEMORY_LIMIT = "/sys/fs/cgroup/memory/memory.limit_in_bytes"
PROC_MEMINFO = "/proc/meminfo"
# ml.m5 processing instances and their memory (https://aws.amazon.com/sagemaker/pricing/,
# "Processing" instance table), smallest first: the suggestion when an input does not fit.
PROCESSING_INSTANCES = (
    ("ml.m5.large", 8),
    ("ml.m5.xlarge", 16),
    ("ml.m5.2xlarge", 32),
    ("ml.m5.4xlarge", 64),
    ("ml.m5.12xlarge", 192),
    ("ml.m5.24xlarge", 384),
)


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # cgroup v2 writes "max" for no limit


def _mem_available(path: str) -> int | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def memory_limit(
    environ: dict[str, str] | None = None,
    cgroup_v2: str = CGROUP_V2_MEMORY_MAX,
    cgroup_v1: str = CGROUP_V1_MEMORY_LIMIT,
    meminfo: str = PROC_MEMINFO,
) -> tuple[int | None, str]:
    """(bytes this process may use, where that figure comes from), or (None, "") if unknown.

    The smallest of the container's cgroup limit (v2 memory.max, v1 memory.limit_in_bytes) and
    the host's MemAvailable; `$PREPARE_MEMORY_LIMIT_BYTES` replaces the detection.
    """
    environ = dict(os.environ) if environ is None else environ
    configured = environ.get(MEMORY_LIMIT_ENV, "").strip()
    if configured:
        if not configured.isdigit():
            raise DataValidationError(
                f"{MEMORY_LIMIT_ENV} must be a byte count, got {configured!r}"
            )
        return int(configured), MEMORY_LIMIT_ENV
    candidates = [
        (_read_int(cgroup_v2), f"cgroup {cgroup_v2}"),
        (_read_int(cgroup_v1), f"cgroup {cgroup_v1}"),
        (_mem_available(meminfo), f"MemAvailable in {meminfo}"),
    ]
    known = [(value, source) for value, source in candidates if value]
    if not known:
        return None, ""
    return min(known)


def fix_mmap_threshold() -> bool:
    """Have glibc serve every allocation over 128 KiB with mmap, returned to the OS on free.

    glibc raises its mmap threshold each time a large mmapped block is freed (the dynamic
    threshold of man 3 mallopt, M_MMAP_THRESHOLD), so after the first chunks pandas' per-chunk
    buffers land in the heap instead, which fragments and only grows: 10 MB more peak RSS on a
    1M-row file. Setting the threshold turns the dynamic adjustment off. Other C libraries
    (no mallopt) are left alone.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def memory_needed(rows: int) -> int:
    return BASE_MEMORY_BYTES + rows * PER_ROW_MEMORY_BYTES


def suggest_instance(needed: int) -> str:
    for name, gib in PROCESSING_INSTANCES:
        # Leave a quarter for the OS and the container's own processes.
        if needed <= gib * 2**30 * 0.75:
            return f"{name} ({gib} GiB)"
    return ""


def check_memory(
    total_bytes: int,
    bytes_per_row: float,
    limit: tuple[int | None, str],
    sources: Sequence[str] = (),
) -> None:
    """Refuse, before reading, an input whose estimated peak memory exceeds the limit; the
    message names the input's files (``sources``)."""
    available, source = limit
    rows = int(total_bytes / max(bytes_per_row, 1.0)) + 1
    needed = memory_needed(rows)
    if available is None or needed <= available:
        return
    mib = 2**20
    bigger = suggest_instance(needed)
    advice = (
        f"raise the pipeline parameter ProcessingInstanceType to an instance with more memory, "
        f"e.g. {bigger}"
        if bigger
        else "no single processing instance holds it: split the data into several runs"
    )
    files = f" in {files_text(sources)}" if sources else ""
    raise DataValidationError(
        f"input too large for this instance: {total_bytes / mib:.0f} MiB of CSV{files} "
        f"(about {rows} rows) needs about {needed / mib:.0f} MiB of memory to prepare, but only "
        f"{available / mib:.0f} MiB is available ({source}); {advice}"
    )
