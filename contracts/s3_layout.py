"""The project bucket's layout: every prefix, declared once, with its writer and its lifetime.

The state machines, the ML pipeline definition, the Lambdas, the ops CLI and Terraform (through
the generated ``terraform/s3_layout.generated.tf``, written by ``make definitions``) read the
prefixes from here. Keys are built by the functions below so that no consumer spells a path.

Lifetimes:

- ``kept``: never expires (uploads, seed data, code, what a registered package points at);
- ``expires``: a lifecycle rule deletes objects after the number of days Terraform sets.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prefix:
    """One top-level prefix of the bucket."""

    name: str
    path: str
    purpose: str
    lifetime: str  # "kept" or "expires"


#: Every prefix, in the order the docs list them. ``path`` always ends with "/".
PREFIXES: tuple[Prefix, ...] = (
    Prefix("data_raw", "data/raw/", "uploads: a .csv here starts a training run", "kept"),
    Prefix("data_seed", "data/seed/", "the seed dataset Terraform uploads", "kept"),
    Prefix("code", "code/", "the scripts the SageMaker jobs run, by content hash", "kept"),
    Prefix("runs", "runs/", "each run's own copy of its input object", "expires"),
    Prefix("pipelines", "pipelines/", "pipeline intermediates (splits, contract)", "expires"),
    Prefix("models", "models/", "trained model artifacts (a package points here)", "kept"),
    Prefix(
        "evaluation",
        "evaluation/",
        "evaluation.json, summary.json, baseline.json and report.html per pipeline run",
        "kept",
    ),
    Prefix("reports", "reports/", "reports of runs that failed before evaluation", "expires"),
    Prefix("deployments", "deployments/", "one record per deployment attempt", "kept"),
    Prefix("data_capture", "data-capture/", "the endpoint's captured traffic", "expires"),
    Prefix("monitoring", "monitoring/", "drift reports of the scheduled monitor", "expires"),
)

_BY_NAME: dict[str, Prefix] = {prefix.name: prefix for prefix in PREFIXES}

DATA_RAW = _BY_NAME["data_raw"].path
DATA_SEED = _BY_NAME["data_seed"].path
CODE = _BY_NAME["code"].path
RUNS = _BY_NAME["runs"].path
PIPELINES = _BY_NAME["pipelines"].path
MODELS = _BY_NAME["models"].path
EVALUATION = _BY_NAME["evaluation"].path
REPORTS = _BY_NAME["reports"].path
DEPLOYMENTS = _BY_NAME["deployments"].path
DATA_CAPTURE = _BY_NAME["data_capture"].path
MONITORING = _BY_NAME["monitoring"].path

#: What the pipeline's ChampionModelUri names when no model serves: a prefix holding only a
#: marker object Terraform keeps, because a processing job's S3Prefix input must name at least
#: one object ("No S3 objects found under S3 URL", the job fails otherwise).
NO_CHAMPION_PREFIX = f"{MODELS}none/"

#: Where a training run's input may come from (the execution input's data_uri).
INPUT_PREFIXES: tuple[str, ...] = (DATA_RAW, DATA_SEED)

#: File names inside an ``evaluation/<pipeline execution id>/`` folder.
EVALUATION_FILE = "evaluation.json"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"
BASELINE_FILE = "baseline.json"


def prefix(name: str) -> str:
    """The path of the prefix called ``name`` (``KeyError`` for an unknown one)."""
    return _BY_NAME[name].path


def run_input_key(execution_name: str, object_name: str) -> str:
    """The run's own copy of its input: only that run writes below ``runs/<execution>/input/``."""
    return f"{RUNS}{execution_name}/input/{object_name}"


def evaluation_key(pipeline_execution_id: str, file_name: str = EVALUATION_FILE) -> str:
    return f"{EVALUATION}{pipeline_execution_id}/{file_name}"


def split_key(pipeline_execution_id: str, split: str) -> str:
    """Where PrepareData writes a split: ``pipelines/<id>/prepare/<split>/<split>.csv`` (no
    header, the label first; it expires with ``pipelines/``)."""
    return f"{PIPELINES}{pipeline_execution_id}/prepare/{split}/{split}.csv"


def pipeline_execution_id(evaluation_uri: str) -> str:
    """``s3://<bucket>/evaluation/<id>/<file>`` -> ``<id>``; ``ValueError`` for another URI."""
    _, key = split_s3_uri(evaluation_uri)
    head, sep, rest = key.partition(EVALUATION)
    execution_id = rest.split("/", 1)[0]
    if head or not sep or not execution_id or "/" not in rest:
        raise ValueError(f"not an evaluation/<id>/<file> URI: {evaluation_uri!r}")
    return execution_id


def failure_report_key(machine: str, execution_name: str) -> str:
    return f"{REPORTS}{machine}/{execution_name}/{REPORT_FILE}"


def deployment_record_key(endpoint_name: str, started: str, execution_name: str) -> str:
    """``deployments/<endpoint>/<start>-<execution>.json``: keys sort by start time."""
    return f"{DEPLOYMENTS}{endpoint_name}/{started}-{execution_name}.json"


def deployment_records_prefix(endpoint_name: str) -> str:
    return f"{DEPLOYMENTS}{endpoint_name}/"


def monitoring_prefix(endpoint_name: str, run_name: str) -> str:
    return f"{MONITORING}{endpoint_name}/{run_name}/"


def capture_prefix(endpoint_name: str) -> str:
    """Where SageMaker writes the endpoint's captured traffic: ``<destination>/<endpoint>/...``."""
    return f"{DATA_CAPTURE}{endpoint_name}/"


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key); ``ValueError`` when it is not one."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, sep, key = uri[len("s3://") :].partition("/")
    if not bucket or not sep:
        raise ValueError(f"no bucket or key in {uri!r}")
    return bucket, key


def object_name(key: str) -> str:
    """The last segment of a key: the file name a run keeps for its copy."""
    return key.rsplit("/", 1)[-1]


def markdown_table() -> str:
    """The bucket layout table of docs/reference.md (``make docs``)."""
    rows = ["| Prefix | What | Lifetime |", "|---|---|---|"]
    for entry in PREFIXES:
        lifetime = "kept" if entry.lifetime == "kept" else "expires after `expiring_data_days`"
        rows.append(f"| `{entry.path}` | {entry.purpose} | {lifetime} |")
    return "\n".join(rows) + "\n"
