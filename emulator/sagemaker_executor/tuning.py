"""Bayesian hyperparameter search for the local runtime, shaped like a SageMaker tuning job.

The search space comes from a tuning job's ``ParameterRanges`` (Integer, Continuous and
Categorical, with SageMaker's scaling types), the budget from its ``ResourceLimits``; each trial
is delegated to a caller-supplied function (the executor runs a real training job) that returns
the objective, or ``None`` when the job failed. optuna's TPE sampler proposes the values, with a
*constant liar* so trials running in parallel do not all explore the same point.

    ranges ─► ParameterSpec ─► optuna ask ─► run_trial(params) ─► tell ─► ... ─► best trial

The objective is read the way the service reads it (:func:`objective_metric_regexes`,
:func:`read_metrics`): for the SageMaker XGBoost image, the container's built-in regexes applied to
the training log as CloudWatch shows it, and custom ``MetricDefinitions`` are refused.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import optuna

from emulator.containers.images import is_xgboost_image

INTEGER, CONTINUOUS, CATEGORICAL = "Integer", "Continuous", "Categorical"
SCALING_TYPES = frozenset({"Auto", "Linear", "Logarithmic", "ReverseLogarithmic"})
# TPE needs a few random points before its density model says anything useful; SageMaker's
# Bayesian strategy does the same. A third of the budget, between 2 and optuna's default 10.
MIN_STARTUP_TRIALS, MAX_STARTUP_TRIALS = 2, 10


class TuningConfigError(ValueError):
    """The tuning job configuration cannot be searched (bad range, unknown scaling...)."""


# --------------------------------------------------------------------------- objective metric
#
# What the service does for the XGBoost image (read in aws/sagemaker-xgboost-container, tag v1.7-1,
# and its issues):
# - Tuning treats the image as a BUILT-IN algorithm: custom MetricDefinitions cannot be set, a
#   maintainer confirms in https://github.com/aws/sagemaker-xgboost-container/issues/121 ("custom
#   XGBoost optimization metrics"). Whether CreateHyperParameterTuningJob refuses them or ignores
#   them is not documented; we model the stricter reading and refuse (ValidationException).
# - The metrics it can read are the container's table, one per xgboost eval metric:
#   src/sagemaker_xgboost_container/algorithm_mode/metrics.py builds, for every name in
#   src/sagemaker_xgboost_container/constants/xgb_constants.py XGB_MAXIMIZE_METRICS /
#   XGB_MINIMIZE_METRICS, the metric "validation:<name>" with regex
#   `.*\[[0-9]+\].*#011validation-<name>:(\S+)` (sagemaker_algorithm_toolkit/metrics.py:
#   Metric.format_definition gives {"Name", "Regex"}); PR #82 is where the table got this shape.
# - `#011` is a TAB as the log shows it: control characters reach the
#   log the service reads escaped as `#` + 3 octal digits (rsyslog's form), so xgboost's line
#   `[3]\ttrain-mlogloss:0.5\tvalidation-mlogloss:0.6` is matched as
#   `[3]#011train-mlogloss:0.5#011validation-mlogloss:0.6` (cloudwatch_log_text()).
# - `(\S+)` runs to the end of the line or the next blank, and `#011` is not a blank, so only the
#   LAST metric of a line parses as a number; train.py therefore lists mlogloss last.

# Copied from xgb_constants.py at tag v1.7-1 (XGB_MAXIMIZE_METRICS, XGB_MINIMIZE_METRICS).
XGBOOST_MAXIMIZE_METRICS = (
    "accuracy", "auc", "aucpr", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "map", "ndcg",
    "precision", "r2", "recall", "precision_macro", "precision_micro", "recall_macro",
    "recall_micro",
)  # fmt: skip
XGBOOST_MINIMIZE_METRICS = (
    "aft-nloglik", "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik",
    "interval-regression-accuracy", "logloss", "mae", "mape", "merror", "mlogloss", "mphe", "mse",
    "poisson-nloglik", "rmse", "rmsle", "tweedie-nloglik",
)  # fmt: skip
MAXIMIZE, MINIMIZE = "Maximize", "Minimize"


@dataclass(frozen=True)
class BuiltinMetric:
    """One metric the XGBoost image defines: its name, regex and tuning direction."""

    name: str
    regex: str
    direction: str


def _xgboost_builtin_metrics() -> dict[str, BuiltinMetric]:
    # algorithm_mode/metrics.py: name "validation:{}",
    # regex ".*\\[[0-9]+\\].*#011validation-{}:(\\S+)"
    table = {}
    for names, direction in (
        (XGBOOST_MAXIMIZE_METRICS, MAXIMIZE),
        (XGBOOST_MINIMIZE_METRICS, MINIMIZE),
    ):
        for metric in names:
            name = f"validation:{metric}"
            regex = r".*\[[0-9]+\].*#011validation-" + metric + r":(\S+)"
            table[name] = BuiltinMetric(name, regex, direction)
    return table


#: The XGBoost image's built-in metrics, keyed by metric name (the only home of this table).
XGBOOST_BUILTIN_METRICS: Mapping[str, BuiltinMetric] = _xgboost_builtin_metrics()


def cloudwatch_log_text(text: str) -> str:
    """``text`` as the training job's CloudWatch log shows it: control characters (except the
    line break) escaped as ``#`` + 3 octal digits, so a tab reads ``#011``."""
    return re.sub(r"[\x00-\x09\x0b-\x1f\x7f]", lambda m: f"#{ord(m.group()):03o}", text)


def objective_metric_regexes(
    algorithm_specification: Mapping[str, Any], objective: Mapping[str, Any]
) -> dict[str, str]:
    """The metric regexes the service applies to a tuning trial's log, keyed by metric name.

    XGBoost image: the container's built-in table, and MetricDefinitions are refused (see above).
    Any other image: its MetricDefinitions, which must define the objective.
    """
    definitions = algorithm_specification.get("MetricDefinitions") or []
    image = str(algorithm_specification.get("TrainingImage") or "")
    metric_name = str(objective.get("MetricName") or "")
    if is_xgboost_image(image):
        if definitions:
            raise TuningConfigError(
                "ValidationException: MetricDefinitions cannot be set for the built-in XGBoost "
                f"image {image}: tuning reads its built-in metrics (validation:<eval_metric>); "
                "remove MetricDefinitions (aws/sagemaker-xgboost-container issue #121)"
            )
        if metric_name not in XGBOOST_BUILTIN_METRICS:
            raise TuningConfigError(
                f"ValidationException: objective metric {metric_name!r} is not a metric of the "
                f"XGBoost image; use one of validation:<eval_metric>, e.g. validation:mlogloss"
            )
        return {name: metric.regex for name, metric in XGBOOST_BUILTIN_METRICS.items()}
    regexes = {str(d["Name"]): str(d["Regex"]) for d in definitions}
    if metric_name not in regexes:
        raise TuningConfigError(
            f"ValidationException: no MetricDefinition for objective metric {metric_name!r}"
        )
    return regexes


def last_metric(regex: str, text: str) -> float | None:
    """The last value ``regex``'s first group captures in ``text`` that parses as a finite number.

    A capture that is not a number (``0.1#011validation-x:0.2``) is skipped: the service cannot
    emit it as a metric value either.
    """
    values = re.findall(regex, text)
    for value in reversed(values):
        candidate = value[0] if isinstance(value, tuple) else value
        try:
            number = float(candidate)
        except ValueError:
            continue
        if math.isfinite(number):
            return number
    return None


def read_metrics(regexes: Mapping[str, str], log: str) -> dict[str, float]:
    """Every metric whose regex matches the log, read as CloudWatch shows it (last value wins)."""
    shown = cloudwatch_log_text(log)
    found = {name: last_metric(regex, shown) for name, regex in regexes.items()}
    return {name: value for name, value in found.items() if value is not None}


@dataclass(frozen=True)
class ParameterSpec:
    """One tunable hyperparameter."""

    name: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    scaling: str = "Auto"
    choices: tuple[str, ...] = ()

    def suggest(self, trial: optuna.Trial) -> str:
        """Draw a value from ``trial``, formatted as SageMaker passes hyperparameters (text)."""
        if self.kind == CATEGORICAL:
            return str(trial.suggest_categorical(self.name, list(self.choices)))
        if self.scaling == "ReverseLogarithmic":
            # Dense near the upper bound (SageMaker: for ranges inside [0, 1), e.g. momentum):
            # search 1 - x on a log scale. Continuous only, as in SageMaker.
            offset = trial.suggest_float(f"{self.name}__1m", 1 - self.high, 1 - self.low, log=True)
            return _format_float(1 - offset)
        log = self.scaling == "Logarithmic"
        if self.kind == INTEGER:
            return str(trial.suggest_int(self.name, int(self.low), int(self.high), log=log))
        return _format_float(trial.suggest_float(self.name, self.low, self.high, log=log))


def _format_float(value: float) -> str:
    return repr(float(value))


def parse_parameter_ranges(ranges: Mapping[str, Any]) -> list[ParameterSpec]:
    """``HyperParameterTuningJobConfig.ParameterRanges`` as a list of specs (validated)."""
    specs: list[ParameterSpec] = []
    for key, kind in (
        ("IntegerParameterRanges", INTEGER),
        ("ContinuousParameterRanges", CONTINUOUS),
        ("CategoricalParameterRanges", CATEGORICAL),
    ):
        for item in ranges.get(key) or []:
            name = str(item["Name"])
            if kind == CATEGORICAL:
                choices = tuple(str(value) for value in item.get("Values") or [])
                if not choices:
                    raise TuningConfigError(f"categorical parameter {name} has no values")
                specs.append(ParameterSpec(name, kind, choices=choices))
                continue
            low, high = float(item["MinValue"]), float(item["MaxValue"])
            scaling = str(item.get("ScalingType") or "Auto")
            if scaling not in SCALING_TYPES:
                raise TuningConfigError(f"parameter {name}: unknown ScalingType {scaling}")
            if not (math.isfinite(low) and math.isfinite(high)) or low > high:
                raise TuningConfigError(f"parameter {name}: invalid range [{low}, {high}]")
            if kind == INTEGER and not (low.is_integer() and high.is_integer()):
                raise TuningConfigError(f"parameter {name}: integer range [{low}, {high}]")
            if scaling == "Logarithmic" and low <= 0:
                raise TuningConfigError(f"parameter {name}: Logarithmic scaling needs MinValue > 0")
            if scaling == "ReverseLogarithmic" and (kind == INTEGER or not 0 <= low < high < 1):
                raise TuningConfigError(
                    f"parameter {name}: ReverseLogarithmic needs a continuous range in [0, 1)"
                )
            specs.append(ParameterSpec(name, kind, low, high, scaling))
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise TuningConfigError(f"parameter(s) defined twice: {', '.join(duplicates)}")
    if not specs:
        raise TuningConfigError("ParameterRanges defines no parameter to tune")
    return specs


@dataclass
class TrialResult:
    """One finished trial: its number (0-based), the values tried and the objective."""

    number: int
    params: dict[str, str]
    objective: float | None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.objective is not None and math.isfinite(self.objective)


# run_trial(number, params) -> (objective or None, free-form info such as the job name)
TrialFunction = Callable[[int, dict[str, str]], tuple[float | None, dict[str, Any]]]


def startup_trials(max_jobs: int) -> int:
    return max(MIN_STARTUP_TRIALS, min(MAX_STARTUP_TRIALS, max_jobs // 3))


def make_sampler(strategy: str, max_jobs: int, seed: int | None) -> optuna.samplers.BaseSampler:
    """SageMaker's ``Strategy`` as an optuna sampler (Bayesian: TPE; Random: uniform)."""
    if strategy == "Bayesian":
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=startup_trials(max_jobs), constant_liar=True
        )
    if strategy == "Random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise TuningConfigError(f"tuning Strategy {strategy!r} is not supported locally")


def run_search(
    specs: list[ParameterSpec],
    run_trial: TrialFunction,
    *,
    minimize: bool,
    max_jobs: int,
    max_parallel: int,
    strategy: str = "Bayesian",
    should_stop: Callable[[], bool] = lambda: False,
    on_trial: Callable[[TrialResult], None] | None = None,
    seed: int | None = None,
) -> list[TrialResult]:
    """Run up to ``max_jobs`` trials, ``max_parallel`` at a time; return them in finishing order.

    ``should_stop`` is checked before each new trial: trials already running finish, no new one
    starts (SageMaker's StopHyperParameterTuningJob lets no new job start either).
    """
    if max_jobs < 1 or max_parallel < 1:
        raise TuningConfigError(
            f"need MaxNumberOfTrainingJobs >= 1 and MaxParallelTrainingJobs >= 1, "
            f"got {max_jobs} and {max_parallel}"
        )
    sampler = make_sampler(strategy, max_jobs, seed)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize" if minimize else "maximize", sampler=sampler)
    lock = threading.Lock()  # optuna's in-memory storage is thread-safe; ask/tell order is ours
    results: list[TrialResult] = []
    started = 0
    running: dict[Future[tuple[float | None, dict[str, Any]]], tuple[optuna.Trial, int, dict]] = {}
    with ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="trial") as pool:
        while True:
            while started < max_jobs and len(running) < max_parallel and not should_stop():
                with lock:
                    trial = study.ask()
                    params = {spec.name: spec.suggest(trial) for spec in specs}
                running[pool.submit(run_trial, started, params)] = (trial, started, params)
                started += 1
            if not running:
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                trial, number, params = running.pop(future)
                try:
                    objective, info = future.result()
                except Exception as error:  # a broken trial must not take the search down
                    objective, info = None, {"error": f"{type(error).__name__}: {error}"}
                result = TrialResult(number, params, objective, info)
                with lock:
                    if result.succeeded:
                        study.tell(trial, result.objective)
                    else:
                        study.tell(trial, state=optuna.trial.TrialState.FAIL)
                results.append(result)
                if on_trial is not None:
                    on_trial(result)
    return results


def ranked(results: list[TrialResult], *, minimize: bool) -> list[TrialResult]:
    """Succeeded trials, best first (ties: the earlier trial), as SageMaker ranks summaries."""
    good = [result for result in results if result.succeeded]
    sign = 1.0 if minimize else -1.0
    return sorted(good, key=lambda result: (sign * float(result.objective or 0.0), result.number))
