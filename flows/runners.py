"""Which task runner a batch flow uses, chosen from the settings when the flow run starts.

``MARKETOPS_TASK_RUNNER=thread`` (default) runs batch tasks in threads of the flow process;
``dask`` runs them on a Dask cluster through prefect-dask — the one at ``MARKETOPS_DASK_ADDRESS``,
else a ``LocalCluster`` of ``MARKETOPS_DASK_WORKERS`` processes started for the run.

The flow decorators are evaluated at import time, long before settings exist (STYLE §5), so the
decorators name :class:`SettingsTaskRunner`, which reads the settings when Prefect enters it and
delegates every submit to the runner they choose. Deployments need no change to switch runners.

Where a task's warehouse part runs is the other half of the split (:func:`warehouse_in_flow`):
chDB allows one process per data path, so with a Dask runner and the embedded warehouse the
workers only compute (read, parse, judge, aggregate, write Parquet) and hand Arrow back, and the
flow process loads it; against a ClickHouse server the workers load too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self

from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from core.settings import Settings, load_settings


def build_task_runner(settings: Settings, max_threads: int) -> TaskRunner[Any]:
    """The runner the settings name (a Dask runner is created lazily: the cluster starts on enter)."""
    if settings.task_runner == "dask":
        from prefect_dask import DaskTaskRunner  # only a dask run pays for importing distributed

        if settings.dask_address:
            return DaskTaskRunner(address=settings.dask_address)
        return DaskTaskRunner(
            cluster_class="distributed.LocalCluster",
            cluster_kwargs={
                "n_workers": settings.dask_workers,
                "threads_per_worker": settings.dask_threads_per_worker,
                "processes": True,
                "dashboard_address": None,  # no fixed port: several runs (and tests) start clusters side by side
            },
        )
    return ThreadPoolTaskRunner(max_workers=max_threads)


def warehouse_in_flow(settings: Settings) -> bool:
    """True when batch tasks must leave warehouse reads and writes to the flow process.

    That is the case on a Dask cluster with the embedded warehouse: chDB's data path belongs to
    one process (the flow's), so a worker process cannot open it."""
    return settings.task_runner == "dask" and settings.warm_backend == "chdb"


class SettingsTaskRunner(TaskRunner[PrefectFuture[Any]]):
    """Delegates to the task runner chosen by the settings read when the flow run starts."""

    def __init__(self, max_threads: int = 8) -> None:
        self.max_threads = max_threads
        self._inner: TaskRunner[Any] | None = None
        super().__init__()

    @property
    def name(self) -> str:
        return f"settings({self._inner.name})" if self._inner is not None else "settings"

    def duplicate(self) -> Self:
        return type(self)(self.max_threads)

    def __enter__(self) -> Self:
        self._inner = build_task_runner(load_settings(), self.max_threads)
        self._inner.__enter__()
        super().__enter__()
        return self

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        try:
            if self._inner is not None:
                self._inner.__exit__(exc_type, exc_value, traceback)
        finally:
            self._inner = None
            super().__exit__(exc_type, exc_value, traceback)

    def _started_inner(self) -> TaskRunner[Any]:
        if self._inner is None:
            raise RuntimeError("The task runner must be started before submitting work.")
        return self._inner

    def submit(
        self,
        task: Any,
        parameters: dict[str, Any],
        wait_for: Iterable[PrefectFuture[Any]] | None = None,
        dependencies: dict[str, set[Any]] | None = None,
    ) -> PrefectFuture[Any]:
        return self._started_inner().submit(task, parameters, wait_for, dependencies)

    def map(self, task: Any, parameters: dict[str, Any], wait_for: Iterable[PrefectFuture[Any]] | None = None) -> Any:
        return self._started_inner().map(task, parameters, wait_for)

    def cancel_all(self) -> None:
        inner = self._inner
        if inner is not None and hasattr(inner, "cancel_all"):
            inner.cancel_all()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SettingsTaskRunner) and other.max_threads == self.max_threads

    def __hash__(self) -> int:
        return hash((type(self), self.max_threads))


def outcome(state: State[Any]) -> Any:
    """The result of a task called in the flow process with ``return_state=True``, or the exception it
    failed with for good — the same shape :func:`flows.bounded.run_bounded` yields for submitted tasks."""
    return state.result(raise_on_failure=False)
