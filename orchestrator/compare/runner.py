"""Runs the experiments on each backend and collects a ``BackendReport`` per backend.

Backends run in parallel (one thread each): each experiment spends most of its time waiting
on its broker (Kafka's group rebalances above all), so the whole comparison takes about as
long as the slowest backend. Within a backend, experiments run one after another on fresh
names. An experiment the adapter refuses becomes ``Unsupported``; any other error becomes
``Failed``, so one broken experiment never hides the others.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from broker_adapters import Broker, BrokerUnavailable, UnsupportedSemantic
from orchestrator.compare import crash, duplicates, fanout, ordering, poison, subscribers
from orchestrator.compare.observations import (
    EXPERIMENTS,
    BackendReport,
    ExperimentName,
    Failed,
    Observation,
    Result,
    Unsupported,
)
from orchestrator.compare.opening import open_broker
from orchestrator.compare.urls import BackendUnreachable, check_reachable, redact, redact_text

Experiment = Callable[[str, Broker], Observation]
RUNS: dict[ExperimentName, Experiment] = {
    "fan-out": fanout.run,
    "offline-subscriber": subscribers.run,
    "ordering": ordering.run,
    "crash-redelivery": crash.run,
    "poison-message": poison.run,
    "duplicates": duplicates.run,
}
# Called as each experiment ends: (backend, experiment, result, seconds).
Progress = Callable[[str, ExperimentName, Result, float], None]


def run_backend(
    backend: str,
    url: str,
    experiments: Sequence[ExperimentName] = EXPERIMENTS,
    progress: Progress | None = None,
) -> BackendReport:
    """Every experiment on one backend; never raises for a broker problem, it reports it."""
    report = BackendReport(backend=backend, url=redact(url))
    try:
        check_reachable(url)
        broker = open_broker(url)
    except BackendUnreachable as error:
        report.error = str(error)
        return report
    except Exception as error:
        report.error = redact_text(f"cannot connect to {redact(url)}: {error}", url)
        return report
    with broker:
        report.features = {
            key: value
            for key, value in dataclasses.asdict(broker.features).items()
            if key != "name"
        }
        unavailable: str | None = None
        for name in experiments:
            started = time.monotonic()
            if unavailable is not None:
                result: Result = Failed(f"{NOT_RUN}{unavailable}")
            else:
                result, gone = _one(RUNS[name], url, broker)
                if isinstance(result, Failed):
                    result = Failed(redact_text(result.error, url))
                    unavailable = result.error if gone else None
            report.results[name] = result
            report.seconds[name] = round(time.monotonic() - started, 1)
            if progress is not None:
                progress(backend, name, result, report.seconds[name])
    return report


NOT_RUN = "not run: "
UNAVAILABLE_HINT = (
    "the broker did not answer in time; is it up, and are the URL's user and password right?"
)


def _one(experiment: Experiment, url: str, broker: Broker) -> tuple[Result, bool]:
    """The experiment's result, and whether the broker stopped answering.

    After a ``BrokerUnavailable`` the remaining experiments are not run: each would wait out
    the same adapter timeout (30 s) for the same reason.
    """
    try:
        return experiment(url, broker), False
    except UnsupportedSemantic as error:
        return Unsupported(str(error)), False
    except BrokerUnavailable as error:
        return Failed(f"{UNAVAILABLE_HINT} ({error})"), True
    except Exception as error:  # reported in the table; the next experiment still runs
        return Failed(f"{type(error).__name__}: {error}"), False


def run_all(
    urls: Mapping[str, str],
    experiments: Sequence[ExperimentName] = EXPERIMENTS,
    progress: Progress | None = None,
) -> list[BackendReport]:
    """``run_backend`` for each backend in ``urls``, in parallel; reports in ``urls`` order."""
    reports: dict[str, BackendReport] = {}

    def work(backend: str, url: str) -> None:
        reports[backend] = run_backend(backend, url, experiments, progress)

    threads = [
        threading.Thread(target=work, args=(backend, url), name=f"compare-{backend}", daemon=True)
        for backend, url in urls.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [reports[backend] for backend in urls]
