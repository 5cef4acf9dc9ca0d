"""Bayesian hyperparameter search for the local runtime, shaped like a SageMaker tuning job.

The search space comes from a tuning job's ``ParameterRanges`` (Integer, Continuous and
Categorical, with SageMaker's scaling types), the budget from its ``ResourceLimits``; each trial
is delegated to a caller-supplied function (the executor runs a real training job) that returns
the objective, or ``None`` when the job failed. optuna's TPE sampler proposes the values, with a
*constant liar* so trials running in parallel do not all explore the same point.

    ranges ─► ParameterSpec ─► optuna ask ─► run_trial(params) ─► tell ─► ... ─► best trial
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import optuna

INTEGER, CONTINUOUS, CATEGORICAL = "Integer", "Continuous", "Categorical"
SCALING_TYPES = frozenset({"Auto", "Linear", "Logarithmic", "ReverseLogarithmic"})
# TPE needs a few random points before its density model says anything useful; SageMaker's
# Bayesian strategy does the same. A third of the budget, between 2 and optuna's default 10.
MIN_STARTUP_TRIALS, MAX_STARTUP_TRIALS = 2, 10


class TuningConfigError(ValueError):
    """The tuning job configuration cannot be searched (bad range, unknown scaling...)."""


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
